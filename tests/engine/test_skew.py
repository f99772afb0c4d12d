"""The Hellinger skew of a split (fedsim.data.skew), with exact numbers on tiny cases."""

import math

import numpy as np
import pytest

from fedsim.data.skew import by_size, hellinger_skew, hellinger_to_pooled, label_mix


def test_identical_mixes_are_zero():
    counts = np.array([[2, 2], [5, 5], [1, 1]])
    np.testing.assert_array_equal(hellinger_to_pooled(counts), [0.0, 0.0, 0.0])
    assert hellinger_skew(counts) == 0.0


def test_two_clients_one_label_each():
    # pooled (1/2, 1/2); client 0 = (1, 0): H² = 1 − sqrt(1/2) for each client
    h = math.sqrt(1 - math.sqrt(0.5))
    np.testing.assert_allclose(hellinger_to_pooled(np.array([[3, 0], [0, 3]])), [h, h],
                               rtol=1e-15)
    assert hellinger_skew(np.array([[3, 0], [0, 3]])) == pytest.approx(h, rel=1e-15)


def test_unequal_sizes_weight_the_pooled_distribution():
    # pooled = (9 + 1, 0 + 10) / 20 = (1/2, 1/2); client 0 = (0.9, 0.1), client 1 = (0.1, 0.9)
    counts = np.array([[9, 1], [1, 9], [0, 0]])
    h = math.sqrt(1 - (math.sqrt(0.9 * 0.5) + math.sqrt(0.1 * 0.5)))
    got = hellinger_to_pooled(counts)
    np.testing.assert_allclose(got[:2], [h, h], rtol=1e-14)
    assert math.isnan(got[2])  # a client without rows has no distribution
    assert hellinger_skew(counts) == pytest.approx(h, rel=1e-14)  # and is left out of the mean
    # the penguins' islands: Biscoe 44 Adelie + 123 Gentoo, Dream 56 + 68 Chinstrap,
    # Torgersen 51 Adelie
    isl = np.array([[44, 0, 123], [56, 68, 0], [51, 0, 0]])
    q = isl.sum(0) / isl.sum()
    ref = [math.sqrt(1 - sum(math.sqrt(a / r.sum() * b) for a, b in zip(r, q))) for r in isl]
    np.testing.assert_allclose(hellinger_to_pooled(isl), ref, rtol=1e-13)


def test_label_mix_and_size_order():
    np.testing.assert_array_equal(label_mix(np.array([[1, 3], [0, 0]])), [[0.25, 0.75], [0, 0]])
    assert by_size(np.array([5, 9, 5, 1])).tolist() == [1, 0, 2, 3]


def test_no_clients():
    assert hellinger_skew(np.zeros((0, 3))) == 0.0


# --------------------------------------------------------------------------- the Data page
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_data_page_draws_clients_by_size_their_label_mix_and_the_skew(lang):
    pytest.importorskip("streamlit")
    from fedsim.config import SimulationConfig
    from fedsim.engine.federation import build_federation
    from tests.support.app import chart, open_app

    at = open_app({"lang": lang, "data": "penguins", "split": "natural", "clients": "3"},
                  page="pages/data.py")
    assert not at.exception
    fed = build_federation(SimulationConfig.from_dict(
        {"dataset": {"name": "penguins"}, "partition": {"name": "natural"},
         "clients": {"num_clients": 3}}))
    counts = fed.label_counts()
    want = hellinger_skew(counts)
    label = "Hellinger skew" if lang == "en" else "Hellinger 偏斜度"
    assert [m.value for m in at.metric if m.label == label] == [f"{want:.2f}"]
    fig = chart(at, "data_skew")
    order = by_size(counts.sum(1)).tolist()
    dots = fig["data"][-1]
    assert dots["y"] == pytest.approx(hellinger_to_pooled(counts)[order].tolist())
    assert [int(v) for v in fig["layout"]["xaxis"]["ticktext"]] == order
    for bar in fig["data"][:-1]:  # every label's share, client by client, largest first
        c = list(fed.data.class_names).index(bar["name"]) if bar["name"] in \
            fed.data.class_names else None
        if c is not None:
            assert bar["y"] == pytest.approx(label_mix(counts)[order, c].tolist())

"""Partitioners: disjoint, complete, seeded, minimum sizes — as Hypothesis properties."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fedsim.config import PartitionConfig
from fedsim.errors import PartitionError
from fedsim.data.partition import partition_pool, skew_score

NAMES = ["iid", "dirichlet", "pathological", "shards", "quantity", "feature"]


def _labels(n, classes, seed):
    return np.random.default_rng(seed).integers(0, classes, size=n)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(NAMES), n=st.integers(200, 1200), k=st.integers(1, 20),
       classes=st.integers(2, 10), seed=st.integers(0, 10_000),
       alpha=st.sampled_from([0.3, 1.0, 10.0]))
def test_disjoint_complete_seeded_min_size(name, n, k, classes, seed, alpha):
    y = _labels(n, classes, seed)
    cfg = PartitionConfig(name=name, alpha=alpha, classes_per_client=min(2, classes))
    try:
        part = partition_pool(y, 3, k, cfg, 0.2, seed)
    except PartitionError as err:  # allowed only as a clear, named refusal
        assert err.field in ("partition.alpha", "clients.num_clients",
                             "partition.classes_per_client", "partition.shards_per_client")
        return
    rows = np.concatenate(part.indices)
    # disjoint, and complete but for the labels a pathological split cannot place
    left_out = np.isin(y, part.unused_labels).sum()
    assert len(rows) == n - left_out and len(np.unique(rows)) == len(rows)
    assert set(part.unused_labels) == (set(range(classes)) - set(y[rows].tolist())
                                       if name == "pathological" else set())
    assert part.sizes().min() >= cfg.min_samples
    again = partition_pool(y, 3, k, cfg, 0.2, seed)
    assert all(np.array_equal(a, b) for a, b in zip(part.indices, again.indices))
    for idx, val in zip(part.indices, part.val_mask):  # local split: >= 1 row each side
        assert val.shape == idx.shape and 1 <= val.sum() <= len(idx) - 1


def test_different_seeds_give_different_splits():
    y = _labels(500, 10, 0)
    a = partition_pool(y, 3, 5, PartitionConfig(name="dirichlet"), 0.2, 1)
    b = partition_pool(y, 3, 5, PartitionConfig(name="dirichlet"), 0.2, 2)
    assert any(not np.array_equal(x, z) for x, z in zip(a.indices, b.indices))


def test_pathological_gives_exactly_k_classes():
    y = np.repeat(np.arange(10), 50)
    part = partition_pool(y, 3, 10, PartitionConfig(name="pathological", classes_per_client=2),
                          0.2, 0)
    counts = part.label_counts(y, 10)
    assert ((counts > 0).sum(1) == 2).all()


def test_skew_increases_as_alpha_falls():
    y = np.repeat(np.arange(10), 100)
    scores = [skew_score(partition_pool(y, 3, 10, PartitionConfig(name="dirichlet", alpha=a),
                                        0.2, 0).label_counts(y, 10)) for a in (100, 1, 0.1)]
    iid = skew_score(partition_pool(y, 3, 10, PartitionConfig(name="iid"), 0.2, 0)
                     .label_counts(y, 10))
    # With 100 rows per client, sampling noise alone gives IID a distance of ~0.15.
    assert iid < 0.25 and scores[0] < 0.25
    assert scores[0] < scores[1] < scores[2] and scores[2] > 0.7


def test_quantity_skew_is_unequal_but_labels_iid():
    y = np.repeat(np.arange(10), 100)
    part = partition_pool(y, 3, 10, PartitionConfig(name="quantity", sigma=1.5), 0.2, 0)
    sizes = part.sizes()
    assert sizes.max() > 3 * sizes.min()


def test_too_many_clients_is_a_clear_error():
    with pytest.raises(PartitionError, match="at most 25 clients"):
        partition_pool(np.zeros(100, int), 3, 30, PartitionConfig(), 0.2, 0)


def test_feature_skew_shifts_each_client_differently():
    y = _labels(400, 2, 0)
    part = partition_pool(y, 4, 4, PartitionConfig(name="feature", feature_shift=1.0,
                                                   feature_noise=1.0), 0.2, 0)
    assert part.feature_noise[0] == 0 and part.feature_noise[-1] == pytest.approx(1.0)
    assert not np.allclose(part.feature_shift[0], part.feature_shift[1])

"""Aggregators and server optimizers: exact numbers on tiny cases and robustness properties."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from fedsim.engine.aggregators import Krum, Median, TrimmedMean, WeightedMean
from fedsim.config import AggregationConfig
from fedsim.engine.server_opt import ServerOptState, server_update

U = np.array([[1.0, 2.0], [3.0, 4.0]])


def test_two_clients_weighted_vs_simple_fedavg_exact():
    # Client 0 has 1 example, client 1 has 3: weighted = (1·u0 + 3·u1)/4.
    agg, _ = WeightedMean(True)(U, np.array([1.0, 3.0]))
    assert agg.mean.tolist() == [2.5, 3.5]
    simple, _ = WeightedMean(False)(U, np.ones(2))
    assert simple.mean.tolist() == [2.0, 3.0]


def test_robust_aggregators_exact():
    u = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
    assert Median()(u, np.ones(5))[0].mean.tolist() == [3.0]
    assert TrimmedMean(0.2)(u, np.ones(5))[0].mean.tolist() == [3.0]  # mean of 2, 3, 4
    agg, meas = Krum(byzantine=1, select=1)(u, np.ones(5))
    assert agg.mean.tolist() in ([2.0], [3.0]) and 4 not in meas["krum_selected"]


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(vec=arrays(np.float64, st.integers(1, 20), elements=finite), k=st.integers(1, 9),
       w=st.lists(st.floats(0.5, 100), min_size=9, max_size=9))
def test_aggregate_of_identical_updates_is_that_update(vec, k, w):
    updates = np.tile(vec, (k, 1))
    weights = np.array(w[:k])
    for agg in (WeightedMean(True), WeightedMean(False), Median(), TrimmedMean(0.2),
                Krum(1, 1), Krum(1, 3)):
        out, _ = agg(updates, weights)
        np.testing.assert_allclose(out.mean, vec, rtol=1e-12, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(base=arrays(np.float64, (7, 5), elements=st.floats(-1, 1)),
       huge=st.floats(1e6, 1e12), row=st.integers(0, 6))
def test_median_and_trimmed_mean_ignore_one_huge_outlier(base, huge, row):
    attacked = base.copy()
    attacked[row] = huge
    for agg in (Median(), TrimmedMean(0.2)):
        out, _ = agg(attacked, np.ones(7))
        # Still inside the honest clients' range on every coordinate.
        assert np.all(out.mean <= base.max(0) + 1e-12) and np.all(out.mean >= base.min(0) - 1e-12)
    mean, _ = WeightedMean(False)(attacked, np.ones(7))
    assert np.abs(mean.mean).max() > 1e5  # the plain mean is dragged away


def test_server_sgd_and_momentum_exact():
    w = np.array([1.0, 1.0])
    d = np.array([0.5, -1.0])
    new, _ = server_update(AggregationConfig(server_lr=1.0), w, d, ServerOptState())
    assert new.tolist() == [1.5, 0.0]
    cfg = AggregationConfig(server_optimizer="fedavgm", server_lr=1.0, server_momentum=0.5)
    w1, s1 = server_update(cfg, w, d, ServerOptState())
    w2, _ = server_update(cfg, w1, d, s1)
    assert w2.tolist() == [1.0 + 0.5 + (0.5 * 0.5 + 0.5), 1.0 - 1.0 - (0.5 + 1.0)]


@pytest.mark.parametrize("opt", ["fedadam", "fedyogi", "fedadagrad"])
def test_adaptive_server_optimizers_first_step(opt):
    # Reddi et al. 2021, Algorithm 2, first step from v0 = tau^2, m0 = 0.
    cfg = AggregationConfig(server_optimizer=opt, server_lr=0.1, beta1=0.9, beta2=0.99, tau=1e-3)
    d = np.array([0.2, -0.4])
    new, st_ = server_update(cfg, np.zeros(2), d, ServerOptState())
    m = 0.1 * d
    v0 = 1e-6
    v = {"fedadagrad": v0 + d * d, "fedadam": 0.99 * v0 + 0.01 * d * d,
         "fedyogi": v0 - 0.01 * d * d * np.sign(v0 - d * d)}[opt]
    np.testing.assert_allclose(new, 0.1 * m / (np.sqrt(v) + 1e-3))
    np.testing.assert_allclose(st_.v, v)

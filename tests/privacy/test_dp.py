"""Differential privacy: clipping, noise, accounting, calibration, adaptive clipping, config.

Pure NumPy + dp-accounting (no TensorFlow): the mechanisms are driven by hand-built
RoundContext/UpdateBatch objects, the way the engine drives them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from fedsim.privacy.base import MechanismDriver
from dp_accounting import dp_event as E
from dp_accounting.rdp import rdp_privacy_accountant as rdp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError
from fedsim.privacy import accountant
from fedsim.privacy.base import Aggregate, RoundContext, UpdateBatch
from fedsim.privacy.dp import DPSGD, CentralDP, LocalDP, clip_rows, from_config

DELTA = 1e-5


def ctx(round_=1, seed=0, n=10, q=1.0, sampled=None, dropped=(), params=4):
    sampled = tuple(range(n)) if sampled is None else tuple(sampled)
    return RoundContext(round=round_, seed=seed, num_clients=n, expected_clients=q * n,
                        sample_rate=q, sampled=sampled, dropped=tuple(dropped), num_params=params)


def batch(deltas, ids=None):
    deltas = np.asarray(deltas, dtype=np.float64)
    ids = tuple(range(len(deltas))) if ids is None else tuple(ids)
    return UpdateBatch(ids, deltas, np.arange(1.0, len(deltas) + 1))


def run_central(mech: CentralDP, c: RoundContext, b: UpdateBatch):
    """Client side, receive, plain sum, server side: one DP-FedAvg round."""
    b2, m_client = mech.client(c, b)
    b3, _ = mech.receive(c, b2)
    agg = Aggregate(total=(b3.weights[:, None] * b3.deltas).sum(0), denominator=b3.weights.sum())
    out, m_server = mech.server(c, agg)
    return b2, out, m_client, m_server


# --------------------------------------------------------------------------- clipping
@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                  elements=st.floats(-1e6, 1e6)),
       st.floats(1e-3, 1e3))
def test_clipped_norms_never_exceed_clip(deltas, clip):
    out, norms = clip_rows(deltas, clip)
    after = np.linalg.norm(out, axis=1)
    assert np.all(after <= clip * (1 + 1e-9))
    small = norms <= clip  # rows already inside the ball are untouched
    np.testing.assert_array_equal(out[small], deltas[small])
    np.testing.assert_allclose(norms, np.linalg.norm(deltas, axis=1))


def test_central_client_clips_unweights_and_reports():
    mech = MechanismDriver(CentralDP(1.0, 1.0, 1.0, 10, DELTA))
    b = batch([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
    out, m = mech.client(ctx(n=3, params=2), b)
    np.testing.assert_allclose(out.deltas, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]])
    np.testing.assert_array_equal(out.weights, [1, 1, 1])  # user-level: every client counts 1
    assert m["per_client"]["pre_clip_norm"] == pytest.approx([5.0, 0.5, 0.0])
    assert m["per_client"]["clipped"] == [True, False, False] and m["clip"] == 1.0
    assert m["clipped_fraction"] == pytest.approx(1 / 3)
    assert b.deltas[0, 0] == 3.0  # input not mutated


# --------------------------------------------------------------------------- noise
def test_central_noise_std_and_fixed_denominator():
    z, clip, n, q, p = 1.3, 0.7, 50, 0.2, 200_000
    mech = MechanismDriver(CentralDP(z, clip, q, 10, DELTA))
    c = ctx(n=n, q=q, params=p)
    out, m = mech.server(c, Aggregate(total=np.zeros(p), denominator=7.0))
    assert out.denominator == pytest.approx(q * n)  # expected clients, not the 7 that arrived
    sigma = z * clip
    assert m["sigma"] == pytest.approx(sigma)
    # sample std of 2e5 normals: relative standard error 1/sqrt(2p) = 0.16%
    assert np.std(out.total) == pytest.approx(sigma, rel=0.01)
    assert abs(np.mean(out.total)) < 5 * sigma / math.sqrt(p)
    assert np.std(out.mean) == pytest.approx(sigma / (q * n), rel=0.01)
    assert m["noise_norm"] == pytest.approx(np.linalg.norm(out.total) / (q * n))
    assert m["signal_norm"] == 0.0


def test_central_signal_norm_is_the_clean_mean():
    mech = MechanismDriver(CentralDP(0.0, 10.0, 1.0, 5, DELTA))  # z = 0: no noise at all
    _, out, _, m = run_central(mech, ctx(n=2, params=2), batch([[1.0, 0.0], [3.0, 0.0]]))
    np.testing.assert_allclose(out.mean, [2.0, 0.0])
    assert m["signal_norm"] == pytest.approx(2.0) and m["noise_norm"] == 0.0


def test_local_noise_std_per_client_and_determinism():
    z, clip, p = 2.0, 0.5, 100_000
    mech = MechanismDriver(LocalDP(z, clip, 10, DELTA))
    b = batch(np.zeros((3, p)))
    out, m = mech.client(ctx(n=3, params=p), b)
    for row in out.deltas:
        assert np.std(row) == pytest.approx(z * clip, rel=0.01)
    assert m["per_client"]["noise_norm"] == pytest.approx(list(np.linalg.norm(out.deltas, axis=1)))
    assert m["per_client"]["clipped"] == [False] * 3
    assert m["sigma"] == pytest.approx(z * clip)
    # A client's noise depends on (seed, round, client) only, not on who else is in the batch.
    alone, _ = MechanismDriver(LocalDP(z, clip, 10, DELTA)).client(ctx(n=3, params=p), batch(np.zeros((1, p)), ids=[2]))
    np.testing.assert_array_equal(alone.deltas[0], out.deltas[2])


def test_same_seed_same_noise_other_seed_or_round_differs():
    def noise(seed, round_):
        mech = MechanismDriver(CentralDP(1.0, 1.0, 1.0, 10, DELTA))
        out, _ = mech.server(ctx(round_=round_, seed=seed, params=64),
                             Aggregate(total=np.zeros(64), denominator=1.0))
        return out.total

    np.testing.assert_array_equal(noise(7, 3), noise(7, 3))
    assert not np.allclose(noise(7, 3), noise(8, 3))
    assert not np.allclose(noise(7, 3), noise(7, 4))


# --------------------------------------------------------------------------- accounting
def test_epsilon_matches_dp_accounting():
    curve = accountant.rdp_epsilon_curve(1.0, 0.1, 100, DELTA)
    assert round(float(curve[-1]), 2) == 7.90
    acc = rdp.RdpAccountant()
    acc.compose(E.SelfComposedDpEvent(E.PoissonSampledDpEvent(0.1, E.GaussianDpEvent(1.0)), 100))
    assert curve[-1] == pytest.approx(acc.get_epsilon(DELTA), rel=1e-9)
    assert np.all(np.diff(curve) > 0)
    assert accountant.pld_epsilon(1.0, 0.1, 100, DELTA) == pytest.approx(7.05, abs=0.02)


@pytest.mark.parametrize("z,q", [(1.0, 0.1), (5.0, 0.01), (0.6, 1.0), (50.0, 0.001)])
def test_vectorized_epsilon_equals_compute_epsilon(z, q):
    """Our vectorized (ε, δ) conversion is dp-accounting's compute_epsilon, branch for branch."""
    curve = accountant.rdp_epsilon_curve(z, q, 60, DELTA)
    unit = accountant._unit_rdp(z, q)
    ref = [rdp.compute_epsilon(accountant.ORDERS, unit * t, DELTA)[0] for t in range(1, 61)]
    np.testing.assert_allclose(curve, ref, rtol=1e-12, atol=1e-12)


def test_no_sampling_no_amplification():
    assert accountant.rdp_epsilon_curve(1.0, 1.0, 100, DELTA)[-1] == pytest.approx(96.1, abs=0.05)


def test_zero_noise_is_infinite_epsilon():
    assert np.all(np.isinf(accountant.rdp_epsilon_curve(0.0, 0.1, 5, DELTA)))
    assert math.isinf(accountant.pld_epsilon(0.0, 0.1, 5, DELTA))


def test_curve_is_fast():
    import time

    accountant._unit_rdp.cache_clear()
    t0 = time.perf_counter()
    accountant.rdp_epsilon_curve(1.1, 0.03, 1000, DELTA)
    assert time.perf_counter() - t0 < 0.5


@pytest.mark.parametrize("target,q,rounds", [(2.0, 0.1, 100), (8.0, 0.05, 300), (1.0, 1.0, 20)])
def test_calibrate_within_one_percent(target, q, rounds):
    z = accountant.calibrate_noise(target, q, rounds, DELTA)
    eps = accountant.rdp_epsilon_curve(z, q, rounds, DELTA)[-1]
    assert eps <= target and eps == pytest.approx(target, rel=0.01)
    if (target, q, rounds) == (2.0, 0.1, 100):
        assert z == pytest.approx(2.423, rel=0.005)


def test_dpsgd_curve_counts_steps():
    # n=100, B=10, E=2: 20 steps of Poisson(0.1) per round, so round 5 = 100 such steps.
    curve = accountant.dpsgd_epsilon_curve(1.0, 10, 100, 2, 5, DELTA)
    assert curve[-1] == pytest.approx(7.904, abs=1e-3)
    assert np.all(np.diff(curve) > 0)


def test_end_round_reports_the_tighter_of_rdp_and_pld_past_configured_rounds():
    mech = MechanismDriver(CentralDP(1.0, 1.0, 0.1, 50, DELTA))
    reports = [mech.end_round(ctx(round_=r, n=100, q=0.1), batch(np.zeros((1, 4))))
               for r in range(1, 101)]
    m = reports[-1]
    assert m["delta"] == DELTA and round(m["epsilon_rdp"], 2) == 7.90
    # PLD (7.05 at the fine grid; the engine's coarser grid is a little more pessimistic)
    assert m["accountant"] == "pld" and 7.04 <= m["epsilon"] <= 7.10
    assert m["epsilon"] == min(m["epsilon_rdp"], m["epsilon_pld"])
    assert reports[0]["epsilon"] < m["epsilon"] and mech.state.rounds == 100


def test_local_accounting_per_participation_without_amplification():
    mech = MechanismDriver(LocalDP(5.0, 1.0, 100, DELTA))
    for r in range(1, 4):  # client 0 in every round, client 1 only once
        ids = (0, 1) if r == 1 else (0,)
        mech.client(ctx(round_=r, n=2), batch(np.zeros((len(ids), 4)), ids=ids))
    m = mech.end_round(ctx(round_=3, n=2), batch(np.zeros((1, 4))))
    assert m["participations"] == 3 and mech.state.counts == (3, 1)
    # replace-one sensitivity 2C: a Gaussian with multiplier z/2 per participation
    assert m["epsilon_rdp"] == pytest.approx(accountant.rdp_epsilon_curve(2.5, 1.0, 3, DELTA)[-1])
    assert m["epsilon"] == min(m["epsilon_rdp"], m["epsilon_pld"])
    add_remove = MechanismDriver(LocalDP(5.0, 1.0, 100, DELTA, neighbours="add_remove"))
    assert add_remove.epsilon_at(100) == pytest.approx(10.7, abs=0.05)  # privacy.md's figure


def test_dpsgd_mechanism_passes_through_and_reports_worst_client():
    mech = MechanismDriver(DPSGD(1.0, 1.0, 10, DELTA, batch_size=10, local_epochs=1, client_sizes=[50, 100, 400]))
    b = batch(np.ones((2, 4)))
    out, _ = mech.client(ctx(n=3), b)
    assert out is b and mech.state.counts == (1, 1, 0)
    m = mech.end_round(ctx(n=3), b)
    assert m["worst_client"] in (0, 1) and m["client_epsilons"][2] == 0.0  # client 2 never ran
    assert m["epsilon"] <= max(m["client_epsilons"]) and m["epsilon_median"] > 0


# --------------------------------------------------------------------------- adaptive clipping
def adaptive_run(c0: float, rounds: int, m: int = 100, seed: int = 0):
    """Norms ~ lognormal(0, 0.5): median exactly 1."""
    mech = MechanismDriver(CentralDP(0.5, c0, 1.0, rounds, DELTA, adaptive_clip=True,
                                     expected_clients=m, target_quantile=0.5, clip_lr=0.2))
    data = np.random.default_rng(seed)
    clips = [mech.state.clip]
    for r in range(1, rounds + 1):
        norms = data.lognormal(0.0, 0.5, m)
        dirs = data.normal(size=(m, 3))
        deltas = dirs / np.linalg.norm(dirs, axis=1, keepdims=True) * norms[:, None]
        _, _, _, meas = run_central(mech, ctx(round_=r, seed=seed, n=m, params=3), batch(deltas))
        assert meas["clip"] == pytest.approx(clips[-1]) and meas["adaptive"]["next_clip"] == mech.state.clip
        assert mech.mechanism.clip == c0  # the mechanism keeps only its settings
        clips.append(mech.state.clip)
    return np.array(clips)


def test_adaptive_clip_converges_to_the_median_norm():
    clips = adaptive_run(0.2, 200)
    assert clips[-1] == pytest.approx(1.0, rel=0.15)
    assert np.mean(clips[-50:]) == pytest.approx(1.0, rel=0.1)


def test_adaptive_clip_sign_shrinks_a_too_large_bound():
    clips = adaptive_run(10.0, 20)
    assert np.all(np.diff(clips[:10]) < 0)  # everyone is under C, so C must go down
    small = adaptive_run(0.05, 20)
    assert np.all(np.diff(small[:10]) > 0)  # everyone is clipped, so C must go up


def test_adaptive_update_noise_multiplier():
    mech = MechanismDriver(CentralDP(1.0, 1.0, 1.0, 10, DELTA, adaptive_clip=True, expected_clients=100))
    # sigma_b = 5, so z_delta = (1 - 1/100)^(-1/2)
    assert mech.update_noise_multiplier == pytest.approx((1 - 0.01) ** -0.5)
    with pytest.raises(ConfigError) as err:  # m = 10: z must be < m/10 = 1
        CentralDP(1.0, 1.0, 1.0, 10, DELTA, adaptive_clip=True, expected_clients=10)
    assert err.value.field == "privacy.dp.noise_multiplier"


def test_fresh_mechanism_restarts_from_configured_clip():
    a, b = adaptive_run(0.2, 5), adaptive_run(0.2, 5)
    np.testing.assert_array_equal(a, b)
    assert a[0] == 0.2


# --------------------------------------------------------------------------- config
@pytest.mark.parametrize("dp,field", [
    ({"clip": 0.0}, "privacy.dp.clip"),
    ({"clip": -1.0}, "privacy.dp.clip"),
    ({"delta": 1.0}, "privacy.dp.delta"),
    ({"delta": 2.0}, "privacy.dp.delta"),
    ({"noise_multiplier": -0.1}, "privacy.dp.noise_multiplier"),
])
def test_invalid_settings_raise_config_error(dp, field):
    with pytest.raises(ConfigError) as err:
        SimulationConfig.from_dict({"privacy": {"dp": {"mode": "central", **dp}}})
    assert err.value.field == field


def cfg(dp, **top):
    return SimulationConfig.from_dict({"privacy": {"dp": dp}, **top})


def test_from_config_modes():
    assert from_config(cfg({"mode": "off"})) is None
    c = from_config(cfg({"mode": "central", "noise_multiplier": 1.2, "clip": 0.5},
                        clients={"num_clients": 100, "fraction": 0.1}, rounds=30))
    assert isinstance(c, CentralDP) and c.noise_multiplier == 1.2 and c.sample_rate == 0.1
    assert c.clip == 0.5 and len(c.epsilon_curve()) == 30
    assert isinstance(from_config(cfg({"mode": "local"})), LocalDP)
    assert isinstance(from_config(cfg({"mode": "dpsgd"}), client_sizes=[40, 80]), DPSGD)
    with pytest.raises(ValueError):
        from_config(cfg({"mode": "dpsgd"}))
    with pytest.raises(ConfigError) as err:  # 10 clients: z=1 leaves nothing for the count
        from_config(cfg({"mode": "central", "adaptive_clip": True}))
    assert err.value.field == "privacy.dp.noise_multiplier"
    with pytest.raises(ConfigError):
        from_config(cfg({"mode": "local", "adaptive_clip": True}))


@pytest.mark.parametrize("mode", ["central", "local", "dpsgd"])
def test_from_config_calibrates_target_epsilon(mode):
    c = cfg({"mode": mode, "target_epsilon": 4.0}, rounds=40,
            clients={"num_clients": 50, "fraction": 0.2})
    mech = from_config(c, client_sizes=[30, 60, 90])
    if mode == "dpsgd":  # calibrated on the worst client, integer-order RDP
        eps = float(accountant.dpsgd_client_epsilons(mech.noise_multiplier, 16, [30, 60, 90], 1,
                                                     [40] * 3, DELTA).max())
    else:  # calibrated on the headline figure, min(RDP, PLD)
        eps = mech.planned_epsilon(40)[0]
        assert mech.epsilon_at(40) > 4.0 or mech.planned_epsilon(40)[1] == "rdp"
    assert eps <= 4.0 and eps == pytest.approx(4.0, rel=0.01)
    assert mech.noise_multiplier != c.privacy.dp.noise_multiplier

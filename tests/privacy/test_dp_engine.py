"""Differential privacy inside the running engine (the mechanisms themselves: test_dp.py)."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from fedsim import Simulation, SimulationConfig  # noqa: E402


def _run(rounds=3, **over):
    base = {"seed": 4, "rounds": rounds, "clients": {"num_clients": 8}}
    for k, v in over.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    sim = Simulation(SimulationConfig.from_dict(base))
    sim.run()
    return sim


def test_runs_without_dp_are_unchanged_bit_for_bit():
    a = _run()
    b = _run(privacy={"dp": {"mode": "off", "clip": 3.0, "noise_multiplier": 5.0}})
    np.testing.assert_array_equal(a.weights, b.weights)


def test_central_dp_without_noise_or_clipping_is_the_simple_mean():
    plain = _run(aggregation={"weighted": False})
    dp = _run(privacy={"dp": {"mode": "central", "clip": 1e6, "noise_multiplier": 0.0}})
    # q = 1: Poisson sampling takes everyone, the fixed denominator qN is the client count.
    np.testing.assert_allclose(dp.weights, plain.weights, rtol=0, atol=1e-12)


def test_central_dp_reports_epsilon_clipping_and_noise_each_round():
    sim = _run(rounds=4, clients={"num_clients": 20, "fraction": 0.5},
               privacy={"dp": {"mode": "central", "clip": 0.2, "noise_multiplier": 1.0}})
    eps = [r.privacy["epsilon"] for r in sim.history]
    assert all(b > a for a, b in zip(eps, eps[1:]))
    for r in sim.history:
        for c in r.clients:
            assert isinstance(c.extra["clipped"], bool)
            assert c.extra["clipped"] == (c.extra["pre_clip_norm"] > 0.2)
        assert r.privacy["clip"] == 0.2
        upd = r.phase("update").measurements["dp"]
        assert upd["noise_norm"] > 0 and upd["denominator"] == pytest.approx(10.0)
    assert r.phase("select").measurements["sampling"] == "poisson"


def test_digits_accuracy_falls_as_noise_rises():
    acc = []
    for z in (0.0, 1.0, 4.0):
        sim = _run(rounds=15, clients={"num_clients": 50, "fraction": 0.4},
                   training={"local_epochs": 2, "lr": 0.1},
                   privacy={"dp": {"mode": "central", "clip": 1.0, "noise_multiplier": z}})
        acc.append(np.mean([r.global_metrics["accuracy"] for r in sim.history[-3:]]))
    assert acc[0] > acc[1] > acc[2], acc


def test_dpsgd_and_local_dp_run_and_account():
    for mode in ("dpsgd", "local"):
        sim = _run(rounds=2, privacy={"dp": {"mode": mode, "clip": 1.0, "noise_multiplier": 1.0}})
        assert np.isfinite(sim.history[-1].privacy["epsilon"])
        assert sim.history[1].privacy["epsilon"] > sim.history[0].privacy["epsilon"]


def test_target_epsilon_is_met_after_the_configured_rounds():
    sim = _run(rounds=5, clients={"num_clients": 20, "fraction": 0.5},
               privacy={"dp": {"mode": "central", "clip": 1.0, "target_epsilon": 3.0}})
    final = sim.history[-1].privacy["epsilon"]
    assert final <= 3.0 and final == pytest.approx(3.0, rel=0.01)

"""Convergence on real data: the engine actually learns, and non-IID data visibly hurts."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from fedsim import Simulation, SimulationConfig  # noqa: E402


def _curve(**over):
    base = {"seed": 0, "rounds": 20, "clients": {"num_clients": 10}}
    base.update(over)
    sim = Simulation(SimulationConfig.from_dict(base))
    sim.run()
    return sim, np.array([r.global_metrics.get("accuracy", np.nan) for r in sim.history])


def test_digits_iid_fedavg_reaches_90_percent_in_20_rounds():
    _, acc = _curve(partition={"name": "iid"})
    assert acc.max() >= 0.90
    assert acc[-1] >= 0.90


def test_dirichlet_0_1_is_visibly_behind_iid_at_the_same_round():
    training = {"local_epochs": 3}
    _, iid = _curve(partition={"name": "iid"}, training=training)
    _, skew = _curve(partition={"name": "dirichlet", "alpha": 0.1}, training=training)
    assert iid[-1] >= 0.93
    # Behind at the same round: over the first 10 rounds, and still at the end.
    assert (iid[:10] - skew[:10]).mean() >= 0.03
    assert skew[-1] < iid[-1]


def test_seed_regression_beats_the_mean_predictor_by_far():
    sim = Simulation(SimulationConfig.from_dict(
        {"rounds": 30, "dataset": {"name": "seed_regression", "num_samples": 2000}}))
    sim.run()
    y = sim.fed.data.y_test
    mean_predictor = float(np.mean((y - sim.fed.data.y_train.mean()) ** 2))
    final = sim.history[-1].global_metrics["mse"]
    assert final < 0.6 * mean_predictor
    assert sim.history[0].global_metrics["mse"] > final

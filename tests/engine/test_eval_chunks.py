"""A large test set is evaluated in chunks (FEMNIST's 40,419 images in one call took 2.6 GB of
activations): the same loss and metric as one call, to float32 rounding; small sets are one
call, bit for bit as before."""

from __future__ import annotations

import numpy as np
import pytest

from fedsim.config import SimulationConfig
from fedsim.engine.simulation import Simulation
from fedsim.training import trainer as tr


def test_chunked_evaluation_equals_one_call(monkeypatch):
    sim = Simulation(SimulationConfig.from_dict({"seed": 1, "dataset": {"name": "digits"}}))
    x, y = np.asarray(sim.fed.data.x_test), np.asarray(sim.fed.data.y_test)
    big_x, big_y = np.concatenate([x] * 30), np.concatenate([y] * 30)
    calls = []
    real = sim.trainer._call
    monkeypatch.setattr(sim.trainer, "_call", lambda fn, *a: calls.append(len(a[1])) or real(fn, *a))
    chunked = sim.trainer.evaluate(sim.weights, big_x, big_y)
    assert calls == [tr.EVAL_CHUNK, len(big_x) - tr.EVAL_CHUNK]
    monkeypatch.setattr(tr, "EVAL_CHUNK", 10 ** 9)
    whole = sim.trainer.evaluate(sim.weights, big_x, big_y)
    assert chunked == pytest.approx(whole, rel=1e-6)
    calls.clear()
    small = sim.trainer.evaluate(sim.weights, x, y)
    assert calls == [len(x)]  # one call for a small set
    assert small == pytest.approx(whole, rel=1e-6)  # 30 copies: the same means

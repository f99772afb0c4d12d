"""A round plan: the clients' own choices for one round (a live class's students), on top of the
configuration. No plan is bit-for-bit the engine as before; a plan drops and attacks exactly
the clients it names, in that round only."""

from __future__ import annotations

import numpy as np
import pytest

from fedsim.config import MaliciousConfig, SimulationConfig
from fedsim.engine.round import RoundPlan
from fedsim.engine.simulation import Simulation

CFG = SimulationConfig.from_dict({"seed": 4, "rounds": 3, "dataset": {"name": "digits"},
                                  "clients": {"num_clients": 6}})


def test_no_plan_and_an_empty_plan_are_the_engine_as_before():
    a, b = Simulation(CFG), Simulation(CFG)
    ra, rb = a.step_round(), b.step_round(RoundPlan())
    assert np.array_equal(a.weights, b.weights)
    assert ra.global_metrics == rb.global_metrics


def test_plan_drops_the_clients_it_names_for_that_round_only():
    sim = Simulation(CFG)
    r1 = sim.step_round(RoundPlan(drop=(1, 4)))
    assert r1.dropped == (1, 4) and r1.aggregated == (0, 2, 3, 5)
    # the server received nothing from them: the upload counts only the others
    table = r1.client_table
    assert list(table.dropped) == [False, True, False, False, True, False]
    r2 = sim.step_round()
    assert r2.dropped == ()


def test_plan_attacks_scale_exactly_the_named_client():
    honest, attacked = Simulation(CFG), Simulation(CFG)
    h = honest.step_round()
    plan = RoundPlan(attacks=(MaliciousConfig(ids=(2,), attack="scale", factor=10.0),
                              MaliciousConfig(ids=(5,), attack="sign_flip", factor=1.0)))
    a = attacked.step_round(plan)
    hn, an = h.client_table.update_norm, a.client_table.update_norm
    assert an[2] == pytest.approx(10 * hn[2], rel=1e-9)  # Δ ← 10·Δ
    assert an[5] == pytest.approx(hn[5], rel=1e-9)       # Δ ← −Δ: same length
    for k in (0, 1, 3, 4):
        assert an[k] == hn[k]  # honest clients' updates are untouched
    assert list(a.client_table.malicious) == [False, False, True, False, False, True]
    assert a.phase("train").measurements["attacked"] == (2, 5)
    # and the global model differs: the attack reached the aggregate
    assert not np.array_equal(honest.weights, attacked.weights)


def test_an_abandoned_round_forgets_its_plan():
    sim, fresh = Simulation(CFG), Simulation(CFG)
    sim.step(RoundPlan(drop=(0, 1, 2)))  # select ran with the plan
    sim.abort_round()
    r = sim.step_round()  # a new round, no plan: nobody drops
    assert r.dropped == ()
    fresh.step_round()
    assert np.array_equal(sim.weights, fresh.weights)


def test_plan_data_replaces_a_client_s_rows_for_that_round():
    """A client that trains on one example of its own: the update is exactly the one a
    single-client simulation on that example alone would make, and the server can invert it
    analytically (the live class's drawn-digit demonstration)."""
    from fedsim.tools.inversion import invert_analytic

    sim = Simulation(CFG)
    x0 = np.asarray(sim.fed.client_data.x[3][:1])
    y0 = np.asarray(sim.fed.client_data.y[3][:1])
    r = sim.step_round(RoundPlan(data=((3, x0, y0),)))
    row = list(r.sampled).index(3)
    assert int(r.client_table.num_examples[row]) == 1
    update = sim._unflat(sim.last.raw_updates[row])
    rec = invert_analytic(update).x
    assert np.allclose(rec, x0[0], atol=1e-3)  # the server recovers the example
    others = [k for k in range(6) if k != 3]
    assert all(int(r.client_table.num_examples[list(r.sampled).index(k)]) > 1 for k in others)

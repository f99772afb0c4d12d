"""The step-through Simulation: phases, exact aggregation, determinism, dropout, baselines."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from fedsim import PHASES, Simulation, SimulationConfig  # noqa: E402
from fedsim.tools.baselines import centralized_curve, local_only_curve  # noqa: E402
from fedsim.errors import PartitionError, PhaseError  # noqa: E402


def test_step_walks_the_phases_in_order(tiny_config):
    sim = Simulation(tiny_config())
    seen = [sim.step().phase for _ in PHASES]
    assert tuple(seen) == PHASES
    assert sim.round == 1 and not sim.in_round
    assert [p.phase for p in sim.history[0].trace] == list(PHASES)
    sim.step()
    assert sim.in_round and sim.next_phase == "broadcast" and len(sim.current_trace) == 1
    r = sim.step_round()
    assert r.round == 2 and sim.round == 2


@pytest.mark.parametrize("weighted", [True, False])
def test_global_update_is_exactly_the_fedavg_of_client_updates(tiny_config, weighted):
    sim = Simulation(tiny_config(clients={"num_clients": 2}, partition={"name": "quantity"},
                                 aggregation={"weighted": weighted}))
    before = sim.weights.copy()
    r = sim.step_round()
    raw = sim.last.raw_updates
    n = np.array([c.num_examples for c in r.clients], float)
    w = n if weighted else np.ones(2)
    expected = before + (w[0] * raw[0] + w[1] * raw[1]) / w.sum()
    np.testing.assert_allclose(sim.weights, expected, rtol=0, atol=1e-12)
    # The two weightings must actually differ here, or this test could not tell them apart.
    assert n[0] != n[1]
    other = before + ((np.ones(2) if weighted else n) @ raw) / (np.ones(2) if weighted else n).sum()
    assert np.abs(other - expected).max() > 1e-6


def test_same_config_same_history_bit_for_bit(tiny_config):
    cfg = tiny_config(clients={"num_clients": 6, "fraction": 0.5, "dropout": 0.3},
                      partition={"name": "dirichlet", "alpha": 0.5})
    a, b = Simulation(cfg), Simulation(cfg)
    a.run(), b.run()
    assert [r.to_dict("classification") | {"trace": None} for r in a.history] == \
           [r.to_dict("classification") | {"trace": None} for r in b.history]
    assert np.array_equal(a.weights, b.weights)
    a.reset()
    a.run()
    assert np.array_equal(a.weights, b.weights)


def test_determinism_across_processes(tmp_path):
    cfg = {"seed": 7, "rounds": 3, "clients": {"num_clients": 5, "fraction": 0.6, "dropout": 0.2},
           "partition": {"name": "dirichlet", "alpha": 0.3}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cfg))
    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        subprocess.run([sys.executable, "-m", "fedsim", "run", "--config", str(path), "--out",
                        str(out), "--quiet"], check=True)
        d = json.loads(out.read_text())
        for r in d["rounds"]:
            r.pop("trace")  # wall times differ; everything else must not
        outs.append(d)
    assert outs[0] == outs[1]
    inproc = Simulation(SimulationConfig.from_dict(cfg))
    inproc.run()
    assert [r.global_metrics["accuracy"] for r in inproc.history] == \
           [r["global"]["accuracy"] for r in outs[0]["rounds"]]


def test_dropout_and_sampling_are_reported(tiny_config):
    sim = Simulation(tiny_config(clients={"num_clients": 8, "fraction": 0.5, "dropout": 0.5},
                                 rounds=6))
    sim.run()
    for r in sim.history:
        assert len(r.sampled) == 4
        assert set(r.dropped) <= set(r.sampled)
        assert set(r.aggregated) == set(r.sampled) - set(r.dropped)
        assert all(c.bytes_up == 0 for c in r.clients if c.dropped)
        assert r.bytes_down == 4 * sim.num_params * 4
    assert sum(len(r.dropped) for r in sim.history) > 0


def test_history_is_immutable(tiny_config):
    sim = Simulation(tiny_config())
    r = sim.step_round()
    with pytest.raises(Exception):
        r.round = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.global_metrics["accuracy"] = 1.0  # type: ignore[index]
    assert isinstance(sim.history, tuple)


def test_all_clients_dropping_leaves_the_model_unchanged(tiny_config):
    sim = Simulation(tiny_config(clients={"num_clients": 4, "dropout": 0.99}))
    before = sim.weights.copy()
    r = sim.step_round()
    assert r.aggregated == () and len(r.dropped) == len(r.sampled) > 0  # the premise holds
    np.testing.assert_array_equal(sim.weights, before)


def test_malicious_scaling_client_is_visible_in_update_norms(tiny_config):
    cfg = tiny_config(clients={"num_clients": 4, "malicious": {"ids": [1], "factor": 10.0}})
    r = Simulation(cfg).step_round()
    norms = {c.id: c.update_norm for c in r.clients}
    assert norms[1] > 3 * max(v for k, v in norms.items() if k != 1)
    assert [c.malicious for c in r.clients] == [False, True, False, False]


def test_partition_error_reaches_the_user():
    cfg = SimulationConfig.from_dict({"dataset": {"name": "breast_cancer"},
                                      "clients": {"num_clients": 500}})
    with pytest.raises(PartitionError, match="clients.num_clients"):
        Simulation(cfg)


def test_every_partitioner_and_model_runs_a_round():
    for part in ("iid", "dirichlet", "pathological", "shards", "quantity", "feature"):
        for ds, model in (("digits", "cnn"), ("breast_cancer", "logistic"),
                          ("seed_regression", "seed_mlp")):
            cfg = SimulationConfig.from_dict({"rounds": 1, "dataset": {"name": ds},
                                              "clients": {"num_clients": 5},
                                              "partition": {"name": part}, "model": {"name": model}})
            r = Simulation(cfg).step_round()
            assert all(np.isfinite(v) for v in r.global_metrics.values()), (part, ds)


def test_baselines_on_the_same_data(tiny_config):
    sim = Simulation(tiny_config(rounds=3))
    cen = centralized_curve(sim.fed, 3)
    loc = local_only_curve(sim.fed, 3)
    assert [c["round"] for c in cen] == [1, 2, 3]
    assert all(0 <= c["accuracy"] <= 1 for c in cen + loc)
    assert loc[-1]["accuracy_min"] <= loc[-1]["accuracy"] <= loc[-1]["accuracy_max"]


def test_a_failing_phase_abandons_the_round_and_restores_the_model(tiny_config, monkeypatch):
    sim = Simulation(tiny_config())
    sim.step_round()
    before = sim.weights.copy()

    def boom(env, rs):
        raise RuntimeError("evaluation failed")

    for _ in range(7):
        sim.step()  # select ... update: the model has moved
    assert not np.array_equal(sim.weights, before)
    monkeypatch.setitem(sim.phases, "evaluate", boom)
    with pytest.raises(PhaseError, match=r"round 2, phase 'evaluate'.*evaluation failed") as err:
        sim.step()
    assert isinstance(err.value.__cause__, RuntimeError)
    assert (err.value.round, err.value.phase) == (2, "evaluate")
    assert sim.round == 1 and not sim.in_round
    np.testing.assert_array_equal(sim.weights, before)
    monkeypatch.undo()
    assert sim.step_round().round == 2


def test_set_rounds_keeps_history(tiny_config):
    sim = Simulation(tiny_config(rounds=2))
    sim.run()
    assert sim.done
    sim.set_rounds(4)
    assert not sim.done and sim.round == 2
    sim.run()
    assert sim.round == 4


def test_build_federation_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys; from fedsim import SimulationConfig; "
            "from fedsim.engine.simulation import build_federation; "
            "f = build_federation(SimulationConfig()); print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

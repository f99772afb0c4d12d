"""The Flower bridge: mapping, export, Simulation Engine (accuracy vs fedsim), Deployment Engine.

The flwr tests need the ``flower`` extra (``pip install -e '.[flower]'``; the ``test`` extra
pulls it in) and skip with that reason when it is absent. Ray is limited to 1 CPU.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from fedsim.config import SimulationConfig
from fedsim.errors import IncompatibleConfigError
from fedsim.flower.export import flower_strategy

HAS_FLWR = all(importlib.util.find_spec(m) is not None for m in ("flwr", "ray"))
needs_flwr = pytest.mark.skipif(not HAS_FLWR, reason="flwr[simulation] is not installed: "
                                "pip install -e '.[flower]' (the test extra includes it)")
ROOT = Path(__file__).resolve().parents[2]


def cfg(**sections) -> SimulationConfig:
    return SimulationConfig.from_dict(sections)


# --------------------------------------------------------------------------- mapping (no flwr)
@pytest.mark.parametrize("sections, kind, key", [
    ({}, "fedavg", "num-examples"),
    ({"aggregation": {"weighted": False}}, "fedavg", "unit-weight"),
    ({"training": {"prox_mu": 0.1}}, "fedprox", "num-examples"),
    ({"aggregation": {"server_optimizer": "fedavgm", "server_lr": 1.0}}, "fedavgm", "num-examples"),
    ({"aggregation": {"server_optimizer": "sgd", "server_lr": 0.5}}, "fedavgm", "num-examples"),
    ({"aggregation": {"server_optimizer": "fedadam", "server_lr": 0.1}}, "fedadam", "num-examples"),
    ({"aggregation": {"server_optimizer": "fedyogi"}}, "fedyogi", "num-examples"),
    ({"aggregation": {"server_optimizer": "fedadagrad"}}, "fedadagrad", "num-examples"),
    ({"aggregation": {"name": "median"}}, "fedmedian", "unit-weight"),
    ({"aggregation": {"name": "trimmed_mean", "trim_fraction": 0.2}}, "fedtrimmedavg", "unit-weight"),
    ({"aggregation": {"name": "krum"}}, "krum", "unit-weight"),
    ({"aggregation": {"name": "krum", "krum_select": 3}}, "multikrum", "unit-weight"),
])
def test_strategy_mapping(sections, kind, key):
    s = flower_strategy(cfg(**sections))
    assert s["kind"] == kind and s["weighted_by_key"] == key


def test_central_dp_maps_to_server_side_fixed_clipping():
    s = flower_strategy(cfg(clients={"num_clients": 10, "fraction": 0.5},
                            privacy={"dp": {"mode": "central", "clip": 0.5,
                                            "noise_multiplier": 0.8}}))
    assert s["central_dp"] == {"noise_multiplier": 0.8, "clip": 0.5, "num_sampled_clients": 5}
    assert s["min_train_nodes"] == 5 and s["fraction_train"] == 0.5


@pytest.mark.parametrize("sections, field", [
    ({"privacy": {"dp": {"mode": "dpsgd"}}}, "privacy.dp.mode"),
    ({"privacy": {"dp": {"mode": "central", "adaptive_clip": True, "noise_multiplier": 0.1}},
      "clients": {"num_clients": 20}}, "privacy.dp.adaptive_clip"),
    ({"privacy": {"secure_aggregation": {"enabled": True}}}, "privacy.secure_aggregation.enabled"),
    ({"privacy": {"he": {"scheme": "paillier"}}}, "privacy.he.scheme"),
    ({"privacy": {"zkp": {"enabled": True}}}, "privacy.zkp.enabled"),
    ({"clients": {"dropout": 0.2}}, "clients.dropout"),
    ({"clients": {"malicious": {"ids": [1]}}}, "clients.malicious.ids"),
    ({"aggregation": {"name": "median", "server_optimizer": "fedadam"}},
     "aggregation.server_optimizer"),
    ({"training": {"prox_mu": 0.1}, "aggregation": {"server_optimizer": "fedyogi"}},
     "training.prox_mu"),
])
def test_what_flower_lacks_is_one_line_naming_the_field(sections, field):
    with pytest.raises(IncompatibleConfigError) as err:
        flower_strategy(cfg(**sections))
    msg = str(err.value)
    assert msg.startswith(field + ":") and "\n" not in msg and "Flower" in msg


# --------------------------------------------------------------------------- export (TF only)
def test_export_writes_a_self_contained_app(tmp_path):
    from fedsim.flower.export import export_app
    from fedsim.training.models import initial_weights
    from fedsim.engine.simulation import build_federation

    c = cfg(rounds=3, clients={"num_clients": 4}, partition={"name": "dirichlet", "alpha": 0.5})
    app = export_app(c, tmp_path / "app")
    py = tomllib.loads((app / "pyproject.toml").read_text())
    flwr_app = py["tool"]["flwr"]["app"]
    assert flwr_app["components"] == {"serverapp": "fedsim_app.server_app:app",
                                      "clientapp": "fedsim_app.client_app:app"}
    assert flwr_app["config"]["num-server-rounds"] == 3 and flwr_app["publisher"]
    server = (app / "fedsim_app" / "server_app.py").read_text()
    client = (app / "fedsim_app" / "client_app.py").read_text()
    assert "from flwr.serverapp import Grid, ServerApp" in server
    assert "from flwr.clientapp import ClientApp" in client and "ArrayRecord" in client
    assert "fedsim" not in "".join(l for l in (server + client).splitlines()
                                   if l.startswith(("import", "from")))  # no fedsim dependency
    fed = build_federation(c)
    with np.load(app / "data" / "initial_weights.npz") as z:
        for i, w in enumerate(initial_weights(fed.spec, c.seed)):
            np.testing.assert_array_equal(z[f"w{i}"], w)
    part = json.loads((app / "data" / "partition.json").read_text())
    for k in range(4):
        assert part["clients"][k]["indices"] == fed.partition.indices[k].tolist()
        with np.load(app / "data" / f"client_{k}.npz") as z:
            n = int(fed.client_data.counts[k])
            np.testing.assert_array_equal(z["x_train"], fed.client_data.x[k, :n])
            np.testing.assert_array_equal(z["y_train"], fed.client_data.y[k, :n])
    with pytest.raises(IncompatibleConfigError, match="not empty"):
        export_app(c, app)


# --------------------------------------------------------------------------- flwr
@needs_flwr
@pytest.mark.parametrize("opt", ["fedadam", "fedyogi", "fedadagrad", "fedavgm"])
def test_exported_server_optimizers_follow_fedsim_conventions(opt):
    """v₀ = τ², no Adam bias correction, β₁ for Adagrad: Flower's strategies as exported
    step exactly like fedsim.engine.server_opt.server_update (to float32 precision)."""
    from flwr.app import ArrayRecord, ConfigRecord, Message, MetricRecord, RecordDict
    from flwr.supercore.task_identity import TaskIdentity
    from fedsim.engine.server_opt import ServerOptState, server_update

    spec = importlib.util.spec_from_file_location(
        "fedsim_app_strategies", ROOT / "fedsim" / "flower" / "app_template" / "strategies.py")
    st = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(st)
    old = TaskIdentity._run_id, TaskIdentity._task_id, TaskIdentity._node_id
    TaskIdentity.run_id, TaskIdentity.task_id, TaskIdentity.node_id = 1, 1, 0

    class Grid:
        def get_node_ids(self):
            return [1, 2, 3]
    try:
        c = cfg(clients={"num_clients": 3},
                aggregation={"server_optimizer": opt, "server_lr": 0.1 if opt != "fedavgm" else 0.7})
        s = flower_strategy(c)
        strat = st.build_strategy(s)
        rng = np.random.default_rng(0)
        cur = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=2).astype(np.float32)]
        flat, state = np.concatenate([a.ravel() for a in cur]).astype(np.float64), ServerOptState()
        for rnd in (1, 2, 3):
            strat.configure_train(rnd, ArrayRecord(cur), ConfigRecord(), Grid())
            locs = [[a + rng.normal(scale=0.05, size=a.shape).astype(np.float32) for a in cur]
                    for _ in range(3)]
            n = [10, 20, 30]
            replies = [Message(RecordDict({"arrays": ArrayRecord(l), "metrics": MetricRecord(
                {"num-examples": k, "unit-weight": 1})}), dst_node_id=1, message_type="train")
                for l, k in zip(locs, n)]
            new, _ = strat.aggregate_train(rnd, replies)
            cur = new.to_numpy_ndarrays()
            lf = np.stack([np.concatenate([a.ravel() for a in l]) for l in locs]).astype(np.float64)
            flat, state = server_update(c.aggregation, flat, np.array(n, float) @ lf / 60 - flat,
                                        state)
            got = np.concatenate([a.ravel() for a in cur])
            np.testing.assert_allclose(got, flat, atol=2e-6)
    finally:
        TaskIdentity._run_id, TaskIdentity._task_id, TaskIdentity._node_id = old


@needs_flwr
def test_flower_simulation_matches_fedsim_within_one_point():
    """FedAvg, digits IID, 10 clients, seed 0, 10 rounds: measured 0.8719 (fedsim) against
    0.8774 (Flower, 1 Ray CPU); the same initial model gives the same round-0 accuracy."""
    from fedsim.cli import results_dict
    from fedsim.flower.run import run_simulation
    from fedsim.engine.simulation import Simulation

    c = cfg(seed=0, rounds=10, clients={"num_clients": 10}, partition={"name": "iid"})
    sim = Simulation(c)
    sim.run()
    ours = results_dict(sim)
    theirs = run_simulation(c, num_cpus=1, timeout=400)
    assert theirs["engine"]["name"] == "flower"
    assert theirs["initial"]["accuracy"] == pytest.approx(ours["initial"]["accuracy"], abs=1e-6)
    assert len(theirs["rounds"]) == 10
    a, b = ours["rounds"][-1]["global"]["accuracy"], theirs["rounds"][-1]["global"]["accuracy"]
    assert abs(a - b) <= 0.01, (a, b)
    # the same layout, so the Compare page and any script can overlay the two
    for k in ("config", "task", "num_params", "partition", "initial", "rounds"):
        assert k in theirs
    assert theirs["partition"] == ours["partition"] and theirs["num_params"] == ours["num_params"]
    r, q = theirs["rounds"][0], ours["rounds"][0]
    assert set(q) <= set(r) and set(q["global"]) == set(r["global"])
    assert set(q["clients"][0]) - {"rejected"} <= set(r["clients"][0])
    assert sorted(c_["id"] for c_ in r["clients"]) == list(range(10))
    assert [c_["num_examples"] for c_ in r["clients"]] == [c_["num_examples"] for c_ in q["clients"]]


@needs_flwr
def test_deployment_engine_superlink_and_two_supernodes(tmp_path):
    """flower-superlink + 2 flower-supernode on 127.0.0.1 (insecure, own ports), flwr run,
    2 rounds; every process is stopped afterwards."""
    from fedsim.flower.deploy import local_deployment
    from fedsim.flower.export import export_app

    c = cfg(seed=0, rounds=2, clients={"num_clients": 2})
    app = export_app(c, tmp_path / "app")
    res = local_deployment(app, 2, timeout=300)
    assert [r["round"] for r in res["rounds"]] == [1, 2]
    for r in res["rounds"]:
        assert sorted(cl["id"] for cl in r["clients"]) == [0, 1]
    assert res["rounds"][-1]["global"]["accuracy"] > res["initial"]["accuracy"] + 0.3
    left = subprocess.run(["pgrep", "-f", str(app)], capture_output=True, text=True).stdout
    assert not left.strip(), f"processes left running: {left}"


def test_cli_export_and_refusal(tmp_path):
    conf = tmp_path / "cfg.json"
    conf.write_text(json.dumps({"rounds": 2, "clients": {"num_clients": 3}}))
    out = subprocess.run([sys.executable, "-m", "fedsim.flower.cli", "export", "--config",
                          str(conf), str(tmp_path / "app")], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "app" / "pyproject.toml").exists()
    conf.write_text(json.dumps({"privacy": {"he": {"scheme": "ckks"}}}))
    out = subprocess.run([sys.executable, "-m", "fedsim.flower.cli", "run", "--config",
                          str(conf)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "fedsim: error: privacy.he.scheme: got 'ckks'; the Flower export cannot express this: "
        "Flower has no homomorphic encryption; use 'off'"]

"""Configuration: the issue's JSON keeps working, round-trips, and bad input names the field."""

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from fedsim import ConfigError, IncompatibleConfigError, SimulationConfig

ISSUE_JSON = """{"seed": 0, "rounds": 20,
 "dataset": {"name": "digits", "test_fraction": 0.2, "val_fraction": 0.2},
 "clients": {"num_clients": 10, "fraction": 1.0, "dropout": 0.0},
 "partition": {"name": "dirichlet", "alpha": 0.5},
 "model": {"name": "mlp"},
 "training": {"local_epochs": 1, "batch_size": 16, "lr": 0.05, "optimizer": "sgd", "prox_mu": 0.0},
 "aggregation": {"name": "fedavg", "weighted": true, "server_optimizer": "sgd", "server_lr": 1.0}}"""


def test_issue_json_loads_and_round_trips():
    cfg = SimulationConfig.from_json(ISSUE_JSON)
    assert cfg.partition.alpha == 0.5 and cfg.aggregation.weighted is True
    assert cfg.model_name == "mlp"
    again = SimulationConfig.from_json(cfg.to_json())
    assert again == cfg
    assert json.loads(cfg.to_json())["training"]["lr"] == 0.05


def test_omitted_keys_take_defaults_and_auto_model():
    cfg = SimulationConfig.from_dict({"dataset": {"name": "seed_regression"}})
    assert cfg.model_name == "seed_mlp" and cfg.task == "regression"
    assert SimulationConfig.from_dict({}).clients.num_clients == 10


def test_config_is_frozen():
    cfg = SimulationConfig()
    with pytest.raises(Exception):
        cfg.seed = 3  # type: ignore[misc]


@pytest.mark.parametrize("data, field, fragment", [
    ({"clients": {"num_clients": 0}}, "clients.num_clients", ">= 1"),
    ({"clients": {"num_clients": "ten"}}, "clients.num_clients", "an integer"),
    ({"clients": {"fraction": 1.5}}, "clients.fraction", "<= 1.0"),
    ({"partition": {"alpha": 0}}, "partition.alpha", "> 0.0"),
    ({"partition": {"name": "random"}}, "partition.name", "'dirichlet'"),
    ({"dataset": {"name": "imagenet"}}, "dataset.name", "'digits'"),
    ({"training": {"lr": -1}}, "training.lr", "> 0.0"),
    ({"training": {"optimizer": "rmsprop"}}, "training.optimizer", "'adam'"),
    ({"aggregation": {"weighted": "yes"}}, "aggregation.weighted", "true or false"),
    ({"privacy": {"dp": {"clip": 0}}}, "privacy.dp.clip", "> 0.0"),
    ({"privacy": {"dp": {"delta": 1.0}}}, "privacy.dp.delta", "< 1.0"),
    ({"privacy": {"dp": {"noise_multiplier": -0.5}}}, "privacy.dp.noise_multiplier", ">= 0.0"),
    ({"trainig": {}}, "trainig", "known keys"),
    ({"training": {"epochs": 3}}, "training.epochs", "local_epochs"),
    ({"clients": {"num_clients": 4, "malicious": {"ids": [7]}}}, "clients.malicious.ids[0]",
     "0 to 3"),
])
def test_bad_values_name_field_value_and_allowed(data, field, fragment):
    with pytest.raises(ConfigError) as err:
        SimulationConfig.from_dict(data)
    assert err.value.field == field
    assert str(err.value).startswith(field)
    assert fragment in str(err.value)


@pytest.mark.parametrize("data, field", [
    ({"aggregation": {"name": "median"}, "privacy": {"secure_aggregation": {"enabled": True}}},
     "aggregation.name"),
    ({"aggregation": {"name": "krum"}, "privacy": {"he": {"scheme": "paillier"}}},
     "aggregation.name"),
    ({"model": {"name": "cnn"}, "dataset": {"name": "2d"}}, "model.name"),
    ({"model": {"name": "seed_mlp"}}, "model.name"),
    ({"privacy": {"dp": {"mode": "central", "clip": 2.0}, "zkp": {"enabled": True, "bound": 1.0}}},
     "privacy.zkp.bound"),
    ({"privacy": {"secure_aggregation": {"enabled": True}, "he": {"scheme": "ckks"}}},
     "privacy.he.scheme"),
])
def test_impossible_combinations_are_rejected(data, field):
    with pytest.raises(IncompatibleConfigError) as err:
        SimulationConfig.from_dict(data)
    assert err.value.field == field


def test_not_json_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid JSON"):
        SimulationConfig.from_json("{oops")
    with pytest.raises(ConfigError, match="a JSON object"):
        SimulationConfig.from_json("[1, 2]")


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 500),
       frac=st.floats(0.01, 1.0), alpha=st.floats(0.01, 100.0),
       part=st.sampled_from(["iid", "dirichlet", "pathological", "shards", "quantity", "feature"]),
       opt=st.sampled_from(["sgd", "momentum", "adam"]))
def test_json_round_trip_property(seed, k, frac, alpha, part, opt):
    cfg = SimulationConfig.from_dict({"seed": seed, "clients": {"num_clients": k, "fraction": frac},
                                      "partition": {"name": part, "alpha": alpha},
                                      "training": {"optimizer": opt}})
    assert SimulationConfig.from_json(cfg.to_json()) == cfg


def test_config_validation_does_not_import_tensorflow():
    code = ("import sys, fedsim; fedsim.SimulationConfig.from_dict({'rounds': 3}); "
            "import fedsim.presets, fedsim.cli; print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("dp, field", [
    ({"mode": "local", "adaptive_clip": True}, "privacy.dp.adaptive_clip"),
    ({"mode": "central", "adaptive_clip": True, "noise_multiplier": 1.0},
     "privacy.dp.noise_multiplier"),  # 10 clients: z must be < 1
])
def test_adaptive_clipping_limits_are_checked_before_tensorflow(dp, field):
    with pytest.raises(IncompatibleConfigError) as err:
        SimulationConfig.from_dict({"privacy": {"dp": dp}})
    assert err.value.field == field

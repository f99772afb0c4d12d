"""One source of layer sizes (issue #27): fedsim.training.spec states each architecture's weight
shapes in pure Python; the Keras models the engine builds have exactly those shapes, and the
app's classroom caps size the model the engine would build from them."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from fedsim.config import SimulationConfig
from fedsim.training.spec import ModelSpec, layer_shapes, param_count

SPECS = [
    ModelSpec("logistic", 64, 10),
    ModelSpec("logistic", 2, 2),
    ModelSpec("logistic", 100, 1),
    ModelSpec("mlp", 2, 2, hidden=32),
    ModelSpec("mlp", 64, 10, hidden=7),
    ModelSpec("mlp", 30, 2, hidden=256),
    ModelSpec("mlp", 13, 1, hidden=1),
    ModelSpec("seed_mlp", 100, 1),
    ModelSpec("seed_mlp", 5, 3, hidden=99),  # hidden is not used: always 10
    ModelSpec("cnn", 64, 10, image_shape=(8, 8)),
    ModelSpec("cnn", 64, 10),  # no image shape: the 8×8 default
    ModelSpec("cnn", 35, 4, image_shape=(7, 5)),  # odd sides: valid pooling floors
    ModelSpec("cnn", 144, 2, image_shape=(12, 12)),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{s.name}-{s.num_features}-"
                         f"{s.num_outputs}-{s.hidden}-{s.image_shape}")
def test_keras_builds_the_shapes_the_spec_states(spec):
    from fedsim.training.models import build_keras_model

    weights = build_keras_model(spec, seed=1).get_weights()
    assert [tuple(w.shape) for w in weights] == layer_shapes(spec)
    assert sum(int(np.size(w)) for w in weights) == param_count(spec)


def test_the_engine_imports_the_same_model_spec():
    from fedsim.training import models, spec

    assert models.ModelSpec is spec.ModelSpec


def test_the_spec_module_imports_no_tensorflow():
    out = subprocess.run([sys.executable, "-c",
                          "import sys, fedsim.training.spec, fedsim_app.base.limits; "
                          "print('tensorflow' in sys.modules, 'keras' in sys.modules)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


CONFIGS = [
    {"dataset": {"name": "2d", "num_samples": 200}, "model": {"name": "mlp", "hidden": 32}},
    {"dataset": {"name": "2d", "num_samples": 200}, "model": {"name": "logistic"}},
    {"dataset": {"name": "digits"}},
    {"dataset": {"name": "digits"}, "model": {"name": "cnn"}},
    {"dataset": {"name": "digits"}, "model": {"name": "logistic"}},
    {"dataset": {"name": "breast_cancer"}, "model": {"name": "mlp", "hidden": 5}},
    {"dataset": {"name": "seed_regression", "num_samples": 300}},
    {"dataset": {"name": "seed_regression", "num_samples": 300}, "model": {"name": "mlp"}},
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c['dataset']['name']}-"
                         f"{c.get('model', {}).get('name', 'auto')}")
def test_the_caps_size_the_model_the_engine_builds(cfg):
    from fedsim.engine.simulation import build_federation
    from fedsim_app.base import limits

    cfg = SimulationConfig.from_dict(cfg)
    fed = build_federation(cfg)
    assert limits.model_spec(cfg) == fed.spec
    assert limits.estimate(cfg).params == param_count(fed.spec)
    rows = len(fed.data.y_train) + len(fed.data.y_test)
    assert limits._shape(cfg)[:2] == (rows, fed.data.num_features)


def test_the_2d_mlp_estimate_is_the_trainers_162_weights():
    """The bug: limits assumed 4 outputs for '2d' (228 weights); the data has 2 classes."""
    from fedsim_app.base import limits

    cfg = SimulationConfig.from_dict({"dataset": {"name": "2d"},
                                      "model": {"name": "mlp", "hidden": 32}})
    assert limits.estimate(cfg).params == 162 == 2 * 32 + 32 + 32 * 2 + 2

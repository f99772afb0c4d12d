"""Shared fixtures, and one marker per test folder (``pytest -m engine``, ``-m "not browser"``).

TensorFlow is imported lazily by the tests that need it.
"""

import os
import sys
from pathlib import Path

# What fedsim.training.tf_runtime chooses, set here too: some tests import TensorFlow first.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from fedsim import SimulationConfig  # noqa: E402

#: Test folder -> its marker (declared in pyproject.toml). A new folder needs a line here.
FOLDER_MARKERS = {"engine": "engine", "privacy": "privacy", "app": "app", "browser": "browser"}


def pytest_collection_modifyitems(config, items):
    tests = Path(__file__).resolve().parent
    for item in items:
        folder = Path(str(item.fspath)).resolve().relative_to(tests).parts[0]
        item.add_marker(getattr(pytest.mark, FOLDER_MARKERS[folder]))


@pytest.fixture
def tiny_config():
    """A 2-D, 4-client configuration that runs a round in milliseconds."""

    def make(**sections):
        base = {"seed": 3, "rounds": 3,
                "dataset": {"name": "2d", "num_samples": 200},
                "clients": {"num_clients": 4},
                "model": {"name": "mlp", "hidden": 8},
                "training": {"lr": 0.1}}
        for k, v in sections.items():
            base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
        return SimulationConfig.from_dict(base)

    return make

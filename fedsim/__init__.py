"""fedsim: an in-process federated-learning engine on TensorFlow/Keras, built for teaching.

The config, errors and presets import without TensorFlow (so bad input is reported fast);
``Simulation`` imports TensorFlow on first use.
"""

import os as _os

# TensorFlow's C++ INFO lines are noise for students reading a terminal. oneDNN's kernels
# are off by default: without them results do not depend on which oneDNN code path a CPU
# happens to take, and across fedsim's workloads they do not win (``bench.threads_bench``,
# two runs: the 100-client digits MLP 1.47-1.73x faster with them, but the CNN 1.02-1.42x
# slower, the 2-D round 1.07-1.09x slower, DP-SGD 0.88-1.15x). The choice is fixed when
# TensorFlow starts, for every model in the process, so it cannot follow the model. Both
# stay overridable from the environment (``TF_ENABLE_ONEDNN_OPTS=1`` for MLP-only runs).
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from fedsim.config import SimulationConfig, load_config
from fedsim.errors import ConfigError, FedsimError, IncompatibleConfigError, PartitionError, ProtocolError
from fedsim.engine.results import PHASES, ClientRecord, PhaseRecord, RoundResult

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy: importing fedsim must not import TensorFlow (~5 s).
    if name in ("Simulation", "build_federation"):
        from fedsim.engine import simulation

        return getattr(simulation, name)
    raise AttributeError(name)


__all__ = ["PHASES", "ClientRecord", "ConfigError", "FedsimError", "IncompatibleConfigError",
           "PartitionError", "PhaseRecord", "ProtocolError", "RoundResult", "Simulation",
           "SimulationConfig", "build_federation", "load_config"]

"""fedsim: an in-process federated-learning engine on TensorFlow/Keras, built for teaching.

The config, errors and presets import without TensorFlow (so bad input is reported fast);
``Simulation`` imports TensorFlow on first use.
"""

import os as _os

# TensorFlow's C++ INFO lines are noise for students reading a terminal. oneDNN's fused
# kernels are off by default: measured here they were no faster for these small models
# (8.5 vs 9.5 ms per 100-client round), and without them results do not depend on which
# oneDNN code path a CPU happens to take. Both stay overridable from the environment.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from .config import SimulationConfig, load_config
from .errors import ConfigError, FedsimError, IncompatibleConfigError, PartitionError, ProtocolError
from .results import PHASES, ClientRecord, PhaseRecord, RoundResult

__version__ = "0.1.0"


def __getattr__(name):
    # Lazy: importing fedsim must not import TensorFlow (~5 s).
    if name in ("Simulation", "build_federation"):
        from . import simulation

        return getattr(simulation, name)
    raise AttributeError(name)


__all__ = ["PHASES", "ClientRecord", "ConfigError", "FedsimError", "IncompatibleConfigError",
           "PartitionError", "PhaseRecord", "ProtocolError", "RoundResult", "Simulation",
           "SimulationConfig", "build_federation", "load_config"]

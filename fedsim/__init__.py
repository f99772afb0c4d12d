"""fedsim: an in-process federated-learning engine on TensorFlow/Keras, built for teaching.

The config, errors and presets import without TensorFlow (so bad input is reported fast);
``Simulation`` imports TensorFlow on first use.
"""

import os as _os

# TensorFlow's C++ INFO lines (oneDNN notices) are noise for students reading a terminal.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

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

"""fedsim: an in-process federated-learning engine on TensorFlow/Keras, built for teaching.

The config, errors and presets import without TensorFlow (so bad input is reported fast);
``Simulation`` imports TensorFlow on first use (through :mod:`fedsim.training.tf_runtime`, the
one place TensorFlow is started and configured). Importing fedsim changes no process-wide
setting.
"""

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

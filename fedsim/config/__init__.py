"""Frozen, validated configuration for a federated simulation, with a JSON round-trip.

A configuration is a tree of frozen dataclasses (:mod:`.sections`) whose bounds are declared
once on each field (:mod:`.fields`), with the rules that span sections in :mod:`.rules` and
the JSON Schema export in :mod:`.schema`. Every failure raises
:class:`~fedsim.errors.ConfigError` naming the dotted field, the value and what is allowed.

Nothing here imports TensorFlow or Streamlit, and nothing opens a file but
:func:`load_config` (the file it is given): the CLI and the app reject a bad configuration in
milliseconds, before the ~5 s TensorFlow import, and a configuration from a stranger cannot
make the server read anything.

Example
-------
>>> cfg = SimulationConfig.from_dict({"seed": 1, "clients": {"num_clients": 5}})
>>> cfg.clients.num_clients, cfg.dataset.name
(5, 'digits')
>>> SimulationConfig.from_json(cfg.to_json()) == cfg
True
"""

from fedsim.config.fields import (AGGREGATORS, ATTACKS, CSV_MISSING, CSV_TASKS, DATASETS,
                                  DEFAULT_MAX_CLIENTS, DEFAULT_MAX_SAMPLES, DP_MODES,
                                  HE_SCHEMES, LINEAR_AGGREGATORS, MAX_CLIENTS,
                                  MAX_CLIENTS_BY_DATASET, MAX_SAMPLES, MAX_SAMPLES_BY_DATASET,
                                  MODELS, OPTIMIZERS, PARTITIONS, QUANTITY_DISTS,
                                  SERVER_OPTIMIZERS, SHAPES_2D, ZKP_NORMS, client_cap,
                                  sample_cap)
from fedsim.config.rules import (adaptive_clip_noise_limit, check_combination, check_task,
                                 linear_reasons, require_linear, resolve_model)
from fedsim.config.schema import config_schema
from fedsim.config.sections import (SERVER_LR_DEFAULTS, AggregationConfig, ClientsConfig,
                                    DatasetConfig, DPConfig, HEConfig, MaliciousConfig,
                                    ModelConfig, PartitionConfig, PrivacyConfig,
                                    SecureAggregationConfig, SimulationConfig, TrainingConfig,
                                    ZKPConfig, load_config)

__all__ = [
    "AGGREGATORS", "ATTACKS", "CSV_MISSING", "CSV_TASKS", "DATASETS", "DEFAULT_MAX_CLIENTS",
    "DEFAULT_MAX_SAMPLES", "DP_MODES", "HE_SCHEMES", "LINEAR_AGGREGATORS", "MAX_CLIENTS",
    "MAX_CLIENTS_BY_DATASET", "MAX_SAMPLES", "MAX_SAMPLES_BY_DATASET", "MODELS", "OPTIMIZERS",
    "PARTITIONS", "QUANTITY_DISTS", "SERVER_LR_DEFAULTS", "SERVER_OPTIMIZERS", "SHAPES_2D",
    "ZKP_NORMS", "AggregationConfig", "ClientsConfig", "DPConfig", "DatasetConfig", "HEConfig",
    "MaliciousConfig", "ModelConfig", "PartitionConfig", "PrivacyConfig",
    "SecureAggregationConfig", "SimulationConfig", "TrainingConfig", "ZKPConfig",
    "adaptive_clip_noise_limit", "check_combination", "check_task", "client_cap",
    "config_schema", "linear_reasons", "load_config", "require_linear", "resolve_model",
    "sample_cap",
]

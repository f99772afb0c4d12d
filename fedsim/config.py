"""Frozen, validated configuration for a federated simulation, with a JSON round-trip.

A configuration is a tree of frozen dataclasses. Each section validates itself in
``__post_init__``; :class:`SimulationConfig` adds the checks that span sections (a CNN needs
image data, secure aggregation needs a linear aggregator, ...). Every failure raises
:class:`~fedsim.errors.ConfigError` naming the dotted field, the value and what is allowed.

This module imports neither TensorFlow nor Streamlit, so the CLI and the app can reject a bad
configuration in milliseconds, before the ~5 s TensorFlow import.

Example
-------
>>> cfg = SimulationConfig.from_dict({"seed": 1, "clients": {"num_clients": 5}})
>>> cfg.clients.num_clients, cfg.dataset.name
(5, 'digits')
>>> SimulationConfig.from_json(cfg.to_json()) == cfg
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import ConfigError, IncompatibleConfigError

DATASETS = ("digits", "breast_cancer", "seed_regression", "2d")
SHAPES_2D = ("moons", "circles", "blobs", "xor")
MODELS = ("auto", "logistic", "mlp", "cnn", "seed_mlp")
PARTITIONS = ("iid", "dirichlet", "pathological", "shards", "quantity", "feature")
QUANTITY_DISTS = ("lognormal", "powerlaw")
OPTIMIZERS = ("sgd", "momentum", "adam")
AGGREGATORS = ("fedavg", "median", "trimmed_mean", "krum")
SERVER_OPTIMIZERS = ("sgd", "fedavgm", "fedadam", "fedyogi", "fedadagrad")
DP_MODES = ("off", "central", "local", "dpsgd")
HE_SCHEMES = ("off", "paillier", "ckks")
ATTACKS = ("scale", "random")

#: Aggregators that are a (weighted) sum divided by a total: the only ones secure aggregation
#: and homomorphic encryption can compute, since the server only ever learns a sum.
LINEAR_AGGREGATORS = ("fedavg",)


# --------------------------------------------------------------------------- helpers
def _fail(path: str, value: object, allowed: str) -> typing.NoReturn:
    raise ConfigError(path, value, allowed)


def _check_choice(path: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        _fail(path, value, "one of " + ", ".join(repr(c) for c in choices))


def _check_range(path: str, value: float, lo: float | None = None, hi: float | None = None,
                 *, lo_open: bool = False, hi_open: bool = False) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        _fail(path, value, "a finite number")
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
        hi is not None and (value >= hi if hi_open else value > hi))
    if bad:
        left = "" if lo is None else (f"> {lo}" if lo_open else f">= {lo}")
        right = "" if hi is None else (f"< {hi}" if hi_open else f"<= {hi}")
        _fail(path, value, " and ".join(s for s in (left, right) if s))


class _Section:
    """Mixin: build a frozen dataclass from a dict, checking keys and types; and back."""

    _path: typing.ClassVar[str] = ""

    @classmethod
    def from_dict(cls, data: Any, path: str | None = None):
        path = cls._path if path is None else path
        if data is None:
            data = {}
        if not isinstance(data, dict):
            _fail(path or "(config)", data, "a JSON object")
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in data if k not in names]
        if unknown:
            where = f"{path}.{unknown[0]}" if path else unknown[0]
            raise ConfigError(where, data[unknown[0]],
                              f"known keys here are {', '.join(names)}",
                              message=f"{where}: unknown key; known keys here are {', '.join(names)}")
        kwargs = {}
        for name in names:
            if name in data:
                sub = f"{path}.{name}" if path else name
                kwargs[name] = _coerce(sub, data[name], hints[name])
        return cls(**kwargs)

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, _Section):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def replace(self, **changes):
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


def _coerce(path: str, value: Any, hint: Any) -> Any:
    """Check ``value`` against a type hint; ints are accepted where floats are expected."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(path, value, inner[0])
    if isinstance(hint, type) and issubclass(hint, _Section):
        return hint.from_dict(value, path)
    if origin is tuple:
        (elem,) = typing.get_args(hint)[:1]
        if not isinstance(value, (list, tuple)):
            _fail(path, value, "a list")
        return tuple(_coerce(f"{path}[{i}]", v, elem) for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            _fail(path, value, "true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            _fail(path, value, "an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _fail(path, value, "a number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            _fail(path, value, "a string")
        return value
    return value


# --------------------------------------------------------------------------- sections
@dataclass(frozen=True, kw_only=True)
class DatasetConfig(_Section):
    """Which data set, and how it is split into the server's test set and clients' validation sets.

    ``num_samples``, ``shape`` and ``noise`` only apply to the generated sets (``2d`` and
    ``seed_regression``); the scikit-learn sets use all their rows.
    """

    _path: typing.ClassVar[str] = "dataset"
    name: str = "digits"
    test_fraction: float = 0.2
    val_fraction: float = 0.2
    num_samples: int = 1000
    shape: str = "moons"
    noise: float = 0.2

    def __post_init__(self):
        _check_choice("dataset.name", self.name, DATASETS)
        _check_range("dataset.test_fraction", self.test_fraction, 0.05, 0.5)
        _check_range("dataset.val_fraction", self.val_fraction, 0.0, 0.5)
        _check_range("dataset.num_samples", self.num_samples, 100, 200_000)
        _check_choice("dataset.shape", self.shape, SHAPES_2D)
        _check_range("dataset.noise", self.noise, 0.0, 2.0)

    @property
    def task(self) -> str:
        return "regression" if self.name == "seed_regression" else "classification"


@dataclass(frozen=True, kw_only=True)
class MaliciousConfig(_Section):
    """Clients that tamper with their update after training (to make the proofs matter)."""

    _path: typing.ClassVar[str] = "clients.malicious"
    ids: tuple[int, ...] = ()
    attack: str = "scale"
    factor: float = 10.0

    def __post_init__(self):
        _check_choice("clients.malicious.attack", self.attack, ATTACKS)
        _check_range("clients.malicious.factor", self.factor, -1e6, 1e6)
        for i, cid in enumerate(self.ids):
            _check_range(f"clients.malicious.ids[{i}]", cid, 0)
        if len(set(self.ids)) != len(self.ids):
            _fail("clients.malicious.ids", list(self.ids), "distinct client ids")


@dataclass(frozen=True, kw_only=True)
class ClientsConfig(_Section):
    """How many clients exist, and who takes part in each round."""

    _path: typing.ClassVar[str] = "clients"
    num_clients: int = 10
    fraction: float = 1.0
    dropout: float = 0.0
    malicious: MaliciousConfig = field(default_factory=MaliciousConfig)

    def __post_init__(self):
        _check_range("clients.num_clients", self.num_clients, 1, 2000)
        _check_range("clients.fraction", self.fraction, 0.0, 1.0, lo_open=True)
        _check_range("clients.dropout", self.dropout, 0.0, 1.0, hi_open=True)
        for i, cid in enumerate(self.malicious.ids):
            if cid >= self.num_clients:
                _fail(f"clients.malicious.ids[{i}]", cid,
                      f"a client id from 0 to {self.num_clients - 1}")


@dataclass(frozen=True, kw_only=True)
class PartitionConfig(_Section):
    """How the training pool is split among clients (names follow flwr-datasets).

    - ``iid``: a uniform random split into (almost) equal parts.
    - ``dirichlet``: label skew; each class is spread over clients by Dirichlet(``alpha``).
    - ``pathological``: each client holds ``classes_per_client`` classes.
    - ``shards``: sort by label, cut into shards, deal ``shards_per_client`` to each client.
    - ``quantity``: IID labels, unequal sizes from a ``lognormal`` (``sigma``) or ``powerlaw``
      (exponent ``power``) distribution.
    - ``feature``: IID labels, each client's inputs shifted and noised (``feature_shift``,
      ``feature_noise`` in standardized units).
    """

    _path: typing.ClassVar[str] = "partition"
    name: str = "iid"
    alpha: float = 0.5
    classes_per_client: int = 2
    shards_per_client: int = 2
    distribution: str = "lognormal"
    sigma: float = 1.0
    power: float = 1.5
    feature_shift: float = 0.5
    feature_noise: float = 0.5
    min_samples: int = 4
    label_bins: int = 5

    def __post_init__(self):
        _check_choice("partition.name", self.name, PARTITIONS)
        _check_range("partition.alpha", self.alpha, 0.0, 1e6, lo_open=True)
        _check_range("partition.classes_per_client", self.classes_per_client, 1)
        _check_range("partition.shards_per_client", self.shards_per_client, 1, 100)
        _check_choice("partition.distribution", self.distribution, QUANTITY_DISTS)
        _check_range("partition.sigma", self.sigma, 0.0, 5.0)
        _check_range("partition.power", self.power, 0.1, 10.0)
        _check_range("partition.feature_shift", self.feature_shift, 0.0, 10.0)
        _check_range("partition.feature_noise", self.feature_noise, 0.0, 10.0)
        _check_range("partition.min_samples", self.min_samples, 2, 1000)
        _check_range("partition.label_bins", self.label_bins, 2, 50)


@dataclass(frozen=True, kw_only=True)
class ModelConfig(_Section):
    """The Keras model every client trains. ``auto`` picks the data set's default."""

    _path: typing.ClassVar[str] = "model"
    name: str = "auto"
    hidden: int = 32

    def __post_init__(self):
        _check_choice("model.name", self.name, MODELS)
        _check_range("model.hidden", self.hidden, 1, 1024)


@dataclass(frozen=True, kw_only=True)
class TrainingConfig(_Section):
    """Local training on each client (the article's step 3)."""

    _path: typing.ClassVar[str] = "training"
    local_epochs: int = 1
    batch_size: int = 16
    lr: float = 0.05
    optimizer: str = "sgd"
    momentum: float = 0.9
    prox_mu: float = 0.0

    def __post_init__(self):
        _check_range("training.local_epochs", self.local_epochs, 1, 100)
        _check_range("training.batch_size", self.batch_size, 1, 4096)
        _check_range("training.lr", self.lr, 0.0, 10.0, lo_open=True)
        _check_choice("training.optimizer", self.optimizer, OPTIMIZERS)
        _check_range("training.momentum", self.momentum, 0.0, 1.0, hi_open=True)
        _check_range("training.prox_mu", self.prox_mu, 0.0, 100.0)


@dataclass(frozen=True, kw_only=True)
class AggregationConfig(_Section):
    """How the server combines updates (the article's step 4) and applies them (step 5).

    Server optimizers follow Reddi et al., "Adaptive Federated Optimization" (ICLR 2021):
    the averaged update is a pseudo-gradient fed to SGD (``sgd``; with ``server_lr=1`` this is
    plain FedAvg), SGD with momentum (``fedavgm``), Adam, Yogi or Adagrad.
    """

    _path: typing.ClassVar[str] = "aggregation"
    name: str = "fedavg"
    weighted: bool = True
    server_optimizer: str = "sgd"
    server_lr: float = 1.0
    server_momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.99
    tau: float = 1e-3
    trim_fraction: float = 0.1
    krum_byzantine: int = 1
    krum_select: int = 1

    def __post_init__(self):
        _check_choice("aggregation.name", self.name, AGGREGATORS)
        _check_choice("aggregation.server_optimizer", self.server_optimizer, SERVER_OPTIMIZERS)
        _check_range("aggregation.server_lr", self.server_lr, 0.0, 100.0, lo_open=True)
        _check_range("aggregation.server_momentum", self.server_momentum, 0.0, 1.0, hi_open=True)
        _check_range("aggregation.beta1", self.beta1, 0.0, 1.0, hi_open=True)
        _check_range("aggregation.beta2", self.beta2, 0.0, 1.0, hi_open=True)
        _check_range("aggregation.tau", self.tau, 0.0, 10.0, lo_open=True)
        _check_range("aggregation.trim_fraction", self.trim_fraction, 0.0, 0.5, hi_open=True)
        _check_range("aggregation.krum_byzantine", self.krum_byzantine, 0)
        _check_range("aggregation.krum_select", self.krum_select, 1)


@dataclass(frozen=True, kw_only=True)
class DPConfig(_Section):
    """Differential privacy. ``mode``: ``off``, ``central`` (DP-FedAvg, McMahan et al. 2018),
    ``local`` (each client noises its own update) or ``dpsgd`` (example-level DP-SGD inside each
    client, Abadi et al. 2016). Give ``noise_multiplier`` or ``target_epsilon`` (which then wins).
    """

    _path: typing.ClassVar[str] = "privacy.dp"
    mode: str = "off"
    clip: float = 1.0
    noise_multiplier: float = 1.0
    target_epsilon: Optional[float] = None
    adaptive_clip: bool = False
    target_quantile: float = 0.5
    clip_lr: float = 0.2
    delta: float = 1e-5

    def __post_init__(self):
        _check_choice("privacy.dp.mode", self.mode, DP_MODES)
        _check_range("privacy.dp.clip", self.clip, 0.0, 1e6, lo_open=True)
        _check_range("privacy.dp.noise_multiplier", self.noise_multiplier, 0.0, 1e4)
        if self.target_epsilon is not None:
            _check_range("privacy.dp.target_epsilon", self.target_epsilon, 0.0, 1e4, lo_open=True)
        _check_range("privacy.dp.target_quantile", self.target_quantile, 0.0, 1.0,
                     lo_open=True, hi_open=True)
        _check_range("privacy.dp.clip_lr", self.clip_lr, 0.0, 10.0, lo_open=True)
        _check_range("privacy.dp.delta", self.delta, 0.0, 1.0, lo_open=True, hi_open=True)

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


@dataclass(frozen=True, kw_only=True)
class SecureAggregationConfig(_Section):
    """Secure aggregation (Bonawitz et al. 2017). ``threshold``: the fraction t/n of clients
    whose shares reconstruct a secret. ``neighbors``: SecAgg+ (Bell et al. 2020) masks with k
    ring neighbours instead of all clients; ``null`` means all."""

    _path: typing.ClassVar[str] = "privacy.secure_aggregation"
    enabled: bool = False
    threshold: float = 0.6
    neighbors: Optional[int] = None
    clip: float = 1.0
    scale_bits: int = 16

    def __post_init__(self):
        _check_range("privacy.secure_aggregation.threshold", self.threshold, 0.0, 1.0,
                     lo_open=True)
        if self.neighbors is not None:
            _check_range("privacy.secure_aggregation.neighbors", self.neighbors, 2)
        _check_range("privacy.secure_aggregation.clip", self.clip, 0.0, 1e3, lo_open=True)
        _check_range("privacy.secure_aggregation.scale_bits", self.scale_bits, 4, 24)


@dataclass(frozen=True, kw_only=True)
class HEConfig(_Section):
    """Additively homomorphic encryption of the updates: ``paillier`` or ``ckks``."""

    _path: typing.ClassVar[str] = "privacy.he"
    scheme: str = "off"
    key_bits: int = 2048
    layer: Optional[int] = None

    def __post_init__(self):
        _check_choice("privacy.he.scheme", self.scheme, HE_SCHEMES)
        _check_choice("privacy.he.key_bits", self.key_bits, (1024, 2048, 3072))
        if self.layer is not None:
            _check_range("privacy.he.layer", self.layer, 0)

    @property
    def enabled(self) -> bool:
        return self.scheme != "off"


@dataclass(frozen=True, kw_only=True)
class ZKPConfig(_Section):
    """Zero-knowledge range proofs: each client proves ``coordinates`` randomly chosen
    coordinates of its quantized update lie in [-bound, bound] (Pedersen + Fiat–Shamir).

    The bound is per coordinate (L∞). Honest digits-MLP updates have coordinates below ~0.1, so
    the default catches a client that scales its update by 10 on most checked coordinates.
    Each checked coordinate costs ~4 ms to prove and ~6 ms to verify per client."""

    _path: typing.ClassVar[str] = "privacy.zkp"
    enabled: bool = False
    bound: float = 0.1
    coordinates: int = 32

    def __post_init__(self):
        _check_range("privacy.zkp.bound", self.bound, 0.0, 1e3, lo_open=True)
        _check_range("privacy.zkp.coordinates", self.coordinates, 1, 100_000)


@dataclass(frozen=True, kw_only=True)
class PrivacyConfig(_Section):
    """The protection pipeline. Client side runs DP → ZKP → secure aggregation/HE; the server
    side runs in reverse (verify → sum → unmask/decrypt → central noise)."""

    _path: typing.ClassVar[str] = "privacy"
    dp: DPConfig = field(default_factory=DPConfig)
    secure_aggregation: SecureAggregationConfig = field(default_factory=SecureAggregationConfig)
    he: HEConfig = field(default_factory=HEConfig)
    zkp: ZKPConfig = field(default_factory=ZKPConfig)


@dataclass(frozen=True, kw_only=True)
class SimulationConfig(_Section):
    """A whole simulation: one ``seed`` and every section above."""

    _path: typing.ClassVar[str] = ""
    seed: int = 0
    rounds: int = 20
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    clients: ClientsConfig = field(default_factory=ClientsConfig)
    partition: PartitionConfig = field(default_factory=PartitionConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    aggregation: AggregationConfig = field(default_factory=AggregationConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    def __post_init__(self):
        _check_range("seed", self.seed, 0, 2**31 - 1)
        _check_range("rounds", self.rounds, 1, 10_000)
        check_combination(self)

    # ---- JSON
    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> "SimulationConfig":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("", "(file)", "a JSON object",
                              message=f"the configuration is not valid JSON: {exc}") from None
        return cls.from_dict(data)

    @property
    def model_name(self) -> str:
        """The model actually used (``auto`` resolved for the data set)."""
        return resolve_model(self.dataset.name, self.model.name)

    @property
    def task(self) -> str:
        return self.dataset.task


def resolve_model(dataset: str, model: str) -> str:
    """The data set's default model where ``model`` is ``auto``."""
    if model != "auto":
        return model
    return {"seed_regression": "seed_mlp", "breast_cancer": "logistic"}.get(dataset, "mlp")


def check_combination(cfg: SimulationConfig) -> None:
    """Reject settings that are each valid but cannot work together.

    The same checks guard the privacy pipeline when it is built; running them here means a bad
    combination is reported before TensorFlow is imported.
    """

    def bad(field_: str, value: object, allowed: str) -> typing.NoReturn:
        raise IncompatibleConfigError(field_, value, allowed)

    model = cfg.model_name
    regression = cfg.task == "regression"
    if model == "cnn" and cfg.dataset.name != "digits":
        bad("model.name", model, "'cnn' only with dataset 'digits' (it needs images)")
    if model == "seed_mlp" and not regression:
        bad("model.name", model, "'seed_mlp' only with dataset 'seed_regression'")
    if regression and model != "seed_mlp" and model != "mlp":
        bad("model.name", model, "'seed_mlp' or 'mlp' for the regression data set")
    if regression and cfg.partition.name == "pathological" and \
            cfg.partition.classes_per_client > cfg.partition.label_bins:
        bad("partition.classes_per_client", cfg.partition.classes_per_client,
            f"at most partition.label_bins={cfg.partition.label_bins} for regression")

    priv = cfg.privacy
    linear = cfg.aggregation.name in LINEAR_AGGREGATORS
    for name, on in (("privacy.secure_aggregation.enabled", priv.secure_aggregation.enabled),
                     ("privacy.he.scheme", priv.he.enabled)):
        if on and not linear:
            bad("aggregation.name", cfg.aggregation.name,
                f"'fedavg' when {name} is on: the server only learns a sum, so a median, "
                "trimmed mean or Krum cannot be computed")
    if priv.secure_aggregation.enabled and priv.he.enabled:
        bad("privacy.he.scheme", priv.he.scheme,
            "'off' when secure aggregation is on (pick one way to hide updates)")
    if priv.dp.mode == "central" and not linear:
        bad("aggregation.name", cfg.aggregation.name,
            "'fedavg' with central DP (its noise is calibrated to a sum of clipped updates)")
    n = cfg.clients.num_clients
    if priv.dp.adaptive_clip and priv.dp.mode != "central":
        bad("privacy.dp.adaptive_clip", True, "false unless privacy.dp.mode is 'central'")
    if priv.dp.mode == "central" and priv.dp.adaptive_clip and priv.dp.target_epsilon is None:
        # Andrew et al. 2021: the update noise z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2) with σ_b = m/20 is
        # only real when z < 2σ_b = m/10 (m = expected clients per round).
        m = cfg.clients.fraction * n
        if priv.dp.noise_multiplier >= m / 10:
            bad("privacy.dp.noise_multiplier", priv.dp.noise_multiplier,
                f"< {m / 10:g} (expected clients per round / 10) with adaptive clipping; "
                "sample more clients per round or turn adaptive clipping off")
    if priv.secure_aggregation.enabled:
        nb = priv.secure_aggregation.neighbors
        if nb is not None and nb >= n:
            bad("privacy.secure_aggregation.neighbors", nb,
                f"fewer than clients.num_clients={n}, or null for all")
        if priv.secure_aggregation.threshold * n < 1:
            bad("privacy.secure_aggregation.threshold", priv.secure_aggregation.threshold,
                "a fraction that leaves at least one share needed")
    if priv.zkp.enabled and priv.dp.enabled and priv.dp.mode in ("central", "local") \
            and priv.zkp.bound < priv.dp.clip and not priv.dp.adaptive_clip:
        bad("privacy.zkp.bound", priv.zkp.bound,
            f">= privacy.dp.clip={priv.dp.clip} (honest clipped updates must pass the proof)")
    if priv.zkp.enabled and priv.secure_aggregation.enabled and \
            priv.zkp.bound < priv.secure_aggregation.clip:
        bad("privacy.zkp.bound", priv.zkp.bound,
            f">= privacy.secure_aggregation.clip={priv.secure_aggregation.clip}")


def load_config(path: str) -> SimulationConfig:
    """Read a JSON configuration file; every failure is a :class:`ConfigError`."""
    try:
        with open(path, "rb") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError("--config", path, "a readable JSON file",
                          message=f"--config: cannot read {path!r}: {exc.strerror}") from None
    return SimulationConfig.from_json(text)

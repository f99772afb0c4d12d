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

from fedsim.errors import ConfigError, IncompatibleConfigError

DATASETS = ("digits", "breast_cancer", "seed_regression", "2d", "csv")
SHAPES_2D = ("moons", "circles", "blobs", "xor")
MODELS = ("auto", "logistic", "mlp", "cnn", "seed_mlp")
PARTITIONS = ("iid", "dirichlet", "pathological", "shards", "quantity", "feature", "natural")
CSV_TASKS = ("auto", "classification", "regression")
CSV_MISSING = ("error", "drop", "impute")
QUANTITY_DISTS = ("lognormal", "powerlaw")
OPTIMIZERS = ("sgd", "momentum", "adam")
AGGREGATORS = ("fedavg", "median", "trimmed_mean", "krum")
SERVER_OPTIMIZERS = ("sgd", "fedavgm", "fedadam", "fedyogi", "fedadagrad")
DP_MODES = ("off", "central", "local", "dpsgd")
HE_SCHEMES = ("off", "paillier", "ckks")
ATTACKS = ("scale", "random", "sign_flip", "gaussian", "label_flip", "backdoor")
ZKP_NORMS = ("linf", "l2")

#: Aggregators that are a (weighted) sum divided by a total: the only ones secure aggregation
#: and homomorphic encryption can compute, since the server only ever learns a sum.
LINEAR_AGGREGATORS = ("fedavg",)

#: The most clients a configuration may ask for (``clients.num_clients``), by data set.
#: Generated 2-D points are two floats a row and the 2-D MLP has 162 parameters (hidden 32), so
#: 100,000 clients are built and run a round, every client sampled, within the engine's 2 GB
#: budget (measured: ``python -m bench.scale_bench``, ``tests/test_scale.py``): the per-client
#: history is columns, the padded client data a few bytes a row. The other data sets keep
#: 2,000: digits (1,797 rows) and breast_cancer (569) hold fewer rows than 2,000 clients of
#: ``partition.min_samples`` need anyway (the split then says exactly how many fit),
#: seed_regression rows are 50 times wider (100 features, a 1,021-parameter model), and a CSV's
#: width is not known until it is read.
MAX_CLIENTS_BY_DATASET = {"2d": 100_000}
DEFAULT_MAX_CLIENTS = 2000
#: The most clients any data set allows (the JSON Schema's maximum; krum and SecAgg+ bounds).
MAX_CLIENTS = max(DEFAULT_MAX_CLIENTS, *MAX_CLIENTS_BY_DATASET.values())

#: The most rows a generated data set may have (``dataset.num_samples``): 100,000 2-D clients
#: of the default ``min_samples`` (4) need 500,000 rows with the default test fraction, and a
#: million 2-D rows take 16 MB; seed_regression's rows are 100 features wide.
MAX_SAMPLES_BY_DATASET = {"2d": 1_000_000}
DEFAULT_MAX_SAMPLES = 200_000
MAX_SAMPLES = max(DEFAULT_MAX_SAMPLES, *MAX_SAMPLES_BY_DATASET.values())


def client_cap(dataset: str) -> int:
    """The most clients data set ``dataset`` allows."""
    return MAX_CLIENTS_BY_DATASET.get(dataset, DEFAULT_MAX_CLIENTS)


def sample_cap(dataset: str) -> int:
    """The most rows ``dataset.num_samples`` may ask of data set ``dataset``."""
    return MAX_SAMPLES_BY_DATASET.get(dataset, DEFAULT_MAX_SAMPLES)


# --------------------------------------------------------------------------- helpers
def _fail(path: str, value: object, allowed: str, rule: str | None = None,
          **params) -> typing.NoReturn:
    raise ConfigError(path, value, allowed, rule=rule, params=params)


def _check_choice(path: str, value: object, choices: tuple) -> None:
    if value not in choices:
        _fail(path, value, "one of " + ", ".join(repr(c) for c in choices), "choice",
              choices=", ".join(str(c) for c in choices))


def _interval(lo, hi, lo_open, hi_open) -> str:
    """Interval notation, the same in every language: ``[1, 2000]``, ``(0, ∞)``."""
    def text(v) -> str:  # an integer bound in full (1000000, not 1e+06)
        return str(v) if isinstance(v, int) else f"{v:g}"

    left = "(-∞" if lo is None else ("(" if lo_open else "[") + text(lo)
    right = "∞)" if hi is None else text(hi) + (")" if hi_open else "]")
    return f"{left}, {right}"


def _check_range(path: str, value: float, lo: float | None = None, hi: float | None = None,
                 *, lo_open: bool = False, hi_open: bool = False, why: str = "") -> None:
    """``why``: said after the range in the English text (e.g. which data set sets ``hi``)."""
    if isinstance(value, float) and not math.isfinite(value):
        _fail(path, value, "a finite number", "finite")
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
        hi is not None and (value >= hi if hi_open else value > hi))
    if bad:
        _fail(path, value, _range_text(lo, hi, lo_open, hi_open) + why, "range",
              interval=_interval(lo, hi, lo_open, hi_open))


def _range_text(lo, hi, lo_open, hi_open) -> str:
    left = "" if lo is None else (f"> {lo}" if lo_open else f">= {lo}")
    right = "" if hi is None else (f"< {hi}" if hi_open else f"<= {hi}")
    return " and ".join(s for s in (left, right) if s)


# Bounds are declared once, on the field: ``num(default, lo, hi)`` or ``choice(default, ...)``.
# ``_Section.__post_init__`` checks them and :func:`config_schema` exports them as JSON Schema,
# so the rule a user is told and the rule an editor checks are the same line of code.
def num(default, lo=None, hi=None, *, lo_open: bool = False, hi_open: bool = False,
        doc: str = "", per_dataset: bool = False):
    """A numeric field with bounds (``None`` values of an Optional field are not checked).

    ``per_dataset``: the upper bound depends on the data set (``hi`` is the largest, for the
    schema); the section's own check skips the field and the section that knows the data set
    checks it with that data set's bound, so the message states the bound that applies.
    """
    return field(default=default, metadata={"lo": lo, "hi": hi, "lo_open": lo_open,
                                            "hi_open": hi_open, "doc": doc,
                                            "per_dataset": per_dataset})


def choice(default, choices: tuple, *, doc: str = ""):
    """A field whose value must be one of ``choices``."""
    return field(default=default, metadata={"choices": tuple(choices), "doc": doc})


class _Section:
    """Mixin: build a frozen dataclass from a dict, checking keys, types and declared bounds."""

    _path: typing.ClassVar[str] = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            meta, value = f.metadata, getattr(self, f.name)
            if value is None or not meta or meta.get("per_dataset"):
                continue
            where = f"{self._path}.{f.name}" if self._path else f.name
            if "choices" in meta:
                _check_choice(where, value, meta["choices"])
            elif "lo" in meta:
                if isinstance(value, tuple):
                    for i, v in enumerate(value):
                        _check_range(f"{where}[{i}]", v, meta["lo"], meta["hi"],
                                     lo_open=meta["lo_open"], hi_open=meta["hi_open"])
                else:
                    _check_range(where, value, meta["lo"], meta["hi"],
                                 lo_open=meta["lo_open"], hi_open=meta["hi_open"])
        self._check()

    def _check(self) -> None:
        """Checks across this section's fields (bounds are declared on the fields)."""

    @classmethod
    def from_dict(cls, data: Any, path: str | None = None):
        path = cls._path if path is None else path
        if not isinstance(data, dict):
            _fail(path or "(config)", data, "a JSON object" + (" (use {} for the defaults)"
                                                               if data is None else ""))
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
    """Check ``value`` against a type hint. Ints are accepted where floats are expected, and a
    float with an integral value (``10.0``) where an int is (JSON has one number type)."""
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
        try:
            return float(value)
        except OverflowError:  # a 400-digit integer
            _fail(path, value, "a finite number")
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

    ``csv`` is the user's own file (:mod:`fedsim.data.csvfile`): ``path`` (required), ``label``
    (default: the last column), ``task_override`` (``auto`` infers it from the label column),
    the feature ``columns`` (null: all but the label and the partition column), columns forced
    ``categorical``/``numeric``, what to do with ``missing`` values (``error``, ``drop`` the
    rows, ``impute``) and ``partition_column``, whose values become the clients of partition
    ``natural``. These keys are ignored by the other data sets.
    """

    _path: typing.ClassVar[str] = "dataset"
    name: str = choice("digits", DATASETS)
    test_fraction: float = num(0.2, 0.05, 0.5)
    val_fraction: float = num(0.2, 0.0, 0.5)
    num_samples: int = num(1000, 100, MAX_SAMPLES, per_dataset=True, doc=(
        f"generated sets: at most {MAX_SAMPLES_BY_DATASET['2d']:,} rows for '2d', "
        f"{DEFAULT_MAX_SAMPLES:,} for 'seed_regression'"))
    shape: str = choice("moons", SHAPES_2D)
    noise: float = num(0.2, 0.0, 2.0)
    path: Optional[str] = field(default=None, metadata={
        "doc": "csv: the CSV file (at most 20 MB and 200,000 rows; header on line 1)"})
    label: Optional[str] = field(default=None, metadata={
        "doc": "csv: the label column (null: the last column)"})
    task_override: str = choice("auto", CSV_TASKS, doc="csv: classification or regression "
                                "(auto: regression for a numeric label with more than 20 "
                                "distinct or non-integer values)")
    columns: Optional[tuple[str, ...]] = field(default=None, metadata={
        "doc": "csv: the feature columns (null: all but the label and the partition column)"})
    categorical: tuple[str, ...] = field(default=(), metadata={
        "doc": "csv: feature columns to one-hot encode even if they hold numbers"})
    numeric: tuple[str, ...] = field(default=(), metadata={
        "doc": "csv: feature columns that must be numbers (the first other value is an error)"})
    missing: str = choice("error", CSV_MISSING, doc="csv: missing values are an error, drop "
                          "their rows, or impute (training-pool mean / a '(missing)' category)")
    partition_column: Optional[str] = field(default=None, metadata={
        "doc": "csv: one client per distinct value of this column (partition 'natural')"})

    def _check(self):
        cap = sample_cap(self.name)
        _check_range("dataset.num_samples", self.num_samples, 100, cap,
                     why=f" with dataset {self.name!r} (only '2d' allows up to {MAX_SAMPLES})"
                     if self.name == "seed_regression" else "")
        if self.name != "csv":
            return
        if not self.path:
            _fail("dataset.path", self.path, "the path of a CSV file (dataset 'csv' needs one)")
        import os

        if not os.path.isfile(self.path) or not os.access(self.path, os.R_OK):
            raise ConfigError("dataset.path", self.path, "a readable CSV file",
                              message=f"dataset.path: cannot read {self.path!r} (no such "
                                      "readable file); allowed: the path of a CSV file")

    @property
    def task(self) -> str:
        if self.name == "csv":
            if self.task_override != "auto":
                return self.task_override
            from fedsim.data.csvfile import guess_task

            info = csv_info(self.path)
            if self.label is not None:
                _csv_column(info, "dataset.label", self.label)
            return guess_task(info, self.label)
        return "regression" if self.name == "seed_regression" else "classification"


_CSV_INFO: "dict[tuple, dict]" = {}
_CSV_INFO_MAX = 8
_CSV_INFO_LOCK = __import__("threading").Lock()  # Streamlit sessions share the process


def csv_info(path: str) -> dict:
    """:func:`fedsim.data.csvfile.inspect_csv` of ``path`` (columns, kinds, distinct counts; no
    data), cached on (path, mtime, size) in a small LRU so that validating a configuration
    does not re-read an unchanged file. Raises :class:`ConfigError` naming ``dataset.path``."""
    import os

    from fedsim.data.csvfile import CSVError, inspect_csv

    try:
        st = os.stat(path)
    except OSError as exc:
        raise CSVError(f"dataset.path: cannot read {path!r}: {exc.strerror}", value=path) \
            from None
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    with _CSV_INFO_LOCK:
        info = _CSV_INFO.pop(key, None)
    if info is None:
        info = inspect_csv(path)
    with _CSV_INFO_LOCK:
        _CSV_INFO[key] = info  # most recently used last
        while len(_CSV_INFO) > _CSV_INFO_MAX:
            del _CSV_INFO[next(iter(_CSV_INFO))]
    return info


def _csv_column(info: dict, where: str, name: str):
    cols = {c.name: c for c in info["columns"]}
    if name not in cols:
        from fedsim.data.csvfile import CSVColumnError

        raise CSVColumnError(f"{where}: no column {name!r} in {info['name']}; the columns are "
                             + ", ".join(map(repr, cols)), column=name, field=where,
                             value=name)
    return cols[name]


@dataclass(frozen=True, kw_only=True)
class MaliciousConfig(_Section):
    """Malicious clients (:mod:`fedsim.engine.poisoning`), from round ``start_round`` on.

    ``attack``: ``scale`` (Δ ← factor·Δ), ``random`` (a random direction, factor × the honest
    norm), ``sign_flip`` (Δ ← −factor·Δ), ``gaussian`` (Δ plus noise of factor × its norm),
    ``label_flip`` (train with ``source_label`` relabelled ``target_label``) or ``backdoor``
    (a pixel trigger on ``poison_fraction`` of the client's digits, relabelled
    ``target_label``; the update is boosted by ``factor``, 1.0 = plain)."""

    _path: typing.ClassVar[str] = "clients.malicious"
    ids: tuple[int, ...] = num((), 0)
    attack: str = choice("scale", ATTACKS)
    factor: float = num(10.0, -1e6, 1e6)
    start_round: int = num(1, 1, 10_000)
    target_label: int = num(0, 0, 1000)
    source_label: int = num(1, 0, 1000)
    poison_fraction: float = num(0.5, 0.0, 1.0, lo_open=True)

    def _check(self):
        if len(set(self.ids)) != len(self.ids):
            _fail("clients.malicious.ids", list(self.ids), "distinct client ids")
        if self.attack == "label_flip" and self.source_label == self.target_label:
            _fail("clients.malicious.source_label", self.source_label,
                  f"a label other than target_label={self.target_label}")

    @property
    def targeted(self) -> bool:
        """True for attacks with a target label (and so an attack success rate)."""
        return bool(self.ids) and self.attack in ("label_flip", "backdoor")


@dataclass(frozen=True, kw_only=True)
class ClientsConfig(_Section):
    """How many clients exist, and who takes part in each round."""

    _path: typing.ClassVar[str] = "clients"
    #: Checked by SimulationConfig, which knows the data set (:func:`client_cap`).
    num_clients: int = num(10, 1, MAX_CLIENTS, per_dataset=True, doc=(
        f"at most {MAX_CLIENTS_BY_DATASET['2d']:,} with dataset '2d', "
        f"{DEFAULT_MAX_CLIENTS:,} with the others"))
    fraction: float = num(1.0, 0.0, 1.0, lo_open=True)
    dropout: float = num(0.0, 0.0, 1.0, hi_open=True)
    malicious: MaliciousConfig = field(default_factory=MaliciousConfig)

    def _check(self):
        if self.num_clients < 1:
            return  # SimulationConfig reports num_clients itself, with its data set's bound
        for i, cid in enumerate(self.malicious.ids):
            if cid >= self.num_clients:
                _fail(f"clients.malicious.ids[{i}]", cid,
                      f"a client id from 0 to {self.num_clients - 1}")

    @property
    def per_round(self) -> int:
        """Clients sampled per round without DP's Poisson sampling: max(1, round(q·N))."""
        return max(1, int(round(self.fraction * self.num_clients)))


@dataclass(frozen=True, kw_only=True)
class PartitionConfig(_Section):
    """How the training pool is split among clients (names follow flwr-datasets).

    - ``iid``: a uniform random split into (almost) equal parts.
    - ``dirichlet``: label skew; each class is spread over clients by Dirichlet(``alpha``).
    - ``pathological``: each client holds exactly ``classes_per_client`` classes (labels no
      client can hold are left out; see :class:`fedsim.data.partition.Partition`).
    - ``shards``: sort by label, cut into shards, deal ``shards_per_client`` to each client.
    - ``quantity``: IID labels, unequal sizes from a ``lognormal`` (``sigma``) or ``powerlaw``
      (exponent ``power``) distribution.
    - ``feature``: IID labels, each client's inputs shifted and noised (``feature_shift``,
      ``feature_noise`` in standardized units).
    """

    _path: typing.ClassVar[str] = "partition"
    name: str = choice("iid", PARTITIONS)
    alpha: float = num(0.5, 0.0, 1e6, lo_open=True)
    classes_per_client: int = num(2, 1, 1000)
    shards_per_client: int = num(2, 1, 100)
    distribution: str = choice("lognormal", QUANTITY_DISTS)
    sigma: float = num(1.0, 0.0, 5.0)
    power: float = num(1.5, 0.1, 10.0)
    feature_shift: float = num(0.5, 0.0, 10.0)
    feature_noise: float = num(0.5, 0.0, 10.0)
    min_samples: int = num(4, 2, 1000)
    label_bins: int = num(5, 2, 50)


@dataclass(frozen=True, kw_only=True)
class ModelConfig(_Section):
    """The Keras model every client trains. ``auto`` picks the data set's default."""

    _path: typing.ClassVar[str] = "model"
    name: str = choice("auto", MODELS)
    hidden: int = num(32, 1, 1024)


@dataclass(frozen=True, kw_only=True)
class TrainingConfig(_Section):
    """Local training on each client (the article's step 3)."""

    _path: typing.ClassVar[str] = "training"
    local_epochs: int = num(1, 1, 100)
    batch_size: int = num(16, 1, 4096)
    lr: float = num(0.05, 0.0, 10.0, lo_open=True)
    optimizer: str = choice("sgd", OPTIMIZERS)
    momentum: float = num(0.9, 0.0, 1.0, hi_open=True)
    prox_mu: float = num(0.0, 0.0, 100.0)


#: The server learning rate each server optimizer gets when ``server_lr`` is null, measured on
#: digits (10 IID clients, 20 rounds; accuracy after rounds 5/10/20): sgd 1.0 is plain FedAvg;
#: fedavgm 1.0 (0.87/0.93/0.96); fedadam 0.1 (0.94/0.93/0.95; at 1.0 the first steps are ~1 per
#: coordinate and round 5 is at 0.55); fedyogi 0.1 (same as Adam here); fedadagrad 0.3
#: (0.91/0.95/0.96). Reddi et al. (ICLR 2021) tune η in 10^-2..10^0.5 for the adaptive ones.
SERVER_LR_DEFAULTS = {"sgd": 1.0, "fedavgm": 1.0, "fedadam": 0.1, "fedyogi": 0.1,
                      "fedadagrad": 0.3}


@dataclass(frozen=True, kw_only=True)
class AggregationConfig(_Section):
    """How the server combines updates (the article's step 4) and applies them (step 5).

    Server optimizers follow Reddi et al., "Adaptive Federated Optimization" (ICLR 2021):
    the averaged update is a pseudo-gradient fed to SGD (``sgd``; with ``server_lr=1`` this is
    plain FedAvg), SGD with momentum (``fedavgm``), Adam, Yogi or Adagrad. ``server_lr`` null
    means the optimizer's own default (:data:`SERVER_LR_DEFAULTS`).

    Conventions, against Flower 1.42's strategies (both are checked in ``test_aggregators``):

    ============  =========================  ==================================
    what          fedsim                     Flower
    ============  =========================  ==================================
    v₀ (Adam…)    τ² in every coordinate     0
    bias corr.    none (as in Reddi et al.)  FedAdam adds Adam's bias correction
    Multi-Krum    plain mean of the chosen   plain mean of the chosen
    Krum's f      rejected if f ≥ m − 2      not checked
    ============  =========================  ==================================
    """

    _path: typing.ClassVar[str] = "aggregation"
    name: str = choice("fedavg", AGGREGATORS)
    weighted: bool = True
    server_optimizer: str = choice("sgd", SERVER_OPTIMIZERS)
    server_lr: Optional[float] = num(None, 0.0, 100.0, lo_open=True)
    server_momentum: float = num(0.9, 0.0, 1.0, hi_open=True)
    beta1: float = num(0.9, 0.0, 1.0, hi_open=True)
    beta2: float = num(0.99, 0.0, 1.0, hi_open=True)
    tau: float = num(1e-3, 0.0, 10.0, lo_open=True)
    trim_fraction: float = num(0.1, 0.0, 0.5, hi_open=True)
    krum_byzantine: int = num(1, 0, MAX_CLIENTS)
    krum_select: int = num(1, 1, MAX_CLIENTS)
    #: Server-side L2 clip of every update before aggregation (Sun et al. 2019, "Can You
    #: Really Backdoor Federated Learning?"); null = off. Applies with every aggregator.
    norm_bound: Optional[float] = num(None, 0.0, 1e6, lo_open=True)

    @property
    def effective_server_lr(self) -> float:
        """``server_lr``, or the server optimizer's default when it is null."""
        return SERVER_LR_DEFAULTS[self.server_optimizer] if self.server_lr is None \
            else self.server_lr


@dataclass(frozen=True, kw_only=True)
class DPConfig(_Section):
    """Differential privacy. ``mode``: ``off``, ``central`` (DP-FedAvg, McMahan et al. 2018),
    ``local`` (each client noises its own update) or ``dpsgd`` (example-level DP-SGD inside each
    client, Abadi et al. 2016). Give ``noise_multiplier`` or ``target_epsilon`` (which then wins).
    ``noise_multiplier`` 0 is allowed, to show clipping alone: its ε is infinite, and the
    engine reports it as such.
    """

    _path: typing.ClassVar[str] = "privacy.dp"
    mode: str = choice("off", DP_MODES)
    clip: float = num(1.0, 0.0, 1e6, lo_open=True)
    noise_multiplier: float = num(1.0, 0.0, 1e4)
    target_epsilon: Optional[float] = num(None, 0.0, 1e4, lo_open=True)
    adaptive_clip: bool = False
    target_quantile: float = num(0.5, 0.0, 1.0, lo_open=True, hi_open=True)
    clip_lr: float = num(0.2, 0.0, 10.0, lo_open=True)
    delta: float = num(1e-5, 0.0, 1.0, lo_open=True, hi_open=True)

    def _check(self):
        if self.target_epsilon is not None and self.target_epsilon < 1e-3:
            _fail("privacy.dp.target_epsilon", self.target_epsilon,
                  ">= 0.001 (smaller budgets need more noise than any model can learn under)")

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
    threshold: float = num(0.6, 0.0, 1.0, lo_open=True)
    neighbors: Optional[int] = num(None, 2, MAX_CLIENTS)
    clip: float = num(1.0, 0.0, 1e3, lo_open=True)
    scale_bits: int = num(16, 4, 24)


@dataclass(frozen=True, kw_only=True)
class HEConfig(_Section):
    """Additively homomorphic encryption of the updates: ``paillier`` or ``ckks``. ``layer``:
    encrypt only that weight tensor (null: all)."""

    _path: typing.ClassVar[str] = "privacy.he"
    scheme: str = choice("off", HE_SCHEMES)
    key_bits: int = choice(2048, (1024, 2048, 3072))
    layer: Optional[int] = num(None, 0, 64)

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
    bound: float = num(0.1, 0.0, 1e3, lo_open=True)
    coordinates: int = num(32, 1, 100_000)
    #: ``linf``: range proofs on ``coordinates`` sampled coordinates (above). ``l2``: RoFL's
    #: L2 norm-bound proof (:mod:`fedsim.privacy.l2proof`) that ‖Δ‖₂ ≤ ``bound`` on the whole
    #: update, or on weight tensor ``layer`` only (``coordinates`` is not used). It costs
    #: ~3 ms to prove and ~4 ms to verify per proved coordinate per client, so the whole
    #: 2,410-parameter digits MLP takes seconds per client: use ``layer`` to animate.
    norm: str = choice("linf", ZKP_NORMS)
    layer: Optional[int] = num(None, 0, 64)


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
    seed: int = num(0, 0, 2**31 - 1)
    rounds: int = num(20, 1, 10_000)
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    clients: ClientsConfig = field(default_factory=ClientsConfig)
    partition: PartitionConfig = field(default_factory=PartitionConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    aggregation: AggregationConfig = field(default_factory=AggregationConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    def _check(self):
        cap = client_cap(self.dataset.name)
        _check_range("clients.num_clients", self.clients.num_clients, 1, cap,
                     why=f" with dataset {self.dataset.name!r}" + (
                         f" (only '2d' allows up to {MAX_CLIENTS})" if cap < MAX_CLIENTS else ""))
        check_combination(self)

    # ---- JSON
    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str | bytes) -> "SimulationConfig":
        """Parse strict, bounded JSON (:mod:`fedsim.jsonio`): duplicate keys, huge numbers,
        NaN, deep nesting and oversized input are errors. The top level must be an object,
        and a section may be left out (its defaults) but not set to ``null``."""
        from fedsim.jsonio import loads

        data = loads(text)
        if not isinstance(data, dict):
            raise ConfigError("(top level)", data, "a JSON object",
                              message=f"the configuration must be a JSON object such as "
                                      f'{{"rounds": 10}}; got {_json_kind(data)}')
        _no_null_sections(cls, data, "")
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


def adaptive_clip_noise_limit(cfg: SimulationConfig) -> float:
    """The largest noise multiplier adaptive clipping allows: z < 2σ_b = m/10, with σ_b = m/20
    and m = expected clients per round (Andrew et al. 2021; see ``fedsim.privacy.dp``)."""
    return cfg.clients.fraction * cfg.clients.num_clients / 10


def linear_reasons(cfg: SimulationConfig) -> list[str]:
    """Why this configuration needs a linear (sum-based) aggregator, one phrase per reason."""
    priv = cfg.privacy
    out = []
    if priv.secure_aggregation.enabled:
        out.append("secure aggregation is on: the server only learns a sum")
    if priv.he.enabled:
        out.append("homomorphic encryption is on: the server only learns a sum")
    if priv.dp.mode == "central":
        out.append("central DP is on: its noise is calibrated to a sum of clipped updates")
    return out


def require_linear(aggregator: str, reasons: list[str]) -> None:
    """The one place that says "this needs a linear aggregator" (config and pipeline use it).

    ``Aggregator.linear`` in :mod:`fedsim.engine.aggregators` is checked against
    :data:`LINEAR_AGGREGATORS` by the tests."""
    if reasons and aggregator not in LINEAR_AGGREGATORS:
        raise IncompatibleConfigError(
            "aggregation.name", aggregator,
            f"'fedavg' when {reasons[0]}, so a median, trimmed mean or Krum cannot be computed")


def check_combination(cfg: SimulationConfig) -> None:
    """Reject settings that are each valid but cannot work together.

    The same checks guard the privacy pipeline when it is built; running them here means a bad
    combination is reported before TensorFlow is imported.
    """

    def bad(field_: str, value: object, allowed: str) -> typing.NoReturn:
        raise IncompatibleConfigError(field_, value, allowed)

    _check_csv(cfg, bad)
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
    require_linear(cfg.aggregation.name, linear_reasons(cfg))
    if priv.secure_aggregation.enabled and priv.he.enabled:
        bad("privacy.he.scheme", priv.he.scheme,
            "'off' when secure aggregation is on (pick one way to hide updates)")
    agg = cfg.aggregation
    if agg.name == "krum" and priv.dp.mode != "central":
        # Blanchard et al. 2017: Krum scores each update by its m − f − 2 nearest neighbours,
        # so it needs m ≥ f + 3 updates per round to tolerate f Byzantine clients.
        m = cfg.clients.per_round
        if agg.krum_byzantine > m - 3:
            bad("aggregation.krum_byzantine", agg.krum_byzantine,
                f"at most {max(m - 3, 0)} (clients per round − 3) with {m} clients per round; "
                "Krum cannot tolerate more" if m >= 3 else
                f"Krum needs at least 3 clients per round (this configuration samples {m})")
        if agg.krum_select > m:
            bad("aggregation.krum_select", agg.krum_select,
                f"at most {m} (the clients sampled per round)")
    n = cfg.clients.num_clients
    if priv.dp.adaptive_clip and priv.dp.mode != "central":
        bad("privacy.dp.adaptive_clip", True, "false unless privacy.dp.mode is 'central'")
    if priv.dp.mode == "central" and priv.dp.adaptive_clip and priv.dp.target_epsilon is None:
        # Andrew et al. 2021: the update noise z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2) with σ_b = m/20 is
        # only real when z < 2σ_b = m/10 (m = expected clients per round).
        limit = adaptive_clip_noise_limit(cfg)
        if priv.dp.noise_multiplier >= limit:
            bad("privacy.dp.noise_multiplier", priv.dp.noise_multiplier,
                f"< {limit:g} (expected clients per round / 10) with adaptive clipping; "
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
    _check_attacks(cfg, bad)


def _check_csv(cfg: SimulationConfig, bad) -> None:
    """A CSV data set's columns exist, and partition ``natural`` has one client per value."""
    ds = cfg.dataset
    if cfg.partition.name == "natural" and (ds.name != "csv" or ds.partition_column is None):
        bad("partition.name", "natural", "'natural' only with dataset 'csv' and a "
            "dataset.partition_column (one client per value of that column)")
    if ds.name != "csv":
        return
    info = csv_info(ds.path)
    for key in ("label", "partition_column"):
        if getattr(ds, key) is not None:
            _csv_column(info, f"dataset.{key}", getattr(ds, key))
    for key in ("columns", "categorical", "numeric"):
        for i, name in enumerate(getattr(ds, key) or ()):
            _csv_column(info, f"dataset.{key}[{i}]", name)
    if cfg.partition.name == "natural":
        k = _csv_column(info, "dataset.partition_column", ds.partition_column).distinct
        if cfg.clients.num_clients != k:
            bad("clients.num_clients", cfg.clients.num_clients,
                f"{k} with partition 'natural': column {ds.partition_column!r} has {k} "
                f"distinct values, one client each")


def _check_attacks(cfg: SimulationConfig, bad) -> None:
    """Attacks and defences that cannot work with the rest of the configuration."""
    mal = cfg.clients.malicious
    if mal.ids and mal.attack in ("label_flip", "backdoor"):
        if cfg.task != "classification":
            bad("clients.malicious.attack", mal.attack,
                "'scale', 'random', 'sign_flip' or 'gaussian' for a regression data set "
                "(label flipping and backdoors need class labels)")
        if mal.attack == "backdoor" and cfg.dataset.name != "digits":
            bad("clients.malicious.attack", mal.attack,
                "'backdoor' only with dataset 'digits' (its trigger is a pixel pattern)")
        classes = 10 if cfg.dataset.name == "digits" else 2
        if cfg.dataset.name == "csv":
            lab = cfg.dataset.label or csv_info(cfg.dataset.path)["columns"][-1].name
            classes = _csv_column(csv_info(cfg.dataset.path), "dataset.label", lab).distinct
        for key in ("target_label", "source_label") if mal.attack == "label_flip" \
                else ("target_label",):
            if getattr(mal, key) >= classes:
                bad(f"clients.malicious.{key}", getattr(mal, key),
                    f"a label from 0 to {classes - 1} for dataset {cfg.dataset.name!r}")
    priv = cfg.privacy
    if cfg.aggregation.norm_bound is not None and (priv.secure_aggregation.enabled or
                                                   priv.he.enabled):
        bad("aggregation.norm_bound", cfg.aggregation.norm_bound,
            "null when secure aggregation or HE hides the updates (the server cannot measure "
            "their norms; use privacy.zkp with norm 'l2' instead)")


def load_config(path: str) -> SimulationConfig:
    """Read a JSON configuration file (at most ``jsonio.MAX_BYTES``); every failure is a
    :class:`ConfigError` naming the file or the field."""
    from fedsim.jsonio import read_file

    return SimulationConfig.from_json(read_file(path, flag="--config"))


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return {list: "a list", str: "a string", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__)


def _no_null_sections(cls: type, data: dict, path: str) -> None:
    """``"privacy": null`` in a file is an error (it reads as "no privacy" but would mean
    "defaults"); omit the key for the defaults. ``null`` leaves (e.g. ``target_epsilon``)
    keep their documented meaning."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        if not (isinstance(hint, type) and issubclass(hint, _Section)) or f.name not in data:
            continue
        sub = f"{path}.{f.name}" if path else f.name
        if data[f.name] is None:
            raise ConfigError(sub, None, "a JSON object",
                              message=f"{sub}: got null; allowed: a JSON object (leave the key "
                                      "out to use this section's defaults)")
        if isinstance(data[f.name], dict):
            _no_null_sections(hint, data[f.name], sub)


def config_schema() -> dict:
    """The JSON Schema (draft 2020-12) of a configuration file, from the same field
    declarations the validator checks (``python -m fedsim schema`` prints it)."""

    def leaf(hint, f) -> dict:
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            inner = [a for a in typing.get_args(hint) if a is not type(None)][0]
            return {"anyOf": [leaf(inner, f), {"type": "null"}]}
        if isinstance(hint, type) and issubclass(hint, _Section):
            return section(hint)
        if origin is tuple:
            (elem,) = typing.get_args(hint)[:1]
            return {"type": "array", "items": leaf(elem, f)}
        out: dict = {"type": {bool: "boolean", int: "integer", float: "number",
                              str: "string"}[hint]}
        meta = f.metadata
        if "choices" in meta:
            out["enum"] = list(meta["choices"])
        if meta.get("lo") is not None:
            out["exclusiveMinimum" if meta["lo_open"] else "minimum"] = meta["lo"]
        if meta.get("hi") is not None:
            out["exclusiveMaximum" if meta["hi_open"] else "maximum"] = meta["hi"]
        return out

    def section(cls) -> dict:
        hints = typing.get_type_hints(cls)
        props = {}
        for f in dataclasses.fields(cls):
            p = leaf(hints[f.name], f)
            if f.default is not dataclasses.MISSING:
                p["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
            if f.metadata.get("doc"):
                p["description"] = f.metadata["doc"]
            props[f.name] = p
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        return {"type": "object", "description": " ".join(doc.split()),
                "properties": props, "additionalProperties": False}

    out = section(SimulationConfig)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "fedsim simulation configuration"
    return out

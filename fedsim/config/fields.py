"""The configuration's vocabulary: allowed names, caps, and the helpers that declare a field's
bounds once (``num``/``choice``) so that the validator's message and the JSON Schema come
from the same line.

Imports neither TensorFlow nor Streamlit, and never touches the file system.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import field
from typing import Any

from fedsim.errors import ConfigError

DATASETS = ("digits", "breast_cancer", "seed_regression", "2d", "penguins", "mnist", "cifar10",
            "femnist", "shakespeare", "csv")
#: Data sets of images (``Dataset.image_shape`` set): the ones model ``cnn`` fits.
IMAGE_DATASETS = ("digits", "mnist", "cifar10", "femnist")
#: Classes of each built-in classification set (config rules check label ids against them).
BUILTIN_CLASSES = {"digits": 10, "breast_cancer": 2, "2d": 2, "penguins": 3, "mnist": 10,
                   "cifar10": 10, "femnist": 10, "shakespeare": 88}
#: ``penguins``: the columns partition ``natural`` may split by (``dataset.partition_column``;
#: null means ``island``), and how many clients each gives (Biscoe, Dream, Torgersen; the
#: study years 2007, 2008, 2009).
PENGUIN_GROUPS = {"island": 3, "year": 3}
SHAPES_2D = ("moons", "circles", "blobs", "xor")
MODELS = ("auto", "logistic", "mlp", "cnn", "seed_mlp", "char_cnn")
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
#: ``femnist``: clients are writers; the cap is derived from memory
#: (:data:`FEMNIST_BYTES_PER_WRITER` within :data:`DATA_MEMORY_BUDGET`), which now admits every
#: writer the file has (3,383).
#: ``shakespeare``: clients are speaking roles (715 exist), at most 256 windows of 20
#: characters each.
MAX_CLIENTS_BY_DATASET = {"2d": 100_000, "shakespeare": 715}

#: The memory a federation's data may take (the 1.5 GB of issue #25's target).
DATA_MEMORY_BUDGET = 1536 << 20
#: Writers in TFF's fed_emnist_digitsonly.
FEMNIST_WRITERS = 3383
#: What one FEMNIST writer costs held (fedsim.data.femnist; measured with
#: ``python -m bench.data_bench``): ~101 training images kept as uint8 codes (784 B each) plus
#: an 8-byte row index, ~12 test images as float32 (3,136 B each), and its share of one
#: round's float32 padded block when it is sampled (the block holds the sampled writers only,
#: so it does not grow with the writers loaded: counted here as if every writer were sampled,
#: at its own size, ~101 × 3,136 B, a generous bound).
FEMNIST_BYTES_PER_WRITER = 101 * (784 + 8) + 12 * 784 * 4 + 101 * 784 * 4
MAX_CLIENTS_BY_DATASET["femnist"] = min(FEMNIST_WRITERS,
                                        DATA_MEMORY_BUDGET // FEMNIST_BYTES_PER_WRITER)
DEFAULT_MAX_CLIENTS = 2000
#: The most clients any data set allows (the JSON Schema's maximum; krum and SecAgg+ bounds).
MAX_CLIENTS = max(DEFAULT_MAX_CLIENTS, *MAX_CLIENTS_BY_DATASET.values())

#: The most rows a generated data set may have (``dataset.num_samples``): 100,000 2-D clients
#: of the default ``min_samples`` (4) need 500,000 rows with the default test fraction, and a
#: million 2-D rows take 16 MB; seed_regression's rows are 100 features wide.
#: ``mnist``/``cifar10`` take ``num_samples`` of their 70,000 / 60,000 images, every one: the
#: training pool is kept as uint8 (all of CIFAR: 147 MB, and 184 MB for the files' own arrays;
#: the test set float32, 147 MB), well within :data:`DATA_MEMORY_BUDGET` (measured on a
#: 60,000-image fixture: the federation builds at 752 MB peak RSS; docs/data.md).
MAX_SAMPLES_BY_DATASET = {"2d": 1_000_000, "mnist": 70_000, "cifar10": 60_000}
DEFAULT_MAX_SAMPLES = 200_000
MAX_SAMPLES = max(DEFAULT_MAX_SAMPLES, *MAX_SAMPLES_BY_DATASET.values())


def client_cap(dataset: str) -> int:
    """The most clients data set ``dataset`` allows."""
    return MAX_CLIENTS_BY_DATASET.get(dataset, DEFAULT_MAX_CLIENTS)


def sample_cap(dataset: str) -> int:
    """The most rows ``dataset.num_samples`` may ask of data set ``dataset``."""
    return MAX_SAMPLES_BY_DATASET.get(dataset, DEFAULT_MAX_SAMPLES)


# --------------------------------------------------------------------------- helpers
def fail(path: str, value: object, allowed: str, rule: str | None = None,
          **params) -> typing.NoReturn:
    raise ConfigError(path, value, allowed, rule=rule, params=params)


def check_choice(path: str, value: object, choices: tuple) -> None:
    if value not in choices:
        fail(path, value, "one of " + ", ".join(repr(c) for c in choices), "choice",
              choices=", ".join(str(c) for c in choices))


def _interval(lo, hi, lo_open, hi_open) -> str:
    """Interval notation, the same in every language: ``[1, 2000]``, ``(0, ∞)``."""
    def text(v) -> str:  # an integer bound in full (1000000, not 1e+06)
        return str(v) if isinstance(v, int) else f"{v:g}"

    left = "(-∞" if lo is None else ("(" if lo_open else "[") + text(lo)
    right = "∞)" if hi is None else text(hi) + (")" if hi_open else "]")
    return f"{left}, {right}"


def check_range(path: str, value: float, lo: float | None = None, hi: float | None = None,
                 *, lo_open: bool = False, hi_open: bool = False, why: str = "") -> None:
    """``why``: said after the range in the English text (e.g. which data set sets ``hi``)."""
    if isinstance(value, float) and not math.isfinite(value):
        fail(path, value, "a finite number", "finite")
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
        hi is not None and (value >= hi if hi_open else value > hi))
    if bad:
        fail(path, value, _range_text(lo, hi, lo_open, hi_open) + why, "range",
              interval=_interval(lo, hi, lo_open, hi_open))


def _range_text(lo, hi, lo_open, hi_open) -> str:
    left = "" if lo is None else (f"> {lo}" if lo_open else f">= {lo}")
    right = "" if hi is None else (f"< {hi}" if hi_open else f"<= {hi}")
    return " and ".join(s for s in (left, right) if s)


# Bounds are declared once, on the field: ``num(default, lo, hi)`` or ``choice(default, ...)``.
# ``Section.__post_init__`` checks them and :func:`config_schema` exports them as JSON Schema,
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


class Section:
    """Mixin: build a frozen dataclass from a dict, checking keys, types and declared bounds."""

    _path: typing.ClassVar[str] = ""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            meta, value = f.metadata, getattr(self, f.name)
            if value is None or not meta or meta.get("per_dataset"):
                continue
            where = f"{self._path}.{f.name}" if self._path else f.name
            if "choices" in meta:
                check_choice(where, value, meta["choices"])
            elif "lo" in meta:
                if isinstance(value, tuple):
                    for i, v in enumerate(value):
                        check_range(f"{where}[{i}]", v, meta["lo"], meta["hi"],
                                     lo_open=meta["lo_open"], hi_open=meta["hi_open"])
                else:
                    check_range(where, value, meta["lo"], meta["hi"],
                                 lo_open=meta["lo_open"], hi_open=meta["hi_open"])
        self._check()

    def _check(self) -> None:
        """Checks across this section's fields (bounds are declared on the fields)."""

    @classmethod
    def from_dict(cls, data: Any, path: str | None = None):
        path = cls._path if path is None else path
        if not isinstance(data, dict):
            fail(path or "(config)", data, "a JSON object" + (" (use {} for the defaults)"
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
                kwargs[name] = coerce(sub, data[name], hints[name])
        return cls(**kwargs)

    def to_dict(self) -> dict:
        out = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Section):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = list(v)
            out[f.name] = v
        return out

    def replace(self, **changes):
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


def coerce(path: str, value: Any, hint: Any) -> Any:
    """Check ``value`` against a type hint. Ints are accepted where floats are expected, and a
    float with an integral value (``10.0``) where an int is (JSON has one number type)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(path, value, inner[0])
    if isinstance(hint, type) and issubclass(hint, Section):
        return hint.from_dict(value, path)
    if origin is tuple:
        (elem,) = typing.get_args(hint)[:1]
        if not isinstance(value, (list, tuple)):
            fail(path, value, "a list")
        return tuple(coerce(f"{path}[{i}]", v, elem) for i, v in enumerate(value))
    if hint is bool:
        if not isinstance(value, bool):
            fail(path, value, "true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            fail(path, value, "an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(path, value, "a number")
        try:
            return float(value)
        except OverflowError:  # a 400-digit integer
            fail(path, value, "a finite number")
    if hint is str:
        if not isinstance(value, str):
            fail(path, value, "a string")
        return value
    return value


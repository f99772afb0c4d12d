"""Per-session caps on work and memory, so one student cannot take the server down for a class.

Every session shares one Python process (and, in a classroom, two CPU cores). Without caps,
2,000 clients × 200,000 rows × a 1,024-wide hidden layer peaks at 5.3 GB and takes a minute per
round, for everyone. The engine accepts such configurations (the CLI on a workstation may want
them); the app checks every configuration it is about to run against these caps and, when one
is reached, says which field, its value, the cap, and how a teacher raises it.

A teacher raises (or lowers) a cap with an environment variable, or in
``.streamlit/fedsim.toml`` (next to Streamlit's own ``config.toml``, which rejects unknown
sections)::

    # .streamlit/fedsim.toml
    [limits]
    max_clients = 500
    max_work_mflop = 20000

    FEDSIM_MAX_CLIENTS=500 make run     # the environment wins over the file

The estimates need no TensorFlow: rows × epochs × parameters for the work of one round, and the
padded per-client tensors plus per-client weight copies for memory (see :func:`estimate`).
Pure Python; the caps are read once per process (they are the server's, not a user's, state).
"""

from __future__ import annotations

import functools
import os
import pathlib
import sys
from dataclasses import dataclass, fields
from typing import Sequence

from fedsim.config import SimulationConfig
from fedsim.errors import ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[2]  # the checkout: .streamlit/ beside app.py
FILE = ROOT / ".streamlit" / "fedsim.toml"


@dataclass(frozen=True)
class Limits:
    """The caps (defaults measured to keep a round under ~1 s and a session under ~0.5 GB)."""

    max_clients: int = 200
    max_samples: int = 20_000  # dataset.num_samples (generated data sets)
    max_hidden: int = 256  # model.hidden
    max_rounds: int = 1000
    max_epochs: int = 20  # training.local_epochs
    max_work_mflop: int = 3_000  # estimated training work of one round
    max_memory_mb: int = 512  # estimated memory of one simulation


#: cap → (configuration field it bounds, environment variable)
FIELDS = {
    "max_clients": "clients.num_clients",
    "max_samples": "dataset.num_samples",
    "max_hidden": "model.hidden",
    "max_rounds": "rounds",
    "max_epochs": "training.local_epochs",
    "max_work_mflop": "training.local_epochs",
    "max_memory_mb": "clients.num_clients",
}


def env_name(cap: str) -> str:
    return "FEDSIM_" + cap.upper()


class LimitError(ConfigError):
    """A configuration is valid but beyond this server's classroom caps."""

    code = "limit"

    def __init__(self, cap: str, field: str, value: object, limit: int, what: str = "",
                 unit: str = ""):
        self.cap = cap
        self.limit = limit
        what = what or f"{value:,}" if isinstance(value, int) else what or str(value)
        super().__init__(field, value, f"at most {limit:,}{unit} on this server", rule="limit",
                         params={"limit": f"{limit:,}{unit}", "env": env_name(cap), "cap": cap},
                         message=f"{field}: {what} is above this server's classroom limit of "
                                 f"{limit:,}{unit}; a teacher can raise it with "
                                 f"{env_name(cap)} or {cap} in .streamlit/fedsim.toml")


def _read_file(path: pathlib.Path) -> dict:
    if not path.is_file():
        return {}
    try:
        import tomllib

        return dict(tomllib.loads(path.read_text()).get("limits", {}))
    except Exception as exc:  # noqa: BLE001 - a broken file must not take the app down
        print(f"fedsim: ignoring {path}: {exc}", file=sys.stderr)
        return {}


def load(env: dict | None = None, path: pathlib.Path | None = None) -> Limits:
    """The caps from defaults, then ``path`` (``[limits]``), then the environment."""
    env = os.environ if env is None else env
    from_file = _read_file(FILE if path is None else path)
    values = {}
    for f in fields(Limits):
        raw = env.get(env_name(f.name), from_file.get(f.name))
        if raw is None:
            continue
        try:
            v = int(float(raw))
            if v < 1:
                raise ValueError
            values[f.name] = v
        except (TypeError, ValueError):
            print(f"fedsim: ignoring {f.name}={raw!r} (a positive integer is needed)",
                  file=sys.stderr)
    return Limits(**values)


@functools.lru_cache(maxsize=1)
def current() -> Limits:
    """This server's caps (read once per process)."""
    return load()


# ------------------------------------------------------------------ estimates (no TensorFlow)
_ROWS = {"digits": 1797, "breast_cancer": 569}
_FEATURES = {"digits": 64, "breast_cancer": 30, "seed_regression": 100, "2d": 2}
_OUTPUTS = {"digits": 10, "breast_cancer": 2, "seed_regression": 1, "2d": 4}


def _shape(cfg: SimulationConfig) -> tuple[int, int, int]:
    """(rows, input features, outputs) of the data set, without TensorFlow. A CSV is read
    (cached by path, mtime and size in fedsim.data.load) since only the file knows."""
    ds = cfg.dataset
    if ds.name == "csv":
        from fedsim.data.load import load_dataset

        data = load_dataset(ds, cfg.seed)
        rows = len(data.y_train) + len(data.y_test)
        return rows, data.num_features, data.num_classes if data.task == "classification" else 1
    return _ROWS.get(ds.name, ds.num_samples), _FEATURES[ds.name], _OUTPUTS[ds.name]


def _params(cfg: SimulationConfig) -> int:
    _, f, o = _shape(cfg)
    name = cfg.model_name
    if name == "logistic":
        return f * o + o
    if name == "cnn":
        return 80 + 128 * o + o
    h = 10 if name == "seed_mlp" else cfg.model.hidden
    return f * h + h + h * o + o


@dataclass(frozen=True)
class Estimate:
    train_rows: int
    params: int
    work_mflop: float  # one round: forward + backward ≈ 6 flops per weight and row
    memory_mb: float


def estimate(cfg: SimulationConfig, train_sizes: Sequence[int] | None = None) -> Estimate:
    """Work of one round and memory of one simulation. ``train_sizes`` (from the split, when
    known) gives the largest client, which sets the padding of the stacked client tensors."""
    ds = cfg.dataset
    rows, feats, _ = _shape(cfg)
    train = int(rows * (1 - ds.test_fraction) * (1 - ds.val_fraction))
    n = cfg.clients.num_clients
    params = _params(cfg)
    sampled = max(1, round(cfg.clients.fraction * n))
    work = 6.0 * train * (sampled / n) * cfg.training.local_epochs * params / 1e6
    biggest = max(train_sizes) if train_sizes is not None and len(train_sizes) else train
    # stacked, padded client data (train + validation, x and y) and ~6 weight-sized copies per
    # client (local weights, gradients, optimizer slots, update, protected update)
    data = n * biggest * (feats + 1) * 4 * 2
    weights = n * params * 4 * 6
    return Estimate(train, params, work, (data + weights) / 1e6)


def check(cfg: SimulationConfig, train_sizes: Sequence[int] | None = None,
          limits: Limits | None = None, *, memory: bool = True) -> None:
    """Raise :class:`LimitError` for the first cap ``cfg`` exceeds (``memory=False``: skip the
    memory estimate, which needs the split's client sizes to be accurate)."""
    lim = limits or current()
    for cap, value in (("max_clients", cfg.clients.num_clients),
                       ("max_rounds", cfg.rounds),
                       ("max_epochs", cfg.training.local_epochs)):
        if value > getattr(lim, cap):
            raise LimitError(cap, FIELDS[cap], value, getattr(lim, cap))
    if cfg.dataset.name in ("2d", "seed_regression") and \
            cfg.dataset.num_samples > lim.max_samples:
        raise LimitError("max_samples", "dataset.num_samples", cfg.dataset.num_samples,
                         lim.max_samples)
    if cfg.model_name == "mlp" and cfg.model.hidden > lim.max_hidden:
        raise LimitError("max_hidden", "model.hidden", cfg.model.hidden, lim.max_hidden)
    est = estimate(cfg, train_sizes)
    if est.work_mflop > lim.max_work_mflop:
        raise LimitError("max_work_mflop", "training.local_epochs", cfg.training.local_epochs,
                         lim.max_work_mflop,
                         what=f"{cfg.training.local_epochs} epoch(s) × {est.train_rows:,} rows "
                              f"× {est.params:,} weights ≈ {est.work_mflop:,.0f} MFLOP per "
                              "round", unit=" MFLOP")
    if memory and est.memory_mb > lim.max_memory_mb:
        raise LimitError("max_memory_mb", "clients.num_clients", cfg.clients.num_clients,
                         lim.max_memory_mb, unit=" MB",
                         what=f"{cfg.clients.num_clients} clients need ≈ "
                              f"{est.memory_mb:,.0f} MB")

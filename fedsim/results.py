"""Immutable records of what a simulation did: per phase, per client, per round.

The app and the CLI only read these. ``to_dict`` gives the CLI's JSON layout
(``rounds[i].global.accuracy``, ``rounds[i].clients[j].val_accuracy``, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np

#: The phases of one round, in order (the article's steps, with the protection stages).
PHASES = ("select", "broadcast", "train", "protect", "upload", "aggregate", "update", "evaluate")


def metric_key(task: str) -> str:
    """The name of the quality metric for a task: the one place that says "accuracy" or "mse"."""
    return "accuracy" if task == "classification" else "mse"


def _plain(v: Any) -> Any:
    """JSON-friendly copy: reports to dicts, NumPy scalars/arrays to Python, NaN to None."""
    from .reports import Report

    if isinstance(v, Report):
        return _plain(v.to_dict())
    if isinstance(v, Mapping):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return None if math.isnan(f) or math.isinf(f) else f
    return v


def frozen(d: Mapping) -> Mapping:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class PhaseRecord:
    """What one phase did: its name, wall time, and measurements (by mechanism for protect/
    aggregate/update)."""

    round: int
    phase: str
    ms: float
    measurements: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"phase": self.phase, "ms": round(self.ms, 3),
                "measurements": _plain(self.measurements)}


@dataclass(frozen=True)
class ClientRecord:
    """One sampled client in one round."""

    id: int
    num_examples: int  # local training rows
    num_val: int
    dropped: bool
    malicious: bool
    train_loss: tuple[float, ...]  # per local epoch
    val_loss: float
    val_metric: float  # accuracy (classification) or MSE (regression)
    update_norm: float
    bytes_up: int
    extra: Mapping[str, Any] = field(default_factory=dict)  # clipped, verified, ...

    def to_dict(self, task: str) -> dict:
        key = "val_" + metric_key(task)
        d = {"id": self.id, "num_examples": self.num_examples, "num_val": self.num_val,
             "dropped": self.dropped, "malicious": self.malicious,
             "train_loss": self.train_loss[-1] if self.train_loss else None,
             "train_loss_per_epoch": list(self.train_loss), "val_loss": self.val_loss,
             key: self.val_metric, "update_norm": self.update_norm, "bytes_up": self.bytes_up}
        d.update(self.extra)
        return _plain(d)


@dataclass(frozen=True)
class RoundResult:
    """Everything about one completed round."""

    round: int
    sampled: tuple[int, ...]
    dropped: tuple[int, ...]
    rejected: tuple[int, ...]
    clients: tuple[ClientRecord, ...]
    global_metrics: Mapping[str, float]  # loss and accuracy or mse, on the server's test set
    bytes_down: int
    bytes_up: int
    privacy: Mapping[str, Any]
    trace: tuple[PhaseRecord, ...]
    aborted: str = ""  # why the round was abandoned (e.g. too few secure-aggregation survivors)

    @property
    def aggregated(self) -> tuple[int, ...]:
        """Clients whose update went into the aggregate."""
        if self.aborted:
            return ()
        out = set(self.dropped) | set(self.rejected)
        return tuple(c for c in self.sampled if c not in out)

    def phase(self, name: str) -> PhaseRecord:
        return next(p for p in self.trace if p.phase == name)

    def to_dict(self, task: str) -> dict:
        return {"round": self.round, "sampled": list(self.sampled), "dropped": list(self.dropped),
                "rejected": list(self.rejected), "global": _plain(self.global_metrics),
                "clients": [c.to_dict(task) for c in self.clients],
                "bytes": {"down": self.bytes_down, "up": self.bytes_up},
                "privacy": _plain(self.privacy), "aborted": self.aborted or None,
                "trace": [p.to_dict() for p in self.trace]}

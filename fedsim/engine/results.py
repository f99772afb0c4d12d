"""Immutable records of what a simulation did: per phase, per client, per round.

The app and the CLI only read these. ``to_dict`` gives the CLI's JSON layout
(``rounds[i].global.accuracy``, ``rounds[i].clients[j].val_accuracy``, ...).

Per-client bookkeeping is kept as columns (:class:`ClientTable`, one read-only array per
metric) and turned into :class:`ClientRecord` objects only when someone reads them. At 10,000
clients a round used to build 10,000 records (about 50,000 Python objects, ~0.8 KB each): half
of the round's time, and the cyclic garbage collector re-walked every record of every earlier
round, so rounds got slower as the history grew. A table is a dozen arrays per round.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Iterator, Mapping

import numpy as np

#: The phases of one round, in order (the article's steps, with the protection stages).
PHASES = ("select", "broadcast", "train", "protect", "upload", "aggregate", "update", "evaluate")


def metric_key(task: str) -> str:
    """The name of the quality metric for a task: the one place that says "accuracy" or "mse"."""
    return "accuracy" if task == "classification" else "mse"


def _plain(v: Any) -> Any:
    """JSON-friendly copy: reports to dicts, NumPy scalars/arrays to Python, NaN to None."""
    from fedsim.reports import Report

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


#: How an infinite ε is written in the run JSON. Strict JSON has no Infinity, and ``null``
#: there means "no ε" (no differential privacy) to every reader; noise_multiplier 0 is the
#: opposite, no privacy at all, so it is spelled out (the report's ``note`` says why).
INF_EPSILON = "inf"


def _is_inf(v: Any) -> bool:
    return isinstance(v, (float, np.floating)) and math.isinf(v) and v > 0


def _privacy_json(privacy: Mapping[str, Any]) -> dict:
    """:func:`_plain` of a round's privacy measurements, with every infinite ε (``epsilon``,
    ``epsilon_rdp``, ``epsilon_pld``, ``epsilon_median``, ``client_epsilons``, also under a
    mechanism's ``name.`` prefix) written as :data:`INF_EPSILON` instead of ``null``."""
    out = _plain(privacy)
    for k, v in privacy.items():
        name = str(k).rsplit(".", 1)[-1]
        if not name.startswith(("epsilon", "client_epsilons")):
            continue
        if _is_inf(v):
            out[str(k)] = INF_EPSILON
        elif isinstance(v, (list, tuple, np.ndarray)):
            out[str(k)] = [INF_EPSILON if _is_inf(x) else _plain(x) for x in v]
    return out


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


@dataclass(frozen=True, eq=False)  # its arrays have no single truth value to compare
class ExtraColumn:
    """One key of :attr:`ClientRecord.extra` for every row of a :class:`ClientTable`.

    ``values`` has one entry per row (a tuple of the objects mechanisms reported, or a
    read-only array); ``present`` is a bool array saying which rows have the key at all
    (``None``: every row), since a mechanism may report on only some clients (a proof is
    checked only for the updates that arrived).
    """

    values: Any
    present: np.ndarray | None = None

    def values_list(self) -> list:
        v = self.values
        return v.tolist() if isinstance(v, np.ndarray) else list(v)


def _readonly(a: Any, dtype: Any = None) -> np.ndarray:
    # A private copy, so the history never shares memory with the round's working arrays
    # (which may be big or written later), and read-only, so it cannot be edited in place.
    out = np.array(a, dtype=dtype, copy=True)
    out.setflags(write=False)
    return out


def _json_floats(a: np.ndarray) -> list:
    """``a.tolist()`` with NaN and ±inf as None (what :func:`_plain` does to one float)."""
    vals = a.tolist()
    if a.size and not np.isfinite(a).all():
        vals = [None if v is None or not math.isfinite(v) else v for v in vals]
    return vals


#: ClientTable's per-client columns: name → dtype of the copy kept (None: the source's own,
#: so float32 losses stay float32 and read back as exactly the floats a record held, and
#: int32 counts stay 4 bytes: at 100,000 clients every byte a client is 100 KB a round).
_COLUMNS = {"ids": None, "num_examples": None, "num_val": None, "dropped": bool,
            "malicious": bool, "train_loss": None, "val_loss": None, "val_metric": None,
            "update_norm": None, "bytes_up": None}


@dataclass(frozen=True, eq=False, repr=False)
class ClientTable(Sequence):
    """The sampled clients of one round as columns, read as a tuple of :class:`ClientRecord`.

    ``RoundResult.clients`` is one of these when the engine built the round. It behaves like
    the tuple of records it replaces (``len``, indexing, slicing, iteration, ``==`` with a
    tuple, ``+``): the records are built on first full read and kept (a lazily materialised
    tuple), while ``table[i]`` builds just record ``i``. Code that wants numbers for all
    clients should read the columns instead (``table.update_norm`` is a read-only ``[K]``
    array), which never builds a record; :meth:`to_dicts` (the run JSON) doesn't either.

    Columns: ``ids``, ``num_examples``, ``num_val``, ``dropped``, ``malicious``,
    ``train_loss`` (``[K, E]``), ``val_loss``, ``val_metric``, ``update_norm``, ``bytes_up``,
    and ``extra``: key → :class:`ExtraColumn` for :attr:`ClientRecord.extra`.
    """

    ids: np.ndarray
    num_examples: np.ndarray
    num_val: np.ndarray
    dropped: np.ndarray
    malicious: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_metric: np.ndarray
    update_norm: np.ndarray
    bytes_up: np.ndarray
    extra: Mapping[str, ExtraColumn] = field(default_factory=dict)

    def __post_init__(self):
        k = len(np.asarray(self.ids))
        for name, dtype in _COLUMNS.items():
            col = _readonly(getattr(self, name), dtype)
            if name == "train_loss" and col.ndim != 2:  # [K, E], E may be 0
                col = _readonly(col.reshape(k, -1) if col.size else np.zeros((k, 0), col.dtype))
            if len(col) != k:
                raise ValueError(f"ClientTable.{name} has {len(col)} rows, ids has {k}")
            object.__setattr__(self, name, col)
        extra = {}
        for key, col in dict(self.extra).items():
            values = _readonly(col.values) if isinstance(col.values, np.ndarray) \
                else tuple(col.values)
            present = None if col.present is None else _readonly(col.present, bool)
            if len(values) != k or (present is not None and len(present) != k):
                raise ValueError(f"ClientTable.extra[{key!r}] does not have {k} rows")
            extra[key] = ExtraColumn(values, present)
        object.__setattr__(self, "extra", MappingProxyType(extra))

    # ---- building records
    def _extras(self) -> list[dict]:
        rows: list[dict] = [{} for _ in range(len(self))]
        for key, col in self.extra.items():
            values = col.values_list()
            if col.present is None:
                for d, v in zip(rows, values):
                    d[key] = v
            else:
                for d, v, here in zip(rows, values, col.present.tolist()):
                    if here:
                        d[key] = v
        return rows

    def _records(self) -> tuple[ClientRecord, ...]:
        cached = self.__dict__.get("_cache")
        if cached is not None:
            return cached
        # Whole columns to Python at once (tolist), then one record per row.
        recs = tuple(
            ClientRecord(id=i, num_examples=n, num_val=nv, dropped=dr, malicious=ma,
                         train_loss=tuple(tl), val_loss=vl, val_metric=vm, update_norm=un,
                         bytes_up=bu, extra=frozen(ex))
            for i, n, nv, dr, ma, tl, vl, vm, un, bu, ex in zip(
                self.ids.tolist(), self.num_examples.tolist(), self.num_val.tolist(),
                self.dropped.tolist(), self.malicious.tolist(), self.train_loss.tolist(),
                self.val_loss.tolist(), self.val_metric.tolist(), self.update_norm.tolist(),
                self.bytes_up.tolist(), self._extras()))
        # Set once; two threads racing here build equal tuples, and either may win.
        self.__dict__["_cache"] = recs
        return recs

    def _slice(self, start: int, stop: int) -> "ClientTable":
        rows = slice(start, stop)
        extra = {key: ExtraColumn(col.values[rows],
                                  None if col.present is None else col.present[rows])
                 for key, col in self.extra.items()}
        return ClientTable(**{name: getattr(self, name)[rows] for name in _COLUMNS},
                           extra=extra)

    def _record(self, i: int) -> ClientRecord:
        extra = {}
        for key, col in self.extra.items():
            if col.present is None or col.present[i]:
                v = col.values[i]
                extra[key] = v.item() if isinstance(col.values, np.ndarray) else v
        return ClientRecord(
            id=int(self.ids[i]), num_examples=int(self.num_examples[i]),
            num_val=int(self.num_val[i]), dropped=bool(self.dropped[i]),
            malicious=bool(self.malicious[i]), train_loss=tuple(self.train_loss[i].tolist()),
            val_loss=self.val_loss[i].item(), val_metric=self.val_metric[i].item(),
            update_norm=self.update_norm[i].item(), bytes_up=int(self.bytes_up[i]),
            extra=frozen(extra))

    # ---- the tuple interface
    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return self._records()[i]
        cached = self.__dict__.get("_cache")
        if cached is not None:
            return cached[i]
        k = len(self)
        i = operator.index(i)  # as a tuple: numpy ints work, a float index is a TypeError
        if not -k <= i < k:
            raise IndexError("ClientTable index out of range")
        return self._record(i % k)

    def __iter__(self) -> Iterator[ClientRecord]:
        return iter(self._records())

    def iter_records(self, chunk: int = 4096) -> Iterator[ClientRecord]:
        """The records one by one without keeping them (a one-pass export of a big
        history holds one chunk of records at a time, not every round's); the kept tuple if
        it exists."""
        cached = self.__dict__.get("_cache")
        if cached is not None:
            yield from cached
            return
        for start in range(0, len(self), chunk):
            yield from self._slice(start, start + chunk)._records()

    def __reversed__(self) -> Iterator[ClientRecord]:
        return reversed(self._records())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ClientTable, tuple)):
            return self._records() == tuple(other)
        return NotImplemented

    __hash__ = None  # like a tuple of records, whose ``extra`` mappings are unhashable

    def __add__(self, other):
        return self._records() + tuple(other) if isinstance(other, (tuple, ClientTable)) \
            else NotImplemented

    def __radd__(self, other):
        return tuple(other) + self._records() if isinstance(other, tuple) else NotImplemented

    def __repr__(self) -> str:
        return f"ClientTable({len(self)} clients, columns: {', '.join(_COLUMNS)}" + (
            f"; extra: {', '.join(self.extra)})" if self.extra else ")")

    # Pickling and deepcopy: the columns only (records are rebuilt on demand), read-only again.
    def __getstate__(self) -> dict:
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["extra"] = dict(self.extra)  # a mappingproxy does not pickle
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        state["extra"] = dict(state["extra"])
        for name, value in state.items():
            object.__setattr__(self, name, value)
        self.__post_init__()

    # ---- columns
    def to_dicts(self, task: str) -> list[dict]:
        """``[record.to_dict(task) for record in self]``, built from the columns (no record)."""
        key = "val_" + metric_key(task)
        extras = self._extras() if self.extra else [{}] * len(self)
        out = []
        for i, n, nv, dr, ma, tl, vl, vm, un, bu, ex in zip(
                self.ids.tolist(), self.num_examples.tolist(), self.num_val.tolist(),
                self.dropped.tolist(), self.malicious.tolist(),
                [_json_floats(row) for row in self.train_loss], _json_floats(self.val_loss),
                _json_floats(self.val_metric), _json_floats(self.update_norm),
                self.bytes_up.tolist(), extras):
            d = {"id": i, "num_examples": n, "num_val": nv, "dropped": dr, "malicious": ma,
                 "train_loss": tl[-1] if tl else None, "train_loss_per_epoch": tl,
                 "val_loss": vl, key: vm, "update_norm": un, "bytes_up": bu}
            d.update({k: _plain(v) for k, v in ex.items()})
            out.append(d)
        return out

    @classmethod
    def from_records(cls, records: "Sequence[ClientRecord]") -> "ClientTable":
        """The table of a tuple of records (e.g. a hand-made :class:`RoundResult`)."""
        if isinstance(records, ClientTable):
            return records
        recs = tuple(records)
        k = len(recs)
        cols: dict[str, Any] = {
            "ids": [r.id for r in recs], "num_examples": [r.num_examples for r in recs],
            "num_val": [r.num_val for r in recs], "dropped": [r.dropped for r in recs],
            "malicious": [r.malicious for r in recs],
            "train_loss": np.array([r.train_loss for r in recs], np.float64).reshape(
                k, len(recs[0].train_loss) if recs else 0),
            "val_loss": np.array([r.val_loss for r in recs], np.float64),
            "val_metric": np.array([r.val_metric for r in recs], np.float64),
            "update_norm": np.array([r.update_norm for r in recs], np.float64),
            "bytes_up": [r.bytes_up for r in recs]}
        keys = list(dict.fromkeys(key for r in recs for key in r.extra))
        extra = {key: ExtraColumn(tuple(r.extra.get(key) for r in recs),
                                  np.array([key in r.extra for r in recs], bool))
                 for key in keys}
        return cls(**cols, extra=extra)


@dataclass(frozen=True)
class RoundResult:
    """Everything about one completed round.

    ``clients`` is a tuple of :class:`ClientRecord` or, from the engine, a
    :class:`ClientTable` that reads as one; :attr:`client_table` gives the columns either way.
    """

    round: int
    sampled: tuple[int, ...]
    dropped: tuple[int, ...]
    rejected: tuple[int, ...]
    clients: "Sequence[ClientRecord]"
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

    def iter_clients(self) -> Iterator[ClientRecord]:
        """``iter(self.clients)`` that builds records without keeping them (exports)."""
        if isinstance(self.clients, ClientTable):
            return self.clients.iter_records()
        return iter(self.clients)

    @property
    def client_table(self) -> ClientTable:
        """The sampled clients as columns (one read-only array per metric)."""
        return ClientTable.from_records(self.clients)

    def phase(self, name: str) -> PhaseRecord:
        return next(p for p in self.trace if p.phase == name)

    def to_dict(self, task: str) -> dict:
        clients = self.clients.to_dicts(task) if isinstance(self.clients, ClientTable) \
            else [c.to_dict(task) for c in self.clients]
        return {"round": self.round, "sampled": list(self.sampled), "dropped": list(self.dropped),
                "rejected": list(self.rejected), "global": _plain(self.global_metrics),
                "clients": clients,
                "bytes": {"down": self.bytes_down, "up": self.bytes_up},
                "privacy": _privacy_json(self.privacy), "aborted": self.aborted or None,
                "trace": [p.to_dict() for p in self.trace]}

"""A round in progress as one typed, frozen value, and the typed report of each phase.

The engine builds a :class:`RoundState` at ``select`` and every phase returns a *new* one
(``dataclasses.replace``) together with its report, so the products of a round are fields with
names and types instead of a bag of string keys, and nothing outside the round changes until
the last phase has succeeded: dropping the value *is* the rollback.

Reports are :class:`~fedsim.reports.Report` subclasses; the ones that carry mechanisms'
reports (protect, aggregate, update) also answer ``report["secagg"]`` with that mechanism's
report, and serialize them at the top level, which is the run JSON's layout.
"""

from __future__ import annotations

from collections.abc import ItemsView, ValuesView
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from fedsim.reports import Report

if TYPE_CHECKING:  # annotations only (the trainer imports TensorFlow)
    from fedsim.privacy.base import Aggregate, UpdateBatch
    from fedsim.training.trainer import TrainResult


# --------------------------------------------------------------------------- the value
@dataclass(frozen=True)
class RoundPlan:
    """Choices made for one round outside the configuration, by the clients themselves: in a
    live class each student decides for their own client whether it drops out this round or
    attacks, and how (the configuration's own ``dropout`` and ``clients.malicious`` still
    apply on top).

    ``drop``: client ids that do not answer this round (if sampled, they train nothing the
    server receives, like a random dropout). ``attacks``: extra malicious groups, each a
    :class:`~fedsim.config.MaliciousConfig` (its ``ids`` attack with its ``attack`` and
    ``factor`` from this round on); a client should appear in at most one group.
    """

    drop: tuple[int, ...] = ()
    attacks: tuple = ()  # tuple[MaliciousConfig, ...]
    #: ``((client id, x [n, ...], y [n]), ...)``: a client that trains on these rows this
    #: round instead of its shard (a student's own drawn digits; features as the model sees
    #: them, i.e. standardized like the data set's)
    data: tuple = ()

    @property
    def attackers(self) -> tuple[int, ...]:
        return tuple(sorted({int(c) for m in self.attacks for c in m.ids}))


@dataclass(frozen=True)
class Snapshot:
    """Everything that survives a round: the flat global weights, the server optimizer's state
    and each mechanism's state (in pipeline order). Taken at ``select``; restored on failure."""

    weights: np.ndarray
    opt_state: Any
    mech_states: tuple


@dataclass(frozen=True)
class RoundState:
    """The products of the round so far, filled in phase by phase (``None``: not yet)."""

    round: int
    start: Snapshot
    trace: tuple = ()
    mech_states: tuple = ()
    plan: RoundPlan | None = None  # the clients' own choices for this round, if any
    # select
    sampled: tuple[int, ...] = ()
    dropped: tuple[int, ...] = ()
    # broadcast
    bytes_down: int = 0
    # train
    train: TrainResult | None = None  # None when nobody was sampled
    raw: np.ndarray | None = None  # [K, P] local − global (after any attack), before protection
    norms: np.ndarray | None = None  # [K] ‖raw‖₂, computed once
    counts: np.ndarray | None = None  # [K] training rows per sampled client
    vcounts: np.ndarray | None = None
    # protect / upload
    protected: UpdateBatch | None = None  # after the client-side stages (what left the clients)
    arrived: UpdateBatch | None = None  # the part of it that reached the server
    bytes_up: int = 0
    # aggregate
    accepted: UpdateBatch | None = None  # what went into the sum, after proofs were checked
    rejected: tuple[int, ...] = ()
    aggregate: Aggregate | None = None
    aborted: str = ""
    # update
    delta: np.ndarray | None = None  # the mean update the server applied
    weights: np.ndarray | None = None  # the new global weights
    opt_state: Any = None
    # evaluate
    global_metrics: Mapping[str, float] | None = None
    privacy: Mapping[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- phase reports
class _WithMechanisms(Report):
    """A phase report that also carries mechanisms' reports, by mechanism name."""

    def __getitem__(self, key: str) -> Any:
        if key in self.mechanisms:
            return self.mechanisms[key]
        return super().__getitem__(key)

    def __iter__(self):
        yield from (k for k in super().__iter__() if k != "mechanisms")
        yield from self.mechanisms

    def __contains__(self, key: object) -> bool:
        return key in self.mechanisms or (key != "mechanisms" and super().__contains__(key))

    def to_dict(self) -> dict:
        out = {k: getattr(self, k) for k in super().__iter__() if k != "mechanisms"}
        for name, rep in self.mechanisms.items():
            out[name] = rep.to_dict() if isinstance(rep, Report) else rep
        return out


@dataclass(frozen=True)
class SelectReport(Report):
    sampling: str  # "poisson" (central DP) or "uniform"
    sampled: tuple[int, ...]
    num_sampled: int
    will_drop: tuple[int, ...]
    expected: float


@dataclass(frozen=True)
class BroadcastReport(Report):
    bytes_per_client: int
    bytes_down: int
    num_params: int


@dataclass(frozen=True)
class TrainReport(Report):
    clients: int
    mean_train_loss: float | None = None
    update_norms: tuple[float, ...] | None = None
    steps_per_epoch: tuple[int, ...] | None = None
    batching: str | None = None  # "shuffle" or "poisson" (DP-SGD)
    attacked: tuple[int, ...] | None = None  # malicious clients that tampered this round


@dataclass(frozen=True)
class ProtectReport(_WithMechanisms):
    pipeline: tuple[str, ...]
    mechanisms: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["mechanisms"] = list(out.pop("pipeline"))  # the run JSON's historical key
        return out


class ClientValues(Mapping):
    """A read-only ``{str(client id): int}`` mapping kept as two arrays.

    The upload report's bytes per client, which every round keeps in its trace: as a dict it
    cost ~100 bytes a client (a key string, an int, a slot), 10 MB a round at 100,000 clients;
    as two read-only arrays it is 12 bytes a client. Reads, compares and serializes as the
    dict it replaces.
    """

    __slots__ = ("_ids", "_values")

    def __init__(self, ids, values):
        self._ids = np.array(ids, np.int64)
        self._values = np.array(values, np.int64)
        if self._ids.shape != self._values.shape or self._ids.ndim != 1:
            raise ValueError("ClientValues needs one value per client id")
        self._ids.setflags(write=False)
        self._values.setflags(write=False)

    def _row(self, key: object) -> int | None:
        # A vectorized scan, not a {str: row} dict: lookups are rare (the JSON reads items()),
        # and `"per_client" in report` style probes must not build 100,000 strings.
        if not isinstance(key, str) or not key.isdecimal() or str(int(key)) != key:
            return None
        rows = np.flatnonzero(self._ids == int(key))
        return int(rows[0]) if len(rows) else None

    def __getitem__(self, key: str) -> int:
        row = self._row(key)
        if row is None:
            raise KeyError(key)
        return int(self._values[row])

    def __contains__(self, key: object) -> bool:
        return self._row(key) is not None

    def __reduce__(self):
        return ClientValues, (self._ids, self._values)

    def __iter__(self):
        return iter(map(str, self._ids.tolist()))

    def __len__(self) -> int:
        return len(self._ids)

    # One pass over both arrays, not a lookup per key (Mapping's default views look up each).
    def items(self):
        return _ClientItems(self)

    def values(self):
        return _ClientValuesView(self)

    def __repr__(self) -> str:
        return f"ClientValues({dict(self.items())!r})" if len(self) <= 10 else \
            f"ClientValues({len(self)} clients)"


class _ClientItems(ItemsView):
    def __iter__(self):
        m = self._mapping
        return zip(map(str, m._ids.tolist()), m._values.tolist())


class _ClientValuesView(ValuesView):
    def __iter__(self):
        return iter(self._mapping._values.tolist())


@dataclass(frozen=True)
class UploadReport(Report):
    arrived: tuple[int, ...]
    dropped: tuple[int, ...]
    bytes_up: int
    bytes_per_client: Mapping[str, int]  # a ClientValues from the engine


@dataclass(frozen=True)
class AggregateReport(_WithMechanisms):
    num_aggregated: int
    rejected: tuple[int, ...]
    #: the aggregator's measurements (its name, and e.g. Krum's picks and scores); None when a
    #: mechanism computed the sum
    aggregator: Mapping[str, Any] | None = None
    aborted: str | None = None
    mechanisms: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateReport(_WithMechanisms):
    aggregate_norm: float
    step_norm: float
    server_optimizer: str | None = None
    aborted: str | None = None
    mechanisms: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EvaluateReport(Report):
    """The global model on the server's test set. ``report["accuracy"]`` (or ``"mse"``) is the
    metric under its task's name."""

    loss: float
    metric: float
    metric_name: str
    privacy: Mapping[str, Any] | None = None

    def __getitem__(self, key: str) -> Any:
        if key == self.metric_name:
            return self.metric
        return super().__getitem__(key)

    def __iter__(self):
        yield "loss"
        yield self.metric_name
        if self.privacy:
            yield "privacy"

    def __contains__(self, key: object) -> bool:
        return key in ("loss", self.metric_name) or (key == "privacy" and bool(self.privacy))

    def to_dict(self) -> dict:
        out = {"loss": self.loss, self.metric_name: self.metric}
        if self.privacy:
            out["privacy"] = {k: v.to_dict() if isinstance(v, Report) else v
                              for k, v in self.privacy.items()}
        return out

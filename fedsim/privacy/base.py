"""The protection pipeline around aggregation: mechanisms, the data they pass, and the order.

Modelled on TFF's nested aggregation factories ("Federated Learning" aggregators, and
``DifferentiallyPrivateFactory``/``SecureSumFactory``) written as a flat, ordered list:
client-side hooks run in list order (clip → prove → mask/encrypt) and server-side hooks run in
reverse (verify → sum → unmask/decrypt → add central noise), like layers of an onion.

Every hook takes the mechanism's state and returns the new value, the new state and a typed
report (:mod:`fedsim.reports`) that the engine stores in the round's trace, so the app can show
what each mechanism did. Nothing is mutated in place.

Updates travel as flat float64 vectors (all model weights concatenated), one row per client.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np



@dataclass(frozen=True)
class RoundContext:
    """What a mechanism may know about the current round.

    Attributes
    ----------
    round:
        1-based round number.
    seed:
        The simulation seed; derive streams with ``fedsim.rng.generator(seed, "<mech>", round, ...)``.
    num_clients:
        N, the population size.
    expected_clients:
        q·N, the expected number of sampled clients (DP-FedAvg's fixed denominator).
    sample_rate:
        q, the per-round sampling probability (or fraction).
    sampled:
        Ids of the clients sampled this round (before dropout).
    dropped:
        Ids of sampled clients that fail to upload (after the client-side stages ran).
    num_params:
        P, the length of a flat update.
    """

    round: int
    seed: int
    num_clients: int
    expected_clients: float
    sample_rate: float
    sampled: tuple[int, ...]
    dropped: tuple[int, ...]
    num_params: int


@dataclass(frozen=True)
class UpdateBatch:
    """The updates of a set of clients as they move through the pipeline.

    Attributes
    ----------
    client_ids:
        One id per row.
    deltas:
        ``[K, P]`` float64: each client's update *as the simulation knows it in plain text*
        (after clipping/noise). Mechanisms that hide updates keep this for the "what the server
        sees" comparison; the server-side code of such a mechanism must compute the sum from
        its ``payload`` only.
    weights:
        ``[K]`` aggregation weights (example counts for weighted FedAvg, ones otherwise).
    payload:
        Per-mechanism data keyed by mechanism name (masked vectors, ciphertexts, proofs, ...).
    bytes_up:
        ``[K]`` bytes each client uploads; starts at 4·P (float32) and is replaced by
        mechanisms that change the wire format.
    """

    client_ids: tuple[int, ...]
    deltas: np.ndarray
    weights: np.ndarray
    payload: Mapping[str, Any] = field(default_factory=dict)
    bytes_up: np.ndarray | None = None

    def __post_init__(self):
        if self.bytes_up is None:
            object.__setattr__(self, "bytes_up",
                               np.full(len(self.client_ids), 4 * self.deltas.shape[1], np.int64))

    def replace(self, **changes) -> "UpdateBatch":
        return dataclasses.replace(self, **changes)

    def with_payload(self, name: str, value: Any) -> "UpdateBatch":
        return self.replace(payload={**self.payload, name: value})

    def select(self, keep: np.ndarray) -> "UpdateBatch":
        """Rows where ``keep`` (bool ``[K]``) is true. Payload entries that are per-client
        sequences of length K are filtered too; other payload entries are kept as they are."""
        keep = np.asarray(keep, bool)
        ids = tuple(c for c, k in zip(self.client_ids, keep) if k)
        payload = {}
        for name, value in self.payload.items():
            if isinstance(value, PerClient):
                payload[name] = value.select(keep)
            else:
                payload[name] = value
        return UpdateBatch(ids, self.deltas[keep], self.weights[keep], payload, self.bytes_up[keep])


@dataclass(frozen=True)
class PerClient:
    """A payload entry with one item per row of the batch (filtered by ``UpdateBatch.select``)."""

    items: tuple

    def select(self, keep: np.ndarray) -> "PerClient":
        return PerClient(tuple(it for it, k in zip(self.items, keep) if k))


@dataclass(frozen=True)
class Aggregate:
    """A linear aggregate as the server holds it: ``total / denominator`` is the update applied.

    Non-linear aggregators (median, Krum) return ``Aggregate(total=result, denominator=1)``.
    """

    total: np.ndarray
    denominator: float

    @property
    def mean(self) -> np.ndarray:
        return self.total / self.denominator

    def replace(self, **changes) -> "Aggregate":
        return dataclasses.replace(self, **changes)


class Mechanism:
    """Base class: every hook is optional and defaults to passing its input through.

    A mechanism object holds only its (frozen) settings. Anything that changes from round to
    round — an adaptive clip bound, participation counts, an accountant's running PLD, proofs
    awaiting the aggregate check — is an explicit **state** value: :meth:`initial_state` makes
    the first one, every hook takes the current state and returns the next (TFF's
    ``DPAggregatorState`` pattern). The engine snapshots the states with the weights at
    ``select``, so a failed phase rolls the whole round back.

    Subclasses set ``name`` (the key for payload and trace) and may set:

    - ``hides_updates = True`` if the server cannot read individual updates (secure aggregation,
      HE). Such a mechanism must implement :meth:`secure_sum`, and the pipeline then requires a
      linear aggregator (``Aggregator.linear``).
    - ``order``: where it sits in the pipeline (lower runs first on the client side). DP uses 10,
      ZKP 20, secure aggregation / HE 30.

    Hooks return typed :class:`~fedsim.reports.Report` values (or ``None`` for "nothing to say").
    """

    name: str = "mechanism"
    order: int = 50
    hides_updates: bool = False

    def initial_state(self) -> Any:
        """The state before round 1 (``None`` for a mechanism without state)."""
        return None

    def client(self, ctx: RoundContext, state: Any, batch: UpdateBatch):
        """Client side, for all sampled clients at once (clip, noise, prove, mask, encrypt).
        Returns ``(batch, state, report)``."""
        return batch, state, None

    def receive(self, ctx: RoundContext, state: Any, batch: UpdateBatch):
        """Server side, on what arrived, before summing (verify proofs, drop bad updates).
        Returns ``(batch, state, report)``."""
        return batch, state, None

    def secure_sum(self, ctx: RoundContext, state: Any, batch: UpdateBatch):
        """The weighted sum Σ w_k Δ_k, computed only from ``batch.payload`` (hides_updates only).
        Returns ``(total, report)``."""
        raise NotImplementedError

    def server(self, ctx: RoundContext, state: Any, agg: Aggregate, batch: UpdateBatch):
        """Server side, after summing (central noise, clip-bound adaptation, aggregate checks);
        ``batch`` is what was summed. Returns ``(aggregate, state, report)``."""
        return agg, state, None

    def end_round(self, ctx: RoundContext, state: Any, batch: UpdateBatch):
        """Once the round is complete (accounting). Returns ``(state, report)``."""
        return state, None

    def prepare(self, ctx: RoundContext) -> None:
        """The engine knows the next round's sampled clients (``ctx``, ``dropped`` empty) once
        a round ends: start any work that does not depend on the data, in the background
        ("precomputed while you read"). It must not change any result, only when it is made."""

    def wait_prepared(self, timeout: float | None = None) -> None:
        """Wait for :meth:`prepare`'s background work (benchmarks call this between rounds)."""

    def explain(self, ctx: RoundContext, batch: UpdateBatch, row: int):
        """What the "What the server sees" views draw for client ``row`` of ``batch`` (the
        protected batch of the last round): a :class:`~fedsim.reports.Report`, or ``None``."""
        return None


class MechanismDriver:
    """Drive one mechanism by hand (a notebook, a test), threading its state as the engine does.

    ``client``/``receive`` return ``(batch, report)``, ``server`` ``(aggregate, report)`` (with
    the batch last received when none is given), ``end_round`` the report; the current state
    is ``driver.state``. Other attributes are the mechanism's.
    """

    def __init__(self, mechanism: Mechanism):
        self.mechanism = mechanism
        self.state = mechanism.initial_state()
        self._last: UpdateBatch | None = None

    def __getattr__(self, name: str):
        return getattr(self.mechanism, name)

    def client(self, ctx: RoundContext, batch: UpdateBatch):
        out, self.state, rep = self.mechanism.client(ctx, self.state, batch)
        self._last = out
        return out, rep if rep is not None else {}

    def receive(self, ctx: RoundContext, batch: UpdateBatch):
        out, self.state, rep = self.mechanism.receive(ctx, self.state, batch)
        self._last = out
        return out, rep if rep is not None else {}

    def secure_sum(self, ctx: RoundContext, batch: UpdateBatch):
        return self.mechanism.secure_sum(ctx, self.state, batch)

    def server(self, ctx: RoundContext, agg: Aggregate, batch: UpdateBatch | None = None):
        batch = batch if batch is not None else self._last
        if batch is None:
            batch = UpdateBatch((), np.zeros((0, len(agg.total))), np.zeros(0))
        out, self.state, rep = self.mechanism.server(ctx, self.state, agg, batch)
        return out, rep if rep is not None else {}

    def end_round(self, ctx: RoundContext, batch: UpdateBatch):
        self.state, rep = self.mechanism.end_round(ctx, self.state, batch)
        return rep if rep is not None else {}

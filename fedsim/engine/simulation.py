"""The step-through federated simulation: ``Simulation(config).step()`` one phase at a time.

One round runs the article's cycle with the protection stages in between::

    select → broadcast → train → protect → upload → aggregate → update → evaluate

``Simulation`` is a thin stepping facade: the phases are functions in
:data:`fedsim.engine.phases.PHASE_TABLE` that turn one frozen :class:`~fedsim.engine.round.RoundState` into
the next, and the simulation only holds what survives a round (weights, server-optimizer state,
each mechanism's state) plus the history. ``step()`` runs the next phase and returns its
:class:`~fedsim.engine.results.PhaseRecord`; ``step_round()`` finishes the current round; ``run(n)``
plays n rounds. ``history`` is a tuple of immutable :class:`~fedsim.engine.results.RoundResult`;
``last`` holds the bulky arrays of the latest round (client updates, the aggregate) for the
"what does the server see" views.

Every random choice comes from a stream named after its purpose and round
(:mod:`fedsim.rng`), so the same configuration gives the same history, bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable, Mapping

import numpy as np

from fedsim.config import SimulationConfig
from fedsim.engine.federation import Federation, build_federation
from fedsim.errors import FedsimError, PhaseError
from fedsim.training.models import initial_weights
from fedsim.engine.phases import PHASE_TABLE, Env
from fedsim.privacy.base import UpdateBatch
from fedsim.engine.results import (PHASES, ClientTable, ExtraColumn, PhaseRecord, RoundResult, frozen,
                      metric_key)
from fedsim.engine.round import RoundPlan, RoundState, Snapshot


@lru_cache(maxsize=32)
def _initial_weights(spec, seed: int) -> tuple[np.ndarray, ...]:
    """:func:`~fedsim.training.models.initial_weights`, kept per (model, seed), read-only.

    Drawing them builds a Keras model (~20 ms, ~7 % of the server's CPU while a class opens
    the Training page at once: ``bench.load_bench``), on every new simulation and every Reset;
    a class that opened one link shares one model and seed. The values are the same arrays
    (``flatten`` copies them into the run's weights)."""
    out = tuple(initial_weights(spec, seed))
    for w in out:
        w.setflags(write=False)
    return out


@dataclass(frozen=True)
class LastRound:
    """Bulky arrays of the most recent round, for the app's detail views (not kept per round)."""

    round: int
    client_ids: tuple[int, ...]
    raw_updates: np.ndarray  # [K, P] local − global, before protection
    protected: UpdateBatch | None  # after the client-side stages (what left the clients)
    aggregate: np.ndarray | None  # the mean update the server applied
    global_before: np.ndarray
    global_after: np.ndarray | None
    state: RoundState | None = None  # the whole frozen round, for the detail views

    @property
    def local_weights(self) -> list[np.ndarray] | None:
        """``[K, ...]`` per tensor: the clients' local models (split from the trainer's flat
        rows on first use, off the hot path)."""
        res = None if self.state is None else self.state.train
        return None if res is None else res.weights

    @property
    def plain_mean(self) -> np.ndarray | None:
        """The plain weighted mean of the updates that went into the sum (those that arrived,
        if the round was aborted), as they left the client-side stages: what a correct secure
        sum must reproduce. ``None`` when there were none. Computed on demand (off the hot
        path)."""
        rs = self.state
        used = None if rs is None else (rs.arrived if rs.aborted else rs.accepted)
        if used is None or not len(used.client_ids):
            return None
        w = np.asarray(used.weights, np.float64)
        return w @ np.asarray(used.deltas, np.float64) / max(float(w.sum()), 1e-12)


class Simulation:
    """A federated simulation you can step through phase by phase.

    Parameters
    ----------
    config:
        A validated :class:`~fedsim.config.SimulationConfig`.

    Examples
    --------
    >>> sim = Simulation(SimulationConfig.from_dict({"rounds": 3}))   # doctest: +SKIP
    >>> sim.step().phase                                              # doctest: +SKIP
    'select'
    >>> sim.step_round().global_metrics["accuracy"]                   # doctest: +SKIP
    0.62
    """

    def __init__(self, config: SimulationConfig, *, federation: Federation | None = None):
        from fedsim.training.trainer import get_trainer

        self.config = config
        self.fed = federation or build_federation(config)
        dp = config.privacy.dp
        self.trainer = get_trainer(self.fed.spec, self.fed.data.task, config.training.optimizer,
                                   config.training.momentum, dp.mode == "dpsgd")
        self.shapes = self.trainer.shapes
        sizes = self.trainer.sizes
        offsets = np.cumsum([0, *sizes])
        self.layer_slices = [slice(int(a), int(b)) for a, b in zip(offsets[:-1], offsets[1:])]
        self.num_params = int(offsets[-1])
        #: this instance's phase table (a test may swap one entry to inject a fault)
        self.phases = dict(PHASE_TABLE)
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to round 0 with the seeded initial model; privacy state starts afresh."""
        from fedsim.engine.aggregators import build_aggregator
        from fedsim.weights import flatten
        from fedsim.privacy.pipeline import build_pipeline
        from fedsim.engine.server_opt import ServerOptState

        cfg = self.config
        self.pipeline = build_pipeline(cfg, layer_slices=self.layer_slices,
                                       client_sizes=self.fed.client_data.counts)
        self.aggregator = build_aggregator(cfg.aggregation)
        data = self.fed.data
        self.env = Env(cfg, self.fed, self.trainer, self.pipeline, self.aggregator,
                       tuple(self.shapes), self.num_params,
                       self.trainer.eval_tensors(data.x_test, data.y_test))
        self._committed = Snapshot(flatten(_initial_weights(self.fed.spec, cfg.seed)),
                                   ServerOptState(),
                                   tuple(m.initial_state() for m in self.pipeline.mechanisms))
        self._history: list[RoundResult] = []
        self._round: RoundState | None = None
        self.last: LastRound | None = None
        loss, metric = self.trainer.evaluate(self._committed.weights, *self.env.test_set)
        self.initial_metrics = frozen({"loss": loss, metric_key(self.fed.data.task): metric})

    @property
    def snapshot(self) -> Snapshot:
        """What survives between rounds: weights, server-optimizer and mechanism states."""
        return self._committed

    @property
    def weights(self) -> np.ndarray:
        """The flat global weights: after the ``update`` phase of the round in progress, the
        new ones; otherwise those of the last completed round."""
        if self._round is not None and self._round.weights is not None:
            return self._round.weights
        return self._committed.weights

    @property
    def opt_state(self):
        return self._committed.opt_state

    @property
    def mechanism_states(self) -> tuple:
        return self._committed.mech_states

    @property
    def history(self) -> tuple[RoundResult, ...]:
        return tuple(self._history)

    @property
    def round(self) -> int:
        """Rounds completed."""
        return len(self._history)

    @property
    def _phase(self) -> int:
        return 0 if self._round is None else len(self._round.trace)

    @property
    def next_phase(self) -> str:
        return PHASES[self._phase]

    @property
    def in_round(self) -> bool:
        """True between the first and last phase of a round."""
        return self._round is not None

    @property
    def done(self) -> bool:
        return self.round >= self.config.rounds and not self.in_round

    @property
    def current_trace(self) -> tuple[PhaseRecord, ...]:
        """Phases already run in the round in progress."""
        return () if self._round is None else self._round.trace

    @property
    def current_round(self) -> RoundState | None:
        """The frozen products of the round in progress (``None`` between rounds)."""
        return self._round

    def global_weights(self) -> list[np.ndarray]:
        return self._unflat(self.weights)

    def _unflat(self, vec: np.ndarray) -> list[np.ndarray]:
        from fedsim.weights import unflatten

        return unflatten(vec, self.shapes)

    def set_rounds(self, rounds: int) -> None:
        """Change the planned number of rounds, keeping the rounds already run."""
        self.config = SimulationConfig.from_dict({**self.config.to_dict(), "rounds": rounds})

    # ------------------------------------------------------------------ driving
    def abort_round(self) -> None:
        """Abandon the round in progress: weights, server-optimizer and every mechanism's
        state are those of its start (nothing a phase produced was ever committed)."""
        self._round = None

    def step(self, plan: RoundPlan | None = None) -> PhaseRecord:
        """Run the next phase of the current round (starting a new round if needed).

        ``plan``: the clients' own choices for a round this call starts (who drops out, who
        attacks how: :class:`~fedsim.engine.round.RoundPlan`); ignored mid-round.

        Atomic per round: if a phase raises, the round is abandoned (:meth:`abort_round`) and
        the error propagates, naming the round and the phase: fedsim's own errors get
        ``.round``/``.phase`` attributes and a note; anything else is wrapped in
        :class:`~fedsim.errors.PhaseError` (FedJAX's ``ForEachClientError`` idea).
        """
        rs = self._round
        if rs is None:
            c = self._committed
            rs = RoundState(round=self.round + 1, start=c, mech_states=c.mech_states,
                            plan=plan)
        phase = PHASES[len(rs.trace)]
        t0 = time.perf_counter()
        try:
            rs, report = self.phases[phase](self.env, rs)
        except (FedsimError, KeyboardInterrupt) as exc:
            self.abort_round()
            if isinstance(exc, FedsimError) and getattr(exc, "phase", None) is None:
                exc.round, exc.phase = rs.round, phase
                if hasattr(exc, "add_note"):
                    exc.add_note(f"(in round {rs.round}, phase {phase!r})")
            raise
        except Exception as exc:
            self.abort_round()
            raise PhaseError(rs.round, phase, exc) from exc
        rec = PhaseRecord(rs.round, phase, (time.perf_counter() - t0) * 1e3, report)
        rs = replace(rs, trace=(*rs.trace, rec))
        if len(rs.trace) == len(PHASES):
            self._finish_round(rs)
        else:
            self._round = rs
        return rec

    def step_round(self, plan: RoundPlan | None = None) -> RoundResult:
        """Finish the round in progress (or run a whole new one, with the clients' ``plan``)
        and return its result."""
        self.step(plan) if plan is not None else self.step()
        while self._round is not None:
            self.step()
        return self._history[-1]

    def run(self, rounds: int | None = None,
            progress: Callable[[RoundResult], None] | None = None) -> tuple[RoundResult, ...]:
        """Play ``rounds`` rounds (default: up to ``config.rounds``); returns the new results."""
        n = self.config.rounds - self.round if rounds is None else rounds
        out = []
        for _ in range(max(0, n)):
            out.append(self.step_round())
            if progress:
                progress(out[-1])
        return tuple(out)

    # ------------------------------------------------------------------ commit
    def _finish_round(self, rs: RoundState) -> None:
        """Build the round's immutable record, then commit (the only place state changes)."""
        ids = rs.sampled
        dropped, rejected = set(rs.dropped), set(rs.rejected)
        bad = self.config.clients.malicious.ids
        if rs.plan is not None and rs.plan.attacks:
            bad = tuple(sorted(set(bad) | set(rs.plan.attackers)))
        clients = client_table(rs, bad)
        privacy: dict = {}
        for name, rep in rs.privacy.items():
            items = rep.items()
            privacy.update(items if name == "dp" else {f"{name}.{k}": v for k, v in items})
        result = RoundResult(
            round=rs.round, sampled=tuple(ids), dropped=tuple(sorted(dropped)),
            rejected=tuple(sorted(rejected)), clients=clients,
            global_metrics=rs.global_metrics, bytes_down=rs.bytes_down, bytes_up=rs.bytes_up,
            privacy=frozen(privacy), trace=rs.trace, aborted=rs.aborted)
        self._history.append(result)
        self.last = LastRound(rs.round, tuple(ids), rs.raw, rs.protected, rs.delta,
                              rs.start.weights, rs.weights, rs)
        self._committed = Snapshot(rs.weights, rs.opt_state, rs.mech_states)
        self._round = None
        if rs.round < self.config.rounds and self.pipeline.prepares:
            # The next round's clients are known now: mechanisms may make what does not depend
            # on the data while the result is read (range proofs). Results do not change.
            self.pipeline.prepare(self.env.next_context(rs.round + 1))

    def wait_prepared(self, timeout: float | None = None) -> None:
        """Wait until the mechanisms' work for the next round is done (benchmarks)."""
        self.pipeline.wait_prepared(timeout)

    # ------------------------------------------------------------------ explain
    def explain(self, mechanism: str, row: int = 0):
        """What ``mechanism`` shows of client ``row`` of the last round (its ``explain`` hook):
        the views of "What the server sees" read this, never the payload."""
        m = self.pipeline.get(mechanism)
        if m is None or self.last is None or self.last.protected is None:
            return None
        rs = self.last.state
        return m.explain(self.env.context(rs), self.last.protected, row)


def client_table(rs: RoundState, malicious: tuple[int, ...] = ()) -> ClientTable:
    """The sampled clients of a finished round as columns (no per-client Python objects).

    Every column comes from an array the phases already made: the norms are the ones the
    ``train`` phase computed (``rs.norms``), the losses are the trainer's own arrays (copied,
    in their own dtype, so a record reads back exactly the floats it always held).
    """
    ids = rs.sampled
    k = len(ids)
    idx = np.fromiter(ids, np.int64, count=k)
    dropped = np.isin(idx, np.array(rs.dropped, np.int64))
    res = rs.train
    if res is None:  # nobody was sampled
        empty = np.zeros(k)
        loss, vloss, vmetric, norms = np.zeros((k, 0)), empty, empty, empty
    else:
        loss, vloss, vmetric, norms = res.epoch_loss, res.val_loss, res.val_metric, rs.norms
    prot = rs.protected
    if prot is None:
        up = np.zeros(k, np.int64)
    elif tuple(prot.client_ids) == ids:  # the usual case: one row per sampled client
        up = np.asarray(prot.bytes_up, np.int64)
    else:
        by_id = dict(zip(prot.client_ids, prot.bytes_up.tolist()))
        up = np.array([by_id.get(c, 0) for c in ids], np.int64)
    up = np.where(dropped, 0, up)  # a dropped client sent nothing
    extra = _extra_columns(rs.trace, ids)
    # Last, as the records always had it: mechanisms' own "rejected" keys are overwritten.
    extra["rejected"] = ExtraColumn(np.isin(idx, np.array(rs.rejected, np.int64)))
    # Client ids are below MAX_CLIENTS, so int32 holds them (4 bytes a client and round).
    return ClientTable(ids=idx.astype(np.int32), num_examples=rs.counts if k else
                       np.zeros(0, np.int32), num_val=rs.vcounts if k else np.zeros(0, np.int32),
                       dropped=dropped,
                       malicious=np.isin(idx, np.array(malicious, np.int64)),
                       train_loss=loss, val_loss=vloss, val_metric=vmetric, update_norm=norms,
                       bytes_up=up, extra=extra)


def _extra_columns(trace, ids) -> dict[str, ExtraColumn]:
    """Per-client values that mechanisms report (``clipped``, ``verified``, ...), by key.

    A mechanism's report with ``per_client = {"clipped": [..one per sampled client..]}`` or
    ``{"verified": {"3": true}}`` (only some clients) ends up in each
    :attr:`~fedsim.engine.results.ClientRecord.extra`. A key reported twice keeps its first place and
    the later values, as a per-client ``dict`` would.
    """
    k = len(ids)
    cols: dict[str, tuple[list, np.ndarray | None]] = {}
    row_of: dict[int, int] | None = None
    for rec in trace:
        for mm in rec.measurements.values():
            if not isinstance(mm, Mapping) or "per_client" not in mm:
                continue
            for key, vals in mm["per_client"].items():
                if isinstance(vals, Mapping):
                    if row_of is None:
                        row_of = {c: i for i, c in enumerate(ids)}
                    values, present = cols.get(key) or ([None] * k, np.zeros(k, bool))
                    for cid, v in vals.items():
                        row = row_of.get(int(cid))
                        if row is not None:
                            values[row] = v
                            if present is not None:
                                present[row] = True
                    cols[key] = (values, present)
                elif len(vals) == k:
                    cols[key] = (list(vals), None)
    return {key: ExtraColumn(tuple(values), present) for key, (values, present) in cols.items()}

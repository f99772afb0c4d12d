"""The step-through federated simulation: ``Simulation(config).step()`` one phase at a time.

One round runs the article's cycle with the protection stages in between::

    select → broadcast → train → protect → upload → aggregate → update → evaluate

``step()`` runs the next phase and returns its :class:`~fedsim.results.PhaseRecord`;
``step_round()`` finishes the current round; ``run(n)`` plays n rounds. ``history`` is a tuple of
immutable :class:`~fedsim.results.RoundResult`; ``last`` holds the bulky arrays of the latest
round (client updates, the aggregate) for the "what does the server see" views.

Every random choice comes from a stream named after its purpose and round
(:mod:`fedsim.rng`), so the same configuration gives the same history, bit for bit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .batching import ClientData
from .config import SimulationConfig
from .datasets import Dataset, label_strata, load_dataset
from .errors import ProtocolError
from .models import ModelSpec, initial_weights
from .partition import Partition, client_arrays, partition_pool
from .privacy.base import Aggregate, RoundContext, UpdateBatch
from .results import PHASES, ClientRecord, PhaseRecord, RoundResult, frozen
from .rng import generator


@dataclass(frozen=True)
class Federation:
    """The static part of a simulation: data, split, model spec (shared by baselines)."""

    config: SimulationConfig
    data: Dataset
    partition: Partition
    spec: ModelSpec
    client_data: ClientData

    @property
    def num_labels(self) -> int:
        return self.data.num_classes if self.data.task == "classification" \
            else self.config.partition.label_bins

    def strata(self) -> np.ndarray:
        return label_strata(self.data.y_train, self.data.task, self.config.partition.label_bins)

    def label_counts(self) -> np.ndarray:
        return self.partition.label_counts(self.strata(), self.num_labels)


def build_federation(cfg: SimulationConfig) -> Federation:
    """Load the data, split it among clients and lay it out for vectorized training.

    Imports no TensorFlow: the app calls it to check (and draw) a split instantly; a
    :class:`~fedsim.errors.PartitionError` here means the split is impossible.
    """
    data = load_dataset(cfg.dataset, cfg.seed)
    strata = label_strata(data.y_train, data.task, cfg.partition.label_bins)
    part = partition_pool(strata, data.num_features, cfg.clients.num_clients, cfg.partition,
                          cfg.dataset.val_fraction, cfg.seed)
    xs, ys, xvs, yvs = [], [], [], []
    for k, (idx, val) in enumerate(zip(part.indices, part.val_mask)):
        xk = client_arrays(data.x_train, part, k, cfg.seed)
        yk = data.y_train[idx]
        xs.append(xk[~val]), ys.append(yk[~val]), xvs.append(xk[val]), yvs.append(yk[val])
    spec = ModelSpec(cfg.model_name, data.num_features,
                     data.num_classes if data.task == "classification" else 1,
                     cfg.model.hidden, data.image_shape)
    return Federation(cfg, data, part, spec, ClientData.build(xs, ys, xvs, yvs))


@dataclass(frozen=True)
class LastRound:
    """Bulky arrays of the most recent round, for the app's detail views (not kept per round)."""

    round: int
    client_ids: tuple[int, ...]
    raw_updates: np.ndarray  # [K, P] local − global, before protection
    protected: UpdateBatch | None  # after the client-side stages (what left the clients)
    aggregate: np.ndarray | None  # the mean update the server applied
    local_weights: list[np.ndarray] | None  # [K, ...] per tensor: the clients' local models
    global_before: np.ndarray
    global_after: np.ndarray | None


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
        from .client import get_trainer

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
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Back to round 0 with the seeded initial model; privacy state starts afresh."""
        from .aggregators import build_aggregator
        from .client import flatten
        from .privacy.pipeline import build_pipeline
        from .server_opt import ServerOptState

        cfg = self.config
        self.pipeline = build_pipeline(cfg, layer_slices=self.layer_slices,
                                       client_sizes=self.fed.client_data.counts)
        self.aggregator = build_aggregator(cfg.aggregation)
        self.weights = flatten(initial_weights(self.fed.spec, cfg.seed))
        self.opt_state = ServerOptState()
        self._history: list[RoundResult] = []
        self._phase = 0
        self._work: dict = {}
        self.last: LastRound | None = None
        loss, metric = self.trainer.evaluate(self._unflat(self.weights), self.fed.data.x_test,
                                             self.fed.data.y_test)
        self.initial_metrics = frozen(self._global_metrics(loss, metric))

    @property
    def history(self) -> tuple[RoundResult, ...]:
        return tuple(self._history)

    @property
    def round(self) -> int:
        """Rounds completed."""
        return len(self._history)

    @property
    def next_phase(self) -> str:
        return PHASES[self._phase]

    @property
    def in_round(self) -> bool:
        """True between the first and last phase of a round."""
        return self._phase > 0

    @property
    def done(self) -> bool:
        return self.round >= self.config.rounds and not self.in_round

    @property
    def current_trace(self) -> tuple[PhaseRecord, ...]:
        """Phases already run in the round in progress."""
        return tuple(self._work.get("trace", ()))

    def global_weights(self) -> list[np.ndarray]:
        return self._unflat(self.weights)

    def _unflat(self, vec: np.ndarray) -> list[np.ndarray]:
        from .client import unflatten

        return unflatten(vec, self.shapes)

    def _global_metrics(self, loss: float, metric: float) -> dict:
        key = "accuracy" if self.fed.data.task == "classification" else "mse"
        return {"loss": loss, key: metric}

    def set_rounds(self, rounds: int) -> None:
        """Change the planned number of rounds, keeping the rounds already run."""
        self.config = SimulationConfig.from_dict({**self.config.to_dict(), "rounds": rounds})

    # ------------------------------------------------------------------ driving
    def abort_round(self) -> None:
        """Abandon the round in progress: the model and server state go back to its start."""
        if self._phase and "start" in self._work:
            self.weights, self.opt_state = self._work["start"]
        self._phase, self._work = 0, {}

    def step(self) -> PhaseRecord:
        """Run the next phase of the current round (starting a new round if needed).

        Atomic per round: if a phase raises, the round is abandoned (:meth:`abort_round`) and
        the error propagates, so the simulation is never left half-stepped.
        """
        phase = PHASES[self._phase]
        if phase == "select":
            self._work = {"round": self.round + 1, "trace": [],
                          "start": (self.weights.copy(), self.opt_state)}
        t0 = time.perf_counter()
        try:
            measurements = getattr(self, f"_phase_{phase}")(self._work)
        except BaseException:
            self.abort_round()
            raise
        rec = PhaseRecord(self._work["round"], phase, (time.perf_counter() - t0) * 1e3,
                          frozen(measurements))
        self._work["trace"].append(rec)
        self._phase = (self._phase + 1) % len(PHASES)
        if self._phase == 0:
            self._finish_round(self._work)
        return rec

    def step_round(self) -> RoundResult:
        """Finish the round in progress (or run a whole new one) and return its result."""
        self.step()
        while self._phase != 0:
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

    # ------------------------------------------------------------------ phases
    def _ctx(self, w: dict) -> RoundContext:
        cfg = self.config
        n = cfg.clients.num_clients
        q = cfg.clients.fraction
        return RoundContext(round=w["round"], seed=cfg.seed, num_clients=n,
                            expected_clients=q * n, sample_rate=q,
                            sampled=tuple(w["sampled"]), dropped=tuple(w["dropped"]),
                            num_params=self.num_params)

    def _phase_select(self, w: dict) -> dict:
        cfg = self.config
        n, q, r = cfg.clients.num_clients, cfg.clients.fraction, w["round"]
        rng = generator(cfg.seed, "sample", r)
        if cfg.privacy.dp.mode == "central":
            # Poisson sampling: each client independently with probability q, as the
            # accountant's amplification-by-sampling analysis assumes.
            sampled = np.flatnonzero(rng.random(n) < q)
            how = "poisson"
        else:
            m = max(1, int(round(q * n)))
            sampled = np.sort(rng.choice(n, size=m, replace=False))
            how = "uniform"
        drop_rng = generator(cfg.seed, "dropout", r)
        dropped = sampled[drop_rng.random(len(sampled)) < cfg.clients.dropout]
        w["sampled"], w["dropped"] = [int(c) for c in sampled], [int(c) for c in dropped]
        return {"sampling": how, "sampled": w["sampled"], "num_sampled": len(sampled),
                "will_drop": w["dropped"], "expected": q * n}

    def _phase_broadcast(self, w: dict) -> dict:
        k = len(w["sampled"])
        w["bytes_down"] = 4 * self.num_params * k
        return {"bytes_per_client": 4 * self.num_params, "bytes_down": w["bytes_down"],
                "num_params": self.num_params}

    def _phase_train(self, w: dict) -> dict:
        from .client import flatten_stacked

        cfg, tcfg = self.config, self.config.training
        ids = np.array(w["sampled"], int)
        if len(ids) == 0:
            w["raw"] = np.zeros((0, self.num_params))
            w["train"] = None
            return {"clients": 0}
        data = self.fed.client_data.take(ids)
        dp = cfg.privacy.dp
        dpm = self.pipeline.get("dp")
        res = self.trainer.train(
            self.global_weights(), data, epochs=tcfg.local_epochs, batch_size=tcfg.batch_size,
            lr=tcfg.lr, rng=generator(cfg.seed, "batches", w["round"]), prox_mu=tcfg.prox_mu,
            dp_clip=dp.clip if dp.mode == "dpsgd" else 0.0,
            dp_noise=float(getattr(dpm, "noise_multiplier", dp.noise_multiplier))
            if dp.mode == "dpsgd" else 0.0,
            seed=cfg.seed, round_=w["round"])
        raw = flatten_stacked(res.weights) - self.weights[None, :]
        raw = self._attack(raw, ids, w["round"])
        w["train"], w["raw"], w["counts"] = res, raw, data.counts
        w["vcounts"] = data.vcounts
        norms = np.linalg.norm(raw, axis=1)
        return {"clients": len(ids), "mean_train_loss": float(res.epoch_loss[:, -1].mean()),
                "update_norms": norms.tolist(), "steps_per_epoch":
                    (-(-data.counts // tcfg.batch_size)).tolist()}

    def _attack(self, raw: np.ndarray, ids: np.ndarray, r: int) -> np.ndarray:
        """Malicious clients tamper with their update after honest training."""
        mal = self.config.clients.malicious
        if not mal.ids:
            return raw
        raw = raw.copy()
        for row, cid in enumerate(ids):
            if cid in mal.ids:
                if mal.attack == "scale":
                    raw[row] *= mal.factor
                else:
                    rng = generator(self.config.seed, "attack", r, int(cid))
                    norm = np.linalg.norm(raw[row])
                    raw[row] = rng.normal(size=raw.shape[1]) * abs(mal.factor) * norm / np.sqrt(
                        raw.shape[1])
        return raw

    def _phase_protect(self, w: dict) -> dict:
        ids = tuple(w["sampled"])
        weights = (w["counts"].astype(np.float64) if self.config.aggregation.weighted
                   else np.ones(len(ids))) if ids else np.zeros(0)
        batch = UpdateBatch(ids, w["raw"], weights)
        ctx = self._ctx(w)
        meas = {}
        for m in self.pipeline.mechanisms:
            if not ids:
                break
            batch, mm = m.client(ctx, batch)
            meas[m.name] = mm
        w["batch"] = batch
        meas["mechanisms"] = list(self.pipeline.names)
        return meas

    def _phase_upload(self, w: dict) -> dict:
        batch: UpdateBatch = w["batch"]
        dropped = set(w["dropped"])
        keep = np.array([c not in dropped for c in batch.client_ids], bool)
        w["arrived"] = batch.select(keep) if len(keep) else batch
        w["bytes_up"] = int(w["arrived"].bytes_up.sum())
        return {"arrived": list(w["arrived"].client_ids), "dropped": sorted(dropped),
                "bytes_up": w["bytes_up"],
                "bytes_per_client": dict(zip(map(str, batch.client_ids),
                                             batch.bytes_up.tolist()))}

    def _phase_aggregate(self, w: dict) -> dict:
        ctx = self._ctx(w)
        batch: UpdateBatch = w["arrived"]
        meas: dict = {}
        for m in reversed(self.pipeline.mechanisms):
            batch, mm = m.receive(ctx, batch)
            if mm:
                meas[m.name] = mm
        accepted = set(batch.client_ids)
        w["rejected"] = [c for c in w["arrived"].client_ids if c not in accepted]
        hider = self.pipeline.hider
        if len(batch.client_ids) == 0:
            agg = Aggregate(np.zeros(self.num_params), 1.0)
            meas["aggregator"] = {"note": "no update arrived"}
        elif hider is not None:
            try:
                total, mm = hider.secure_sum(ctx, batch)
            except ProtocolError as err:
                # Too few survivors to reconstruct the masks: a real server abandons the
                # round rather than apply a wrong sum. The global model stays as it is.
                w["aborted"] = str(err)
                total, mm = np.zeros(self.num_params), {"aborted": str(err)}
            meas[hider.name + "_sum"] = mm
            agg = Aggregate(np.asarray(total, np.float64), max(float(batch.weights.sum()), 1e-12))
        else:
            agg, mm = self.aggregator(batch.deltas, batch.weights)
            meas["aggregator"] = {"name": self.aggregator.name, **mm}
        w["accepted"], w["agg"] = batch, agg
        meas["num_aggregated"] = len(batch.client_ids)
        meas["rejected"] = w["rejected"]
        return meas

    def _phase_update(self, w: dict) -> dict:
        from .server_opt import server_update

        ctx = self._ctx(w)
        agg: Aggregate = w["agg"]
        meas: dict = {}
        if w.get("aborted"):
            w["delta"], w["before"] = np.zeros(self.num_params), self.weights
            return {"aborted": w["aborted"], "aggregate_norm": 0.0, "step_norm": 0.0}
        for m in reversed(self.pipeline.mechanisms):
            agg, mm = m.server(ctx, agg)
            if mm:
                meas[m.name] = mm
        before = self.weights
        if len(w["accepted"].client_ids) == 0 and self.pipeline.get("dp") is None:
            delta = np.zeros(self.num_params)  # nothing arrived: the model stays as it is
        else:
            delta = agg.mean
        self.weights, self.opt_state = server_update(self.config.aggregation, self.weights,
                                                     delta, self.opt_state)
        w["delta"], w["before"] = delta, before
        meas.update({"aggregate_norm": float(np.linalg.norm(delta)),
                     "server_optimizer": self.config.aggregation.server_optimizer,
                     "step_norm": float(np.linalg.norm(self.weights - before))})
        return meas

    def _phase_evaluate(self, w: dict) -> dict:
        loss, metric = self.trainer.evaluate(self.global_weights(), self.fed.data.x_test,
                                             self.fed.data.y_test)
        w["global"] = self._global_metrics(loss, metric)
        meas: dict = dict(w["global"])
        priv = {}
        for m in self.pipeline.mechanisms:
            mm = m.end_round(self._ctx(w), w["accepted"])
            if mm:
                priv[m.name] = mm
        w["privacy"] = priv
        if priv:
            meas["privacy"] = priv
        return meas

    def _finish_round(self, w: dict) -> None:
        res = w["train"]
        ids = w["sampled"]
        dropped, rejected = set(w["dropped"]), set(w["rejected"])
        mal = set(self.config.clients.malicious.ids)
        per_client = _per_client_extras(w["trace"], ids)
        bytes_up = dict(zip(w["batch"].client_ids, w["batch"].bytes_up.tolist()))
        clients = []
        for row, cid in enumerate(ids):
            extra = dict(per_client.get(cid, {}))
            extra["rejected"] = cid in rejected
            clients.append(ClientRecord(
                id=cid, num_examples=int(w["counts"][row]), num_val=int(w["vcounts"][row]),
                dropped=cid in dropped, malicious=cid in mal,
                train_loss=tuple(float(v) for v in res.epoch_loss[row]),
                val_loss=float(res.val_loss[row]), val_metric=float(res.val_metric[row]),
                update_norm=float(np.linalg.norm(w["raw"][row])),
                bytes_up=0 if cid in dropped else int(bytes_up.get(cid, 0)),
                extra=frozen(extra)))
        privacy = {}
        for name, mm in w["privacy"].items():
            privacy.update(mm if name == "dp" else {f"{name}.{k}": v for k, v in mm.items()})
        result = RoundResult(
            round=w["round"], sampled=tuple(ids), dropped=tuple(sorted(dropped)),
            rejected=tuple(sorted(rejected)), clients=tuple(clients),
            global_metrics=frozen(w["global"]), bytes_down=w["bytes_down"],
            bytes_up=w["bytes_up"], privacy=frozen(privacy), trace=tuple(w["trace"]),
            aborted=w.get("aborted", ""))
        self._history.append(result)
        self.last = LastRound(w["round"], tuple(ids), w["raw"], w["batch"], w["delta"],
                              res.weights if res is not None else None, w["before"],
                              self.weights.copy())
        self._work = {}


def _per_client_extras(trace: list[PhaseRecord], ids: list[int]) -> dict[int, dict]:
    """Collect per-client lists that mechanisms report (``clipped``, ``verified``, ...).

    A mechanism's measurement ``{"per_client": {"clipped": [..one per sampled client..]}}`` or
    ``{"per_client": {"verified": {"3": true}}}`` ends up on each :class:`ClientRecord`.
    """
    out: dict[int, dict] = {c: {} for c in ids}
    for rec in trace:
        for mm in rec.measurements.values():
            if not isinstance(mm, dict) or "per_client" not in mm:
                continue
            for key, vals in mm["per_client"].items():
                if isinstance(vals, dict):
                    for cid, v in vals.items():
                        if int(cid) in out:
                            out[int(cid)][key] = v
                elif len(vals) == len(ids):
                    for cid, v in zip(ids, vals):
                        out[cid][key] = v
    return out


"""The eight phases of a round, each a function ``(env, round_state) -> (round_state, report)``.

::

    select → broadcast → train → protect → upload → aggregate → update → evaluate

A phase reads what earlier phases left in the :class:`~fedsim.engine.round.RoundState` and returns a
new one; it never changes the simulation, the mechanisms or the environment, so a phase that
raises leaves nothing behind (the split FedJAX makes between ``apply`` and the training loop).
:data:`PHASE_TABLE` is the one dispatch table; :class:`~fedsim.engine.simulation.Simulation` steps it.

The privacy pipeline's hooks are run in one place, :func:`run_hooks`: client-side hooks in
pipeline order, server-side hooks in reverse (an onion, like TFF's nested aggregators).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:  # annotations only: the engine's parts, without importing TensorFlow here
    from fedsim.config import SimulationConfig
    from fedsim.engine.aggregators import Aggregator
    from fedsim.engine.federation import Federation
    from fedsim.privacy.pipeline import Pipeline
    from fedsim.training.trainer import VectorizedTrainer

from fedsim.engine.poisoning import attack_success, poison_client_data, tamper_updates
from fedsim.errors import DivergedError, ProtocolError
from fedsim.privacy.base import Aggregate, RoundContext, UpdateBatch
from fedsim.privacy.crypto_reports import AbortedSumReport
from fedsim.engine.results import PHASES, metric_key
from fedsim.rng import generator
from fedsim.weights import unflatten
from fedsim.engine.round import (AggregateReport, BroadcastReport, ClientValues, EvaluateReport, ProtectReport,
                    RoundState, SelectReport, TrainReport, UpdateReport, UploadReport)


@dataclass(frozen=True)
class Env:
    """What stays fixed while a simulation runs: its configuration and the built parts."""

    config: SimulationConfig
    fed: Federation
    trainer: VectorizedTrainer
    pipeline: Pipeline
    aggregator: Aggregator
    shapes: tuple
    num_params: int
    #: the server's test set (x, y) as tensors, made once per simulation rather than every
    #: round (it is the same set each round; a per-simulation value, never a process cache)
    test_set: tuple

    def unflat(self, vec: np.ndarray) -> list[np.ndarray]:
        return unflatten(vec, list(self.shapes))

    def next_context(self, r: int) -> RoundContext:
        """Round ``r``'s context as known before it starts: its sampled clients, no dropouts."""
        cfg = self.config
        n, q = cfg.clients.num_clients, cfg.clients.fraction
        return RoundContext(round=r, seed=cfg.seed, num_clients=n, expected_clients=q * n,
                            sample_rate=q, sampled=tuple(sample(cfg, r)[0].tolist()), dropped=(),
                            num_params=self.num_params)

    def context(self, rs: RoundState) -> RoundContext:
        cfg = self.config
        n, q = cfg.clients.num_clients, cfg.clients.fraction
        return RoundContext(round=rs.round, seed=cfg.seed, num_clients=n, expected_clients=q * n,
                            sample_rate=q, sampled=rs.sampled, dropped=rs.dropped,
                            num_params=self.num_params)


def run_hooks(env: Env, rs: RoundState, hook: str, value: Any, *extra: Any,
              stop_if_empty: bool = False) -> tuple[Any, tuple, dict]:
    """Run ``hook`` of every mechanism: client side (``client``) in pipeline order, server
    side (``receive``, ``server``) in reverse. Returns (value, new states, reports by name)."""
    ctx = env.context(rs)
    mechs = env.pipeline.mechanisms
    order = range(len(mechs)) if hook == "client" else reversed(range(len(mechs)))
    states = list(rs.mech_states)
    reports: dict[str, Any] = {}
    for i in order:
        if stop_if_empty and not len(getattr(value, "client_ids", (1,))):
            break
        value, states[i], rep = getattr(mechs[i], hook)(ctx, states[i], value, *extra)
        if rep:
            reports[mechs[i].name] = rep
    return value, tuple(states), reports


def _finite_or_raise(rs: RoundState, phase: str, what: str, *arrays) -> None:
    # One sum per array: any NaN or ±inf makes the sum non-finite (inf − inf is NaN), and
    # a sum that overflows means values near 1e308, which is divergence too.
    for a in arrays:
        if a is not None and not np.isfinite(np.sum(a, dtype=np.float64)):
            raise DivergedError(rs.round, phase, what)


# --------------------------------------------------------------------------- phases
def sample(cfg, r: int) -> tuple[np.ndarray, str]:
    """The clients round ``r`` samples (sorted ids) and how: a pure function of the
    configuration and the round, so the engine knows the next round's clients in advance."""
    n, q = cfg.clients.num_clients, cfg.clients.fraction
    m = max(1, int(round(q * n)))
    if cfg.privacy.dp.mode == "central":
        # Poisson sampling: each client independently with probability q, as the
        # accountant's amplification-by-sampling analysis assumes.
        g = generator(cfg.seed, "sample", r)
        return np.flatnonzero(g.random(n) < q), "poisson"
    if m == n:  # everyone takes part: the sorted draw would be 0..n-1, so nothing is drawn
        return np.arange(n), "uniform"
    g = generator(cfg.seed, "sample", r)
    return np.sort(g.choice(n, size=m, replace=False)), "uniform"


def select(env: Env, rs: RoundState):
    cfg = env.config
    n, q, r = cfg.clients.num_clients, cfg.clients.fraction, rs.round
    sampled, how = sample(cfg, r)
    if cfg.clients.dropout > 0:
        drop = generator(cfg.seed, "dropout", r)
        dropped = sampled[drop.random(len(sampled)) < cfg.clients.dropout]
    else:  # nobody can drop: the stream is not drawn from (streams are independent by name)
        dropped = sampled[:0]
    if rs.plan is not None and rs.plan.drop:  # clients that chose to drop out this round
        dropped = sampled[np.isin(sampled, np.array(rs.plan.drop, np.int64))
                          | np.isin(sampled, dropped)]
    ids = tuple(sampled.tolist())  # Python ints, converted in one call (100,000 clients)
    gone = tuple(dropped.tolist())
    return replace(rs, sampled=ids, dropped=gone), SelectReport(
        sampling=how, sampled=ids, num_sampled=len(ids), will_drop=gone, expected=q * n)


def broadcast(env: Env, rs: RoundState):
    per = 4 * env.num_params  # float32 weights
    down = per * len(rs.sampled)
    return replace(rs, bytes_down=down), BroadcastReport(bytes_per_client=per, bytes_down=down,
                                                         num_params=env.num_params)


def train(env: Env, rs: RoundState):
    cfg, tcfg = env.config, env.config.training
    ids = np.array(rs.sampled, int)
    if len(ids) == 0:
        return replace(rs, raw=np.zeros((0, env.num_params)), counts=np.zeros(0, np.int32),
                       vcounts=np.zeros(0, np.int32)), TrainReport(clients=0)
    data = env.fed.client_data.take(ids)
    mal = cfg.clients.malicious
    data, _ = poison_client_data(data, ids, mal, env.fed.data, cfg.seed, rs.round)
    if rs.plan is not None and rs.plan.data:
        data = own_rows(data, ids, rs.plan.data)
    extra = rs.plan.attacks if rs.plan is not None else ()
    for group in extra:  # clients' own attacks (a live class): each group like the config's
        data, _ = poison_client_data(data, ids, group, env.fed.data, cfg.seed, rs.round)
    dpm = env.pipeline.get("dp")
    dpsgd = cfg.privacy.dp.mode == "dpsgd"
    res = env.trainer.train(
        rs.start.weights, data, epochs=tcfg.local_epochs,
        batch_size=tcfg.batch_size, lr=tcfg.lr, rng=generator(cfg.seed, "batches", rs.round),
        prox_mu=tcfg.prox_mu, dp_clip=dpm.clip if dpsgd else 0.0,
        dp_noise=dpm.noise_multiplier if dpsgd else 0.0, poisson=dpsgd, seed=cfg.seed,
        round_=rs.round)
    raw = res.delta  # local − global, float64
    if not res.finite:  # a NaN or ±inf weight: the update's float64 sum would not be finite
        raise DivergedError(rs.round, "train", "the clients' local models")
    _finite_or_raise(rs, "train", "the clients' local models", res.epoch_loss)
    raw, attacked = tamper_updates(raw, ids, mal, cfg.seed, rs.round)
    for group in extra:
        raw, more = tamper_updates(raw, ids, group, cfg.seed, rs.round)
        attacked = tuple(attacked) + tuple(more)
    norms = np.sqrt(np.einsum("ij,ij->i", raw, raw))  # ‖raw_k‖₂, without a [K, P] temporary
    steps = -(-data.counts // tcfg.batch_size)
    return replace(rs, train=res, raw=raw, norms=norms, counts=data.counts,
                   vcounts=data.vcounts), TrainReport(
        clients=len(ids), mean_train_loss=float(res.epoch_loss[:, -1].mean()),
        update_norms=tuple(norms.tolist()), steps_per_epoch=tuple(steps.tolist()),
        batching="poisson" if dpsgd else "shuffle", attacked=attacked or None)


def own_rows(data, ids: np.ndarray, rows: tuple):
    """``data`` (the sampled clients' padded training rows) with each ``(client, x, y)`` of
    ``rows`` replacing that client's rows, for a client that is sampled (padding grows if a
    client brings more rows than the largest shard)."""
    where = {int(c): i for i, c in enumerate(ids)}
    mine = [(where[int(c)], np.asarray(x), np.asarray(y)) for c, x, y in rows
            if int(c) in where and len(x)]
    if not mine:
        return data
    width = max([data.x.shape[1]] + [len(x) for _, x, _ in mine])
    pad = width - data.x.shape[1]
    x = np.pad(data.x, [(0, 0), (0, pad)] + [(0, 0)] * (data.x.ndim - 2)) if pad else data.x.copy()
    y = np.pad(data.y, [(0, 0), (0, pad)]) if pad else data.y.copy()
    counts = np.array(data.counts, copy=True)
    for i, xs, ys in mine:
        x[i] = 0
        y[i] = 0
        x[i, :len(xs)] = xs
        y[i, :len(ys)] = ys
        counts[i] = len(xs)
    return replace(data, x=x, y=y, counts=counts)


def protect(env: Env, rs: RoundState):
    ids = rs.sampled
    weighted = env.config.aggregation.weighted
    weights = (rs.counts.astype(np.float64) if weighted else np.ones(len(ids))) if ids \
        else np.zeros(0)
    batch = UpdateBatch(ids, rs.raw, weights)
    batch, states, reports = run_hooks(env, rs, "client", batch, stop_if_empty=True)
    return replace(rs, protected=batch, mech_states=states), ProtectReport(
        pipeline=env.pipeline.names, mechanisms=MappingProxyType(reports))


def upload(env: Env, rs: RoundState):
    batch = rs.protected
    dropped = set(rs.dropped)
    keep = ~np.isin(np.fromiter(batch.client_ids, np.int64, count=len(batch.client_ids)),
                    np.array(rs.dropped, np.int64))
    # Nobody dropped (the usual case): the batch that arrived is the one that left, shared
    # rather than copied (both are frozen), which saves a [K, P] copy of the updates.
    arrived = batch if keep.all() else batch.select(keep)
    up = int(arrived.bytes_up.sum())
    return replace(rs, arrived=arrived, bytes_up=up), UploadReport(
        arrived=tuple(arrived.client_ids), dropped=tuple(sorted(dropped)), bytes_up=up,
        bytes_per_client=ClientValues(batch.client_ids, batch.bytes_up))


def aggregate(env: Env, rs: RoundState):
    batch, states, reports = run_hooks(env, rs, "receive", rs.arrived)
    accepted = set(batch.client_ids)
    rejected = tuple(c for c in rs.arrived.client_ids if c not in accepted)
    hider = env.pipeline.hider
    aborted, agg_report = "", None
    if len(batch.client_ids) == 0:
        agg = Aggregate(np.zeros(env.num_params), 1.0)
        agg_report = MappingProxyType({"name": env.aggregator.name, "note": "no update arrived"})
    elif hider is not None:
        i = env.pipeline.mechanisms.index(hider)
        try:
            total, rep = hider.secure_sum(env.context(rs), states[i], batch)
        except ProtocolError as err:
            # Too few survivors to reconstruct the masks: a real server abandons the
            # round rather than apply a wrong sum. The global model stays as it is.
            aborted = str(err)
            total, rep = np.zeros(env.num_params), AbortedSumReport(aborted=aborted)
        reports[hider.name + "_sum"] = rep
        agg = Aggregate(np.asarray(total, np.float64), max(float(batch.weights.sum()), 1e-12))
    else:
        agg, mm = env.aggregator(batch.deltas, batch.weights)
        agg_report = MappingProxyType({"name": env.aggregator.name, **mm})
    return replace(rs, accepted=batch, rejected=rejected, aggregate=agg, aborted=aborted,
                   mech_states=states), AggregateReport(
        num_aggregated=len(batch.client_ids), rejected=rejected, aggregator=agg_report,
        aborted=aborted or None, mechanisms=MappingProxyType(reports))


def update(env: Env, rs: RoundState):
    from fedsim.engine.server_opt import server_update

    before = rs.start.weights
    if rs.aborted:
        return replace(rs, delta=np.zeros(env.num_params), weights=before,
                       opt_state=rs.start.opt_state), UpdateReport(
            aborted=rs.aborted, aggregate_norm=0.0, step_norm=0.0)
    agg, states, reports = run_hooks(env, rs, "server", rs.aggregate, rs.accepted)
    if len(rs.accepted.client_ids) == 0 and env.pipeline.get("dp") is None:
        delta = np.zeros(env.num_params)  # nothing arrived: the model stays as it is
    else:
        delta = agg.mean
    weights, opt = server_update(env.config.aggregation, before, delta, rs.start.opt_state)
    _finite_or_raise(rs, "update", "the global model", weights)
    return replace(rs, delta=delta, weights=weights, opt_state=opt, mech_states=states), \
        UpdateReport(aggregate_norm=float(np.linalg.norm(delta)),
                     server_optimizer=env.config.aggregation.server_optimizer,
                     step_norm=float(np.linalg.norm(weights - before)),
                     mechanisms=MappingProxyType(reports))


def evaluate(env: Env, rs: RoundState):
    data = env.fed.data
    loss, metric = env.trainer.evaluate(rs.weights, *env.test_set)
    _finite_or_raise(rs, "evaluate", "the test loss", np.array([loss, metric]))
    name = metric_key(data.task)
    metrics = {"loss": loss, name: metric}
    asr = attack_success(env.trainer, rs.weights, env.config.clients.malicious, data)
    if asr is not None:
        metrics["attack_success"] = asr
    ctx = env.context(rs)
    states = list(rs.mech_states)
    priv: dict[str, Any] = {}
    for i, m in enumerate(env.pipeline.mechanisms):
        states[i], rep = m.end_round(ctx, states[i], rs.accepted)
        if rep:
            priv[m.name] = rep
    priv_view = MappingProxyType(priv)
    return replace(rs, global_metrics=MappingProxyType(metrics),
                   privacy=priv_view, mech_states=tuple(states)), EvaluateReport(
        loss=loss, metric=metric, metric_name=name, privacy=priv_view or None)


PhaseFn = Callable[[Env, RoundState], tuple[RoundState, Any]]

#: The one dispatch table: phase name → function, in the order a round runs them.
PHASE_TABLE: tuple[tuple[str, PhaseFn], ...] = (
    ("select", select), ("broadcast", broadcast), ("train", train), ("protect", protect),
    ("upload", upload), ("aggregate", aggregate), ("update", update), ("evaluate", evaluate))

assert tuple(name for name, _ in PHASE_TABLE) == PHASES, "results.PHASES names the table"

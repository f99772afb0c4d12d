"""Zero-knowledge proofs as a step of the privacy pipeline (RoFL, Lycklama, Burkhalter et al.,
S&P 2023): every client commits to its update and proves it is bounded — an L∞ bound on
randomly chosen coordinates (:mod:`.range_proof`) or an L2 bound on the whole update or one
weight tensor (:mod:`.l2_proof`) — the server drops clients whose proofs fail and checks that
the accepted commitments add up to the aggregate it used.

**Which coordinates.** The checked coordinates are the same for all clients (so commitments
can be added per coordinate) and come from a public per-round random stream,
``generator(seed, "zkp", round, "challenge")``: in a deployment the server draws them *after*
every client has committed to its whole update (or takes them from a randomness beacon), so a
client cannot know in advance which coordinates will be checked. Honest clients clip every
coordinate to the bound before committing (as RoFL's clients do); clients listed in
``malicious_ids`` don't, and try to prove whatever they hold.

**Aggregate check** (RoFL): after summing, the server adds the accepted clients' commitments
(weighted by their integer weights) per checked coordinate and checks that the sum opens to
(Σ w_k v_k, Σ w_k r_k) and that this matches the aggregate it used, within rounding. In RoFL the
openings travel inside the secure sum; here :meth:`RangeProofs.receive` adds the accepted
clients' openings directly, which reveals no more than that sum.

**Randomness.** Blinding factors and proof nonces come from named seeded streams for
reproducibility; a real client must draw them from ``os.urandom``, since predictable nonces
leak the committed values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from fedsim.privacy.base import Aggregate, Mechanism, PerClient, RoundContext, UpdateBatch
from fedsim.privacy.crypto_reports import AggregateCheckReport, ProofReport, VerifyReport
from fedsim.privacy.zkp.ahead import ProverAhead, prover_stream
from fedsim.privacy.zkp.group import ORDER, commit, decode, random_scalars, weighted_sum
from fedsim.privacy.zkp.l2_proof import check_l2, prove_l2_with_openings, quantize_l2
from fedsim.privacy.workers import run_many
from fedsim.privacy.zkp.range_proof import (RangeProof, prove_coordinate, verify_range_proof,
                                            verify_range_proofs_together)
from fedsim.rng import generator


@dataclass(frozen=True)
class ZKPUpload:
    """One client's row: its proof (sent), and its openings (v_k, r_k per checked coordinate),
    which only enter the aggregate check as a sum."""

    client_id: int
    proof: RangeProof
    values: tuple[int, ...]
    randomness: tuple[int, ...]
    prove_ms: float


class RangeProofs(Mechanism):
    """Clients prove ``coordinates`` random coordinates lie in [-bound, bound]; the server drops
    those whose proofs fail and checks the accepted commitments against the aggregate.

    Parameters
    ----------
    bound:
        B, the public L∞ bound.
    coordinates:
        How many coordinates are checked per client and round.
    bits:
        L, the proof's resolution: a coordinate is proved on a grid of 2^L points over [-B, B].
    clip:
        Honest clients clip every coordinate to this (default B) before committing; use
        min(B, secure-aggregation clip) so the later clipping changes nothing.
    malicious_ids:
        Clients that skip the honest clip and try to prove whatever they hold.
    sum_error:
        Extra tolerance per client and unit weight for the aggregate check (the quantization
        error of the secure sum, e.g. 2^-scale_bits).
    """

    name = "zkp"
    order = 20

    def __init__(self, bound: float = 1.0, coordinates: int = 64, bits: int = 8,
                 clip: Optional[float] = None, malicious_ids: Iterable[int] = (),
                 sum_error: float = 0.0):
        if bound <= 0:
            raise ValueError(f"bound must be positive, got {bound}")
        if not 1 <= bits <= 32:
            raise ValueError(f"bits must be in 1..32, got {bits}")
        self.bound = float(bound)
        self.coordinates = int(coordinates)
        self.bits = int(bits)
        self.clip = self.bound if clip is None else min(float(clip), self.bound)
        self.malicious_ids = frozenset(int(c) for c in malicious_ids)
        self.sum_error = float(sum_error)
        #: the next round's proofs, prepared while the students read (``prepare``)
        self.ahead = ProverAhead()

    @property
    def step(self) -> float:
        """δ, the proof grid's spacing: 2B/(2^L − 1)."""
        return 2 * self.bound / ((1 << self.bits) - 1)

    def challenge(self, ctx: RoundContext, num_params: int) -> np.ndarray:
        """The round's checked coordinates (same for every client), sorted."""
        k = min(self.coordinates, num_params)
        rng = generator(ctx.seed, "zkp", ctx.round, "challenge")
        return np.sort(rng.choice(num_params, size=k, replace=False))

    def to_grid(self, x: np.ndarray) -> np.ndarray:
        """Coordinates → proof integers v = round((x + B)/δ); in range iff v ∈ [0, 2^L − 1]."""
        return np.rint((np.asarray(x, np.float64) + self.bound) / self.step).astype(np.int64)

    # ---- before the round: the next round's proofs, half made
    def prepare(self, ctx: RoundContext) -> None:
        n = min(self.coordinates, ctx.num_params)
        self.ahead.start([(ctx.seed, ctx.round, int(u), n, self.bits) for u in ctx.sampled])

    def wait_prepared(self, timeout: float | None = None) -> None:
        self.ahead.wait(timeout)

    # ---- client side
    def client(self, ctx: RoundContext, state, batch: UpdateBatch):
        self.ahead.halt()       # what is not prepared yet, the round makes itself
        ids = tuple(int(c) for c in batch.client_ids)
        coords = self.challenge(ctx, batch.deltas.shape[1])
        deltas = batch.deltas.copy()
        n_clipped = 0
        tasks, ready = [], {}
        for row, u in enumerate(ids):
            if u not in self.malicious_ids:
                clipped = np.clip(deltas[row], -self.clip, self.clip)
                n_clipped += int(np.count_nonzero(clipped != deltas[row]))
                deltas[row] = clipped
            values = tuple(int(v) for v in self.to_grid(deltas[row, coords]))
            tasks.append((ctx.seed, ctx.round, u, values, tuple(int(j) for j in coords),
                          self.bits))
            prepared = self.ahead.take((ctx.seed, ctx.round, u, len(coords), self.bits))
            if prepared is not None:
                ready[u] = prepared
        # Prepared clients finish here (additions and hashes); the others make their whole
        # proof, in the worker pool when there is one.
        cold = [t for t in tasks if t[2] not in ready]
        made = iter(run_many(prove_range, cold))
        results = [prove_range(*t, prepared=ready[t[2]][0]) if t[2] in ready else next(made)
                   for t in tasks]
        uploads = [ZKPUpload(u, proof, t[3], rand, ms)
                   for u, t, (proof, rand, ms) in zip(ids, tasks, results)]
        proof_bytes = np.array([up.proof.nbytes for up in uploads], np.int64)
        prove_ms = np.array([up.prove_ms for up in uploads])
        meas = {
            "bound": self.bound,
            "bits": self.bits,
            "grid_step": self.step,
            "coordinates_checked": int(len(coords)),
            "challenge_preview": [int(j) for j in coords[:8]],
            **_proving_costs(ids, prove_ms, proof_bytes),
            "precompute_ms_by_client": [float(ready[u][1]) if u in ready else 0.0 for u in ids],
            "precompute_ms": float(sum(ms for _, ms in ready.values())),
            "honest_clipped_fraction": n_clipped / max(1, deltas.size),
        }
        out = batch.replace(deltas=deltas, bytes_up=batch.bytes_up + proof_bytes)
        return out.with_payload(self.name, PerClient(tuple(uploads))), state, ProofReport(**meas)

    # ---- server side, before the sum
    def receive(self, ctx: RoundContext, state, batch: UpdateBatch):
        coords = tuple(int(j) for j in self.challenge(ctx, batch.deltas.shape[1]))
        accepted, report = verify_all(batch, self.name, check_range,
                                      lambda up, u: (up.proof, coords, self.bits, ctx.round, u),
                                      together=verify_range_proofs_together)
        return accepted, state, report

    # ---- server side, after the sum
    def server(self, ctx: RoundContext, state, agg: Aggregate, accepted: UpdateBatch):
        if self.name not in accepted.payload:
            return agg, state, None
        t0 = time.perf_counter()
        coords = self.challenge(ctx, accepted.deltas.shape[1])
        # RoFL aggregate check, part 1: add the accepted commitments per coordinate.
        w = np.asarray(accepted.weights, np.float64)
        integral = bool(np.all(np.abs(w - np.rint(w)) < 1e-9))
        pending = {"coords": coords, "integral": integral, "n": len(accepted.client_ids),
                   "weight_sum": float(w.sum()), "weight_max": float(w.max()) if len(w) else 0.0}
        if integral and len(accepted.client_ids):
            ups = accepted.payload[self.name].items
            wi = [int(round(x)) for x in w]
            sums = [weighted_sum([decode(up.proof.coordinates[k].commitment) for up in ups], wi)
                    for k in range(len(coords))]
            # Stand-in for the secure sum of the openings (RoFL sends them inside it).
            pending["commit_sums"] = sums
            pending["value_sums"] = [sum(weight * up.values[k] for weight, up in zip(wi, ups))
                                     for k in range(len(coords))]
            pending["rand_sums"] = [sum(weight * up.randomness[k] for weight, up in zip(wi, ups))
                                    % ORDER for k in range(len(coords))]
        if not pending["integral"]:
            return agg, state, AggregateCheckReport(
                aggregate_check=None,
                aggregate_note="weights are not integers; commitments not summed")
        if not pending["n"]:
            return agg, state, AggregateCheckReport(aggregate_check=None,
                                                    aggregate_note="no accepted client")
        opens = all(commit(m, r) == c for m, r, c in
                    zip(pending["value_sums"], pending["rand_sums"], pending["commit_sums"]))
        committed = np.array(pending["value_sums"], np.float64) * self.step - \
            self.bound * pending["weight_sum"]
        used = np.asarray(agg.total, np.float64)[coords]
        gap = np.abs(committed - used)
        tol = (pending["weight_sum"] * self.step / 2 +
               pending["n"] * pending["weight_max"] * self.sum_error +
               1e-9 * (1 + np.abs(used)))
        matches = bool(np.all(gap <= tol))
        meas = {
            "aggregate_opens": bool(opens),
            "aggregate_matches": matches,
            "aggregate_check": bool(opens and matches),
            "aggregate_max_gap": float(gap.max()),
            "aggregate_tolerance": float(np.max(tol)),
            "aggregate_check_ms": (time.perf_counter() - t0) * 1e3,
        }
        return agg, state, AggregateCheckReport(**meas)


# --------------------------------------------------------------------------- L2 mechanism
#: The L2 bound in the proof's integer units: an update clipped to ``bound`` is quantized with
#: scale 127/bound (8-bit coordinates, as the L∞ proofs' default ``bits``; a 14-bit sum).
L2_UNITS = 127


@dataclass(frozen=True)
class L2Upload:
    """One client's row: its L2 proof (sent; it holds the commitments C_i) and the openings
    (x_i, r_i), which only enter the aggregate check as a sum."""

    client_id: int
    proof: object  # fedsim.privacy.zkp.l2_proof.L2Proof
    values: tuple[int, ...]
    randomness: tuple[int, ...]
    prove_ms: float


class L2NormProofs(Mechanism):
    """Clients prove ‖Δ‖₂ ≤ ``bound`` on the committed update (RoFL, Lycklama et al. S&P 2023;
    the proof is :mod:`fedsim.privacy.zkp.l2_proof`); the server drops failures and checks the
    accepted commitments against the aggregate, as :class:`RangeProofs` does.

    Unlike sampled L∞ range proofs this bounds the update's *size*: a boosted update whose
    every coordinate is within the L∞ bound is still rejected. The proved vector is the whole
    flat update, or only ``part`` (a slice: one weight tensor, ``privacy.zkp.layer``), because
    proving costs ~1 ms and verifying ~0.4 ms per coordinate per client (measured, see
    :mod:`fedsim.privacy.zkp.l2_proof`); a bound on one layer does not bound the others.
    Each client's proof and its verification are one task of the crypto worker pool
    (:func:`fedsim.privacy.workers.run_many`; on in the app's server), the same bytes either way.

    Honest clients clip the proved part to L2 norm ``clip`` (default ``bound``) and commit to
    trunc(Δ·127/bound), which never exceeds the bound (:func:`~fedsim.privacy.zkp.l2_proof.quantize_l2`),
    so they always verify; clients in ``malicious_ids`` commit to what they hold unclipped.
    """

    name = "zkp"
    order = 20

    def __init__(self, bound: float = 1.0, part: Optional[slice] = None,
                 clip: Optional[float] = None, malicious_ids: Iterable[int] = (),
                 sum_error: float = 0.0, layer: Optional[int] = None):
        if bound <= 0:
            raise ValueError(f"bound must be positive, got {bound}")
        self.bound = float(bound)
        self.part = part
        self.layer = layer
        self.clip = self.bound if clip is None else min(float(clip), self.bound)
        self.malicious_ids = frozenset(int(c) for c in malicious_ids)
        self.sum_error = float(sum_error)
        self.scale = L2_UNITS / self.bound

    def _part(self, num_params: int) -> slice:
        return self.part if self.part is not None else slice(0, num_params)

    # ---- client side
    def client(self, ctx: RoundContext, state, batch: UpdateBatch):

        ids = tuple(int(c) for c in batch.client_ids)
        sl = self._part(batch.deltas.shape[1])
        deltas = batch.deltas.copy()
        tasks, clipped, norms = [], 0, []
        for row, u in enumerate(ids):
            x = deltas[row, sl]
            norm = float(np.linalg.norm(x))
            norms.append(norm)
            if u not in self.malicious_ids:
                if norm > self.clip:
                    deltas[row, sl] = x * (self.clip / norm)
                    clipped += 1
                q = quantize_l2(deltas[row, sl], self.clip, self.scale)
            else:  # a cheater commits to what it holds and tries to prove it anyway
                q = np.trunc(np.clip(x * self.scale, -2.0**62, 2.0**62)).astype(np.int64)
            tasks.append((ctx.seed, ctx.round, u, tuple(int(v) for v in q)))
        uploads = [L2Upload(u, proof, t[3], rand, ms)
                   for u, t, (proof, rand, ms) in zip(ids, tasks, run_many(prove_norm, tasks))]
        nbytes = np.array([up.proof.nbytes + up.proof.commitments_nbytes for up in uploads],
                          np.int64)
        prove_ms = np.array([up.prove_ms for up in uploads])
        meas = {
            "norm": "l2", "bound": self.bound, "layer": self.layer,
            "coordinates_checked": int(sl.stop - sl.start),
            **_proving_costs(ids, prove_ms, nbytes),
            "honest_clipped": clipped,
        }
        out = batch.replace(deltas=deltas, bytes_up=batch.bytes_up + nbytes)
        return out.with_payload(self.name, PerClient(tuple(uploads))), state, ProofReport(**meas)

    # ---- server side, before the sum
    def receive(self, ctx: RoundContext, state, batch: UpdateBatch):

        accepted, report = verify_all(batch, self.name, check_norm,
                                      lambda up, u: (up.proof, ctx.round, u), norm="l2")
        return accepted, state, report

    # ---- server side, after the sum: the accepted commitments open to the aggregate used
    def server(self, ctx: RoundContext, state, agg: Aggregate, accepted: UpdateBatch):
        if self.name not in accepted.payload:
            return agg, state, None

        t0 = time.perf_counter()
        w = np.asarray(accepted.weights, np.float64)
        if not len(w):
            return agg, state, AggregateCheckReport(aggregate_check=None,
                                                    aggregate_note="no accepted client")
        if not np.all(np.abs(w - np.rint(w)) < 1e-9):
            return agg, state, AggregateCheckReport(
                aggregate_check=None,
                aggregate_note="weights are not integers; commitments not summed")
        ups = accepted.payload[self.name].items
        wi = [int(round(x)) for x in w]
        sl = self._part(accepted.deltas.shape[1])
        n = sl.stop - sl.start
        opens = True
        value_sums = np.zeros(n)
        for i in range(n):
            acc = weighted_sum([decode(up.proof.commitments[i]) for up in ups], wi)
            m = sum(weight * up.values[i] for weight, up in zip(wi, ups))
            r = sum(weight * up.randomness[i] for weight, up in zip(wi, ups))
            # Stand-in for the secure sum of the openings (RoFL sends them inside it).
            opens = opens and commit(m, r) == acc
            value_sums[i] = m
        committed = value_sums / self.scale
        used = np.asarray(agg.total, np.float64)[sl]
        gap = np.abs(committed - used)
        tol = (w.sum() / self.scale + len(w) * w.max() * self.sum_error + 1e-9 * (1 + np.abs(used)))
        matches = bool(np.all(gap <= tol))
        return agg, state, AggregateCheckReport(
            aggregate_opens=bool(opens), aggregate_matches=matches,
            aggregate_check=bool(opens and matches),
            aggregate_max_gap=float(gap.max()) if n else 0.0,
            aggregate_tolerance=float(np.max(tol)) if n else 0.0,
            aggregate_check_ms=(time.perf_counter() - t0) * 1e3)


# --------------------------------------------------------------------------- one client's work
# Module-level pure functions of picklable arguments: each runs as one task in the worker pool
# (fedsim.privacy.workers, on in the app's server) or in-process, with the same bytes out.
def prove_range(seed: int, rnd: int, cid: int, values: tuple[int, ...],
                coords: tuple[int, ...], bits: int, prepared=None
                ) -> tuple[RangeProof, tuple[int, ...], float]:
    """Client ``cid``'s L∞ proof for the grid ``values`` at ``coords``: (proof, its blinding
    factors r_j, ms). Nonces come from the seeded stream ``(seed, "zkp", round, "prover", cid)``;
    ``prepared`` (:func:`~fedsim.privacy.zkp.ahead.prepare_range` of the same arguments, made
    off the round) gives the same proof, and the ms are then the round's part only."""
    t0 = time.perf_counter()
    if prepared is None:        # the same draws as prepare_range, in the same order
        rng = prover_stream(seed, rnd, cid)
        rand = tuple(random_scalars(rng, len(coords)))
        proofs = tuple(prove_coordinate(v, r, bits, rnd, cid, j, rng)
                       for v, r, j in zip(values, rand, coords))
        return RangeProof(cid, rnd, bits, proofs), rand, (time.perf_counter() - t0) * 1e3
    rand, preps = prepared
    if len(preps) != len(coords):
        raise ValueError("prepared for another number of coordinates")
    proofs = tuple(prove_coordinate(v, r, bits, rnd, cid, j, None, prepared=p)
                   for v, r, j, p in zip(values, rand, coords, preps))
    return RangeProof(cid, rnd, bits, proofs), rand, (time.perf_counter() - t0) * 1e3


def check_range(proof: RangeProof, coords: tuple[int, ...], bits: int, rnd: int,
                cid: int) -> tuple[bool, str, float]:
    """:func:`~fedsim.privacy.zkp.range_proof.verify_range_proof`, timed."""
    t0 = time.perf_counter()
    ok, why = verify_range_proof(proof, coords, bits, rnd, cid)
    return ok, why, (time.perf_counter() - t0) * 1e3


def prove_norm(seed: int, rnd: int, cid: int, q: tuple[int, ...]):
    """Client ``cid``'s L2 proof of the quantized vector ``q``: (proof, r_i, ms)."""
    t0 = time.perf_counter()
    rng = generator(seed, "zkp", rnd, "l2prover", cid)
    proof, rand = prove_l2_with_openings(np.asarray(q, np.int64), L2_UNITS, rng=rng, round=rnd,
                                         client_id=cid)
    return proof, tuple(rand), (time.perf_counter() - t0) * 1e3


def check_norm(proof, rnd: int, cid: int) -> tuple[bool, str, float]:
    """:func:`~fedsim.privacy.zkp.l2_proof.check_l2` against the proof's own commitments, timed."""
    t0 = time.perf_counter()
    try:
        ok, why = check_l2(proof.commitments, proof, L2_UNITS, round=rnd, client_id=cid)
    except (AttributeError, TypeError, ValueError) as exc:
        ok, why = False, f"malformed proof ({exc})"
    return ok, why, (time.perf_counter() - t0) * 1e3


def _proving_costs(ids, prove_ms: np.ndarray, proof_bytes: np.ndarray) -> dict:
    """What proving cost the clients (both kinds of proof report it the same way)."""
    n = len(ids)
    return {"clients": list(ids), "prove_ms": [float(t) for t in prove_ms],
            "client_ms": float(prove_ms.sum()),
            "prove_ms_per_client": float(prove_ms.mean()) if n else 0.0,
            "proof_bytes_per_client": int(proof_bytes.mean()) if n else 0,
            "bytes_per_client": int(proof_bytes.mean()) if n else 0}


def verify_all(batch: UpdateBatch, name: str, check, arguments, norm: str | None = None,
               together=None):
    """Check every arrived proof with ``check(*arguments(upload, client_id))``, a module-level
    function returning ``(ok, reason, ms)`` (in the worker pool when there is one, one task
    per client); return the accepted rows and the :class:`VerifyReport` (shared by the L∞ and
    L2 mechanisms).

    ``together(list of arguments)``, when given, first checks all proofs as one batch: if it
    holds, every client is accepted and each is given an equal share of its time; if not,
    the proofs are checked one by one to say whose fails and why (a cheater's round pays
    both)."""
    uploads = batch.payload[name].items
    ids = tuple(int(c) for c in batch.client_ids)
    own = [up.client_id == u for u, up in zip(ids, uploads)]
    args = [arguments(up, u) for u, up, o in zip(ids, uploads, own) if o]
    results = None
    if together is not None and args:
        t0 = time.perf_counter()
        if together(args):
            share = (time.perf_counter() - t0) * 1e3 / len(args)
            results = iter([(True, "ok", share)] * len(args))
    if results is None:
        results = iter(run_many(check, args))
    keep, reasons, verify_ms = [], [], []
    for o in own:
        ok, why, ms = next(results) if o else (False, "payload row belongs to another client",
                                               0.0)
        verify_ms.append(ms)
        keep.append(ok)
        reasons.append(why)
    keep_arr = np.array(keep, bool)
    vm = np.array(verify_ms)
    report = VerifyReport(
        norm=norm, clients=list(ids), verified=[bool(k) for k in keep], reasons=reasons,
        verify_ms=[float(t) for t in vm], verify_ms_total=float(vm.sum()),
        server_ms=float(vm.sum()), verify_ms_per_client=float(vm.mean()) if len(vm) else 0.0,
        proof_bytes=[int(up.proof.nbytes) for up in uploads],
        rejected=[u for u, k in zip(ids, keep) if not k], accepted=int(keep_arr.sum()),
        # Keyed by client id (not aligned with the sampled list: dropped clients sent
        # nothing to verify), so each ClientRecord gets its own "verified" flag.
        per_client={"verified": {str(c): bool(k) for c, k in zip(ids, keep)}})
    return batch.select(keep_arr), report


def _layer_slice(cfg, layer: int, layer_slices) -> slice:
    """The flat-update slice of weight tensor ``layer``."""
    from fedsim.errors import ConfigError

    if layer_slices is None:  # the pipeline did not pass them: the model's shapes give them
        from fedsim.data.load import load_dataset
        from fedsim.training.models import ModelSpec, initial_weights

        data = load_dataset(cfg.dataset, cfg.seed)
        spec = ModelSpec(cfg.model_name, data.num_features,
                         data.num_classes if data.task == "classification" else 1,
                         cfg.model.hidden, data.image_shape)
        sizes = [w.size for w in initial_weights(spec, 0)]
        offs = np.cumsum([0, *sizes])
        layer_slices = [slice(int(a), int(b)) for a, b in zip(offs[:-1], offs[1:])]
    if layer >= len(layer_slices):
        raise ConfigError("privacy.zkp.layer", layer,
                          f"a weight tensor index from 0 to {len(layer_slices) - 1} for model "
                          f"{cfg.model_name!r}")
    return layer_slices[layer]


def from_config(cfg, layer_slices=None) -> Optional[Mechanism]:
    """The mechanism for ``cfg.privacy.zkp``, or ``None`` when it is off.

    ``norm`` ``linf`` gives :class:`RangeProofs`, ``l2`` :class:`L2NormProofs` (on weight
    tensor ``layer``, whose flat slice comes from ``layer_slices``, or null for all).

    With secure aggregation on, honest clients clip to min(bound, its clip) so its own clipping
    changes nothing, and the aggregate check allows its quantization error. Clients in
    ``cfg.clients.malicious.ids`` don't clip (they try to cheat the proof).
    """
    priv = getattr(cfg, "privacy", cfg)
    z = priv.zkp
    if not z.enabled:
        return None
    clip, sum_error = z.bound, 0.0
    sa = priv.secure_aggregation
    if sa.enabled:
        clip = min(clip, sa.clip)
        sum_error = 2.0 ** -sa.scale_bits
    elif priv.he.enabled:
        sum_error = 2.0 ** -20 if priv.he.scheme == "paillier" else 1e-6
    clients = getattr(cfg, "clients", None)
    malicious = clients.malicious.ids if clients is not None else ()
    if getattr(z, "norm", "linf") == "l2":
        part = None if z.layer is None else _layer_slice(cfg, z.layer, layer_slices)
        return L2NormProofs(bound=z.bound, part=part, clip=clip, malicious_ids=malicious,
                            sum_error=sum_error, layer=z.layer)
    return RangeProofs(bound=z.bound, coordinates=z.coordinates, clip=clip,
                       malicious_ids=malicious, sum_error=sum_error)

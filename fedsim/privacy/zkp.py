"""Zero-knowledge range proofs on committed update coordinates (input validation, RoFL-style).

Secure aggregation and HE hide each update, which also hides a poisoned one. RoFL (Lycklama,
Burkhalter et al., S&P 2023) restores accountability: every client commits to its update and
proves in zero knowledge that it is bounded, the server drops clients whose proofs fail, and
checks that the accepted commitments add up to the aggregate it used. This module does that for
an L∞ bound on ``coordinates`` randomly chosen coordinates.

**Commitments** (Pedersen 1991) on ed25519 via libsodium (``pynacl``):
C = m·V + r·B, where B is ed25519's standard base point and V = from_uniform(SHA-512(tag)),
a point nobody knows the discrete logarithm of (so nobody can open C two ways). The blinding
factor goes on B because libsodium's fixed-base multiplication is ~4× faster than its
variable-base one (33 vs 121 µs measured here), and every response below multiplies B.
Commitments are additive: C(m1, r1) + C(m2, r2) = C(m1 + m2, r1 + r2).

**Range proof by bit decomposition.** A coordinate x ∈ [-bound, bound] is mapped to an integer
v = round((x + bound)/δ) with δ = 2·bound/(2^L − 1), so v ∈ [0, 2^L − 1] exactly when x is in
range (up to rounding). The client commits to each bit b_i of v with randomness r_i chosen so
that Σ 2^i r_i = r; then Σ 2^i·C_i = C_v holds homomorphically iff v = Σ 2^i b_i, which the
verifier checks with L doublings and additions. For each C_i the client gives a
Cramer–Damgård–Schoenmakers (CRYPTO 1994) OR-proof that C_i opens to 0 or to 1: a Schnorr proof
of knowledge of r_i for "C_i = r_i·B" OR "C_i − V = r_i·B", where the branch that is false is
simulated and the two challenges must add up to the Fiat–Shamir hash of the transcript
(SHA-512 of a domain tag, round, client, coordinate, bit, C_v, C_i and both announcements).
A value out of range has no such decomposition: a cheating client's bits (its value mod 2^L)
do not add up to C_v and the proof is rejected. Each bit costs 32 + 128 bytes.

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
reproducibility; a real client must draw them from ``os.urandom``
(``crypto_core_ed25519_scalar_random``), since predictable nonces leak the committed values.
"""

from __future__ import annotations

import hashlib
import struct
import time
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
from nacl import bindings as sodium
from nacl.exceptions import CryptoError
from nacl.exceptions import RuntimeError as SodiumRuntimeError
from nacl.exceptions import ValueError as SodiumValueError

from fedsim.rng import generator
from fedsim.privacy.crypto_reports import AggregateCheckReport, ProofReport, VerifyReport
from fedsim.privacy.base import Aggregate, Mechanism, PerClient, RoundContext, UpdateBatch

#: ℓ, the order of ed25519's prime-order subgroup.
ORDER = 2 ** 252 + 27742317777372353535851937790883648493
POINT_BYTES = 32
SCALAR_BYTES = 32
RESPONSE_BYTES = 4 * SCALAR_BYTES          # (e0, e1, z0, z1)
IDENTITY = b"\x01" + b"\x00" * 31
DOMAIN = b"fedsim/zkp/v1"
#: B, the blinding base (ed25519's standard base point, fast fixed-base multiplication).
BLIND_BASE = sodium.crypto_scalarmult_ed25519_base_noclamp((1).to_bytes(32, "little"))
#: V, the value base: hashed to the curve, so nobody knows log_B V.
VALUE_BASE = sodium.crypto_core_ed25519_from_uniform(
    hashlib.sha512(DOMAIN + b"/pedersen-value-base").digest()[:32])
_BAD = (CryptoError, SodiumRuntimeError, SodiumValueError, ValueError, TypeError)


# --------------------------------------------------------------------------- group helpers
def _scalar(x: int) -> bytes:
    return (x % ORDER).to_bytes(SCALAR_BYTES, "little")


def _mul_base(s: int) -> bytes:
    """s·B; libsodium refuses a zero scalar (identity result), so handle it here."""
    s %= ORDER
    return IDENTITY if s == 0 else sodium.crypto_scalarmult_ed25519_base_noclamp(_scalar(s))


def _mul(s: int, point: bytes) -> bytes:
    """s·P for a variable point P (identity-safe)."""
    s %= ORDER
    if s == 0 or point == IDENTITY:
        return IDENTITY
    if s == 1:
        return point
    return sodium.crypto_scalarmult_ed25519_noclamp(_scalar(s), point)


def _add(p: bytes, q: bytes) -> bytes:
    return sodium.crypto_core_ed25519_add(p, q)


def _sub(p: bytes, q: bytes) -> bytes:
    return sodium.crypto_core_ed25519_sub(p, q)


def commit(m: int, r: int) -> bytes:
    """Pedersen commitment C = m·V + r·B (m, r taken modulo ℓ)."""
    m %= ORDER
    mv = IDENTITY if m == 0 else VALUE_BASE if m == 1 else _mul(m, VALUE_BASE)
    return _add(mv, _mul_base(r))


def _valid_point(p: bytes) -> bool:
    # Canonical encoding, on the curve, in the prime-order subgroup, not of small order.
    return (isinstance(p, bytes) and len(p) == POINT_BYTES and
            (p == IDENTITY or sodium.crypto_core_ed25519_is_valid_point(p)))


def _random_scalar(rng: np.random.Generator) -> int:
    # 512 uniform bits reduced mod ℓ: statistically uniform. Seeded for reproducibility only.
    return int.from_bytes(rng.bytes(64), "little") % ORDER


def _challenge(context: bytes, c: bytes, a0: bytes, a1: bytes) -> int:
    return int.from_bytes(hashlib.sha512(context + c + a0 + a1).digest(), "little") % ORDER


# --------------------------------------------------------------------------- proofs
@dataclass(frozen=True)
class CoordinateProof:
    """The proof that one committed coordinate lies in range."""

    index: int                          # which coordinate (public: the challenge)
    commitment: bytes                   # C_v
    bit_commitments: tuple[bytes, ...]  # C_0 … C_{L-1}
    responses: tuple[bytes, ...]        # per bit: e0 ‖ e1 ‖ z0 ‖ z1

    @property
    def nbytes(self) -> int:
        return POINT_BYTES + len(self.bit_commitments) * (POINT_BYTES + RESPONSE_BYTES)


@dataclass(frozen=True)
class RangeProof:
    """One client's proofs for all checked coordinates of one round."""

    client_id: int
    round: int
    bits: int
    coordinates: tuple[CoordinateProof, ...]

    @property
    def nbytes(self) -> int:
        return sum(c.nbytes for c in self.coordinates)


def _bit_context(rnd: int, cid: int, index: int, bit: int, c_v: bytes) -> bytes:
    return DOMAIN + b"/bit" + struct.pack("<QQQB", rnd, cid, index, bit) + c_v


def prove_coordinate(v: int, r: int, bits: int, rnd: int, cid: int, index: int,
                     rng: np.random.Generator) -> CoordinateProof:
    """Commit to v with randomness r and prove v ∈ [0, 2^bits).

    An honest v is in range. For any other v the prover still runs (a cheating client uses v
    mod 2^bits for the bits), and the verifier's sum check fails.
    """
    c_v = commit(v, r)
    low = v % (1 << bits)
    b = [(low >> i) & 1 for i in range(bits)]
    rs = [0] + [_random_scalar(rng) for _ in range(1, bits)]
    rs[0] = (r - sum((1 << i) * rs[i] for i in range(1, bits))) % ORDER   # Σ 2^i r_i = r
    cs, resp = [], []
    for i in range(bits):
        c_i = commit(b[i], rs[i])
        stmts = (c_i, _sub(c_i, VALUE_BASE))        # branch j: stmts[j] = r_i·B iff b_i = j
        real, fake = b[i], 1 - b[i]
        e = [0, 0]
        z = [0, 0]
        a = [b"", b""]
        e[fake], z[fake] = _random_scalar(rng), _random_scalar(rng)
        a[fake] = _sub(_mul_base(z[fake]), _mul(e[fake], stmts[fake]))   # simulated branch
        k = _random_scalar(rng)
        a[real] = _mul_base(k)
        total = _challenge(_bit_context(rnd, cid, index, i, c_v), c_i, a[0], a[1])
        e[real] = (total - e[fake]) % ORDER
        z[real] = (k + e[real] * rs[i]) % ORDER
        cs.append(c_i)
        resp.append(b"".join(_scalar(x) for x in (e[0], e[1], z[0], z[1])))
    return CoordinateProof(index, c_v, tuple(cs), tuple(resp))


def verify_coordinate(p: CoordinateProof, bits: int, rnd: int, cid: int) -> tuple[bool, str]:
    """Check one coordinate's proof; returns (ok, reason)."""
    try:
        if len(p.bit_commitments) != bits or len(p.responses) != bits:
            return False, f"coordinate {p.index}: expected {bits} bits"
        if not _valid_point(p.commitment):
            return False, f"coordinate {p.index}: the commitment is not a valid group element"
        for i, (c_i, r) in enumerate(zip(p.bit_commitments, p.responses)):
            if not _valid_point(c_i) or len(r) != RESPONSE_BYTES:
                return False, f"coordinate {p.index} bit {i}: malformed commitment or response"
            e0, e1, z0, z1 = (int.from_bytes(r[o:o + SCALAR_BYTES], "little")
                              for o in range(0, RESPONSE_BYTES, SCALAR_BYTES))
            if max(e0, e1, z0, z1) >= ORDER:
                return False, f"coordinate {p.index} bit {i}: non-canonical scalar"
            a0 = _sub(_mul_base(z0), _mul(e0, c_i))
            a1 = _sub(_mul_base(z1), _mul(e1, _sub(c_i, VALUE_BASE)))
            if (e0 + e1) % ORDER != _challenge(_bit_context(rnd, cid, p.index, i, p.commitment),
                                               c_i, a0, a1):
                return False, (f"coordinate {p.index} bit {i}: the OR-proof fails (not a "
                               "commitment to 0 or 1)")
        acc = p.bit_commitments[-1]
        for c_i in reversed(p.bit_commitments[:-1]):      # Horner: Σ 2^i C_i
            acc = _add(_add(acc, acc), c_i)
        if acc != p.commitment:
            return False, (f"coordinate {p.index}: the bits do not add up to the committed "
                           f"value (out of range)")
    except _BAD as exc:       # libsodium rejects malformed points
        return False, f"coordinate {p.index}: invalid group element ({exc})"
    return True, "ok"


def verify_range_proof(proof: RangeProof, expected_coords: Iterable[int], bits: int,
                       rnd: int, cid: int) -> tuple[bool, str]:
    """Check a client's whole proof against the round's challenge; returns (ok, reason)."""
    expected = tuple(int(j) for j in expected_coords)
    if proof.client_id != cid or proof.round != rnd or proof.bits != bits:
        return False, "proof made for another client, round or bit width"
    if tuple(c.index for c in proof.coordinates) != expected:
        return False, "proof does not cover the challenged coordinates"
    for cp in proof.coordinates:
        ok, reason = verify_coordinate(cp, bits, rnd, cid)
        if not ok:
            return False, reason
    return True, "ok"


# --------------------------------------------------------------------------- mechanism
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

    # ---- client side
    def client(self, ctx: RoundContext, state, batch: UpdateBatch):
        ids = tuple(int(c) for c in batch.client_ids)
        coords = self.challenge(ctx, batch.deltas.shape[1])
        deltas = batch.deltas.copy()
        n_clipped = 0
        uploads = []
        for row, u in enumerate(ids):
            t0 = time.perf_counter()
            if u not in self.malicious_ids:
                clipped = np.clip(deltas[row], -self.clip, self.clip)
                n_clipped += int(np.count_nonzero(clipped != deltas[row]))
                deltas[row] = clipped
            rng = generator(ctx.seed, "zkp", ctx.round, "prover", u)
            values = self.to_grid(deltas[row, coords])
            rand = [_random_scalar(rng) for _ in coords]
            proofs = tuple(prove_coordinate(int(v), r, self.bits, ctx.round, u, int(j), rng)
                           for v, r, j in zip(values, rand, coords))
            proof = RangeProof(u, ctx.round, self.bits, proofs)
            uploads.append(ZKPUpload(u, proof, tuple(int(v) for v in values), tuple(rand),
                                     (time.perf_counter() - t0) * 1e3))
        proof_bytes = np.array([up.proof.nbytes for up in uploads], np.int64)
        prove_ms = np.array([up.prove_ms for up in uploads])
        n = len(ids)
        meas = {
            "bound": self.bound,
            "bits": self.bits,
            "grid_step": self.step,
            "coordinates_checked": int(len(coords)),
            "challenge_preview": [int(j) for j in coords[:8]],
            "clients": list(ids),
            "prove_ms": [float(t) for t in prove_ms],
            "client_ms": float(prove_ms.sum()),
            "prove_ms_per_client": float(prove_ms.mean()) if n else 0.0,
            "proof_bytes_per_client": int(proof_bytes.mean()) if n else 0,
            "bytes_per_client": int(proof_bytes.mean()) if n else 0,
            "honest_clipped_fraction": n_clipped / max(1, deltas.size),
        }
        out = batch.replace(deltas=deltas, bytes_up=batch.bytes_up + proof_bytes)
        return out.with_payload(self.name, PerClient(tuple(uploads))), state, ProofReport(**meas)

    # ---- server side, before the sum
    def receive(self, ctx: RoundContext, state, batch: UpdateBatch):
        coords = self.challenge(ctx, batch.deltas.shape[1])
        accepted, report = verify_all(batch, self.name, lambda up, u: verify_range_proof(
            up.proof, coords, self.bits, ctx.round, u))
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
            sums = []
            for k in range(len(coords)):
                acc = IDENTITY
                for weight, up in zip(wi, ups):
                    acc = _add(acc, _mul(weight, up.proof.coordinates[k].commitment))
                sums.append(acc)
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
    proof: object  # fedsim.privacy.l2proof.L2Proof
    values: tuple[int, ...]
    randomness: tuple[int, ...]
    prove_ms: float


class L2NormProofs(Mechanism):
    """Clients prove ‖Δ‖₂ ≤ ``bound`` on the committed update (RoFL, Lycklama et al. S&P 2023;
    the proof is :mod:`fedsim.privacy.l2proof`); the server drops failures and checks the
    accepted commitments against the aggregate, as :class:`RangeProofs` does.

    Unlike sampled L∞ range proofs this bounds the update's *size*: a boosted update whose
    every coordinate is within the L∞ bound is still rejected. The proved vector is the whole
    flat update, or only ``part`` (a slice: one weight tensor, ``privacy.zkp.layer``), because
    proving costs ~3 ms and verifying ~4 ms per coordinate per client (measured, see
    :mod:`fedsim.privacy.l2proof`); a bound on one layer does not bound the others.

    Honest clients clip the proved part to L2 norm ``clip`` (default ``bound``) and commit to
    trunc(Δ·127/bound), which never exceeds the bound (:func:`~fedsim.privacy.l2proof.quantize_l2`),
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
        from fedsim.privacy.l2proof import prove_l2_with_openings, quantize_l2

        ids = tuple(int(c) for c in batch.client_ids)
        sl = self._part(batch.deltas.shape[1])
        deltas = batch.deltas.copy()
        uploads, clipped, norms = [], 0, []
        for row, u in enumerate(ids):
            t0 = time.perf_counter()
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
            rng = generator(ctx.seed, "zkp", ctx.round, "l2prover", u)
            proof, rand = prove_l2_with_openings(q, L2_UNITS, rng=rng, round=ctx.round,
                                                 client_id=u)
            uploads.append(L2Upload(u, proof, tuple(int(v) for v in q), tuple(rand),
                                    (time.perf_counter() - t0) * 1e3))
        nbytes = np.array([up.proof.nbytes + up.proof.commitments_nbytes for up in uploads],
                          np.int64)
        prove_ms = np.array([up.prove_ms for up in uploads])
        n = len(ids)
        meas = {
            "norm": "l2", "bound": self.bound, "layer": self.layer,
            "coordinates_checked": int(sl.stop - sl.start),
            "clients": list(ids),
            "prove_ms": [float(t) for t in prove_ms],
            "client_ms": float(prove_ms.sum()),
            "prove_ms_per_client": float(prove_ms.mean()) if n else 0.0,
            "proof_bytes_per_client": int(nbytes.mean()) if n else 0,
            "bytes_per_client": int(nbytes.mean()) if n else 0,
            "honest_clipped": clipped,
        }
        out = batch.replace(deltas=deltas, bytes_up=batch.bytes_up + nbytes)
        return out.with_payload(self.name, PerClient(tuple(uploads))), state, ProofReport(**meas)

    # ---- server side, before the sum
    def receive(self, ctx: RoundContext, state, batch: UpdateBatch):
        from fedsim.privacy.l2proof import check_l2

        accepted, report = verify_all(batch, self.name, lambda up, u: check_l2(
            up.proof.commitments, up.proof, L2_UNITS, round=ctx.round, client_id=u), norm="l2")
        return accepted, state, report

    # ---- server side, after the sum: the accepted commitments open to the aggregate used
    def server(self, ctx: RoundContext, state, agg: Aggregate, accepted: UpdateBatch):
        if self.name not in accepted.payload:
            return agg, state, None
        from fedsim.privacy.l2proof import _safe_add

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
            acc, m, r = IDENTITY, 0, 0
            for weight, up in zip(wi, ups):
                c = up.proof.commitments[i]
                acc = _safe_add(acc, _mul(weight, c))
                m += weight * up.values[i]
                r += weight * up.randomness[i]
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


def verify_all(batch: UpdateBatch, name: str, check, norm: str | None = None):
    """Check every arrived proof with ``check(upload, client_id) -> (ok, reason)``; return
    the accepted rows and the :class:`VerifyReport` (shared by the L∞ and L2 mechanisms)."""
    uploads = batch.payload[name].items
    ids = tuple(int(c) for c in batch.client_ids)
    keep, reasons, verify_ms = [], [], []
    for u, up in zip(ids, uploads):
        t0 = time.perf_counter()
        if up.client_id != u:
            ok, why = False, "payload row belongs to another client"
        else:
            ok, why = check(up, u)
        verify_ms.append((time.perf_counter() - t0) * 1e3)
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
        from fedsim.data.datasets import load_dataset
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

"""Zero-knowledge proofs that a committed integer vector has a bounded L2 norm (RoFL-style).

An L∞ range proof on each coordinate (:mod:`fedsim.privacy.zkp`) does not bound an update's
size: a client may put every one of P coordinates at the L∞ bound, so its L2 norm can reach
√P times the bound, and a boosted (model-replacement) update passes. RoFL (Lycklama, Burkhalter,
Viand, Küchler, Hithnawi, "RoFL: Robustness of Secure Federated Learning", IEEE S&P 2023, §4
"L2-norm bound") enforces ‖x‖₂ ≤ B on the *committed* update instead. For a quantized update
x ∈ Z^n (integers, e.g. ``trunc(Δ · 2^f)``) the client publishes and proves:

1. **Commitments to the coordinates**, C_i = x_i·V + r_i·B (Pedersen, on BLS12-381's G1, exactly
   :func:`fedsim.privacy.zkp.commit`). These are the commitments RoFL checks against the
   secure aggregate; they are the ``commitments`` argument of :func:`verify_l2`.
2. **Commitments to the squares**, D_i = x_i²·V + t_i·B.
3. **A proof of the square relation** for each i. Writing D_i = x_i·C_i + ρ_i·B with
   ρ_i = t_i − x_i·r_i, this is a Schnorr-type proof of knowledge of (x_i, r_i, ρ_i) with
   C_i = x_i·V + r_i·B **and** D_i = x_i·C_i + ρ_i·B, the same x_i in both (the standard
   "committed square" proof; e.g. Camenisch–Michels, EUROCRYPT 1999; RoFL's square proofs).
   Announcements A₁ = a·V + b·B, A₂ = a·C_i + c·B; challenge e = Fiat–Shamir hash (SHA-512 of
   a domain tag, round, client, the whole vector of commitments, i, C_i, D_i, A₁, A₂) mod ℓ;
   responses z_x = a + e·x_i, z_r = b + e·r_i, z_ρ = c + e·ρ_i. The verifier checks
   z_x·V + z_r·B = A₁ + e·C_i and z_x·C_i + z_ρ·B = A₂ + e·D_i. 2 points + 3 scalars.
4. **A range proof on the sum of squares**: S = Σ D_i commits to s = Σ x_i² with randomness
   Σ t_i, so B²·V − S commits to B² − s; the client proves B² − s ∈ [0, 2^L) with
   L = bitlen(B²) by bit decomposition (:func:`fedsim.privacy.zkp.prove_coordinate`, the
   Cramer–Damgård–Schoenmakers OR-proof per bit), which holds iff s ≤ B².
5. **Per-coordinate range proofs against wrap-around** (RoFL notes the same requirement): the
   relations above hold modulo the group order ℓ ≈ 2^252, and a cheater could commit to huge
   residues whose squares wrap to small values mod ℓ. Each x_i is therefore also proved to lie
   in [−M, 2^k − M) with M = ⌊B⌋ and k = bitlen(2M) (a range proof on C_i + M·V). Then
   s ≤ n·4^k ≪ ℓ cannot wrap. An honest vector with ‖x‖ ≤ B has |x_i| ≤ B, so this never
   rejects an honest client; it is also why proving is dominated by these k-bit proofs.

The bound may be given as an int or float (in quantized units); the proven threshold is
B² := ⌊bound²⌋, computed exactly (:class:`fractions.Fraction`), so an integer vector satisfies
it iff its real norm is ≤ bound. :func:`quantize_l2` clips a float vector to an L2 norm and
truncates toward zero, which never increases the norm, so honest clients always verify.

**Fiat–Shamir and reuse.** The square proofs hash the whole statement (all C_i and D_i) with
round and client. The bit proofs reuse :mod:`fedsim.privacy.zkp` unchanged, whose challenges
hash (round, client, index, bit, the committed value's commitment, the bit commitment); the
per-coordinate proofs use index i and the sum proof index :data:`SUM_INDEX`. Every statement's
commitment is hashed, so a proof cannot be moved to another statement.

**Randomness.** Blinding factors and nonces come from the ``rng`` passed in (a seeded
:func:`fedsim.rng.generator` stream, for reproducible teaching runs); with ``rng=None`` they
come from ``os.urandom``, as a real client must draw them.

**Cost** (BLS12-381 G1 through arkworks, :mod:`.group`; bound 127, i.e. 8-bit coordinates and
a 14-bit sum): the prover multiplies only the fixed bases B and V (it knows every opening, so
even A₂ = a·C_i + c·B is (a·x_i)·V + (a·r_i + c)·B), 4 fixed-base multiplications per proven
bit and 6 per coordinate for the square proof, ~0.9 ms a coordinate; the verifier checks the
whole proof as one batch, ~29 points of one multi-scalar multiplication per coordinate. A
whole 2,410-parameter update is therefore ~2-3 s of one core per client to prove and ~1 s to
verify (was ~12 s on ed25519 through libsodium, whose 70 µs variable-base multiplication came
three times per bit). Bulletproofs (Bünz, Bootle, Boneh, Poelstra, Wuille, Maxwell, S&P 2018)
would shrink the proof to O(log n) points, but their prover's O(log n) multi-scalar
multiplications over all n·k generators cost more here than these bit proofs (measured
estimate: ~10 s per client at n·k = 19,280), so they are not used. ``zkp.layer`` proves one
weight tensor.
"""

from __future__ import annotations

import hashlib
import math
import os
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from fedsim.privacy.zkp.group import (BAD, ORDER, POINT_BYTES, RESPONSE_BYTES, SCALAR_BYTES,
                                      Batch, add, base_point, challenge, decode, encode,
                                      random_scalars, value_point)
from fedsim.privacy.zkp.range_proof import (CoordinateProof, Rejected, add_coordinate,
                                            prove_coordinate, verify_coordinate)

DOMAIN = b"fedsim/l2proof/v2"
#: The ``index`` under which the sum-of-squares range proof is bound (coordinates use 0…n−1).
SUM_INDEX = 2 ** 64 - 1
#: A₁ ‖ A₂ ‖ z_x ‖ z_r ‖ z_ρ
SQUARE_PROOF_BYTES = 2 * POINT_BYTES + 3 * SCALAR_BYTES
BIT_BYTES = POINT_BYTES + RESPONSE_BYTES    # one bit of a range proof: C_j and e0 ‖ e1 ‖ z0 ‖ z1


class _OsRandom:
    """``rng.bytes(n)`` from the operating system (what a real client must use)."""

    @staticmethod
    def bytes(n: int) -> bytes:
        return os.urandom(n)


# --------------------------------------------------------------------------- parameters
def bound_squared(bound) -> int:
    """B² = ⌊bound²⌋, exactly (bound is an int, float or Fraction in quantized units)."""
    b = Fraction(bound)
    if b <= 0:
        raise ValueError(f"bound must be positive, got {bound}")
    return math.floor(b * b)


def coordinate_bits(bound) -> int:
    """k: each coordinate is proved in [−⌊B⌋, 2^k − ⌊B⌋), which holds every |x_i| ≤ B."""
    return max(1, (2 * math.floor(Fraction(bound))).bit_length())


def sum_bits(bound) -> int:
    """L = bitlen(B²): B² − Σx_i² ∈ [0, 2^L) iff Σx_i² ≤ B² (no wrap-around, see module doc)."""
    return max(1, bound_squared(bound).bit_length())


def proof_size(n: int, bound) -> dict:
    """Bytes a client sends for an n-coordinate L2 proof, by part (points 96 B, scalars 32 B).

    ``commitments`` (the C_i) are sent anyway with secure aggregation in RoFL; ``proof`` is
    what the L2 check adds: the D_i, the square proofs and both kinds of range proofs.
    """
    k, L = coordinate_bits(bound), sum_bits(bound)
    parts = {
        "commitments": n * POINT_BYTES,
        "square_commitments": n * POINT_BYTES,
        "square_proofs": n * SQUARE_PROOF_BYTES,
        "coordinate_range_proofs": n * k * BIT_BYTES,
        "sum_range_proof": L * BIT_BYTES,
    }
    parts["proof"] = sum(v for key, v in parts.items() if key != "commitments")
    parts["total"] = parts["proof"] + parts["commitments"]
    return parts


# --------------------------------------------------------------------------- quantization
def quantize_l2(x, bound: float, scale: float) -> np.ndarray:
    """Clip float ``x`` to L2 norm ``bound``, scale by ``scale`` and truncate toward zero.

    |trunc(t)| ≤ |t| per coordinate, so ‖q‖ ≤ bound·scale: the result always satisfies
    :func:`prove_l2` with bound ``bound * scale`` (round-to-nearest could push it over).
    """
    x = np.asarray(x, np.float64).ravel()
    norm = float(np.linalg.norm(x))
    if norm > bound:
        x = x * (bound / norm)
    return np.trunc(x * scale).astype(np.int64)


# --------------------------------------------------------------------------- proof objects
@dataclass(frozen=True)
class L2Proof:
    """One client's proof that the vector committed in ``commitments`` has ‖x‖₂ ≤ bound.

    ``commitments`` are the C_i (public, and what the aggregate is checked against);
    everything else is the proof proper. Each coordinate range proof carries its own
    commitment C_i + M·V, which the verifier recomputes (so it is not counted in ``nbytes``).
    """

    client_id: int
    round: int
    bound_sq: int
    coord_bits: int
    commitments: tuple[bytes, ...]          # C_i
    square_commitments: tuple[bytes, ...]   # D_i
    square_proofs: tuple[bytes, ...]        # A1 ‖ A2 ‖ z_x ‖ z_r ‖ z_rho
    coordinate_proofs: tuple[CoordinateProof, ...]
    sum_proof: CoordinateProof

    @property
    def n(self) -> int:
        return len(self.commitments)

    @property
    def nbytes(self) -> int:
        """Bytes of the proof proper (without the C_i and the recomputable range commitments)."""
        bits = sum(len(p.bit_commitments) for p in self.coordinate_proofs)
        bits += len(self.sum_proof.bit_commitments)
        return (len(self.square_commitments) * POINT_BYTES +
                len(self.square_proofs) * SQUARE_PROOF_BYTES + bits * BIT_BYTES)

    @property
    def commitments_nbytes(self) -> int:
        return len(self.commitments) * POINT_BYTES


def _statement_digest(rnd: int, cid: int, bound_sq: int, cs: Sequence[bytes],
                      ds: Sequence[bytes]) -> bytes:
    h = hashlib.sha512(DOMAIN + b"/statement" + struct.pack("<QQQ", rnd, cid, len(cs)))
    h.update(bound_sq.to_bytes((bound_sq.bit_length() + 8) // 8, "little"))
    for c in cs:
        h.update(c)
    for d in ds:
        h.update(d)
    return h.digest()


def _square_challenge(digest: bytes, i: int, c: bytes, d: bytes, a1: bytes, a2: bytes) -> int:
    return challenge(DOMAIN + b"/square" + digest + struct.pack("<Q", i), c, d, a1, a2)


# --------------------------------------------------------------------------- prove / verify
def prove_l2_with_openings(quantized_vector, bound, *, rng=None, round: int = 0,
                           client_id: int = 0,
                           randomness: Optional[Sequence[int]] = None) -> tuple[L2Proof, list[int]]:
    """:func:`prove_l2`, also returning the blinding factors r_i of the C_i (the client's
    secret openings, which RoFL sends only inside the secure sum for the aggregate check)."""
    x = [int(v) for v in np.asarray(quantized_vector).ravel()]
    bsq = bound_squared(bound)
    m_shift = math.floor(Fraction(bound))
    k, L = coordinate_bits(bound), sum_bits(bound)
    rng = _OsRandom() if rng is None else rng
    n = len(x)
    r = (random_scalars(rng, n) if randomness is None
         else [int(v) % ORDER for v in randomness])
    if len(r) != n:
        raise ValueError(f"randomness has {len(r)} entries for {n} coordinates")
    t = random_scalars(rng, n)
    nonces = iter(random_scalars(rng, 3 * n))       # a, b, c per coordinate, in this order
    c_pts = [value_point(xi) + base_point(ri) for xi, ri in zip(x, r)]
    cs = [encode(c) for c in c_pts]
    ds = [encode(value_point(xi * xi) + base_point(ti)) for xi, ti in zip(x, t)]
    digest = _statement_digest(round, client_id, bsq, cs, ds)

    squares = []
    for i, (xi, ri, ti, ci, di) in enumerate(zip(x, r, t, cs, ds)):
        rho = (ti - xi * ri) % ORDER
        a, b, c = next(nonces), next(nonces), next(nonces)
        a1 = encode(value_point(a) + base_point(b))
        # a·C_i + c·B = (a·x_i)·V + (a·r_i + c)·B: the prover knows C_i's opening, so it
        # multiplies fixed bases only
        a2 = encode(value_point(a * xi) + base_point(a * ri + c))
        e = _square_challenge(digest, i, ci, di, a1, a2)
        zs = ((a + e * xi) % ORDER, (b + e * ri) % ORDER, (c + e * rho) % ORDER)
        squares.append(a1 + a2 + b"".join(z.to_bytes(SCALAR_BYTES, "little") for z in zs))

    shift = value_point(m_shift)
    coord = tuple(prove_coordinate(xi + m_shift, ri, k, round, client_id, i, rng,
                                   c_v=encode(c_pt + shift))
                  for i, (xi, ri, c_pt) in enumerate(zip(x, r, c_pts)))
    s = sum(xi * xi for xi in x)
    sum_proof = prove_coordinate(bsq - s, (-sum(t)) % ORDER, L, round, client_id, SUM_INDEX, rng)
    proof = L2Proof(int(client_id), int(round), bsq, k, tuple(cs), tuple(ds), tuple(squares),
                    coord, sum_proof)
    return proof, r


def prove_l2(quantized_vector, bound, *, rng=None, round: int = 0, client_id: int = 0,
             randomness: Optional[Sequence[int]] = None) -> L2Proof:
    """Commit to the integer vector x and prove ‖x‖₂ ≤ ``bound`` in zero knowledge (RoFL).

    Parameters
    ----------
    quantized_vector:
        The integer coordinates x_i (any shape; flattened), e.g. from :func:`quantize_l2`.
    bound:
        B in the same integer units (int, float or Fraction); the proven statement is
        Σ x_i² ≤ ⌊B²⌋.
    rng:
        Source of blinding factors and nonces, anything with ``.bytes(n)`` (a seeded
        ``fedsim.rng.generator(seed, "l2proof", round, client)`` for reproducible runs);
        ``None`` uses ``os.urandom``.
    round, client_id:
        Bound into every Fiat–Shamir challenge, so a proof cannot be replayed elsewhere.
    randomness:
        Optional blinding factors r_i for the C_i (e.g. the ones used in the aggregate check).

    A vector over the bound still gets a "proof" (the prover runs as a cheater would, using
    B² − s mod 2^L for the bits); :func:`verify_l2` rejects it.
    """
    return prove_l2_with_openings(quantized_vector, bound, rng=rng, round=round,
                                  client_id=client_id, randomness=randomness)[0]


def _square_scalars(i: int, sp) -> tuple[bytes, bytes, int, int, int]:
    if not isinstance(sp, bytes) or len(sp) != SQUARE_PROOF_BYTES:
        raise Rejected(f"coordinate {i}: malformed square proof")
    a1, a2 = sp[:POINT_BYTES], sp[POINT_BYTES:2 * POINT_BYTES]
    zx, zr, zp = (int.from_bytes(sp[o:o + SCALAR_BYTES], "little")
                  for o in range(2 * POINT_BYTES, SQUARE_PROOF_BYTES, SCALAR_BYTES))
    if max(zx, zr, zp) >= ORDER:
        raise Rejected(f"coordinate {i}: non-canonical scalar in the square proof")
    return a1, a2, zx, zr, zp


def _add_square(batch: Batch, digest: bytes, i: int, ci: bytes, di: bytes, c_pt, d_pt, sp,
                which: tuple[bool, bool] = (True, True)) -> None:
    """A₁ + e·C_i − z_x·V − z_r·B = 0 and A₂ + e·D_i − z_x·C_i − z_ρ·B = 0, weighted (the
    signs keep the announcements' weights 128-bit, as in :mod:`.range_proof`)."""
    a1, a2, zx, zr, zp = _square_scalars(i, sp)
    e = _square_challenge(digest, i, ci, di, a1, a2)
    w1, w2 = batch.weight(), batch.weight()
    w1, w2 = (w1 if which[0] else 0), (w2 if which[1] else 0)
    batch.v -= w1 * zx
    batch.b -= w1 * zr + w2 * zp
    batch.term(decode(a1), w1)
    batch.term(decode(a2), w2)
    batch.term(c_pt, w1 * e - w2 * zx)
    batch.term(d_pt, w2 * e)


def _diagnose_l2(proof: L2Proof, cs, digest: bytes, c_pts, d_pts, k: int, L: int) -> str:
    """Which part of a proof whose batch failed is false (only a cheater pays for this)."""
    for i, (ci, di, sp) in enumerate(zip(cs, proof.square_commitments, proof.square_proofs)):
        for which, why in (((True, False), "the square proof does not open C_i"),
                           ((False, True), "D_i is not a commitment to the square of x_i")):
            one = Batch(digest + struct.pack("<QB", i, which[0]), 2)
            _add_square(one, digest, i, ci, di, c_pts[i], d_pts[i], sp, which)
            if not one.holds():
                return f"coordinate {i}: {why}"
    for cp in proof.coordinate_proofs:
        ok, why = verify_coordinate(cp, k, proof.round, proof.client_id)
        if not ok:
            return f"coordinate range: {why}"
    ok, why = verify_coordinate(proof.sum_proof, L, proof.round, proof.client_id)
    if not ok:
        return "the sum of squares exceeds the bound: " + why.split(": ", 1)[-1]
    return "the batch check fails"     # pragma: no cover - weights 2^-128 apart


def check_l2(commitments: Sequence[bytes], proof: L2Proof, bound, *,
             round: Optional[int] = None, client_id: Optional[int] = None) -> tuple[bool, str]:
    """Verify ``proof`` for ``commitments`` and ``bound``; returns (ok, reason).

    ``round`` and ``client_id``, when given, must match the proof's (the verifier's own view
    of who sent it and when). Every equation of the proof (square relations, the bits of every
    coordinate's range proof and of the sum's, the bit sums) is checked as one batch
    (:class:`fedsim.privacy.zkp.group.Batch`); the commitments the range proofs are about are
    recomputed from the C_i and D_i and compared byte for byte.
    """
    try:
        bsq = bound_squared(bound)
        k, L = coordinate_bits(bound), sum_bits(bound)
        m_shift = math.floor(Fraction(bound))
        cs = tuple(commitments)
        n = len(cs)
        if round is not None and proof.round != round:
            return False, "proof made for another round"
        if client_id is not None and proof.client_id != client_id:
            return False, "proof made for another client"
        if proof.bound_sq != bsq or proof.coord_bits != k:
            return False, "proof made for another bound"
        if tuple(proof.commitments) != cs:
            return False, "proof is for other commitments"
        if not (len(proof.square_commitments) == len(proof.square_proofs) ==
                len(proof.coordinate_proofs) == n):
            return False, "proof has the wrong number of parts"
        for p in (*cs, *proof.square_commitments):
            if not isinstance(p, bytes) or len(p) != POINT_BYTES:
                return False, "a commitment is not a valid group element"
        c_pts = [decode(c) for c in cs]
        d_pts = [decode(d) for d in proof.square_commitments]
        digest = _statement_digest(proof.round, proof.client_id, bsq, cs, proof.square_commitments)
        h = hashlib.sha512(DOMAIN + b"/batch" + digest)
        for sp in proof.square_proofs:
            h.update(sp if isinstance(sp, bytes) else b"")
        for cp in (*proof.coordinate_proofs, proof.sum_proof):
            for part in (cp.commitment, *cp.bit_commitments, *cp.responses):
                h.update(part if isinstance(part, bytes) else b"")
        batch = Batch(h.digest(), n * (2 + 2 * k + 1) + 2 * L + 1)

        # 3. square relations
        for i, (ci, di, sp) in enumerate(zip(cs, proof.square_commitments, proof.square_proofs)):
            _add_square(batch, digest, i, ci, di, c_pts[i], d_pts[i], sp)
        # 5. per-coordinate range (no wrap-around), about C_i + M·V
        shift = value_point(m_shift)
        for i, (c_pt, cp) in enumerate(zip(c_pts, proof.coordinate_proofs)):
            c_v = c_pt + shift
            if cp.index != i or cp.commitment != encode(c_v):
                return False, f"coordinate {i}: range proof is for another commitment"
            add_coordinate(batch, cp, k, proof.round, proof.client_id, c_v_point=c_v)
        # 4. range proof on B² − Σ x_i²
        s_pt = value_point(bsq)
        for d in d_pts:
            s_pt = s_pt - d
        sp = proof.sum_proof
        if sp.index != SUM_INDEX or sp.commitment != encode(s_pt):
            return False, "sum-of-squares range proof is for another commitment"
        add_coordinate(batch, sp, L, proof.round, proof.client_id, c_v_point=s_pt)
        if not batch.holds():
            return False, _diagnose_l2(proof, cs, digest, c_pts, d_pts, k, L)
    except Rejected as exc:
        return False, str(exc)
    except BAD as exc:
        return False, f"invalid group element ({exc})"
    except (AttributeError, IndexError) as exc:
        return False, f"malformed proof ({exc})"
    return True, "ok"


def verify_l2(commitments: Sequence[bytes], proof: L2Proof, bound, *,
              round: Optional[int] = None, client_id: Optional[int] = None) -> bool:
    """True iff ``proof`` shows the vector committed in ``commitments`` has ‖x‖₂ ≤ ``bound``."""
    return check_l2(commitments, proof, bound, round=round, client_id=client_id)[0]


def commitment_sum(commitments_per_client: Sequence[Sequence[bytes]]) -> list[bytes]:
    """Coordinate-wise Σ_k C_{k,i}: opens to (Σ_k x_{k,i}, Σ_k r_{k,i}), for RoFL's check that
    the accepted clients' commitments match the secure aggregate."""
    rows = [list(c) for c in commitments_per_client]
    if not rows:
        return []
    out = rows[0][:]
    for row in rows[1:]:
        out = [add(a, b) for a, b in zip(out, row)]
    return out

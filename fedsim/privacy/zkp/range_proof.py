"""Zero-knowledge range proofs on committed update coordinates (input validation, RoFL-style).

The proofs themselves; the pipeline mechanism that uses them is :mod:`.mechanism`, the group
and commitments :mod:`.group`.

Used by RoFL-style input validation (Lycklama, Burkhalter et al., S&P 2023): a client proves
its committed update is bounded without revealing it. Commitments are Pedersen's on BLS12-381's G1
(:mod:`.group`).

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
do not add up to C_v and the proof is rejected. Each bit costs 96 + 288 bytes.

**Soundness and zero knowledge.** Pedersen commitments are perfectly hiding and binding
under the discrete-logarithm assumption in G1's order-ℓ subgroup (V is hashed to the curve,
:mod:`.group`). The CDS OR-proof is special-sound (two accepting transcripts with
different challenges yield an opening of C_i to 0 or to 1) and special honest-verifier zero
knowledge; with the Fiat–Shamir hash over every public value of the statement (domain tag,
round, client id, coordinate index, bit index, C_v, C_i, both announcements) it is a
non-interactive proof in the random-oracle model, and a proof made for one (round, client,
coordinate) does not verify for another: replaying it elsewhere is rejected. The verifier
rejects non-canonical scalars and encodings and points off the curve, and checks every
equation on the order-ℓ components (cofactored, :mod:`.group`).

**Cost** (BLS12-381 G1 through arkworks, :mod:`.group`): the prover knows the opening of
every commitment, so all its multiplications are by the fixed bases B and V (comb tables):
four per bit. The verifier checks all bits of all coordinates of a client's proof as one
batch (:class:`.group.Batch`): three points of one multi-scalar multiplication per bit
(C_i, a0, a1), plus one per coordinate for the sum check. The proof therefore sends the two
announcements a0, a1 of each bit (and e0, z0, z1; e1 = e − e0) instead of recomputing them:
96 + 288 bytes a bit. When the batch fails the verifier checks coordinate by coordinate and
bit by bit to say which one failed (only a cheater pays for that).

**Randomness.** The prover's nonces come from the generator it is given (named seeded streams
in the simulation, for reproducibility); a real client must draw them from ``os.urandom``
(``secrets``), since predictable nonces leak the committed values.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np

from fedsim.privacy.zkp.group import (BAD, DOMAIN, ORDER, POINT_BYTES, RESPONSE_BYTES,
                                      SCALAR_BYTES, VALUE_BASE_POINT, Batch, _decode, base_point,
                                      challenge, decode, encode, value_point)

# e0, z0, z1 follow the two announcements in a bit's response
_S0 = 2 * POINT_BYTES


# --------------------------------------------------------------------------- proofs
@dataclass(frozen=True)
class CoordinateProof:
    """The proof that one committed coordinate lies in range."""

    index: int                          # which coordinate (public: the challenge)
    commitment: bytes                   # C_v
    bit_commitments: tuple[bytes, ...]  # C_0 … C_{L-1}
    responses: tuple[bytes, ...]        # per bit: a0 ‖ a1 ‖ e0 ‖ z0 ‖ z1

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


@dataclass(frozen=True)
class PreparedCoordinate:
    """The half of one coordinate's proof that does not depend on the value: every random
    scalar and every multiplication (Even, Goldreich, Micali, "On-line/off-line digital
    signatures", CRYPTO 1989: a Σ-protocol's announcements and the simulated branch's values
    are chosen before the message). Made off the round; :func:`prove_coordinate` finishes it
    with additions, encodings and hashes. Secret: it holds the prover's nonces."""

    r: int                                   # C_v's blinding factor
    r_point: object                          # r·B
    rs: tuple[int, ...]                      # the bits' blinding factors, Σ 2^i r_i = r
    scalars: tuple[tuple[int, int, int], ...]   # per bit: e_fake, z_fake, k
    #: per bit, encoded, for b = 0 and for b = 1: C_i and the simulated announcement; then
    #: the real announcement k·B (the same for both)
    encoded: tuple[tuple[bytes, bytes, bytes, bytes, bytes], ...]


def prepare_coordinate(r: int, bits: int, rng, low: Optional[int] = None,
                       pause=None) -> PreparedCoordinate:
    """Draw a coordinate proof's randomness from ``rng`` (exactly what :func:`prove_coordinate`
    draws) and do its multiplications. With ``low`` (the value's bits, when the proof is made
    at once) only the encodings those bits need are made; the others are left empty.
    ``pause()``, when given, is called after each bit (a background thread lets the
    interpreter's other threads in, see :mod:`.ahead`)."""
    # All 4·bits − 1 of this proof's random scalars in one draw (the same bytes, in the same
    # order, as one 64-byte draw each: r_1 … r_{L−1}, then per bit e_fake, z_fake, k).
    pool = rng.bytes(64 * (4 * bits - 1))
    draws = iter([int.from_bytes(pool[o:o + 64], "little") % ORDER
                  for o in range(0, len(pool), 64)])
    rs = [0] + [next(draws) for _ in range(1, bits)]
    rs[0] = (r - sum((1 << i) * rs[i] for i in range(1, bits))) % ORDER   # Σ 2^i r_i = r
    scalars, encoded = [], []
    v_pt = VALUE_BASE_POINT
    for i in range(bits):
        e_f, z_f, k = next(draws), next(draws), next(draws)
        scalars.append((e_f, z_f, k))
        r_pt = base_point(rs[i])
        # The simulated branch's announcement z·B − e·(C_i − j·V) is, with the opening
        # known, (z − e·r_i)·B − e·(b − j)·V with b − j = ±1 (j = 1 − b): both signs are
        # made here, and encoded, so that the round only picks by the bit.
        u_pt, e_pt = base_point(z_f - e_f * rs[i]), value_point(e_f)
        b = None if low is None else (low >> i) & 1
        encoded.append((encode(r_pt) if b != 1 else b"",               # b = 0
                        encode(u_pt + e_pt) if b != 1 else b"",
                        encode(r_pt + v_pt) if b != 0 else b"",        # b = 1
                        encode(u_pt - e_pt) if b != 0 else b"",
                        encode(base_point(k))))
        if pause is not None:
            pause()
    return PreparedCoordinate(r % ORDER, base_point(r), tuple(rs), tuple(scalars),
                              tuple(encoded))


def prove_coordinate(v: int, r: int, bits: int, rnd: int, cid: int, index: int,
                     rng: Optional[np.random.Generator], c_v: Optional[bytes] = None,
                     prepared: Optional[PreparedCoordinate] = None) -> CoordinateProof:
    """Commit to v with randomness r and prove v ∈ [0, 2^bits).

    An honest v is in range. For any other v the prover still runs (a cheating client uses v
    mod 2^bits for the bits), and the verifier's sum check fails. ``c_v``, when the caller has
    it already, is the encoded commitment to (v, r); ``prepared`` (from
    :func:`prepare_coordinate` with the same r and a generator in the same state) gives the
    same proof, byte for byte, without drawing from ``rng``.
    """
    if prepared is None:
        prepared = prepare_coordinate(r, bits, rng, low=v % (1 << bits))
    elif prepared.r != r % ORDER or len(prepared.rs) != bits:
        raise ValueError("prepared for another blinding factor or bit width")
    if c_v is None:
        c_v = encode(value_point(v) + prepared.r_point)
    low = v % (1 << bits)
    cs, resp = [], []
    for i in range(bits):
        b = (low >> i) & 1
        ri = prepared.rs[i]
        e_f, z_f, k = prepared.scalars[i]
        # branch j's statement is C_i − j·V = r_i·B + (b − j)·V, true iff j = b; the other
        # branch (j = 1 − b) is simulated
        enc = prepared.encoded[i]
        c_i, a_fake, a_real = (enc[2], enc[3], enc[4]) if b else (enc[0], enc[1], enc[4])
        a0, a1 = (a_real, a_fake) if b == 0 else (a_fake, a_real)
        total = challenge(_bit_context(rnd, cid, index, i, c_v), c_i, a0, a1)
        e_r = (total - e_f) % ORDER
        z_r = (k + e_r * ri) % ORDER
        e0, z0, z1 = (e_r, z_r, z_f) if b == 0 else (e_f, z_f, z_r)
        cs.append(c_i)
        resp.append(b"".join((a0, a1, e0.to_bytes(SCALAR_BYTES, "little"),
                              z0.to_bytes(SCALAR_BYTES, "little"),
                              z1.to_bytes(SCALAR_BYTES, "little"))))
    return CoordinateProof(index, c_v, tuple(cs), tuple(resp))


# --------------------------------------------------------------------------- verification
class Rejected(Exception):
    """A proof that is malformed before any group arithmetic (the reason is the message)."""


def _digest_proof(h, p: CoordinateProof) -> None:
    h.update(struct.pack("<Q", p.index))
    h.update(p.commitment)
    for c in p.bit_commitments:
        h.update(c)
    for r in p.responses:
        h.update(r)


def add_coordinate(batch: Batch, p: CoordinateProof, bits: int, rnd: int, cid: int,
                   c_v_point=None, only_bit: Optional[int] = None) -> None:
    """Add one coordinate's equations to ``batch`` (raises :class:`Rejected` or a decoding
    error for a malformed proof).

    Per bit: z0·B = a0 + e0·C_i and z1·B = a1 + e1·(C_i − V) with e1 = H(…) − e0; per
    coordinate: Σ 2^i·C_i = C_v. ``only_bit``: that bit's two equations alone (to say which
    bit of a failed batch is false).
    """
    if len(p.bit_commitments) != bits or len(p.responses) != bits:
        raise Rejected(f"coordinate {p.index}: expected {bits} bits")
    c_v = decode(p.commitment) if c_v_point is None else c_v_point
    rs = batch.weight() if only_bit is None else 0
    # The hot loop of a round's verification (~25,000 bits at 320 coordinates × 10 clients):
    # local names, no helper calls.
    points, coeffs, weight, dec = batch.points, batch.scalars, batch.weight, _decode
    head = DOMAIN + b"/bit" + struct.pack("<QQQ", rnd, cid, p.index)
    tail, order, sha = p.commitment, ORDER, hashlib.sha512
    db = dv = 0
    for i, (c_i, r) in enumerate(zip(p.bit_commitments, p.responses)):
        if only_bit is not None and i != only_bit:
            continue
        if not isinstance(c_i, bytes) or len(c_i) != POINT_BYTES or \
                not isinstance(r, bytes) or len(r) != RESPONSE_BYTES:
            raise Rejected(f"coordinate {p.index} bit {i}: malformed commitment or response")
        e0 = int.from_bytes(r[_S0:_S0 + SCALAR_BYTES], "little")
        z0 = int.from_bytes(r[_S0 + SCALAR_BYTES:_S0 + 2 * SCALAR_BYTES], "little")
        z1 = int.from_bytes(r[_S0 + 2 * SCALAR_BYTES:], "little")
        if e0 >= order or z0 >= order or z1 >= order:
            raise Rejected(f"coordinate {p.index} bit {i}: non-canonical scalar")
        a0, a1 = r[:POINT_BYTES], r[POINT_BYTES:_S0]
        # the challenge of _bit_context(…) ‖ C_i ‖ a0 ‖ a1, as in the prover
        e = int.from_bytes(sha(head + bytes((i,)) + tail + c_i + a0 + a1).digest(), "little")
        e1 = (e - e0) % order
        # a0 + e0·C_i − z0·B = 0 and a1 + e1·C_i − e1·V − z1·B = 0, weighted; the signs keep
        # the announcements' coefficients 128-bit (a negative one would be ℓ − w, 255 bits,
        # and the MSM's cost grows with the scalars' length)
        w0, w1 = weight(), weight()
        db -= w0 * z0 + w1 * z1
        dv -= w1 * e1
        points += (dec(a0), dec(a1), dec(c_i))
        coeffs += (w0, w1, w0 * e0 + w1 * e1 - (rs << i))
    batch.b += db
    batch.v += dv
    if only_bit is None:
        points.append(c_v)
        coeffs.append(rs)


def _seed(rnd: int, cid: int, bits: int, proofs) -> bytes:
    h = hashlib.sha512(DOMAIN + b"/range-batch" + struct.pack("<QQB", rnd, cid, bits))
    for p in proofs:
        _digest_proof(h, p)
    return h.digest()


def _diagnose(p: CoordinateProof, bits: int, rnd: int, cid: int) -> str:
    """Why a coordinate's batch failed: the first bit whose OR-proof fails, else the sum."""
    for i in range(bits):
        one = Batch(_seed(rnd, cid, bits, [p]) + bytes([i]), 2)
        add_coordinate(one, p, bits, rnd, cid, only_bit=i)
        if not one.holds():
            return (f"coordinate {p.index} bit {i}: the OR-proof fails (not a commitment to 0 "
                    "or 1)")
    return f"coordinate {p.index}: the bits do not add up to the committed value (out of range)"


def verify_coordinates(proofs, bits: int, rnd: int, cid: int) -> tuple[bool, str]:
    """Check several coordinates' proofs as one batch; returns (ok, reason)."""
    proofs = list(proofs)
    try:
        batch = Batch(_seed(rnd, cid, bits, proofs), sum(2 * bits + 1 for _ in proofs))
        for p in proofs:
            try:
                add_coordinate(batch, p, bits, rnd, cid)
            except BAD as exc:
                return False, f"coordinate {p.index}: invalid group element ({exc})"
        if batch.holds():
            return True, "ok"
        for p in proofs:         # find the culprit (a cheater's proof only)
            one = Batch(_seed(rnd, cid, bits, [p]), 2 * bits + 1)
            add_coordinate(one, p, bits, rnd, cid)
            if not one.holds():
                return False, _diagnose(p, bits, rnd, cid)
        return False, "the batch check fails"   # pragma: no cover - weights 2^-128 apart
    except Rejected as exc:
        return False, str(exc)
    except (AttributeError, TypeError, struct.error) as exc:
        return False, f"malformed proof ({exc})"


def verify_coordinate(p: CoordinateProof, bits: int, rnd: int, cid: int) -> tuple[bool, str]:
    """Check one coordinate's proof; returns (ok, reason)."""
    return verify_coordinates([p], bits, rnd, cid)


def verify_range_proofs_together(items) -> bool:
    """True iff every ``(proof, expected_coords, bits, rnd, cid)`` of ``items`` verifies, all
    checked as one batch (one multi-scalar multiplication for the whole round; the weights
    hash every proof). False says only that some proof fails: check them one by one
    (:func:`verify_range_proof`) to know which and why."""
    items = list(items)
    try:
        h = hashlib.sha512(DOMAIN + b"/round-batch")
        total = 0
        for proof, expected, bits, rnd, cid in items:
            if proof.client_id != cid or proof.round != rnd or proof.bits != bits or \
                    tuple(c.index for c in proof.coordinates) != tuple(int(j) for j in expected):
                return False
            h.update(_seed(rnd, cid, bits, proof.coordinates))
            total += len(proof.coordinates) * (2 * bits + 1)
        batch = Batch(h.digest(), total)
        for proof, _, bits, rnd, cid in items:
            for p in proof.coordinates:
                add_coordinate(batch, p, bits, rnd, cid)
        return batch.holds()
    except (Rejected, AttributeError, TypeError, struct.error, *BAD):
        return False


def verify_range_proof(proof: RangeProof, expected_coords: Iterable[int], bits: int,
                       rnd: int, cid: int) -> tuple[bool, str]:
    """Check a client's whole proof against the round's challenge; returns (ok, reason)."""
    expected = tuple(int(j) for j in expected_coords)
    if proof.client_id != cid or proof.round != rnd or proof.bits != bits:
        return False, "proof made for another client, round or bit width"
    if tuple(c.index for c in proof.coordinates) != expected:
        return False, "proof does not cover the challenged coordinates"
    return verify_coordinates(proof.coordinates, bits, rnd, cid)

"""The group the proofs live in: BLS12-381's G1 through arkworks (``py-arkworks-bls12381``), and
Pedersen commitments on it (Pedersen, "Non-interactive and information-theoretic secure
verifiable secret sharing", CRYPTO 1991).

C = m·V + r·B, where B is G1's standard generator and V = hash_to_curve(tag) (the IETF
hash-to-curve suite BLS12381G1_XMD:SHA-256_SSWU_RO_, RFC 9380), so nobody knows log_B V and
nobody can open C two ways (binding under the discrete-logarithm assumption in the order-ℓ
subgroup, ℓ ≈ 2^255; hiding is perfect since r is uniform). Commitments are additive:
C(m1, r1) + C(m2, r2) = C(m1 + m2, r1 + r2).

**Why this group** (issue #26, measured on this project's 2-core machine): arkworks adds two
points in 0.65 µs and offers a Pippenger multi-scalar multiplication (MSM, ~15 µs a point at
the sizes of one client's proof), which libsodium's ed25519 (PyNaCl) does not: there a
variable-base multiplication was 70 µs and an addition 13 µs, so every bit of a range proof
cost three multiplications. Here

- the prover multiplies only the two fixed bases B and V, through comb tables of 12-bit windows
  (22 table look-ups and additions, ~17 µs, where arkworks' own multiplication takes ~145 µs):
  it knows the opening of every commitment it proves something about, so even the simulated
  branch of an OR-proof, e·(C − j·V), is a combination of B and V;
- the verifier checks all equations of a client's proof at once, as one MSM with random
  weights (batch verification, Bellare, Garay, Rabin, EUROCRYPT 1998, the "small exponents"
  test): a proof with any false equation passes with probability ≤ 2^-128 (:class:`Batch`).

**Points on the wire** are 96 bytes, x ‖ y little-endian (arkworks' uncompressed affine
form; the identity is 96 zero bytes). Decoding checks the encoding is canonical and on the
curve (0.3 µs); it does *not* check membership of the order-ℓ subgroup (~38 µs a point, more
than the rest of the verification). Instead every equation is checked **cofactored**, on
h·(…) with h = G1's cofactor, i.e. on the points' components in the order-ℓ subgroup — as
Ed25519's batch verification does (RFC 8032 §5.1.7; ZIP 215). A commitment's value is that
of its order-ℓ component; a torsion component (order dividing h) carries no value, so adding
one cannot make a false statement pass, and since it changes the encoding it changes every
Fiat–Shamir challenge that hashes the point, so an honest proof moved onto it fails.
:func:`valid_point` (used where a point is checked on its own) does check the subgroup.
"""

from __future__ import annotations

import functools
import hashlib
import os

from py_arkworks_bls12381 import G1Point, Scalar

#: ℓ, the order of G1 (and of the scalars).
ORDER = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001
#: h, G1's cofactor: the curve has h·ℓ points.
COFACTOR = 0x396C8C005555E1568C00AAAB0000AAAB
POINT_BYTES = 96
SCALAR_BYTES = 32
#: one bit's OR-proof responses: a0 ‖ a1 ‖ e0 ‖ z0 ‖ z1 (two announcements, three scalars)
RESPONSE_BYTES = 2 * POINT_BYTES + 3 * SCALAR_BYTES
DOMAIN = b"fedsim/zkp/v2"
#: 96 zero bytes: how arkworks writes the identity (the point at infinity).
IDENTITY = bytes(POINT_BYTES)
BAD = (ValueError, TypeError, OverflowError)

_G = G1Point()
_ID = G1Point.identity()
#: B, the blinding base (G1's standard generator).
BLIND_BASE_POINT = _G
#: V, the value base: hashed to the curve (RFC 9380), so nobody knows log_B V.
VALUE_BASE_POINT = G1Point.hash_to_curve(DOMAIN + b"/pedersen-value-base",
                                         b"FEDSIM-V2-WITH-BLS12381G1_XMD:SHA-256_SSWU_RO_")
VALUE_BASE = VALUE_BASE_POINT.to_xy_bytes_le()
_decode = G1Point.from_xy_bytes_unchecked_le
_from_le = Scalar.from_le_bytes
_msm = G1Point.multiexp_unchecked


# --------------------------------------------------------------------------- encoding
def encode(p: G1Point) -> bytes:
    return p.to_xy_bytes_le()


def decode(b) -> G1Point:
    """A point from its 96-byte encoding: canonical and on the curve, or ValueError (the
    order-ℓ component is what every check uses, see the module docstring)."""
    if not isinstance(b, bytes) or len(b) != POINT_BYTES:
        raise ValueError("a point is 96 bytes")
    return _decode(b)


def to_scalar(x: int) -> Scalar:
    return _from_le((x % ORDER).to_bytes(SCALAR_BYTES, "little"))


# --------------------------------------------------------------------------- fixed bases
_WINDOW = 12
_WINDOWS = (ORDER.bit_length() + _WINDOW - 1) // _WINDOW     # 22
_MASK = (1 << _WINDOW) - 1
_SHIFTS = tuple(range(0, _WINDOW * _WINDOWS, _WINDOW))


def _comb_table(base: G1Point) -> tuple[tuple[G1Point, ...], ...]:
    """table[j][d] = d·2^(12j)·base: 22 × 4,096 points (~0.15 s and ~16 MB per base; 12-bit
    windows take 22 additions a multiplication where 8-bit ones took 32)."""
    rows, start = [], base
    for _ in range(_WINDOWS):
        row, acc = [_ID], _ID
        for _ in range(1, 1 << _WINDOW):
            acc = acc + start
            row.append(acc)
        rows.append(tuple(row))
        start = acc + start
    return tuple(rows)


@functools.lru_cache(maxsize=2)
def _table(which: str):
    # A pure function of public constants, built once per process on first use.
    return _comb_table(BLIND_BASE_POINT if which == "B" else VALUE_BASE_POINT)


def _comb(rows, s: int) -> G1Point:
    s %= ORDER
    acc = _ID
    for row, k in zip(rows, _SHIFTS):
        d = (s >> k) & _MASK
        if d:
            acc = acc + row[d]
        elif not s >> k:             # a small scalar: no digits left
            break
    return acc


def base_point(s: int) -> G1Point:
    """s·B (comb table: ~17 µs against ~145 µs for arkworks' variable-base multiplication)."""
    return _comb(_table("B"), s)


def value_point(m: int) -> G1Point:
    """m·V (comb table)."""
    return _comb(_table("V"), m)


def commit_point(m: int, r: int) -> G1Point:
    return value_point(m) + base_point(r)


# --------------------------------------------------------------------------- bytes API
def mul_value(m: int) -> bytes:
    return encode(value_point(m))


def commit(m: int, r: int) -> bytes:
    """Pedersen commitment C = m·V + r·B (m, r taken modulo ℓ), encoded."""
    return encode(commit_point(m, r))


def mul(s: int, point: bytes) -> bytes:
    """s·P for an encoded point P (arkworks' variable-base multiplication)."""
    return encode(decode(point) * to_scalar(s))


def weighted_sum(points, weights) -> bytes:
    """Σ w_k·P_k for small integer weights (RoFL's aggregate check), encoded."""
    acc = _ID
    for p, w in zip(points, weights):
        acc = acc + (p if w == 1 else p * to_scalar(w))
    return encode(acc)


def valid_point(p) -> bool:
    """A canonical encoding of a point of the order-ℓ subgroup (the identity included)."""
    try:
        return p == IDENTITY or decode(p).is_in_subgroup()
    except BAD:
        return False


def mul_checked(s: int, point: bytes) -> bytes:
    """s·P for a point P received from someone else: raises unless P is in the subgroup."""
    if not valid_point(point):
        raise ValueError("not a point of the order-ℓ subgroup")
    return mul(s, point)


def add(p: bytes, q: bytes) -> bytes:
    return encode(decode(p) + decode(q))


def random_scalars(rng, k: int) -> list[int]:
    """k uniform scalars in one draw (64 bytes each, reduced mod ℓ: statistically uniform;
    seeded for reproducibility only): the same bytes in the same order as k draws of 64."""
    pool = rng.bytes(64 * k) if k else b""
    return [int.from_bytes(pool[o:o + 64], "little") % ORDER for o in range(0, 64 * k, 64)]


def challenge(*parts: bytes) -> int:
    """A Fiat–Shamir challenge: SHA-512 of the parts, reduced mod ℓ."""
    return int.from_bytes(hashlib.sha512(b"".join(parts)).digest(), "little") % ORDER


# --------------------------------------------------------------------------- batch checks
def _times_cofactor(p: G1Point) -> G1Point:
    # Plain double-and-add (~130 µs, once per batch): arkworks' own multiplication may use the
    # GLV endomorphism, which is only correct on the order-ℓ subgroup, and this point need
    # not be in it.
    acc = _ID
    for bit in bin(COFACTOR)[2:]:
        acc = acc + acc
        if bit == "1":
            acc = acc + p
    return acc


class Batch:
    """Equations Σ_k c_k·P_k = 0 (with B and V among the points), checked together.

    Each added equation is multiplied by its own 128-bit weight ρ, derived from ``seed`` (a
    hash of everything the proof contains, so the prover cannot choose the weights: it would
    have to change the proof and thereby every ρ), and the verifier checks
    h·Σ ρ·(equation) = 0 with one MSM. If any equation's order-ℓ part is not zero, the sum is
    zero for at most one value of the last weight in 2^128 (ℓ is prime).
    """

    __slots__ = ("points", "scalars", "b", "v", "_weights", "_seed", "_i")

    def __init__(self, seed: bytes, expected: int = 0):
        self.points: list[G1Point] = []
        self.scalars: list[int] = []
        self.b = 0
        self.v = 0
        stream = hashlib.shake_256(DOMAIN + b"/batch" + seed).digest(16 * max(expected, 1))
        self._weights = iter([int.from_bytes(stream[o:o + 16], "little") | 1
                              for o in range(0, len(stream), 16)])
        self._seed = stream[:16]
        self._i = 0

    def weight(self) -> int:
        self._i += 1
        w = next(self._weights, None)
        if w is None:                                   # more equations than announced
            more = hashlib.shake_256(DOMAIN + b"/batch+" + self._seed +
                                     self._i.to_bytes(8, "little")).digest(16)
            return int.from_bytes(more, "little") | 1
        return w

    def term(self, point: G1Point, coefficient: int) -> None:
        self.points.append(point)
        self.scalars.append(coefficient)

    def holds(self) -> bool:
        pts = self.points + [BLIND_BASE_POINT, VALUE_BASE_POINT]
        sc = [_from_le((c % ORDER).to_bytes(SCALAR_BYTES, "little"))
              for c in (*self.scalars, self.b, self.v)]
        return _times_cofactor(msm(pts, sc)) == _ID


#: An MSM this long or longer is split over the machine's cores (arkworks releases the
#: interpreter lock while it runs, and its own MSM uses one core): a round's batch of range
#: proofs at 320 coordinates × 10 clients (~80,000 points) takes half the time on 2 cores.
PARALLEL_POINTS = 6000


def msm(points: list, scalars: list) -> G1Point:
    """Σ s_k·P_k (Pippenger, arkworks), in as many threads as cores for a long one."""
    n = len(points)
    parts = min(os.cpu_count() or 1, 4, n // PARALLEL_POINTS)
    if parts < 2:
        return _msm(points, scalars)
    import threading

    cuts = [n * i // parts for i in range(parts + 1)]
    out: list = [None] * parts

    def run(i: int) -> None:
        out[i] = _msm(points[cuts[i]:cuts[i + 1]], scalars[cuts[i]:cuts[i + 1]])

    helpers = [threading.Thread(target=run, args=(i,)) for i in range(1, parts)]
    for th in helpers:
        th.start()
    run(0)
    for th in helpers:
        th.join()
    acc = out[0]
    for p in out[1:]:
        acc = acc + p
    return acc

"""The group the proofs live in: ed25519 through libsodium (``pynacl``), and Pedersen
commitments on it (Pedersen, "Non-interactive and information-theoretic secure verifiable
secret sharing", CRYPTO 1991).

C = m·V + r·B, where B is ed25519's standard base point and V = from_uniform(SHA-512(tag)),
a point derived by hashing a public tag to the curve (Elligator 2, nothing up the sleeve), so
nobody knows log_B V and nobody can open C two ways (binding under the discrete-logarithm
assumption; hiding is perfect since r is uniform). The blinding factor goes on B because
libsodium's fixed-base multiplication is ~5× faster than its variable-base one, and every
response of the proofs multiplies B. Commitments are additive:
C(m1, r1) + C(m2, r2) = C(m1 + m2, r1 + r2). libsodium refuses the identity as an input or a
result, so the ``safe_*`` operations handle it.

**Speed** (measured on this project's 2-core machine, one call each, µs): variable-base
multiplication 70 (libsodium decodes the point and checks it is in the prime-order subgroup on
every call), fixed-base 14, addition 13, validity check 35 — the decoding and encoding of the
compressed points is most of an addition, so an MSM built from additions (Pippenger, or the
random linear combination of batch verification) costs more here than the multiplications it
replaces, and the proofs use none. The wrappers below call libsodium's C functions directly
(``nacl._sodium``, the same library PyNaCl's bindings call), which saves 2 µs of argument
checking per call; the small multiples m·V of honest committed values come from a table, so a
commitment to a small value is one fixed-base multiplication and one addition.
The installed PyNaCl (1.6) exposes no ristretto255 functions; ristretto's variable-base
multiplication (libsodium 1.0.18's own, measured through the system library: 45 µs) would
save the subgroup check, ~25% of a proof, at the price of a second libsodium. Not adopted.
"""

from __future__ import annotations

import hashlib

import numpy as np
from nacl import bindings as sodium
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib
from nacl.exceptions import CryptoError
from nacl.exceptions import RuntimeError as SodiumRuntimeError
from nacl.exceptions import ValueError as SodiumValueError

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
BAD = (CryptoError, SodiumRuntimeError, SodiumValueError, ValueError, TypeError)

# A fresh output buffer per call (0.3 µs): cffi releases the interpreter lock inside the C
# call, so a shared buffer would race between the app server's threads.
_new = _ffi.new
_buffer = _ffi.buffer
_add = _lib.crypto_core_ed25519_add
_sub = _lib.crypto_core_ed25519_sub
_mul = _lib.crypto_scalarmult_ed25519_noclamp
_mul_base = _lib.crypto_scalarmult_ed25519_base_noclamp
_is_valid = _lib.crypto_core_ed25519_is_valid_point


def _point(p) -> bytes:
    if not isinstance(p, bytes) or len(p) != POINT_BYTES:
        raise ValueError("a point is 32 bytes")
    return p


# --------------------------------------------------------------------------- group helpers
def scalar(x: int) -> bytes:
    return (x % ORDER).to_bytes(SCALAR_BYTES, "little")


def mul_base(s: int) -> bytes:
    """s·B; libsodium refuses a zero scalar (identity result), so handle it here."""
    s %= ORDER
    if s == 0:
        return IDENTITY
    out = _new("unsigned char[32]")
    _mul_base(out, s.to_bytes(SCALAR_BYTES, "little"))
    return _buffer(out)[:]


def mul(s: int, point: bytes) -> bytes:
    """s·P for a variable point P (identity-safe)."""
    s %= ORDER
    if s == 0 or point == IDENTITY:
        return IDENTITY
    if s == 1:
        return point
    out = _new("unsigned char[32]")
    if _mul(out, s.to_bytes(SCALAR_BYTES, "little"), _point(point)) != 0:
        raise CryptoError("not a point of the prime-order subgroup")
    return _buffer(out)[:]


def mul_checked(s: int, point: bytes) -> bytes:
    """s·P for a point P *received from someone else*: raises unless P is a canonical
    encoding of a point of the prime-order subgroup (libsodium checks it inside the
    multiplication, so a verifier need not call :func:`valid_point` first)."""
    s %= ORDER
    if point == IDENTITY:
        return IDENTITY
    if s == 0:
        if not valid_point(point):
            raise CryptoError("not a point of the prime-order subgroup")
        return IDENTITY
    out = _new("unsigned char[32]")
    if _mul(out, s.to_bytes(SCALAR_BYTES, "little"), _point(point)) != 0:
        raise CryptoError("not a point of the prime-order subgroup")
    return _buffer(out)[:]


def add(p: bytes, q: bytes) -> bytes:
    out = _new("unsigned char[32]")
    if _add(out, _point(p), _point(q)) != 0:
        raise CryptoError("invalid point")
    return _buffer(out)[:]


def sub(p: bytes, q: bytes) -> bytes:
    out = _new("unsigned char[32]")
    if _sub(out, _point(p), _point(q)) != 0:
        raise CryptoError("invalid point")
    return _buffer(out)[:]


_SMALL = 1 << 15
_value_table: dict[int, bytes] = {0: IDENTITY, 1: VALUE_BASE}


def mul_value(m: int) -> bytes:
    """m·V; the multiples |m| < 2^15 (every committed value of an honest proof) are computed
    once and kept (a variable-base multiplication is 5× a fixed-base one)."""
    m %= ORDER
    hit = _value_table.get(m)
    if hit is not None:
        return hit
    neg_m = ORDER - m
    if m < _SMALL or neg_m < _SMALL:
        p = mul(m, VALUE_BASE)
        _value_table[m] = p
        return p
    return mul(m, VALUE_BASE)


def commit(m: int, r: int) -> bytes:
    """Pedersen commitment C = m·V + r·B (m, r taken modulo ℓ)."""
    return safe_add(mul_value(m), mul_base(r))


def valid_point(p: bytes) -> bool:
    # Canonical encoding, on the curve, in the prime-order subgroup, not of small order.
    return (isinstance(p, bytes) and len(p) == POINT_BYTES and
            (p == IDENTITY or _is_valid(p) == 1))


def random_scalar(rng: np.random.Generator) -> int:
    # 512 uniform bits reduced mod ℓ: statistically uniform. Seeded for reproducibility only.
    return int.from_bytes(rng.bytes(64), "little") % ORDER


def random_scalars(rng, k: int) -> list[int]:
    """k of :func:`random_scalar`, in one draw: the same bytes in the same order as k draws
    (a NumPy Generator's ``bytes`` is a stream), at a tenth of the cost."""
    pool = rng.bytes(64 * k) if k else b""
    return [int.from_bytes(pool[o:o + 64], "little") % ORDER for o in range(0, 64 * k, 64)]


def safe_add(p: bytes, q: bytes) -> bytes:
    """P + Q where either may be the identity (libsodium refuses identity inputs/results)."""
    if p == IDENTITY:
        return q
    if q == IDENTITY:
        return p
    if p == neg(q):
        return IDENTITY
    return add(p, q)


def neg(p: bytes) -> bytes:
    """−P for an ed25519 encoding: flip the sign bit of x (identity and x = 0 points stay)."""
    if p == IDENTITY:
        return p
    return p[:31] + bytes([p[31] ^ 0x80])


def safe_sub(p: bytes, q: bytes) -> bytes:
    return safe_add(p, neg(q)) if q != IDENTITY else p

"""The group the proofs live in: ed25519 through libsodium (``pynacl``), and Pedersen
commitments on it (Pedersen 1991).

C = m·V + r·B, where B is ed25519's standard base point and V = from_uniform(SHA-512(tag)),
a point nobody knows the discrete logarithm of (so nobody can open C two ways). The blinding
factor goes on B because libsodium's fixed-base multiplication is ~4× faster than its
variable-base one, and every response of the proofs multiplies B. Commitments are additive:
C(m1, r1) + C(m2, r2) = C(m1 + m2, r1 + r2). libsodium refuses the identity as an input or a
result, so the ``safe_*`` operations handle it.
"""

from __future__ import annotations

import hashlib

import numpy as np
from nacl import bindings as sodium
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


# --------------------------------------------------------------------------- group helpers
def scalar(x: int) -> bytes:
    return (x % ORDER).to_bytes(SCALAR_BYTES, "little")


def mul_base(s: int) -> bytes:
    """s·B; libsodium refuses a zero scalar (identity result), so handle it here."""
    s %= ORDER
    return IDENTITY if s == 0 else sodium.crypto_scalarmult_ed25519_base_noclamp(scalar(s))


def mul(s: int, point: bytes) -> bytes:
    """s·P for a variable point P (identity-safe)."""
    s %= ORDER
    if s == 0 or point == IDENTITY:
        return IDENTITY
    if s == 1:
        return point
    return sodium.crypto_scalarmult_ed25519_noclamp(scalar(s), point)


def add(p: bytes, q: bytes) -> bytes:
    return sodium.crypto_core_ed25519_add(p, q)


def sub(p: bytes, q: bytes) -> bytes:
    return sodium.crypto_core_ed25519_sub(p, q)


def commit(m: int, r: int) -> bytes:
    """Pedersen commitment C = m·V + r·B (m, r taken modulo ℓ)."""
    m %= ORDER
    mv = IDENTITY if m == 0 else VALUE_BASE if m == 1 else mul(m, VALUE_BASE)
    return add(mv, mul_base(r))


def valid_point(p: bytes) -> bool:
    # Canonical encoding, on the curve, in the prime-order subgroup, not of small order.
    return (isinstance(p, bytes) and len(p) == POINT_BYTES and
            (p == IDENTITY or sodium.crypto_core_ed25519_is_valid_point(p)))


def random_scalar(rng: np.random.Generator) -> int:
    # 512 uniform bits reduced mod ℓ: statistically uniform. Seeded for reproducibility only.
    return int.from_bytes(rng.bytes(64), "little") % ORDER


def mul_value(m: int) -> bytes:
    """m·V, cheap for m ∈ {0, 1}."""
    m %= ORDER
    return IDENTITY if m == 0 else VALUE_BASE if m == 1 else mul(m, VALUE_BASE)


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

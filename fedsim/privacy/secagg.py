"""Secure aggregation with real cryptography: Bonawitz et al. (CCS 2017) and SecAgg+ (Bell et al.,
CCS 2020), in the honest-but-curious setting.

The server learns Σ_k w_k·Δ_k and nothing about any single Δ_k, even when some clients drop out
after masking. One round, as the paper numbers it (round 3, the consistency check with
signatures, only matters against an active server and is left out):

0. **AdvertiseKeys.** Each client u makes two X25519 key pairs: c_u (to encrypt the shares it
   sends) and s_u (to agree on pairwise masks), and sends both public keys.
1. **ShareKeys.** u draws a self-mask seed b_u and splits b_u and s_u's private key t-of-m with
   Shamir's scheme (GF(2^128), 16-byte chunks, as Flower's pycryptodome; :func:`shamir_split`). The share for peer v travels
   through the server encrypted with ChaCha20-Poly1305 under HKDF(X25519(c_u, c_v)), so the
   server routes shares it cannot read.
2. **MaskedInputCollection.** u sends
   y_u = x_u + PRG(b_u) + Σ_{v>u} PRG(s_uv) − Σ_{v<u} PRG(s_uv)  (mod 2^32),
   where x_u is the fixed-point encoding of its update (:mod:`fedsim.privacy.quantize`),
   s_uv = HKDF(X25519(s_u, s_v)) and PRG is the ChaCha20 keystream read as uint32 words.
   Summed over everyone the pairwise masks cancel; each y_u alone is uniformly random.
4. **Unmasking.** The server tells the survivors who dropped. Each survivor v decrypts the
   shares it holds and returns, for each peer u, *either* u's b-share (u survived) *or* u's
   s-key share (u dropped), never both: with both the server could strip all masks from y_u.
   With t shares the server rebuilds every survivor's b_u and every dropped client's s-key,
   removes PRG(b_u) and the dropped clients' orphaned pairwise masks, and decodes the sum.
   Fewer than t surviving share holders → :class:`~fedsim.errors.ProtocolError`, never a wrong
   sum.

**SecAgg+** (``neighbors=k``): clients sit on a ring over a seeded shuffle of the sampled ids and
mask and share only with the k nearest (k/2 on each side; an odd k is rounded up to the next
even number, like Flower's odd-sized window that includes the client itself). The threshold is
then a fraction of the neighbourhood (k + 1 share holders), so a client's work and upload grow
with k, not with n.

**Weights.** The server must get Σ w_k Δ_k but the ring has a fixed range, so every client
pre-multiplies its clipped update by w_k/ω, where ω = max_k w_k over the sampled clients is
public (the server already knows example counts in FedAvg; Flower does the same with a public
``max_weight``). Then |w_k/ω · Δ_k| ≤ clip and the headroom check is unchanged;
:meth:`SecureAggregation.secure_sum` multiplies the decoded sum by ω. Quantization error on the
sum is at most ω·n·2^-scale_bits per coordinate.

**Randomness.** All key material (X25519 private keys, b_u) and the stochastic rounding come
from named seeded streams (:func:`fedsim.rng.generator`) so a simulation is reproducible; a real
deployment draws them from ``os.urandom``. Shamir's polynomial coefficients come from the OS
(``secrets``); they never affect any result, since
reconstruction returns exactly the shared secret.

**Simulation boundary.** Per-client secrets stay in :class:`ClientDevice` objects carried in the
payload as :class:`~fedsim.privacy.base.PerClient` items, so a dropped client's device disappears
with its row. Server code in :meth:`SecureAggregation.secure_sum` only reads public data and the
masked vectors, and asks the surviving devices for shares through
:meth:`ClientDevice.unmask_shares`, as the real protocol does over the network.
"""

from __future__ import annotations

import functools
import hmac
import math
import secrets
import struct
import time
from dataclasses import dataclass
from typing import Mapping, Optional

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from fedsim.errors import ProtocolError
from fedsim.rng import generator
from fedsim.reports import Report
from fedsim.privacy.crypto_reports import SecAggClientReport, SecureSumReport
from fedsim.privacy.base import Mechanism, PerClient, RoundContext, UpdateBatch
from fedsim.privacy.quantize import FixedPoint, ring_sum, to_ring
from fedsim.privacy.quantize import clip as clip_values

KEY_BYTES = 32          # X25519 keys, ChaCha20 keys, b_u
CHUNK = 16              # Shamir shares 16-byte chunks (GF(2^128) elements)
SHARE_BYTES = 2 * CHUNK  # one share of a 32-byte secret
_ID = struct.Struct("<Q")
_PLAINTEXT_BYTES = 2 * _ID.size + 2 * SHARE_BYTES   # u ‖ v ‖ b-share ‖ s-share
CIPHERTEXT_BYTES = _PLAINTEXT_BYTES + 16             # + Poly1305 tag
UNMASK_SHARE_BYTES = _ID.size + SHARE_BYTES          # peer id + one share, in round 4
PREVIEW = 8


# --------------------------------------------------------------------------- primitives
_ZERO_SALT = b"\x00" * 32


def hkdf(secret: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 (RFC 5869) to a 32-byte key; ``info`` separates the uses of one secret.

    One output block, so extract-then-expand is two HMAC-SHA256 calls (no salt = a zero salt of
    hash length): PRK = HMAC(0³², secret), OKM = HMAC(PRK, info ‖ 0x01). The same bytes as
    ``cryptography``'s ``HKDF(SHA256(), 32, salt=None, info)`` (tested), at a third of the cost.
    """
    prk = hmac.digest(_ZERO_SALT, secret, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")


def prg(seed: bytes, n: int) -> np.ndarray:
    """The mask PRG: ``n`` uint32 words of the ChaCha20 keystream under ``seed``.

    Each seed is used for exactly one vector per round (keys are fresh every round), so a fixed
    all-zero nonce is safe. Flower folds its seed to 32 bits and uses ``np.random.RandomState``,
    which is not a cryptographic PRG; ChaCha20 is, and is also faster (privacy.md).
    """
    enc = Cipher(algorithms.ChaCha20(seed, b"\x00" * 16), mode=None).encryptor()
    return np.frombuffer(enc.update(b"\x00" * (4 * n)), dtype="<u4").astype(np.uint32)


def _public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def _info(kind: bytes, rnd: int, u: int, v: int) -> bytes:
    a, b = min(u, v), max(u, v)   # symmetric: both ends derive the same key
    return b"fedsim-secagg/" + kind + struct.pack("<QQQ", rnd, a, b)


# Shamir's scheme over GF(2^128) (Shamir 1979), the field pycryptodome's ``Shamir`` uses, here
# with the reduction polynomial P(x) = x^128 + x^7 + x^2 + x + 1 (GCM's, bits in normal order).
# Field elements are Python ints < 2^128 (16 bytes, big-endian on the wire, like pycryptodome).
# Security is Shamir's: the t − 1 coefficients above the secret are uniform (OS randomness,
# ``secrets``), so any t − 1 shares are uniformly distributed and independent of the secret;
# any t shares determine it by Lagrange interpolation at 0. Pure integer arithmetic with
# 4-bit-window carry-less multiplication and cached Lagrange coefficients: the round's
# reconstructions use one index set, so each costs t multiplications (pycryptodome's generic
# Python field code was 70% of a 10-client round).
_GF_POLY = (1 << 128) | 0x87
_GF_MASK = (1 << 128) - 1


def _gf_reduce(x: int) -> int:
    while x >> 128:
        h = x >> 128
        x = (x & _GF_MASK) ^ h ^ (h << 1) ^ (h << 2) ^ (h << 7)
    return x


def _gf_mul(a: int, b: int) -> int:
    """a·b in GF(2^128)."""
    if a < 16 or b < 16:                       # evaluation points: a few shifts
        a, b = (a, b) if b < 16 else (b, a)
        acc = 0
        while b:
            if b & 1:
                acc ^= a
            a <<= 1
            b >>= 1
        return _gf_reduce(acc)
    tab = [0] * 16
    for k in range(1, 16):                     # carry-less a·k for every nibble k
        tab[k] = tab[k >> 1] << 1 if not k & 1 else tab[k ^ 1] ^ a
    acc = 0
    for sh in range(124, -1, -4):
        acc = (acc << 4) ^ tab[(b >> sh) & 15]
    return _gf_reduce(acc)


def _gf_inv(a: int) -> int:
    """a⁻¹ in GF(2^128) (extended Euclid on GF(2)[x]); a ≠ 0."""
    if a == 0:
        raise ZeroDivisionError("0 has no inverse")
    u, v, g1, g2 = a, _GF_POLY, 1, 0
    while u != 1:
        j = u.bit_length() - v.bit_length()
        if j < 0:
            u, v, g1, g2, j = v, u, g2, g1, -j
        u ^= v << j
        g1 ^= g2 << j
    return _gf_reduce(g1)


@functools.lru_cache(maxsize=256)
def _lagrange_at_zero(xs: tuple[int, ...]) -> tuple[int, ...]:
    """λ_i = Π_{j≠i} x_j / (x_j − x_i) in GF(2^128) (subtraction is XOR)."""
    out = []
    for i, xi in enumerate(xs):
        num, den = 1, 1
        for j, xj in enumerate(xs):
            if j != i:
                num = _gf_mul(num, xj)
                den = _gf_mul(den, xj ^ xi)
        out.append(_gf_mul(num, _gf_inv(den)))
    return tuple(out)


def _split_chunk(secret: int, t: int, m: int) -> list[int]:
    coeffs = [int.from_bytes(secrets.token_bytes(CHUNK), "big") for _ in range(t - 1)]
    shares = []
    for x in range(1, m + 1):
        acc = 0
        for c in reversed(coeffs):             # Horner, highest coefficient first
            acc = _gf_mul(acc ^ c, x) if acc or c else 0
        shares.append(acc ^ secret)
    return shares


_U64 = np.uint64


def _gf_mul_small_np(hi: np.ndarray, lo: np.ndarray, x: np.ndarray):
    """(hi, lo)·x in GF(2^128) for small evaluation points x < 256, elementwise on uint64
    word pairs (hi = the high 64 bits): carry-less shifts for the set bits of x, then one
    reduction of the ≤ 7 overflow bits h by x^128 = x^7 + x^2 + x + 1 (h·0x87 < 2^15 cannot
    overflow again). The same field product as :func:`_gf_mul` (tested element by element)."""
    acc_hi = np.zeros_like(hi)
    acc_lo = np.zeros_like(lo)
    ov = np.zeros_like(hi)
    x = np.asarray(x, _U64)
    for k in range(8):
        sel = (_U64(0) - ((x >> _U64(k)) & _U64(1)))   # all ones where bit k of x is set
        if not sel.any():
            continue
        if k == 0:
            acc_hi ^= hi & sel
            acc_lo ^= lo & sel
            continue
        kk, rk = _U64(k), _U64(64 - k)
        acc_lo ^= (lo << kk) & sel
        acc_hi ^= ((hi << kk) | (lo >> rk)) & sel
        ov ^= (hi >> rk) & sel
    acc_lo ^= ov ^ (ov << _U64(1)) ^ (ov << _U64(2)) ^ (ov << _U64(7))
    return acc_hi, acc_lo


def shamir_split_many(secrets_: list[bytes], t: int, m: int,
                      coeffs: Optional[np.ndarray] = None) -> list[list[bytes]]:
    """:func:`shamir_split` of many 32-byte secrets at once, in vectorized integer arithmetic:
    every 16-byte chunk of every secret is a (hi, lo) pair of uint64 words, and Horner's rule
    runs on all chunks and all m evaluation points together (one NumPy pass per coefficient,
    instead of t − 1 Python-integer multiplications per chunk and point). Security is
    :func:`shamir_split`'s: the t − 1 coefficients above each chunk are uniform (``secrets``,
    one OS read for the whole batch). ``coeffs`` (``[secrets, 2 chunks, t − 1, 2 words]``
    uint64, for tests) replaces the OS randomness."""
    if not 1 <= t <= m or m >= 256:
        raise ValueError(f"need 1 ≤ t ≤ m < 256, got t={t}, m={m}")
    n = len(secrets_)
    if n == 0:
        return []
    if any(len(sec) != KEY_BYTES for sec in secrets_):
        raise ValueError(f"secrets must be {KEY_BYTES} bytes")
    words = np.frombuffer(b"".join(secrets_), ">u8").astype(_U64).reshape(n, 2, 2)
    if coeffs is None:
        raw = secrets.token_bytes(n * 2 * (t - 1) * CHUNK)
        coeffs = np.frombuffer(raw, ">u8").astype(_U64).reshape(n, 2, t - 1, 2)
    x = np.arange(1, m + 1, dtype=_U64)[None, None, :]            # [1, 1, m]
    acc_hi = np.zeros((n, 2, m), _U64)
    acc_lo = np.zeros((n, 2, m), _U64)
    for j in range(t - 2, -1, -1):                                  # highest coefficient first
        acc_hi, acc_lo = _gf_mul_small_np(acc_hi ^ coeffs[:, :, j, 0:1],
                                          acc_lo ^ coeffs[:, :, j, 1:2], x)
    acc_hi ^= words[:, :, 0:1]
    acc_lo ^= words[:, :, 1:2]
    # [n, m, 2 chunks, 2 words] big-endian: share i = chunk 0 (hi, lo) ‖ chunk 1 (hi, lo)
    out = np.stack([acc_hi, acc_lo], axis=-1).transpose(0, 2, 1, 3).astype(">u8")
    flat = out.reshape(n, m, SHARE_BYTES // 8)
    return [[flat[k, i].tobytes() for i in range(m)] for k in range(n)]


def shamir_split(secret: bytes, t: int, m: int) -> list[bytes]:
    """t-of-m shares of a 32-byte secret: share i (1-based index i) is the concatenation of the
    i-th shares of its two 16-byte chunks (each a point of a random degree t − 1 polynomial over
    GF(2^128) whose constant term is the chunk)."""
    if not 1 <= t <= m or m >= 256:
        raise ValueError(f"need 1 ≤ t ≤ m < 256, got t={t}, m={m}")
    parts = [_split_chunk(int.from_bytes(secret[o:o + CHUNK], "big"), t, m)
             for o in range(0, len(secret), CHUNK)]
    return [b"".join(p[i].to_bytes(CHUNK, "big") for p in parts) for i in range(m)]


def shamir_combine(shares: list[tuple[int, bytes]]) -> bytes:
    """Rebuild a secret from exactly t ``(index, share)`` pairs."""
    xs = tuple(int(i) for i, _ in shares)
    if len(set(xs)) != len(xs) or min(xs, default=1) < 1:
        raise ValueError("share indices must be distinct and positive")
    lam = _lagrange_at_zero(xs)
    out = []
    for o in range(0, SHARE_BYTES, CHUNK):
        acc = 0
        for l_i, (_, s) in zip(lam, shares):
            acc ^= _gf_mul(l_i, int.from_bytes(s[o:o + CHUNK], "big"))
        out.append(acc.to_bytes(CHUNK, "big"))
    return b"".join(out)


def ring_neighbors(ids: tuple[int, ...], k: Optional[int],
                   rng: np.random.Generator) -> dict[int, tuple[int, ...]]:
    """Who masks with whom. ``k=None`` (or k ≥ n−1): everyone (Bonawitz). Otherwise SecAgg+:
    a ring over a seeded shuffle of ``ids``, each client linked to ⌈k/2⌉ on each side."""
    ids = tuple(sorted(ids))
    n = len(ids)
    half = None if k is None else (k + 1) // 2
    if half is None or 2 * half >= n - 1:
        return {u: tuple(v for v in ids if v != u) for u in ids}
    order = [int(c) for c in rng.permutation(np.array(ids))]
    return {u: tuple(sorted(order[(i + o) % n] for o in range(-half, half + 1) if o != 0))
            for i, u in enumerate(order)}


def threshold_for(fraction: float, holders: int) -> int:
    """t = ⌈fraction·m⌉ shares out of m holders, at least 2 when m ≥ 2 (one share alone would
    hand a secret to a single peer), at most m."""
    t = math.ceil(fraction * holders - 1e-9)
    return min(holders, max(t, 2 if holders >= 2 else 1))


# --------------------------------------------------------------------------- protocol state
@dataclass(frozen=True)
class SecAggSetup:
    """The public state of one round, as the server knows it after round 1."""

    round: int
    ids: tuple[int, ...]                       # U1: everyone who completed key sharing
    neighbors: Mapping[int, tuple[int, ...]]   # N(u), without u
    threshold: int
    public_keys: Mapping[int, tuple[bytes, bytes]]  # u → (c_u^PK, s_u^PK)
    weight_scale: float                        # ω: clients send (w_k/ω)·Δ_k
    fixed_point: FixedPoint
    num_params: int

    def holders(self, u: int) -> tuple[int, ...]:
        """Who holds a share of u's secrets (u itself included); index = position + 1."""
        return tuple(sorted((u, *self.neighbors[u])))


class ClientDevice:
    """One client's private memory between protocol rounds (its keys, b_u, received shares).

    Server code never reads these attributes; it only calls :meth:`unmask_shares`, which is the
    client's answer in round 4.
    """

    def __init__(self, cid: int, c_key: X25519PrivateKey, own_shares: tuple[bytes, bytes]):
        self.cid = cid
        self._c_key = c_key
        self._own = own_shares                  # (b-share, s-share) this client keeps
        self._inbox: dict[int, bytes] = {}      # sender → encrypted share, routed by the server
        # peer → the pair's share-channel key HKDF(X25519(c_u, c_v)), kept from round 1 (the
        # key is the same in both directions, so the one that encrypted this client's shares
        # to the peer also opens the peer's shares to it in round 4)
        self._pair_keys: dict[int, bytes] = {}

    def remember_key(self, peer: int, key: bytes) -> None:
        self._pair_keys[peer] = key

    def deliver(self, sender: int, ciphertext: bytes) -> None:
        self._inbox[sender] = ciphertext

    def unmask_shares(self, setup: SecAggSetup, survivors: frozenset[int],
                      dropped: frozenset[int]) -> dict[int, tuple[int, bytes]]:
        """Round 4: for each peer u whose shares this client holds, u's b-share if u survived or
        u's s-key share if u dropped, as ``{u: (share index, share)}``."""
        if survivors & dropped:
            raise ProtocolError(
                f"client {self.cid} refuses to unmask: the server asked for both shares of "
                f"clients {sorted(survivors & dropped)}, which would reveal their updates")
        if len(survivors) < setup.threshold:
            raise ProtocolError(
                f"client {self.cid} refuses to unmask: only {len(survivors)} clients survived, "
                f"fewer than the threshold t={setup.threshold}")
        out = {}
        for u in (self.cid, *setup.neighbors[self.cid]):
            if u not in survivors and u not in dropped:
                continue
            if u == self.cid:
                b_share, s_share = self._own
            else:
                b_share, s_share = self._open(setup, u)
            index = setup.holders(u).index(self.cid) + 1
            out[u] = (index, b_share if u in survivors else s_share)
        return out

    def _open(self, setup: SecAggSetup, u: int) -> tuple[bytes, bytes]:
        key = self._pair_keys.get(u)
        if key is None:
            c_pk = X25519PublicKey.from_public_bytes(setup.public_keys[u][0])
            key = hkdf(self._c_key.exchange(c_pk), _info(b"shares", setup.round, u, self.cid))
        try:
            plain = ChaCha20Poly1305(key).decrypt(
                _nonce(u), self._inbox[u], _info(b"ad", setup.round, u, self.cid))
        except (InvalidTag, KeyError):
            raise ProtocolError(f"client {self.cid}: the share from client {u} is missing or "
                                "fails authentication") from None
        src, dst = _ID.unpack_from(plain, 0)[0], _ID.unpack_from(plain, _ID.size)[0]
        if (src, dst) != (u, self.cid):
            raise ProtocolError(f"client {self.cid}: share addressed {src}→{dst}, expected "
                                f"{u}→{self.cid}")
        body = plain[2 * _ID.size:]
        return body[:SHARE_BYTES], body[SHARE_BYTES:]


@dataclass(frozen=True)
class SecAggUpload:
    """One client's row in the payload: what it sent (``masked``, y_u), the public ``setup`` it
    received, and its ``device`` (kept so the server can ask it for shares in round 4)."""

    client_id: int
    masked: np.ndarray
    device: ClientDevice
    setup: SecAggSetup


def _nonce(sender: int) -> bytes:
    # The pair key is shared by both directions, so the nonce names the sender; keys are fresh
    # each round, so (key, nonce) never repeats.
    return _ID.pack(sender) + b"\x00" * 4


# --------------------------------------------------------------------------- mechanism
class SecureAggregation(Mechanism):
    """Bonawitz et al. (2017) secure aggregation; SecAgg+ (Bell et al. 2020) with ``neighbors``.

    Parameters
    ----------
    threshold:
        t/m, the fraction of share holders needed to rebuild a secret.
    neighbors:
        k for SecAgg+ (mask and share with k ring neighbours); ``None`` for all clients.
    clip, scale_bits, norm:
        The public fixed-point format (:class:`~fedsim.privacy.quantize.FixedPoint`).
    """

    name = "secagg"
    order = 30
    hides_updates = True

    def __init__(self, threshold: float = 0.6, neighbors: Optional[int] = None,
                 clip: float = 1.0, scale_bits: int = 16, norm: str = "linf"):
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.neighbors = neighbors
        self.fixed_point = FixedPoint(clip=clip, scale_bits=scale_bits, norm=norm)

    # ---- client side: rounds 0-2 for every sampled client
    def client(self, ctx: RoundContext, state, batch: UpdateBatch):
        ids = tuple(int(c) for c in batch.client_ids)
        n, num_params = len(ids), batch.deltas.shape[1]
        fp = self.fixed_point
        fp.check_headroom(n)
        weights = np.asarray(batch.weights, np.float64)
        omega = float(weights.max()) if n and weights.max() > 0 else 1.0
        nbrs = ring_neighbors(ids, self.neighbors, generator(ctx.seed, "secagg", ctx.round, "ring"))
        holders = len(nbrs[ids[0]]) + 1 if n else 0
        t = threshold_for(self.threshold, holders)
        spent = dict.fromkeys(ids, 0.0)

        # Round 0: key pairs. Seeded for reproducibility; a real client uses os.urandom.
        c_keys, s_keys, pks = {}, {}, {}
        for u in ids:
            t0 = time.perf_counter()
            c_keys[u] = X25519PrivateKey.from_private_bytes(
                generator(ctx.seed, "secagg", ctx.round, "c_key", u).bytes(KEY_BYTES))
            s_keys[u] = X25519PrivateKey.from_private_bytes(
                generator(ctx.seed, "secagg", ctx.round, "s_key", u).bytes(KEY_BYTES))
            pks[u] = (_public_bytes(c_keys[u]), _public_bytes(s_keys[u]))
            spent[u] += time.perf_counter() - t0
        setup = SecAggSetup(ctx.round, ids, nbrs, t, pks, omega, fp, num_params)

        # Round 1: self-mask seed, Shamir shares, encrypted for each share holder. Every
        # client's b_u and s_u are split in one vectorized pass (all neighbourhoods have the
        # same size, so one t-of-m layout); its time is shared out evenly.
        t0 = time.perf_counter()
        b_seeds = {u: generator(ctx.seed, "secagg", ctx.round, "self_mask", u).bytes(KEY_BYTES)
                   for u in ids}
        secrets_in = [b_seeds[u] for u in ids] + [s_keys[u].private_bytes_raw() for u in ids]
        if all(len(nbrs[u]) + 1 == holders for u in ids):
            split = shamir_split_many(secrets_in, t, holders)
        else:                                   # (not produced by ring_neighbors)
            split = [shamir_split_many([sec], t, len(nbrs[u]) + 1)[0]
                     for sec, u in zip(secrets_in, ids + ids)]
        dt = (time.perf_counter() - t0) / max(1, n)
        for u in ids:
            spent[u] += dt
        # The share channel of a pair: HKDF(X25519(c_u, c_v)) is the same at both ends (the
        # info is symmetric), so, as for the masks below, the simulation derives it once, by
        # the lower id, hands it to both devices (each keeps it for round 4) and charges its
        # time to both.
        devices, mailbox, chan = {}, [], {}
        for row, u in enumerate(ids):
            t0 = time.perf_counter()
            b_sh, s_sh = split[row], split[n + row]
            group = setup.holders(u)
            mine = group.index(u)
            devices[u] = ClientDevice(u, c_keys[u], (b_sh[mine], s_sh[mine]))
            for i, v in enumerate(group):
                if v == u:
                    continue
                pair = (min(u, v), max(u, v))
                key = chan.get(pair)
                if key is None:
                    t1 = time.perf_counter()
                    key = chan[pair] = hkdf(
                        c_keys[u].exchange(X25519PublicKey.from_public_bytes(pks[v][0])),
                        _info(b"shares", ctx.round, u, v))
                    spent[v] += time.perf_counter() - t1
                devices[u].remember_key(v, key)
                plain = _ID.pack(u) + _ID.pack(v) + b_sh[i] + s_sh[i]
                mailbox.append((u, v, ChaCha20Poly1305(key).encrypt(
                    _nonce(u), plain, _info(b"ad", ctx.round, u, v))))
            spent[u] += time.perf_counter() - t0
        for u, v, ct in mailbox:            # the server forwards each ciphertext to its holder
            devices[v].deliver(u, ct)

        # Round 2: masked input. Both ends of a pair derive the same s_uv and PRG(s_uv) (u adds
        # it if v > u, v subtracts it), so the simulation expands each pair's mask once, by the
        # lower id, and charges its time to both clients (each would compute it in a real
        # deployment); the vectors are bit for bit those of one expansion per end.
        pair_mask = {}
        for u in ids:
            for v in nbrs[u]:
                if v > u:
                    t0 = time.perf_counter()
                    s_uv = hkdf(s_keys[u].exchange(X25519PublicKey.from_public_bytes(pks[v][1])),
                                _info(b"mask", ctx.round, u, v))
                    pair_mask[u, v] = prg(s_uv, num_params)
                    dt = time.perf_counter() - t0
                    spent[u] += dt
                    spent[v] += dt
        masked, plain_q, n_clipped = [], None, 0
        for row, u in enumerate(ids):
            t0 = time.perf_counter()
            q, clipped = fp.quantize(batch.deltas[row],
                                     generator(ctx.seed, "secagg", ctx.round, "quantize", u),
                                     factor=weights[row] / omega)
            n_clipped += clipped
            x = (q & 0xFFFFFFFF).astype(np.uint32)
            y = x + prg(b_seeds[u], num_params)
            for v in nbrs[u]:
                if v > u:
                    y += pair_mask[u, v]
                else:
                    y -= pair_mask[v, u]
            masked.append(y)
            spent[u] += time.perf_counter() - t0
            if row == 0:
                plain_q = q

        n_nb = holders - 1
        up = {"bytes_masked_vector": 4 * num_params,
              "bytes_public_keys": 2 * KEY_BYTES,
              "bytes_encrypted_shares": n_nb * CIPHERTEXT_BYTES,
              "bytes_unmask_shares": holders * UNMASK_SHARE_BYTES}
        per_client = sum(up.values())
        # Replace the float32 vector (4 bytes/coord) by what SecAgg sends; keep other
        # mechanisms' additions (e.g. proofs) already counted in bytes_up.
        bytes_up = batch.bytes_up - 4 * num_params + per_client
        times = np.array([spent[u] for u in ids]) * 1e3
        meas = {
            "clients": n,
            "threshold": t,
            "share_holders": holders,
            "neighbors": n_nb,
            "secagg_plus": n_nb < n - 1,
            "weight_scale": omega,
            "scale_bits": fp.scale_bits,
            "clip": fp.clip,
            "clipped_fraction": n_clipped / max(1, n * num_params)
            if fp.norm == "linf" else n_clipped / max(1, n),
            "client_ms": float(times.sum()),
            "client_ms_per_client": float(times.mean()) if n else 0.0,
            "client_ms_max": float(times.max()) if n else 0.0,
            "bytes_per_client": int(per_client),
            **up,
        }
        if n:
            meas.update({
                "preview_client": ids[0],
                "preview_plain": [float(v) for v in batch.deltas[0, :PREVIEW]],
                "preview_quantized": [int(v) for v in plain_q[:PREVIEW]],
                "preview_masked": [int(v) for v in masked[0][:PREVIEW]],
                "plain_byte_entropy_bits": _byte_entropy(
                    (plain_q & 0xFFFFFFFF).astype("<u4")),
                "masked_byte_entropy_bits": _byte_entropy(masked[0].astype("<u4")),
            })
        payload = PerClient(tuple(SecAggUpload(u, masked[row], devices[u], setup)
                                  for row, u in enumerate(ids)))
        return (batch.replace(bytes_up=bytes_up).with_payload(self.name, payload), state,
                SecAggClientReport(**meas))

    # ---- server side: round 4
    def secure_sum(self, ctx: RoundContext, state, batch: UpdateBatch):
        t0 = time.perf_counter()
        uploads: tuple[SecAggUpload, ...] = batch.payload[self.name].items
        if not uploads:
            raise ProtocolError(
                f"secure aggregation cannot unmask: none of the {len(ctx.sampled)} sampled "
                "clients survived")
        setup = uploads[0].setup
        survivors = frozenset(int(c) for c in batch.client_ids)
        unknown = survivors - set(setup.ids)
        if unknown:
            raise ProtocolError(f"clients {sorted(unknown)} sent masked input without "
                                "taking part in key sharing")
        dropped = frozenset(setup.ids) - survivors
        t = setup.threshold
        for u in setup.ids:
            alive = [v for v in setup.holders(u) if v in survivors]
            if len(alive) < t:
                what = "self-mask seed" if u in survivors else "mask key (it dropped out)"
                raise ProtocolError(
                    f"secure aggregation cannot unmask: {len(survivors)} of "
                    f"{len(setup.ids)} sampled clients survived, and client {u}'s {what} needs "
                    f"t={t} shares but only {len(alive)} of its {len(setup.holders(u))} share "
                    "holders survived; the round is lost (no sum is better than a wrong one)")

        # Round 4: each survivor answers with its shares.
        shares: dict[int, list[tuple[int, bytes]]] = {u: [] for u in setup.ids}
        for up in uploads:
            for u, share in up.device.unmask_shares(setup, survivors, dropped).items():
                shares[u].append(share)

        total = ring_sum(np.stack([up.masked for up in uploads]))
        n = setup.num_params
        for u in sorted(survivors):
            total -= prg(shamir_combine(shares[u][:t]), n)
        for u in sorted(dropped):
            s_key = X25519PrivateKey.from_private_bytes(shamir_combine(shares[u][:t]))
            for v in setup.neighbors[u]:
                if v not in survivors:
                    continue       # both dropped: neither y_u nor y_v is in the sum
                s_uv = hkdf(s_key.exchange(X25519PublicKey.from_public_bytes(
                    setup.public_keys[v][1])), _info(b"mask", setup.round, u, v))
                # v added +PRG(s_uv) if u > v, −PRG(s_uv) if u < v; undo that.
                if u > v:
                    total -= prg(s_uv, n)
                else:
                    total += prg(s_uv, n)
        result = setup.fixed_point.decode(total) * setup.weight_scale
        server_ms = (time.perf_counter() - t0) * 1e3

        # For the teaching display only: the plain sum the server never sees.
        w = np.asarray(batch.weights, np.float64)
        plain = w @ batch.deltas
        fp = setup.fixed_point
        clipped_plain = w @ clip_values(batch.deltas, fp.clip, fp.norm)[0]
        meas = {
            "server_ms": server_ms,
            "survivors": len(survivors),
            "dropped": sorted(dropped),
            "dropped_recovered": len(dropped),
            "secrets_reconstructed": len(setup.ids),
            "max_abs_error": float(np.max(np.abs(result - plain))) if n else 0.0,
            "quantization_error": float(np.max(np.abs(result - clipped_plain))) if n else 0.0,
            "error_bound": float(setup.weight_scale * len(survivors) *
                                 setup.fixed_point.resolution),
            "preview_sum": [float(v) for v in result[:PREVIEW]],
            "preview_plain_sum": [float(v) for v in plain[:PREVIEW]],
        }
        return result, SecureSumReport(**meas)

    def explain(self, ctx: RoundContext, batch: UpdateBatch, row: int):
        """Client ``row``'s encoded and masked vectors (:class:`MaskingExplanation`)."""
        return _explain_masking(self, ctx, batch, row)


@dataclass(frozen=True)
class MaskingExplanation(Report):
    """What masking does to one client's update (the "What the server sees" views).

    ``encoded`` is the client's update in the ring before masking — its secret, which the
    server never receives (the simulation re-derives it here from the same named stream the
    client used) — and ``masked`` is what it sent. ``*_byte_shares``: share of the bytes in
    each sixteenth of 0–255; a masked vector is flat (indistinguishable from random)."""

    client_id: int
    encoded: np.ndarray  # uint32 [P]
    masked: np.ndarray  # uint32 [P]
    encoded_byte_entropy: float
    masked_byte_entropy: float
    encoded_byte_shares: tuple[float, ...]
    masked_byte_shares: tuple[float, ...]


def byte_shares(words: np.ndarray, bins: int = 16) -> tuple[float, ...]:
    """Share of a vector's bytes falling in each of ``bins`` equal ranges of 0–255."""
    b = np.frombuffer(np.ascontiguousarray(words, dtype="<u4").tobytes(), np.uint8)
    counts = np.bincount(b // (256 // bins), minlength=bins).astype(np.float64)
    return tuple(float(c) for c in counts / max(counts.sum(), 1.0))


def _explain_masking(mech: "SecureAggregation", ctx: RoundContext, batch: UpdateBatch,
                     row: int) -> MaskingExplanation | None:
    payload = batch.payload.get(mech.name)
    if payload is None or not 0 <= row < len(payload.items):
        return None
    up = payload.items[row]
    setup = up.setup
    w = float(np.asarray(batch.weights, np.float64)[row])
    q, _ = setup.fixed_point.quantize(
        np.asarray(batch.deltas[row], np.float64),
        generator(ctx.seed, "secagg", setup.round, "quantize", int(up.client_id)),
        factor=w / setup.weight_scale)
    enc = to_ring(q).astype(np.uint32)
    masked = np.asarray(up.masked, np.uint32)
    return MaskingExplanation(
        client_id=int(up.client_id), encoded=enc, masked=masked,
        encoded_byte_entropy=_byte_entropy(enc.astype("<u4")),
        masked_byte_entropy=_byte_entropy(masked.astype("<u4")),
        encoded_byte_shares=byte_shares(enc), masked_byte_shares=byte_shares(masked))


def _byte_entropy(words: np.ndarray) -> float:
    """Shannon entropy (bits per byte, at most 8) of a vector's bytes: ~8 for a masked vector,
    far less for a quantized update whose high bytes are mostly 0x00 or 0xFF."""
    counts = np.bincount(np.frombuffer(words.tobytes(), np.uint8), minlength=256)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def from_config(cfg, layer_slices=None) -> Optional[SecureAggregation]:
    """The mechanism for ``cfg.privacy.secure_aggregation``, or ``None`` when it is off.

    ``cfg`` is a :class:`fedsim.config.SimulationConfig` (or its ``privacy`` section);
    ``layer_slices`` is accepted for a uniform signature and unused.
    """
    priv = getattr(cfg, "privacy", cfg)
    sa = priv.secure_aggregation
    if not sa.enabled:
        return None
    return SecureAggregation(threshold=sa.threshold, neighbors=sa.neighbors, clip=sa.clip,
                             scale_bits=sa.scale_bits)

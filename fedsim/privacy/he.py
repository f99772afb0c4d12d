"""Additively homomorphic encryption of the updates: Paillier (1999) and CKKS (Cheon et al. 2017).

Clients encrypt their updates under one public key; the server combines the ciphertexts into
an encryption of the sum without being able to read any of them, and only the key holder can
decrypt, and only the sum. Threat model (as in privacy.md): the clients (or a separate key
authority) share the secret key and the server must not collude with any of them. In the
simulation the key holder is an object the server can only ask to decrypt an aggregate
(:class:`KeyHolder`).

**Paillier** (``phe`` with gmpy2): E(a)·E(b) mod n² = E(a + b). One 2048-bit ciphertext can
carry far more than one fixed-point number, so values are *packed*: each value is clipped to
[-clip, clip], scaled by 2^frac_bits, rounded stochastically and offset by M = ⌈clip·2^frac⌉ so it
is non-negative; slots are wide enough that the sum over all sampled clients cannot carry into
the next slot (headroom ⌈log2(n)⌉ bits); as many slots as fit under n go in one plaintext,
encrypted with ``raw_encrypt``. Adding ciphertexts adds every slot at once.

**CKKS** (``tenseal``): approximate arithmetic on vectors of reals, N = 8192, coefficient moduli
[60, 40, 40, 60], scale 2^40 (privacy.md's measured row: error ~1e-8). A ciphertext holds N/2 =
4096 values, so updates are cut into chunks of 4096. No Galois keys (additions don't need them,
and they are most of the key-generation time). Clients encrypt with the public key and the
server works in a context without the secret key (``make_context_public``).

Ciphertexts travel as tenseal objects and their size is computed from SEAL's layout (2
polynomials × N coefficients × one 8-byte word per remaining prime; SEAL's zstd compression
would save about 15%) rather than by serializing them: tenseal serializes through protobuf,
and once TensorFlow is loaded (it exports its own protobuf symbols process-wide) tenseal's
``serialize`` fails with "failed to save proto" or crashes the process (measured with TF 2.21 and
tenseal 0.3.18). Nothing here calls tenseal's protobuf code.

**Weights.** Like secure aggregation, client k encrypts (w_k/ω)·Δ_k with a public ω = max
weight of the sampled clients, so Paillier's slot headroom depends on the number of clients
only; the decrypted sum is multiplied by ω.

**Keys.** Key generation uses the libraries' own OS randomness (``phe`` uses ``secrets``, SEAL
its own PRNG), so ciphertexts differ between runs; that is fine because decrypted sums are
exact up to the stated tolerance. The key pair is cached process-wide per (scheme, key size), so
a round does not pay key generation again.

**Online/offline split** (Paillier 1999, §4; Damgård–Jurik 2001, §4.2 "precomputation"): a
ciphertext is c = g^m·rⁿ mod n², and the obfuscator ρ = rⁿ mod n² does not depend on the message,
so it can be computed before the message exists. :class:`ObfuscatorPool` keeps, per public key,
obfuscators prepared off the round — in a background thread after each round, with gmpy2
releasing the interpreter lock during the exponentiation — "precomputed while you read"; the
round then pays one multiplication per ciphertext, c = (1 + n·m)·ρ mod n². Security is
unchanged: each ρ comes from an r drawn from the OS (``random.SystemRandom``, as
python-paillier's own ``get_random_lt_n``), and :meth:`ObfuscatorPool.take` removes it from the
pool under a lock, so no obfuscator is ever used for two ciphertexts (a reused r would reveal
m1 − m2). The client needs only the public key for this; CRT, which needs p and q, stays on the
key holder's side (python-paillier's decryption already uses it). A round that finds the pool
short computes the rest in the round (counted in ``encrypt_ms``); the precomputation time this
round's obfuscators cost is reported on its own (``precompute_ms``).

**CKKS, the same split.** SEAL's public-key encryption *is* an encryption of zero plus the
encoded message: Encrypt(m) = (p0·u + e0 + Δm, p1·u + e1) with ephemeral u, e0, e1 (SEAL's
``Encryptor::encrypt``: ``encrypt_zero`` then the plaintext added in place), and the
encryption of zero is the costly part (NTTs at every prime and the special-prime mod-switch,
~4 ms of ~4.7 ms per 2,410-value vector, measured). :class:`CKKSZeroPool` prepares fresh
encryptions of zero under the *public* context off the round; the round adds the client's
encoded vector to one (``add_``, TenSEAL's ``add_plain`` at the ciphertext's scale and level:
~0.7 ms). The ciphertext has exactly the distribution of a direct encryption (same u, e
distribution, same encoding) and the same error (~2e-8 on a 10-client sum). Each zero
encryption leaves the pool under its lock and is used for one ciphertext only (two messages
on one zero encryption would reveal m1 − m2). A round that finds the pool short encrypts the
rest directly in the round.

**One layer only.** With ``layer`` set, only that weight tensor's coordinates (from
``layer_slices``, the engine's flat layout) are encrypted; the rest travel and are summed in the
clear, which the measurements say.
"""

from __future__ import annotations

import math
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from fedsim.errors import ConfigError
from fedsim.rng import generator
from fedsim.reports import Report
from fedsim.privacy.crypto_reports import DecryptionReport, EncryptionReport
from fedsim.privacy.base import Mechanism, PerClient, RoundContext, UpdateBatch
from fedsim.privacy.quantize import clip as clip_values
from fedsim.privacy.quantize import stochastic_round
from fedsim.privacy.workers import paillier_encrypt_many, paillier_encrypt_online

CKKS_N = 8192
CKKS_COEFF_BITS = (60, 40, 40, 60)
CKKS_SCALE_BITS = 40
CKKS_SLOTS = CKKS_N // 2
PREVIEW_BYTES = 24
#: At most this many CKKS encryptions of zero are kept ready per chunk length (~393 KB each, so
#: ≤ 25 MB); a round with more clients encrypts the rest directly.
CKKS_POOL_MAX = 64

_KEY_CACHE: dict[tuple, Any] = {}
_SCRATCH: list[str] = []


def _scratch_dir() -> str:
    """A private folder for SEAL's file-only ``save`` (the ciphertext preview), made once per
    process and removed at exit."""
    with _KEY_LOCK:
        if not _SCRATCH or not os.path.isdir(_SCRATCH[0]):
            import atexit
            import shutil

            shm = "/dev/shm"
            base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
            path = tempfile.mkdtemp(prefix="fedsim-he-", dir=base)
            atexit.register(shutil.rmtree, path, True)
            _SCRATCH[:] = [path]
        return _SCRATCH[0]
_KEY_LOCK = threading.Lock()


def _cached(key: tuple, make):
    """Process-wide cache of key material; returns (value, seconds spent making it)."""
    with _KEY_LOCK:
        if key in _KEY_CACHE:
            return _KEY_CACHE[key], 0.0
        t0 = time.perf_counter()
        value = make()
        _KEY_CACHE[key] = value
        return value, time.perf_counter() - t0


# --------------------------------------------------------------------------- Paillier
@dataclass(frozen=True)
class PaillierPacking:
    """Slot layout for packing fixed-point values into one Paillier plaintext."""

    key_bits: int
    frac_bits: int
    clip: float
    n_clients: int

    @property
    def offset(self) -> int:
        """M = ⌈clip·2^frac⌉: slot value = q + M ∈ [0, 2M]."""
        return math.ceil(self.clip * (1 << self.frac_bits))

    @property
    def slot_bits(self) -> int:
        """Enough bits for a sum of n slots (each ≤ 2M), rounded up to whole bytes."""
        bits = (2 * self.offset * max(1, self.n_clients)).bit_length()
        return 8 * math.ceil(bits / 8)

    @property
    def slots(self) -> int:
        """Slots per ciphertext: the packed integer must stay below n ≥ 2^(key_bits−1)."""
        return (self.key_bits - 1) // self.slot_bits

    def check(self) -> None:
        if self.slot_bits > 64:
            raise ConfigError("privacy.he.scheme", "paillier",
                              f"fewer clients or a smaller clip: {self.n_clients} clients × "
                              f"clip {self.clip} need {self.slot_bits}-bit slots (max 64)")

    def pack(self, q: np.ndarray) -> list[int]:
        """Signed integers (|q| ≤ M) → packed plaintext integers, slot 0 lowest."""
        nbytes = self.slot_bits // 8
        vals = (np.asarray(q, np.int64) + self.offset).astype("<u8")
        pad = (-len(vals)) % self.slots
        vals = np.concatenate([vals, np.full(pad, self.offset, "<u8")])
        raw = vals.view(np.uint8).reshape(-1, 8)[:, :nbytes].reshape(-1, self.slots * nbytes)
        return [int.from_bytes(row.tobytes(), "little") for row in raw]

    def unpack_sum(self, plaintexts: Sequence[int], length: int, n_summed: int) -> np.ndarray:
        """Packed sums of ``n_summed`` clients → the signed integer sums (int64)."""
        nbytes = self.slot_bits // 8
        buf = b"".join(int(p).to_bytes(self.slots * nbytes, "little") for p in plaintexts)
        cols = np.frombuffer(buf, np.uint8).reshape(-1, nbytes)
        full = np.zeros((cols.shape[0], 8), np.uint8)
        full[:, :nbytes] = cols
        sums = full.view("<u8").ravel()[:length].astype(np.int64)
        return sums - n_summed * self.offset


class KeyHolder:
    """Whoever holds the secret key (the clients jointly, or a key authority). The server only
    calls :meth:`decrypt_sum` on an aggregate ciphertext."""

    def __init__(self, scheme: str, secret: Any):
        self.scheme = scheme
        self._secret = secret

    def decrypt_sum(self, ciphertexts: Sequence[Any]) -> list:
        if self.scheme == "paillier":
            return [self._secret.raw_decrypt(int(c)) for c in ciphertexts]
        key = self._secret.secret_key()
        out: list[float] = []
        for vec in ciphertexts:
            out.extend(vec.decrypt(key))
        return out


class ObfuscatorPool:
    """Paillier obfuscators ρ = rⁿ mod n² for one public key, prepared ahead of the rounds.

    :meth:`take` hands out each one exactly once (removed under the lock); :meth:`refill_async`
    tops the pool up to a target in a background thread. ``seconds`` is the total time spent
    preparing, ``made`` how many were prepared.
    """

    thread_name = "paillier-precompute"

    def __init__(self, n: int):
        import gmpy2

        self.n = gmpy2.mpz(n)
        self.nsquare = self.n * self.n
        self._ready: list = []
        self._cost: list = []            # seconds each ready obfuscator took to prepare
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self.target = 0
        self.made = 0
        self.seconds = 0.0

    def _make_one(self):
        import random

        import gmpy2

        r = random.SystemRandom().randrange(1, int(self.n))   # as phe's get_random_lt_n
        with gmpy2.local_context(gmpy2.get_context(), allow_release_gil=True):
            return gmpy2.powmod(gmpy2.mpz(r), self.n, self.nsquare)

    def take(self, k: int) -> tuple[list, float]:
        """Up to ``k`` fresh obfuscators (fewer if the pool is short) and the seconds their
        preparation cost; they leave the pool, so nobody else can get them."""
        with self._lock:
            out, self._ready = self._ready[:k], self._ready[k:]
            cost, self._cost = self._cost[:k], self._cost[k:]
        return out, float(sum(cost))

    def __len__(self) -> int:
        with self._lock:
            return len(self._ready)

    def _fill(self) -> None:
        while True:
            with self._lock:
                if len(self._ready) >= self.target:
                    self._thread = None
                    return
            t0 = time.perf_counter()
            rho = self._make_one()
            spent = time.perf_counter() - t0
            with self._lock:
                self._ready.append(rho)
                self._cost.append(spent)
                self.made += 1
                self.seconds += spent

    def refill_async(self, target: int, start: bool = True) -> None:
        """Top up to ``target`` ready obfuscators in a background (daemon) thread; with
        ``start=False`` only raise the target (a later call starts the thread)."""
        with self._lock:
            self.target = max(self.target, int(target))
            if not start or self._thread is not None or len(self._ready) >= self.target:
                return
            self._thread = threading.Thread(target=self._fill, name=self.thread_name,
                                            daemon=True)
            self._thread.start()

    def wait(self, timeout: Optional[float] = None) -> None:
        """Block until the current refill is done (benchmarks: keep it out of timed rounds)."""
        with self._lock:
            th = self._thread
        if th is not None:
            th.join(timeout)


class CKKSZeroPool(ObfuscatorPool):
    """Fresh CKKS encryptions of a zero vector of ``length`` values under the public context,
    prepared ahead of the rounds (the module doc: "CKKS, the same split"). Same hand-out rules
    as :class:`ObfuscatorPool`: :meth:`take` removes each one under the lock, so none is ever
    used for two ciphertexts."""

    thread_name = "ckks-precompute"

    def __init__(self, public_ctx: Any, length: int):
        self.public_ctx = public_ctx
        self.length = int(length)
        self._zeros = [0.0] * self.length
        self._ready = []
        self._cost = []
        self._lock = threading.Lock()
        self._thread = None
        self.target = 0
        self.made = 0
        self.seconds = 0.0

    def _make_one(self):
        import tenseal as ts

        return ts.ckks_vector(self.public_ctx, self._zeros)


_POOLS: dict[Any, ObfuscatorPool] = {}


def obfuscator_pool(n: int) -> ObfuscatorPool:
    """The process-wide obfuscator pool of public key ``n``."""
    with _KEY_LOCK:
        pool = _POOLS.get(int(n))
        if pool is None:
            pool = _POOLS[int(n)] = ObfuscatorPool(n)
        return pool


def ckks_zero_pool(public_ctx: Any, length: int) -> CKKSZeroPool:
    """The process-wide pool of CKKS zero encryptions of ``length`` values for ``public_ctx``."""
    key = ("ckks", id(public_ctx), int(length))
    with _KEY_LOCK:
        pool = _POOLS.get(key)
        if pool is None or pool.public_ctx is not public_ctx:
            pool = _POOLS[key] = CKKSZeroPool(public_ctx, length)
        return pool


def precompute_stats() -> dict:
    """Paillier obfuscators and CKKS zero encryptions prepared off the rounds so far (all keys)
    and the seconds each kind took."""
    with _KEY_LOCK:
        pools = list(_POOLS.values())
    paillier = [p for p in pools if not isinstance(p, CKKSZeroPool)]
    ckks = [p for p in pools if isinstance(p, CKKSZeroPool)]
    return {"obfuscators": sum(p.made for p in paillier),
            "seconds": sum(p.seconds for p in paillier),
            "ckks_zeros": sum(p.made for p in ckks),
            "ckks_seconds": sum(p.seconds for p in ckks)}


def wait_precomputed(timeout: Optional[float] = None) -> None:
    """Wait for every pool's background refill (benchmarks call this between rounds)."""
    with _KEY_LOCK:
        pools = list(_POOLS.values())
    for p in pools:
        p.wait(timeout)


def paillier_keys(key_bits: int):
    """(public key, KeyHolder, seconds spent on keygen now), cached per key size."""
    from phe import paillier

    (pub, priv), spent = _cached(("paillier", key_bits),
                                 lambda: paillier.generate_paillier_keypair(n_length=key_bits))
    return pub, KeyHolder("paillier", priv), spent


def ckks_contexts():
    """(secret context, public context for clients and server, KeyHolder, keygen seconds)."""
    import tenseal as ts

    def make():
        ctx = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=CKKS_N,
                         coeff_mod_bit_sizes=list(CKKS_COEFF_BITS))
        ctx.global_scale = 2.0 ** CKKS_SCALE_BITS
        public = ctx.copy()          # not serialize/context_from: see the module docstring
        public.make_context_public()
        return ctx, public

    (ctx, public), spent = _cached(("ckks", CKKS_N), make)
    return ctx, public, KeyHolder("ckks", ctx), spent


# --------------------------------------------------------------------------- mechanism
@dataclass(frozen=True)
class HERound:
    """Public facts of one round that every client and the server know."""

    scheme: str
    weight_scale: float                 # ω
    n_clients: int                      # sampled clients (Paillier slot headroom)
    encrypted: np.ndarray               # flat indices that are encrypted
    clear: np.ndarray                   # flat indices sent in the clear
    packing: Optional[PaillierPacking]


@dataclass(frozen=True)
class EncryptionExplanation(Report):
    """One client's plain update beside *its own* ciphertext (the "What the server sees"
    views): ``plain`` holds the encrypted coordinates as the client knew them,
    ``ciphertext_hex`` the first bytes of its first ciphertext, which is all the server holds."""

    client_id: int
    scheme: str
    plain: np.ndarray
    ciphertext_hex: str
    ciphertexts: int
    ciphertext_bytes: int
    encrypted_coordinates: int
    clear_coordinates: int


@dataclass(frozen=True)
class HEUpload:
    """One client's row in the payload: ciphertexts (ints for Paillier, tenseal CKKS vectors)
    and its unencrypted coordinates (empty unless ``layer`` is set)."""

    client_id: int
    ciphertexts: tuple
    clear: np.ndarray
    info: HERound


class HomomorphicEncryption(Mechanism):
    """Encrypt updates so the server sums ciphertexts it cannot read.

    Parameters
    ----------
    scheme:
        ``"paillier"`` or ``"ckks"``.
    key_bits:
        Paillier modulus size (1024, 2048, 3072). Ignored by CKKS.
    layer, layer_slices:
        Encrypt only weight tensor ``layer``; ``layer_slices[i]`` is tensor i's slice of the
        flat update vector.
    clip, frac_bits:
        Paillier's fixed-point format: values are clipped to [-clip, clip] (coordinate-wise) and
        carry ``frac_bits`` fractional bits.
    """

    name = "he"
    order = 30
    hides_updates = True

    def __init__(self, scheme: str = "paillier", key_bits: int = 2048,
                 layer: Optional[int] = None, layer_slices: Optional[Sequence[slice]] = None,
                 clip: float = 4.0, frac_bits: int = 24):
        if scheme not in ("paillier", "ckks"):
            raise ConfigError("privacy.he.scheme", scheme, "'paillier' or 'ckks'")
        if layer is not None:
            if layer_slices is None:
                raise ConfigError("privacy.he.layer", layer,
                                  "null, unless the engine passes the model's layer layout")
            if not 0 <= layer < len(layer_slices):
                raise ConfigError("privacy.he.layer", layer,
                                  f"an index of a weight tensor, 0 to {len(layer_slices) - 1}")
        self.scheme = scheme
        self.key_bits = key_bits
        self.layer = layer
        self.layer_slices = list(layer_slices) if layer_slices is not None else None
        self.clip = clip
        self.frac_bits = frac_bits

    def _split(self, num_params: int) -> tuple[np.ndarray, np.ndarray]:
        idx = np.arange(num_params)
        if self.layer is None:
            return idx, idx[:0]
        enc = idx[self.layer_slices[self.layer]]
        mask = np.ones(num_params, bool)
        mask[enc] = False
        return enc, idx[mask]

    # ---- client side
    def client(self, ctx: RoundContext, state, batch: UpdateBatch):
        ids = tuple(int(c) for c in batch.client_ids)
        n, num_params = len(ids), batch.deltas.shape[1]
        weights = np.asarray(batch.weights, np.float64)
        omega = float(weights.max()) if n and weights.max() > 0 else 1.0
        enc_idx, clear_idx = self._split(num_params)
        packing = None
        if self.scheme == "paillier":
            packing = PaillierPacking(self.key_bits, self.frac_bits, self.clip, n)
            packing.check()
            pub, _, keygen_s = paillier_keys(self.key_bits)
        else:
            _, public_ctx, _, keygen_s = ckks_contexts()
        info = HERound(self.scheme, omega, n, enc_idx, clear_idx, packing)

        uploads, times, n_clipped = [], [], 0
        precompute_s = 0.0
        if self.scheme == "paillier":
            # Quantize and pack here; the encryptions (the costly, lock-holding part) run in
            # worker processes, one task per client (fedsim.privacy.workers).
            packed, pack_s = [], []
            for row, u in enumerate(ids):
                t0 = time.perf_counter()
                xc, clipped = clip_values(batch.deltas[row, enc_idx], self.clip)
                n_clipped += clipped
                q = stochastic_round(xc * (weights[row] / omega * (1 << self.frac_bits)),
                                     generator(ctx.seed, "he", ctx.round, "quantize", u))
                packed.append(packing.pack(q))
                pack_s.append(time.perf_counter() - t0)
            # Online/offline split: obfuscators prepared off the round, one per ciphertext.
            pool = obfuscator_pool(pub.n)
            need = sum(len(p) for p in packed)
            obf, precompute_s = pool.take(need) if len(pool) >= need else ([], 0.0)
            if len(obf) == need:
                encrypted, o = [], 0
                for p in packed:
                    encrypted.append(paillier_encrypt_online(pub.n, p, obf[o:o + len(p)]))
                    o += len(p)
            else:                               # pool short (first round): all in the round
                precompute_s = 0.0
                encrypted = paillier_encrypt_many(pub.n, packed)
            pool.refill_async(need)             # for the next round, while the student reads
            for row, u in enumerate(ids):
                cts, enc_s = encrypted[row]
                times.append(pack_s[row] + enc_s)  # the client's own work, wherever it ran
                uploads.append(HEUpload(u, cts, batch.deltas[row, clear_idx].copy(), info))
        else:
            import tenseal as ts

            # Online/offline split: encryptions of zero prepared off the round (one per
            # ciphertext, never reused); the round adds each encoded chunk to one.
            bounds = [(o, min(o + CKKS_SLOTS, len(enc_idx)))
                      for o in range(0, len(enc_idx), CKKS_SLOTS)]
            pools = [ckks_zero_pool(public_ctx, b - a) for a, b in bounds]
            zeros = []
            for pool in pools:
                z, spent = pool.take(n)
                zeros.append(z)
                precompute_s += spent
            for row, u in enumerate(ids):
                t0 = time.perf_counter()
                v = batch.deltas[row, enc_idx] * (weights[row] / omega)
                cts = []
                for j, (a, b) in enumerate(bounds):
                    if row < len(zeros[j]):
                        ct = zeros[j][row]
                        ct.add_(v[a:b].tolist())
                    else:                       # pool short (first round): encrypt here
                        ct = ts.ckks_vector(public_ctx, v[a:b].tolist())
                    cts.append(ct)
                times.append(time.perf_counter() - t0)
                uploads.append(HEUpload(u, tuple(cts), batch.deltas[row, clear_idx].copy(),
                                        info))
            # For the next round, while the student reads: the thread starts in end_round.
            # tenseal keeps the interpreter lock while it encrypts, so a refill running
            # during the rest of this round would stall every lock hand-over (file reads,
            # TensorFlow calls) by up to one encryption each (measured: +30 ms a round).
            for pool in pools:
                pool.refill_async(min(n, CKKS_POOL_MAX), start=False)

        ct_bytes = [self._ct_bytes(up.ciphertexts) for up in uploads]
        clear_bytes = 4 * len(clear_idx)
        per_client = np.array(ct_bytes, np.int64) + clear_bytes
        bytes_up = batch.bytes_up - 4 * num_params + per_client
        times_ms = np.array(times) * 1e3
        meas = {
            "scheme": self.scheme,
            "key_bits": self.key_bits if self.scheme == "paillier" else None,
            "poly_modulus_degree": CKKS_N if self.scheme == "ckks" else None,
            "keygen_ms": keygen_s * 1e3,
            "precompute_ms": precompute_s * 1e3,
            "encrypt_ms": float(times_ms.sum()),
            "client_ms": float(times_ms.sum()),
            "encrypt_ms_per_client": float(times_ms.mean()) if n else 0.0,
            "ciphertexts_per_client": len(uploads[0].ciphertexts) if n else 0,
            "ciphertext_bytes_per_client": int(np.mean(ct_bytes)) if n else 0,
            "plaintext_bytes_per_client": 4 * len(enc_idx),
            "expansion": (float(np.mean(ct_bytes)) / (4 * len(enc_idx))) if n and len(enc_idx)
            else 0.0,
            "bytes_per_client": int(per_client.mean()) if n else 0,
            "encrypted_coordinates": int(len(enc_idx)),
            "clear_coordinates": int(len(clear_idx)),
            "layer": self.layer,
            "weight_scale": omega,
        }
        if packing is not None:
            meas.update({"slots_per_ciphertext": packing.slots, "slot_bits": packing.slot_bits,
                         "frac_bits": self.frac_bits, "clip": self.clip,
                         "clipped_fraction": n_clipped / max(1, n * len(enc_idx))})
        else:
            meas.update({"slots_per_ciphertext": CKKS_SLOTS, "scale_bits": CKKS_SCALE_BITS})
        if n and uploads[0].ciphertexts:
            meas["preview_hex"] = self._preview(uploads[0].ciphertexts[0])
        return (batch.replace(bytes_up=bytes_up)
                .with_payload(self.name, PerClient(tuple(uploads)))), state, EncryptionReport(**meas)

    def end_round(self, ctx: RoundContext, state, batch: UpdateBatch):
        """The round is over: start preparing CKKS's encryptions of zero for the next one."""
        if self.scheme == "ckks":
            with _KEY_LOCK:
                pools = [p for p in _POOLS.values() if isinstance(p, CKKSZeroPool)]
            for pool in pools:
                pool.refill_async(0)
        return state, None

    def explain(self, ctx: RoundContext, batch: UpdateBatch, row: int):
        """Client ``row``'s plain coordinates and its own first ciphertext."""
        payload = batch.payload.get(self.name)
        if payload is None or not 0 <= row < len(payload.items):
            return None
        up = payload.items[row]
        if not up.ciphertexts:
            return None
        return EncryptionExplanation(
            client_id=int(up.client_id), scheme=self.scheme,
            plain=np.asarray(batch.deltas[row, up.info.encrypted], np.float64),
            ciphertext_hex=self._preview(up.ciphertexts[0]), ciphertexts=len(up.ciphertexts),
            ciphertext_bytes=self._ct_bytes(up.ciphertexts),
            encrypted_coordinates=int(len(up.info.encrypted)),
            clear_coordinates=int(len(up.info.clear)))

    def _ct_bytes(self, cts: tuple) -> int:
        if self.scheme == "paillier":
            return len(cts) * (2 * self.key_bits // 8)    # an element of Z_{n²}
        # SEAL layout: polynomials × N coefficients × primes left × 8-byte words.
        return sum(c.size() * c.poly_modulus_degree() * c.coeff_modulus_size() * 8
                   for vec in cts for c in vec.ciphertext())

    def _preview(self, ct: Any) -> str:
        if self.scheme == "paillier":
            raw = int(ct).to_bytes(2 * self.key_bits // 8, "big")
        else:
            # SEAL's own save (no protobuf), skipping its 16-byte header. One scratch folder
            # per process (memory-backed where /dev/shm exists), one file per thread: making
            # and removing a temporary folder every round cost 2-30 ms on a busy disk.
            path = os.path.join(_scratch_dir(), f"ct-{threading.get_ident()}")
            try:
                ct.ciphertext()[0].save(path)
                with open(path, "rb") as fh:
                    raw = fh.read(16 + PREVIEW_BYTES)[16:]
            finally:
                try:
                    os.remove(path)
                except OSError:
                    pass
        return raw[:PREVIEW_BYTES].hex()

    # ---- server side
    def secure_sum(self, ctx: RoundContext, state, batch: UpdateBatch):
        uploads: tuple[HEUpload, ...] = batch.payload[self.name].items
        num_params = batch.deltas.shape[1]
        weights = np.asarray(batch.weights, np.float64)
        result = np.zeros(num_params)
        if not uploads:
            return result, DecryptionReport(add_ms=0.0, decrypt_ms=0.0, server_ms=0.0,
                                            max_abs_error=0.0, summed=0)
        info = uploads[0].info
        n = len(uploads)

        # The server: multiply (Paillier) / add (CKKS) ciphertexts it cannot read.
        t0 = time.perf_counter()
        if info.scheme == "paillier":
            import gmpy2
            pub, holder, _ = paillier_keys(info.packing.key_bits)
            nsq = gmpy2.mpz(pub.nsquare)
            agg = [gmpy2.mpz(c) for c in uploads[0].ciphertexts]
            for up in uploads[1:]:
                agg = [a * c % nsq for a, c in zip(agg, up.ciphertexts)]
            agg = [int(a) for a in agg]
        else:
            _, _, holder, _ = ckks_contexts()
            agg = []
            for j in range(len(uploads[0].ciphertexts)):
                # One new vector (the uploads stay as sent), then additions in place.
                # (Not ``.copy()``: tenseal copies through protobuf, which crashes once
                # TensorFlow is loaded; see the module docstring.)
                acc = uploads[0].ciphertexts[j]
                for k, up in enumerate(uploads[1:]):
                    if k == 0:
                        acc = acc + up.ciphertexts[j]
                    else:
                        acc.add_(up.ciphertexts[j])
                agg.append(acc)
        clear_sum = weights @ np.stack([up.clear for up in uploads]) if len(info.clear) else None
        add_ms = (time.perf_counter() - t0) * 1e3

        # The key holder: decrypt the aggregate only.
        t0 = time.perf_counter()
        plain = holder.decrypt_sum(agg)
        if info.scheme == "paillier":
            sums = info.packing.unpack_sum(plain, len(info.encrypted), n)
            enc_sum = sums.astype(np.float64) / (1 << info.packing.frac_bits)
        else:
            enc_sum = np.asarray(plain[:len(info.encrypted)], np.float64)
        decrypt_ms = (time.perf_counter() - t0) * 1e3

        result[info.encrypted] = enc_sum * info.weight_scale
        if clear_sum is not None:
            result[info.clear] = clear_sum
        plain_sum = weights @ batch.deltas       # teaching display only
        err = np.abs(result - plain_sum)
        reference = plain_sum.copy()             # what the scheme computes exactly: clipped
        if info.packing is not None and len(info.encrypted):
            reference[info.encrypted] = weights @ clip_values(
                batch.deltas[:, info.encrypted], info.packing.clip)[0]
        meas = {
            "add_ms": add_ms,
            "decrypt_ms": decrypt_ms,
            "server_ms": add_ms + decrypt_ms,
            "summed": n,
            "max_abs_error": float(err.max()) if num_params else 0.0,
            "max_abs_error_encrypted": float(err[info.encrypted].max()) if len(info.encrypted)
            else 0.0,
            "quantization_error": float(np.max(np.abs(result - reference))) if num_params
            else 0.0,
            "summed_in_clear": int(len(info.clear)),
            "preview_sum": [float(v) for v in result[:8]],
            "preview_plain_sum": [float(v) for v in plain_sum[:8]],
        }
        return result, DecryptionReport(**meas)


def from_config(cfg, layer_slices: Optional[Sequence[slice]] = None
                ) -> Optional[HomomorphicEncryption]:
    """The mechanism for ``cfg.privacy.he``, or ``None`` when the scheme is ``off``.

    Paillier's clip (coordinate-wise, public) is 4.0, or the DP clip when central DP clips to
    more than that; with local DP the noise rides on the update, so it is 16× the DP clip.
    A wider clip only costs a few slot bits; coordinates beyond it are clipped and counted in
    the ``clipped_fraction`` measurement.
    """
    priv = getattr(cfg, "privacy", cfg)
    he = priv.he
    if not he.enabled:
        return None
    clip = 4.0
    if priv.dp.mode == "central":
        clip = max(clip, priv.dp.clip)
    elif priv.dp.mode == "local":
        clip = max(clip, 16.0 * priv.dp.clip)
    return HomomorphicEncryption(scheme=he.scheme, key_bits=he.key_bits, layer=he.layer,
                                 layer_slices=layer_slices, clip=clip)

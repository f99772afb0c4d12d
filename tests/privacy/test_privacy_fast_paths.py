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


# --------------------------------------------------------------------------- central DP accounting
import math  # noqa: E402

from fedsim.privacy import accountant, dp  # noqa: E402


@pytest.mark.parametrize("z,q", [(1.0, 1.0), (0.7, 0.5), (0.8, 0.1), (2.0, 0.05), (0.3, 1.0)])
def test_fast_pld_is_dp_accounting_bit_for_bit(z, q):
    one = dp._pld_one(z, q)
    lib = fast = one
    for t in range(1, 31):
        if t > 1:
            lib, fast = lib.compose(one), accountant.compose_pld(fast, one)
            for a, b in ((lib._pmf_remove, fast._pmf_remove), (lib._pmf_add, fast._pmf_add)):
                a, b = a.to_dense_pmf(), b.to_dense_pmf()
                assert a._lower_loss == b._lower_loss
                assert a._infinity_mass == b._infinity_mass
                assert np.array_equal(a._probs, b._probs)
        for delta in (1e-7, 1e-5, 1e-3, 0.05):
            want = lib.get_epsilon_for_delta(delta)
            got = accountant.pld_epsilon_for_delta(fast, delta)
            assert float(got) == float(want) or (math.isinf(got) and math.isinf(want))


@pytest.mark.parametrize("wait", [True, False])
def test_central_dp_epsilon_unchanged_with_accounting_ahead(wait):
    """Round by round, the engine's PLD ε equals dp-accounting composing one round at a time,
    whether the next round's accounting was finished between rounds or not."""
    from fedsim import Simulation, SimulationConfig

    cfg = {"seed": 1, "rounds": 12, "clients": {"num_clients": 10, "fraction": 0.5},
           "privacy": {"dp": {"mode": "central", "noise_multiplier": 0.8}}}
    sim = Simulation(SimulationConfig.from_dict(cfg))
    mech = sim.pipeline.get("dp")
    one = dp._pld_one(mech.noise_multiplier, mech.sample_rate)
    ref = one
    for t in range(12):
        if wait:
            dp.wait_precomputed()
        got = sim.step_round().privacy["epsilon_pld"]
        if t:
            ref = ref.compose(one)
        assert got == float(ref.get_epsilon_for_delta(mech.delta))


# --------------------------------------------------------------------------- CKKS zero pool
def test_ckks_zero_pool_hands_each_out_once_and_sums_within_error():
    pytest.importorskip("tenseal")
    from fedsim.privacy import he

    _, public, holder, _ = he.ckks_contexts()
    pool = he.CKKSZeroPool(public, 50)
    pool.refill_async(6)
    pool.wait()
    assert len(pool) == 6
    a, _ = pool.take(4)
    b, _ = pool.take(4)
    assert len(a) == 4 and len(b) == 2 and len(pool) == 0
    assert not {id(x) for x in a} & {id(x) for x in b}
    rng = np.random.default_rng(0)
    vals = [rng.normal(0, 0.1, 50) for _ in a]
    for ct, v in zip(a, vals):
        ct.add_(v.tolist())
    acc = a[0] + a[1]
    for ct in a[2:]:
        acc.add_(ct)
    got = np.asarray(holder.decrypt_sum([acc])[:50])
    assert np.max(np.abs(got - np.sum(vals, axis=0))) < 1e-6


def test_ckks_rounds_use_the_pool_after_the_first():
    pytest.importorskip("tenseal")
    from fedsim.privacy import he
    from fedsim.privacy.he import HomomorphicEncryption

    batch = _batch(4, 5000, seed=2)                  # two chunks: 4096 + 904 values
    mech = MechanismDriver(HomomorphicEncryption("ckks"))
    for rnd in (1, 2):
        ctx = _ctx(batch, rnd=rnd)
        sent, meas = mech.client(ctx, batch)
        total, _ = mech.secure_sum(ctx, sent)
        mech.end_round(ctx, sent)
        he.wait_precomputed()
        want = np.asarray(batch.weights) @ batch.deltas
        assert np.max(np.abs(total - want)) < 1e-4
        assert meas["ciphertexts_per_client"] == 2
        if rnd == 2:
            assert meas["precompute_ms"] > 0      # the encryptions of zero came from the pool

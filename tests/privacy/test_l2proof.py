"""L2 norm-bound zero-knowledge proofs (fedsim.privacy.zkp.l2_proof, RoFL-style)."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedsim.privacy.zkp import l2_proof as l2
from fedsim.privacy.zkp import ORDER, commit
from fedsim.rng import generator


def _prove(x, bound, seed=0, **kw):
    return l2.prove_l2(x, bound, rng=generator(seed, "l2proof-test"), **kw)


def _ok(p, bound, **kw):
    return l2.check_l2(p.commitments, p, bound, **kw)


# --------------------------------------------------------------------------- exact small cases
@pytest.mark.parametrize("x, bound, ok", [
    ([3, 4], 5, True),             # ‖x‖ = 5 exactly
    ([3, 4], 5.0, True),
    ([-3, -4], 5, True),
    ([3, 4], 4.99, False),         # B² = ⌊24.9⌋ = 24 < 25
    ([3, 4], 4, False),
    ([0, 0, 0], 1, True),          # the zero vector
    ([7], 7, True), ([-7], 7, True), ([8], 7, False), ([-8], 7, False),
    ([1, 1, 1, 1, 1], 2.24, True),  # 5 ≤ ⌊5.0176⌋
    ([1, 1, 1, 1, 1], 2.2, False),  # 5 > ⌊4.84⌋
])
def test_exact_small_cases(x, bound, ok):
    p = _prove(x, bound)
    assert l2.verify_l2(p.commitments, p, bound) is ok
    assert p.nbytes == l2.proof_size(len(x), bound)["proof"]


def test_linf_within_bound_but_l2_over_is_rejected():
    """Every coordinate passes an L∞ bound of 5, the norm (6) does not pass an L2 bound of 5."""
    x = [3, 3, 3, 3]
    assert max(abs(v) for v in x) <= 5 and math.hypot(*x) == 6
    ok, why = _ok(_prove(x, 5), 5)
    assert not ok and "sum of squares exceeds the bound" in why
    assert _ok(_prove(x, 6), 6) == (True, "ok")
    # a boosted honest update: 64 coordinates each at the L∞ bound 8, norm 64
    boosted = np.full(64, 8)
    assert not l2.verify_l2(*(lambda p: (p.commitments, p))(_prove(boosted, 32)), 32)


def test_wraparound_cheat_is_rejected():
    """A huge residue whose square is 2 mod ℓ: Σx² ≡ 2 ≤ B², caught by the coordinate range."""
    def sqrt_mod(a):          # Tonelli–Shanks (ℓ − 1 = 2^s·q)
        q, s = ORDER - 1, 0
        while q % 2 == 0:
            q, s = q // 2, s + 1
        z = next(z for z in range(2, 100) if pow(z, (ORDER - 1) // 2, ORDER) == ORDER - 1)
        m, c, t, r = s, pow(z, q, ORDER), pow(a, q, ORDER), pow(a, (q + 1) // 2, ORDER)
        while t != 1:
            i, t2 = 0, t
            while t2 != 1:
                t2, i = t2 * t2 % ORDER, i + 1
            b = pow(c, 1 << (m - i - 1), ORDER)
            m, c, t, r = i, b * b % ORDER, t * b * b % ORDER, r * b % ORDER
        return max(r, ORDER - r)

    a = next(a for a in range(2, 50) if math.isqrt(a) ** 2 != a and
             pow(a, (ORDER - 1) // 2, ORDER) == 1)
    root = sqrt_mod(a)
    assert root * root % ORDER == a and root > 2 ** 200
    ok, why = _ok(_prove([root, 0], 10), 10)
    assert not ok and why.startswith("coordinate range")


# --------------------------------------------------------------------------- honest clients
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(st.integers(-12, 12), min_size=n, max_size=n),
    st.floats(0.0, 8.0), st.integers(0, 2 ** 31))))
def test_honest_vectors_always_verify(case):
    x, slack, seed = case
    bound = math.sqrt(sum(v * v for v in x)) + slack + 0.5     # ≥ ‖x‖
    p = _prove(x, bound, seed=seed, round=seed % 7, client_id=seed % 5)
    assert _ok(p, bound, round=seed % 7, client_id=seed % 5) == (True, "ok")


@settings(max_examples=10, deadline=None)
@given(st.lists(st.floats(-3, 3), min_size=1, max_size=8), st.floats(0.1, 2.0))
def test_quantized_float_updates_verify(xs, bound):
    q = l2.quantize_l2(np.array(xs), bound, scale=16)
    assert np.linalg.norm(q) <= bound * 16 + 1e-9
    p = _prove(q, bound * 16)
    assert l2.verify_l2(p.commitments, p, bound * 16)


def test_openings_and_commitment_sum():
    xs = [[1, -2, 3], [4, 0, -1]]
    proofs = []
    for k, x in enumerate(xs):
        p, r = l2.prove_l2_with_openings(x, 10, rng=generator(1, "l2", k), client_id=k)
        assert list(p.commitments) == [commit(v, ri) for v, ri in zip(x, r)]
        proofs.append((p, r))
    total = l2.commitment_sum([p.commitments for p, _ in proofs])
    sums = np.sum(xs, axis=0)
    rsum = [sum(r[i] for _, r in proofs) for i in range(3)]
    assert total == [commit(int(v), rr) for v, rr in zip(sums, rsum)]
    given_r = [5, 6, 7]
    p = l2.prove_l2([1, 2, 2], 3, rng=generator(2, "l2"), randomness=given_r)
    assert p.commitments[0] == commit(1, 5)


def test_seeded_and_os_random():
    a, b = _prove([1, 2], 3, seed=4), _prove([1, 2], 3, seed=4)
    assert a == b
    c = l2.prove_l2([1, 2], 3)        # os.urandom
    assert c.commitments != a.commitments and l2.verify_l2(c.commitments, c, 3)


# --------------------------------------------------------------------------- tampering
def _flip(b: bytes, pos: int = 0) -> bytes:
    return b[:pos] + bytes([b[pos] ^ 1]) + b[pos + 1:]


def _other_point(seed=9):
    return commit(3, 12345 + seed)


def _tampered(p):
    """(name, proof) for a change to every component of p."""
    out = []
    rep = dataclasses.replace
    cp0 = p.coordinate_proofs[0]
    sp = p.sum_proof
    out.append(("square commitment", rep(p, square_commitments=(_other_point(),) +
                                         p.square_commitments[1:])))
    for name, off in (("A1", 0), ("A2", 32), ("z_x", 64), ("z_r", 96), ("z_rho", 128)):
        sq = p.square_proofs[1]
        bad = sq[:off] + (_other_point() if off < 64 else _flip(sq[off:off + 32])) + sq[off + 32:]
        out.append((f"square proof {name}", rep(p, square_proofs=(p.square_proofs[0], bad) +
                                                p.square_proofs[2:])))
    out.append(("square proof length", rep(p, square_proofs=(p.square_proofs[0][:-1],) +
                                           p.square_proofs[1:])))
    out.append(("coordinate bit commitment", rep(p, coordinate_proofs=(rep(
        cp0, bit_commitments=(_other_point(),) + cp0.bit_commitments[1:]),) +
        p.coordinate_proofs[1:])))
    out.append(("coordinate response", rep(p, coordinate_proofs=(rep(
        cp0, responses=(_flip(cp0.responses[0], 40),) + cp0.responses[1:]),) +
        p.coordinate_proofs[1:])))
    out.append(("coordinate commitment", rep(p, coordinate_proofs=(rep(
        cp0, commitment=_other_point()),) + p.coordinate_proofs[1:])))
    out.append(("coordinate proofs swapped", rep(p, coordinate_proofs=(
        p.coordinate_proofs[1], p.coordinate_proofs[0]) + p.coordinate_proofs[2:])))
    out.append(("sum bit commitment", rep(p, sum_proof=rep(
        sp, bit_commitments=sp.bit_commitments[:-1] + (_other_point(),)))))
    out.append(("sum response", rep(p, sum_proof=rep(
        sp, responses=sp.responses[:-1] + (_flip(sp.responses[-1], 70),)))))
    out.append(("sum bits truncated", rep(p, sum_proof=rep(
        sp, bit_commitments=sp.bit_commitments[:-1], responses=sp.responses[:-1]))))
    out.append(("sum commitment", rep(p, sum_proof=rep(sp, commitment=_other_point()))))
    out.append(("round", rep(p, round=p.round + 1)))
    out.append(("client", rep(p, client_id=p.client_id + 1)))
    out.append(("bound", rep(p, bound_sq=p.bound_sq + 1)))
    out.append(("invalid point", rep(p, square_commitments=(b"\xff" * 32,) +
                                     p.square_commitments[1:])))
    return out


def test_tampered_proofs_are_rejected():
    p = _prove([2, -3, 1], 5, round=2, client_id=7)
    assert _ok(p, 5, round=2, client_id=7) == (True, "ok")
    for name, bad in _tampered(p):
        ok, why = l2.check_l2(bad.commitments, bad, 5)
        assert not ok, name
        assert isinstance(why, str) and why != "ok"
    # the verifier's own view of who sent it and when
    assert not l2.verify_l2(p.commitments, p, 5, round=3)
    assert not l2.verify_l2(p.commitments, p, 5, client_id=8)
    # other commitments (e.g. the ones that entered the secure sum) than the proof's
    other = (_other_point(),) + p.commitments[1:]
    assert not l2.verify_l2(other, p, 5)
    assert not l2.verify_l2(other, dataclasses.replace(p, commitments=other), 5)
    # another bound
    assert not l2.verify_l2(p.commitments, p, 6)


def test_commitment_to_a_wrong_square_is_rejected():
    """A prover whose D_i commits to a smaller 'square' (to pass the sum check) is caught."""
    x = [7, 7]                     # ‖x‖ ≈ 9.9 > 9
    honest = _prove(x, 9)
    small = _prove([1, 1], 9, seed=3)
    # splice the small vector's square commitments and sum proof onto the big one's C_i
    forged = dataclasses.replace(honest, square_commitments=small.square_commitments,
                                 sum_proof=small.sum_proof)
    ok, why = _ok(forged, 9)
    assert not ok and ("square" in why or "another commitment" in why)
    assert not _ok(honest, 9)[0] and _ok(honest, 9)[1].startswith("the sum of squares")


def test_parameters_and_sizes():
    assert l2.bound_squared(5) == 25 and l2.bound_squared(4.99) == 24
    assert l2.coordinate_bits(5) == 4 and l2.sum_bits(5) == 5
    with pytest.raises(ValueError):
        l2.bound_squared(0)
    s = l2.proof_size(32, 127)
    # points 96 B, scalars 32 B; a bit is C_j + (a0, a1, e0, z0, z1) = 96 + 288 B
    assert s["proof"] == 32 * (96 + 288 + 8 * 384) + 14 * 384
    assert s["total"] == s["proof"] + 32 * 96

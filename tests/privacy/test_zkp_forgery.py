"""Forged zero-knowledge proofs are rejected (issue #26): a wrong norm, a wrong commitment, a
replayed proof (another client id, another round), a tampered response; and the worker-pool
path gives the same proofs and verdicts as the in-process one."""

import dataclasses

import numpy as np
import pytest

from fedsim.privacy.base import PerClient, UpdateBatch
from fedsim.privacy.zkp import commit, group
from fedsim.privacy.zkp import l2_proof as l2
from fedsim.privacy.zkp.mechanism import (L2_UNITS, check_norm, check_range, prove_norm,
                                          prove_range)
from fedsim.privacy.zkp.range_proof import verify_coordinate
from fedsim.rng import generator


def _torsion() -> bytes:
    """A point of the curve of order dividing G1's cofactor (outside the order-ℓ subgroup):
    ℓ·P for a curve point P found by trying x = 5, 6, … (y² = x³ + 4 over F_p)."""
    p = int("1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffff"
            "b9feffffffffaaab", 16)
    x = 5
    while pow(x ** 3 + 4, (p - 1) // 2, p) != 1:
        x += 1
    y = pow(x ** 3 + 4, (p + 1) // 4, p)
    pt = group.decode(x.to_bytes(48, "little") + y.to_bytes(48, "little"))
    acc = group.decode(group.IDENTITY)
    for bit in bin(group.ORDER)[2:]:
        acc = acc + acc
        if bit == "1":
            acc = acc + pt
    assert not acc.is_in_subgroup() and group.encode(acc) != group.IDENTITY
    return group.encode(acc)


def _flip(b: bytes, pos: int) -> bytes:
    return b[:pos] + bytes([b[pos] ^ 1]) + b[pos + 1:]


@pytest.fixture(scope="module")
def l2_proof():
    q = l2.quantize_l2(np.random.default_rng(0).normal(size=12), 1.0, L2_UNITS)
    proof, rand, _ = prove_norm(0, 3, 5, tuple(int(v) for v in q))
    assert check_norm(proof, 3, 5)[:2] == (True, "ok")
    return proof


@pytest.fixture(scope="module")
def range_proof():
    proof, rand, _ = prove_range(0, 3, 5, (0, 17, 200, 255), (1, 4, 9, 11), 8)
    assert check_range(proof, (1, 4, 9, 11), 8, 3, 5)[:2] == (True, "ok")
    return proof


# --------------------------------------------------------------------------- L2
def test_l2_wrong_norm_is_rejected():
    """A client over the bound, and an honest proof checked against a smaller bound."""
    over = np.zeros(12, np.int64)
    over[:4] = 64                                     # ‖x‖ = 128 > 127, every |x_i| ≤ 127
    ok, why, _ = check_norm(prove_norm(0, 1, 2, tuple(int(v) for v in over))[0], 1, 2)
    assert not ok and "exceeds the bound" in why
    at = np.zeros(12, np.int64)
    at[0] = 127                                       # exactly at the bound: accepted
    assert check_norm(prove_norm(0, 1, 2, tuple(int(v) for v in at))[0], 1, 2)[0]
    p = prove_l2([3, 4], 5)
    assert l2.verify_l2(p.commitments, p, 5) and not l2.verify_l2(p.commitments, p, 4.9)


def prove_l2(x, bound):
    return l2.prove_l2(x, bound, rng=generator(7, "forgery"), round=1, client_id=1)


def test_l2_wrong_commitment_is_rejected(l2_proof):
    p = l2_proof
    other = commit(1, 424242)
    # the verifier's commitments (what entered the secure sum) differ from the proof's
    cs = (other,) + p.commitments[1:]
    assert not l2.check_l2(cs, p, L2_UNITS, round=3, client_id=5)[0]
    # the proof relabelled to other commitments
    assert not check_norm(dataclasses.replace(p, commitments=cs), 3, 5)[0]
    # a commitment that is not a point of the prime-order subgroup
    for bad in (b"\xff" * 32, group.IDENTITY[:-1] + b"\x80", b"\x00" * 31):
        ok, why, _ = check_norm(dataclasses.replace(p, commitments=(bad,) + p.commitments[1:]),
                                3, 5)
        assert not ok and why != "ok"


@pytest.mark.parametrize("rnd, cid", [(3, 6), (4, 5), (2, 5), (4, 6)])
def test_l2_replayed_proof_is_rejected(l2_proof, rnd, cid):
    """Another client id or another round: as sent, and relabelled (the Fiat–Shamir
    transcript binds both, so relabelling the proof does not help)."""
    assert not check_norm(l2_proof, rnd, cid)[0]
    relabelled = dataclasses.replace(l2_proof, round=rnd, client_id=cid)
    ok, why, _ = check_norm(relabelled, rnd, cid)
    assert not ok and why != "ok"


def test_l2_tampered_responses_are_rejected(l2_proof):
    p = l2_proof
    rep = dataclasses.replace
    sq = p.square_proofs[2]
    for off in (64, 96, 128):                         # z_x, z_r, z_ρ
        bad = rep(p, square_proofs=p.square_proofs[:2] + (_flip(sq, off),) + p.square_proofs[3:])
        assert not check_norm(bad, 3, 5)[0], off
    cp = p.coordinate_proofs[5]
    for byte in (0, 40, 70, 100):                      # e0, e1, z0, z1 of a bit's OR-proof
        bad_cp = rep(cp, responses=(_flip(cp.responses[0], byte),) + cp.responses[1:])
        bad = rep(p, coordinate_proofs=p.coordinate_proofs[:5] + (bad_cp,) +
                  p.coordinate_proofs[6:])
        assert not check_norm(bad, 3, 5)[0], byte
    sp = p.sum_proof
    bad = rep(p, sum_proof=rep(sp, responses=(_flip(sp.responses[0], 1),) + sp.responses[1:]))
    assert not check_norm(bad, 3, 5)[0]
    # a non-canonical scalar (≥ ℓ) in place of a valid one
    big = (group.ORDER + 1).to_bytes(32, "little")
    bad = rep(p, square_proofs=(sq[:64] + big + sq[96:],) + p.square_proofs[1:])
    assert not check_norm(bad, 3, 5)[0]
    # malformed objects never raise
    assert not check_norm(rep(p, square_proofs=p.square_proofs[:-1]), 3, 5)[0]
    assert not check_norm(None, 3, 5)[0]


# --------------------------------------------------------------------------- L∞ range proofs
def test_range_replayed_or_moved_proof_is_rejected(range_proof):
    p = range_proof
    coords = (1, 4, 9, 11)
    assert not check_range(p, coords, 8, 3, 6)[0]                 # another client
    assert not check_range(p, coords, 8, 4, 5)[0]                 # another round
    for rnd, cid in ((3, 6), (4, 5)):                              # relabelled
        assert not check_range(dataclasses.replace(p, round=rnd, client_id=cid), coords, 8,
                               rnd, cid)[0]
    # a coordinate's proof moved to another index
    moved = dataclasses.replace(p.coordinates[0], index=2)
    assert not verify_coordinate(moved, 8, 3, 5)[0]


def test_range_tampered_response_and_commitment_are_rejected(range_proof):
    p = range_proof
    rep = dataclasses.replace
    cp = p.coordinates[2]
    for bit in range(8):
        for byte in (3, 35, 67, 99):
            bad = rep(cp, responses=cp.responses[:bit] + (_flip(cp.responses[bit], byte),) +
                      cp.responses[bit + 1:])
            assert not verify_coordinate(bad, 8, 3, 5)[0], (bit, byte)
    # the commitment to the value replaced: the bits no longer add up, or the transcript moves
    assert not verify_coordinate(rep(cp, commitment=commit(200, 1)), 8, 3, 5)[0]
    # a bit commitment swapped for a commitment to 2 with a valid-looking response
    assert not verify_coordinate(rep(cp, bit_commitments=(commit(2, 5),) +
                                     cp.bit_commitments[1:]), 8, 3, 5)[0]
    # a torsion component on a bit commitment (a point outside the prime-order subgroup)
    torsion = _torsion()
    bad_point = group.add(cp.bit_commitments[0], torsion)
    assert not group.valid_point(bad_point)
    ok, why = verify_coordinate(rep(cp, bit_commitments=(bad_point,) +
                                    cp.bit_commitments[1:]), 8, 3, 5)
    assert not ok and why != "ok"


def test_range_out_of_range_value_is_rejected():
    proof, _, _ = prove_range(0, 1, 1, (256, 3), (0, 1), 8)       # 256 needs 9 bits
    ok, why, _ = check_range(proof, (0, 1), 8, 1, 1)
    assert not ok and "out of range" in why
    proof, _, _ = prove_range(0, 1, 1, (-1, 3), (0, 1), 8)
    assert not check_range(proof, (0, 1), 8, 1, 1)[0]


# --------------------------------------------------------------------------- group layer
def test_checked_multiplication_rejects_points_outside_the_subgroup():
    torsion = _torsion()
    with pytest.raises(group.BAD):
        group.mul_checked(5, group.add(group.VALUE_BASE, torsion))
    with pytest.raises(group.BAD):
        group.mul_checked(0, b"\xff" * 32)
    assert group.mul_checked(0, group.VALUE_BASE) == group.IDENTITY
    assert group.mul_checked(1, group.VALUE_BASE) == group.VALUE_BASE
    # the table of small multiples gives what the multiplication gives
    for m in (2, 3, 127, 16129, -5, 2 ** 15 + 3):
        assert group.mul_value(m) == group.mul(m, group.VALUE_BASE)
    assert group.commit(0, 0) == group.IDENTITY


def test_worker_pool_gives_the_same_proofs_and_verdicts(monkeypatch):
    """run_many in worker processes (the app's setting) returns what in-process returns."""
    from fedsim.privacy import workers

    tasks = [(0, 2, u, (u, 40, 255), (0, 5, 7), 8) for u in range(3)]
    here = [prove_range(*t) for t in tasks]
    monkeypatch.setattr(workers, "_enabled", True)
    monkeypatch.setenv("FEDSIM_CRYPTO_WORKERS", "2")
    try:
        there = workers.run_many(prove_range, tasks)
        checks = workers.run_many(check_range, [(p, (0, 5, 7), 8, 2, u)
                                                for u, (p, _, _) in enumerate(there)])
    finally:
        pool, workers._pool = workers._pool, None
        if pool is not None:
            pool.shutdown()
    assert not workers._broken and pool is not None        # it ran in worker processes
    assert [(p, r) for p, r, _ in there] == [(p, r) for p, r, _ in here]
    assert [c[:2] for c in checks] == [(True, "ok")] * 3


def test_l2_mechanism_rejects_replay_from_the_previous_round():
    from fedsim.privacy.base import RoundContext
    from fedsim.privacy.zkp import L2NormProofs

    mech = L2NormProofs(bound=1.0)
    batch = UpdateBatch((0, 1), np.full((2, 6), 0.1), np.ones(2))

    def ctx(r):
        return RoundContext(r, 0, 2, 2.0, 1.0, (0, 1), (), 6)

    sent1, _, _ = mech.client(ctx(1), None, batch)
    sent2, _, _ = mech.client(ctx(2), None, batch)
    ups = list(sent2.payload["zkp"].items)
    ups[1] = sent1.payload["zkp"].items[1]            # round 1's proof replayed in round 2
    got, _, rep = mech.receive(ctx(2), None, sent2.with_payload("zkp", PerClient(tuple(ups))))
    assert rep.verified == [True, False] and got.client_ids == (0,)
    assert "another round" in rep.reasons[1]

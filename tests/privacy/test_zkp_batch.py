"""Issue #26's faster proofs: BLS12-381 G1 with comb tables, batch verification (cofactored),
and range proofs half made before the round. Each test can fail: it checks the values, not
only that something ran."""

import dataclasses
import threading
import time

import numpy as np
import pytest

from fedsim import Simulation, SimulationConfig
from fedsim.privacy.zkp import ahead as ahead_module
from fedsim.privacy.zkp import group
from fedsim.privacy.zkp.ahead import ProverAhead, prepare_range
from fedsim.privacy.zkp.mechanism import check_range, prove_range
from fedsim.privacy.zkp.range_proof import (prepare_coordinate, prove_coordinate,
                                            verify_range_proofs_together)
from fedsim.rng import generator


# --------------------------------------------------------------------------- group
def test_comb_tables_equal_arkworks_multiplication():
    rng = np.random.default_rng(3)
    for s in [0, 1, 2, 255, 256, group.ORDER - 1, group.ORDER, -7,
              *(int.from_bytes(rng.bytes(40), "little") for _ in range(5))]:
        want = group.BLIND_BASE_POINT * group.to_scalar(s)
        assert group.base_point(s) == want, s
        assert group.value_point(s) == group.VALUE_BASE_POINT * group.to_scalar(s), s
    # commitments are additive, and the identity is an ordinary point
    assert group.add(group.commit(3, 5), group.commit(4, 6)) == group.commit(7, 11)
    assert group.commit(0, 0) == group.IDENTITY
    assert group.valid_point(group.IDENTITY) and group.valid_point(group.VALUE_BASE)


def test_batch_accepts_true_equations_and_rejects_one_false_one():
    B, V = group.BLIND_BASE_POINT, group.VALUE_BASE_POINT
    pts = [group.commit_point(m, r) for m, r in ((1, 2), (5, 9), (0, 4))]

    def batch(shift: int) -> bool:
        b = group.Batch(b"seed", 3)
        for (m, r), p in zip(((1, 2), (5, 9), (0, 4 + shift)), pts):
            w = b.weight()                       # w·(P − m·V − r·B) = 0
            b.term(p, w)
            b.v -= w * m
            b.b -= w * r
        return b.holds()

    assert batch(0)
    assert not batch(1)                          # the third opening is off by one
    # weights are 128-bit, odd, and depend on the seed
    b1, b2 = group.Batch(b"a", 2), group.Batch(b"b", 2)
    w1, w2 = b1.weight(), b2.weight()
    assert w1 != w2 and w1 % 2 == 1 and w1 < 2 ** 128
    assert B != V


def test_cofactored_batch_ignores_torsion_but_the_transcript_does_not():
    """A torsion component carries no value (the batch projects it away), yet moving an honest
    proof onto a commitment with one changes its challenges and the proof fails."""
    from tests.privacy.test_zkp_forgery import _torsion

    t = group.decode(_torsion())
    assert not t.is_in_subgroup()
    b = group.Batch(b"t", 1)
    w = b.weight()
    b.term(group.commit_point(2, 3) + t, w)      # C + T − 2·V − 3·B is pure torsion
    b.v -= 2 * w
    b.b -= 3 * w
    assert b.holds()
    proof, _, _ = prove_range(0, 1, 1, (5,), (0,), 8)
    cp = proof.coordinates[0]
    moved = group.encode(group.decode(cp.bit_commitments[0]) + t)
    bad = dataclasses.replace(cp, bit_commitments=(moved, *cp.bit_commitments[1:]))
    ok, why, _ = check_range(dataclasses.replace(proof, coordinates=(bad,)), (0,), 8, 1, 1)
    assert not ok and "OR-proof fails" in why


# --------------------------------------------------------------------------- prepared proofs
def test_prepared_proof_is_byte_for_byte_the_unprepared_one():
    a, b = generator(0, "prep"), generator(0, "prep")
    prep = prepare_coordinate(123456789, 8, a)
    for v in (0, 1, 77, 255, 256, -3):
        assert prove_coordinate(v, 123456789, 8, 2, 3, 9, None, prepared=prep) == \
            prove_coordinate(v, 123456789, 8, 2, 3, 9, generator(0, "prep")), v
    assert prove_coordinate(77, 123456789, 8, 2, 3, 9, b) == \
        prove_coordinate(77, 123456789, 8, 2, 3, 9, None, prepared=prep)
    with pytest.raises(ValueError):
        prove_coordinate(77, 5, 8, 2, 3, 9, None, prepared=prep)      # another blinding
    values, coords = (3, 250, 17), (4, 8, 15)
    here = prove_range(1, 2, 3, values, coords, 8)
    ahead = prove_range(1, 2, 3, values, coords, 8, prepared=prepare_range(1, 2, 3, 3, 8))
    assert here[:2] == ahead[:2]


def test_engine_prepares_the_next_rounds_proofs_without_changing_them():
    cfg = SimulationConfig.from_dict({
        "seed": 4, "rounds": 3, "clients": {"num_clients": 4, "fraction": 0.5},
        "privacy": {"zkp": {"enabled": True, "coordinates": 6}}})
    warm, cold = Simulation(cfg), Simulation(cfg)
    mech = cold.pipeline.get("zkp")
    mech.prepare = lambda ctx: None             # nothing made ahead: every proof in the round
    for rnd in range(1, 4):
        warm.wait_prepared()
        if rnd > 1:                              # ready: exactly the round's sampled clients
            assert len(warm.pipeline.get("zkp").ahead) == 2
        a, b = warm.step_round(), cold.step_round()
        pa = a.trace[3].measurements["zkp"]
        pb = b.trace[3].measurements["zkp"]
        made = [ms > 0 for ms in pa["precompute_ms_by_client"]]
        assert made == [rnd > 1] * 2 and pb["precompute_ms_by_client"] == [0.0, 0.0]
        assert a.sampled == b.sampled
        assert a.global_metrics == b.global_metrics and a.rejected == b.rejected
        sent = [[(u.client_id, u.proof, u.values, u.randomness)    # all but the timing
                 for u in sim.last.protected.payload["zkp"].items] for sim in (warm, cold)]
        assert sent[0] == sent[1] and len(sent[0]) == 2
    assert warm.pipeline.get("zkp").ahead._thread is not None
    warm.wait_prepared()                          # no round after the last: nothing queued
    assert len(warm.pipeline.get("zkp").ahead) == 0


def test_ahead_is_bounded_and_a_round_stops_it():
    ahead = ProverAhead(max_clients=2)
    ahead.start([(0, 1, c, 2, 4) for c in range(5)])
    ahead.wait()
    assert len(ahead) == 2
    got = ahead.take((0, 1, 0, 2, 4))
    assert got is not None and got[0] == prepare_range(0, 1, 0, 2, 4) and got[1] > 0
    assert ahead.take((0, 1, 0, 2, 4)) is None                       # once
    ahead.start([(0, 2, c, 64, 8) for c in range(8)])
    ahead.halt()                             # within DELAY_S: nothing is made
    ahead.wait()
    assert len(ahead) == 0
    # Under load (two busy processes on this machine's cores): a client of 2,000 coordinates
    # takes seconds to prepare, and a round that starts stops it within a bit, not a client.
    import subprocess
    import sys
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        ahead.start([(0, 3, c, 2000, 8) for c in range(2)])
        time.sleep(ahead_module.DELAY_S + 0.1)   # under way
        t0 = time.perf_counter()
        ahead.halt()
        ahead.wait()
        stopped = time.perf_counter() - t0
    finally:
        for p in busy:
            p.kill()
    assert stopped < 0.5 and len(ahead) == 0, stopped
    assert not any(t.name == "fedsim-zkp-ahead" for t in threading.enumerate())


# --------------------------------------------------------------------------- a round's batch
def test_round_batch_accepts_honest_clients_and_names_the_cheater():
    coords = (1, 5, 7)
    items = []
    for cid in range(4):
        values = (3, 9, 300 if cid == 2 else 200)                    # client 2: out of range
        proof, _, _ = prove_range(0, 5, cid, values, coords, 8)
        items.append((proof, coords, 8, 5, cid))
    assert not verify_range_proofs_together(items)
    assert verify_range_proofs_together(items[:2] + items[3:])
    assert not verify_range_proofs_together(items[:1] + [(items[1][0], coords, 8, 5, 3)])
    verdicts = [check_range(*it)[:2] for it in items]
    assert [ok for ok, _ in verdicts] == [True, True, False, True]
    assert "out of range" in verdicts[2][1]

"""DP-SGD's accounting with the per-client unit RDP computed once and the next round's PLD ε
computed ahead, between rounds (``DPSGD._account_ahead``): every round's report must be the
very same floats as the direct functions ``accountant.dpsgd_client_epsilons`` /
``accountant.dpsgd_worst_epsilon``, whether the work ahead has finished, has not run at all
(the worker is held up, so the round computes everything itself), or races the round.

The reference figures are computed with ``pld_epsilon_fast``'s cache emptied before and after,
so the mechanism's figures come from its own computation (ahead or in the round), never from
the reference's.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from fedsim.privacy import accountant, dp
from fedsim.privacy.base import RoundContext, UpdateBatch
from fedsim.privacy.dp import DPSGD

ROUNDS = 6
#: (noise multiplier, batch size, local epochs, client sizes, δ, who trains in each round)
CASES = {
    # 11 = B+1 examples: two steps at q = 10/11 (the worst client, not the smallest one)
    "b_plus_one_uneven": (1.0, 10, 1, [11, 10, 7, 25, 40, 11, 300], 1e-5,
                          [None, None, (0, 2, 3, 6), None, (1, 4, 5), None]),
    # PLD beats RDP here; two sizes, as the digits benchmark (115 and 114 examples, B = 16)
    "digits_like": (1.0, 16, 1, [115, 115, 115, 114, 114], 1e-5, [None] * ROUNDS),
    "small_noise_big_delta": (0.7, 8, 2, [9, 8, 30, 64, 9], 1e-3,
                              [None, (0, 1, 2), (3, 4), None, None, (0,)]),
    # much noise, large clients: RDP beats the coarse PLD grid
    "rdp_wins": (4.0, 10, 1, [1000, 800, 1000, 800], 1e-5,
                 [None, (0, 1), None, (1, 3), None, None]),
}


def _ctx(r: int, n: int, ids) -> RoundContext:
    return RoundContext(round=r, seed=0, num_clients=n, expected_clients=float(len(ids)),
                        sample_rate=1.0, sampled=tuple(ids), dropped=(), num_params=2)


def _schedule(n: int, plan):
    return [tuple(range(n)) if ids is None else tuple(ids) for ids in plan]


def _reference(z, B, E, sizes, delta, plan):
    """Per round: (counts, RDP ε of every client, (ε, accountant, worst client)), computed by
    the direct functions from an empty PLD cache."""
    dp.wait_precomputed()
    accountant.pld_epsilon_fast.cache_clear()
    counts = np.zeros(len(sizes), np.int64)
    out = []
    for ids in _schedule(len(sizes), plan):
        counts[list(ids)] += 1
        per = accountant.dpsgd_client_epsilons(z, B, sizes, E, counts, delta)
        out.append((counts.copy(), per, accountant.dpsgd_worst_epsilon(z, B, sizes, E, counts,
                                                                       delta)))
    accountant.pld_epsilon_fast.cache_clear()
    return out


def _check(rep, ref) -> None:
    counts, per, (eps, how, who) = ref
    assert rep.epsilon == eps
    assert rep.accountant == how
    assert rep.worst_client == who
    assert rep.epsilon_rdp == float(per[who])
    if how == "pld":
        assert rep.epsilon_pld == eps
    else:
        assert math.isnan(rep.epsilon_pld)
    assert rep.client_epsilons == tuple(float(e) for e in per)
    assert rep.epsilon_median == float(np.median(per))
    assert rep.participations == int(counts.max())


def _run(case: str, mode: str, monkeypatch):
    """Drive the mechanism through the case's rounds and check every report. Returns, per
    round, (the PLD keys the round itself asked for, those the worker had asked for before)."""
    z, B, E, sizes, delta, plan = CASES[case]
    refs = _reference(z, B, E, sizes, delta, plan)
    calls: list = []                  # (asked on the worker thread?, arguments), in order
    real = accountant.pld_epsilon_fast

    def spy(*args):
        calls.append((threading.current_thread() is not threading.main_thread(), args))
        return real(*args)

    spy.cache_clear, spy.cache_info = real.cache_clear, real.cache_info
    monkeypatch.setattr(accountant, "pld_epsilon_fast", spy)
    mech = DPSGD(z, 1.0, ROUNDS + 3, delta, batch_size=B, local_epochs=E, client_sizes=sizes)
    state = mech.initial_state()
    gate = threading.Event()
    if mode == "blocked":             # hold the worker: nothing is accounted ahead
        dp._queue_ahead(gate.wait)
    asked = []
    try:
        for r, (ids, ref) in enumerate(zip(_schedule(len(sizes), plan), refs), start=1):
            if mode == "wait":
                dp.wait_precomputed()
            b = UpdateBatch(ids, np.zeros((len(ids), 2)), np.ones(len(ids)))
            b, state, _ = mech.client(_ctx(r, len(sizes), ids), state, b)
            n0 = len(calls)           # the worker's calls so far came before this round
            ahead = {a for w, a in calls[:n0] if w}
            state, rep = mech.end_round(_ctx(r, len(sizes), ids), state, b)
            _check(rep, ref)
            asked.append(({a for w, a in calls[n0:] if not w}, ahead))
        if mode == "blocked":
            assert not any(w for w, _ in calls)   # nothing at all was computed ahead
    finally:
        gate.set()
        dp.wait_precomputed()
    return asked


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("mode", ["wait", "blocked", "racing"])
def test_dpsgd_reports_the_direct_functions_bit_for_bit(case, mode, monkeypatch):
    asked = _run(case, mode, monkeypatch)
    plan = CASES[case][-1]
    assert all(mine for mine, _ in asked)   # every round asks for a PLD figure
    if mode == "wait":
        # After round 1, a round in which every client trains finds every PLD figure it asks
        # for computed ahead, between the rounds (the guess "everyone trains again" was right).
        for r in range(1, ROUNDS):
            if plan[r] is None:
                mine, ahead = asked[r]
                assert mine <= ahead, (r, mine, ahead)


def test_cases_cover_both_accountants():
    """The comparison above is only worth something if PLD wins in some rounds and RDP in
    others (pld_epsilon_fast is then on the path)."""
    seen = set()
    for case in CASES:
        z, B, E, sizes, delta, plan = CASES[case]
        for _, _, (_, how, _) in _reference(z, B, E, sizes, delta, plan):
            seen.add(how)
    assert seen == {"pld", "rdp"}


def test_unit_rdp_split_is_the_same_function():
    """``dpsgd_client_epsilons`` = ``dpsgd_epsilons_from_unit`` ∘ ``dpsgd_unit_rdp``, and the
    mechanism's planned worst client is the same as from the direct function."""
    sizes = [11, 10, 7, 25, 40, 11, 300]
    t = np.array([3, 0, 2, 5, 1, 4, 2])
    steps, unit = accountant.dpsgd_unit_rdp(1.0, 10, sizes, 1)
    np.testing.assert_array_equal(accountant.dpsgd_epsilons_from_unit(steps, unit, t, 1e-5),
                                  accountant.dpsgd_client_epsilons(1.0, 10, sizes, 1, t, 1e-5))
    mech = DPSGD(1.0, 1.0, 5, 1e-5, batch_size=10, local_epochs=1, client_sizes=sizes)
    every = accountant.dpsgd_client_epsilons(1.0, 10, sizes, 1, np.ones(len(sizes)), 1e-5)
    assert mech.accounted_client == int(np.argmax(every)) == 0   # the B+1 client

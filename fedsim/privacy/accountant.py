"""Privacy accounting: how much ε a run has spent, round by round.

A thin layer over Google's ``dp-accounting`` package:

- **RDP** (Rényi DP; Mironov, CSF 2017; the subsampled Gaussian of Mironov, Talwar & Zhang,
  arXiv 1908.10530) for the live curve. RDP composes by *addition*, so one round's RDP vector
  is computed once and round t's is just ``t`` times it; converting each to (ε, δ) is then a
  closed-form minimum over the orders. Composing round by round with the accountant instead
  costs seconds per hundred rounds (measured: 12–14 s for 100 incremental ``compose`` calls).
- **PLD** (privacy loss distributions; Koskela et al. 2020, Doroshenko et al. 2022) for a
  tighter final figure, once: e.g. z=1, q=0.1, 100 rounds, δ=1e-5 is ε=7.90 by RDP and ≈7.05
  by PLD.

Every function here is pure and TensorFlow-free. ``noise_multiplier`` z is always the noise
standard deviation divided by the L2 sensitivity (the clip bound), and ``sample_rate`` q is
the Poisson sampling probability of one unit (a client for user-level DP, an example for
DP-SGD). q = 1 means no sampling and therefore no amplification.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from absl import logging as _absl_logging
from dp_accounting import dp_event as _E
from dp_accounting.pld import pld_privacy_accountant as _pld
from dp_accounting.rdp import rdp_privacy_accountant as _rdp

# dp-accounting logs "_compute_log_a_frac failed to converge" for small noise. We silence it on
# purpose because we no longer rely on that figure alone: at fractional orders dp-accounting 0.6
# bounds the series term by term in absolute value, which is valid but loose (z=0.5, q=0.1,
# 1000 rounds: 236.5 where Opacus and numerical integration give 136.1). Every headline ε is
# therefore min(RDP, PLD) (:func:`tightest_epsilon`), both valid upper bounds, and says which
# one gave it, so a loose RDP figure can never be the number a user is shown as "the ε".
_absl_logging.set_verbosity(_absl_logging.ERROR)

__all__ = [
    "tightest_epsilon", "pld_epsilon_fast", "dpsgd_client_epsilons", "dpsgd_worst_epsilon",
    "rdp_epsilon_curve", "pld_epsilon", "calibrate_noise", "dpsgd_epsilon_curve",
    "dpsgd_steps_per_round", "rdp_epsilon", "compose_pld", "pld_epsilon_for_delta",
    "dpsgd_unit_rdp", "dpsgd_epsilons_from_unit",
]

#: The orders dp-accounting's RdpAccountant uses by default (so our numbers equal its numbers).
ORDERS = np.asarray(_rdp.DEFAULT_RDP_ORDERS, dtype=np.float64)


def _check(noise_multiplier: float, sample_rate: float, delta: float) -> None:
    if not noise_multiplier >= 0:
        raise ValueError(f"noise_multiplier must be >= 0, got {noise_multiplier}")
    if not 0 < sample_rate <= 1:
        raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate}")
    if not 0 < delta < 1:
        raise ValueError(f"delta must be in (0, 1), got {delta}")


def _step_event(noise_multiplier: float, sample_rate: float) -> _E.DpEvent:
    """One release: a Gaussian with multiplier z, Poisson-subsampled at rate q (unless q = 1)."""
    gauss = _E.GaussianDpEvent(float(noise_multiplier))
    if sample_rate >= 1:
        return gauss  # every unit is in every release: nothing to amplify
    return _E.PoissonSampledDpEvent(float(sample_rate), gauss)


@functools.lru_cache(maxsize=256)
def _unit_rdp(noise_multiplier: float, sample_rate: float) -> np.ndarray:
    """RDP at :data:`ORDERS` of one release (cached: it is the only slow step, ~0.1 s)."""
    if noise_multiplier == 0:
        out = np.full(len(ORDERS), np.inf)
    else:
        acc = _rdp.RdpAccountant(orders=list(ORDERS))
        acc.compose(_step_event(noise_multiplier, sample_rate))
        # ``_rdp`` is private but is exactly the per-order RDP vector we need (dp-accounting 0.4
        # to 0.6 all keep it under this name); there is no public getter.
        out = np.array(acc._rdp, dtype=np.float64)
    out.setflags(write=False)
    return out


def _epsilon_from_rdp(rdp: np.ndarray, delta: float, orders: np.ndarray = ORDERS) -> np.ndarray:
    """ε at ``delta`` for each row of ``rdp`` (``[T, len(ORDERS)]``).

    A vectorized copy of ``dp_accounting.rdp.compute_epsilon`` (the bound of Canonne, Kamath &
    Steinke 2020, Prop. 12 / Asoodeh et al. 2020), branch for branch, so 1000 rounds cost
    milliseconds instead of a Python loop over 156 orders per round. ``test_dp.py`` checks that
    the two agree.
    """
    a = np.asarray(orders, np.float64)[None, :]
    rdp = np.asarray(rdp, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        general = rdp + np.log1p(-1.0 / a) - np.log(delta * a) / (a - 1.0)
        eps = np.where(a > 1.01, general, np.inf)
        # KL shortcut: delta >= sqrt(1 - exp(-rdp)) already, so epsilon = 0 at this order.
        eps = np.where(delta ** 2 + np.expm1(-rdp) > 0, 0.0, eps)
        eps = np.where(rdp < 0, 0.0, eps)  # numerical noise from extreme events
        eps = np.where(np.isnan(eps), np.inf, eps)  # inf - inf when rdp is inf
    return np.maximum(eps.min(axis=1), 0.0)


def _curve(unit_rdp: np.ndarray, units_per_round: float, rounds: int, delta: float) -> np.ndarray:
    t = np.arange(1, int(rounds) + 1, dtype=np.float64)[:, None]
    with np.errstate(invalid="ignore"):
        rdp = t * (units_per_round * unit_rdp[None, :])
    rdp = np.where(np.isnan(rdp), np.inf, rdp)
    return _epsilon_from_rdp(rdp, delta)


def rdp_epsilon_curve(noise_multiplier: float, sample_rate: float, rounds: int,
                      delta: float) -> np.ndarray:
    """ε (by RDP, at ``delta``) after each round 1..``rounds``, as a ``[rounds]`` array.

    Each round is one Poisson-subsampled Gaussian release (DP-FedAvg, McMahan et al. ICLR 2018,
    with q = clients sampled per round / clients). ``noise_multiplier == 0`` gives ε = inf.

    >>> round(float(rdp_epsilon_curve(1.0, 0.1, 100, 1e-5)[-1]), 2)
    7.9
    """
    _check(noise_multiplier, sample_rate, delta)
    if rounds < 1:
        return np.zeros(0)
    return _curve(_unit_rdp(float(noise_multiplier), float(sample_rate)), 1.0, rounds, delta)


def rdp_epsilon(noise_multiplier: float, sample_rate: float, rounds: int, delta: float,
                steps_per_round: int = 1) -> float:
    """ε by RDP after ``rounds`` rounds of ``steps_per_round`` releases each (one number)."""
    _check(noise_multiplier, sample_rate, delta)
    unit = _unit_rdp(float(noise_multiplier), float(sample_rate))
    with np.errstate(invalid="ignore"):
        rdp = unit * float(rounds * steps_per_round)
    rdp = np.where(np.isnan(rdp), np.inf, rdp)
    return float(_epsilon_from_rdp(rdp[None, :], delta)[0])


def pld_epsilon(noise_multiplier: float, sample_rate: float, rounds: int, delta: float,
                steps_per_round: int = 1) -> float:
    """A tighter ε after ``rounds`` rounds, from privacy loss distributions (one number).

    Uses ``PLDAccountant(value_discretization_interval=1e-3)`` (~0.1 s; the result is still an
    upper bound, pessimistic by about the grid width per composition).
    """
    _check(noise_multiplier, sample_rate, delta)
    if noise_multiplier == 0:
        return math.inf
    count = int(rounds) * int(steps_per_round)
    if count < 1:
        return 0.0
    acc = _pld.PLDAccountant(value_discretization_interval=1e-3)
    acc.compose(_E.SelfComposedDpEvent(_step_event(noise_multiplier, sample_rate), count))
    return float(acc.get_epsilon(delta))


def _smallest_noise(eps, target_epsilon: float, rounds: int, max_noise: float) -> float:
    """The smallest z with ``eps(z) <= target_epsilon`` (ε falls monotonically in z): bracket
    the root by factors of 4, then Brent's method on log z (ε ≈ c/z over a wide range, so a
    handful of evaluations do), then step up until on the safe side of the target."""
    from scipy.optimize import brentq  # scipy comes with dp-accounting; imported lazily

    if not target_epsilon > 0:
        raise ValueError(f"target_epsilon must be > 0, got {target_epsilon}")
    hi = 1.0
    while eps(hi) > target_epsilon:
        if hi >= max_noise:
            raise ValueError(f"no noise multiplier up to {max_noise} reaches "
                             f"epsilon={target_epsilon} in {rounds} rounds")
        hi = min(hi * 4.0, max_noise)
    lo = hi / 4.0
    while eps(lo) <= target_epsilon:
        if lo < 1e-3:  # a huge budget: practically any noise fits it
            return lo
        hi, lo = lo, lo / 4.0

    def f(logz: float) -> float:
        e = min(max(eps(math.exp(logz)), 1e-300), 1e300)  # eps may be 0 or inf at the ends
        return math.log(e) - math.log(target_epsilon)

    z = math.exp(brentq(f, math.log(lo), math.log(hi), xtol=1e-4))
    while eps(z) > target_epsilon and z < hi:
        z = min(z * 1.0002, hi)
    return float(z)


def calibrate_noise(target_epsilon: float, sample_rate: float, rounds: int, delta: float,
                    steps_per_round: int = 1, *, max_noise: float = 1e4,
                    tight: bool = False) -> float:
    """The smallest noise multiplier z whose RDP ε after ``rounds`` rounds is at most
    ``target_epsilon`` (to within 0.1%; the returned z never overshoots the target).
    ``tight=True`` calibrates the headline figure instead, min(RDP, PLD) (both valid bounds),
    which needs less noise for the same budget. Raises ``ValueError`` if even ``max_noise``
    cannot reach the target.
    """
    _check(1.0, sample_rate, delta)

    def eps(z: float) -> float:
        r = rdp_epsilon(z, sample_rate, rounds, delta, steps_per_round)
        if tight and math.isfinite(r):
            return min(r, pld_epsilon_fast(float(z), float(sample_rate),
                                           int(rounds * steps_per_round), float(delta)))
        return r

    return _smallest_noise(eps, target_epsilon, rounds, max_noise)


def dpsgd_steps_per_round(batch_size: int, num_examples: int, local_epochs: int) -> int:
    """Local DP-SGD steps one client takes in a round: ceil(n/B) batches per epoch, E epochs."""
    return int(math.ceil(num_examples / batch_size)) * int(local_epochs)


def dpsgd_epsilon_curve(noise_multiplier: float, batch_size: int, num_examples: int,
                        local_epochs: int, rounds: int, delta: float,
                        participation_rate: float = 1.0) -> np.ndarray:
    """Example-level ε of one client's data under DP-SGD (Abadi et al., CCS 2016), per round.

    In each round the client runs S = ceil(n/B)·E noisy steps. Each step is accounted as a
    ``PoissonSampledDpEvent(B/n, GaussianDpEvent(z))``: every example is in the batch with
    probability B/n. The trainer actually shuffles and cuts fixed batches; treating those as
    Poisson samples is the usual approximation (Abadi et al.; TF-Privacy's
    ``compute_dp_sgd_privacy`` does the same) and is slightly optimistic.

    Worst case across rounds: the client is assumed to train in *every* round, so round t
    composes t·S steps. ``participation_rate`` (the per-round client sampling rate) is accepted
    so callers can pass it, but it is deliberately not used for amplification: a client knows
    when it trains, and its outgoing update is only protected by its own local noise.

    If B >= n the client takes one full-batch step per epoch (q = 1, no amplification).
    """
    if batch_size < 1 or num_examples < 1 or local_epochs < 1:
        raise ValueError("batch_size, num_examples and local_epochs must be >= 1")
    if not 0 < participation_rate <= 1:
        raise ValueError(f"participation_rate must be in (0, 1], got {participation_rate}")
    q = min(1.0, batch_size / num_examples)
    _check(noise_multiplier, q, delta)
    steps = dpsgd_steps_per_round(batch_size, num_examples, local_epochs)
    if rounds < 1:
        return np.zeros(0)
    return _curve(_unit_rdp(float(noise_multiplier), q), float(steps), rounds, delta)


# --------------------------------------------------------------------------- tightest bound
#: PLD grid for the per-round figure: 1e-2 costs ~15-40 ms per call and is pessimistic by about
#: the grid width per composition (z=1, q=0.1, 1000 rounds: 25.22 against 25.20 at 1e-3), so it
#: stays a valid upper bound.
PLD_INTERVAL = 1e-2


@functools.lru_cache(maxsize=4096)
def pld_epsilon_fast(noise_multiplier: float, sample_rate: float, count: int,
                     delta: float) -> float:
    """ε after ``count`` releases by PLD on the coarse grid :data:`PLD_INTERVAL` (cached: a pure
    function of its arguments, shared safely by every session)."""
    _check(noise_multiplier, sample_rate, delta)
    if noise_multiplier == 0:
        return math.inf
    if count < 1:
        return 0.0
    acc = _pld.PLDAccountant(value_discretization_interval=PLD_INTERVAL)
    acc.compose(_E.SelfComposedDpEvent(_step_event(noise_multiplier, sample_rate), int(count)))
    return float(acc.get_epsilon(delta))


def tightest_epsilon(rdp: float, pld: float) -> tuple[float, str]:
    """min(RDP, PLD) and the name of the accountant that gave it (both are upper bounds)."""
    if pld < rdp:
        return float(pld), "pld"
    return float(rdp), "rdp"


# --------------------------------------------------------------------------- DP-SGD, per client
#: The integer orders of dp-accounting's default list. For these the RDP of the Poisson-
#: subsampled Gaussian has an exact closed form (a binomial sum), which we evaluate for every
#: client at once in NumPy: per-client accounting would otherwise cost ~0.1 s per distinct
#: client size. A subset of orders gives a (slightly) larger, still valid, ε.
INT_ORDERS = np.asarray([a for a in ORDERS if float(a).is_integer()], np.float64)


def _log_comb(n: np.ndarray, k: np.ndarray) -> np.ndarray:
    from scipy.special import gammaln

    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def int_order_rdp(noise_multiplier: float, sample_rates: np.ndarray) -> np.ndarray:
    """RDP ``[len(q), len(INT_ORDERS)]`` of one Poisson-subsampled Gaussian release per rate q.

    Mironov, Talwar & Zhang 2019 (arXiv 1908.10530), integer α:
    log A_α = logsumexp_i [log C(α,i) + i log q + (α−i) log(1−q) + (i²−i)/(2σ²)],
    RDP(α) = log A_α / (α−1). q = 1 gives α/(2σ²). Equals dp-accounting at these orders.
    """
    from scipy.special import logsumexp

    q = np.asarray(sample_rates, np.float64).reshape(-1)
    s2 = float(noise_multiplier) ** 2
    out = np.empty((len(q), len(INT_ORDERS)))
    if noise_multiplier == 0:
        out[:] = np.inf
        return out
    for j, a in enumerate(INT_ORDERS):
        i = np.arange(int(a) + 1, dtype=np.float64)[None, :]
        qq = np.clip(q, 1e-300, 1.0)[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = (_log_comb(a, i) + i * np.log(qq) + (a - i) * np.log1p(-qq)
                     + (i * i - i) / (2.0 * s2))
        terms = np.where(np.isnan(terms), -np.inf, terms)
        out[:, j] = logsumexp(terms, axis=1) / (a - 1.0)
    full = q >= 1
    out[full] = INT_ORDERS[None, :] / (2.0 * s2)
    return out


def dpsgd_unit_rdp(noise_multiplier: float, batch_size: int, sizes,
                   local_epochs: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps per round ``[K]``, RDP of one step ``[K, len(INT_ORDERS)]``) of every client.

    The part of :func:`dpsgd_client_epsilons` that depends only on the settings and the
    clients' sizes (the slow part, :func:`int_order_rdp`), so a mechanism whose sizes are fixed
    computes it once and passes it to :func:`dpsgd_epsilons_from_unit` every round.
    """
    sizes = np.asarray(sizes, np.int64)
    q = np.minimum(1.0, batch_size / np.maximum(sizes, 1))
    steps = np.ceil(sizes / batch_size) * local_epochs
    uniq, inv = np.unique(np.stack([q, steps]), axis=1, return_inverse=True)
    unit = int_order_rdp(noise_multiplier, uniq[0])[inv.reshape(-1)]
    return steps, unit


def dpsgd_epsilons_from_unit(steps: np.ndarray, unit: np.ndarray, participations,
                             delta: float) -> np.ndarray:
    """:func:`dpsgd_client_epsilons` from :func:`dpsgd_unit_rdp`'s output (the same numbers)."""
    t = np.asarray(participations, np.float64)
    with np.errstate(invalid="ignore"):
        rdp = (t * steps)[:, None] * unit
    rdp = np.where(np.isnan(rdp), 0.0, rdp)  # 0 participations · inf = no release yet
    eps = _epsilon_from_rdp(rdp, delta, INT_ORDERS)
    eps[t == 0] = 0.0
    return eps


def dpsgd_client_epsilons(noise_multiplier: float, batch_size: int, sizes, local_epochs: int,
                          participations, delta: float) -> np.ndarray:
    """Example-level RDP ε of every client (integer orders), given how often each has trained.

    Client k with n_k examples takes ceil(n_k/B)·E steps per round at q_k = min(1, B/n_k). ε is
    *not* monotone in n_k (a client with B+1 examples takes two steps at q≈1, one with ≤ B one
    step at q=1), so every client is accounted: the worst is not simply the smallest.
    """
    steps, unit = dpsgd_unit_rdp(noise_multiplier, batch_size, sizes, local_epochs)
    return dpsgd_epsilons_from_unit(steps, unit, participations, delta)


def dpsgd_worst_epsilon(noise_multiplier: float, batch_size: int, sizes, local_epochs: int,
                        participations, delta: float, *,
                        client_rdp: np.ndarray | None = None) -> tuple[float, str, int]:
    """(ε, accountant, client index) of the worst client: max_k min(RDP_k, PLD_k).

    Exact, with pruning: clients are visited in decreasing RDP ε and PLD is computed until the
    next client's RDP (an upper bound on its min) cannot beat the best found. ``client_rdp``,
    if given, must be :func:`dpsgd_client_epsilons` of the same arguments (a caller that has
    it already saves computing it twice).
    """
    sizes = np.asarray(sizes, np.int64)
    t = np.asarray(participations, np.int64)
    rdp = client_rdp if client_rdp is not None else dpsgd_client_epsilons(
        noise_multiplier, batch_size, sizes, local_epochs, t, delta)
    best, how, who = 0.0, "rdp", 0
    done: dict[tuple[int, int], float] = {}
    for k in np.argsort(-rdp, kind="stable"):
        if t[k] == 0:
            continue
        if rdp[k] <= best:
            break  # min(RDP, PLD) <= RDP: no later client can beat the best
        q = min(1.0, batch_size / int(sizes[k]))
        count = int(t[k]) * dpsgd_steps_per_round(batch_size, int(sizes[k]), local_epochs)
        key = (int(sizes[k]), int(t[k]))
        if key not in done:
            done[key] = pld_epsilon_fast(float(noise_multiplier), q, count, float(delta))
        eps, name = tightest_epsilon(float(rdp[k]), done[key])
        if eps > best or (eps == best and best == 0.0):
            best, how, who = eps, name, int(k)
    return best, how, who


def calibrate_dpsgd_noise(target_epsilon: float, batch_size: int, sizes, local_epochs: int,
                          rounds: int, delta: float, *, max_noise: float = 1e4) -> float:
    """The smallest z whose worst client's RDP ε after ``rounds`` rounds is at most the target.

    Calibrated on RDP (integer orders) of every client, the bound :func:`dpsgd_worst_epsilon`
    never exceeds, so the reported ε (min with PLD) also meets the target.
    """
    sizes = np.asarray(sizes, np.int64)
    full = np.full(len(sizes), int(rounds))

    def eps(z: float) -> float:
        return float(dpsgd_client_epsilons(z, batch_size, sizes, local_epochs, full,
                                           delta).max())

    return _smallest_noise(eps, target_epsilon, rounds, max_noise)


# --------------------------------------------------------------------------- running PLD, fast
# Central DP composes its PLD one round at a time and asks for ε every round. dp-accounting does
# both with Python loops over the whole grid (``_truncate_tails``'s prefix sums and
# ``_get_epsilon_for_delta``'s walk down the losses: ~1.4 ms of a ~5 ms plain round). The two
# functions below do the same arithmetic in the same order with NumPy, and so return the very
# same bits: a running sum ``s += v`` is ``np.add.accumulate`` (strictly sequential, no pairwise
# summation), ``itertools.count(x, -d)`` is the accumulate of ``[x, -d, -d, …]``, and every
# ``math.exp`` and the ``math.log`` that decides where the walk stops are still evaluated by
# ``math`` (NumPy's ``log`` only pre-selects candidates, with a margin far above its error).
# ``test_privacy_fast_paths.py`` checks bit-equality with dp-accounting round by round.
from dp_accounting.pld import pld_pmf as _pmf  # noqa: E402
from dp_accounting.pld import privacy_loss_distribution as _pldmod  # noqa: E402
from scipy import signal as _signal  # noqa: E402


def _first_above(arr: np.ndarray, threshold: float) -> int:
    """dp-accounting's ``_find_prefix_to_truncate``: the first i whose running sum exceeds
    ``threshold`` (len(arr) if none)."""
    hit = np.flatnonzero(np.add.accumulate(arr) > threshold)
    return int(hit[0]) if len(hit) else len(arr)


def _truncate_tails(probs: np.ndarray, tail_mass_truncation: float, pessimistic: bool):
    """``pld_pmf._truncate_tails``, with its two prefix loops as accumulates."""
    if tail_mass_truncation == 0:
        return 0, probs, 0
    left_idx = _first_above(probs, tail_mass_truncation / 2)
    right_idx = len(probs) - _first_above(np.flip(probs), tail_mass_truncation / 2)
    right_idx = max(right_idx, left_idx + 1)
    left_mass = np.sum(probs[:left_idx])
    right_mass = np.sum(probs[right_idx:])
    truncated = probs[left_idx:right_idx]
    if pessimistic:
        truncated[0] += left_mass
        return left_idx, truncated, right_mass
    truncated[-1] += right_mass
    return left_idx, truncated, 0


_SPECTRA: dict = {}        # (id(b), fft length) → (b, rfft of b): the per-round PLD's spectrum


def _fftconvolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``scipy.signal.fftconvolve(a, b)`` (mode "full") for 1-D float64 arrays, step for step
    (same FFT length, same ``scipy.fft`` calls, same product order), with ``b``'s spectrum kept:
    the running PLD is always composed with the same one-round PLD, so one of the three FFTs
    of every round is the same as the last round's."""
    from scipy import fft as _fft

    if a.ndim != 1 or b.ndim != 1 or len(a) < 2 or len(b) < 2 \
            or a.dtype != np.float64 or b.dtype != np.float64:
        return _signal.fftconvolve(a, b)
    n = len(a) + len(b) - 1
    f = _fft.next_fast_len(n, True)
    key = (id(b), f)
    hit = _SPECTRA.get(key)
    if hit is None or hit[0] is not b:
        if len(_SPECTRA) > 64:
            _SPECTRA.clear()
        hit = _SPECTRA[key] = (b, _fft.rfftn(b, [f], axes=[0]))
    sp1 = _fft.rfftn(a, [f], axes=[0])
    ret = _fft.irfftn(sp1 * hit[1], [f], axes=[0])
    return ret[:n].copy()


def _compose_pmfs(a, b, tail_mass_truncation: float):
    """``pld_pmf.compose_pmfs`` (sparse case: the library's own code)."""
    if (isinstance(a, _pmf.SparsePLDPmf) and isinstance(b, _pmf.SparsePLDPmf)
            and a.size * b.size <= _pmf._MAX_PMF_SPARSE_SIZE):
        return a.compose(b, tail_mass_truncation)
    a, b = a.to_dense_pmf(), b.to_dense_pmf()
    a.validate_composable(b)
    lower = a._lower_loss + b._lower_loss
    probs = _fftconvolve(a._probs, b._probs)
    inf = a._infinity_mass + b._infinity_mass - a._infinity_mass * b._infinity_mass
    offset, probs, right = _truncate_tails(probs, tail_mass_truncation, a._pessimistic_estimate)
    return _pmf.DensePLDPmf(a._discretization, lower + offset, probs, inf + right,
                            a._pessimistic_estimate)


def compose_pld(a, b, tail_mass_truncation: float = 1e-15):
    """``a.compose(b)`` for two dp-accounting ``PrivacyLossDistribution`` objects, bit for bit
    (same FFT convolution, truncation as accumulates instead of Python loops)."""
    remove = _compose_pmfs(a._pmf_remove, b._pmf_remove, tail_mass_truncation)
    if a._symmetric and b._symmetric:
        return _pldmod.PrivacyLossDistribution(remove)
    add = _compose_pmfs(a._pmf_add, b._pmf_add, tail_mass_truncation)
    return _pldmod.PrivacyLossDistribution(remove, add)


def _dense_epsilon_for_delta(pmf, delta: float):
    """``DensePLDPmf.get_epsilon_for_delta`` (``pld_pmf._get_epsilon_for_delta`` walking down
    the losses), vectorized in growing chunks with the same floating-point operations."""
    import math as _m

    inf_mass = pmf._infinity_mass
    if inf_mass > delta:
        return _m.inf
    probs = np.flip(pmf._probs)
    n = len(probs)
    d = pmf._discretization
    upper = (pmf._lower_loss + n - 1) * d
    steps = np.full(n, -d, np.float64)
    if n:
        steps[0] = upper
    losses = np.add.accumulate(steps)                        # itertools.count(upper, -d)
    mu = np.add.accumulate(np.concatenate([[inf_mass], probs]))   # mass_upper before step k
    ml_prev = 0                                              # mass_lower before the chunk
    start, size = 0, 256
    while start < n:
        stop = min(n, start + size)
        ls = losses[start:stop]
        ex = np.fromiter(map(_m.exp, (-ls).tolist()), np.float64, stop - start)
        terms = ex * probs[start:stop]
        ml = np.add.accumulate(np.concatenate([[ml_prev], terms]))   # before k .. after last
        mu_b, ml_b = mu[start:stop], ml[:-1]                 # state before step k
        mu_a, ml_a = mu[start + 1:stop + 1], ml[1:]          # state after step k
        # break at k (checked before step k): mass_upper > δ, mass_lower > 0 and
        # log((mass_upper − δ)/mass_lower) ≥ loss; NumPy pre-selects, math decides.
        ok = (mu_b > delta) & (ml_b > 0)
        kb = -1
        if ok.any():
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = (mu_b - delta) / ml_b
                near = ok & (np.log(ratio) >= ls - 1e-9 * (1.0 + np.abs(ls)))
            for k in np.flatnonzero(near):
                if _m.log(float(ratio[k])) >= ls[k]:
                    kb = int(k)
                    break
        # early return at k (checked after step k): mass_upper ≥ δ and mass_lower == 0
        ret = np.flatnonzero((mu_a >= delta) & (ml_a == 0))
        kr = int(ret[0]) if len(ret) else -1
        if kr >= 0 and (kb < 0 or kr < kb):
            return max(0, float(ls[kr]))
        if kb >= 0:
            mass_upper, mass_lower = mu_b[kb], ml_b[kb]
            break
        ml_prev = ml[-1]
        start, size = stop, size * 2
    else:
        mass_upper, mass_lower = mu[n], (ml_prev if n else 0)
    if mass_upper <= mass_lower + delta:
        return 0
    return _m.log(float((mass_upper - delta) / mass_lower))


def _pmf_epsilon_for_delta(pmf, delta: float):
    if isinstance(pmf, _pmf.DensePLDPmf):
        try:
            return _dense_epsilon_for_delta(pmf, delta)
        except OverflowError:       # exp of a huge loss beyond where the walk stops
            pass
    return pmf.get_epsilon_for_delta(delta)


def pld_epsilon_for_delta(pld, delta: float):
    """``pld.get_epsilon_for_delta(delta)`` for a dp-accounting ``PrivacyLossDistribution``,
    bit for bit (see the section comment)."""
    eps_remove = _pmf_epsilon_for_delta(pld._pmf_remove, delta)
    if pld._symmetric:
        return eps_remove
    return max(eps_remove, _pmf_epsilon_for_delta(pld._pmf_add, delta))

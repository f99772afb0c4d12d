"""Differential privacy mechanisms for the protection pipeline (``order = 10``, name ``"dp"``).

Three places to add noise, three different promises:

- :class:`CentralDP`: **DP-FedAvg** (McMahan, Ramage, Talwar & Zhang, "Learning Differentially
  Private Recurrent Language Models", ICLR 2018). Clients clip their whole update; the server
  adds Gaussian noise to the *sum*. User-level DP against anyone who sees the model, if the
  server is trusted to add the noise. Optional **adaptive clipping** (Andrew, Thakkar, McMahan &
  Ramaswamy, "Differentially Private Learning with Adaptive Clipping", NeurIPS 2021).
- :class:`LocalDP`: each client clips and noises its own update before upload, so even the
  server only ever sees noisy updates. Much more noise for the same ε (no averaging, no
  sampling amplification).
- :class:`DPSGD`: example-level DP-SGD (Abadi et al., "Deep Learning with Differential
  Privacy", CCS 2016) inside each client's training. The clipping and noise live in the TF
  trainer (``fedsim.training.trainer``); this class only carries the settings and does the accounting.

Every mechanism reports an :class:`AccountingReport` from :meth:`end_round`: the headline ε is
the tightest valid bound, min(RDP, PLD), with the accountant that gave it
(:mod:`fedsim.privacy.accountant`). All state (clip bound, participations, the PLD so far) is an
explicit value passed in and returned, so a failed round rolls back completely.
"""

from __future__ import annotations

import functools
import math
import queue
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from fedsim import rng
from fedsim.errors import ConfigError, IncompatibleConfigError
from fedsim.reports import Report
from fedsim.privacy import accountant
from fedsim.privacy.base import Aggregate, Mechanism, PerClient, RoundContext, UpdateBatch

if TYPE_CHECKING:  # pragma: no cover
    from fedsim.config import SimulationConfig

__all__ = ["DPMechanism", "CentralDP", "LocalDP", "DPSGD", "from_config", "clip_rows",
           "adaptive_noise_multiplier", "CentralDPState", "AdaptiveClipReport", "ParticipationState", "ClipReport",
           "CentralNoiseReport", "AccountingReport"]


# --------------------------------------------------------------------------- helpers
def clip_rows(deltas: np.ndarray, clip: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale each row Δ to Δ·min(1, C/‖Δ‖₂). Returns (clipped rows, pre-clip norms).

    Clipping bounds each client's influence on the sum by C: that bound is the sensitivity the
    Gaussian noise is calibrated to.
    """
    deltas = np.asarray(deltas, dtype=np.float64)
    norms = np.linalg.norm(deltas, axis=1) if deltas.size else np.zeros(len(deltas))
    # Rows inside the ball are left exactly as they are (also tiny/subnormal ones).
    scale = np.where(norms > clip, clip / np.where(norms > clip, norms, 1.0), 1.0)
    return deltas * scale[:, None], norms


def adaptive_noise_multiplier(noise_multiplier: float, count_stddev: float) -> float:
    """z_Δ = (z⁻² − (2σ_b)⁻²)^(−½): the update noise left once the clipped-count query has
    taken its share of the privacy budget (Andrew et al. 2021, Thm. 1).

    The count of unclipped clients is released with noise σ_b; its bits are centred at ½ (as in
    TF-Privacy's ``QuantileEstimatorQuery``), so one client moves it by at most ½, i.e. it is a
    Gaussian query with multiplier 2σ_b. Two Gaussian queries with multipliers z_Δ and 2σ_b
    compose like one with z⁻² = z_Δ⁻² + (2σ_b)⁻². Returns ``nan`` if z ≥ 2σ_b (no budget left).
    """
    if noise_multiplier == 0:
        return 0.0
    rest = noise_multiplier ** -2 - (2.0 * count_stddev) ** -2
    return rest ** -0.5 if rest > 0 else math.nan


def _floats(x) -> list:
    return [float(v) for v in np.asarray(x).ravel()]


# --------------------------------------------------------------------------- reports
@dataclass(frozen=True)
class ClipReport(Report):
    """What clipping did on the client side (one entry per row in ``per_client``)."""

    clip: float
    clipped_fraction: float
    per_client: Mapping[str, Any]
    sigma: float | None = None  # local DP: the std of each client's noise
    noise_multiplier: float | None = None


@dataclass(frozen=True)
class AdaptiveClipReport(Report):
    """One step of adaptive clipping (Andrew et al. 2021): the noisy unclipped fraction b̃,
    the true one (for teaching; the server never learns it), and the next clip bound."""

    unclipped_fraction: float
    unclipped_fraction_true: float
    next_clip: float
    update_noise_multiplier: float
    count_stddev: float
    noise_limit: float  # z < m/10: the largest noise multiplier adaptive clipping allows


@dataclass(frozen=True)
class CentralNoiseReport(Report):
    """The server's Gaussian noise on the sum (DP-FedAvg) and, if adaptive, the clip step
    (nested, as TFF nests a quantile estimator's measurements inside the DP aggregator's)."""

    sigma: float
    noise_std_mean: float
    denominator: float
    signal_norm: float
    noise_norm: float
    noise_multiplier: float
    clip: float
    adaptive: AdaptiveClipReport | None = None


@dataclass(frozen=True)
class AccountingReport(Report):
    """ε spent so far. ``epsilon`` = min(``epsilon_rdp``, ``epsilon_pld``) (``accountant``
    says which); for local DP and DP-SGD it is the worst client's."""

    epsilon: float
    epsilon_rdp: float
    epsilon_pld: float
    accountant: str
    delta: float
    noise_multiplier: float
    clip: float | None = None
    sample_rate: float | None = None
    participations: int | None = None
    worst_client: int | None = None
    epsilon_median: float | None = None
    #: DP-SGD: every client's RDP ε so far, by client id
    client_epsilons: tuple[float, ...] | None = None
    #: set when ε is infinite (no noise), so a JSON reader does not take ``null`` for "unknown"
    note: str | None = None

    def __post_init__(self):
        if self.note is None and not math.isfinite(self.epsilon):
            object.__setattr__(self, "note", "epsilon is infinite: with noise_multiplier 0 "
                                             "nothing is private (clipping alone)")


# --------------------------------------------------------------------------- state
@dataclass(frozen=True)
class CentralDPState:
    """Central DP between rounds: next clip bound, the bound last used, PLD of rounds so far."""

    clip: float
    clip_used: float
    rounds: int = 0
    pld: Any = None  # dp_accounting PrivacyLossDistribution after ``rounds`` rounds (immutable)


@dataclass(frozen=True)
class ParticipationState:
    """Local DP / DP-SGD: how many rounds each client (by id) has released something in."""

    counts: tuple[int, ...]

    def add(self, ids) -> "ParticipationState":
        c = list(self.counts)
        for i in ids:
            c.extend([0] * (int(i) + 1 - len(c)))
            c[int(i)] += 1
        return ParticipationState(tuple(c))


@functools.lru_cache(maxsize=64)
def _pld_one(noise_multiplier: float, sample_rate: float):
    """One round's PLD (~10 ms to build): a pure function of (z, q), so built once and shared;
    ``compose`` returns a new object, so the cached one is never changed."""
    from dp_accounting.pld import privacy_loss_distribution as pld

    kw = {} if sample_rate >= 1 else {"sampling_prob": float(sample_rate)}
    return pld.from_gaussian_mechanism(float(noise_multiplier),
                                       value_discretization_interval=accountant.PLD_INTERVAL, **kw)


# Central DP's next round, accounted ahead ("precomputed while you read"). Round t + 1's PLD
# is round t's composed with the one-round PLD, and its ε at δ: neither depends on the data,
# so once round t is over a background thread computes both with the same functions the
# round would call (:func:`accountant.compose_pld`, :func:`accountant.pld_epsilon_for_delta`).
# The round uses them only if they were made from the very PLD object in its state (``is``),
# so the numbers are the ones it would have computed itself; otherwise it computes them.
# DP-SGD queues its next round's PLD ε on the same worker (:meth:`DPSGD._account_ahead`); its
# results live only in ``accountant.pld_epsilon_fast``'s bounded lru_cache. The process-global
# state is therefore this locked dict (at most 32 entries), that cache, and the one queue.
_AHEAD_LOCK = threading.Lock()
_AHEAD: dict = {}          # (z, q, δ, id(prev PLD)) → (prev PLD, next PLD, ε at δ)
_AHEAD_QUEUE: "queue.Queue | None" = None


def _account_next(key, prev, one, delta: float) -> None:
    nxt = accountant.compose_pld(prev, one)
    eps = float(accountant.pld_epsilon_for_delta(nxt, delta))
    with _AHEAD_LOCK:
        if len(_AHEAD) >= 32:
            _AHEAD.pop(next(iter(_AHEAD)))
        _AHEAD[key] = (prev, nxt, eps)


def _ahead_worker(q: "queue.Queue") -> None:
    while True:
        fn, args = q.get()
        try:
            fn(*args)
        except Exception:            # noqa: BLE001 - the round then computes it itself
            pass
        finally:
            q.task_done()


def _start_ahead(key, prev, one, delta: float) -> None:
    """Queue the next round's accounting for the one long-lived worker thread (queuing costs
    microseconds; starting a thread per round cost the round ~0.3 ms in lock hand-overs)."""
    _queue_ahead(_account_next, key, prev, one, delta)


def _queue_ahead(fn, *args) -> None:
    """Run ``fn(*args)`` on the worker thread (central DP's next PLD, DP-SGD's next PLD ε);
    :func:`wait_precomputed` waits for every job queued here."""
    global _AHEAD_QUEUE
    with _AHEAD_LOCK:
        if _AHEAD_QUEUE is None:
            _AHEAD_QUEUE = queue.Queue()
            threading.Thread(target=_ahead_worker, args=(_AHEAD_QUEUE,),
                             name="dp-account-ahead", daemon=True).start()
        q = _AHEAD_QUEUE
    q.put((fn, args))


def wait_precomputed(timeout: float | None = None) -> None:
    """Wait until the queued accounting of next rounds is done (benchmarks call this between
    rounds, as :func:`fedsim.privacy.he.wait_precomputed`). ``timeout`` is ignored."""
    with _AHEAD_LOCK:
        q = _AHEAD_QUEUE
    if q is not None:
        q.join()


def _take_ahead(key, prev):
    with _AHEAD_LOCK:
        hit = _AHEAD.pop(key, None)
    if hit is not None and hit[0] is prev:
        return hit[1], hit[2]
    return None


# --------------------------------------------------------------------------- base
class DPMechanism(Mechanism):
    """Shared accounting: an RDP ε curve for planning, extended on demand.

    The curve is a memo of a pure function of the (frozen) settings, not round state.
    """

    name = "dp"
    order = 10

    def __init__(self, noise_multiplier: float, clip: float, rounds: int, delta: float):
        if not noise_multiplier >= 0:
            raise ConfigError("privacy.dp.noise_multiplier", noise_multiplier, ">= 0")
        if not clip > 0:
            raise ConfigError("privacy.dp.clip", clip, "> 0")
        if not 0 < delta < 1:
            raise ConfigError("privacy.dp.delta", delta, "> 0 and < 1")
        if int(rounds) < 1:
            raise ConfigError("rounds", rounds, ">= 1")
        self.noise_multiplier = float(noise_multiplier)
        self.clip = float(clip)
        self.delta = float(delta)
        self.rounds = int(rounds)
        self._curve: np.ndarray | None = None

    def _compute_curve(self, rounds: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def epsilon_curve(self, rounds: int | None = None) -> np.ndarray:
        """Planned RDP ε after each of rounds 1..``rounds`` (default: the configured number),
        for the worst case of taking part in every round."""
        rounds = self.rounds if rounds is None else int(rounds)
        if self._curve is None or len(self._curve) < rounds:
            have = 0 if self._curve is None else len(self._curve)
            self._curve = self._compute_curve(max(rounds, self.rounds, 2 * have))
        return self._curve[:rounds]

    def epsilon_at(self, rounds: int) -> float:
        """Planned RDP ε after ``rounds`` releases (0 before any)."""
        if rounds <= 0:
            return 0.0
        return float(self.epsilon_curve(rounds)[rounds - 1])

    def pld_epsilon(self, rounds: int | None = None) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def planned_epsilon(self, rounds: int | None = None) -> tuple[float, str]:
        """The tightest planned ε after ``rounds`` rounds: min(RDP, PLD) and which gave it."""
        rounds = self.rounds if rounds is None else int(rounds)
        return accountant.tightest_epsilon(self.epsilon_at(rounds), self.pld_epsilon(rounds))


# --------------------------------------------------------------------------- central
class CentralDP(DPMechanism):
    """DP-FedAvg with a fixed denominator (McMahan et al., ICLR 2018).

    Per round: each sampled client's update is clipped to L2 norm C and weighted 1 (user-level
    DP: every client counts the same, whatever its data size); the server adds N(0, σ²I),
    σ = z_Δ·C, to the *sum* and divides by the *expected* number of clients m = qN rather than
    the number that arrived: with a fixed denominator, adding or removing one client changes
    the released mean by at most C/m, the sensitivity the noise is calibrated to. The mean's
    noise std is therefore z·C/(qN), which is why DP-FedAvg wants many clients per round.

    Accounting: clients are Poisson-sampled with rate q (the engine does this when central DP
    is on), so each round is a ``PoissonSampledDpEvent(q, GaussianDpEvent(z))``; q = 1 gets no
    amplification at all.

    Adaptive clipping (Andrew et al., NeurIPS 2021), when ``adaptive_clip``: clients also report
    b_i = 1[‖Δ_i‖ ≤ C]; the server forms the noisy fraction b̃ = (Σ(b_i − ½) + N(0, σ_b²))/m + ½
    with σ_b = m/20 and moves C geometrically toward the ``target_quantile`` γ of update norms:
    C ← C·exp(−η_C(b̃ − γ)). If more than γ of the clients are under C, C is too large and
    shrinks (the sign Flower 1.42 gets backwards). The update noise then uses z_Δ (see
    :func:`adaptive_noise_multiplier`) so that both releases together cost exactly z.
    (Centring the bits is what makes the count's sensitivity ½; when exactly m clients arrive
    it equals (Σb_i + N(0, σ_b²))/m.) In a real deployment b_i travels inside the securely summed
    vector; here it is summed in the clear, and only its noisy sum is used.

    State (:class:`CentralDPState`, passed in and returned, never kept on the mechanism): the
    clip bound for the next round, the bound this round used, and the PLD of the rounds so far.
    The clip bits travel in the batch payload, so they follow the rows that actually arrived.
    """

    def __init__(self, noise_multiplier: float, clip: float, sample_rate: float, rounds: int,
                 delta: float, *, adaptive_clip: bool = False, target_quantile: float = 0.5,
                 clip_lr: float = 0.2, expected_clients: float | None = None):
        super().__init__(noise_multiplier, clip, rounds, delta)
        if not 0 < sample_rate <= 1:
            raise ConfigError("clients.fraction", sample_rate, "> 0 and <= 1")
        self.sample_rate = float(sample_rate)
        self.initial_clip = float(clip)
        self.adaptive_clip = bool(adaptive_clip)
        self.target_quantile = float(target_quantile)
        self.clip_lr = float(clip_lr)
        self.expected_clients = expected_clients
        self.update_noise_multiplier = self.noise_multiplier
        self.count_stddev = 0.0
        if self.adaptive_clip:
            if expected_clients is None or not expected_clients > 0:
                raise ValueError("adaptive clipping needs expected_clients = q·N > 0")
            self.count_stddev = expected_clients / 20.0  # σ_b = m/20, Andrew et al.'s default
            z_delta = adaptive_noise_multiplier(self.noise_multiplier, self.count_stddev)
            if math.isnan(z_delta):
                limit = 2.0 * self.count_stddev
                raise IncompatibleConfigError(
                    "privacy.dp.noise_multiplier", noise_multiplier,
                    f"< {limit:g} (= expected clients per round / 10) with "
                    "privacy.dp.adaptive_clip on: the noisy clip count (σ_b = m/20) would use "
                    "the whole budget; sample more clients or turn adaptive_clip off")
            self.update_noise_multiplier = z_delta

    def initial_state(self) -> CentralDPState:
        return CentralDPState(clip=self.initial_clip, clip_used=self.initial_clip)

    def _compute_curve(self, rounds: int) -> np.ndarray:
        return accountant.rdp_epsilon_curve(self.noise_multiplier, self.sample_rate, rounds,
                                            self.delta)

    def pld_epsilon(self, rounds: int | None = None) -> float:
        return accountant.pld_epsilon_fast(self.noise_multiplier, self.sample_rate,
                                           self.rounds if rounds is None else int(rounds),
                                           self.delta)

    def client(self, ctx: RoundContext, state: CentralDPState, batch: UpdateBatch):
        clip = state.clip
        clipped, norms = clip_rows(batch.deltas, clip)
        was_clipped = norms > clip
        below = (norms <= clip).astype(np.int64)
        out = batch.replace(deltas=clipped, weights=np.ones(len(batch.client_ids)))
        # The clip bits ride in the payload, so they follow the rows through
        # UpdateBatch.select when clients drop or fail a proof.
        out = out.with_payload(self.name, PerClient(tuple(int(b) for b in below)))
        report = ClipReport(clip=clip, clipped_fraction=float(was_clipped.mean()) if len(norms)
                            else 0.0,
                            per_client={"pre_clip_norm": _floats(norms),
                                        "clipped": [bool(v) for v in was_clipped]})
        return out, replace(state, clip_used=clip), report

    def server(self, ctx: RoundContext, state: CentralDPState, agg: Aggregate,
               batch: UpdateBatch):
        m = float(ctx.expected_clients)
        clip = state.clip_used
        total = np.asarray(agg.total, dtype=np.float64)
        sigma = self.update_noise_multiplier * clip  # std of the noise on the SUM
        noise = rng.generator(ctx.seed, "dp-noise", ctx.round).normal(0.0, 1.0, total.shape) * sigma
        out = Aggregate(total=total + noise, denominator=m)
        fields = dict(sigma=float(sigma), noise_std_mean=float(sigma / m), denominator=m,
                      signal_norm=float(np.linalg.norm(total / m)),
                      noise_norm=float(np.linalg.norm(noise / m)),
                      noise_multiplier=self.noise_multiplier, clip=clip)
        if self.adaptive_clip:
            payload = batch.payload.get(self.name)
            bits = list(payload.items) if payload is not None else []
            centred = sum(bits) - 0.5 * len(bits)
            count_noise = rng.generator(ctx.seed, "dp-clip", ctx.round).normal(
                0.0, self.count_stddev)
            unclipped = (centred + count_noise) / m + 0.5  # b̃, noisy fraction with ‖Δ‖ ≤ C
            # Too many under the bound (b̃ > γ) means C is too large: shrink it, and vice versa.
            nxt = float(clip * math.exp(-self.clip_lr * (unclipped - self.target_quantile)))
            state = replace(state, clip=nxt)
            fields["adaptive"] = AdaptiveClipReport(
                unclipped_fraction=float(unclipped),
                unclipped_fraction_true=float(np.mean(bits)) if bits else 0.0, next_clip=nxt,
                update_noise_multiplier=self.update_noise_multiplier,
                count_stddev=self.count_stddev, noise_limit=2.0 * self.count_stddev)
        return out, state, CentralNoiseReport(**fields)

    def end_round(self, ctx: RoundContext, state: CentralDPState, batch: UpdateBatch):
        # Every round is a release (Poisson sampling hides who took part), so round t composes
        # t events. The PLD is composed one round at a time and kept in the state; dp-
        # accounting's arithmetic, bit for bit, without its Python loops (~0.5 ms), and
        # usually already done between the rounds (see ``_account_next``).
        one = _pld_one(self.noise_multiplier, self.sample_rate) if self.noise_multiplier else None
        pld, eps_pld = None, math.inf
        if one is not None:
            key = (self.noise_multiplier, self.sample_rate, self.delta, id(state.pld))
            ahead = None if state.pld is None else _take_ahead(key, state.pld)
            if ahead is not None:
                pld, eps_pld = ahead
            else:
                pld = one if state.pld is None else accountant.compose_pld(state.pld, one)
                eps_pld = float(accountant.pld_epsilon_for_delta(pld, self.delta))
        t = state.rounds + 1
        rdp = self.epsilon_at(t)
        if pld is not None and t < self.rounds:
            _start_ahead((self.noise_multiplier, self.sample_rate, self.delta, id(pld)), pld,
                         one, self.delta)
        eps, how = accountant.tightest_epsilon(rdp, eps_pld)
        new = replace(state, rounds=t, pld=pld)
        return new, AccountingReport(epsilon=eps, epsilon_rdp=rdp, epsilon_pld=eps_pld,
                                     accountant=how, delta=self.delta,
                                     noise_multiplier=self.noise_multiplier,
                                     sample_rate=self.sample_rate, clip=state.clip_used)


# --------------------------------------------------------------------------- local
class LocalDP(DPMechanism):
    """Local DP: each client clips to C and adds N(0, (z·C)²I) to its own update.

    What is protected: a client's whole update, against everyone including the server. Under
    local DP *any* two inputs must be indistinguishable, and two clipped updates can differ by
    up to 2C, so with ``neighbours="replace"`` (the default) a release is a Gaussian with
    multiplier z/2. ``neighbours="add_remove"`` instead compares a client's update with a zero
    update (sensitivity C, multiplier z), the convention of Flower's local-DP mod; it gives a
    smaller ε for the same noise but a weaker promise.

    Accounting: one ``GaussianDpEvent`` per participation, composed over the client's rounds,
    with **no** sampling amplification: amplification hides *whether* someone took part, but
    each client knows when it sends, and the server sees exactly who sent what. The reported ε
    is the worst client's (the one that has taken part most often).
    """

    NEIGHBOURS = ("replace", "add_remove")

    def __init__(self, noise_multiplier: float, clip: float, rounds: int, delta: float, *,
                 neighbours: str = "replace", num_clients: int = 1):
        super().__init__(noise_multiplier, clip, rounds, delta)
        if neighbours not in self.NEIGHBOURS:
            raise ValueError(f"neighbours must be one of {self.NEIGHBOURS}, got {neighbours!r}")
        self.neighbours = neighbours
        self.num_clients = int(num_clients)

    def initial_state(self) -> ParticipationState:
        return ParticipationState((0,) * self.num_clients)

    @property
    def effective_noise_multiplier(self) -> float:
        """Noise std over sensitivity (what the accountant sees)."""
        return self.noise_multiplier / (2.0 if self.neighbours == "replace" else 1.0)

    def _compute_curve(self, rounds: int) -> np.ndarray:
        return accountant.rdp_epsilon_curve(self.effective_noise_multiplier, 1.0, rounds,
                                            self.delta)

    def pld_epsilon(self, rounds: int | None = None) -> float:
        return accountant.pld_epsilon_fast(self.effective_noise_multiplier, 1.0,
                                           self.rounds if rounds is None else int(rounds),
                                           self.delta)

    def client(self, ctx: RoundContext, state: ParticipationState, batch: UpdateBatch):
        clipped, norms = clip_rows(batch.deltas, self.clip)
        sigma = self.noise_multiplier * self.clip
        noisy = clipped.copy()
        noise_norms = []
        for row, cid in enumerate(batch.client_ids):
            # One stream per (round, client): a client's noise does not depend on who else ran.
            g = rng.generator(ctx.seed, "ldp", ctx.round, int(cid))
            noise = g.normal(0.0, 1.0, clipped.shape[1]) * sigma
            noisy[row] += noise
            noise_norms.append(float(np.linalg.norm(noise)))
        # Counted as soon as the noisy update exists (conservative if it is then dropped).
        state = state.add(batch.client_ids)
        was_clipped = norms > self.clip
        return batch.replace(deltas=noisy), state, ClipReport(
            clip=self.clip, sigma=float(sigma),
            clipped_fraction=float(was_clipped.mean()) if len(norms) else 0.0,
            per_client={"pre_clip_norm": _floats(norms),
                        "clipped": [bool(v) for v in was_clipped],
                        "noise_norm": noise_norms})

    def end_round(self, ctx: RoundContext, state: ParticipationState, batch: UpdateBatch):
        worst = max(state.counts, default=0)
        rdp = self.epsilon_at(worst)
        pld = self.pld_epsilon(worst) if worst else 0.0
        eps, how = accountant.tightest_epsilon(rdp, pld)
        return state, AccountingReport(epsilon=eps, epsilon_rdp=rdp, epsilon_pld=pld,
                                       accountant=how, delta=self.delta, participations=worst,
                                       noise_multiplier=self.noise_multiplier, clip=self.clip)


# --------------------------------------------------------------------------- DP-SGD
class DPSGD(DPMechanism):
    """Example-level DP-SGD inside each client (Abadi et al., CCS 2016).

    The trainer in ``fedsim.training.trainer`` reads ``clip``, ``noise_multiplier`` and ``batch_size``
    from this object: per-example gradients are clipped to C and N(0, (z·C)²) is added to each
    step's gradient sum, divided by the expected batch size. Updates then leave the client
    unchanged, so ``client``/``server`` pass through.

    **Sampling matches the analysis.** The accountant composes Poisson-subsampled Gaussians, so
    training Poisson-samples too: at each of a client's ceil(n/B)·E steps per round every example
    joins the batch independently with probability q = min(1, B/n) (Abadi et al. §3.1;
    Opacus' ``UniformWithReplacementSampler``). Shuffling into fixed batches instead, as most
    implementations do, is *not* covered by this analysis, and Chua et al., "How Private are
    DP-SGD Implementations?" (ICML 2024) show the true ε of shuffling can be much larger.

    **Every client is accounted.** ε is not monotone in n (a client with B+1 examples takes two
    steps at q ≈ 1; one with ≤ B takes one step at q = 1), so the reported ``epsilon`` is
    max_k min(RDP_k, PLD_k) over all clients (:func:`~fedsim.privacy.accountant.
    dpsgd_worst_epsilon`), ``client_epsilons`` holds everyone's RDP ε, and ``target_epsilon``
    calibrates on the worst client too.

    **The accounting costs the round little.** Every client's one-step RDP is computed once
    (the sizes are fixed), and the PLD ε the next round will ask for is computed between the
    rounds on the worker of :func:`wait_precomputed` (:meth:`_account_ahead`); the figures are
    the same floats as :func:`~fedsim.privacy.accountant.dpsgd_worst_epsilon`'s either way.
    """

    def __init__(self, noise_multiplier: float, clip: float, rounds: int, delta: float, *,
                 batch_size: int, local_epochs: int, client_sizes: Sequence[int]):
        super().__init__(noise_multiplier, clip, rounds, delta)
        sizes = [int(n) for n in client_sizes]
        if not sizes or min(sizes) < 1:
            raise ValueError("DP-SGD accounting needs every client's example count (>= 1)")
        self.batch_size = int(batch_size)
        self.local_epochs = int(local_epochs)
        self.client_sizes = tuple(sizes)
        self.median_size = int(np.median(sizes))
        # Steps per round and one step's RDP of every client: a pure function of the settings
        # and the (fixed) sizes, so computed once here, not every round (int_order_rdp was
        # ~7 ms of each call of dpsgd_client_epsilons). Read-only, so sharing is safe.
        self._steps, self._unit = accountant.dpsgd_unit_rdp(
            self.noise_multiplier, self.batch_size, sizes, self.local_epochs)
        self._steps.setflags(write=False)
        self._unit.setflags(write=False)
        every = np.ones(len(sizes), np.int64)
        worst = self._client_epsilons(every)
        #: the client whose ε grows fastest (the planned curve follows it)
        self.accounted_client = int(np.argmax(worst))
        self.accounted_size = sizes[self.accounted_client]

    def initial_state(self) -> ParticipationState:
        return ParticipationState((0,) * len(self.client_sizes))

    def _client_epsilons(self, t: np.ndarray) -> np.ndarray:
        """``accountant.dpsgd_client_epsilons`` of these settings at participations ``t``
        (bit for bit: the same two steps, the first one done once in ``__init__``)."""
        return accountant.dpsgd_epsilons_from_unit(self._steps, self._unit, t, self.delta)

    def _worst(self, t: np.ndarray, per: np.ndarray) -> tuple[float, str, int]:
        """``accountant.dpsgd_worst_epsilon`` at participations ``t`` (``per`` = their RDP ε)."""
        return accountant.dpsgd_worst_epsilon(
            self.noise_multiplier, self.batch_size, self.client_sizes, self.local_epochs, t,
            self.delta, client_rdp=per)

    def _account_ahead(self, t: np.ndarray) -> None:
        """Worker thread: the PLD ε the next round's :meth:`_worst` will ask for if every
        client trains again (participations t + 1). ``dpsgd_worst_epsilon`` is run itself, so
        exactly the (size, count) keys its pruning visits are computed, by the same
        ``accountant.pld_epsilon_fast`` (a pure function in a bounded, thread-safe
        ``lru_cache``); the round's calls are then cache hits with the very same floats. If
        the guess is wrong (a client skipped the round) or the work is not done yet, the
        round computes the missing keys itself, as before. No other state is kept."""
        nxt = t + 1
        self._worst(nxt, self._client_epsilons(nxt))

    def _compute_curve(self, rounds: int) -> np.ndarray:
        return accountant.dpsgd_epsilon_curve(self.noise_multiplier, self.batch_size,
                                              self.accounted_size, self.local_epochs, rounds,
                                              self.delta)

    def pld_epsilon(self, rounds: int | None = None) -> float:
        n = self.accounted_size
        q = min(1.0, self.batch_size / n)
        steps = accountant.dpsgd_steps_per_round(self.batch_size, n, self.local_epochs)
        rounds = self.rounds if rounds is None else int(rounds)
        return accountant.pld_epsilon_fast(self.noise_multiplier, q, rounds * steps, self.delta)

    def client(self, ctx: RoundContext, state: ParticipationState, batch: UpdateBatch):
        return batch, state.add(batch.client_ids), ClipReport(
            clip=self.clip, noise_multiplier=self.noise_multiplier, clipped_fraction=0.0,
            per_client={})

    def end_round(self, ctx: RoundContext, state: ParticipationState, batch: UpdateBatch):
        t = np.asarray(state.counts, np.int64)
        per = self._client_epsilons(t)
        eps, how, who = self._worst(t, per)
        pld = eps if how == "pld" else math.nan
        report = AccountingReport(
            epsilon=eps, epsilon_rdp=float(per[who]) if len(per) else 0.0, epsilon_pld=pld,
            accountant=how, delta=self.delta, participations=int(t.max(initial=0)),
            worst_client=who, epsilon_median=float(np.median(per)) if len(per) else 0.0,
            noise_multiplier=self.noise_multiplier, clip=self.clip,
            client_epsilons=tuple(float(e) for e in per))
        if ctx.round < self.rounds and self.noise_multiplier > 0:
            # The next round's PLD ε, while the student reads (queued last: the worker then
            # competes with as little of this round as possible).
            _queue_ahead(self._account_ahead, t.copy())
        return state, report


# --------------------------------------------------------------------------- factory
def from_config(cfg: "SimulationConfig", client_sizes: Sequence[int] | None = None
                ) -> DPMechanism | None:
    """The DP mechanism ``cfg.privacy.dp`` asks for, or ``None`` when the mode is ``off``.

    If ``target_epsilon`` is set, the noise multiplier is calibrated so that the RDP ε after
    ``cfg.rounds`` rounds meets it: with q = ``clients.fraction`` (central), no sampling (local),
    or, for ``dpsgd``, every client's own q = B/n and ceil(n/B)·E steps per round, on the worst
    client (needs ``client_sizes``, the clients' training-set sizes). The resolved value is the mechanism's
    ``noise_multiplier``.
    """
    dp = cfg.privacy.dp
    if not dp.enabled:
        return None
    if dp.adaptive_clip and dp.mode != "central":
        raise IncompatibleConfigError("privacy.dp.adaptive_clip", True,
                                      "false unless privacy.dp.mode is 'central'")
    rounds, delta = cfg.rounds, dp.delta

    def calibrated(q: float, steps: int = 1, scale: float = 1.0) -> float:
        if dp.target_epsilon is None:
            return dp.noise_multiplier
        try:
            return scale * accountant.calibrate_noise(dp.target_epsilon, q, rounds, delta, steps,
                                                      tight=True)
        except ValueError as exc:
            raise ConfigError("privacy.dp.target_epsilon", dp.target_epsilon,
                              f"a reachable budget ({exc})") from None

    if dp.mode == "central":
        q = cfg.clients.fraction
        m = q * cfg.clients.num_clients
        z = calibrated(q)
        try:
            return CentralDP(z, dp.clip, q, rounds, delta, adaptive_clip=dp.adaptive_clip,
                             target_quantile=dp.target_quantile, clip_lr=dp.clip_lr,
                             expected_clients=m)
        except IncompatibleConfigError as exc:
            if dp.target_epsilon is None:
                raise
            raise IncompatibleConfigError(
                "privacy.dp.target_epsilon", dp.target_epsilon,
                f"a larger budget: it needs noise_multiplier {z:.3g}, but {exc.allowed}") from None
    if dp.mode == "local":
        # The accountant sees z/2 (replace-one sensitivity 2C), so calibrate that and double it.
        return LocalDP(calibrated(1.0, scale=2.0), dp.clip, rounds, delta,
                       num_clients=cfg.clients.num_clients)
    # dpsgd
    if client_sizes is None or len(client_sizes) == 0:
        raise ValueError("privacy.dp.mode 'dpsgd' needs client_sizes (examples per client)")
    B, E = cfg.training.batch_size, cfg.training.local_epochs
    z = dp.noise_multiplier
    if dp.target_epsilon is not None:
        try:  # calibrated on the worst of all clients, not on the smallest
            z = accountant.calibrate_dpsgd_noise(dp.target_epsilon, B, client_sizes, E, rounds,
                                                 delta)
        except ValueError as exc:
            raise ConfigError("privacy.dp.target_epsilon", dp.target_epsilon,
                              f"a reachable budget ({exc})") from None
    return DPSGD(z, dp.clip, rounds, delta, batch_size=B, local_epochs=E,
                 client_sizes=client_sizes)

"""Server-side combination of client updates (the article's step 4, "aggregate").

All aggregators take flat updates ``[K, P]`` and weights ``[K]`` and return an
:class:`~fedsim.privacy.base.Aggregate`. ``linear`` aggregators are a weighted sum over a
denominator — the only kind secure aggregation and homomorphic encryption can compute, because
the server only ever learns a sum.

- :class:`WeightedMean`: FedAvg (McMahan et al., AISTATS 2017) weights by example counts n_k;
  the simple mean gives every client weight 1.
- :class:`Median`: coordinate-wise median (Yin et al., ICML 2018).
- :class:`TrimmedMean`: drop the ``beta`` fraction of largest and smallest values per
  coordinate, average the rest (Yin et al., ICML 2018).
- :class:`Krum` / Multi-Krum (Blanchard et al., NeurIPS 2017): pick the update(s) closest to
  their n−f−2 nearest neighbours.
- :class:`NormBounded`: any of the above after clipping each update to an L2 norm
  (``aggregation.norm_bound``; Sun, Kairouz, Suresh, McMahan 2019, "Can You Really Backdoor
  Federated Learning?"): a boosted (model-replacement) update is scaled back to the size of an
  honest one before the median, trimmed mean or Krum even sees it.
"""

from __future__ import annotations

import numpy as np

from fedsim.config import AggregationConfig
from fedsim.privacy.base import Aggregate


class Aggregator:
    name = "aggregator"
    linear = False

    def __call__(self, updates: np.ndarray, weights: np.ndarray) -> tuple[Aggregate, dict]:
        raise NotImplementedError


class WeightedMean(Aggregator):
    """Σ w_k Δ_k / Σ w_k. With ``weighted=False`` every w_k is 1 (the simple mean)."""

    name = "fedavg"
    linear = True

    def __init__(self, weighted: bool = True):
        self.weighted = weighted

    def __call__(self, updates, weights):
        w = np.asarray(weights, np.float64)
        return Aggregate(total=w @ updates, denominator=float(w.sum())), {}


class Median(Aggregator):
    name = "median"

    def __call__(self, updates, weights):
        return Aggregate(np.median(updates, axis=0), 1.0), {}


class TrimmedMean(Aggregator):
    name = "trimmed_mean"

    def __init__(self, beta: float):
        self.beta = beta

    def __call__(self, updates, weights):
        k = len(updates)
        cut = int(np.floor(self.beta * k))
        if k - 2 * cut < 1:
            cut = (k - 1) // 2
        s = np.sort(updates, axis=0)
        return Aggregate(s[cut:k - cut].mean(axis=0), 1.0), {"trimmed_per_side": cut}


class Krum(Aggregator):
    """Score each update by the summed squared distance to its k−f−2 nearest others; average
    the ``select`` lowest-scoring updates (``select=1`` is Krum, more is Multi-Krum)."""

    name = "krum"

    def __init__(self, byzantine: int, select: int):
        self.f, self.m = byzantine, select

    def __call__(self, updates, weights):
        k = len(updates)
        sq = (updates * updates).sum(1)
        d = np.maximum(sq[:, None] + sq[None, :] - 2 * updates @ updates.T, 0.0)
        np.fill_diagonal(d, np.inf)
        nn = max(1, k - self.f - 2)
        nn = min(nn, k - 1) if k > 1 else 0
        scores = np.sort(d, axis=1)[:, :nn].sum(1) if nn else np.zeros(k)
        chosen = np.argsort(scores, kind="stable")[: min(self.m, k)]
        return Aggregate(updates[chosen].mean(0), 1.0), {
            "krum_scores": scores.tolist(), "krum_selected": chosen.tolist()}


class NormBounded(Aggregator):
    """Clip every update to L2 norm ``bound`` (Δ ← Δ·min(1, bound/‖Δ‖)), then aggregate with
    ``inner``. Reports how many updates were clipped (``norm_clipped``, by row) and their norms
    before clipping."""

    def __init__(self, inner: Aggregator, bound: float):
        self.inner, self.bound = inner, float(bound)
        self.name, self.linear = inner.name, inner.linear

    def __call__(self, updates, weights):
        norms = np.linalg.norm(updates, axis=1)
        scale = np.minimum(1.0, self.bound / np.maximum(norms, 1e-300))
        agg, mm = self.inner(updates * scale[:, None], weights)
        rows = np.flatnonzero(scale < 1.0)
        return agg, {**mm, "norm_bound": self.bound, "norm_clipped": rows.tolist(),
                     "norms_before": norms.tolist()}


def build_aggregator(cfg: AggregationConfig) -> Aggregator:
    if cfg.name == "fedavg":
        agg: Aggregator = WeightedMean(cfg.weighted)
    elif cfg.name == "median":
        agg = Median()
    elif cfg.name == "trimmed_mean":
        agg = TrimmedMean(cfg.trim_fraction)
    else:
        agg = Krum(cfg.krum_byzantine, cfg.krum_select)
    bound = getattr(cfg, "norm_bound", None)
    return agg if bound is None else NormBounded(agg, bound)

"""How non-IID a split is, comparable across data sets: each client's label distribution
against the pooled one (NumPy only; the Data page draws it).

The Hellinger distance between two distributions p and q over the same labels is
``H(p, q) = sqrt(1 − Σ_c sqrt(p_c · q_c)) = ‖√p − √q‖₂ / √2``: 0 when they are equal, 1 when
they share no label. :func:`hellinger_to_pooled` compares every client with the pooled
distribution of all clients' rows (the distribution an IID split would give each of them),
as the heterogeneity metrics built on flwr-datasets do (client label distributions from
``flwr_datasets.metrics.compute_frequencies``, each against the whole data set's), and
:func:`hellinger_skew` is their mean over the clients that hold rows: one number per split,
the same scale for 3 penguin islands, 715 Shakespeare roles or 100 Dirichlet clients.
"""

from __future__ import annotations

import numpy as np


def label_mix(label_counts: np.ndarray) -> np.ndarray:
    """Each client's label fractions ``[K, C]`` (a row of zeros for a client with no rows)."""
    c = np.asarray(label_counts, np.float64)
    return c / np.maximum(c.sum(axis=1, keepdims=True), 1.0)


def hellinger_to_pooled(label_counts: np.ndarray) -> np.ndarray:
    """``[K]``: each client's Hellinger distance to the pooled label distribution (NaN for a
    client with no rows)."""
    c = np.asarray(label_counts, np.float64)
    pooled = c.sum(axis=0) / max(c.sum(), 1.0)
    p = label_mix(c)
    h2 = 0.5 * ((np.sqrt(p) - np.sqrt(pooled)[None, :]) ** 2).sum(axis=1)
    out = np.sqrt(np.clip(h2, 0.0, 1.0))
    out[c.sum(axis=1) == 0] = np.nan
    return out


def hellinger_skew(label_counts: np.ndarray) -> float:
    """The mean of :func:`hellinger_to_pooled` over the clients that hold rows (0: every
    client has the pooled mix; towards 1: each client holds labels the others lack)."""
    h = hellinger_to_pooled(label_counts)
    h = h[~np.isnan(h)]
    return float(h.mean()) if len(h) else 0.0


def by_size(sizes: np.ndarray) -> np.ndarray:
    """Client ids from the largest to the smallest (ties in id order)."""
    s = np.asarray(sizes)
    return np.argsort(-s, kind="stable")


__all__ = ["by_size", "hellinger_skew", "hellinger_to_pooled", "label_mix"]

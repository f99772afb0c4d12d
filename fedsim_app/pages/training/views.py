"""Model predictions the charts need (decision boundaries of 2-D models).

Needs a live :class:`fedsim.engine.simulation.Simulation` (its trainer does the forward pass), so it is
kept apart from the pure chart code; no Streamlit here either.
"""

from __future__ import annotations

import numpy as np


def grid_for(points: np.ndarray, n: int = 70, pad: float = 0.4) -> tuple[np.ndarray, np.ndarray,
                                                                          np.ndarray]:
    """An ``n × n`` grid covering ``points`` (+ padding): (xs, ys, flat grid points [n², 2])."""
    lo, hi = points.min(axis=0) - pad, points.max(axis=0) + pad
    gx, gy = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    xx, yy = np.meshgrid(gx, gy)
    return gx, gy, np.c_[xx.ravel(), yy.ravel()].astype(np.float32)


def class1_probability(sim, weights: list[np.ndarray], grid: np.ndarray, n: int) -> np.ndarray:
    """P(class 1) of a 2-class model on the grid, as an ``[n, n]`` array (rows = y)."""
    logits = np.asarray(sim.trainer.predict(weights, grid), np.float64)
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    return p[:, 1].reshape(n, n)


def local_weights(sim, client: int) -> list[np.ndarray] | None:
    """Client ``client``'s local model from the last round (None if it was not sampled)."""
    last = sim.last
    if last is None or last.local_weights is None or client not in last.client_ids:
        return None
    row = last.client_ids.index(client)
    return [w[row] for w in last.local_weights]

"""Server update (the article's step 5): apply the aggregated update to the global model.

Reddi et al., "Adaptive Federated Optimization" (ICLR 2021): the aggregate Δ (mean of
``local − global``) is a pseudo-gradient. ``sgd`` with ``server_lr = 1`` is plain FedAvg
(global ← global + Δ); ``fedavgm`` adds server momentum (Hsu et al. 2019); ``fedadam``,
``fedyogi`` and ``fedadagrad`` keep per-coordinate second moments v with adaptivity ``tau``.
State is returned, never mutated, so the history can keep it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedsim.config import AggregationConfig


@dataclass(frozen=True)
class ServerOptState:
    m: np.ndarray | None = None
    v: np.ndarray | None = None


def server_update(cfg: AggregationConfig, weights: np.ndarray, delta: np.ndarray,
                  state: ServerOptState) -> tuple[np.ndarray, ServerOptState]:
    """New flat global weights and optimizer state, from flat ``weights`` and mean ``delta``."""
    lr, opt = cfg.effective_server_lr, cfg.server_optimizer
    if opt == "sgd":
        return weights + lr * delta, state
    if opt == "fedavgm":
        m = delta if state.m is None else cfg.server_momentum * state.m + delta
        return weights + lr * m, ServerOptState(m=m)
    b1, b2, tau = cfg.beta1, cfg.beta2, cfg.tau
    m = (1 - b1) * delta if state.m is None else b1 * state.m + (1 - b1) * delta
    d2 = delta * delta
    v0 = np.full_like(delta, tau * tau) if state.v is None else state.v
    if opt == "fedadagrad":
        v = v0 + d2
    elif opt == "fedadam":
        v = b2 * v0 + (1 - b2) * d2
    else:  # fedyogi
        v = v0 - (1 - b2) * d2 * np.sign(v0 - d2)
    return weights + lr * m / (np.sqrt(v) + tau), ServerOptState(m=m, v=v)

"""Reference curves on the same data and model: centralized and local-only training.

- *Centralized*: all clients' training rows pooled in one place (what FL tries to match without
  moving the data); per round, the same number of local epochs over the pool.
- *Local-only*: every client trains alone on its own rows and never shares; the curve is the
  mean test accuracy (or MSE) of those isolated models (what a client gets without FL).

Both run through the same vectorized trainer and seeds, so differences come from the data
flow, not from the implementation.
"""

from __future__ import annotations

import numpy as np

from fedsim.training.trainer import ClientData
from fedsim.rng import generator
from fedsim.engine.results import metric_key
from fedsim.engine.federation import Federation, build_federation


def _trainer(fed: Federation):
    from fedsim.training.trainer import get_trainer

    t = fed.config.training
    return get_trainer(fed.spec, fed.data.task, t.optimizer, t.momentum, False)


def centralized_curve(fed: Federation, rounds: int) -> list[dict]:
    """Global-test metrics after each round of training on the pooled data."""
    from fedsim.training.models import initial_weights

    cfg, cd = fed.config, fed.client_data
    rows = [cd.client(k)[:2] for k in range(len(cd.counts))]  # one client at a time
    xs = np.concatenate([x for x, _ in rows])
    ys = np.concatenate([y for _, y in rows])
    pooled = ClientData(xs[None], ys[None], np.array([len(xs)], np.int32),
                        xs[None, :1], ys[None, :1], np.array([0], np.int32))
    tr = _trainer(fed)
    w = initial_weights(fed.spec, cfg.seed)
    key = metric_key(fed.data.task)
    out = []
    for r in range(1, rounds + 1):
        res = tr.train(w, pooled, epochs=cfg.training.local_epochs,
                       batch_size=cfg.training.batch_size, lr=cfg.training.lr,
                       rng=generator(cfg.seed, "baseline-central", r))
        w = [x[0] for x in res.weights]
        loss, metric = tr.evaluate(w, fed.data.x_test, fed.data.y_test)
        out.append({"round": r, "loss": loss, key: metric})
    return out


def local_only_curve(fed: Federation, rounds: int) -> list[dict]:
    """Mean (and spread) of each client's isolated model on the server's test set."""
    from fedsim.training.models import initial_weights

    cfg, cd = fed.config, fed.client_data
    tr = _trainer(fed)
    k = len(cd.counts)
    w = [np.ascontiguousarray(np.broadcast_to(x, (k, *x.shape)))
         for x in initial_weights(fed.spec, cfg.seed)]
    key = metric_key(fed.data.task)
    out = []
    for r in range(1, rounds + 1):
        res = tr.train(w, cd, epochs=cfg.training.local_epochs, batch_size=cfg.training.batch_size,
                       lr=cfg.training.lr, rng=generator(cfg.seed, "baseline-local", r),
                       stacked=True)
        w = res.weights
        loss, metric = tr.evaluate_many(w, fed.data.x_test, fed.data.y_test)
        out.append({"round": r, "loss": float(loss.mean()), key: float(metric.mean()),
                    f"{key}_min": float(metric.min()), f"{key}_max": float(metric.max())})
    return out


def baseline_curves(config, rounds: int | None = None) -> dict[str, list[dict]]:
    fed = build_federation(config)
    n = rounds or config.rounds
    return {"centralized": centralized_curve(fed, n), "local_only": local_only_curve(fed, n)}

"""ClientApp: one fedsim client (Flower Message API).

Each SuperNode is one fedsim client: ``partition-id`` in its node config picks which of the
exported clients' rows it trains on (the Simulation Engine sets it for every virtual node; on a
real machine pass ``--node-config "partition-id=3 data-dir=/data/fedsim"``).
"""

from __future__ import annotations

import numpy as np
from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from .task import load_client, option, settings, trainer


def _mods() -> list:
    dp = settings().get("dp") or {}
    if dp.get("mode") == "local":
        from flwr.clientapp.mod import LocalDpMod

        # Noise std = sensitivity·sqrt(2 ln(1.25/δ))/ε = z·C: the same Gaussian noise as fedsim.
        return [LocalDpMod(clipping_norm=dp["clip"], sensitivity=dp["clip"],
                           epsilon=dp["flower_epsilon"], delta=dp["delta"])]
    return []


app = ClientApp(mods=_mods())


@app.train()
def train(msg: Message, context: Context) -> Message:
    s = settings()
    t = s["training"]
    pid = int(context.node_config["partition-id"])
    x, y, xv, yv = load_client(context, pid)
    config = msg.content["config"]
    rnd = int(config.get("server-round", 0))
    mu = float(config.get("proximal-mu", t["prox_mu"]))
    start = msg.content["arrays"].to_numpy_ndarrays()
    tr = trainer()
    rng = np.random.default_rng([int(option(context, "seed", s["seed"])), rnd, pid])
    losses = tr.fit(start, x, y, epochs=int(t["local_epochs"]), batch_size=int(t["batch_size"]),
                    lr=float(t["lr"]), mu=mu, rng=rng)
    new = tr.get_weights()
    vloss, vmetric = tr.evaluate(new, xv, yv)
    norm = float(np.sqrt(sum(float(np.sum((a - b).astype(np.float64) ** 2))
                             for a, b in zip(new, start))))
    metrics = MetricRecord({
        "num-examples": int(len(x)), "unit-weight": 1, "partition-id": pid,
        "num-val": int(len(xv)), "train-loss": float(losses[-1]),
        "train-loss-per-epoch": [float(v) for v in losses],
        "val-loss": vloss, "val-metric": vmetric, "update-norm": norm})
    return Message(content=RecordDict({"arrays": ArrayRecord(new), "metrics": metrics}),
                   reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    """The global model on this client's validation rows (the strategies here skip it by
    default: fedsim evaluates the global model on the server's test set)."""
    pid = int(context.node_config["partition-id"])
    _, _, xv, yv = load_client(context, pid)
    loss, metric = trainer().evaluate(msg.content["arrays"].to_numpy_ndarrays(), xv, yv)
    return Message(content=RecordDict({"metrics": MetricRecord(
        {"num-examples": int(len(xv)), "unit-weight": 1, "val-loss": loss,
         "val-metric": metric})}), reply_to=msg)

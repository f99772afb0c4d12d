"""ServerApp: fedsim's server loop on Flower (Message API, ``Strategy.start``).

The global model starts from fedsim's seeded initial weights; after every round the server
evaluates it on fedsim's held-out test set (``evaluate_fn``), and at the end it writes the
run in fedsim's run-JSON layout (``rounds[i].global.accuracy``, ``rounds[i].clients[j]``...)
to ``result-path``, so ``fedsim`` and Flower runs can be overlaid.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import flwr
from flwr.app import ArrayRecord, Context, MetricRecord
from flwr.serverapp import Grid, ServerApp

from .strategies import build_strategy
from .task import data_dir, initial_weights, load_test, option, settings, trainer

app = ServerApp()


def _client_record(m: dict, key: str) -> dict:
    return {"id": int(m["partition-id"]), "num_examples": int(m["num-examples"]),
            "num_val": int(m["num-val"]), "dropped": False, "malicious": False,
            "train_loss": m["train-loss"], "train_loss_per_epoch": list(m["train-loss-per-epoch"]),
            "val_loss": m["val-loss"], "val_" + key: m["val-metric"],
            "update_norm": m["update-norm"], "bytes_up": 4 * settings()["num_params"]}


@app.main()
def main(grid: Grid, context: Context) -> None:
    s = settings()
    key = "accuracy" if s["task"] == "classification" else "mse"
    rounds = int(option(context, "num-server-rounds", s["num_rounds"]))
    strategy = build_strategy(s["strategy"])
    replies: dict[int, list[dict]] = {}
    inner = strategy.aggregate_train

    def aggregate_train(server_round, msgs):  # keep each client's own metrics
        msgs = list(msgs)
        replies[server_round] = [dict(m.content["metrics"]) for m in msgs if not m.has_error()]
        return inner(server_round, msgs)

    strategy.aggregate_train = aggregate_train
    x_test, y_test = load_test(context)
    evals: dict[int, dict] = {}
    stamps: dict[int, float] = {}

    def evaluate_fn(server_round: int, arrays: ArrayRecord) -> MetricRecord:
        loss, metric = trainer().evaluate(arrays.to_numpy_ndarrays(), x_test, y_test)
        evals[server_round] = {"loss": loss, key: metric}
        stamps[server_round] = time.perf_counter()
        return MetricRecord({"loss": loss, key: metric})

    t0 = time.perf_counter()
    strategy.start(grid=grid, initial_arrays=ArrayRecord(initial_weights(context)),
                   num_rounds=rounds, evaluate_fn=evaluate_fn)
    header = json.loads((data_dir(context) / "run_header.json").read_text())
    per = 4 * s["num_params"]
    out_rounds = []
    for r in range(1, rounds + 1):
        clients = sorted((_client_record(m, key) for m in replies.get(r, [])),
                         key=lambda c: c["id"])
        ids = [c["id"] for c in clients]
        out_rounds.append({
            "round": r, "sampled": ids, "dropped": [], "rejected": [],
            "global": evals.get(r, {}), "clients": clients,
            "bytes": {"down": per * len(ids), "up": per * len(ids)}, "privacy": {},
            "aborted": None, "trace": [],
            "seconds": stamps.get(r, t0) - stamps.get(r - 1, t0)})
    result = {**header, "initial": evals.get(0, {}), "rounds": out_rounds,
              "engine": {"name": "flower", "flwr_version": flwr.__version__,
                         "seconds": time.perf_counter() - t0}}
    path = Path(str(option(context, "result-path", s["result_path"])))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(path)

"""Engine results → plain tables the charts draw (pure NumPy; no Streamlit, no TensorFlow).

- :func:`split_summary`: who holds what, computed with the engine's own data loader and
  partitioner (NumPy only), so the Data page shows the exact split the simulation will use
  without importing TensorFlow.
- :func:`global_curve`, :func:`participation_matrix`, :func:`results_frame`: views of a
  simulation's history.
- :func:`phase_summary`, :func:`phase_texts`: the sentences under the round-cycle diagram.
- :func:`metric_cards`: the numbers in the st.metric row, formatted once here so tests can
  compare them with the engine's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from fedsim.config import SimulationConfig
from fedsim.engine.results import RoundResult
from fedsim.engine.results import metric_key as _metric_key

from .text import t

# ------------------------------------------------------------------ data split


@dataclass(frozen=True)
class SplitSummary:
    """Everything the Data page draws about one configuration's split (picklable)."""

    num_clients: int
    num_labels: int
    label_names: tuple[str, ...]
    label_counts: np.ndarray  # [K, L] over all of a client's rows
    train_sizes: np.ndarray  # [K] rows used for local training
    val_sizes: np.ndarray  # [K] rows kept for local validation
    test_size: int
    skew: float
    task: str
    image_shape: tuple[int, int] | None
    samples: tuple[np.ndarray, ...]  # per client: first few inputs, unstandardized
    sample_labels: tuple[np.ndarray, ...]
    points: np.ndarray | None  # 2-D data: every training row, as the client holds it
    point_labels: np.ndarray | None
    point_client: np.ndarray | None
    #: labels no client holds (a pathological split with too few slots leaves them out)
    unused_labels: tuple[str, ...] = ()


def split_summary(cfg: SimulationConfig, per_client: int = 6) -> SplitSummary:
    """The split ``cfg`` produces, using the engine's loader and partitioner.

    Raises the engine's :class:`~fedsim.errors.PartitionError` when the split is impossible
    (e.g. too many clients for the data), which is how the app rejects such settings early.
    """
    from fedsim.data.partition import skew_score
    from fedsim.engine.simulation import build_federation  # TF-free: data, split and layout only

    fed = build_federation(cfg)
    data, part, cd = fed.data, fed.partition, fed.client_data
    strata = fed.strata()
    num_labels = fed.num_labels
    names = (tuple(data.class_names) if data.task == "classification"
             else tuple(f"bin {b}" for b in range(num_labels)))
    counts = fed.label_counts()
    val = np.array([int(m.sum()) for m in part.val_mask])
    sizes = part.sizes()
    samples, sample_labels = [], []
    pts, plab, pcl = [], [], []
    for k in range(part.num_clients):
        n, nv = int(cd.counts[k]), int(cd.vcounts[k])
        xk = cd.x[k, :n]  # the client's training rows, feature skew included, as trained
        yk = strata[part.indices[k][~part.val_mask[k]]]
        if data.image_shape is not None:
            # A seeded random few (not the first rows: those are sorted by pool index, so
            # they would not show the client's label mix).
            pick = fed.sample_rows(k, per_client)
            raw = xk[pick] * data.feature_std + data.feature_mean
            samples.append(raw.reshape(-1, *data.image_shape))
            sample_labels.append(yk[pick])
        if cfg.dataset.name == "2d":
            yv = strata[part.indices[k][part.val_mask[k]]]
            pts.append(np.concatenate([xk, cd.xv[k, :nv]]))
            plab.append(np.concatenate([yk, yv]))
            pcl.append(np.full(n + nv, k))
    two_d = cfg.dataset.name == "2d"
    return SplitSummary(
        num_clients=part.num_clients, num_labels=num_labels, label_names=names,
        label_counts=counts, train_sizes=sizes - val, val_sizes=val,
        test_size=len(data.y_test), skew=skew_score(counts), task=data.task,
        image_shape=data.image_shape, samples=tuple(samples), sample_labels=tuple(sample_labels),
        points=np.concatenate(pts) if two_d else None,
        point_labels=np.concatenate(plab) if two_d else None,
        point_client=np.concatenate(pcl) if two_d else None,
        unused_labels=tuple(names[int(c)] for c in part.unused_labels))


# ------------------------------------------------------------------ history views


def metric_key(task: str) -> str:
    return _metric_key(task)


def global_curve(history: Sequence[RoundResult], initial: dict, task: str) -> dict:
    """Round 0 (the initial model) then one point per finished round."""
    key = metric_key(task)
    rounds = [0] + [r.round for r in history]
    metric = [initial[key]] + [r.global_metrics[key] for r in history]
    loss = [initial["loss"]] + [r.global_metrics["loss"] for r in history]
    return {"round": rounds, "metric": metric, "loss": loss, "key": key}


STATUS_CODES = ("not_sampled", "trained", "dropped", "rejected")


def client_status(result: RoundResult, k: int) -> str:
    if k not in result.sampled:
        return "not_sampled"
    if k in result.dropped:
        return "dropped"
    if k in result.rejected:
        return "rejected"
    return "trained"


def participation_matrix(history: Sequence[RoundResult], num_clients: int) -> np.ndarray:
    """``[K, R]`` status codes (index into ``STATUS_CODES``)."""
    m = np.zeros((num_clients, len(history)), np.int8)
    for j, r in enumerate(history):
        for k in r.sampled:
            m[k, j] = STATUS_CODES.index(client_status(r, k))
    return m


def results_frame(history: Sequence[RoundResult], num_clients: int, task: str):
    """The results CSV: one row per round × client (all clients; unsampled rows are blank)."""
    import pandas as pd

    key = metric_key(task)
    rows = []
    for r in history:
        by_id = {c.id: c for c in r.clients}
        for k in range(num_clients):
            c = by_id.get(k)
            row = {"round": r.round, "client": k, "status": client_status(r, k),
                   f"global_{key}": r.global_metrics[key],
                   "global_loss": r.global_metrics["loss"]}
            if c is not None:
                row.update({"num_examples": c.num_examples, "num_val": c.num_val,
                            "malicious": c.malicious,
                            "train_loss": c.train_loss[-1] if c.train_loss else None,
                            "val_loss": c.val_loss, f"val_{key}": c.val_metric,
                            "update_norm": c.update_norm, "bytes_up": c.bytes_up})
            rows.append(row)
    cols = ["round", "client", "status", "num_examples", "num_val", "malicious", "train_loss",
            "val_loss", f"val_{key}", "update_norm", "bytes_up", f"global_{key}",
            "global_loss"]
    return pd.DataFrame(rows, columns=cols)


def results_csv(history: Sequence[RoundResult], num_clients: int, task: str) -> str:
    return results_frame(history, num_clients, task).to_csv(index=False)


# ------------------------------------------------------------------ numbers and sentences


def human_bytes(n: float) -> str:
    """1234 → '1.2 KB' (decimal units, as network speeds are quoted)."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


@dataclass(frozen=True)
class Card:
    """One st.metric: label, value text, delta text (or None), delta colour, help."""

    key: str
    label: str
    value: str
    delta: str | None
    delta_color: str
    help: str


def metric_cards(history: Sequence[RoundResult], initial: dict, task: str) -> list[Card]:
    """The metric row: test score, test loss, updates used, bytes up, bytes down.

    Deltas compare with the previous round (round 0 = the initial model). Formatting lives here
    so a test can rebuild the exact strings from an independent engine run.
    """
    key = metric_key(task)
    now = history[-1].global_metrics if history else initial
    prev = (history[-2].global_metrics if len(history) > 1 else initial) if history else None
    inverse = key == "mse"  # lower MSE is better: a fall should show green
    cards = []
    for field, label, color in ((key, f"tr.metric.{key}", "inverse" if inverse else "normal"),
                                ("loss", "tr.metric.loss", "inverse")):
        delta, changed = (None, True) if prev is None else _delta(now[field], prev[field])
        cards.append(Card(field if field == "loss" else "metric", t(label), f"{now[field]:.3f}",
                          delta, color if changed else "off", t(label + ".help")))
    if history:
        r = history[-1]
        notes = []
        if r.dropped:
            notes.append(t("tr.metric.dropped", n=len(r.dropped)))
        if r.rejected:
            notes.append(t("tr.metric.rejected", n=len(r.rejected)))
        cards += [
            Card("clients", t("tr.metric.clients"), f"{len(r.aggregated)}/{len(r.sampled)}",
                 t("list.sep").join(notes) or None, "off", t("tr.metric.clients.help")),
            Card("up", t("tr.metric.up"), human_bytes(r.bytes_up), None, "off",
                 t("tr.metric.up.help")),
            Card("down", t("tr.metric.down"), human_bytes(r.bytes_down), None, "off",
                 t("tr.metric.down.help")),
        ]
    else:
        dash = "—"
        cards += [Card("clients", t("tr.metric.clients"), dash, None, "off",
                       t("tr.metric.clients.help")),
                  Card("up", t("tr.metric.up"), dash, None, "off", t("tr.metric.up.help")),
                  Card("down", t("tr.metric.down"), dash, None, "off",
                       t("tr.metric.down.help"))]
    return cards


def _delta(now: float, prev: float) -> tuple[str, bool]:
    """('+0.012', changed?): a change that rounds to zero shows as '±0.000' with no arrow."""
    text = f"{now - prev:+.3f}"
    if text in ("+0.000", "-0.000"):
        return "±0.000", False
    return text, True


def cycle_center(round_: int, total: int) -> str:
    """Text in the middle of the cycle: the round being (or about to be) run."""
    return t("tr.cycle_center", round=round_)


def round_counter(done: int, total: int) -> str:
    """'Round 07/20': zero-padded like TF Playground's epoch counter."""
    width = max(2, len(str(total)))
    return t("tr.counter", round=f"{done:0{width}d}", total=f"{total:0{width}d}")


def _hider(cfg: SimulationConfig) -> str | None:
    if cfg.privacy.secure_aggregation.enabled:
        return t("hide.secagg")
    if cfg.privacy.he.enabled:
        return t(f"hide.{cfg.privacy.he.scheme}")
    return None


def _aggregator_text(cfg: SimulationConfig) -> str:
    a = cfg.aggregation
    if a.name == "fedavg":
        return t("agg.fedavg_weighted" if a.weighted else "agg.fedavg_simple")
    return t(f"agg.{a.name}")


def phase_texts(phase: str, cfg: SimulationConfig) -> tuple[str, str]:
    """(what happens, what the server can see) at ``phase`` under ``cfg``'s protections."""
    hider = _hider(cfg)
    dp = cfg.privacy.dp.mode
    what, sees = t(f"phase.{phase}.what"), t(f"phase.{phase}.sees")
    if phase == "protect":
        if hider:
            what = t("phase.protect.what_hidden", how=hider)
        elif dp in ("central", "local"):
            what = t("phase.protect.what_dp")
    elif phase == "upload":
        if hider:
            sees = t("phase.upload.sees_hidden", how=hider)
        elif dp in ("central", "local"):
            sees = t("phase.upload.sees_dp")
    elif phase == "aggregate":
        what = t("phase.aggregate.what", agg=_aggregator_text(cfg))
        if hider:
            sees = t("phase.aggregate.sees_hidden")
    elif phase == "update" and dp == "central":
        what = t("phase.update.what_dp")
    return what, sees


def _ids(ids: Sequence[int], limit: int = 12) -> str:
    if not ids:
        return t("none")
    s = ", ".join(str(i) for i in list(ids)[:limit])
    return s + (" …" if len(ids) > limit else "")


def phase_summary(rec, task: str) -> str:
    """One sentence on what a finished phase did, from its PhaseRecord's measurements."""
    m = rec.measurements
    p = rec.phase
    if p == "select":
        drop = m.get("will_drop") or []
        if drop:
            return t("sum.select_drop", n=m["num_sampled"], ids=_ids(m["sampled"]), k=len(drop))
        return t("sum.select", n=m["num_sampled"], ids=_ids(m["sampled"]))
    if p == "broadcast":
        n = m["bytes_down"] // max(m["bytes_per_client"], 1)
        return t("sum.broadcast", params=f"{m['num_params']:,}",
                 size=human_bytes(m["bytes_per_client"]), n=n)
    if p == "train":
        return t("sum.train", n=m.get("clients", 0), loss=m.get("mean_train_loss", float("nan")))
    if p == "protect":
        mech = ", ".join(m.get("mechanisms", [])) or t("sum.protect_none")
        return t("sum.protect", mech=mech)
    if p == "upload":
        return t("sum.upload", n=len(m["arrived"]), size=human_bytes(m["bytes_up"]),
                 dropped=_ids(m["dropped"]))
    if p == "aggregate":
        return t("sum.aggregate", n=m.get("num_aggregated", 0))
    if p == "update":
        return t("sum.update", norm=m.get("step_norm", 0.0))
    key = metric_key(task)
    return t("sum.evaluate", metric=t(f"ch.{key}"), value=m[key], loss=m["loss"])

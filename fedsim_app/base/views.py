"""Engine results → plain tables and sentences that several pages (or the base) show.

Pure NumPy: no Streamlit, no TensorFlow. A view only one page uses lives in that page's
``views.py``.

- :func:`split_summary`: who holds what, computed with the engine's own data loader and
  partitioner (NumPy only), so the Data page shows the exact split the simulation will use
  without importing TensorFlow (cached per configuration by :mod:`fedsim_app.base.state`).
- :func:`global_curve`, :func:`results_frame`: views of a simulation's history.
- :func:`phase_texts`, :func:`round_counter`: the stepper's sentences and counter.
- :func:`fmt_eps`, :func:`epsilon_points`, :func:`clip_bounds`: what differential privacy
  recorded (the Privacy page, and the Training page's ε card and clip line).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from fedsim.config import SimulationConfig
from fedsim.engine.results import RoundResult
from fedsim.engine.results import metric_key as _metric_key

from fedsim_app.i18n import t

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


_BIN = re.compile(r"bin (\d+)")


def label_name(name: str) -> str:
    """A label as the page shows it: a regression target's bin (the engine's ``bin 3``, data
    that stays English in files) in the user's language; a class name as it is."""
    m = _BIN.fullmatch(str(name))
    return t("ch.bin", b=int(m.group(1))) if m else str(name)


def split_summary(cfg: SimulationConfig, per_client: int = 6) -> SplitSummary:
    """The split ``cfg`` produces, using the engine's loader and partitioner.

    Raises the engine's :class:`~fedsim.errors.PartitionError` when the split is impossible
    (e.g. too many clients for the data), which is how the app rejects such settings early.
    """
    from fedsim.data.partition import skew_score
    from fedsim.engine.federation import build_federation  # TF-free: data, split and layout only

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
        # the client's training rows, feature skew included, as trained (one client's block,
        # not every client's padded one: 3,383 FEMNIST writers would be 1.2 GB)
        xk, _, xvk, _ = cd.client(k)
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
            pts.append(np.concatenate([xk, xvk]))
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


# ------------------------------------------------------------------ differential privacy


def fmt_eps(e: float) -> str:
    """ε for display: '∞' without noise, 2 decimals below 100, whole numbers above."""
    e = float(e)
    if not math.isfinite(e):
        return "∞"
    return f"{e:.0f}" if e >= 100 else f"{e:.2f}"


def epsilon_points(history: Sequence[RoundResult]) -> tuple[list[int], list[float]]:
    """(rounds, ε after each round) as the engine reported them."""
    rounds, eps = [], []
    for r in history:
        if "epsilon" in r.privacy:
            rounds.append(r.round)
            eps.append(float(r.privacy["epsilon"]))
    return rounds, eps


def dp_measurements(r: RoundResult, phase: str) -> dict:
    """What the DP mechanism recorded in ``phase`` of round ``r`` (empty if nothing)."""
    try:
        return dict(r.phase(phase).measurements.get("dp") or {})
    except StopIteration:
        return {}


def clip_bounds(history: Sequence[RoundResult]) -> list[dict]:
    """Per round: the clip bound C used, and how many of the clipped-or-not updates hit it.

    The bound comes from the ``protect`` phase (what the clients clipped to); in a round where
    nobody was sampled, from the server's ``update`` measurements (adaptive clipping moves it
    even then). Rounds without either (no DP, DP-SGD) are left out.
    """
    out = []
    for r in history:
        prot, upd = dp_measurements(r, "protect"), dp_measurements(r, "update")
        clip = prot.get("clip", upd.get("clip"))
        if clip is None or "sigma" not in upd and "clipped_fraction" not in prot:
            continue
        flags = [bool(c.extra.get("clipped", False)) for c in r.clients
                 if "pre_clip_norm" in c.extra]
        row = {"round": r.round, "clip": float(clip), "clipped": sum(flags), "n": len(flags)}
        adaptive = upd.get("adaptive") or {}
        if "next_clip" in adaptive:
            row["next_clip"] = float(adaptive["next_clip"])
        out.append(row)
    return out

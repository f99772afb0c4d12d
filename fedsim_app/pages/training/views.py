"""The Training page's views: its metric row, the phase sentences, participation, and the
decision boundaries of 2-D models (pure; no Streamlit).

:func:`metric_cards` formats the numbers in the st.metric row once here, so tests can compare
them with an independent engine run. The decision-boundary helpers need a live
:class:`fedsim.engine.simulation.Simulation` (its trainer does the forward pass).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from fedsim.engine.results import RoundResult

from fedsim_app.base.views import (STATUS_CODES, client_status, epsilon_points, fmt_eps,
                                   human_bytes, metric_key)
from fedsim_app.i18n import t

# ------------------------------------------------------------------ the metric row


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


def epsilon_card(history: Sequence[RoundResult]) -> Card:
    """The Training page's extra metric when DP is on: ε spent so far (Δ since last round)."""
    _, eps = epsilon_points(history)
    now = eps[-1] if eps else 0.0
    delta = None
    if len(eps) >= 1:
        prev = eps[-2] if len(eps) > 1 else 0.0
        if math.isfinite(now) and math.isfinite(prev):
            delta = f"+{now - prev:.2f}"
    return Card("epsilon", t("priv.overlay.eps"), fmt_eps(now), delta,
                "inverse" if delta else "off", t("priv.overlay.eps.help"))


# ------------------------------------------------------------------ rounds and phases


def participation_matrix(history: Sequence[RoundResult], num_clients: int) -> np.ndarray:
    """``[K, R]`` status codes (index into ``STATUS_CODES``)."""
    m = np.zeros((num_clients, len(history)), np.int8)
    for j, r in enumerate(history):
        for k in r.sampled:
            m[k, j] = STATUS_CODES.index(client_status(r, k))
    return m


def cycle_center(round_: int, total: int) -> str:
    """Text in the middle of the cycle: the round being (or about to be) run."""
    return t("tr.cycle_center", round=round_)


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


# ------------------------------------------------------------------ decision boundaries (2-D data)


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

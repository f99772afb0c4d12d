"""The Training page's charts: the global model, the clients, participation, decision
boundaries (pure; plain data in, a Plotly ``Figure`` out; see :mod:`fedsim_app.base.charts`)."""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from fedsim.engine.results import RoundResult, metric_key

from fedsim_app.base.charts import base_figure, clip_bound_trace
from fedsim_app.base.theme import (BASELINE_COLOR, BASELINE_DASH, GLOBAL_COLOR, STATUS_COLORS,
                                   client_color, label_color)
from fedsim_app.base.views import STATUS_CODES
from fedsim_app.i18n import t

# ------------------------------------------------------------------ global model


def _baseline_traces(fig: go.Figure, baselines: Mapping[str, Sequence[dict]] | None,
                     field: str) -> None:
    """Dashed grey reference curves; local-only also gets its worst–best band (metric only)."""
    if not baselines:
        return
    for name, rows in baselines.items():
        if not rows:
            continue
        rounds = [r["round"] for r in rows]
        lo, hi = f"{field}_min", f"{field}_max"
        if name == "local_only" and lo in rows[0]:
            fig.add_trace(go.Scatter(
                x=rounds + rounds[::-1], y=[r[hi] for r in rows] + [r[lo] for r in rows][::-1],
                fill="toself", fillcolor="rgba(140,140,140,0.15)", line=dict(width=0),
                hoverinfo="skip", name=t("ch.local_range"), legendgroup=name))
        fig.add_trace(go.Scatter(
            x=rounds, y=[r[field] for r in rows], mode="lines",
            line=dict(color=BASELINE_COLOR, dash=BASELINE_DASH.get(name, "dash"), width=2),
            name=t(f"ch.{name}") if name != "local_only" else t("ch.local_only"),
            legendgroup=name))


def global_metric_figure(curve: Mapping, baselines: Mapping[str, Sequence[dict]] | None = None,
                         total_rounds: int | None = None) -> go.Figure:
    """Global test accuracy (or MSE) per round, round 0 = initial model; optional baselines."""
    key = curve["key"]
    fig = base_figure(t("ch.global_title", metric=t(f"ch.{key}")),
                legend=dict(orientation="h", y=-0.25))
    _baseline_traces(fig, baselines, key)
    fig.add_trace(go.Scatter(x=curve["round"], y=curve["metric"], mode="lines+markers",
                             line=dict(color=GLOBAL_COLOR, width=3), marker=dict(size=7),
                             name=t("ch.global")))
    fig.update_xaxes(title=t("ch.round"), range=_round_range(curve, total_rounds))
    fig.update_yaxes(title=t(f"ch.{key}"), range=[0, 1.02] if key == "accuracy" else None)
    return fig


def global_loss_figure(curve: Mapping, baselines: Mapping[str, Sequence[dict]] | None = None,
                       total_rounds: int | None = None) -> go.Figure:
    fig = base_figure(t("ch.loss_title"), legend=dict(orientation="h", y=-0.25))
    _baseline_traces(fig, baselines, "loss")  # no band: only the metric has min/max
    fig.add_trace(go.Scatter(x=curve["round"], y=curve["loss"], mode="lines+markers",
                             line=dict(color=GLOBAL_COLOR, width=3), marker=dict(size=7),
                             name=t("ch.global")))
    fig.update_xaxes(title=t("ch.round"), range=_round_range(curve, total_rounds))
    fig.update_yaxes(title=t("ch.loss"), rangemode="tozero")
    return fig


def _round_range(curve: Mapping, total: int | None) -> list[float] | None:
    # Fix the x range to the whole run so the chart does not rescale every round.
    if total is None:
        return None
    return [-0.3, max(total, curve["round"][-1]) + 0.3]


# ------------------------------------------------------------------ clients


def client_loss_figure(history: Sequence[RoundResult], num_clients: int,
                       total_rounds: int | None = None) -> go.Figure:
    """Each client's training loss per local epoch; epoch e of round r sits at r − 1 + e/E.

    Gaps where a client was not sampled, so a line never pretends it trained.
    """
    fig = base_figure(t("ch.clients_loss_title"), legend=dict(title=t("ch.client")))
    xs: dict[int, list] = {k: [] for k in range(num_clients)}
    ys: dict[int, list] = {k: [] for k in range(num_clients)}
    for r in history:
        for c in r.clients:
            e = len(c.train_loss)
            if xs[c.id] and xs[c.id][-1] is not None and xs[c.id][-1] < r.round - 1:
                xs[c.id].append(None), ys[c.id].append(None)
            for i, v in enumerate(c.train_loss):
                xs[c.id].append(r.round - 1 + (i + 1) / e)
                ys[c.id].append(v)
    for k in range(num_clients):
        if xs[k]:
            fig.add_trace(go.Scatter(x=xs[k], y=ys[k], mode="lines+markers", name=str(k),
                                     line=dict(color=client_color(k, num_clients), width=2),
                                     marker=dict(size=5), connectgaps=False))
    fig.update_xaxes(title=t("ch.round"),
                     range=None if total_rounds is None else [0, total_rounds + 0.2])
    fig.update_yaxes(title=t("ch.train_loss"), rangemode="tozero")
    return fig


def client_val_figure(history: Sequence[RoundResult], num_clients: int, task: str,
                      curve: Mapping | None = None,
                      total_rounds: int | None = None) -> go.Figure:
    """Each client's local model on its own validation rows, per round (global in black)."""
    key = metric_key(task)
    fig = base_figure(t("ch.clients_val_title", metric=t(f"ch.{key}")),
                legend=dict(title=t("ch.client")))
    per: dict[int, tuple[list, list]] = {k: ([], []) for k in range(num_clients)}
    for r in history:
        for c in r.clients:
            if not math.isnan(c.val_metric):
                per[c.id][0].append(r.round), per[c.id][1].append(c.val_metric)
    for k, (x, y) in per.items():
        if x:
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=str(k),
                                     line=dict(color=client_color(k, num_clients), width=1.5),
                                     marker=dict(size=7)))
    if curve is not None:
        fig.add_trace(go.Scatter(x=curve["round"][1:], y=curve["metric"][1:], mode="lines",
                                 line=dict(color=GLOBAL_COLOR, width=3), name=t("ch.global")))
    fig.update_xaxes(title=t("ch.round"),
                     range=None if total_rounds is None else [0.5, total_rounds + 0.5])
    fig.update_yaxes(title=t("ch.val_metric", metric=t(f"ch.{key}")),
                     range=[0, 1.02] if key == "accuracy" else None)
    return fig


def update_norm_figure(history: Sequence[RoundResult], num_clients: int,
                       total_rounds: int | None = None) -> go.Figure:
    """‖local − global‖ per client per round; open circle = dropped, ✕ = rejected; a
    malicious client's line is dashed (the same marks as the Attacks page)."""
    fig = base_figure(t("ch.norm_title"), legend=dict(title=t("ch.client")))
    for k in range(num_clients):
        x, y, sym, bad = [], [], [], False
        for r in history:
            for c in r.clients:
                if c.id == k:
                    x.append(r.round), y.append(c.update_norm)
                    bad = bad or c.malicious
                    sym.append("circle-open" if c.dropped else
                               "x" if c.extra.get("rejected") else "circle")
        if x:
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=str(k),
                                     line=dict(color=client_color(k, num_clients), width=1,
                                               dash="dash" if bad else "solid"),
                                     marker=dict(size=9, symbol=sym)))
    fig.update_xaxes(title=t("ch.round"),
                     range=None if total_rounds is None else [0.5, total_rounds + 0.5])
    fig.update_yaxes(title=t("ch.update_norm"), rangemode="tozero")
    return fig


def add_clip_line(fig: go.Figure, history: Sequence[RoundResult]) -> go.Figure:
    """Draw the clip bound on an existing update-norm chart (Training page overlay)."""
    tr = clip_bound_trace(history)
    if tr is not None:
        fig.add_trace(tr)
    return fig


# ------------------------------------------------------------------ participation, boundaries


def participation_figure(matrix: np.ndarray, rounds: Sequence[int] | None = None,
                         malicious: Sequence[int] = ()) -> go.Figure:
    """Heatmap client × round with one colour per status (not sampled/used/dropped/rejected);
    malicious clients' rows are labelled with a warning sign, as everywhere in the app."""
    k, r = matrix.shape
    bad = {int(c) for c in malicious}
    rounds = list(rounds) if rounds is not None else list(range(1, r + 1))
    n = len(STATUS_CODES)
    # Discrete colour scale: status i owns the band [i/n, (i+1)/n].
    scale = []
    for i, s in enumerate(STATUS_CODES):
        scale += [[i / n, STATUS_COLORS[s]], [(i + 1) / n, STATUS_COLORS[s]]]
    names = [t(f"ch.status.{s}") for s in STATUS_CODES]
    text = [[names[v] for v in row] for row in matrix]
    fig = base_figure(t("ch.participation_title"), height=max(260, 60 + 22 * k), showlegend=True,
                legend=dict(orientation="h", y=-0.2))
    fig.add_trace(go.Heatmap(
        z=matrix.astype(float) + 0.5, x=rounds, y=[str(i) for i in range(k)], zmin=0, zmax=n,
        colorscale=scale, showscale=False, xgap=2, ygap=2, customdata=text,
        hovertemplate=t("ch.client") + " %{y}, " + t("ch.round") + " %{x}: %{customdata}"
                      "<extra></extra>", name="participation"))
    for s, name in zip(STATUS_CODES, names):  # legend entries for the four colours
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                 marker=dict(size=12, symbol="square", color=STATUS_COLORS[s],
                                             line=dict(color="#999", width=1))))
    fig.update_xaxes(title=t("ch.round"), dtick=1 if r <= 30 else None)
    # Every client labelled while they fit (a category axis otherwise skips every other one).
    fig.update_yaxes(title=t("ch.client"), autorange="reversed", type="category",
                     tickmode="array" if k <= 40 or bad else "auto",
                     tickvals=[str(i) for i in range(k)] if k <= 40 or bad else None,
                     ticktext=[f"⚠ {i}" if i in bad else str(i) for i in range(k)]
                     if k <= 40 or bad else None)
    return fig


def boundary_figure(gx: np.ndarray, gy: np.ndarray, prob: np.ndarray, points: np.ndarray,
                    labels: np.ndarray, title: str = "", color: str = GLOBAL_COLOR,
                    height: int = 330) -> go.Figure:
    """Predicted P(class 1) on a grid (label colours, white at 0.5) with the test points.

    ``title=""`` leaves the title to the page: three panels side by side at 1280 px are too
    narrow for a Plotly title, which does not wrap ("Global model (rou…").
    """
    c0, c1 = label_color(0), label_color(1)
    fig = base_figure(title, height=height, showlegend=False,
                margin=dict(l=30, r=10, t=45 if title else 10, b=30))
    if title:
        fig.update_layout(title=dict(text=f"<span style='color:{color}'>■</span> {title}"))
    fig.add_trace(go.Heatmap(x=gx, y=gy, z=prob, zmin=0, zmax=1, showscale=False,
                             colorscale=[[0, c0], [0.5, "#FFFFFF"], [1, c1]],
                             hovertemplate=t("ch.boundary_hover") + "<extra></extra>",
                             name="boundary"))
    fig.add_trace(go.Contour(x=gx, y=gy, z=prob, contours=dict(start=0.5, end=0.5, size=1,
                                                               coloring="none"),
                             line=dict(color=color, width=3), showscale=False,
                             hoverinfo="skip", name="p=0.5"))
    for c, col in ((0, c0), (1, c1)):
        sel = labels == c
        fig.add_trace(go.Scatter(x=points[sel, 0], y=points[sel, 1], mode="markers",
                                 marker=dict(color=col, size=6, line=dict(color="#333",
                                                                          width=0.8)),
                                 name=t("ch.class", c=c), hoverinfo="skip"))
    fig.update_xaxes(range=[gx[0], gx[-1]], showgrid=False, zeroline=False)
    fig.update_yaxes(range=[gy[0], gy[-1]], showgrid=False, zeroline=False, scaleanchor="x")
    return fig

"""Pure chart functions: plain data in, a Plotly ``Figure`` out.

No Streamlit and no TensorFlow here, so every chart is unit-tested on its own
(``tests/test_ui_charts.py``). Colour meanings come from :mod:`ui.theme`: client k has the same
colour on every chart, the global model is black, baselines are dashed grey, labels are
pastel. Titles, axis labels and legend names come from :mod:`ui.text`.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from fedsim.engine.results import PHASES, RoundResult, metric_key

from .text import t
from .theme import (BASELINE_COLOR, BASELINE_DASH, GLOBAL_COLOR, STATUS_COLORS, client_color,
                    label_color, themed, type_scale, variant_color)
from .views import STATUS_CODES

NEXT_FILL, DONE_FILL, IDLE_FILL = "#FFD54F", "#C8E6C9", "#FFFFFF"


def _base(title: str = "", height: int = 340, **layout) -> go.Figure:
    fig = themed(go.Figure())
    fig.update_layout(title=title or None, height=height, **layout)
    return fig


# ------------------------------------------------------------------ round cycle


def cycle_figure(next_phase: str | None = None, done: Sequence[str] = (),
                 center: str = "", height: int = 300) -> go.Figure:
    """The round cycle as a ring of phase boxes; ``next_phase`` lit, ``done`` ticked.

    Arrows run clockwise from "select" at the top. Hovering a box shows what happens there.
    """
    n = len(PHASES)
    ang = [math.pi / 2 - 2 * math.pi * i / n for i in range(n)]
    xs = [1.55 * math.cos(a) for a in ang]
    ys = [1.0 * math.sin(a) for a in ang]
    k = type_scale()  # the presenter view's larger type (ui.classroom)
    fig = _base(height=round(height * k), showlegend=False,
                margin=dict(l=10, r=10, t=10, b=10))
    fig.add_trace(go.Scatter(
        x=xs, y=ys, mode="markers", marker=dict(size=46, opacity=0),
        hovertext=[t(f"phase.{p}.what") for p in PHASES], hoverinfo="text",
        name="phases"))
    # Annotations as plain dicts in one update: ~10x faster than add_annotation per box.
    notes = []
    for i in range(n):
        # Arrow from this box toward the next, shortened so it stays between the boxes.
        j = (i + 1) % n
        fx, fy, tx, ty = xs[i], ys[i], xs[j], ys[j]
        notes.append(dict(x=fx + 0.72 * (tx - fx), y=fy + 0.72 * (ty - fy),
                          ax=fx + 0.28 * (tx - fx), ay=fy + 0.28 * (ty - fy),
                          xref="x", yref="y", axref="x", ayref="y", text="",
                          showarrow=True, arrowhead=2, arrowsize=1.2, arrowwidth=1.6,
                          arrowcolor="#9E9E9E"))
    for i, p in enumerate(PHASES):
        is_next, is_done = p == next_phase, p in done
        fill = NEXT_FILL if is_next else DONE_FILL if is_done else IDLE_FILL
        mark = "✓ " if is_done and not is_next else "▶ " if is_next else ""
        notes.append(dict(
            x=xs[i], y=ys[i], showarrow=False,
            text=f"<b>{mark}{t('phase.' + p)}</b><br><span style='font-size:{round(11 * k)}px'>"
                 f"{t(f'phase.{p}.side')}</span>",
            bgcolor=fill, bordercolor="#E65100" if is_next else "#9E9E9E",
            borderwidth=3 if is_next else 1, borderpad=6,
            font=dict(size=round((15 if is_next else 13) * k), color="#111"),
            name=f"phase:{p}"))
    if center:
        notes.append(dict(x=0, y=0, text=center, showarrow=False, font=dict(size=round(15 * k)),
                          name="center"))
    fig.update_layout(annotations=notes)
    fig.update_xaxes(visible=False, range=[-2.05, 2.05], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-1.35, 1.35], fixedrange=True)
    return fig


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
    fig = _base(t("ch.global_title", metric=t(f"ch.{key}")),
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
    fig = _base(t("ch.loss_title"), legend=dict(orientation="h", y=-0.25))
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
    fig = _base(t("ch.clients_loss_title"), legend=dict(title=t("ch.client")))
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
    fig = _base(t("ch.clients_val_title", metric=t(f"ch.{key}")),
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
    fig = _base(t("ch.norm_title"), legend=dict(title=t("ch.client")))
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
    fig = _base(t("ch.participation_title"), height=max(260, 60 + 22 * k), showlegend=True,
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


# ------------------------------------------------------------------ data split


def _client_ticks(num_clients: int) -> list[str]:
    # Tick labels in the client's colour tie every bar to the same client everywhere.
    return [f"<span style='color:{client_color(k, num_clients)}'><b>{k}</b></span>"
            for k in range(num_clients)]


def label_distribution_figure(counts: np.ndarray, label_names: Sequence[str],
                              title: str | None = None, compact: bool = False) -> go.Figure:
    """Stacked bars: one bar per client, one pastel segment per label."""
    k, n_labels = counts.shape
    fig = _base("" if compact else (title if title is not None else t("data.labels_title")),
                height=220 if compact else 360, barmode="stack",
                legend=dict(title=t("ch.label"), traceorder="normal"),
                showlegend=not compact,
                margin=dict(l=40, r=10, t=35 if compact else 50, b=35))
    if compact and title:
        fig.update_layout(title=dict(text=title, font=dict(size=13)))
    ticks = _client_ticks(k)
    for c in range(n_labels):
        fig.add_trace(go.Bar(x=list(range(k)), y=counts[:, c], name=label_names[c],
                             marker=dict(color=label_color(c), line=dict(width=0)),
                             hovertemplate=t("ch.client") + " %{x}: %{y} × " + label_names[c]
                                           + "<extra></extra>"))
    fig.update_xaxes(title=None if compact else t("ch.client"), tickmode="array",
                     tickvals=list(range(k)), ticktext=ticks, showticklabels=k <= 40)
    fig.update_yaxes(title=None if compact else t("ch.count"))
    return fig


def client_sizes_figure(train_sizes: Sequence[int], val_sizes: Sequence[int]) -> go.Figure:
    """Bar per client in its colour: solid = local training rows, hatched = local validation."""
    k = len(train_sizes)
    colors = [client_color(i, k) for i in range(k)]
    # No legend: its swatch would show client 0's colour; the caption explains solid/hatched.
    fig = _base(t("data.sizes_title"), height=360, barmode="stack", showlegend=False)
    fig.add_trace(go.Bar(x=list(range(k)), y=list(train_sizes), name=t("ch.train"),
                         marker=dict(color=colors)))
    fig.add_trace(go.Bar(x=list(range(k)), y=list(val_sizes), name=t("ch.val"),
                         marker=dict(color=colors, opacity=0.45,
                                     pattern=dict(shape="/", fgcolor="#333", size=6))))
    fig.update_xaxes(title=t("ch.client"), tickmode="array", tickvals=list(range(k)),
                     ticktext=_client_ticks(k), showticklabels=k <= 40)
    fig.update_yaxes(title=t("ch.count"))
    return fig


def digits_figure(samples: Sequence[np.ndarray], sample_labels: Sequence[np.ndarray],
                  client_ids: Sequence[int], num_clients: int) -> go.Figure:
    """A strip of 8×8 images per client, as one greyscale heatmap (fast to draw and send).

    ``samples[i]`` holds client ``client_ids[i]``'s images ``[m, h, w]`` (raw pixel values);
    each image gets its label written above it.
    """
    rows = len(client_ids)
    m = max((len(s) for s in samples), default=0)
    h, w = samples[0].shape[1:] if rows and len(samples[0]) else (8, 8)
    pad = 2
    canvas = np.full((rows * (h + pad + 3), m * (w + pad)), np.nan)
    # 90 px a client: an 8×8 digit ~55 px on a side, filling the Data page's chart column at
    # 1280 px (70 px left them small and squeezed together; more only adds white space).
    fig = _base(t("data.digits_title"), height=90 + 90 * rows, showlegend=False,
                margin=dict(l=80, r=10, t=50, b=10))
    notes = []
    for i, (imgs, labs) in enumerate(zip(samples, sample_labels)):
        top = i * (h + pad + 3) + 3
        for j, img in enumerate(imgs):
            canvas[top:top + h, j * (w + pad):j * (w + pad) + w] = img
            notes.append(dict(x=j * (w + pad) + w / 2 - 0.5, y=top - 1.6, text=str(labs[j]),
                              showarrow=False, font=dict(size=12, color="#444")))
    fig.update_layout(annotations=notes)
    fig.add_trace(go.Heatmap(z=canvas, colorscale="Greys", showscale=False, hoverinfo="skip",
                             name="digits"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(autorange="reversed", scaleanchor="x", tickmode="array",
                     tickvals=[i * (h + pad + 3) + 3 + h / 2 for i in range(rows)],
                     ticktext=[f"<span style='color:{client_color(c, num_clients)}'><b>"
                               f"{t('ch.client_n', k=c)}</b></span>" for c in client_ids],
                     showgrid=False, zeroline=False)
    return fig


def points_figure(points: np.ndarray, labels: np.ndarray, clients: np.ndarray,
                  num_clients: int, title: str | None = None) -> go.Figure:
    """2-D data: each client's points in its colour, class 0 ● and class 1 ✕."""
    fig = _base(title if title is not None else t("data.points_title"), height=420,
                legend=dict(title=t("ch.client")))
    for k in range(num_clients):
        sel = clients == k
        fig.add_trace(go.Scatter(
            x=points[sel, 0], y=points[sel, 1], mode="markers", name=str(k),
            marker=dict(color=client_color(k, num_clients), size=7, opacity=0.8,
                        symbol=np.where(labels[sel] == 0, "circle", "x-thin-open"),
                        line=dict(width=1.5, color=client_color(k, num_clients)))))
    fig.update_xaxes(title="x₁", zeroline=False)
    fig.update_yaxes(title="x₂", zeroline=False, scaleanchor="x")
    return fig


def boundary_figure(gx: np.ndarray, gy: np.ndarray, prob: np.ndarray, points: np.ndarray,
                    labels: np.ndarray, title: str = "", color: str = GLOBAL_COLOR,
                    height: int = 330) -> go.Figure:
    """Predicted P(class 1) on a grid (label colours, white at 0.5) with the test points.

    ``title=""`` leaves the title to the page: three panels side by side at 1280 px are too
    narrow for a Plotly title, which does not wrap ("Global model (rou…").
    """
    c0, c1 = label_color(0), label_color(1)
    fig = _base(title, height=height, showlegend=False,
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


# ------------------------------------------------------------------ compare


def compare_figure(curves: Sequence[tuple[str, Sequence[int], Sequence[float]]],
                   metric: str) -> go.Figure:
    """Global test metric per round, one line per variant (variant colours, not clients)."""
    fig = _base(t("cmp.curves_title", metric=t(f"ch.{metric}")), height=400,
                legend=dict(orientation="h", y=-0.22))
    for i, (label, rounds, values) in enumerate(curves):
        fig.add_trace(go.Scatter(x=list(rounds), y=list(values), mode="lines+markers",
                                 name=label, line=dict(color=variant_color(i), width=3),
                                 marker=dict(size=6)))
    fig.update_xaxes(title=t("ch.round"))
    fig.update_yaxes(title=t(f"ch.{metric}"), range=[0, 1.02] if metric == "accuracy" else None)
    return fig

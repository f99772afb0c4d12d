"""Chart functions several pages draw: plain data in, a Plotly ``Figure`` out.

No Streamlit and no TensorFlow here, so every chart is unit-tested on its own
(``tests/app/test_ui_charts.py``). Colour meanings come from :mod:`fedsim_app.base.theme`:
client k has the same colour on every chart, the global model is black, baselines are dashed
grey, labels are pastel. Titles, axis labels and legend names come from :mod:`fedsim_app.i18n`.
A chart only one page draws lives in that page's ``charts.py`` and starts from
:func:`base_figure`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from fedsim.engine.results import PHASES, RoundResult

from fedsim_app.base.theme import client_color, label_color, themed, type_scale, variant_color
from fedsim_app.base.views import clip_bounds, label_name
from fedsim_app.i18n import t

NEXT_FILL, DONE_FILL, IDLE_FILL = "#FFD54F", "#C8E6C9", "#FFFFFF"


def base_figure(title: str = "", height: int = 340, **layout) -> go.Figure:
    """An empty figure in the app's theme (every chart starts here)."""
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
    k = type_scale()  # the presenter view's larger type (fedsim_app.base.classroom)
    fig = base_figure(height=round(height * k), showlegend=False,
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


def cycle_css(container_key: str, next_phase: str | None = None,
              done: Sequence[str] = ()) -> str:
    """CSS that lights the cycle drawn by ``cycle_figure()`` (no phase marked) inside the
    container ``container_key``: ``next_phase`` lit, ``done`` ticked green.

    Why not a new figure per phase: Streamlit gives a Plotly chart a new identity when its
    figure changes, and the browser re-mounts it, blank for a frame (the Pause test samples
    that). The figure stays the same; only this style (a few bytes) changes as phases run.
    Annotation order in ``cycle_figure``: one arrow per phase first, then one box per phase.
    """
    n = len(PHASES)
    rules = []
    for i, p in enumerate(PHASES):
        sel = f".st-key-{container_key} g.annotation[data-index='{n + i}'] rect.bg"
        if p == next_phase:
            rules.append(f"{sel} {{fill: {NEXT_FILL} !important; stroke: #E65100 !important; "
                         "stroke-width: 3px !important;}")
            rules.append(f".st-key-{container_key} g.annotation[data-index='{n + i}'] text "
                         "{font-weight: 700;}")
        elif p in done:
            rules.append(f"{sel} {{fill: {DONE_FILL} !important;}}")
    return "\n".join(rules)


# ------------------------------------------------------------------ data split (Data, Compare)


def client_ticks(num_clients: int) -> list[str]:
    """Tick labels in the client's colour: they tie every bar to the same client everywhere."""
    return [f"<span style='color:{client_color(k, num_clients)}'><b>{k}</b></span>"
            for k in range(num_clients)]


def label_distribution_figure(counts: np.ndarray, label_names: Sequence[str],
                              title: str | None = None, compact: bool = False) -> go.Figure:
    """Stacked bars: one bar per client, one pastel segment per label."""
    k, n_labels = counts.shape
    fig = base_figure("" if compact else (title if title is not None else t("data.labels_title")),
                height=220 if compact else 360, barmode="stack",
                legend=dict(title=t("ch.label"), traceorder="normal"),
                showlegend=not compact,
                margin=dict(l=40, r=10, t=35 if compact else 50, b=35))
    if compact and title:
        fig.update_layout(title=dict(text=title, font=dict(size=13)))
    ticks = client_ticks(k)
    label_names = [label_name(n) for n in label_names]
    for c in range(n_labels):
        fig.add_trace(go.Bar(x=list(range(k)), y=counts[:, c], name=label_names[c],
                             marker=dict(color=label_color(c), line=dict(width=0)),
                             hovertemplate=t("ch.client") + " %{x}: %{y} × " + label_names[c]
                                           + "<extra></extra>"))
    fig.update_xaxes(title=None if compact else t("ch.client"), tickmode="array",
                     tickvals=list(range(k)), ticktext=ticks, showticklabels=k <= 40)
    fig.update_yaxes(title=None if compact else t("ch.count"))
    return fig


# ------------------------------------------------------------------ variants (Compare, Lessons)


def compare_figure(curves: Sequence[tuple[str, Sequence[int], Sequence[float]]],
                   metric: str) -> go.Figure:
    """Global test metric per round, one line per variant (variant colours, not clients)."""
    fig = base_figure(t("cmp.curves_title", metric=t(f"ch.{metric}")), height=400,
                legend=dict(orientation="h", y=-0.22))
    for i, (label, rounds, values) in enumerate(curves):
        fig.add_trace(go.Scatter(x=list(rounds), y=list(values), mode="lines+markers",
                                 name=label, line=dict(color=variant_color(i), width=3),
                                 marker=dict(size=6)))
    fig.update_xaxes(title=t("ch.round"))
    fig.update_yaxes(title=t(f"ch.{metric}"), range=[0, 1.02] if metric == "accuracy" else None)
    return fig


# ------------------------------------------------------------------ clipping (Privacy, Training)


CLIP_COLOR = "#111111"


def clip_bound_trace(history: Sequence[RoundResult]) -> go.Scatter | None:
    """The clip bound of each round as a short horizontal bar over that round (it moves from
    round to round with adaptive clipping). ``None`` if no round clipped anything."""
    bounds = clip_bounds(history)
    if not bounds:
        return None
    xs: list = []
    ys: list = []
    text: list = []
    for b in bounds:
        label = t("priv.ch.clip_hover", clip=f"{b['clip']:.3g}", k=b["clipped"], n=b["n"])
        xs += [b["round"] - 0.45, b["round"] + 0.45, None]
        ys += [b["clip"], b["clip"], None]
        text += [label, label, None]
    return go.Scatter(x=xs, y=ys, mode="lines", name=t("priv.ch.clip_bound"),
                      line=dict(color=CLIP_COLOR, width=3, dash="dash"), text=text,
                      hovertemplate="%{text}<extra></extra>", connectgaps=False)

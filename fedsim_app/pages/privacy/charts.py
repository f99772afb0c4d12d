"""Pure chart functions of the Privacy page: plain data in, a Plotly ``Figure`` out.

Same rules as :mod:`fedsim_app.base.charts`: no Streamlit, no TensorFlow, colours from
:mod:`fedsim_app.base.theme` (client k has ``client_color(k, n)``, the global model is black,
the no-DP reference is dashed grey like the baselines), all text from :mod:`fedsim_app.i18n`.
Two colours are new here and mean the same on every privacy chart: **purple = ε** (privacy
spent) and **red-orange = noise**; the clip bound (black, dashed) is shared with the Training
page's update-norm chart.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import plotly.graph_objects as go

from fedsim.engine.results import RoundResult

from fedsim_app.base.charts import CLIP_COLOR, base_figure, clip_bound_trace
from fedsim_app.base.theme import BASELINE_COLOR, GLOBAL_COLOR, client_color
from fedsim_app.base.views import clip_bounds, fmt_eps
from fedsim_app.i18n import colon, t
from fedsim_app.pages.privacy.views import WEAK_EPSILON, clip_points

EPS_COLOR = "#6A3D9A"
NOISE_COLOR = "#E4572E"
WEAK_FILL = "rgba(228,87,46,0.08)"
#: Marker symbols of the clip chart: kept / scaled down to C / dropped after clipping.
SYMBOL_KEPT, SYMBOL_CLIPPED = "circle", "triangle-down"
#: Up to this many clients the clip chart lists each one in its legend.
LEGEND_CLIENTS = 8
#: The clip chart's x axis spans at least this many rounds.
WINDOW = 10


def _finite(xs: Sequence, ys: Sequence) -> tuple[list, list]:
    pts = [(x, y) for x, y in zip(xs, ys) if y is not None and math.isfinite(float(y))]
    return [p[0] for p in pts], [float(p[1]) for p in pts]


# ------------------------------------------------------------------ ε per round


def epsilon_figure(planned: Sequence[float], rounds: Sequence[int], eps: Sequence[float],
                   pld: float | None = None, target: float | None = None,
                   total_rounds: int | None = None) -> go.Figure:
    """ε after each round: the plan for every configured round (dashed), the rounds actually
    run (solid, markers), the tighter PLD figure for the last round (◆) and the target ε.

    Infinite values (no noise) are left out and said so in the middle of the chart.
    """
    total = total_rounds if total_rounds is not None else len(planned)
    fig = base_figure(t("priv.ch.eps_title"), legend=dict(orientation="h", y=-0.25))
    px, py = _finite(range(1, len(planned) + 1), planned)
    fig.add_trace(go.Scatter(x=px, y=py, mode="lines", name=t("priv.ch.planned"),
                             line=dict(color=EPS_COLOR, width=2, dash="dash"),
                             hovertemplate=t("ch.round") + " %{x}: ε = %{y:.2f}<extra></extra>"))
    ax, ay = _finite(rounds, eps)
    fig.add_trace(go.Scatter(x=ax, y=ay, mode="lines+markers", name=t("priv.ch.spent"),
                             line=dict(color=EPS_COLOR, width=3), marker=dict(size=8),
                             hovertemplate=t("ch.round") + " %{x}: ε = %{y:.3f}<extra></extra>"))
    top = max(py + ay, default=0.0)
    if pld is not None and math.isfinite(pld):
        fig.add_trace(go.Scatter(x=[total], y=[pld], mode="markers", name=t("priv.ch.pld"),
                                 marker=dict(color=EPS_COLOR, size=13, symbol="diamond",
                                             line=dict(color="#FFFFFF", width=1.5)),
                                 hovertemplate="PLD: ε = %{y:.3f}<extra></extra>"))
        top = max(top, pld)
    if target is not None:
        fig.add_trace(go.Scatter(x=[0.5, total + 0.5], y=[target, target], mode="lines",
                                 name=t("priv.ch.target", eps=f"{target:g}"),
                                 line=dict(color=EPS_COLOR, width=1.5, dash="dot"),
                                 hoverinfo="skip"))
        top = max(top, target)
    if top > WEAK_EPSILON:
        fig.add_hrect(y0=WEAK_EPSILON, y1=top * 1.08, fillcolor=WEAK_FILL, line_width=0,
                      layer="below", name="weak",
                      annotation=dict(text=t("priv.ch.weak_zone", limit=f"{WEAK_EPSILON:g}"),
                                      font=dict(size=12, color="#A33A1E")),
                      annotation_position="top left")
    if not py and not ay and planned:
        fig.add_annotation(text=t("priv.ch.eps_infinite"), x=0.5, y=0.5, xref="paper",
                           yref="paper", showarrow=False, font=dict(size=16, color="#A33A1E"),
                           name="infinite")
    fig.update_xaxes(title=t("ch.round"), range=[0.5, max(total, 1) + 0.5])
    fig.update_yaxes(title=t("priv.ch.eps_axis"), rangemode="tozero")
    return fig


# ------------------------------------------------------------------ clipping


def _offsets(num_clients: int, width: float = 0.6) -> list[float]:
    """Small x offsets so one round's clients sit side by side instead of on top of each other."""
    if num_clients <= 1:
        return [0.0] * max(num_clients, 1)
    return [(k / (num_clients - 1) - 0.5) * width for k in range(num_clients)]


def clip_figure(history: Sequence[RoundResult], num_clients: int,
                total_rounds: int | None = None) -> go.Figure:
    """Each client's update norm (before clipping) per round against the clip bound.

    Points sit side by side within a round, in the client's colour; ▼ = clipped (scaled down
    to the bound), ○ = dropped after clipping. "k/n" (clipped / clients) runs along the top.
    """
    rows = clip_points(history)
    bounds = clip_bounds(history)
    if bounds:
        last = bounds[-1]
        title = t("priv.ch.clip_title", round=last["round"], k=last["clipped"], n=last["n"])
    else:
        title = t("priv.ch.clip_title0")
    # A legend row per client only while it stays short; colours match every other chart.
    per_client = num_clients <= LEGEND_CLIENTS
    fig = base_figure(title, legend=dict(orientation="h", y=-0.25))
    off = _offsets(num_clients)
    for k in range(num_clients):
        mine = [r for r in rows if r["client"] == k]
        if not mine:
            continue
        sym = [(SYMBOL_CLIPPED if r["clipped"] else SYMBOL_KEPT) + ("-open" if r["dropped"]
                                                                      else "")
               for r in mine]
        fig.add_trace(go.Scatter(
            x=[r["round"] + off[k] for r in mine], y=[r["norm"] for r in mine],
            mode="markers", name=t("ch.client_n", k=k), showlegend=per_client,
            marker=dict(color=client_color(k, num_clients), size=10, symbol=sym,
                        line=dict(color=client_color(k, num_clients), width=1.5)),
            customdata=[[r["round"], t("priv.ch.clipped_yes") if r["clipped"] else
                         t("priv.ch.clipped_no")] for r in mine],
            hovertemplate=t("ch.client") + f" {k}, " + t("ch.round") +
                          " %{customdata[0]}: ‖Δ‖ = %{y:.3g} (%{customdata[1]})<extra></extra>"))
    tr = clip_bound_trace(history)
    if tr is not None:
        fig.add_trace(tr)
    # Legend entry explaining the ▼ symbol (grey, not a client's colour).
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=t("priv.ch.clipped_marker"),
                             marker=dict(color="#777", size=10, symbol=SYMBOL_CLIPPED)))
    # The x axis shows a window of at least WINDOW rounds (and grows with the run), so a round's
    # clients stay readable side by side; "k/n clipped" sits over every round while they fit,
    # else over the latest one only.
    last_round = max((b["round"] for b in bounds), default=0)
    shown = max(last_round, min(total_rounds or WINDOW, WINDOW))
    counted = bounds if shown <= WINDOW else bounds[-1:]
    fig.update_layout(annotations=[  # a row along the top edge, clear of the points
        dict(x=b["round"], y=1.0, xref="x", yref="paper", yanchor="bottom", showarrow=False,
             text=f"{b['clipped']}/{b['n']}", font=dict(size=12, color=CLIP_COLOR),
             name=f"count:{b['round']}") for b in counted])
    fig.update_xaxes(title=t("ch.round"), dtick=1 if shown <= 30 else None,
                     range=[0.4, shown + 0.6])
    fig.update_yaxes(title=t("priv.ch.norm_axis"), rangemode="tozero")
    return fig


# ------------------------------------------------------------------ signal vs noise


def signal_noise_figure(sn: Mapping[str, Sequence], mode: str) -> go.Figure:
    """Per round, grouped bars: how big the useful signal is (black) and how big the noise
    added to it is (red-orange). ``sn`` is the output of
    :func:`fedsim_app.pages.privacy.views.signal_noise`."""
    fig = base_figure(t(f"priv.ch.sn_title.{mode}"), barmode="group",
                legend=dict(orientation="h", y=-0.25))
    ratio = [n / s if s else float("inf") for s, n in zip(sn["signal"], sn["noise"])]
    ratio_txt = [f"{r:.1f}" if math.isfinite(r) else "∞" for r in ratio]
    fig.add_trace(go.Bar(x=list(sn["round"]), y=list(sn["signal"]),
                         name=t(f"priv.ch.signal.{mode}"), marker=dict(color=GLOBAL_COLOR),
                         hovertemplate=t("ch.round") + " %{x}: %{y:.3g}<extra></extra>"))
    fig.add_trace(go.Bar(x=list(sn["round"]), y=list(sn["noise"]),
                         name=t(f"priv.ch.noise.{mode}"), marker=dict(color=NOISE_COLOR),
                         customdata=ratio_txt,
                         hovertemplate=t("ch.round") + " %{x}: %{y:.3g} "
                                       + t("priv.ch.ratio") + "<extra></extra>"))
    fig.update_xaxes(title=t("ch.round"), dtick=1 if len(sn["round"]) <= 30 else None)
    fig.update_yaxes(title=t("priv.ch.l2"), rangemode="tozero")
    return fig


# ------------------------------------------------------------------ utility


def with_without_figure(curve_dp: Mapping, curve_plain: Mapping | None,
                        total_rounds: int | None = None) -> go.Figure:
    """Global test metric per round: this run with DP (black) and the same setup, same seed,
    without DP (dashed grey, the whole run)."""
    key = curve_dp["key"]
    fig = base_figure(t("priv.ch.ww_title", metric=t(f"ch.{key}")),
                legend=dict(orientation="h", y=-0.25))
    if curve_plain is not None:
        fig.add_trace(go.Scatter(x=list(curve_plain["round"]), y=list(curve_plain["metric"]),
                                 mode="lines", name=t("priv.ch.no_dp"),
                                 line=dict(color=BASELINE_COLOR, width=2, dash="dash")))
    fig.add_trace(go.Scatter(x=list(curve_dp["round"]), y=list(curve_dp["metric"]),
                             mode="lines+markers", name=t("priv.ch.with_dp"),
                             line=dict(color=GLOBAL_COLOR, width=3), marker=dict(size=7)))
    last = total_rounds if total_rounds is not None else curve_dp["round"][-1]
    fig.update_xaxes(title=t("ch.round"), range=[-0.3, max(last, 1) + 0.3])
    fig.update_yaxes(title=t(f"ch.{key}"), range=[0, 1.02] if key == "accuracy" else None)
    return fig


def sweep_figure(points: Sequence[Mapping], key: str, no_dp: float | None = None,
                 here: tuple[float, float] | None = None) -> go.Figure:
    """Privacy–utility trade-off: final test metric against final ε, one point per noise
    multiplier z (labelled), ε on a log axis. Optional: the no-DP result (dashed grey line) and
    this page's own finished run (★)."""
    fig = base_figure(t("priv.ch.sweep_title", metric=t(f"ch.{key}")), height=380,
                legend=dict(orientation="h", y=-0.25))
    pts = sorted((p for p in points if p["epsilon"] is not None
                  and math.isfinite(p["epsilon"])), key=lambda p: p["epsilon"])
    xs = [p["epsilon"] for p in pts]
    fig.add_trace(go.Scatter(
        x=xs, y=[p["metric"] for p in pts], mode="lines+markers+text",
        text=[f"z = {p['z']:g}" for p in pts], textposition="top center",
        name=t("priv.ch.sweep_points"), line=dict(color=EPS_COLOR, width=2),
        marker=dict(color=EPS_COLOR, size=10),
        hovertemplate="%{text}: ε = %{x:.2f}, " + t(f"ch.{key}") + " %{y:.3f}<extra></extra>"))
    if no_dp is not None and xs:
        lo, hi = min(xs) / 1.6, max(xs) * 1.6
        fig.add_trace(go.Scatter(x=[lo, hi], y=[no_dp, no_dp], mode="lines",
                                 name=t("priv.ch.no_dp"),
                                 line=dict(color=BASELINE_COLOR, width=2, dash="dash"),
                                 hovertemplate=t("priv.ch.no_dp") + colon() + "%{y:.3f}<extra></extra>"))
    if here is not None and here[0] is not None and math.isfinite(here[0]):
        fig.add_trace(go.Scatter(x=[here[0]], y=[here[1]], mode="markers",
                                 name=t("priv.ch.here", eps=fmt_eps(here[0])),
                                 marker=dict(color=GLOBAL_COLOR, size=16, symbol="star")))
    # dtick=1: label only 1, 10, 100 — the default minor labels ("5 10 2 5") read backwards.
    fig.update_xaxes(title=t("priv.ch.sweep_x"), type="log", dtick=1)
    fig.update_yaxes(title=t(f"ch.{key}"), range=[0, 1.08] if key == "accuracy" else None)
    return fig


def client_epsilon_figure(client_eps: Sequence[float], sizes: Sequence[int], headline: float,
                          worst: int | None = None) -> go.Figure:
    """Each client's DP-SGD ε (RDP, from the engine) against its number of examples, with the
    headline ε (the worst client, tightest bound) as a line. ε is not monotone in the size."""
    fig = base_figure(t("priv.ch.client_eps_title"), legend=dict(orientation="h", y=-0.25))
    sizes = [int(n) for n in sizes]
    ids = list(range(len(client_eps)))
    fig.add_trace(go.Scatter(
        x=sizes, y=list(client_eps), mode="markers", name="ε",
        marker=dict(size=10, color=[client_color(i, len(ids)) for i in ids],
                    line=dict(color="#FFFFFF", width=1)),
        customdata=ids, hovertemplate=t("ch.client") + " %{customdata}: %{x} → ε = %{y:.2f}"
                                      "<extra></extra>"))
    if worst is not None and 0 <= worst < len(ids):
        fig.add_trace(go.Scatter(x=[sizes[worst]], y=[client_eps[worst]], mode="markers",
                                 showlegend=False, hoverinfo="skip",
                                 marker=dict(size=18, color="rgba(0,0,0,0)",
                                             line=dict(color=EPS_COLOR, width=2))))
    if math.isfinite(headline):
        fig.add_hline(y=headline, line=dict(color=EPS_COLOR, width=2, dash="dot"),
                      annotation_text=t("priv.ch.headline"), annotation_position="top left")
    fig.update_xaxes(title=t("priv.ch.client_eps_x"), type="log")
    fig.update_yaxes(title="ε")
    return fig

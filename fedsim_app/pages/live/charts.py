"""Pure chart functions of the live class (Plotly figures from plain values)."""

from __future__ import annotations

from typing import Mapping, Sequence

import plotly.graph_objects as go

from fedsim_app.base.charts import base_figure
from fedsim_app.i18n import colon, t

RIGHT, OTHER, MINE = "#2E7D32", "#9E9E9E", "#1565C0"
#: Type sizes (px) of the projector's charts, read from the back of a classroom (the page's
#: body text there is 24 px); a phone's charts keep the app's theme (14 px ticks).
BIG = dict(text=20, title=24, axis_title=22)


def _wrap(title: str) -> str:
    """A long chart title on two lines, at its colon (a Plotly title does not wrap, and half
    the projector's width holds ~40 characters of 24 px type; a CJK one counts as two)."""
    if sum(2 if ord(c) >= 0x2E80 else 1 for c in title) <= 36:
        return title
    for sep in ("：", ": "):
        head, found, tail = title.partition(sep)
        if found and tail:
            return f"{head}{found.strip()}<br>{tail}"
    return title


def _projector(fig: go.Figure) -> go.Figure:
    """``fig`` in the projector's type: ticks, labels, bar values and hover text at 20 px or
    more, margins grown to fit them."""
    title = fig.layout.title.text or ""
    wrapped = _wrap(title)
    fig.update_layout(font=dict(size=BIG["text"]), title=dict(text=wrapped or None),
                      title_font_size=BIG["title"], hoverlabel=dict(font_size=BIG["text"]),
                      margin=dict(t=100 if "<br>" in wrapped else 60))
    axis = dict(tickfont_size=BIG["text"], title_font_size=BIG["axis_title"], automargin=True)
    fig.update_xaxes(**axis)
    fig.update_yaxes(**axis)
    fig.update_traces(textfont_size=BIG["text"], selector=dict(type="bar"))
    fig.update_annotations(font_size=BIG["axis_title"])  # subplot titles
    return fig


def answers_figure(counts: Mapping[str, int], labels: Mapping[str, str],
                   truth: str | None = None, mine: str | None = None,
                   height: int = 300, big: bool = False) -> go.Figure:
    """The class's answers, one bar per option: the option the engine's numbers make right in
    green once revealed, this student's own answer outlined (``big``: the projector's type)."""
    options = list(counts)
    fig = base_figure(t("live.ch.answers"), height=height, showlegend=False,
                      margin=dict(l=10, r=10, t=45, b=10))
    colors = [RIGHT if o == truth else OTHER for o in options]
    lines = [4 if o == mine else 0 for o in options]
    fig.add_trace(go.Bar(
        y=[labels.get(o, o) for o in options], x=[counts[o] for o in options], orientation="h",
        marker=dict(color=colors, line=dict(color=MINE, width=lines)),
        text=[str(counts[o]) for o in options], textposition="auto",
        hovertemplate="%{y}" + colon() + "%{x}<extra></extra>", name="answers"))
    fig.update_xaxes(title=t("live.ch.students"), rangemode="tozero", dtick=1 if max(
        counts.values(), default=0) <= 10 else None)
    fig.update_yaxes(autorange="reversed")
    return _projector(fig) if big else fig


def rounds_figure(rounds: Sequence[Mapping], initial: float | None, metric_key: str,
                  height: int = 300, big: bool = False) -> go.Figure:
    """The global model's test metric after each federated round of the class (``big``: the
    projector's type)."""
    fig = base_figure(t(f"live.ch.{metric_key}"), height=height, showlegend=False,
                      margin=dict(l=10, r=10, t=45, b=10))
    xs = [0] + [r["round"] for r in rounds]
    ys = ([initial] if initial is not None else [None]) + [r["metric"] for r in rounds]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", line=dict(color="#111"),
                             hovertemplate=t("ch.round") + " %{x}" + colon() + "%{y:.3f}"
                                           "<extra></extra>", name="metric"))
    fig.update_xaxes(title=t("ch.round"), dtick=1 if len(xs) <= 12 else None)
    if metric_key == "accuracy":
        fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return _projector(fig) if big else fig


def client_norms_figure(ids: Sequence[int], norms: Sequence[float] | None,
                        dropped: Sequence[int], rejected: Sequence[int],
                        height: int = 280, big: bool = False) -> go.Figure:
    """What the server saw of each client this round: its update's length (when updates are
    not hidden), dropped ones at zero in grey, rejected ones in red (``big``: the projector's
    type)."""
    fig = base_figure(t("live.ch.norms"), height=height, showlegend=False,
                      margin=dict(l=10, r=10, t=45, b=10))
    drop, rej = set(dropped), set(rejected)
    ys = [0.0 if (norms is None or i in drop) else norms[k] for k, i in enumerate(ids)]
    colors = ["#BDBDBD" if i in drop else "#C62828" if i in rej else "#1565C0" for i in ids]
    fig.add_trace(go.Bar(x=[str(i) for i in ids], y=ys, marker=dict(color=colors),
                         hovertemplate=t("ch.client") + " %{x}" + colon() + "%{y:.3f}"
                                       "<extra></extra>", name="norms"))
    fig.update_xaxes(title=t("ch.client"), type="category")
    fig.update_yaxes(title=t("live.ch.norm"))
    return _projector(fig) if big else fig


def reconstruction_figure(drawn, rebuilt, height: int = 230, big: bool = False) -> go.Figure:
    """A student's drawn digit beside what the server rebuilt from their update (8×8 counts,
    0 white to 16 black); ``rebuilt`` None: nothing to rebuild (the update was hidden);
    ``big``: the projector's type."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, subplot_titles=(t("live.rec.drawn"), t("live.rec.rebuilt")),
                        horizontal_spacing=0.08)
    for col, img in ((1, drawn), (2, rebuilt)):
        z = [[0] * 8 for _ in range(8)] if img is None else img
        fig.add_trace(go.Heatmap(z=z, zmin=0, zmax=16, colorscale="Greys", showscale=False,
                                 hoverinfo="skip"), row=1, col=col)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=30, b=5),
                      paper_bgcolor="white", plot_bgcolor="white")
    if big:
        fig.update_annotations(font_size=BIG["axis_title"])
        fig.update_layout(margin=dict(t=45))
    return fig


def my_data_figure(counts: Sequence[int], height: int = 220) -> go.Figure:
    """One client's training rows per label: what a student's phone shows as "your data"."""
    from fedsim_app.base.theme import label_color

    fig = base_figure(t("live.student.your_data"), height=height, showlegend=False,
                      margin=dict(l=10, r=10, t=40, b=10))
    labels = [str(i) for i in range(len(counts))]
    fig.add_trace(go.Bar(x=labels, y=[int(c) for c in counts],
                         marker=dict(color=[label_color(i) for i in range(len(counts))]),
                         hovertemplate=t("live.ch.label") + " %{x}" + colon() + "%{y}"
                                       "<extra></extra>", name="rows"))
    fig.update_xaxes(title=t("live.ch.label"), type="category")
    fig.update_yaxes(title=t("live.ch.rows"), rangemode="tozero")
    return fig

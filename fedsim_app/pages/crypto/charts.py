"""Pure chart functions of the "What the server sees" page: plain data in, a Plotly Figure out.

No Streamlit and no TensorFlow, so each chart is unit-tested on its own
(``tests/app/test_crypto_charts.py``). Same colour rules as :mod:`fedsim_app.base.charts`:
client k in ``client_color(k, n)``, the global model black, the server's side in black/grey,
statuses in ``STATUS_COLORS``. Every title and label comes from :mod:`fedsim_app.i18n`
(``crypto.ch.*`` keys).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fedsim_app.base.theme import (BASELINE_COLOR, GLOBAL_COLOR, STATUS_COLORS, client_color,
                                   themed, variant_color)
from fedsim_app.i18n import colon, t
from fedsim_app.pages.crypto.views import PROOF_CODES

#: Proof statuses → colours: the participation colours, plus a neutral blue-grey for updates
#: used without any proof (proofs off).
PROOF_COLORS = {"not_sampled": STATUS_COLORS["not_sampled"], "verified": STATUS_COLORS["trained"],
                "dropped": STATUS_COLORS["dropped"], "rejected": STATUS_COLORS["rejected"],
                "unchecked": "#A7B8C8"}
#: The simulator's plain view (what the server never gets) is drawn hatched and light.
PLAIN_COLOR = "#9E9E9E"
RING = 2 ** 32


def base_figure(title: str = "", height: int = 300, **layout) -> go.Figure:
    fig = go.Figure()
    layout.setdefault("margin", dict(l=60, r=15, t=50, b=45))
    themed(fig)
    fig.update_layout(title=title or None, height=height, **layout)
    return fig


def _coord_axis(fig: go.Figure, coords: Sequence[int], **kwargs) -> list[str]:
    """Category x axis, one slot per coordinate ('#673'); hover names the weight tensor."""
    labels = [f"#{int(c)}" for c in coords]
    fig.update_xaxes(type="category", title=t("crypto.ch.coordinate"), tickangle=-60,
                     tickfont=dict(size=10), **kwargs)
    return labels


def _layer_text(layers: Sequence[int] | None, n: int) -> list[str]:
    if layers is None:
        return [""] * n
    return [t("crypto.ch.layer", layer=layer) for layer in layers]


# ------------------------------------------------------------------ what the server sees


def plain_update_figure(coords: Sequence[int], values: Sequence[float], client: int,
                        num_clients: int, layers: Sequence[int] | None = None,
                        height: int = 300) -> go.Figure:
    """One client's plain update on a few coordinates, in the client's colour."""
    fig = base_figure(t("crypto.ch.plain_title", id=client), height=height, showlegend=False)
    x = _coord_axis(fig, coords)
    fig.add_trace(go.Bar(x=x, y=list(values), marker=dict(color=client_color(client,
                                                                              num_clients)),
                         customdata=_layer_text(layers, len(x)), name=t("crypto.ch.plain"),
                         hovertemplate="%{x} %{customdata}" + colon() + "%{y:.5f}<extra></extra>"))
    lim = float(np.max(np.abs(values))) if len(values) else 1.0
    fig.update_yaxes(title=t("crypto.ch.value"), range=[-1.1 * lim or -1, 1.1 * lim or 1],
                     zeroline=True, zerolinecolor="#444")
    return fig


def masked_figure(coords: Sequence[int], masked: Sequence[int], client: int,
                  num_clients: int, layers: Sequence[int] | None = None,
                  height: int = 300) -> go.Figure:
    """The same coordinates as the client sent them under secure aggregation: integers
    in [0, 2³²) that look like noise. The y axis spans the whole ring."""
    fig = base_figure(t("crypto.ch.masked_title", id=client), height=height, showlegend=False)
    x = _coord_axis(fig, coords)
    vals = [int(v) for v in masked]
    fig.add_trace(go.Bar(x=x, y=vals, marker=dict(color=client_color(client, num_clients),
                                                  opacity=0.8),
                         customdata=_layer_text(layers, len(x)), name=t("crypto.ch.masked"),
                         hovertemplate="%{x} %{customdata}" + colon() + "%{y:,}<extra></extra>"))
    fig.update_yaxes(title=t("crypto.ch.ring_value"), range=[0, RING],
                     tickvals=[0, RING // 4, RING // 2, 3 * RING // 4, RING],
                     ticktext=["0", "2³⁰", "2³¹", "3·2³⁰", "2³²"])
    return fig


def sum_figure(coords: Sequence[int], plain: Sequence[float], recovered: Sequence[float] | None,
               title: str, layers: Sequence[int] | None = None,
               height: int = 300) -> go.Figure:
    """The plain average (grey bars, the simulator's view) with what the server recovered
    on top (black diamonds). ``recovered=None``: nothing recovered (an aborted round)."""
    fig = base_figure(title, height=height, legend=dict(orientation="h", y=-0.45, x=0))
    x = _coord_axis(fig, coords)
    fig.add_trace(go.Bar(x=x, y=list(plain), name=t("crypto.ch.plain_sum"),
                         marker=dict(color=PLAIN_COLOR, opacity=0.6,
                                     pattern=dict(shape="/", size=6, fgcolor="#666")),
                         customdata=_layer_text(layers, len(x)),
                         hovertemplate="%{x} %{customdata}" + colon() + "%{y:.6f}<extra></extra>"))
    if recovered is not None:
        fig.add_trace(go.Scatter(x=x, y=list(recovered), mode="markers",
                                 name=t("crypto.ch.recovered"),
                                 marker=dict(color=GLOBAL_COLOR, symbol="diamond", size=9),
                                 hovertemplate="%{x}: %{y:.6f}<extra></extra>"))
    fig.update_yaxes(title=t("crypto.ch.value"), zeroline=True, zerolinecolor="#444")
    return fig


def bytes_figure(plain_shares: Sequence[float] | None, masked_shares: Sequence[float],
                 plain_entropy: float | None, masked_entropy: float,
                 height: int = 300) -> go.Figure:
    """How often each byte value occurs: the plain encoding (spikes: small numbers are mostly
    0x00 and 0xFF bytes) against the masked vector (flat: every byte equally likely)."""
    bins = len(masked_shares)
    width = 256 // bins
    x = [f"{i * width:02X}–{i * width + width - 1:02X}" for i in range(bins)]
    fig = base_figure(t("crypto.ch.bytes_title"), height=height, barmode="group",
                legend=dict(orientation="h", y=-0.45, x=0))
    if plain_shares is not None:
        fig.add_trace(go.Bar(x=x, y=list(plain_shares), name=t("crypto.ch.bytes_plain",
                                                                bits=plain_entropy or 0.0),
                             marker=dict(color=PLAIN_COLOR),
                             hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    fig.add_trace(go.Bar(x=x, y=list(masked_shares), name=t("crypto.ch.bytes_masked",
                                                             bits=masked_entropy),
                         marker=dict(color=GLOBAL_COLOR),
                         hovertemplate="%{x}: %{y:.1%}<extra></extra>"))
    fig.add_hline(y=1 / bins, line=dict(color="#D1495B", dash="dot", width=1),
                  annotation_text=t("crypto.ch.uniform"), annotation_position="top")
    fig.update_xaxes(title=t("crypto.ch.byte_value"), type="category", tickangle=-60,
                     tickfont=dict(size=9))
    fig.update_yaxes(title=t("crypto.ch.share"), tickformat=".0%", rangemode="tozero")
    return fig


# ------------------------------------------------------------------ proofs


def proof_figure(matrix: np.ndarray, rounds: Sequence[int],
                 reasons: Sequence[Sequence[str]] | None = None,
                 checks: Sequence[bool | None] | None = None) -> go.Figure:
    """Heatmap client × round: proof verified / rejected / dropped / not sampled / no proof.
    ``checks`` (one per round) adds ✓/✗ above each column for the aggregate check."""
    k, r = matrix.shape
    n = len(PROOF_CODES)
    scale = []
    for i, s in enumerate(PROOF_CODES):
        scale += [[i / n, PROOF_COLORS[s]], [(i + 1) / n, PROOF_COLORS[s]]]
    names = [t(f"crypto.status.{s}") for s in PROOF_CODES]
    text = [[names[v] + (f" ({reasons[i][j]})" if reasons and reasons[i][j] not in ("", "ok")
                         else "") for j, v in enumerate(row)] for i, row in enumerate(matrix)]
    fig = base_figure(t("crypto.ch.proofs_title"), height=max(300, 140 + 24 * k), showlegend=True,
                legend=dict(orientation="h", yanchor="top", y=-0.3, x=0),
                margin=dict(l=60, r=15, t=70, b=90))
    fig.add_trace(go.Heatmap(
        z=matrix.astype(float) + 0.5, x=list(rounds), y=[str(i) for i in range(k)], zmin=0,
        zmax=n, colorscale=scale, showscale=False, xgap=2, ygap=2, customdata=text,
        hovertemplate=t("ch.client") + " %{y}, " + t("ch.round") + " %{x}: %{customdata}"
                      "<extra></extra>", name="proofs"))
    used = {PROOF_CODES[v] for v in np.unique(matrix)} if matrix.size else set()
    for s, name in zip(PROOF_CODES, names):
        if s in used or s in ("verified", "rejected"):
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=name,
                                     marker=dict(size=12, symbol="square", color=PROOF_COLORS[s],
                                                 line=dict(color="#999", width=1))))
    if checks is not None:
        notes = [dict(x=x, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                      text="✓" if ok else "✗",
                      font=dict(size=15, color=STATUS_COLORS["trained"] if ok
                                else STATUS_COLORS["rejected"]), name=f"check:{x}")
                 for x, ok in zip(rounds, checks) if ok is not None]
        fig.update_layout(annotations=notes)
    fig.update_xaxes(title=t("ch.round"), dtick=1 if r <= 30 else None)
    fig.update_yaxes(title=t("ch.client"), autorange="reversed", type="category")
    return fig


def accuracy_figure(curve: Mapping, other: Mapping | None = None, other_name: str = "",
                    total_rounds: int | None = None) -> go.Figure:
    """Global test metric per round (black), optionally beside the same run with proofs
    switched the other way (a variant colour, dashed)."""
    key = curve["key"]
    fig = base_figure(t("crypto.ch.acc_title", metric=t(f"ch.{key}")), height=320,
                legend=dict(orientation="h", y=-0.3, x=0))
    if other is not None:
        fig.add_trace(go.Scatter(x=list(other["round"]), y=list(other["metric"]),
                                 mode="lines+markers", name=other_name,
                                 line=dict(color=variant_color(1), width=3, dash="dash"),
                                 marker=dict(size=6)))
    fig.add_trace(go.Scatter(x=list(curve["round"]), y=list(curve["metric"]),
                             mode="lines+markers", name=t("crypto.ch.this_run"),
                             line=dict(color=GLOBAL_COLOR, width=3), marker=dict(size=7)))
    if total_rounds:
        fig.update_xaxes(range=[-0.3, total_rounds + 0.3])
    fig.update_xaxes(title=t("ch.round"))
    fig.update_yaxes(title=t(f"ch.{key}"), range=[0, 1.02] if key == "accuracy" else None)
    return fig


# ------------------------------------------------------------------ cost


def cost_figure(plain: Mapping[str, float] | None, this: Mapping[str, float],
                this_name: str) -> go.Figure:
    """Time (log scale) and bytes, plain FedAvg (grey) beside this setup (black)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(t("crypto.ch.cost_time"),
                                                        t("crypto.ch.cost_bytes")),
                        horizontal_spacing=0.2)
    themed(fig)
    fig.update_layout(height=330, barmode="group",
                      legend=dict(orientation="h", y=-0.25, x=0),
                      margin=dict(l=60, r=15, t=60, b=45))
    time_keys = ("protect_ms_per_client", "server_ms")
    byte_keys = ("up_per_client", "down_per_client")
    series = [(t("crypto.cost.plain"), plain, BASELINE_COLOR), (this_name, this, GLOBAL_COLOR)]
    for name, vals, color in series:
        if vals is None:
            continue
        for col, keys, fmt in ((1, time_keys, "%{y:.3g} ms"), (2, byte_keys, "%{y:,.0f} B")):
            fig.add_trace(go.Bar(x=[t(f"crypto.cost.short.{k}") for k in keys],
                                 y=[max(vals[k], 1e-3) if col == 1 else vals[k] for k in keys],
                                 name=name, legendgroup=name, showlegend=col == 1,
                                 marker=dict(color=color),
                                 hovertemplate=name + colon() + fmt + "<extra></extra>"),
                          row=1, col=col)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=1, col=2)
    fig.update_xaxes(tickangle=0, automargin=True)  # two-line labels, never cut ("client: protec")
    return fig


# ------------------------------------------------------------------ masking toy


def toy_figure(values: Sequence[float], sent: Sequence[float]) -> go.Figure:
    """Each user's secret value (hatched, only it knows) and what it sends (solid), plus the
    sum of each: the two sums are always equal."""
    n = len(values)
    x = [t("crypto.toy.user", name=chr(ord("A") + i)) for i in range(n)] + [t("crypto.toy.sum")]
    colors = [client_color(i, n) for i in range(n)] + [GLOBAL_COLOR]
    fig = base_figure(t("crypto.toy.title"), height=320, barmode="group",
                legend=dict(orientation="h", y=-0.2, x=0))
    fig.add_trace(go.Bar(x=x, y=list(values) + [float(np.sum(values))],
                         name=t("crypto.toy.secret"),
                         marker=dict(color=colors, opacity=0.35,
                                     pattern=dict(shape="/", size=6, fgcolor="#333")),
                         texttemplate="%{y:.0f}", textposition="outside"))
    fig.add_trace(go.Bar(x=x, y=list(sent) + [float(np.sum(sent))], name=t("crypto.toy.sent"),
                         marker=dict(color=colors), texttemplate="%{y:.0f}",
                         textposition="outside"))
    fig.update_yaxes(title=t("crypto.toy.value"), zeroline=True, zerolinecolor="#444")
    return fig

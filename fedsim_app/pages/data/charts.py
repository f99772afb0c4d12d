"""The Data page's charts: client sizes, sample digits, 2-D points, natural skew (pure; plain data in, a
Plotly ``Figure`` out; see :mod:`fedsim_app.base.charts`)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go

from fedsim_app.base.charts import base_figure, client_ticks
from fedsim_app.base.theme import client_color, label_color
from fedsim_app.base.views import label_name
from fedsim_app.i18n import t


def client_sizes_figure(train_sizes: Sequence[int], val_sizes: Sequence[int]) -> go.Figure:
    """Bar per client in its colour: solid = local training rows, hatched = local validation."""
    k = len(train_sizes)
    colors = [client_color(i, k) for i in range(k)]
    # No legend: its swatch would show client 0's colour; the caption explains solid/hatched.
    fig = base_figure(t("data.sizes_title"), height=360, barmode="stack", showlegend=False)
    fig.add_trace(go.Bar(x=list(range(k)), y=list(train_sizes), name=t("ch.train"),
                         marker=dict(color=colors)))
    fig.add_trace(go.Bar(x=list(range(k)), y=list(val_sizes), name=t("ch.val"),
                         marker=dict(color=colors, opacity=0.45,
                                     pattern=dict(shape="/", fgcolor="#333", size=6))))
    fig.update_xaxes(title=t("ch.client"), tickmode="array", tickvals=list(range(k)),
                     ticktext=client_ticks(k), showticklabels=k <= 40)
    fig.update_yaxes(title=t("ch.count"))
    return fig


def digits_figure(samples: Sequence[np.ndarray], sample_labels: Sequence[np.ndarray],
                  client_ids: Sequence[int], num_clients: int) -> go.Figure:
    """A strip of images per client, as one greyscale heatmap (fast to draw and send), or one
    RGB image for colour images.

    ``samples[i]`` holds client ``client_ids[i]``'s images ``[m, h, w]`` or ``[m, h, w, 3]``
    (raw pixel values, 0–255 in colour); each image gets its label written above it.
    """
    rows = len(client_ids)
    m = max((len(s) for s in samples), default=0)
    h, w, *rgb = samples[0].shape[1:] if rows and len(samples[0]) else (8, 8)
    pad = 2
    if rgb:  # colour images (CIFAR-10): white gaps, drawn as an RGB image
        canvas = np.full((rows * (h + pad + 3), m * (w + pad), 3), 255.0)
    else:
        canvas = np.full((rows * (h + pad + 3), m * (w + pad)), np.nan)
    # 90 px a client: an 8×8 digit ~55 px on a side, filling the Data page's chart column at
    # 1280 px (70 px left them small and squeezed together; more only adds white space).
    fig = base_figure(t("data.digits_title"), height=90 + 90 * rows, showlegend=False,
                margin=dict(l=80, r=10, t=50, b=10))
    notes = []
    for i, (imgs, labs) in enumerate(zip(samples, sample_labels)):
        top = i * (h + pad + 3) + 3
        for j, img in enumerate(imgs):
            canvas[top:top + h, j * (w + pad):j * (w + pad) + w] = img
            notes.append(dict(x=j * (w + pad) + w / 2 - 0.5, y=top - 1.6, text=str(labs[j]),
                              showarrow=False, font=dict(size=12, color="#444")))
    fig.update_layout(annotations=notes)
    if rgb:
        fig.add_trace(go.Image(z=np.clip(np.rint(canvas), 0, 255).astype(np.uint8),
                               hoverinfo="skip", name="images"))
    else:
        fig.add_trace(go.Heatmap(z=canvas, colorscale="Greys", showscale=False,
                                 hoverinfo="skip", name="digits"))
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
    fig = base_figure(title if title is not None else t("data.points_title"), height=420,
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


def skew_figure(label_counts: np.ndarray, label_names: Sequence[str], order: Sequence[int],
                distances: Sequence[float]) -> go.Figure:
    """Natural skew: one bar per client in ``order`` (largest first), its label mix stacked
    as shares, and each client's Hellinger distance to the pooled mix as a dot (right axis).

    ``label_counts`` ``[K, C]``; ``order`` the clients to draw; ``distances`` ``[K]``."""
    from fedsim.data.skew import label_mix

    order = list(order)
    counts = np.asarray(label_counts)[order]
    mix = label_mix(counts)
    x = list(range(len(order)))
    rows = counts.sum(axis=1)
    fig = base_figure(t("ds.skew.title"), height=380, barmode="stack", showlegend=False,
                      yaxis2=dict(overlaying="y", side="right", range=[0, 1.05],
                                  title=t("ds.skew.hellinger"), showgrid=False))
    names = [label_name(n) for n in label_names]
    hover = [t("ds.skew.hover", client=c, rows=int(r)) for c, r in zip(order, rows)]
    for c in range(mix.shape[1]):
        if not counts[:, c].any():
            continue
        fig.add_trace(go.Bar(x=x, y=mix[:, c].tolist(), name=names[c], customdata=hover,
                             marker=dict(color=label_color(c), line=dict(width=0)),
                             hovertemplate="%{customdata}: %{y:.0%} × " + names[c]
                                           + "<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=[float(distances[k]) for k in order], yaxis="y2",
                             mode="markers", name=t("ds.skew.hellinger"),
                             marker=dict(color="#111", size=6), customdata=hover,
                             hovertemplate="%{customdata}: %{y:.2f}<extra></extra>"))
    fig.update_xaxes(title=t("ds.skew.xaxis"), tickmode="array", tickvals=x,
                     ticktext=[str(k) for k in order], showticklabels=len(order) <= 40)
    fig.update_layout(yaxis=dict(title=t("ds.skew.yaxis"), range=[0, 1]))
    return fig

"""Pure Plotly figures for the Attacks & defences page (data in, figure out; no Streamlit)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fedsim_app.base.theme import GLOBAL_COLOR, themed
from fedsim_app.i18n import t

ATTACK_COLOR = "#B80C09"


def curves_figure(rounds: Sequence[int], acc: Sequence[float], asr: Sequence[float | None],
                  attacked: Sequence[bool]) -> go.Figure:
    """Clean accuracy and attack success per round; rounds with an active attacker marked."""
    fig = go.Figure()
    fig.add_scatter(x=list(rounds), y=list(acc), name=t("atk.ch.acc"), mode="lines+markers",
                    line=dict(color=GLOBAL_COLOR))
    if any(v is not None for v in asr):
        fig.add_scatter(x=list(rounds), y=[np.nan if v is None else v for v in asr],
                        name=t("atk.ch.asr"), mode="lines+markers",
                        line=dict(color=ATTACK_COLOR))
    hit = [r for r, a in zip(rounds, attacked) if a]
    if hit:
        fig.add_scatter(x=hit, y=[1.04] * len(hit), mode="markers", name=t("atk.ch.attack"),
                        marker=dict(symbol="x", color=ATTACK_COLOR, size=9))
    themed(fig)
    fig.update_layout(height=320, margin=dict(t=20, b=40),
                      xaxis_title=t("atk.ch.round"), yaxis=dict(title=t("atk.ch.share"),
                                                                range=[0, 1.08]))
    return fig


def matrix_figure(attacks: Sequence[str], defences: Sequence[str], acc: np.ndarray,
                  asr: np.ndarray) -> go.Figure:
    """Attack × defence: two heat maps, final clean accuracy and attack success (NaN = none)."""
    fig = make_subplots(1, 2, subplot_titles=(t("atk.ch.acc"), t("atk.ch.asr")),
                        horizontal_spacing=0.12)
    for col, (z, scale) in enumerate(((acc, "Greens"), (asr, "Reds")), start=1):
        text = [["–" if np.isnan(v) else f"{v:.2f}" for v in row] for row in z]
        fig.add_heatmap(z=z, x=list(defences), y=list(attacks), colorscale=scale, zmin=0, zmax=1,
                        text=text, texttemplate="%{text}", showscale=False, row=1, col=col)
    themed(fig)
    fig.update_layout(height=300, margin=dict(t=40, b=40))
    return fig


def digits_figure(true_px: np.ndarray, recon_px: np.ndarray, shape=(8, 8)) -> go.Figure:
    """The client's digit beside the server's reconstruction (first example), in pixels."""
    fig = make_subplots(1, 2, subplot_titles=(t("atk.true"), t("atk.recon")))
    for col, img in enumerate((true_px, recon_px), start=1):
        fig.add_heatmap(z=np.asarray(img, float).reshape(shape)[::-1], colorscale="Greys",
                        zmin=0, zmax=16, showscale=False, row=1, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    themed(fig)
    fig.update_layout(height=260, margin=dict(t=30, b=10))
    return fig


def quality_curve(eps: Sequence[float], psnr: Sequence[float], guess: float) -> go.Figure:
    """Reconstruction PSNR against ε (log axis), with the mean-digit guess as a line."""
    fig = go.Figure()
    fig.add_scatter(x=list(eps), y=list(psnr), mode="lines+markers", name=t("atk.ch.psnr"),
                    line=dict(color=ATTACK_COLOR))
    fig.add_hline(y=guess, line_dash="dash", annotation_text=t("atk.ch.guess"))
    themed(fig)
    fig.update_layout(height=300, margin=dict(t=20, b=40),
                      xaxis=dict(title=t("atk.ch.eps"), type="log"),
                      yaxis_title=t("atk.ch.psnr"))
    return fig

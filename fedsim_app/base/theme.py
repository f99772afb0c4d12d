"""One look for every chart: the Plotly template and the fixed colour meanings.

Colour rules (the same on every page, so students learn them once):

- **Client k** always has ``client_color(k, n)``: a 24-colour qualitative palette of strong
  colours (no greys, no black), and beyond 24 clients a continuous scale.
- **The global model** is black.
- **Baselines** (centralized, local-only) are dashed grey.
- **Labels/classes** use a pastel palette, so a stacked label bar is never mistaken for a
  client.
"""

from __future__ import annotations

import copy
import json
import sys

import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import sample_colorscale

# Strong colours first (D3 without its grey), then Category20b's darker tones: every one reads
# on a white background and on a projector.
CLIENT_PALETTE = (
    "#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#BCBD22",
    "#17BECF", "#393B79", "#637939", "#8C6D31", "#843C39", "#7B4173", "#5254A3", "#8CA252",
    "#BD9E39", "#AD494A", "#A55194", "#6B6ECF", "#B5CF6B", "#E7BA52", "#D6616B", "#CE6DBD",
)
#: Used for every client when there are more clients than palette colours.
CLIENT_SCALE = "Turbo"
GLOBAL_COLOR = "#000000"
BASELINE_COLOR = "#8C8C8C"
BASELINE_DASH = {"centralized": "dash", "local_only": "dot"}
#: Pastel label colours (Plotly's "Pastel"), distinct in tone from the strong client colours.
LABEL_PALETTE = (
    "#66C5CC", "#F6CF71", "#F89C74", "#DCB0F2", "#87C55F", "#9EB9F3", "#FE88B1", "#C9DB74",
    "#8BE0A4", "#B497E7", "#D3B484", "#B3B3B3",
)
#: Participation statuses: neutral for "not sampled", green/orange/red for what happened.
STATUS_COLORS = {"not_sampled": "#EDEDED", "trained": "#4C9F70", "dropped": "#F2A541",
                 "rejected": "#D1495B"}
#: Variants on the Compare page (not clients): a separate, short qualitative palette.
VARIANT_PALETTE = ("#0B6E4F", "#C84C09", "#5941A9", "#B80C09", "#1B998B", "#E2A0FF")

TEMPLATE_NAME = "fedsim"


def client_color(k: int, n: int) -> str:
    """Colour of client ``k`` out of ``n``: palette entry, or a scale position when n > 24."""
    if n <= len(CLIENT_PALETTE):
        return CLIENT_PALETTE[k % len(CLIENT_PALETTE)]
    return sample_colorscale(CLIENT_SCALE, [k / max(n - 1, 1)])[0]


def label_color(c: int) -> str:
    return LABEL_PALETTE[c % len(LABEL_PALETTE)]


def variant_color(i: int) -> str:
    return VARIANT_PALETTE[i % len(VARIANT_PALETTE)]


def _make_template() -> go.layout.Template:
    # plotly_white's layout (clean grid), with larger fonts for a projector. Layout only: its
    # per-trace-type defaults would double the cost of every figure and its JSON.
    tpl = go.layout.Template(layout=pio.templates["plotly_white"].layout)
    tpl.layout.update(
        font=dict(family="Source Sans Pro, Helvetica, Arial, sans-serif", size=14,
                  color="#222"),
        title=dict(font=dict(size=17), x=0.0, xanchor="left"),
        colorway=list(CLIENT_PALETTE),
        margin=dict(l=55, r=20, t=50, b=45),
        legend=dict(font=dict(size=12)),
        hoverlabel=dict(font_size=13),
    )
    return tpl


pio.templates[TEMPLATE_NAME] = _make_template()

#: The presenter view's template (``?present=1``, :mod:`fedsim_app.base.classroom`): the same
#: look in type a projector's back row can read; axes grow their margins to fit the larger
#: labels.
PRESENT_TEMPLATE_NAME = "fedsim_present"


def _make_present_template() -> go.layout.Template:
    tpl = _make_template()
    tpl.layout.update(font=dict(size=20), title=dict(font=dict(size=24)),
                      legend=dict(font=dict(size=18)), hoverlabel=dict(font_size=18),
                      xaxis=dict(automargin=True, title=dict(standoff=8)),
                      yaxis=dict(automargin=True, title=dict(standoff=8)))
    return tpl


pio.templates[PRESENT_TEMPLATE_NAME] = _make_present_template()


#: Session-state key of the presenter view (set by :mod:`fedsim_app.base.classroom`).
PRESENTING_KEY = "classroom_present"


def template_name() -> str:
    """The template for the session drawing now: the presenter one in its presenter view.
    Per session, never per process; outside a Streamlit run (tests, benches, notebooks): the
    normal one. Streamlit not imported at all means no run can be active: ask nothing (a
    notebook drawing the app's figures never loads Streamlit)."""
    if "streamlit" not in sys.modules:
        return TEMPLATE_NAME
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx(suppress_warning=True)
        ss = ctx.session_state if ctx is not None else {}
        on = PRESENTING_KEY in ss and bool(ss[PRESENTING_KEY])
    except Exception:  # noqa: BLE001 - no Streamlit run: the normal template
        on = False
    return PRESENT_TEMPLATE_NAME if on else TEMPLATE_NAME


# Every figure gets its template from :func:`themed`; none should fall back to Plotly's own
# "plotly" template, which each figure would otherwise copy and validate when serialized.
pio.templates.default = None
#: Each template once as its validated JSON (plain dicts), for :func:`themed`.
_TEMPLATE_JSON = {name: json.loads(pio.to_json(pio.templates[name], validate=False))
                  for name in (TEMPLATE_NAME, PRESENT_TEMPLATE_NAME)}


def themed(fig: go.Figure) -> go.Figure:
    """``fig`` with this session's template (:func:`template_name`), set as already-validated
    JSON.

    Why: ``fig.update_layout(template=...)`` makes Plotly rebuild and re-validate the whole
    template (a deep copy of every property) in every figure: 3.7 of the ~10 ms a Training
    chart took to build, ~80 % of the server's CPU per "Next round" across its three charts
    (30 students clicking at once wait on it in turn). The template is the same JSON every
    time, so it goes into the figure's layout as that JSON; ``tests/app/test_ui_charts.py``
    checks the result is identical to Plotly's own, so a Plotly upgrade that changes this
    fails a test rather than a chart. Call it on a fresh figure, before anything reads
    ``fig.layout.template``.
    """
    fig._layout["template"] = copy.deepcopy(_TEMPLATE_JSON[template_name()])
    return fig


#: Plotly options for st.plotly_chart: no logo, keep the toolbar small.
PLOTLY_CONFIG = {"displaylogo": False,
                 "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}


def type_scale() -> float:
    """How much larger hand-sized chart text (the cycle's boxes) is drawn for this session."""
    return 1.35 if template_name() == PRESENT_TEMPLATE_NAME else 1.0

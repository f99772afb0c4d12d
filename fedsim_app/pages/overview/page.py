"""Overview: what federated learning is, the round cycle, and one-click scenarios (presets)."""

from __future__ import annotations

import streamlit as st

from fedsim.presets import PRESETS

from fedsim_app.base import state
from fedsim_app.base.charts import cycle_figure
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t


def render() -> None:
    st.title(t("ov.title"))
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown(t("ov.intro"))
        st.subheader(t("ov.steps_title"))
        st.markdown(t("ov.steps"))
    with right:
        st.subheader(t("ov.cycle_title"))
        st.plotly_chart(cycle_figure(), theme=None, config=PLOTLY_CONFIG, key="ov_cycle")
        st.caption(t("ov.cycle_caption"))
        st.subheader(t("ov.watch_title"))
        st.markdown(t("ov.watch"))

    st.subheader(t("ov.presets_title"))
    st.caption(t("ov.presets_caption"))
    current = state.scenario_name(state.config())
    cols = st.columns(3)
    for i, (name, preset) in enumerate(PRESETS.items()):
        with cols[i % 3].container(border=True):
            badge = f" · :green-badge[{t('ov.current')}]" if name == current else ""
            st.markdown(f"**{t(f'preset.{name}.title')}**{badge}")
            st.caption(t(f"preset.{name}.blurb"))
            st.button(t("ov.load"), key=f"preset_{name}", help=t("ov.load.help"),
                      on_click=state.load_preset, args=(name,))

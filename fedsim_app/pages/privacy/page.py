"""Privacy: differential privacy you can see (clip, noise, ε, and what they cost).

The controls are bound to the configuration (so they live in the URL and reset the run when
changed). The page steps the *same* per-user simulation as the Training page
(``fedsim_app.base.state.get_sim``) and shows only the engine's numbers; the sections are in
:mod:`fedsim_app.pages.privacy.sections`.
"""

from __future__ import annotations

import streamlit as st

from fedsim_app.base import classroom, state
from fedsim_app.i18n import t
from fedsim_app.pages.privacy import sections


def render() -> None:
    st.title(t("priv.title"))
    st.caption(t("priv.intro"))
    cfg = state.config()
    dp = cfg.privacy.dp

    if classroom.hidden("privacy"):  # a classroom link fixed the DP settings: full width
        classroom.fixed_note()
        z_note, right = None, st.container()
    else:
        left, right = st.columns([1, 2.3], gap="large")
        with left:
            z_note = sections.controls(cfg)

    with right:
        st.markdown(t(f"priv.mode_note.{dp.mode}"))
        if not dp.enabled:
            st.markdown(t("priv.eps_meaning", unit=t(f"priv.unit.{dp.mode}")))
            st.info(t("priv.off_info"))
            st.stop()
        with st.spinner(t("tr.building")):
            sim = state.get_sim()
        if sim is None:
            st.stop()  # get_sim showed the error; the controls on the left stay usable
        sections.epsilon_panel(sim, cfg, z_note)

    sections.clipping_and_noise(sim, cfg)
    sections.costs(sim, cfg)

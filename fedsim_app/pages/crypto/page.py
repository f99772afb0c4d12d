"""What the server sees: secure aggregation, homomorphic encryption and zero-knowledge proofs,
running for real on the same per-user simulation as the Training page.

Layout, top to bottom: settings (bound to the configuration, so they survive page switches and
go into the share link) with a plain explanation of each mechanism and a small masking toy;
the stepper; for the last finished round, one client's plain update beside what it actually
sent and the sum the server recovered; the proof checks per client and round with the
accuracy curve (optionally beside the same run with proofs switched); and the cost against
plain FedAvg. The sections live in :mod:`fedsim_app.pages.crypto.sections`; every number comes
from the engine.
"""

from __future__ import annotations

import streamlit as st

from fedsim_app.base import state
from fedsim_app.base.stepper import stepper
from fedsim_app.i18n import t
from fedsim_app.pages.crypto import sections


def render() -> None:
    st.title(t("crypto.title"))
    st.caption(t("crypto.intro"))

    cfg = state.config()
    with st.spinner(t("crypto.building")):
        sim = state.get_sim()
    sections.settings(cfg, sim)

    if sim is None:
        st.info(t("crypto.no_sim"))
    else:
        stepper(sim, "crypto")
        if not sim.history or sim.last is None:
            st.info(t("crypto.no_rounds"))
        else:
            sections.server_view(sim, sim.history[-1])
            if cfg.privacy.zkp.enabled or cfg.clients.malicious.ids:
                sections.proofs(sim, sim.history[-1])
            sections.costs(sim)

"""One stepper control for every page that steps the user's run: Reset, Next phase, Next
round, and (per page) Play/Pause or Run to the end; the round counter; what happens next."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from fedsim_app.base import state, views
from fedsim_app.i18n import t


def stepper(sim, prefix: str, *, phase: bool = True,
            to_end: Callable[[], None] | None = None, compact: bool = False) -> None:
    """Draw the control for ``sim`` with widget keys ``{prefix}_...``. All actions are
    ``on_click`` callbacks (:mod:`fedsim_app.base.state`, or ``to_end``), so a click is never lost
    to a rerun. ``compact`` (a narrow column): the counter goes above the buttons, so their
    labels keep their full width."""
    cfg = sim.config
    st.divider()
    n_buttons = 2 + (phase or to_end is not None)
    if compact:
        _counter(sim)
        b = st.columns(n_buttons, vertical_alignment="center")
    else:
        b = st.columns([1] * n_buttons + [3], vertical_alignment="center")
    b[0].button(t("step.reset"), key=f"{prefix}_reset", icon=":material/skip_previous:",
                help=t("step.reset.help"), on_click=state.reset_run, width="stretch")
    i = 1
    if phase:
        b[i].button(t("step.phase"), key=f"{prefix}_next_phase", icon=":material/step:",
                    help=t("step.phase.help"), on_click=state.step_phase, disabled=sim.done,
                    width="stretch")
        i += 1
    b[i].button(t("step.round"), key=f"{prefix}_next_round", icon=":material/skip_next:",
                help=t("step.round.help"), on_click=state.step_round, disabled=sim.done,
                type="primary", width="stretch")
    i += 1
    if to_end is not None and not phase:
        b[i].button(t("step.to_end"), key=f"{prefix}_to_end", icon=":material/fast_forward:",
                    help=t("step.to_end.help"), on_click=to_end, disabled=sim.done,
                    width="stretch")
    if not compact:
        with b[-1]:
            _counter(sim)
    if sim.in_round:
        nxt = sim.next_phase
        what, sees = views.phase_texts(nxt, cfg)
        st.info(t("step.in_round", round=sim.round + 1, phase=t(f"phase.{nxt}")) + "  \n"
                + t("step.now", phase=t(f"phase.{nxt}"), what=what, sees=sees))
    elif sim.done:
        st.success(t("step.finished", total=cfg.rounds))


def _counter(sim) -> None:
    st.html(f"<p class='fedsim-counter' data-testid='fedsim-round'>"
            f"{views.round_counter(sim.round, sim.config.rounds)}</p>")
    st.caption(t("step.counter.help"))

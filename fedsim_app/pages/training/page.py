"""Training: step through rounds phase by phase; the page projected in class.

Everything that changes per round, *and the buttons that change it*, live in one
``st.fragment``. A click on Reset / Next phase / Next round reruns only that fragment (not the
sidebar or the settings), and every element in it keeps its key and its place, so Plotly
updates each chart in place instead of drawing it again (charts never blank, even during
Play). Messages go into fixed slots, so a warning that appears does not shift the charts.

Play: the fragment reruns on its own (``run_every``) and runs exactly one round per tick. The
Play/Pause button is a callback inside the fragment, so a Pause is applied before the next
tick looks at the state: no round starts after the click is received (the one already running
finishes). A change of Play/Pause or speed re-arms the timer with one full rerun: every full
run of the page (:func:`render`) makes :func:`live` a fragment with that moment's interval.
"""

from __future__ import annotations

import streamlit as st

from fedsim_app.base import classroom, state
from fedsim_app.i18n import t
from fedsim_app.pages.training import sections


def render() -> None:
    # No page title: the round counter is the headline, and the charts should fit a projector.
    if classroom.hidden("training"):
        classroom.fixed_note()
    else:
        sections.settings(state.config())

    with st.spinner(t("tr.building")):
        # Not kept where the fragment could hold it: Streamlit keeps ``live`` and its arguments
        # for the session's life, and the last closed session in its message loop.
        built = state.get_sim() is not None
    if not built:
        st.stop()  # get_sim already showed the error; the controls above stay usable

    armed = _interval()  # what this full run arms the fragment's timer with
    st.fragment(live, run_every=armed)(armed)


def _interval() -> float | None:
    """Seconds between Play ticks for the current state (None: not playing)."""
    ss = st.session_state
    return sections.SPEEDS[ss.get("speed") or "normal"] if ss.get(state.PLAYING) else None


def live(armed: float | None) -> None:
    """Controls, counter, cycle, metrics and charts: everything that changes per round.

    Runs as a fragment whose timer ticks every ``armed`` seconds (None: no timer)."""
    ss = st.session_state
    if _interval() != armed:
        st.rerun()  # Play, Pause or the speed changed: re-arm the timer (no round runs here)
    if state.play_tick():
        st.rerun()  # playing stopped: a full rerun turns Pause back into Play, refreshes sidebar
    sim = state.get_sim()
    if sim is None:
        return
    if ss.get(state.RESULTS_PENDING) and not armed:
        st.rerun()  # the sidebar was drawn before this page built the run: add its download
    sections.controls(sim)
    with st.container(key="tr_notices"):
        sections.notices(sim)
    sections.header(sim)
    left, right = st.columns([5, 7], gap="medium")  # counter + cycle beside the charts
    with left:
        sections.cycle(sim)
    with right:
        sections.tabs(sim)

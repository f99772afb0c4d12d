"""Training: step through rounds phase by phase; the page projected in class.

Everything that changes per round, *and the buttons that change it*, live in one
``st.fragment``. A click on Reset / Next phase / Next round reruns only that fragment (not the
sidebar or the settings), and every element in it keeps its key and its place, so Plotly
updates each chart in place instead of drawing it again (charts never blank, even during
Play). Messages go into fixed slots, so a warning that appears does not shift the charts.

Play (issue #23: Pause obeys at every speed, on a busy machine too). The controls live in the
outer fragment :func:`live`; what changes per round lives in :func:`board`. While playing,
:func:`board` is a *nested* fragment with ``run_every`` (the speed), and each tick runs exactly
one round and redraws the board; otherwise it is drawn inline, in a container at the same
place (the same element tree: the charts are updated in place). Play, Pause and a speed change
are clicks in the outer fragment: its rerun arms the nested timer, re-arms it with the new
interval, or stops it (a nested fragment that is not drawn again is dropped, and Streamlit
tells the browser to cancel its timer) -- no full-app rerun. Why that matters:

- **Pause is applied before the next round starts.** A click's callback (:func:`state.pause`)
  runs at the start of the run the click asked for, before any fragment body; a click that
  arrives while a tick is running is queued and merged with the ticks queued behind it, so
  the next tick sees the pause. Each tick also checks the *play generation* it was armed
  with (Play and Pause each start a new one), so a tick armed before a Pause never steps,
  even when Play is pressed again before the old timer's last request arrives.
- **No chart blanks.** The old design re-armed the timer with a full-app rerun. When a tick
  that was already on its way ran right after that full run, Streamlit dropped the full run's
  last, not yet sent, chart deltas (they belonged to the fragment about to rerun) but kept
  its "finished" message, and the browser removed the charts it had not received until the
  tick drew them again (measured in Chromium under CPU load: the loss chart gone for
  ~150 ms). Now the board's elements in a non-playing run belong to the outer fragment, and a
  late tick belongs to the nested one, which has been dropped: nothing of the board is lost.
  A run that ends playing by itself (the last round, an error) still reruns the whole app
  (the sidebar's download appears) -- with the board drawn inline, so no late tick touches it.
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

    st.fragment(live)()


def _interval() -> float | None:
    """Seconds between Play ticks for the current state (None: not playing)."""
    ss = st.session_state
    speed = ss.get("speed") or "normal"
    return sections.tick_seconds(speed) if ss.get(state.PLAYING) else None


def live() -> None:
    """The controls, then the board: the outer fragment (a click here reruns it)."""
    ss = st.session_state
    sim = state.get_sim()
    if sim is None:
        return
    interval = _interval()
    if ss.get(state.RESULTS_PENDING) and interval is None:
        state.keep_flash()  # the rerun must show this run's messages again
        st.rerun()  # the sidebar was drawn before this page built the run: add its download
    sections.controls(sim)
    if interval is None:
        with st.container():  # where the nested fragment's own container goes while playing
            board(None)
    else:
        st.fragment(board, run_every=interval)(state.play_generation())


def board(generation: int | None) -> None:
    """Notices, counter, cycle, metrics and charts: everything that changes per round.

    ``generation``: the play generation this board's timer was armed with (None: drawn inline,
    not playing); a tick of that generation runs one round first."""
    by_phase = sections.BY_PHASE.get(st.session_state.get("speed") or "normal", False)
    if generation is not None and state.play_tick(generation, by_phase):
        st.rerun()  # playing stopped by itself: Pause back to Play, the sidebar refreshed
    sim = state.get_sim()
    if sim is None:
        return
    with st.container(key="tr_notices"):
        sections.notices(sim)
    sections.header(sim)
    left, right = st.columns([5, 7], gap="medium")  # counter + cycle beside the charts
    with left:
        sections.cycle(sim)
    with right:
        sections.tabs(sim)

"""Live class: the teacher's projector and the students' phones (issue #24).

One page, three faces: without a class, how to start one (the teacher) or join one (a code);
with the teacher's token, the projector (:mod:`.teacher`); otherwise a student's phone
(:mod:`.student`). Everything a class holds lives in the server's
:class:`~fedsim_app.base.live.registry.LiveClasses`; this session keeps only its own part
(:mod:`fedsim_app.base.live_session`).
"""

from __future__ import annotations

import os

import streamlit as st

from fedsim_app.base import live_session as ls
from fedsim_app.base.live.model import (DEFAULT_IDLE_S, DEFAULT_MAX_STUDENTS, IDLE_MAX_S,
                                        IDLE_MIN_S, MAX_STUDENTS_CAP, LiveError, normalize_code)
from fedsim_app.i18n import t
from fedsim_app.pages.live import student, teacher

#: Who may start a class: the computer the server runs on (its browser reaches the app through
#: localhost), or anyone when the teacher sets this environment variable to 1 (a teacher on
#: another machine of the same network).
ANYONE_ENV = "FEDSIM_LIVE_ANYONE_STARTS"


def can_start() -> bool:
    """Streamlit reports no address (None) for a browser on the server's own computer."""
    return not isinstance(st.context.ip_address, str) or os.environ.get(ANYONE_ENV) == "1"


def render() -> None:
    _style()
    _flash()
    cls, token, err = ls.current()
    if err is not None:
        st.error(ls.message(err))
    if cls is None:
        if st.query_params.get("start") == "1" and can_start() and err is None:
            st.query_params.pop("start", None)
            try:
                cls = ls.start(DEFAULT_IDLE_S / 60, DEFAULT_MAX_STUDENTS)
                token = st.session_state[ls.TOKEN]
            except LiveError as exc:
                st.error(ls.message(exc))
        if cls is None:
            _lobby()
            return
    if token is not None:
        with st.container(key="live_projector"):  # projector type sizes (24 px and more)
            teacher.render(cls, token)
    else:
        student.render(cls)


def _flash() -> None:
    ss = st.session_state
    msg = ss.pop("live_flash", None)
    if msg:
        st.warning(msg)
    ok = ss.pop("live_flash_ok", None)
    if ok:
        st.success(ok)


def _style() -> None:
    st.html("""<style>
.fedsim-live-code {font-size: 4rem; font-weight: 800; letter-spacing: .12em; margin: 0;
                   font-variant-numeric: tabular-nums; line-height: 1.1;}
.st-key-live_qr img {width: min(520px, 48vh) !important; max-width: 100%; height: auto !important;}
.st-key-live_qr [data-testid=stImageContainer], .st-key-live_qr [data-testid=stImage] {width: auto !important; max-width: 100%;}
.fedsim-live-names {font-size: 1.1rem; line-height: 1.5; overflow-wrap: anywhere;}
.fedsim-live-code-small {font-size: 2.2rem; font-weight: 800; letter-spacing: .1em; margin: 0;}
.fedsim-live-hello {font-size: 1.1rem; font-weight: 600; margin: 0;}
.st-key-live_projector [data-testid=stMarkdownContainer] p,
.st-key-live_projector [data-testid=stWidgetLabel] p,
.st-key-live_projector [data-testid=stCaptionContainer] p,
.st-key-live_projector button p {font-size: 24px; line-height: 1.35;}
.st-key-live_projector [data-testid=stMetricValue] [data-testid=stMarkdownContainer] p,
.st-key-live_projector [data-testid=stMetricValue] {font-size: 56px; line-height: 1.1;}
.st-key-live_projector .fedsim-live-names {font-size: 28px;}
.st-key-live_projector [data-testid=stSelectbox] input {font-size: 24px;}
.st-key-live_projector [data-testid=stSelectbox] [role=group] {min-height: 3.25rem;}
.st-key-live_projector [data-testid=stCode] pre,
.st-key-live_projector [data-testid=stCode] code {font-size: 22px; line-height: 1.4;}
body:has(.st-key-live_projector) [role=listbox] [role=option] {font-size: 22px;}
/* Streamlit's fixed header (3.75rem) would cover the page's first line: a phone's language
   switch, the projector's class code. */
[data-testid=stMain] [data-testid=stMainBlockContainer] {padding-top: 4.5rem;}
</style>""")


def _lobby() -> None:
    st.title(t("live.title"))
    st.markdown(t("live.intro"))
    st.caption(t("live.running", n=len(ls.classes())))
    join, start = st.columns(2, gap="large")
    with join.container(border=True):
        st.subheader(t("live.join_title"))
        with st.form("live_code_form", border=False):
            st.text_input(t("live.code"), max_chars=12, key="live_code_in",
                          placeholder="ABC 234", help=t("live.code.help"))
            if st.form_submit_button(t("live.go"), type="primary"):
                code = normalize_code(st.session_state.get("live_code_in"))
                if not code:
                    st.error(t("live.err.bad_code"))
                else:
                    st.query_params["class"] = code
                    st.rerun()
    with start.container(border=True):
        st.subheader(t("live.start_title"))
        if not can_start():
            st.caption(t("live.start_local_only"))
            return
        idle = st.number_input(t("live.idle"), IDLE_MIN_S // 60, IDLE_MAX_S // 60,
                               DEFAULT_IDLE_S // 60, key="live_idle_new",
                               help=t("live.idle.help"))
        size = st.number_input(t("live.max_students"), 1, MAX_STUDENTS_CAP,
                               DEFAULT_MAX_STUDENTS, key="live_max_new",
                               help=t("live.max_students.help"))
        if st.button(t("live.start"), type="primary", key="live_start",
                     icon=":material/co_present:", help=t("live.start.help")):
            try:
                ls.start(idle, size)
                st.rerun()
            except LiveError as exc:
                st.error(ls.message(exc))
        st.caption(t("live.start_hint"))

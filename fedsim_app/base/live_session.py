"""A session's place in a live class: the Streamlit side of :mod:`fedsim_app.base.live`.

The server's :class:`~fedsim_app.base.live.registry.LiveClasses` is created once per process in
Streamlit's resource cache (with its janitor thread) -- an explicit object, not a module
global. A session keeps only its own part: the class code, and either the teacher token (the
teacher's link carries it: ``live?class=CODE&teacher=TOKEN``) or its own student id (never in
a URL). The students' link and QR code carry the code alone (``live?class=CODE``).
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

import streamlit as st

from fedsim_app import i18n
from fedsim_app.base.live.model import LiveClass, LiveError, normalize_code
from fedsim_app.base.live.registry import LiveClasses
from fedsim_app.i18n import t

CODE, TOKEN, SID = "live_code", "live_token", "live_sid"  # session keys
CLASS_PARAM, TEACHER_PARAM = "class", "teacher"  # URL parameters (params.RESERVED)


@st.cache_resource(show_spinner=False)
def classes() -> LiveClasses:
    """The server's live classes (one per process), with its janitor running."""
    reg = LiveClasses()
    reg.start_janitor()
    return reg


def now() -> float:
    return classes().clock()


def message(exc: LiveError) -> str:
    """One line in this session's language."""
    fields = {k: str(v) for k, v in exc.fields.items()}
    if "what" in fields:
        fields["what"] = t(f"live.what.{fields['what']}")
    return t(f"live.err.{exc.code}", **fields)


def start(idle_min: float, max_students: int) -> LiveClass:
    """Start a class with this session as its teacher (the token goes into this session and
    its URL only)."""
    cls, token = classes().start(idle_s=float(idle_min) * 60, max_students=int(max_students))
    ss = st.session_state
    ss[CODE], ss[TOKEN] = cls.code, token
    ss.pop(SID, None)
    st.query_params[CLASS_PARAM] = cls.code
    st.query_params[TEACHER_PARAM] = token
    return cls


def current() -> tuple[LiveClass | None, str | None, LiveError | None]:
    """(the class this session is in or asked for by its URL, the teacher token if this session
    is the teacher, the error if the code or token is refused)."""
    ss = st.session_state
    q = st.query_params
    code = normalize_code(q.get(CLASS_PARAM)) or ss.get(CODE)
    if not code:
        return None, None, (LiveError("no_class", code=str(q.get(CLASS_PARAM))[:12])
                            if q.get(CLASS_PARAM) else None)
    try:
        cls = classes().get(code)
    except LiveError as exc:
        forget()
        return None, None, exc
    if ss.get(CODE) != cls.code:  # another class than before: nothing of the old one is kept
        ss.pop(SID, None)
        ss.pop(TOKEN, None)
        ss[CODE] = cls.code
    token = q.get(TEACHER_PARAM) or ss.get(TOKEN)
    if token is not None:
        if cls.is_teacher(token):
            ss[TOKEN] = token
            return cls, token, None
        ss.pop(TOKEN, None)
        return cls, None, LiveError("not_teacher")
    return cls, None, None


def forget() -> None:
    """This session leaves whatever class it was in (its own part only)."""
    ss = st.session_state
    code, sid = ss.pop(CODE, None), ss.pop(SID, None)
    ss.pop(TOKEN, None)
    if code and sid:
        try:
            classes().get(code).leave(sid)
        except LiveError:
            pass


def student_id() -> str | None:
    return st.session_state.get(SID)


def join(cls: LiveClass, name: str) -> None:
    st_ = cls.join(name, i18n.current(), now())
    st.session_state[SID] = st_.id


def student_url(code: str) -> str:
    """The link students open (and the QR code encodes): the code alone -- never the teacher
    token, never ``present``, and no language: each phone opens in its own browser's language
    (and has its own switch)."""
    base = (st.context.url or "http://localhost:8501/").split("?")[0]
    base = base.rsplit("/", 1)[0] if not base.endswith("/") else base.rstrip("/")
    return f"{base}/live?" + urlencode({CLASS_PARAM: code})


def teacher_url(code: str, token: str) -> str:
    base = student_url(code)
    return base + "&" + urlencode({TEACHER_PARAM: token})


def pretty_code(code: str) -> str:
    return f"{code[:3]} {code[3:]}"


def stamp() -> float:
    return time.monotonic()

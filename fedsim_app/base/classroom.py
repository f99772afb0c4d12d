"""Classroom mode: hide chosen controls, a presenter view for a projector, a QR code of the link.

Like TF Playground's ``<control>_hide=true`` flags and its "use it in classroom" checklist, a
teacher sends a link that opens the app with some controls hidden, so students change what the
lesson is about and nothing else:

``?hide=seed,files,privacy`` hides those control groups; ``?present=1`` turns on the presenter
view (large type for a projector: 24 px and more for body text, captions, labels, tabs and the
metric numbers at 1920×1080). The control groups, one name each:

======== ===============================================================================
name     what it hides
======== ===============================================================================
seed     sidebar: the seed and "New seed"
share    sidebar: the share link, its QR code and the classroom-link builder
files    sidebar: configuration and results files; Data page: the CSV upload
lang     sidebar: the language switch
data     Data page: the data set and its options (shape, samples, noise)
clients  Data page: number of clients, share sampled per round, dropout
split    Data page: how the data is split (α, classes, shards …) and the validation split
training Training page: the training settings (epochs, lr, optimizer, aggregation …)
privacy  Privacy page: the differential-privacy settings
crypto   "What the server sees": hiding, proofs, malicious clients, dropout
======== ===============================================================================

A hidden control is simply not drawn: the configuration keeps the link's values and the engine
runs exactly the link's setup. Pages ask :func:`hidden` before drawing a group. Unknown names
get one warning naming them and the allowed ones.

Everything is per session (``st.session_state``), never per process: Streamlit runs every
student in one process. The flags also go back into the address bar (a page switch drops query
parameters), so a reload keeps them.

The QR code (:func:`qr`, `segno <https://segno.readthedocs.io>`_) encodes the share link the
sidebar shows, so students open the same scenario on their phones. That link carries ``hide``
but never ``present``: the presenter view is for the projector, not for a phone.
"""

from __future__ import annotations

from typing import Iterable

import streamlit as st

from fedsim_app.base import params, safe, state
from fedsim_app.base.theme import PRESENTING_KEY
from fedsim_app.i18n import t

#: Control group → text key of what it hides (the table above; also the builder's checkboxes).
GROUPS: dict[str, str] = {
    "seed": "cls.group.seed",
    "share": "cls.group.share",
    "files": "cls.group.files",
    "lang": "cls.group.lang",
    "data": "cls.group.data",
    "clients": "cls.group.clients",
    "split": "cls.group.split",
    "training": "cls.group.training",
    "privacy": "cls.group.privacy",
    "crypto": "cls.group.crypto",
}
HIDE, PRESENT = "hide", "present"  # URL parameters (reserved in fedsim_app.base.params)
_HIDDEN = "classroom_hidden"  # session: frozenset of hidden group names
_PRESENTING = PRESENTING_KEY  # session: bool (the chart template reads it too)
_SEEN = "classroom_seen"  # session: the last (hide, present) URL values applied
_QR_BIG = "classroom_qr_big"  # session: the "show the QR code large" button was clicked
_TRUE = ("1", "true", "yes", "on")


# ------------------------------------------------------------------ flags


def parse(text: str | None) -> tuple[frozenset[str], list[str]]:
    """``"seed, Files,bogus"`` → ({"seed", "files"}, ["bogus"]): known names, unknown ones."""
    names, unknown = set(), []
    for part in (text or "").split(","):
        name = part.strip().lower()
        if not name:
            continue
        if name in GROUPS:
            names.add(name)
        elif name not in unknown:
            unknown.append(part.strip())
    return frozenset(names), unknown


def canonical(names: Iterable[str]) -> str:
    """The ``hide`` value for ``names``, in the table's order: ``"seed,files"``."""
    chosen = set(names)
    return ",".join(n for n in GROUPS if n in chosen)


def init() -> None:
    """Every run, after ``state.init``: apply ``hide`` / ``present`` when the URL brings new
    values, warn once about unknown names, and put the flags back into the address bar."""
    ss = st.session_state
    qp = st.query_params
    seen = ss.get(_SEEN, (None, None))
    hide_q, present_q = qp.get(HIDE), qp.get(PRESENT)
    if hide_q is not None and hide_q != seen[0]:
        names, unknown = parse(hide_q)
        ss[_HIDDEN] = names
        if unknown:
            state.flash("warning", t("cls.unknown", names=safe.md(", ".join(unknown), 120),
                                     allowed=", ".join(GROUPS)))
    if present_q is not None and present_q != seen[1]:
        ss[_PRESENTING] = present_q.strip().lower() in _TRUE
    _sync_url()


def _sync_url() -> None:
    qp = st.query_params
    want = {HIDE: canonical(hidden_groups()), PRESENT: "1" if presenting() else ""}
    for key, value in want.items():
        if value and qp.get(key) != value:
            qp[key] = value
        elif not value and key in qp:
            del qp[key]
    st.session_state[_SEEN] = (want[HIDE] or None, want[PRESENT] or None)


def hidden(name: str) -> bool:
    """Whether control group ``name`` is hidden in this session (KeyError on a typo)."""
    if name not in GROUPS:
        raise KeyError(f"unknown control group {name!r}; known: {', '.join(GROUPS)}")
    return name in st.session_state.get(_HIDDEN, frozenset())


def hidden_groups() -> frozenset[str]:
    return st.session_state.get(_HIDDEN, frozenset())


def presenting() -> bool:
    """Whether this session shows the presenter view."""
    return bool(st.session_state.get(_PRESENTING, False))


def projector_url() -> bool:
    """Whether this run's address asks for a projector (the presenter view ``present=1``, or a
    live class's teacher link): the frame then folds the sidebar away. Read from the URL, since
    the page configuration is set before :func:`init` runs."""
    qp = st.query_params
    return (str(qp.get(PRESENT, "")).lower() in _TRUE or presenting()
            or bool(qp.get("teacher")) or qp.get("start") == "1")


def apply(names: Iterable[str], present: bool) -> None:
    """This tab now hides ``names`` and shows (or not) the presenter view."""
    st.session_state[_HIDDEN] = frozenset(n for n in names if n in GROUPS)
    st.session_state[_PRESENTING] = bool(present)
    _sync_url()


def flags(names: Iterable[str] | None = None, present: bool = False) -> dict[str, str]:
    """The classroom URL parameters for ``names`` (default: this session's) and ``present``."""
    hide = canonical(hidden_groups() if names is None else names)
    return {k: v for k, v in ((HIDE, hide), (PRESENT, "1" if present else "")) if v}


def link(base: str, cfg, lang: str, names: Iterable[str] | None = None,
         present: bool = False) -> str:
    """The share link: configuration, language and the classroom flags."""
    return params.share_url(base, cfg, {"lang": lang, **flags(names, present)})


# ------------------------------------------------------------------ QR code


def qr(url: str):
    """The QR code of ``url`` (segno picks the smallest version; error level at least M)."""
    import segno

    return segno.make(url, error="m", micro=False)


@st.cache_data(max_entries=256, show_spinner=False)
def qr_svg(url: str) -> str:
    """``url``'s QR code as an SVG document (black on white, a 2-module quiet zone).

    Kept per URL in Streamlit's bounded cache: a class opening the teacher's link draws the
    same code thirty times, and encoding it was a fifth of the server's time for each open
    (``python -m bench.load_bench``, py-spy)."""
    return qr(url).svg_inline(scale=10, border=2, dark="#000", light="#fff", omitsize=False)


# ------------------------------------------------------------------ presenter view

#: Always on: what a projector needs even without the presenter view. Labels wrap instead of
#: being cut ("Test accu…", "Zero-knowledge range p…"), option chips wrap instead of hiding the
#: last one ("DF" for DP-SGD), metric cards wrap instead of cutting their numbers ("231.…"),
#: and on a wide screen captions, labels and tabs are 16 px, not 14.
_BASE_CSS = """
[data-testid=stMetricLabel] [data-testid=stMarkdownContainer], [data-testid=stMetricLabel] p,
[data-testid=stCheckbox] label [data-testid=stMarkdownContainer],
[data-testid=stCheckbox] label p {white-space: normal; overflow: visible; text-overflow: clip;}
[data-testid=stButtonGroup] [role=radiogroup] {flex-wrap: wrap; row-gap: 0.3rem;}
[class*="st-key-fedsim_cards"] [data-testid=stColumn] {min-width: 7.5rem;}
[data-testid=stMetricValue] {font-size: clamp(1.5rem, 2.2vw, 1.9rem);}
@media (min-width: 1600px) {
  [data-testid=stMain] [data-testid=stCaptionContainer],
  [data-testid=stMain] [data-testid=stCaptionContainer] p {font-size: 16px;}
  [data-testid=stMain] [data-testid=stWidgetLabel] p,
  [data-testid=stMain] [data-testid=stMetricLabel] p,
  [data-testid=stMain] [data-testid=stTab] p {font-size: 16px;}
}
"""
#: Presenter view: large type for the back row (a test measures these in Chromium).
_PRESENT_CSS = """
[data-testid=stMain] {font-size: 24px;}
[data-testid=stMain] [data-testid=stMarkdownContainer] p,
[data-testid=stMain] [data-testid=stMarkdownContainer] li,
[data-testid=stMain] [data-testid=stCaptionContainer],
[data-testid=stMain] [data-testid=stCaptionContainer] p,
[data-testid=stMain] [data-testid=stWidgetLabel] p,
[data-testid=stMain] [data-testid=stMetricLabel] p,
[data-testid=stMain] [data-testid=stTab] p,
[data-testid=stMain] [data-testid=stAlertContentInfo] p,
[data-testid=stMain] button p {font-size: 24px; line-height: 1.35;}
[data-testid=stMain] [data-testid=stMetricValue],
[data-testid=stMain] [data-testid=stMetricValue] p {font-size: 48px;}
[data-testid=stMain] [data-testid=stMetricDelta],
[data-testid=stMain] [data-testid=stMetricDelta] p {font-size: 24px;}
[data-testid=stMain] [data-baseweb=select] div, [data-testid=stMain] input {font-size: 22px;}
[data-testid=stMain] .fedsim-counter {font-size: min(64px, 4.2vw);}
[data-testid=stMain] [class*="st-key-fedsim_cards"] [data-testid=stColumn] {min-width: 13rem;}
[data-testid=stMain] h1 {font-size: 56px;}
[data-testid=stMain] h2 {font-size: 40px;}
[data-testid=stMain] h3 {font-size: 32px;}
[data-testid=stSidebar] [data-testid=stMarkdownContainer] p,
[data-testid=stSidebar] [data-testid=stWidgetLabel] p {font-size: 20px;}
"""


def style() -> None:
    """The projector CSS, and the presenter view's when it is on (called by the frame)."""
    css = _BASE_CSS + (_PRESENT_CSS if presenting() else "")
    st.html(f"<style data-fedsim='{'present' if presenting() else 'base'}'>{css}</style>")


# ------------------------------------------------------------------ sidebar: share section


def _ask_big_qr() -> None:
    st.session_state[_QR_BIG] = True


def _apply_builder() -> None:
    ss = st.session_state
    apply([n for n in GROUPS if ss.get(f"cls_b_{n}")], bool(ss.get("cls_b_present")))


def share_section(base: str, cfg, lang: str) -> None:
    """The sidebar's "share this setup": the link (with ``hide``), its QR code, a button that
    shows the code large, and the classroom-link builder."""
    url = link(base, cfg, lang)
    st.markdown(f"**{t('side.share')}**", help=t("side.share.help"))
    st.code(url, language=None, wrap_lines=True)
    st.caption(t("side.share.caption"))
    st.image(qr_svg(url), width="stretch" if presenting() else 160,
             caption=t("cls.qr.caption_present" if presenting() else "cls.qr.caption"))
    st.button(t("cls.qr.big"), key="cls_qr_big", icon=":material/qr_code_2:",
              help=t("cls.qr.big.help"), on_click=_ask_big_qr)
    if st.session_state.pop(_QR_BIG, False):
        _big_qr(url)
    builder(base, cfg, lang)


@st.dialog(" ", width="large")
def _big_qr(url: str) -> None:
    st.markdown(f"### {t('cls.qr.dialog')}")
    st.image(qr_svg(url), width="stretch")
    st.code(url, language=None, wrap_lines=True)


def builder(base: str, cfg, lang: str) -> None:
    """"Use it in class": tick what to hide, choose the presenter view → the link and its QR."""
    with st.popover(t("cls.builder"), icon=":material/school:", help=t("cls.builder.help"),
                    width="stretch"):
        st.caption(t("cls.builder.intro"))
        chosen = []
        for name, key in GROUPS.items():
            if st.checkbox(t(key), value=hidden(name), key=f"cls_b_{name}",
                           help=t("cls.builder.hide.help", name=name)):
                chosen.append(name)
        present = st.toggle(t("cls.builder.present"), value=presenting(), key="cls_b_present",
                            help=t("cls.builder.present.help"))
        url = link(base, cfg, lang, chosen, present)
        st.code(url, language=None, wrap_lines=True)
        st.image(qr_svg(url), width=200, caption=t("cls.builder.qr"))
        st.button(t("cls.builder.apply"), key="cls_b_apply", icon=":material/done:",
                  help=t("cls.builder.apply.help"), on_click=_apply_builder)


def fixed_note() -> None:
    """In place of a hidden group: one line saying the teacher fixed these settings."""
    st.caption(t("cls.fixed"))

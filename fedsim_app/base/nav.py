"""Links between pages, by ``url_path`` (``"training"``), for pages that may not import each other.

The frame (:mod:`fedsim_app.frame`) owns the page list and hands this run's ``st.Page`` objects
to :func:`register` before the page runs. A page that links to another one (the Lessons page's
"open the Training page", the textbook panel's way back) calls :func:`link` with the other
page's ``url_path``: Streamlit links a page given as a callable only through its ``st.Page``
object, and a page here must not import another page to build one.

The objects are kept per process, not per session: every session registers the same callables
under the same url paths. Only their titles are in one session's language, so :func:`link`
always takes its label from the caller.
"""

from __future__ import annotations

from typing import Mapping

import streamlit as st

_PAGES: dict[str, st.Page] = {}


def register(pages: Mapping[str, st.Page]) -> None:
    """The frame's pages of this run, by ``url_path`` (what :func:`link` points at)."""
    _PAGES.update(pages)


def link(url_path: str, label: str, icon: str | None = None,
         query_params: Mapping[str, str] | None = None) -> None:
    """``st.page_link`` to the page registered as ``url_path`` (its own icon unless ``icon``)."""
    page = _PAGES[url_path]
    st.page_link(page, label=label, icon=icon or page.icon, query_params=query_params)


def switch(url_path: str) -> None:
    """``st.switch_page`` to the page registered as ``url_path`` (from a page's script body:
    Streamlit ignores a page switch inside a widget callback)."""
    st.switch_page(_PAGES[url_path])


#: Session key: a lesson step another page asked the Lessons page to open, ``(lesson id,
#: step index)`` (the Overview's "Start lesson 1"); the Lessons page pops it when it runs.
LESSON_REQUEST = "nav_lesson_request"


def open_lesson(lesson_id: str | None = None, step: int = 0) -> None:
    """Open the Lessons page at ``step`` of ``lesson_id`` (None: the first lesson), with that
    step's setup loaded, as if the student had picked it there."""
    st.session_state[LESSON_REQUEST] = (lesson_id, int(step))
    switch("lessons")

"""The app's page list, in one place: append a PageSpec here to add a page (privacy, crypto)."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    path: str  # relative to app.py
    title_key: str  # ui.text key
    icon: str
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "nav.overview", ":material/school:", default=True),
    PageSpec("pages/lessons.py", "nav.lessons", ":material/menu_book:"),
    PageSpec("pages/data.py", "nav.data", ":material/groups:"),
    PageSpec("pages/training.py", "nav.training", ":material/play_circle:"),
    PageSpec("pages/compare.py", "nav.compare", ":material/compare_arrows:"),
    PageSpec("pages/privacy.py", "nav.privacy", ":material/shield_lock:"),
    PageSpec("pages/crypto.py", "nav.crypto", ":material/visibility_off:"),
    PageSpec("pages/attacks.py", "nav.attacks", ":material/bug_report:"),
)


def st_pages():
    """The ``st.Page`` objects for ``st.navigation`` (titles rebuilt per run: translatable)."""
    import streamlit as st

    from .text import t

    return [st.Page(p.path, title=t(p.title_key), icon=p.icon, default=p.default)
            for p in PAGES]


# Whether the current script run is inside app.py's frame. A thread-local, not session state:
# after st.stop() Streamlit raises StopException on the next session-state write, so a flag
# reset in session state during cleanup could stay stuck; a plain attribute cannot.
_frame = threading.local()


class inside_frame:
    """Context manager app.py wraps around ``page.run()``."""

    def __enter__(self):
        _frame.active = True

    def __exit__(self, *exc):
        _frame.active = False
        return False


def ensure_frame() -> None:
    """Called first by every page: make sure it runs inside app.py's frame.

    Why: the pages live in ``pages/``. Until some session has run ``st.navigation``, Streamlit
    treats that folder as a legacy multipage app, so the *first* visit to a deep link such as
    ``/training?clients=4`` after the server starts would run the page alone, without the
    frame (no state, no sidebar). Calling ``st.navigation`` switches the server to the
    explicit page list for good; the rerun then goes through app.py to the same page.
    """
    import streamlit as st

    if getattr(_frame, "active", False):
        return
    st.navigation(st_pages(), position="hidden")
    st.rerun()

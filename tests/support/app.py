"""Helpers shared by the AppTest suites: open a page, read metrics, charts and errors."""

from __future__ import annotations

import base64
import json
import pathlib
import re

import numpy as np
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from fedsim.config import SimulationConfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TIMEOUT = 90  # the first run imports TensorFlow (~5 s; more on a busy CI machine)


def open_app(query: dict | None = None, page: str | None = None) -> AppTest:
    """Run the app (optionally on ``page``) with ``query`` as the URL's query parameters."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def switch_page(at: AppTest, page: str) -> AppTest:
    """``at.switch_page(page)`` for a session that has already run (``page``: ``pages/x.py``).

    The app's pages are callables with a ``url_path`` (:mod:`fedsim_app.frame`). Once
    ``st.navigation`` has registered them, ``AppTest.switch_page`` only matches file pages and
    refuses. A page's script hash is its url path's, which is the stem of its root entry
    ``pages/<url_path>.py``: the hash ``AppTest.switch_page`` takes from the file name before
    the first run, set here the same way.
    """
    assert (ROOT / page).is_file(), page
    at._page_hash = calc_hash(pathlib.Path(page).stem)
    return at


def cfg_of(at: AppTest) -> SimulationConfig:
    return at.session_state["cfg"]


def sim_of(at: AppTest):
    return at.session_state["sim"]


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def chart(at: AppTest, key: str) -> dict:
    """The Plotly figure JSON of the chart with user key ``key``."""
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith("-" + key):
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key!r}")


def arr(v) -> np.ndarray:
    """A Plotly JSON array: a plain list, or Plotly 6's base64 typed array."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """The text a Markdown message shows: backslash escapes (:func:`fedsim_app.base.safe.md`)
    resolved."""
    return _ESCAPED.sub(r"\1", markdown)


def errors(at: AppTest) -> list[str]:
    return [shown(e.value) for e in at.error]


def warnings(at: AppTest) -> str:
    return " ".join(shown(w.value) for w in at.warning)


def markdown_bodies(at: AppTest) -> list[str]:
    """The Markdown source of every element that renders Markdown (messages, text, toasts)."""
    out = []
    for kind in ("error", "warning", "info", "success", "markdown", "caption", "toast"):
        out += [e.value for e in at.get(kind)]
    return out


def rendered_html(markdown: str) -> str:
    """CommonMark → HTML, as Streamlit's renderer would make links and images of it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table").enable("strikethrough").render(markdown)


def all_html(at: AppTest) -> str:
    """Every ``st.html`` body anywhere in the page, style-only ones included (Streamlit puts
    those outside the main block)."""
    out = []

    def walk(node):
        if getattr(node, "type", None) == "html":
            out.append(str(node.proto.body))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for c in children.values():
                walk(c)

    walk(at._tree)
    return "\n".join(out)

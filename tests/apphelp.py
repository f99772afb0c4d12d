"""Helpers shared by the AppTest suites: open a page, read metrics, charts and errors."""

from __future__ import annotations

import base64
import json
import pathlib

import numpy as np
from streamlit.testing.v1 import AppTest

from fedsim.config import SimulationConfig

ROOT = pathlib.Path(__file__).resolve().parents[1]
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


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)

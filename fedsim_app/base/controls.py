"""Widgets bound to one configuration field each (see :mod:`fedsim_app.base.state` for why).

``bound("select_slider", "alpha", "data.alpha", options=...)`` draws a widget whose value comes
from the current configuration's ``partition.alpha`` (the URL key ``alpha`` names the field),
whose label and ``help=`` come from :mod:`fedsim_app.i18n` (``data.alpha`` and
``data.alpha.help``), and whose change goes through :func:`fedsim_app.base.state.update`
(validated, error-safe, resets the run).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from fedsim_app.base import params, state
from fedsim_app.i18n import bound_to_language, has, t

#: Non-linear α values (TF-Playground style hand-picked steps; Transformer Explainer does the
#: same for temperature): the interesting range 0.01–1 gets most of the slider.
ALPHA_STEPS = (0.01, 0.05, 0.1, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0)


def widget_key(url_key: str) -> str:
    return f"cfg_{url_key}"


def option_label(url_key: str, value: Any) -> str:
    """How an option of the field behind ``url_key`` is shown: its catalogue name
    (``opt.<url_key>.<value>``: ``fedavg`` → "FedAvg (mean)", ``sgd`` → "SGD"), or the value
    itself when the catalogue has none (numbers, a value from a link)."""
    key = f"opt.{url_key}.{value}"
    return t(key) if isinstance(value, str) and has(key) else str(value)


def _changed(wkey: str, path: str) -> None:
    state.update({path: st.session_state[wkey]})


def bound(kind: str, url_key: str, text_key: str, container: Any = None, **kwargs) -> Any:
    """Draw widget ``kind`` (``selectbox``, ``number_input``, ``slider``, ``select_slider``,
    ``toggle``, ``segmented_control``) for the field behind ``url_key``."""
    path = params.ALIASES[url_key]
    cfg = state.config()
    cur = params.get_path(cfg, path)
    if cur is None and path == "aggregation.server_lr":  # null: the optimizer's own default
        cur = cfg.aggregation.effective_server_lr
    if kind in ("select_slider", "selectbox", "segmented_control") and "options" in kwargs:
        opts = list(kwargs["options"])
        if cur not in opts:  # a value from a link/file that the widget's steps lack
            opts = sorted(opts + [cur]) if kind == "select_slider" else opts + [cur]
        kwargs["options"] = opts
    if kind in ("slider", "number_input") and isinstance(cur, (int, float)):
        # A link or file may hold a valid value beyond the widget's usual range: widen the
        # range rather than fail (Streamlit raises on a value outside min/max).
        if "max_value" in kwargs and cur > kwargs["max_value"]:
            kwargs["max_value"] = type(kwargs["max_value"])(cur)
        if "min_value" in kwargs and cur < kwargs["min_value"]:
            kwargs["min_value"] = type(kwargs["min_value"])(cur)
    opts = kwargs.get("options")
    if opts is not None and "format_func" not in kwargs and any(
            isinstance(o, str) and has(f"opt.{url_key}.{o}") for o in opts):
        # Code names (fedavg, sgd, seed_mlp) are shown by their catalogue names.
        kwargs["format_func"] = bound_to_language(lambda v: option_label(url_key, v))
    wkey = widget_key(url_key)
    # Setting the widget's state *before* drawing it (and passing no value=) is the supported
    # way to make a widget show a value that lives elsewhere.
    if st.session_state.get(wkey, object()) != cur:
        st.session_state[wkey] = cur
    fn = getattr(container if container is not None else st, kind)
    return fn(t(text_key), key=wkey, help=t(text_key + ".help"), on_change=_changed,
              args=(wkey, path), **kwargs)

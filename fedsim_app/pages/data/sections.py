"""The Data page's settings column, in the classroom groups of :mod:`fedsim_app.base.classroom`.

``data`` (the data set and its options), ``files`` (the CSV upload, a file), ``clients`` (how
many, the share sampled per round, dropout) and ``split`` (how the data is split, its parameter
and the local validation split): a group a classroom link hides is not drawn, and its settings
keep the link's values.
"""

from __future__ import annotations

import streamlit as st

from fedsim.config import DATASETS, PARTITIONS, SHAPES_2D, SimulationConfig, sample_cap
from fedsim.data import download
from fedsim.errors import FedsimError

from fedsim_app.base import classroom, params, safe, state
from fedsim_app.base.controls import ALPHA_STEPS, bound, widget_key
from fedsim_app.base.csv_upload import csv_upload_panel
from fedsim_app.i18n import t

#: split → the settings that shape it: (widget kind, URL key, text key, widget options).
SPLIT_PARAMS = {
    "dirichlet": [("select_slider", "alpha", "data.alpha", dict(options=list(ALPHA_STEPS)))],
    "pathological": [("number_input", "classes", "data.classes",
                      dict(min_value=1, max_value=10, step=1))],
    "shards": [("number_input", "shards", "data.shards", dict(min_value=1, max_value=20,
                                                               step=1))],
    "quantity": [("slider", "sigma", "data.sigma", dict(min_value=0.0, max_value=3.0,
                                                        step=0.1))],
    "feature": [("slider", "shift", "data.fshift", dict(min_value=0.0, max_value=3.0, step=0.1)),
                ("slider", "fnoise", "data.fnoise", dict(min_value=0.0, max_value=3.0,
                                                         step=0.1))],
}


#: Data sets whose rows come in groups, so partition ``natural`` has clients to give.
NATURAL_DATASETS = ("csv", "penguins", "femnist", "shakespeare")
#: How many clients ``natural`` gives where the configuration alone knows it.
NATURAL_CLIENTS = {"penguins": 3}


def _natural_changes(cfg: SimulationConfig, dataset: str, split: str) -> dict:
    """What else changes with a data set or split choice so the configuration stays valid:
    ``natural`` on penguins has exactly three clients; a data set without groups leaves
    ``natural`` for ``iid``."""
    out = {}
    if split == "natural" and dataset not in NATURAL_DATASETS:
        out["partition.name"] = "iid"
    elif split == "natural" and dataset in NATURAL_CLIENTS:
        out["clients.num_clients"] = NATURAL_CLIENTS[dataset]
    return out


#: Session key: a data set picked that must be downloaded first (the panel asks).
PENDING = "data_download_pending"


def _select_changed(wkey: str, path: str) -> None:
    value = st.session_state[wkey]
    cfg = state.config()
    if path == "dataset.name" and value in download.REMOTES and not download.is_cached(value):
        st.session_state[PENDING] = value  # ask first (size, source) rather than download now
        return
    if path == "dataset.partition_column":
        state.update({path: None if value == "island" else value})
        return
    dataset = value if path == "dataset.name" else cfg.dataset.name
    split = value if path == "partition.name" else cfg.partition.name
    state.update({path: value, **_natural_changes(cfg, dataset, split)})


def _select(url_key: str, text_key: str, options: list, **kwargs) -> None:
    """A selectbox bound to one field like :func:`~fedsim_app.base.controls.bound`, whose
    change may carry the changes that keep a natural split valid (:func:`_natural_changes`).
    ``url_key``: an alias, or a dotted path (fields without an alias)."""
    path = params.ALIASES.get(url_key, url_key)
    cur = params.get_path(state.config(), path)
    if path == "dataset.partition_column":
        cur = cur or "island"
    opts = list(options) + ([cur] if cur not in options else [])
    wkey = widget_key(url_key)
    if st.session_state.get(wkey, object()) != cur:
        st.session_state[wkey] = cur
    st.selectbox(t(text_key), opts, key=wkey, help=t(text_key + ".help"),
                 on_change=_select_changed, args=(wkey, path), **kwargs)


def _download_panel(cfg: SimulationConfig) -> None:
    """A data set that needs a one-time download: what, how big, from where, and a button."""
    name = st.session_state.get(PENDING)
    if not name or name == cfg.dataset.name:
        st.session_state.pop(PENDING, None)
        return
    r = download.REMOTES[name]
    st.info(t("data.download.needed", name=t(f"data.dataset.{name}"), size=r.size))
    st.caption(t("data.download.where", origin=safe.md(r.origin),
                 folder=safe.md(download.cache_dir(name))))
    go, cancel = st.columns(2)
    fetch = go.button(t("data.download.button"), key="data_download_go",
                      help=t("data.download.button.help"), type="primary")
    if cancel.button(t("data.download.cancel"), key="data_download_cancel",
                     help=t("data.download.cancel.help")):
        st.session_state.pop(PENDING, None)
        st.rerun()
    if fetch:
        try:
            with st.spinner(t("data.download.running", size=r.size)):
                download.fetch(name)
        except FedsimError as exc:
            st.error(safe.error(exc))
            return
        st.session_state.pop(PENDING, None)
        state.update({"dataset.name": name,
                      **_natural_changes(cfg, name, cfg.partition.name)})
        st.rerun()


def settings(cfg: SimulationConfig) -> None:
    """The settings column (bound to the configuration and the URL)."""
    st.subheader(t("data.controls"))
    hidden = [g for g in ("data", "clients", "split") if classroom.hidden(g)]
    if not classroom.hidden("data"):
        # A CSV comes in through the upload panel (it needs a file), not through this list.
        _select("data", "data.dataset",
                [d for d in DATASETS if d != "csv" or cfg.dataset.name == "csv"],
                format_func=lambda v: t(f"data.dataset.{v}"))
        _download_panel(cfg)
        if cfg.dataset.name == "penguins":
            st.caption(t("data.penguins_note"))
        if cfg.dataset.name in ("mnist", "cifar10"):
            bound("number_input", "samples", "data.images", min_value=100,
                  max_value=sample_cap(cfg.dataset.name), step=500)
            st.caption(t("data.images_note"))
        if cfg.dataset.name == "femnist":
            st.caption(t("data.femnist_note"))
        if cfg.dataset.name == "shakespeare":
            st.caption(t("data.shakespeare_note"))
        if not classroom.hidden("files"):
            with st.expander(t("data.csv_expander"), expanded=cfg.dataset.name == "csv"):
                csv_upload_panel(state.update, config=cfg, seed=cfg.seed)
        if cfg.dataset.name == "2d":
            bound("selectbox", "shape", "data.shape", options=list(SHAPES_2D))
        if cfg.dataset.name in ("2d", "seed_regression"):
            bound("number_input", "samples", "data.samples", min_value=100, max_value=20_000,
                  step=100)
            bound("slider", "noise", "data.noise", min_value=0.0, max_value=1.0, step=0.05)
    if not classroom.hidden("clients"):
        bound("number_input", "clients", "data.clients", min_value=1, max_value=500, step=1)
    if not classroom.hidden("split"):
        _select("split", "data.split",  # "natural" needs data that comes in groups
                [p for p in PARTITIONS if p != "natural" or cfg.dataset.name in NATURAL_DATASETS],
                format_func=lambda v: t(f"data.split.{v}"))
        if cfg.dataset.name == "penguins" and cfg.partition.name == "natural":
            _select("dataset.partition_column", "data.penguins_by", ["island", "year"],
                    format_func=lambda v: t(f"data.penguins_by.{v}"))
        for kind, key, text_key, opts in SPLIT_PARAMS.get(cfg.partition.name, []):
            bound(kind, key, text_key, **opts)
    if not classroom.hidden("clients"):
        bound("slider", "frac", "data.fraction", min_value=0.05, max_value=1.0, step=0.05)
        bound("slider", "drop", "data.dropout", min_value=0.0, max_value=0.9, step=0.05)
    if not classroom.hidden("split"):
        bound("slider", "val", "data.val", min_value=0.0, max_value=0.5, step=0.05)
    if hidden:
        classroom.fixed_note()

"""Data & clients: choose the data set and how it is split; see who holds what.

No TensorFlow here: the split comes from the engine's NumPy loader and partitioner
(``ui.state.split_summary``), so this page answers instantly while students play with α.
"""

from __future__ import annotations

import streamlit as st

from fedsim.config import DATASETS, PARTITIONS, SHAPES_2D
from fedsim.errors import FedsimError
from ui import charts, nav, safe, state
from ui.controls import ALPHA_STEPS, bound
from ui.csv_upload import csv_upload_panel
from ui.text import t
from ui.theme import PLOTLY_CONFIG

PLOT = dict(theme=None, config=PLOTLY_CONFIG)

nav.ensure_frame()
st.title(t("data.title"))
st.caption(t("data.intro"))
cfg = state.config()
left, right = st.columns([1, 3], gap="large")

with left:
    st.subheader(t("data.controls"))
    # A CSV comes in through the upload panel (it needs a file), not through this list.
    bound("selectbox", "data", "data.dataset",
          options=[d for d in DATASETS if d != "csv" or cfg.dataset.name == "csv"],
          format_func=lambda v: t(f"data.dataset.{v}"))
    with st.expander(t("data.csv_expander"), expanded=cfg.dataset.name == "csv"):
        csv_upload_panel(state.update, config=cfg, seed=cfg.seed)
    if cfg.dataset.name == "2d":
        bound("selectbox", "shape", "data.shape", options=list(SHAPES_2D))
    if cfg.dataset.name in ("2d", "seed_regression"):
        bound("number_input", "samples", "data.samples", min_value=100, max_value=20_000,
              step=100)
        bound("slider", "noise", "data.noise", min_value=0.0, max_value=1.0, step=0.05)
    bound("number_input", "clients", "data.clients", min_value=1, max_value=500, step=1)
    bound("selectbox", "split", "data.split",  # "natural" needs a CSV's column
          options=[p for p in PARTITIONS if p != "natural" or cfg.dataset.name == "csv"],
          format_func=lambda v: t(f"data.split.{v}"))
    split = cfg.partition.name
    if split == "dirichlet":
        bound("select_slider", "alpha", "data.alpha", options=list(ALPHA_STEPS))
    elif split == "pathological":
        bound("number_input", "classes", "data.classes", min_value=1, max_value=10, step=1)
    elif split == "shards":
        bound("number_input", "shards", "data.shards", min_value=1, max_value=20, step=1)
    elif split == "quantity":
        bound("slider", "sigma", "data.sigma", min_value=0.0, max_value=3.0, step=0.1)
    elif split == "feature":
        bound("slider", "shift", "data.fshift", min_value=0.0, max_value=3.0, step=0.1)
        bound("slider", "fnoise", "data.fnoise", min_value=0.0, max_value=3.0, step=0.1)
    bound("slider", "frac", "data.fraction", min_value=0.05, max_value=1.0, step=0.05)
    bound("slider", "drop", "data.dropout", min_value=0.0, max_value=0.9, step=0.05)
    bound("slider", "val", "data.val", min_value=0.0, max_value=0.5, step=0.05)

with right:
    try:
        s = state.split_summary(cfg)
    except FedsimError as exc:
        st.error(t("state.build_error", error=safe.error(exc)))
        st.stop()
    m1, m2, m3 = st.columns(3)
    m1.metric(t("data.skew"), f"{s.skew:.2f}", help=t("data.skew.help"))
    m2.metric(t("data.total"), f"{int(s.train_sizes.sum() + s.val_sizes.sum()):,}",
              help=t("data.total.help"))
    m3.metric(t("data.test"), f"{s.test_size:,}", help=t("data.test.help"))

    c1, c2 = st.columns([3, 2])
    with c1:
        st.plotly_chart(charts.label_distribution_figure(s.label_counts, s.label_names),
                        key="data_labels", **PLOT)
        st.caption(t("data.labels_caption"))
        if s.unused_labels:
            st.warning(t("data.unused_labels", labels=", ".join(s.unused_labels),
                         n=len(s.unused_labels)))
        if s.task == "regression":
            st.caption(t("data.regression_bins", bins=s.num_labels))
    with c2:
        st.plotly_chart(charts.client_sizes_figure(s.train_sizes, s.val_sizes),
                        key="data_sizes", **PLOT)
        st.caption(t("data.sizes_caption"))

    if s.image_shape is not None:
        default = list(range(min(s.num_clients, 6)))
        shown = st.multiselect(t("data.digits_clients"), list(range(s.num_clients)),
                               default=default, help=t("data.digits_clients.help"),
                               key=f"data_digit_clients_{s.num_clients}")
        if shown:
            st.plotly_chart(charts.digits_figure([s.samples[k] for k in shown],
                                                 [s.sample_labels[k] for k in shown], shown,
                                                 s.num_clients), key="data_digits", **PLOT)
            st.caption(t("data.digits_caption"))
    elif s.points is not None:
        st.plotly_chart(charts.points_figure(s.points, s.point_labels, s.point_client,
                                             s.num_clients), key="data_points", **PLOT)
        st.caption(t("data.points_caption"))
    else:
        st.info(t("data.no_picture"))

"""Data & clients: choose the data set and how it is split; see who holds what.

No TensorFlow here: the split comes from the engine's NumPy loader and partitioner
(:func:`fedsim_app.base.state.split_summary`), so this page answers instantly while students
play with α.
"""

from __future__ import annotations

import html

import streamlit as st

from fedsim.errors import FedsimError

from fedsim_app.base import charts, safe, state
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.data import charts as data_charts
from fedsim_app.pages.data import sections

PLOT = dict(theme=None, config=PLOTLY_CONFIG)


def render() -> None:
    st.title(t("data.title"))
    st.caption(t("data.intro"))
    cfg = state.config()
    left, right = st.columns([1.6, 3], gap="large")  # room for "pathological (…)" in a select

    with left:
        sections.settings(cfg)

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

        names = _client_names(cfg, s.num_clients)
        c1, c2 = st.columns([3, 2])
        with c1:
            st.plotly_chart(_named(charts.label_distribution_figure(s.label_counts,
                                                                    s.label_names), names),
                            key="data_labels", **PLOT)
            st.caption(t("data.labels_caption"))
            if names:  # a CSV's values are the user's text: escaped
                listed = ", ".join(f"{k} = {n}" for k, n in enumerate(names[:12]))
                st.caption(t("data.natural_clients", names=safe.md(
                    listed + (", …" if len(names) > 12 else ""))))
            if s.unused_labels:
                st.warning(t("data.unused_labels", labels=", ".join(s.unused_labels),
                             n=len(s.unused_labels)))
            if s.task == "regression":
                st.caption(t("data.regression_bins", bins=s.num_labels))
        with c2:
            st.plotly_chart(_named(data_charts.client_sizes_figure(s.train_sizes, s.val_sizes),
                                   names), key="data_sizes", **PLOT)
            st.caption(t("data.sizes_caption"))

        if s.image_shape is not None:
            default = list(range(min(s.num_clients, 6)))
            shown = st.multiselect(t("data.digits_clients"), list(range(s.num_clients)),
                                   default=default, help=t("data.digits_clients.help"),
                                   placeholder=t("ui.choose"),
                                   key=f"data_digit_clients_{s.num_clients}")
            if shown:
                st.plotly_chart(data_charts.digits_figure([s.samples[k] for k in shown],
                                                     [s.sample_labels[k] for k in shown], shown,
                                                     s.num_clients), key="data_digits", **PLOT)
                st.caption(t("data.digits_caption"))
        elif s.points is not None:
            st.plotly_chart(data_charts.points_figure(s.points, s.point_labels, s.point_client,
                                                 s.num_clients), key="data_points", **PLOT)
            st.caption(t("data.points_caption"))
        else:
            st.info(t("data.no_picture"))
        _skew_section(s)


#: The most clients the natural-skew chart draws (the largest ones): a bar each.
SKEW_MAX_CLIENTS = 100


def _skew_section(s) -> None:
    """Natural skew: clients from the largest to the smallest, each one's label mix, and the
    Hellinger skew (:mod:`fedsim.data.skew`), comparable across data sets."""
    from fedsim.data.skew import by_size, hellinger_skew, hellinger_to_pooled

    counts = s.label_counts
    sizes = counts.sum(axis=1)
    order = by_size(sizes)[:SKEW_MAX_CLIENTS]
    st.metric(t("ds.skew.metric"), f"{hellinger_skew(counts):.2f}",
              help=t("ds.skew.metric.help"))
    st.plotly_chart(data_charts.skew_figure(counts, s.label_names, order,
                                            hellinger_to_pooled(counts)),
                    key="data_skew", **PLOT)
    st.caption(t("ds.skew.caption"))
    if len(order) < len(sizes):
        st.caption(t("ds.skew.truncated", shown=len(order), total=len(sizes)))


def _client_names(cfg, k: int) -> tuple[str, ...]:
    """Partition ``natural``'s client names (a CSV column's values, the penguins' islands or
    years), or () for a split that numbers its clients. Cached by the engine's loaders."""
    if cfg.partition.name != "natural":
        return ()
    from fedsim.data.load import natural_groups

    try:
        names = natural_groups(cfg.dataset, cfg.seed, cfg.clients.num_clients)[1]
    except FedsimError:
        return ()
    return tuple(str(n) for n in names) if len(names) == k else ()


def _named(fig, names: tuple[str, ...]):
    """A per-client bar chart with the natural split's client names under its bars."""
    if names and len(names) <= 40:
        # Plotly reads a few HTML tags in tick text; a CSV's values are the user's text.
        fig.update_xaxes(ticktext=[f"{k}: {html.escape(n[:24])}" for k, n in enumerate(names)])
    return fig

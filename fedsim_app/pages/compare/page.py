"""Compare: vary one knob, run every variant with the same seed, overlay the curves."""

from __future__ import annotations

import streamlit as st

from fedsim.config import SimulationConfig
from fedsim.data.partition import skew_score

from fedsim_app.base import charts, limits, runs, safe, state
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.compare import views as compare

PLOT = dict(theme=None, config=PLOTLY_CONFIG)
RESULTS = "compare_results"
OVERLAY = "compare_overlay"  # (label, rounds, values, metric) of an uploaded run JSON


def render() -> None:
    st.title(t("cmp.title"))
    st.caption(t("cmp.intro"))
    cfg = state.config()
    knob, shared, variants, chosen = _settings(cfg)
    st.button(t("cmp.run"), type="primary", icon=":material/play_arrow:", help=t("cmp.run.help"),
              key="cmp_run", on_click=_request_run)
    if st.session_state.pop("cmp_requested", False):
        _run([(label, v) for label, v in variants if label in chosen], cfg, knob, shared)
    st.file_uploader(t("cmp.overlay"), type=["json"], key="cmp_run_file", on_change=_load_run,
                     help=t("cmp.overlay.help"))
    state.show_flash()
    _results(cfg, knob, shared)


def _settings(cfg):
    """The knob, its shared setting, the variants and the ones chosen (stops on a bad one)."""
    c1, c2, c4, c3 = st.columns([2, 3, 1.3, 1], vertical_alignment="bottom")
    knob = c1.selectbox(t("cmp.knob"), list(compare.KNOBS),
                        format_func=lambda k: t(f"cmp.knob.{k}"), help=t("cmp.knob.help"),
                        key="cmp_knob")
    rounds = c3.number_input(t("cmp.rounds"), min_value=1, max_value=200,
                             value=min(cfg.rounds, 30), step=1, help=t("cmp.rounds.help"),
                             key="cmp_rounds")
    shared = (sh := compare.SHARED.get(knob)) and c4.selectbox(  # shared by every variant
        t(sh.key), sh.options, sh.index, help=t(sh.key + ".help"), key=f"cmp_shared_{knob}")
    try:
        variants = compare.variants(cfg, knob, rounds=int(rounds), shared=shared)
    except state.ENGINE_ERRORS as exc:
        st.error(t("state.build_error", error=safe.error(exc)))
        st.stop()
    labels = [label for label, _ in variants]
    chosen = c2.multiselect(t("cmp.values"), labels, default=labels, help=t("cmp.values.help"),
                            placeholder=t("ui.choose"), key=f"cmp_values_{knob}")
    return knob, shared, variants, chosen


def _run(todo, cfg, knob, shared) -> None:
    """Run the chosen variants (cached) with a progress bar; keep the results in the session."""
    bar = st.progress(0.0)
    out = []
    for i, (label, v) in enumerate(todo):
        text = t("cmp.progress", label=label, i=i + 1, n=len(todo))
        bar.progress(i / len(todo), text=text)

        def tick(r: int, i: int = i, text: str = text) -> None:
            bar.progress((i + r / v.rounds) / len(todo), text=text)
        try:
            limits.check(v, memory=False)  # a variant (e.g. more clients) may cross a classroom cap
            out.append((label, v.to_json(indent=None), run_cached(v.to_json(indent=None), tick)))
        except state.ENGINE_ERRORS as exc:
            st.error(t("cmp.failed", label=safe.md(label), error=safe.error(exc)))
    bar.progress(1.0, text=t("cmp.done", n=len(out)))
    st.session_state[RESULTS] = {"base": compare.base_key(cfg, shared), "knob": knob, "runs": out}


def _results(cfg, knob, shared) -> None:
    """The curves of the last run (and an uploaded run's), then each variant's split."""
    overlay = st.session_state.get(OVERLAY)
    res = st.session_state.get(RESULTS)
    if (not res or not res["runs"]) and not overlay:
        st.info(t("cmp.empty"))
        st.stop()
    if res and compare.is_stale(res, cfg, knob, shared):
        st.warning(t("cmp.stale"))

    runs = res["runs"] if res else []
    metric = runs[0][2]["curve"]["key"] if runs else overlay[3]
    curves = [(label, r["curve"]["round"], r["curve"]["metric"]) for label, _, r in runs]
    if overlay and overlay[3] == metric:
        curves.append(overlay[:3])
    st.plotly_chart(charts.compare_figure(curves, metric), key="cmp_curves", **PLOT)
    st.caption(t("cmp.curves_caption"))
    if flat := compare.flat_note(curves, metric):  # curves on top of each other: say why
        st.info(flat)
    if not runs:
        st.stop()

    st.subheader(t("cmp.labels_title"))
    cols = st.columns(len(runs))
    for i, (col, (label, _, r)) in enumerate(zip(cols, runs)):
        counts = r["label_counts"]
        col.plotly_chart(charts.label_distribution_figure(
            counts, r["label_names"],
            title=t("cmp.labels_skew", label=label, skew=f"{skew_score(counts):.2f}"),
            compact=True), key=f"cmp_labels_{i}", **PLOT)
    st.caption(t("cmp.labels_caption"))


def run_cached(cfg_json: str, progress=None) -> dict:
    """One variant's curve and split, run once per server (:mod:`fedsim_app.base.runs`)."""
    return compare.variant_view(runs.summary(SimulationConfig.from_json(cfg_json), progress))


def _request_run() -> None:
    # A callback, not an if around the button: it runs before the script, so a rerun in
    # between cannot drop the click.
    st.session_state["cmp_requested"] = True


def _load_run() -> None:
    """on_change of the run-file uploader: a saved run (fedsim's or Flower's) to overlay."""
    f = st.session_state.get("cmp_run_file")
    if f is None:
        return
    try:
        st.session_state[OVERLAY] = compare.curve_from_run(f.getvalue(), safe.plain(f.name, 40))
    except state.ENGINE_ERRORS as exc:
        st.session_state[OVERLAY] = None
        state.flash("error", t("cmp.overlay_bad", name=safe.md(f.name, 80),
                               error=safe.error(exc)))

"""Overview: one round of the loaded scenario in motion (a real run), "Start lesson 1", what
federated learning is, the round cycle, and one-click scenarios (presets)."""

from __future__ import annotations

import streamlit as st

from fedsim.errors import FedsimError
from fedsim.presets import PRESETS

from fedsim_app.base import nav, runtime, state
from fedsim_app.base.charts import cycle_figure
from fedsim_app.base.errors import describe
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.overview import animation, views

PICTURE_HEIGHT = 380


def render() -> None:
    st.title(t("ov.title"))
    st.subheader(t("ov.fs.title"))
    # The picture needs the engine (TensorFlow's first import takes seconds on a cold server):
    # its place is kept here and filled after the rest of the page has been sent. Before the
    # server's preload has TensorFlow, the page paints without it and a small fragment waits.
    ready = runtime.engine_ready()
    if ready:
        picture, caption = st.empty(), st.empty()
    else:
        st.fragment(_wait_for_engine, run_every=1.0)()
    cta, train, _ = st.columns([1, 1, 2])
    if cta.button(t("ov.fs.start"), type="primary", icon=":material/school:",
                  help=t("ov.fs.start.help"), key="ov_start", width="stretch"):
        nav.open_lesson(None, 0)
    with train:
        nav.link("training", t("ov.fs.training"))

    left, right = st.columns([3, 2], gap="large")
    with left:
        st.markdown(t("ov.intro"))
        st.subheader(t("ov.steps_title"))
        st.markdown(t("ov.steps"))
    with right:
        st.subheader(t("ov.cycle_title"))
        st.plotly_chart(cycle_figure(), theme=None, config=PLOTLY_CONFIG, key="ov_cycle")
        st.caption(t("ov.cycle_caption"))
        st.subheader(t("ov.watch_title"))
        st.markdown(t("ov.watch"))

    st.subheader(t("ov.presets_title"))
    st.caption(t("ov.presets_caption"))
    current = state.scenario_name(state.config())
    cols = st.columns(3)
    for i, (name, preset) in enumerate(PRESETS.items()):
        with cols[i % 3].container(border=True):
            badge = f" · :green-badge[{t('ov.current')}]" if name == current else ""
            st.markdown(f"**{t(f'preset.{name}.title')}**{badge}")
            st.caption(t(f"preset.{name}.blurb"))
            st.button(t("ov.load"), key=f"preset_{name}", help=t("ov.load.help"),
                      on_click=state.load_preset, args=(name,))

    if ready:
        _picture(picture, caption)


def _wait_for_engine() -> None:
    """While TensorFlow loads in the background: say so; once it is there, draw the page again
    (a full rerun, so this timer stops and the picture is drawn like on a warm server)."""
    if runtime.engine_ready():
        st.rerun(scope="app")
    st.info(t("ov.fs.waiting"), icon=":material/hourglass_top:")


def _picture(picture, caption) -> None:
    cfg = state.config()
    with picture.container():
        with st.spinner(t("ov.fs.loading")):
            try:
                run = views.summary(cfg)
            except (FedsimError, OSError) as exc:  # a custom scenario that cannot run: say why
                st.warning(describe(exc))
                return
    with picture.container(key="ov_picture"):
        # Our own template and the engine's numbers only (no text a user typed): st.iframe's
        # warning about untrusted HTML does not apply.
        st.iframe(views.document(run), height="content")
    ms = [sum(p.ms for p in r.trace) for r in run.history]
    caption.caption(t("ov.fs.caption", rounds=len(run.history), total=cfg.rounds,
                      clients=cfg.clients.num_clients,
                      shown=min(cfg.clients.num_clients, animation.MAX_DEVICES),
                      ms=f"{(sum(ms) / len(ms)) if ms else 0:.1f}"))

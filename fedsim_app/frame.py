"""fedsim's Streamlit app: the frame that runs on every rerun, around the current page.

:func:`run` sets the page up (wide), restores or creates this user's state
(:mod:`fedsim_app.base.state`), draws the shared sidebar (scenario, seed, share link, files),
mirrors the configuration into the URL and runs the page chosen in ``st.navigation`` from
:data:`PAGES`. Each page is a callable (``fedsim_app.pages.<name>.page.render``) with its own
``url_path`` (``/training``), so a share link or a bookmark opens the same page.

Every entry script calls :func:`run`: ``app.py`` and one ``pages/<name>.py`` per page in the
checkout's root. Why the root ``pages/`` files: until some session has called
``st.navigation``, Streamlit treats a root ``pages/`` folder as a legacy multipage app, so the
first visit after a start to a deep link such as ``/training?clients=4`` runs
``pages/training.py`` alone. Because that file runs the whole frame too, ``st.navigation``
is called there as well, chooses its page for url ``training`` and the visit gets state,
sidebar and page like any other. (``fedsim_app/pages/`` is a package, not a root ``pages/``
folder: Streamlit's legacy discovery only globs the root ``pages/*.py``.)

Run: ``streamlit run app.py`` (or ``make run``).
"""

from __future__ import annotations

import pathlib
import weakref
from dataclasses import dataclass
from typing import Callable

import streamlit as st

from fedsim.privacy import workers

from fedsim_app import i18n
from fedsim_app.base import classroom, controls, nav, runtime, state
from fedsim_app.i18n import t
from fedsim_app.pages.attacks import page as attacks
from fedsim_app.pages.compare import page as compare
from fedsim_app.pages.crypto import page as crypto
from fedsim_app.pages.data import page as data
from fedsim_app.pages.lessons import page as lessons
from fedsim_app.pages.lessons import views as lesson_views
from fedsim_app.pages.live import page as live
from fedsim_app.pages.overview import page as overview
from fedsim_app.pages.privacy import page as privacy
from fedsim_app.pages.training import page as training

# A local icon: a ":material/...:" page icon makes the browser fetch it from a font CDN,
# which fails in a classroom without internet.
ICON = str(pathlib.Path(__file__).resolve().parent / "assets" / "favicon.png")


@dataclass(frozen=True)
class PageSpec:
    render: Callable[[], None]
    url_path: str  # also the stem of its root entry script, pages/<url_path>.py
    title_key: str  # fedsim_app.i18n key
    icon: str
    default: bool = False


#: The app's pages, in the sidebar's order: append a PageSpec (and a root pages/<name>.py) to
#: add one.
PAGES: tuple[PageSpec, ...] = (
    PageSpec(overview.render, "overview", "nav.overview", ":material/school:", default=True),
    PageSpec(lessons.render, "lessons", "nav.lessons", ":material/menu_book:"),
    PageSpec(data.render, "data", "nav.data", ":material/groups:"),
    PageSpec(training.render, "training", "nav.training", ":material/play_circle:"),
    PageSpec(compare.render, "compare", "nav.compare", ":material/compare_arrows:"),
    PageSpec(privacy.render, "privacy", "nav.privacy", ":material/shield_lock:"),
    PageSpec(crypto.render, "crypto", "nav.crypto", ":material/visibility_off:"),
    PageSpec(attacks.render, "attacks", "nav.attacks", ":material/bug_report:"),
    PageSpec(live.render, "live", "nav.live", ":material/co_present:"),
)


def st_pages() -> dict[str, st.Page]:
    """The ``st.Page`` objects for ``st.navigation``, by url path (titles rebuilt per run:
    translatable)."""
    return {p.url_path: st.Page(p.render, title=t(p.title_key), icon=p.icon,
                                url_path=p.url_path, default=p.default) for p in PAGES}


def run() -> None:
    """One run of the app: frame, then the page the URL (or a click) chose."""
    i18n.init_session()  # first: every string below is in this session's language

    runtime.keep_tensorflow_warm()  # see fedsim_app/base/runtime.py: ~200 ms per rerun otherwise
    runtime.preload_engine()  # first visit after a start: TensorFlow loads while the page draws
    runtime.start_janitor()  # a closed session's memory goes back to the system
    workers.enable()  # Paillier encryptions in worker processes: one student's never stall the rest

    # A projector (presenter view, a live class's teacher link) starts with the sidebar folded.
    st.set_page_config(page_title=t("app.page_title"), page_icon=ICON, layout="wide",
                       initial_sidebar_state="collapsed" if classroom.projector_url() else "auto")

    # Larger round counter and metric values: the Training page is projected in class.
    st.html("""<style>
.fedsim-counter {font-size: 2.5rem; font-weight: 700; font-variant-numeric: tabular-nums;
                 line-height: 1.1; margin: 0; white-space: nowrap;}
[data-testid="stMetricValue"] {font-size: 1.9rem;}
[data-testid="stMainBlockContainer"] {padding-top: 2.5rem;}
</style>""")
    classroom.init()  # ?hide=… and ?present=1 (fedsim_app/base/classroom.py): per session
    classroom.style()  # projector type sizes; the presenter view's when it is on

    # First paint: say what is loading until the engine is ready (a cold deep link to Training
    # waits for TensorFlow). Always the same slot, so later elements keep their places.
    loading = st.empty()
    cold = not runtime.engine_ready()
    if cold:
        loading.info(t("app.loading"), icon=":material/hourglass_top:")

    state.init()
    pages = st_pages()
    nav.register(pages)
    page = st.navigation(list(pages.values()), position="sidebar")

    # Settings only change in widget callbacks, which Streamlit runs before this script, so the
    # configuration is final here: the sidebar and the URL can be drawn before the page (which
    # may st.stop()).
    sidebar()
    lesson_views.sidebar_panel(page.url_path)  # the lesson follows the student to other pages
    state.sync_url()
    state.show_flash()
    try:
        page.run()
    finally:
        if cold:
            try:
                loading.empty()
            except Exception:  # noqa: BLE001 - the run is being stopped; nothing to clear
                pass


def _switch_language() -> None:
    chosen = st.session_state.get("lang_switch")
    if chosen:  # clicking the selected option again deselects it: keep the language
        i18n.set_language(chosen)
    else:
        st.session_state["lang_switch"] = i18n.current()


def sidebar() -> None:
    """Shared sidebar: scenario name, seed, share link, configuration and results files."""
    cfg = state.config()
    with st.sidebar:
        st.markdown(f"### :material/hub: {t('app.name')}\n{t('app.tagline')}")
        if not classroom.hidden("lang"):
            st.segmented_control(t("side.lang"), options=i18n.LANGS,
                                 format_func=i18n.NATIVE.get, default=i18n.current(),
                                 key="lang_switch", help=t("side.lang.help"),
                                 on_change=_switch_language, selection_mode="single")
        name = state.scenario_name(cfg)
        label = t(f"preset.{name}.title") if name else t("side.custom")
        st.markdown(t("side.scenario", name=label))
        if not classroom.hidden("seed"):
            controls.bound("number_input", "seed", "side.seed", min_value=0,
                           max_value=2**31 - 1, step=1)
            st.button(t("side.reseed"), help=t("side.reseed.help"), on_click=state.new_seed,
                      key="reseed", icon=":material/casino:")
        if not classroom.hidden("share"):  # the link (with hide=…), its QR code, the builder
            base = (st.context.url or "http://localhost:8501/").split("?")[0]
            classroom.share_section(base, state.config(), i18n.current())
        if not classroom.hidden("files"):
            files(sim=st.session_state.get(state.SIM))


def files(sim) -> None:
    """Configuration download and upload, results as CSV."""
    with st.container():
        st.markdown(f"**{t('side.files')}**")
        st.download_button(t("side.download_config"), data=state.config_for_download(),
                           file_name="fedsim-config.json", mime="application/json",
                           help=t("side.download_config.help"), on_click="ignore",
                           key="download_config", icon=":material/download:")
        # Shown from round 0 on (a header-only CSV before any round), so the first round does
        # not need a whole-app rerun to reveal it: the Training fragment reruns only itself.
        st.session_state[state.RESULTS_PENDING] = sim is None
        if sim is not None:
            from fedsim_app.base.views import results_csv

            # A callable: the CSV is built when someone clicks, from the rounds run by then
            # (Reset keeps the same Simulation object, so this never goes stale). It holds the
            # run weakly: Streamlit keeps download callables after a session closes, and a
            # strong reference kept every closed session's simulation alive.
            ref = weakref.ref(sim)

            def csv() -> str:
                live = ref()
                return "" if live is None else results_csv(
                    live.history, live.config.clients.num_clients, live.fed.data.task)

            st.download_button(t("side.download_results"), data=csv,
                               file_name="fedsim-results.csv", mime="text/csv",
                               help=t("side.download_results.help"), on_click="ignore",
                               key="download_results", icon=":material/download:")
        else:
            st.caption(t("side.no_results"))
        st.file_uploader(t("side.upload"), type=["json"], help=t("side.upload.help"),
                         key="upload", on_change=state.on_upload, args=("upload",),
                         max_upload_size=state.MAX_UPLOAD_MB)

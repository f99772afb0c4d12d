"""The Lessons page's pieces and the textbook panel that follows the student to other pages.

Where a student is (lesson, step), what they guessed and what the engine revealed live in this
session's state and in the URL (``?lesson=dp&step=2``), never in the process.

**The step on screen is the step loaded.** Moving to a step loads its configuration into the
app (:func:`go`), and so does opening the Lessons page (:func:`position`): ``LOADED`` names the
step whose setup was loaded last, and when it is not the step shown, the step's setup is
loaded. A change the student makes while a step is loaded (on the Training page, say) is kept
when they come back; it is shown by comparing the configuration with the step's own
(:func:`changed`), not with a stored copy, so a new seed is no change.

A reveal runs every variant the step needs through :mod:`fedsim_app.base.runs` (whole
deterministic runs, each computed once and shared read-only between sessions) and keeps the
measured numbers and the guess it was made with for this session. It runs before the progress
line and the step marks are drawn (:func:`handle_reveal`), so they count it in the same rerun.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from fedsim_app import i18n
from fedsim_app.base import nav, params, safe, state
from fedsim_app.base.charts import compare_figure
from fedsim_app.i18n import t
from fedsim_app.base import course
from fedsim_app.pages.lessons import code_views

POS, GUESSES, REVEALED, LOADED, REQUEST = ("lesson_pos", "lesson_guesses", "lesson_revealed",
                                          "lesson_loaded", "lesson_request")
PAGE = "lessons"  # this page's url_path (the textbook panel links back to it)


def key_of(lesson: course.Lesson, step: course.Step) -> str:
    return f"{lesson.id}.{step.id}"


# Texts with their numbers: fedsim_app/base/lesson_text.py (the live class words steps too).
from fedsim_app.base.lesson_text import (  # noqa: E402,F401 - re-exported for this page
    format_value, formatted, option_label, run_label, setup_values, text)


# ------------------------------------------------------------------ position and navigation


def position() -> tuple[course.Lesson, int]:
    """This session's lesson and step (the first visit reads them from the URL), with the
    step's setup loaded: opening the page loads the step shown unless it is loaded already."""
    ss = st.session_state
    q = st.query_params
    request = ss.pop(nav.LESSON_REQUEST, None)
    if request is not None:  # another page's "Start lesson 1"
        lesson, _ = course.find(request[0], "1")
        ss[POS] = (lesson.id, min(max(request[1], 0), len(lesson.steps) - 1))
    if POS not in ss:
        lesson, i = course.find(q.get("lesson"), q.get("step", "1"))
        ss[POS] = (lesson.id, i)
        if "lesson" in q and set(q) - params.RESERVED:
            # A shared link to a step carries the configuration it was shared with: keep it
            # (the link's author may have changed the step's setup on purpose).
            ss[LOADED] = key_of(lesson, lesson.steps[i])
    lesson_id, i = ss[POS]
    lesson = course.BY_ID[lesson_id]
    if ss.get(LOADED) != key_of(lesson, lesson.steps[i]):
        _load_step(lesson, i)
        # The frame drew the sidebar and wrote the URL for the old configuration before this
        # page ran: once more, so both show the step's setup.
        st.rerun()
    return lesson, i


def active() -> tuple[course.Lesson, int] | None:
    """The lesson in progress, if this session has opened one (for the side panel)."""
    pos = st.session_state.get(POS)
    return (course.BY_ID[pos[0]], pos[1]) if pos else None


def _load_step(lesson: course.Lesson, i: int) -> None:
    cfg = course.step_config(lesson, lesson.steps[i], seed=state.config().seed)
    err = state.load(cfg)
    if err:
        state.flash("error", t("state.build_error", error=safe.md(err)))
    st.session_state[LOADED] = key_of(lesson, lesson.steps[i])


def changed(lesson: course.Lesson, i: int) -> bool:
    """Whether the app's configuration is no longer the step's own (the seed aside)."""
    cfg = state.config()
    return cfg != course.step_config(lesson, lesson.steps[i], seed=cfg.seed)


def go(lesson_id: str, i: int) -> None:
    """Callback: move to step ``i`` of ``lesson_id`` and load its setup."""
    lesson = course.BY_ID[lesson_id]
    i = min(max(int(i), 0), len(lesson.steps) - 1)
    st.session_state[POS] = (lesson.id, i)
    _load_step(lesson, i)


def on_pick_lesson() -> None:
    go(st.session_state["lesson_pick"], 0)


def on_pick_step() -> None:
    pick = st.session_state.get("lesson_step_pick")
    lesson_id, i = st.session_state[POS]
    go(lesson_id, i if pick is None else int(pick))  # a click on the selected one deselects it


def reload_step() -> None:
    lesson_id, i = st.session_state[POS]
    _load_step(course.BY_ID[lesson_id], i)


def sync_url(lesson: course.Lesson, i: int) -> None:
    """The address bar says where the student is (a share link opens the same step)."""
    want = {"lesson": lesson.id, "step": str(i + 1)}
    if {k: st.query_params.get(k) for k in want} != want:
        st.query_params.update(want)


def step_link(lesson: course.Lesson, i: int) -> str:
    base = (st.context.url or "http://localhost:8501/").split("?")[0]
    base = base.rsplit("/", 1)[0] + "/lessons" if not base.endswith("/lessons") else base
    return params.share_url(base, state.config(), {"lang": i18n.current(), "lesson": lesson.id,
                                                   "step": str(i + 1)})


# ------------------------------------------------------------------ guess, reveal and score


def guess_of(step_key: str) -> str | None:
    return st.session_state.get(GUESSES, {}).get(step_key)


def _on_guess(step_key: str, widget: str) -> None:
    st.session_state.setdefault(GUESSES, {})[step_key] = st.session_state.get(widget)


def request_reveal(step_key: str) -> None:
    st.session_state[REQUEST] = step_key


def revealed(step_key: str) -> dict | None:
    return st.session_state.get(REVEALED, {}).get(step_key)


def score(lesson: course.Lesson) -> tuple[int, int, int]:
    """(answered, matched, steps): a step is answered once it is revealed, and matched if the
    guess it was revealed with is the engine's answer."""
    results = [revealed(key_of(lesson, s)) for s in lesson.steps]
    answered = [r for r in results if r is not None]
    return (len(answered), sum(r["guess"] == r["truth"] for r in answered), len(lesson.steps))


def run_step(lesson: course.Lesson, step: course.Step, seed: int, bar=None) -> dict:
    """Run every variant of ``step`` with the real engine and measure (shared cache)."""
    def before(name: str, j: int, n: int) -> None:
        if bar is not None:
            bar.progress(j / n, text=t("lesson.running", name=run_label(lesson, step, name),
                                         i=j + 1, n=n))

    res = course.evaluate(lesson, step, seed, before=before)
    results = res["results"]
    out = {"measured": res["measured"], "truth": res["truth"], "variant": res["variant"],
           "seed": seed, "curves": {}, "metric": None, "images": None}
    if step.invert:
        first = next(iter(results.values()))
        out["images"] = {"true": first["true"][0], "shape": first["image_shape"],
                         **{name: r["reconstruction"][0] for name, r in results.items()}}
    else:
        out["curves"] = {name: results[name]["metric"] for name in step.curves}
        out["metric"] = next(iter(results.values()))["key"]
    if bar is not None:
        bar.empty()
    return out


def handle_reveal(lesson: course.Lesson, step: course.Step, where) -> None:
    """Run a requested reveal (after the button's callback): before the page draws the
    progress line and the step marks, with its bar in ``where``."""
    sk = key_of(lesson, step)
    if st.session_state.get(REQUEST) != sk:
        return
    st.session_state.pop(REQUEST, None)
    guess = guess_of(sk)
    if guess is None:
        return
    try:
        with where:
            result = run_step(lesson, step, state.config().seed, st.progress(0.0))
    except state.ENGINE_ERRORS as exc:
        where.error(t("state.engine_error", error=safe.error(exc)))
        return
    result["guess"] = guess
    st.session_state.setdefault(REVEALED, {})[sk] = result


def question(lesson: course.Lesson, step: course.Step) -> None:
    """The guess (radio) above the reveal button; the reveal itself once it has run.

    A requested reveal runs first (its bar below the button), so the radio, the button and the
    result are drawn for the state after it. The button has no tooltip: a tooltip opens above
    its button and would cover the options.
    """
    sk = key_of(lesson, step)
    widget = f"lesson_guess_{sk}"
    radio_slot, button_slot, bar = st.container(), st.container(), st.container()
    handle_reveal(lesson, step, bar)
    current = guess_of(sk)
    result = revealed(sk)
    if widget not in st.session_state and current is not None:
        st.session_state[widget] = current
    labels = {o: option_label(lesson, step, o) for o in step.options}
    radio_slot.radio(text(lesson, step, "q"), step.options, index=None, key=widget,
                     format_func=labels.__getitem__,
                     help=t("lesson.guess.help"), on_change=_on_guess, args=(sk, widget),
                     disabled=result is not None)
    # caption-help: a tooltip on this button covered the answer options; the caption says it
    button_slot.button(t("lesson.reveal"), type="primary", icon=":material/visibility:",
                       key=f"lesson_reveal_{sk}", disabled=current is None or result is not None,
                       on_click=request_reveal, args=(sk,))
    if result is None:
        st.caption(t("lesson.need_guess") if current is None else t("lesson.reveal.help"))
        return
    guess = option_label(lesson, step, result["guess"])
    truth = option_label(lesson, step, result["truth"])
    if result["guess"] == result["truth"]:
        st.success(t("lesson.right", guess=guess), icon=":material/check_circle:")
    else:
        st.warning(t("lesson.wrong", guess=guess, truth=truth), icon=":material/lightbulb:")
    measured = result["measured"]
    st.markdown(t("lesson.measured_line", text=text(lesson, step, "reveal", measured)))
    why = "why" if result["variant"] is None else f"why.{result['variant']}"
    st.markdown(text(lesson, step, why, measured))
    misconception(lesson, step)
    st.caption(t("lesson.cached"))


def curves_chart(lesson: course.Lesson, step: course.Step):
    """The metric curves of the revealed runs, each named by its setting (None before the
    reveal or without curves)."""
    result = revealed(key_of(lesson, step))
    if result is None or not result["curves"]:
        return None
    curves = [(run_label(lesson, step, name), list(range(len(values))), values)
              for name, values in result["curves"].items()]
    return compare_figure(curves, result["metric"])


def digits_chart(lesson: course.Lesson, step: course.Step):
    """The client's digit beside what the server rebuilt in each run (None before the reveal
    or for a step without reconstructions)."""
    result = revealed(key_of(lesson, step))
    if result is None or not result.get("images"):
        return None
    from plotly.subplots import make_subplots

    from fedsim_app.base.theme import themed

    images = result["images"]
    shape = tuple(images["shape"])
    names = [name for name, _ in step.runs]
    panels = [(t("lesson.digit.true"), images["true"])] + [
        (run_label(lesson, step, name), images[name]) for name in names]
    fig = make_subplots(1, len(panels), subplot_titles=[p[0] for p in panels])
    for col, (_, img) in enumerate(panels, start=1):
        fig.add_heatmap(z=np.asarray(img, float).reshape(shape)[::-1], colorscale="Greys",
                        zmin=0, zmax=16, showscale=False, row=1, col=col)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    themed(fig)
    fig.update_layout(height=240, margin=dict(t=40, b=10, l=10, r=10))
    return fig


# ------------------------------------------------------------------ code, look, misconception


def misconception(lesson: course.Lesson, step: course.Step) -> None:
    """The misconception this step confronts (after the reveal: before it, it gives the
    answer away)."""
    for mis, where in course.MISCONCEPTIONS.items():
        if where == key_of(lesson, step):
            st.info(t("lesson.misconception_line", text=t("mis." + mis)),
                    icon=":material/psychology_alt:")


def look_line(lesson: course.Lesson, step: course.Step, seed: int | None = None) -> str:
    """"Where to look": the page (``step.page``, the one the button opens) and what to look at."""
    return t("lesson.look_line", page=t(f"nav.{step.page}"),
             text=text(lesson, step, "look", seed=seed))


def look(lesson: course.Lesson, step: course.Step) -> None:
    st.markdown(look_line(lesson, step))
    nav.link(step.page, label=t("lesson.open_page", page=t(f"nav.{step.page}")))


def code(step: course.Step) -> None:
    """"Show the code": the article's pseudo-code beside the engine's real source."""
    if not step.code:
        return
    with st.expander(t("lesson.show_code"), icon=":material/code:"):
        for view_id in step.code:
            view = code_views.VIEWS[view_id]
            left, right = st.columns(2, gap="medium")
            with left:
                st.markdown(f"**{t('lesson.code.article')}**")
                article = code_views.article_source(view_id)
                if article is None:
                    st.caption(t("lesson.code.no_article"))
                else:
                    st.code(article, language="python")
                    st.caption(t(f"code.{view_id}.gloss"))
                st.markdown(t("lesson.code.wrong_line", text=t(f"code.{view_id}.wrong")))
            with right:
                st.markdown(f"**{t('lesson.code.engine')}**")
                for target in view.engine:
                    st.caption(t("lesson.code.from", where=code_views.engine_location(target)))
                    st.code(code_views.engine_source(target), language="python",
                            line_numbers=True)


# ------------------------------------------------------------------ the side panel


def sidebar_panel(url_path: str) -> None:
    """A small textbook panel in the sidebar on every other page, once a lesson is open."""
    pos = active()
    if pos is None or url_path == PAGE:
        return
    lesson, i = pos
    step = lesson.steps[i]
    n = course.LESSONS.index(lesson) + 1
    with st.sidebar.container(border=True):
        st.markdown(f"**{t('lesson.panel.title', i=n, title=t(f'lesson.{lesson.id}.title'))}**")
        st.caption(t("lesson.panel.step", i=i + 1, n=len(lesson.steps),
                     title=text(lesson, step, "title")))
        st.markdown(look_line(lesson, step))
        nav.link(PAGE, label=t("lesson.panel.back"), icon=":material/menu_book:",
                 query_params={"lesson": lesson.id, "step": str(i + 1)})

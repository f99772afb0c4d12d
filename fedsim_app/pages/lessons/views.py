"""The Lessons page's pieces and the textbook panel that follows the student to other pages.

Where a student is (lesson, step), what they guessed and what the engine revealed live in this
session's state and in the URL (``?lesson=dp&step=2``), never in the process. Moving to a step
loads its configuration into the app (:func:`go`), so the Training or Privacy page shows the
same setup. A reveal runs every variant the step needs through
:mod:`fedsim_app.base.runs` (whole deterministic runs, each computed once and shared
read-only between sessions) and keeps the measured numbers for this session.
"""

from __future__ import annotations

from typing import Any

import streamlit as st


from fedsim_app import i18n
from fedsim_app.base import nav, params, runs, safe, state
from fedsim_app.base.charts import compare_figure
from fedsim_app.i18n import has, t
from fedsim_app.pages.lessons import code_views, course

POS, GUESSES, REVEALED, LOADED, REQUEST = ("lesson_pos", "lesson_guesses", "lesson_revealed",
                                          "lesson_loaded", "lesson_request")
PAGE = "lessons"  # this page's url_path (the textbook panel links back to it)


def key_of(lesson: course.Lesson, step: course.Step) -> str:
    return f"{lesson.id}.{step.id}"


def text(lesson: course.Lesson, step: course.Step, part: str, /, **values: Any) -> str:
    return t(f"lesson.{lesson.id}.{step.id}.{part}", **values)


def option_label(lesson: course.Lesson, step: course.Step, option: str) -> str:
    own = f"lesson.{lesson.id}.{step.id}.opt.{option}"
    if has(own):
        return t(own)
    if has(f"lesson.opt.{option}"):
        return t(f"lesson.opt.{option}")
    return i18n.num(int(option)) if option.isdigit() else option


def run_label(name: str) -> str:
    return t(f"lesson.run.{name}")


# ------------------------------------------------------------------ position and navigation


def position() -> tuple[course.Lesson, int]:
    """This session's lesson and step; the first visit reads them from the URL."""
    ss = st.session_state
    if POS not in ss:
        q = st.query_params
        lesson, i = course.find(q.get("lesson"), q.get("step", "1"))
        ss[POS] = (lesson.id, i)
        if "lesson" in q:  # a link to a step: that step's setup, as for a click
            _load_step(lesson, i)
            # The frame drew the sidebar and wrote the URL for the old configuration before
            # this page ran: once more, so both show the step's setup.
            st.rerun()
    lesson_id, i = ss[POS]
    return course.BY_ID[lesson_id], i


def active() -> tuple[course.Lesson, int] | None:
    """The lesson in progress, if this session has opened one (for the side panel)."""
    pos = st.session_state.get(POS)
    return (course.BY_ID[pos[0]], pos[1]) if pos else None


def _load_step(lesson: course.Lesson, i: int) -> None:
    cfg = course.step_config(lesson, lesson.steps[i], seed=state.config().seed)
    err = state.load(cfg)
    if err:
        state.flash("error", t("state.build_error", error=safe.md(err)))
    st.session_state[LOADED] = cfg.to_json(indent=None)


def go(lesson_id: str, i: int) -> None:
    """Callback: move to step ``i`` of ``lesson_id`` and load its setup."""
    lesson = course.BY_ID[lesson_id]
    i = min(max(int(i), 0), len(lesson.steps) - 1)
    st.session_state[POS] = (lesson.id, i)
    _load_step(lesson, i)


def on_pick_lesson() -> None:
    go(st.session_state["lesson_pick"], 0)


def on_pick_step() -> None:
    lesson, _ = position()
    go(lesson.id, int(st.session_state["lesson_step_pick"]))


def reload_step() -> None:
    lesson, i = position()
    _load_step(lesson, i)


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


# ------------------------------------------------------------------ guess and reveal


def guess_of(step_key: str) -> str | None:
    return st.session_state.get(GUESSES, {}).get(step_key)


def _on_guess(step_key: str, widget: str) -> None:
    st.session_state.setdefault(GUESSES, {})[step_key] = st.session_state.get(widget)


def request_reveal(step_key: str) -> None:
    st.session_state[REQUEST] = step_key


def revealed(step_key: str) -> dict | None:
    return st.session_state.get(REVEALED, {}).get(step_key)


def run_step(lesson: course.Lesson, step: course.Step, seed: int, bar=None) -> dict:
    """Run every variant of ``step`` with the real engine and measure (shared cache)."""
    configs = course.run_configs(lesson, step, seed)
    summaries = {}
    for j, (name, cfg) in enumerate(configs.items()):
        label = run_label(name)
        if bar is not None:
            bar.progress(j / len(configs), text=t("lesson.running", name=label, i=j + 1,
                                                  n=len(configs)))
        summaries[name] = course.numbers(runs.summary(cfg), course.centralized(cfg))
    measured = step.measure(summaries)
    truth = step.truth(measured)
    curves = {name: summaries[name]["metric"] for name in step.curves}
    key = next(iter(summaries.values()))["key"]
    if bar is not None:
        bar.empty()
    return {"measured": measured, "truth": truth, "curves": curves, "metric": key}


def handle_reveal(lesson: course.Lesson, step: course.Step) -> None:
    """Run a requested reveal (after the button's callback, inside the page)."""
    sk = key_of(lesson, step)
    if st.session_state.get(REQUEST) != sk:
        return
    st.session_state.pop(REQUEST, None)
    if guess_of(sk) is None:
        st.warning(t("lesson.need_guess"))
        return
    try:
        result = run_step(lesson, step, state.config().seed, st.progress(0.0))
    except state.ENGINE_ERRORS as exc:
        st.error(t("state.engine_error", error=safe.error(exc)))
        return
    st.session_state.setdefault(REVEALED, {})[sk] = result


def formatted(step: course.Step, measured: dict) -> dict[str, str]:
    """Measured numbers as the reveal shows them, in this locale."""
    out = {}
    for name, value in measured.items():
        how = step.fmt.get(name, "n2")
        if value is None:
            out[name] = "—"
        elif how == "pct":
            out[name] = i18n.pct(value, 1)
        elif how == "pts":
            out[name] = i18n.num(100 * value, 1)
        else:
            out[name] = i18n.num(value, int(how[1:]))
    return out


def question(lesson: course.Lesson, step: course.Step) -> None:
    """The guess (radio) and the reveal button; the reveal itself once it has run."""
    sk = key_of(lesson, step)
    widget = f"lesson_guess_{sk}"
    current = guess_of(sk)
    if widget not in st.session_state and current is not None:
        st.session_state[widget] = current
    st.radio(text(lesson, step, "q"), step.options, index=None, key=widget,
             format_func=lambda o: option_label(lesson, step, o), help=t("lesson.guess.help"),
             on_change=_on_guess, args=(sk, widget))
    st.button(t("lesson.reveal"), type="primary", icon=":material/visibility:",
              help=t("lesson.reveal.help"), key=f"lesson_reveal_{sk}",
              disabled=guess_of(sk) is None, on_click=request_reveal, args=(sk,))
    if guess_of(sk) is None:
        st.caption(t("lesson.need_guess"))
    handle_reveal(lesson, step)
    result = revealed(sk)
    if result is None:
        return
    guess = option_label(lesson, step, guess_of(sk) or result["truth"])
    truth = option_label(lesson, step, result["truth"])
    if guess_of(sk) == result["truth"]:
        st.success(t("lesson.right", guess=guess), icon=":material/check_circle:")
    else:
        st.warning(t("lesson.wrong", guess=guess, truth=truth), icon=":material/lightbulb:")
    st.markdown(t("lesson.measured_line",
                  text=text(lesson, step, "reveal", **formatted(step, result["measured"]))))
    st.markdown(text(lesson, step, "why"))
    st.caption(t("lesson.cached"))


def curves_chart(lesson: course.Lesson, step: course.Step):
    """The metric curves of the revealed runs (None before the reveal or without curves)."""
    result = revealed(key_of(lesson, step))
    if result is None or not result["curves"]:
        return None
    curves = [(run_label(name), list(range(len(values))), values)
              for name, values in result["curves"].items()]
    return compare_figure(curves, result["metric"])


# ------------------------------------------------------------------ code, look, misconception


def misconception(lesson: course.Lesson, step: course.Step) -> None:
    for mis, where in course.MISCONCEPTIONS.items():
        if where == key_of(lesson, step):
            st.info(t("lesson.misconception_line", text=t("mis." + mis)),
                    icon=":material/psychology_alt:")


def look(lesson: course.Lesson, step: course.Step) -> None:
    st.markdown(t("lesson.look_line", text=text(lesson, step, "look")))
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
        st.markdown(text(lesson, step, "look"))
        nav.link(PAGE, label=t("lesson.panel.back"), icon=":material/menu_book:",
                 query_params={"lesson": lesson.id, "step": str(i + 1)})

"""Lessons: guided steps that set a configuration, ask for a guess, run the engine, reveal.

Everything here is drawn without TensorFlow: the engine loads only when a reveal runs.
"""

from __future__ import annotations

import streamlit as st

from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.base import course
from fedsim_app.pages.lessons import views as lv


def render() -> None:
    lesson, i = lv.position()
    step = lesson.steps[i]
    lv.sync_url(lesson, i)

    st.title(t("lesson.title"))
    st.caption(t("lesson.intro"))
    ids = [les.id for les in course.LESSONS]
    st.session_state["lesson_pick"] = lesson.id
    names = {lid: t("lesson.name", i=k + 1, title=t(f"lesson.{lid}.title"))
             for k, lid in enumerate(ids)}
    st.selectbox(t("lesson.pick"), ids, key="lesson_pick", on_change=lv.on_pick_lesson,
                 format_func=names.__getitem__, help=t("lesson.pick.help"))
    st.caption(t(f"lesson.{lesson.id}.blurb"))
    # Progress, step marks and score are drawn here but filled last: a reveal requested by
    # the click that started this rerun runs first (in the question below), so they count it.
    head = st.container()

    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader(lv.text(lesson, step, "title"))
        st.markdown(lv.text(lesson, step, "body"))
        with st.container(border=True):
            lv.question(lesson, step)
    with right:
        fig = lv.curves_chart(lesson, step)
        if fig is not None:
            st.plotly_chart(fig, theme=None, config=PLOTLY_CONFIG, key="lesson_curves")
        digits = lv.digits_chart(lesson, step)
        if digits is not None:
            st.plotly_chart(digits, theme=None, config=PLOTLY_CONFIG, key="lesson_digits")
        with st.container(border=True):
            lv.look(lesson, step)
        if lv.changed(lesson, i):
            st.caption(t("lesson.setup_differs"))
        st.button(t("lesson.use_setup"), help=t("lesson.use_setup.help"), key="lesson_reload",
                  icon=":material/restart_alt:", on_click=lv.reload_step)
        st.markdown(f"**{t('lesson.link')}**", help=t("lesson.link.help"))
        st.code(lv.step_link(lesson, i), language=None, wrap_lines=True)

    lv.code(step)

    back, fwd, _ = st.columns([1, 1, 3])
    back.button(t("lesson.prev"), key="lesson_prev", icon=":material/arrow_back:",
                help=t("lesson.prev.help"), disabled=i == 0, on_click=lv.go,
                args=(lesson.id, i - 1), use_container_width=True)
    k = ids.index(lesson.id)
    if i + 1 < len(lesson.steps):
        fwd.button(t("lesson.next"), key="lesson_next", type="primary", help=t("lesson.next.help"),
                   icon=":material/arrow_forward:", on_click=lv.go, args=(lesson.id, i + 1),
                   use_container_width=True)
    elif k + 1 < len(ids):
        fwd.button(t("lesson.next_lesson"), key="lesson_next_lesson", type="primary",
                   help=t("lesson.next_lesson.help"), icon=":material/skip_next:",
                   on_click=lv.go, args=(ids[k + 1], 0), use_container_width=True)

    with head:
        _progress(lesson, i)


def _progress(lesson: course.Lesson, i: int) -> None:
    """Where the student is, which steps are revealed (✓), and the score once all are."""
    answered, matched, n = lv.score(lesson)
    st.progress((i + 1) / n, text=t("lesson.step_of", i=i + 1, n=n) + " · "
                + t("lesson.progress", done=answered, n=n))
    st.session_state["lesson_step_pick"] = i
    marks = {j: ("✓ " if lv.revealed(lv.key_of(lesson, s)) else "") + str(j + 1)
             for j, s in enumerate(lesson.steps)}
    st.segmented_control(t("lesson.steps"), list(range(n)), key="lesson_step_pick",
                         format_func=marks.__getitem__, on_change=lv.on_pick_step,
                         help=t("lesson.steps.help"))
    if answered == n:
        st.success(t("lesson.done", right=matched, n=n), icon=":material/emoji_events:")
    elif i + 1 == n:
        st.caption(t("lesson.score_pending", left=n - answered))

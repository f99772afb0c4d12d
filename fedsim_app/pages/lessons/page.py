"""Lessons: guided steps that set a configuration, ask for a guess, run the engine, reveal.

Everything here is drawn without TensorFlow: the engine loads only when a reveal runs.
"""

from __future__ import annotations

import streamlit as st

from fedsim_app.base import state
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.lessons import course
from fedsim_app.pages.lessons import views as lv


def render() -> None:
    lesson, i = lv.position()
    step = lesson.steps[i]
    lv.sync_url(lesson, i)

    st.title(t("lesson.title"))
    st.caption(t("lesson.intro"))
    ids = [les.id for les in course.LESSONS]
    st.session_state["lesson_pick"] = lesson.id
    st.selectbox(t("lesson.pick"), ids, key="lesson_pick", on_change=lv.on_pick_lesson,
                 format_func=lambda lid: t("lesson.name", i=ids.index(lid) + 1,
                                           title=t(f"lesson.{lid}.title")),
                 help=t("lesson.pick.help"))
    st.caption(t(f"lesson.{lesson.id}.blurb"))

    done = sum(lv.revealed(lv.key_of(lesson, s)) is not None for s in lesson.steps)
    st.progress((i + 1) / len(lesson.steps),
                text=t("lesson.step_of", i=i + 1, n=len(lesson.steps)) + " · "
                + t("lesson.progress", done=done, n=len(lesson.steps)))
    st.session_state["lesson_step_pick"] = i
    st.segmented_control(t("lesson.steps"), list(range(len(lesson.steps))), key="lesson_step_pick",
                         format_func=lambda j: ("✓ " if lv.revealed(lv.key_of(lesson, lesson.steps[j]))
                                                else "") + str(j + 1),
                         on_change=lv.on_pick_step, help=t("lesson.steps.help"))

    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader(lv.text(lesson, step, "title"))
        st.markdown(lv.text(lesson, step, "body"))
        lv.misconception(lesson, step)
        with st.container(border=True):
            lv.question(lesson, step)
    with right:
        fig = lv.curves_chart(lesson, step)
        if fig is not None:
            st.plotly_chart(fig, theme=None, config=PLOTLY_CONFIG, key="lesson_curves")
        with st.container(border=True):
            lv.look(lesson, step)
        if st.session_state.get(lv.LOADED) != state.config().to_json(indent=None):
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
    if i + 1 < len(lesson.steps):
        fwd.button(t("lesson.next"), key="lesson_next", type="primary", help=t("lesson.next.help"),
                   icon=":material/arrow_forward:", on_click=lv.go, args=(lesson.id, i + 1),
                   use_container_width=True)
    else:
        right_n = sum((lv.revealed(lv.key_of(lesson, s)) or {}).get("truth")
                      == lv.guess_of(lv.key_of(lesson, s)) for s in lesson.steps)
        st.success(t("lesson.done", right=right_n, n=len(lesson.steps)))
        k = ids.index(lesson.id)
        if k + 1 < len(ids):
            fwd.button(t("lesson.next_lesson"), key="lesson_next_lesson", type="primary",
                       help=t("lesson.next_lesson.help"), icon=":material/skip_next:",
                       on_click=lv.go, args=(ids[k + 1], 0), use_container_width=True)

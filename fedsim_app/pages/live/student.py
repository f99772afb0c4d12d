"""A student's phone: join with a name, answer the question the teacher posed, see the class's
answers beside the engine's result, and in federation mode play one client: choose what it
does next round and see what happened to it."""

from __future__ import annotations

import html

import numpy as np
import streamlit as st

from fedsim_app import i18n
from fedsim_app.base import course, live_session as ls
from fedsim_app.base.lesson_text import option_label, text
from fedsim_app.base.live.model import ACTIONS, NAME_MAX, LiveClass, LiveError
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.live import charts

#: No Plotly toolbar on a phone: it floats over the chart's title and zooming is of no use there.
PLOT = dict(theme=None, config={**PLOTLY_CONFIG, "displayModeBar": False})
#: The phone calls in (and redraws if anything changed) this often, in seconds.
REFRESH_S = 2.0


def language_switch() -> None:
    """The student's own language (not the teacher's): on the phone, where the sidebar is
    folded away."""
    st.segmented_control(t("live.language"), list(i18n.LANGS), default=i18n.current(),
                         required=True, key="live_lang", format_func=i18n.NATIVE.__getitem__,
                         on_change=lambda: i18n.set_language(st.session_state["live_lang"]),
                         label_visibility="collapsed", help=t("live.language.help"))


def render(cls: LiveClass) -> None:
    language_switch()
    sid = ls.student_id()
    if sid is None or not cls.heartbeat(sid, ls.now()):
        _join_form(cls)
        return
    # What the board's timer must not redraw (a canvas being drawn on) is drawn in the full
    # run below the board; the board asks for a full run when the class changes mode.
    st.session_state["live_seen"] = _stage(cls)
    st.fragment(_board, run_every=REFRESH_S)(cls)
    fed = cls.federation
    if cls.mode == "federation" and fed is not None and fed.drawable:
        try:
            view = cls.student_view(sid)
        except LiveError:
            return
        if view["client"] is not None:
            _drawing(cls, sid, view)


def _stage(cls: LiveClass) -> tuple:
    return cls.mode, cls.federation is not None


def _join_form(cls: LiveClass) -> None:
    st.title(t("live.student.join_title"))
    st.caption(t("live.student.class", code=ls.pretty_code(cls.code)))
    with st.form("live_join", border=True):
        st.text_input(t("live.student.name"), max_chars=NAME_MAX, key="live_name",
                      placeholder=t("live.student.name.placeholder"),
                      help=t("live.student.name.help"))
        if st.form_submit_button(t("live.student.join"), type="primary", width="stretch"):
            try:
                ls.join(cls, st.session_state.get("live_name", ""))
                st.rerun()
            except LiveError as exc:
                st.error(ls.message(exc))


def _board(cls: LiveClass) -> None:
    sid = ls.student_id()
    if sid is None or not cls.heartbeat(sid, ls.now()):
        st.warning(t("live.err.not_joined"))
        return
    if st.session_state.get("live_seen") != _stage(cls):
        st.rerun(scope="app")  # federation mode began or ended: the page below changes too
    try:
        view = cls.student_view(sid)
    except LiveError as exc:
        st.warning(ls.message(exc))
        return
    # The name is data: escaped into plain text, never Markdown or HTML.
    st.html(f"<p class='fedsim-live-hello'>{html.escape(t('live.student.hello', name=view['name']))}"
            "</p>")
    if view["mode"] == "federation" and cls.federation is not None:
        _client(cls, sid, view)
    else:
        _question(cls, sid, view)
    st.button(t("live.student.leave"), key="live_leave", on_click=ls.forget,
              icon=":material/logout:", help=t("live.student.leave.help"))


def _question(cls: LiveClass, sid: str, view: dict) -> None:
    q = view["question"]
    if q is None:
        st.info(t("live.student.wait"))
        return
    lid, step_id = q.key.split(".", 1)
    lesson = course.BY_ID[lid]
    step = next(s for s in lesson.steps if s.id == step_id)
    labels = {o: option_label(lesson, step, o, seed=q.seed) for o in q.options}
    st.subheader(text(lesson, step, "title", seed=q.seed), anchor=False)
    widget = f"live_answer_{q.number}"
    if widget not in st.session_state and view["answer"] is not None:
        st.session_state[widget] = view["answer"]
    st.radio(text(lesson, step, "q", seed=q.seed), q.options, index=None, key=widget,
             format_func=labels.__getitem__, disabled=q.revealed,
             on_change=_answer, args=(cls, sid, widget))
    if not q.revealed:
        if view["answer"] is None:
            st.caption(t("live.student.pick"))
        else:
            st.success(t("live.student.sent", answer=labels[view["answer"]]))
        st.caption(t("live.answered", k=view["answered"], n=view["students"]))
        return
    mine = view["answer"]
    if mine is None:
        st.info(t("live.student.no_answer", truth=labels[q.truth]))
    elif mine == q.truth:
        st.success(t("live.student.right", answer=labels[mine]))
    else:
        st.warning(t("live.student.wrong", answer=labels[mine], truth=labels[q.truth]))
    st.plotly_chart(charts.answers_figure(view["counts"], labels, q.truth, mine, height=260),
                    key="live_student_answers", **PLOT)
    st.markdown(text(lesson, step, "reveal", dict(q.measured or {}), seed=q.seed))


def _answer(cls: LiveClass, sid: str, widget: str) -> None:
    try:
        cls.answer(sid, st.session_state.get(widget), ls.now())
    except LiveError as exc:
        st.session_state["live_flash"] = ls.message(exc)


def _client(cls: LiveClass, sid: str, view: dict) -> None:
    st.caption(t("live.student.simulated"))
    client = view["client"]
    if client is None:
        st.info(t("live.student.queued", clients=view["clients"]))
        return
    st.subheader(t("live.student.you_are", client=client), anchor=False)
    fed = cls.federation
    st.plotly_chart(charts.my_data_figure(fed.label_counts()[client]), key="live_my_data",
                    **PLOT)
    st.segmented_control(t("live.student.choice"), list(ACTIONS), default=view["action"],
                         required=True, key="live_action",
                         format_func=lambda a: t(f"live.action.{a}"),
                         on_change=_choose, args=(cls, sid), help=t("live.student.choice.help"))
    out = view["outcome"]
    if out is None:
        st.caption(t("live.student.no_round"))
        return
    st.markdown(t("live.student.round", round=out.round))
    if out.dropped:
        st.info(t("live.student.dropped"))
        return
    a, b, c = st.columns(3)
    a.metric(t("live.student.loss"), "—" if out.train_loss is None else f"{out.train_loss:.3f}")
    b.metric(t("live.student.norm"), f"{out.update_norm:.3f}")
    c.metric(t("live.student.toward"), "—" if out.toward is None else f"{out.toward:+.2f}",
             help=t("live.student.toward.help"))
    if out.rejected:
        st.error(t("live.student.rejected"))
    elif out.clipped:
        st.warning(t("live.student.clipped"))
    else:
        st.success(t("live.student.accepted"))


def _drawing(cls: LiveClass, sid: str, view: dict) -> None:
    """Draw digits for your client to train on, and (only if you agree) let the server try to
    rebuild your drawing from your update on the projector."""
    from streamlit_drawable_canvas import st_canvas

    from fedsim_app.base.live.drawing import to_digit

    ss = st.session_state
    with st.expander(t("live.draw.title"), icon=":material/draw:", expanded=True):
        n = ss.get("live_canvas_n", 0)  # a new key clears the canvas after each drawing
        res = st_canvas(stroke_width=18, stroke_color="#000000", background_color="#FFFFFF",
                        height=224, width=224, drawing_mode="freedraw", key=f"live_canvas_{n}",
                        return_image_data=True)
        label = st.selectbox(t("live.draw.label"), list(range(10)), key="live_draw_label",
                             help=t("live.draw.label.help"))
        if st.button(t("live.draw.add"), key="live_draw_add", icon=":material/add:",
                     help=t("live.draw.add.help")):
            image = getattr(res, "image_data", None)
            pixels = None if image is None else to_digit(image)
            if pixels is None:
                st.warning(t("live.draw.empty"))
            else:
                try:
                    cls.add_drawing(sid, pixels, int(label), ls.now())
                    ss["live_canvas_n"] = n + 1
                    st.rerun()
                except LiveError as exc:
                    st.warning(ls.message(exc))
        if view["drawings"]:
            st.caption(t("live.draw.count", n=len(view["drawings"])))
            st.image([_big(p) for p, _ in view["drawings"]], width=48,
                     caption=[str(y) for _, y in view["drawings"]])
            st.toggle(t("live.draw.use"), value=view["use_drawings"], key="live_use_drawings",
                      on_change=lambda: _safe(cls.set_use_drawings, sid,
                                              ss.get("live_use_drawings", False)),
                      help=t("live.draw.use.help"))
        st.toggle(t("live.draw.consent"), value=view["consent"], key="live_consent",
                  on_change=lambda: _safe(cls.set_consent, sid, ss.get("live_consent", False)),
                  help=t("live.draw.consent.help"))


def _big(pixels):
    """An 8×8 count image as a small grey picture (ink dark on white)."""
    g = (255 - np.asarray(pixels, np.float32) * 255 / 16).astype(np.uint8)
    return np.kron(g, np.ones((6, 6), np.uint8))


def _safe(action, sid: str, value) -> None:
    try:
        action(sid, value, ls.now())
    except LiveError as exc:
        st.session_state["live_flash"] = ls.message(exc)


def _choose(cls: LiveClass, sid: str) -> None:
    try:
        cls.choose(sid, st.session_state.get("live_action") or "honest", ls.now())
    except LiveError as exc:
        st.session_state["live_flash"] = ls.message(exc)

"""The projector: the class code and QR code, who has joined, a lesson step posed to everyone
with "k of n answered" live, the reveal beside the class's answers, and federation mode, where
the class is the federation and the projector is the server."""

from __future__ import annotations

import html

import streamlit as st

from fedsim_app.base import classroom, course, live_session as ls, state
from fedsim_app.base.lesson_text import option_label, text
from fedsim_app.base.live.federation import LiveFederation, federation_config
from fedsim_app.base.live.model import (IDLE_MAX_S, IDLE_MIN_S, MAX_STUDENTS_CAP, OVERFLOW,
                                        LiveClass, LiveError)
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.live import charts

PLOT = dict(theme=None, config=PLOTLY_CONFIG)
#: The projector redraws the class's state this often (seconds).
REFRESH_S = 1.0


def render(cls: LiveClass, token: str) -> None:
    # Once the class is under way (a question posed, or a federation), the code and QR code
    # fold into one line so the tally and the charts are on the projector's first screen.
    busy = cls.question is not None or cls.mode == "federation"
    if not busy:
        st.title(t("live.teacher.title"))
    join, side = st.columns([3, 2], gap="large")
    with join:
        if busy:
            st.html(f"<p class='fedsim-live-code-small' data-testid='live-code'>"
                    f"{ls.pretty_code(cls.code)}</p>")
            with st.expander(t("live.join_again"), icon=":material/qr_code_2:"):
                _join_panel(cls, code=False)
        else:
            _join_panel(cls)
    with side:
        st.fragment(_roster, run_every=REFRESH_S)(cls, token)
        _settings(cls, token)
    st.divider()
    mode = cls.mode
    st.segmented_control(t("live.mode"), ["answer", "federation"], default=mode,
                         key="live_mode", required=True,
                         format_func=lambda m: t(f"live.mode.{m}"), on_change=_set_mode,
                         args=(cls, token), help=t("live.mode.help"))
    if mode == "answer":
        _answer_mode(cls, token)
    else:
        _federation_mode(cls, token)


def _flash(exc: LiveError) -> None:
    st.session_state["live_flash"] = ls.message(exc)


def _set_mode(cls: LiveClass, token: str) -> None:
    try:
        cls.set_mode(token, st.session_state.get("live_mode") or cls.mode, ls.now())
    except LiveError as exc:
        _flash(exc)


def _join_panel(cls: LiveClass, code: bool = True) -> None:
    url = ls.student_url(cls.code)
    if code:
        st.html(f"<p class='fedsim-live-code' data-testid='live-code'>"
                f"{ls.pretty_code(cls.code)}</p>")
    st.caption(t("live.join_how"))
    with st.container(key="live_qr"):  # st.html would strip the SVG: an image, like the sidebar's
        st.image(classroom.qr_svg(url), width=520)
    st.code(url, language=None, wrap_lines=True)
    st.caption(t("live.lan_hint"))


def _roster(cls: LiveClass, token: str) -> None:
    try:
        view = cls.teacher_view(token)
    except LiveError as exc:
        st.warning(ls.message(exc))
        return
    st.metric(t("live.joined"), view["students"], help=t("live.joined.help"))
    if view["roster"]:
        names = ", ".join(html.escape(name) for _, name, *_ in view["roster"][:80])
        more = len(view["roster"]) - 80
        st.html(f"<p class='fedsim-live-names' data-testid='live-names'>{names}"
                + (f" … +{more}" if more > 0 else "") + "</p>")
    else:
        st.caption(t("live.nobody_yet"))


def _settings(cls: LiveClass, token: str) -> None:
    with st.expander(t("live.settings"), icon=":material/settings:"):
        st.number_input(t("live.idle"), IDLE_MIN_S // 60, IDLE_MAX_S // 60,
                        int(cls.idle_s // 60), key="live_idle", help=t("live.idle.help"),
                        on_change=_set_idle, args=(cls, token))
        st.number_input(t("live.max_students"), 1, MAX_STUDENTS_CAP, cls.max_students,
                        key="live_max", help=t("live.max_students.help"),
                        on_change=_set_max, args=(cls, token))
        st.link_button(t("live.teacher_link"), ls.teacher_url(cls.code, token),
                       help=t("live.teacher_link.help"))
        if st.button(t("live.end"), type="primary", key="live_end", icon=":material/stop_circle:",
                     help=t("live.end.help")):
            try:
                ls.classes().end(cls.code, token)
            except LiveError as exc:
                _flash(exc)
            ls.forget()
            for k in ("class", "teacher"):
                st.query_params.pop(k, None)
            st.session_state["live_flash_ok"] = t("live.ended_ok")
            st.rerun()


def _set_idle(cls: LiveClass, token: str) -> None:
    try:
        cls.set_idle(token, st.session_state["live_idle"], ls.now())
    except LiveError as exc:
        _flash(exc)


def _set_max(cls: LiveClass, token: str) -> None:
    try:
        cls.set_max_students(token, st.session_state["live_max"], ls.now())
    except LiveError as exc:
        _flash(exc)


# ------------------------------------------------------------------ answer together


def _steps() -> list[str]:
    return [f"{les.id}.{s.id}" for les in course.LESSONS for s in les.steps]


def _step_of(key: str):
    lid, sid = key.split(".", 1)
    lesson = course.BY_ID[lid]
    return lesson, next(s for s in lesson.steps if s.id == sid)


def _step_name(key: str) -> str:
    lesson, step = _step_of(key)
    k = [les.id for les in course.LESSONS].index(lesson.id) + 1
    i = lesson.steps.index(step) + 1
    return t("live.step_name", lesson=k, step=i, title=text(lesson, step, "title"))


def _answer_mode(cls: LiveClass, token: str) -> None:
    steps = _steps()
    q = cls.question
    pick, ask = st.columns([4, 1], vertical_alignment="bottom")
    default = steps.index(q.key) if q is not None and q.key in steps else 0
    # Labels as the options (not format_func): AppTest can then pick one by its label.
    names = {_step_name(k): k for k in steps}
    label = pick.selectbox(t("live.pick_step"), list(names), index=default, key="live_step",
                           help=t("live.pick_step.help"))
    key = names.get(label, steps[default])
    if ask.button(t("live.ask"), type="primary", key="live_ask", icon=":material/campaign:",
                  width="stretch", help=t("live.ask.help")):
        lesson, step = _step_of(key)
        try:
            cls.pose(token, key, step.options, ls.now(), seed=state.config().seed)
        except LiveError as exc:
            _flash(exc)
        st.rerun()
    if cls.question is None:
        st.info(t("live.no_question"))
        return
    st.fragment(_question_board, run_every=REFRESH_S)(cls, token)


def _question_board(cls: LiveClass, token: str) -> None:
    q = cls.question
    if q is None:
        return
    lesson, step = _step_of(q.key)
    st.subheader(text(lesson, step, "title", seed=q.seed))
    st.markdown(text(lesson, step, "q", seed=q.seed))
    counts, answered, n = cls.tally()
    st.progress(answered / n if n else 0.0, text=t("live.answered", k=answered, n=n))
    labels = {o: option_label(lesson, step, o, seed=q.seed) for o in q.options}
    if not q.revealed:
        # caption-help: the caption right below says what Reveal does
        st.button(t("live.reveal"), type="primary", key="live_reveal",
                  icon=":material/visibility:", on_click=_reveal, args=(cls, token),
                  disabled=answered == 0)
        st.caption(t("live.reveal.caption"))
        return
    right, left = st.columns([3, 2], gap="large")
    with right:
        st.plotly_chart(charts.answers_figure(counts, labels, q.truth, height=380, big=True),
                        key="live_answers",
                        **PLOT)
    with left:
        st.success(t("live.truth", truth=labels.get(q.truth, q.truth)))
        st.markdown(text(lesson, step, "reveal", dict(q.measured or {}), seed=q.seed))


def _reveal(cls: LiveClass, token: str) -> None:
    q = cls.question
    if q is None:
        return
    lesson, step = _step_of(q.key)
    with st.spinner(t("live.revealing")):
        res = course.evaluate(lesson, step, q.seed)
    try:
        cls.reveal(token, res["truth"], res["measured"], ls.now())
    except LiveError as exc:
        _flash(exc)


# ------------------------------------------------------------------ federation mode


def _federation_mode(cls: LiveClass, token: str) -> None:
    st.caption(t("live.fed.intro"))
    fed = cls.federation
    n = len(cls.students)
    if fed is None:
        a, b, c = st.columns([1, 2, 1], vertical_alignment="bottom")
        clients = a.number_input(t("live.fed.clients"), 2, 300, max(2, min(n, 300)),
                                 key="live_fed_clients", help=t("live.fed.clients.help"))
        overflow = b.segmented_control(t("live.fed.overflow"), list(OVERFLOW), default="queue",
                                       required=True, key="live_fed_overflow",
                                       format_func=lambda o: t(f"live.fed.overflow.{o}"),
                                       help=t("live.fed.overflow.help"))
        if c.button(t("live.fed.start"), type="primary", key="live_fed_start",
                    icon=":material/hub:", width="stretch", help=t("live.fed.start.help")):
            _start_federation(cls, token, int(clients), overflow or "queue")
            st.rerun()
        return
    top = st.columns([1, 1, 3], vertical_alignment="center")
    top[0].button(t("live.fed.next"), type="primary", key="live_fed_next",
                  icon=":material/skip_next:", on_click=_step_round, args=(cls, token),
                  width="stretch", help=t("live.fed.next.help"))
    top[1].button(t("live.fed.reset"), key="live_fed_reset", icon=":material/restart_alt:",
                  on_click=_reset_federation, args=(cls, token), width="stretch",
                  help=t("live.fed.reset.help"))
    top[2].caption(t("live.fed.status", clients=cls.clients, students=n,
                     overflow=t(f"live.fed.overflow.{cls.overflow}")))
    st.fragment(_server_board, run_every=REFRESH_S)(cls, token)


def _start_federation(cls: LiveClass, token: str, clients: int, overflow: str) -> None:
    if not cls.is_teacher(token):
        return
    cfg = federation_config(state.config(), clients)
    with st.spinner(t("live.fed.building")):
        fed = LiveFederation(cfg)
        fed.sim  # noqa: B018 - build now (TensorFlow, the split), not on the first click
    with cls.lock:
        cls.federation, cls.clients, cls.overflow = fed, clients, overflow
        cls.rounds.clear()
        cls.outcomes.clear()
        cls.version += 1


def _reset_federation(cls: LiveClass, token: str) -> None:
    if not cls.is_teacher(token):
        return
    with cls.lock:
        cls.federation = None
        cls.rounds.clear()
        cls.outcomes.clear()
        cls.version += 1


def _step_round(cls: LiveClass, token: str) -> None:
    fed = cls.federation
    if fed is None or not cls.is_teacher(token):
        return
    try:
        server, outcomes = fed.step(cls.choices(), cls.drawings())
    except Exception as exc:  # noqa: BLE001 - the engine's error, in the user's language
        from fedsim_app.base.errors import describe

        st.session_state["live_flash"] = describe(exc)
        return
    try:
        cls.record_round(token, server, outcomes, ls.now())
    except LiveError as exc:
        _flash(exc)


def _server_board(cls: LiveClass, token: str) -> None:
    fed = cls.federation
    if fed is None:
        return
    rounds = list(cls.rounds)
    left, right = st.columns(2, gap="large")
    key = rounds[-1]["metric_key"] if rounds else "accuracy"
    with left:
        st.plotly_chart(charts.rounds_figure(rounds, fed.initial_metric(), key, height=400,
                                             big=True),
                        key="live_rounds", **PLOT)
    with right:
        if rounds:
            last = rounds[-1]
            st.plotly_chart(charts.client_norms_figure(last["ids"], last["norms"],
                                                       last["dropped"], last["rejected"],
                                                       height=400, big=True),
                            key="live_norms", **PLOT)
        else:
            st.info(t("live.fed.no_round"))
    if rounds:
        last = rounds[-1]
        st.markdown(t("live.fed.summary", round=last["round"], arrived=last["arrived"],
                      sampled=last["sampled"], dropped=len(last["dropped"]),
                      rejected=len(last["rejected"]), norm=f"{last['aggregate_norm']:.3f}"))
        if last["hidden"]:
            st.caption(t("live.fed.hidden"))
        _reconstructions(cls, last.get("reconstructions") or [])


def _reconstructions(cls: LiveClass, recs: list) -> None:
    """With a student's consent: what the server rebuilt of their drawn digit from the update
    it received (the analytic inversion), beside the drawing."""
    if not recs:
        return
    st.subheader(t("live.rec.title"))
    st.caption(t("live.rec.caption"))
    cols = st.columns(min(len(recs), 3))
    for i, rec in enumerate(recs[:6]):
        with cols[i % len(cols)]:
            st.plotly_chart(charts.reconstruction_figure(rec["drawn"], rec["pixels"], height=260,
                                                         big=True),
                            key=f"live_rec_{i}", **PLOT)
            how = rec["how"]
            if rec["psnr"] is not None:
                st.markdown(t(f"live.rec.{how}", client=rec["client"], psnr=f"{rec['psnr']:.1f}",
                              n=rec["examples"]))
            else:
                st.markdown(t(f"live.rec.{how}", client=rec["client"]))

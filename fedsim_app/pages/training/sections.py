"""The sections of the Training page: settings, the stepper with Play, notices, the counter and
metric cards, the round's cycle, and the chart tabs. The page arranges them in its fragment
(see :mod:`fedsim_app.pages.training.page` for why everything that changes per round lives in
one fragment).
"""

from __future__ import annotations

import html

import streamlit as st

from fedsim.config import AGGREGATORS, MODELS, OPTIMIZERS, SERVER_OPTIMIZERS, SimulationConfig

from fedsim_app.base import safe, state, views
from fedsim_app.base.charts import cycle_css, cycle_figure
from fedsim_app.base.controls import bound
from fedsim_app.base.theme import GLOBAL_COLOR, PLOTLY_CONFIG, client_color
from fedsim_app.i18n import bound_to_language, t
from fedsim_app.pages.training import charts
from fedsim_app.pages.training import views as training_views

PLOT = dict(theme=None, config=PLOTLY_CONFIG)
SPEEDS = {"slow": 2.0, "normal": 0.8, "fast": 0.3}  # seconds between rounds while playing
# At slow speed Play steps phase by phase, so the cycle lights each phase as it runs (a round
# of eight phases then takes 8 × 0.45 s); faster, a tick is a whole round.
BY_PHASE = {"slow": True, "normal": False, "fast": False}
PHASE_SECONDS = 0.45


def tick_seconds(speed: str) -> float:
    """Seconds between Play ticks at ``speed`` (a tick is a phase or a round: :data:`BY_PHASE`)."""
    return PHASE_SECONDS if BY_PHASE.get(speed) else SPEEDS[speed]
TAB_KEYS = ("global", "clients", "updates", "participation", "boundary")


def settings(cfg: SimulationConfig) -> None:
    """The training and aggregation settings (bound to the configuration and the URL)."""
    with st.expander(t("tr.settings")):
        c1, c2, c3 = st.columns(3)
        bound("number_input", "rounds", "tr.rounds", container=c1, min_value=1, max_value=1000,
              step=1)
        bound("number_input", "epochs", "tr.epochs", container=c1, min_value=1, max_value=50,
              step=1)
        bound("select_slider", "batch", "tr.batch", container=c1,
              options=[4, 8, 16, 32, 64, 128, 256])
        bound("select_slider", "lr", "tr.lr", container=c2,
              options=[0.001, 0.003, 0.01, 0.03, 0.05, 0.1, 0.3, 1.0])
        bound("selectbox", "opt", "tr.opt", container=c2, options=list(OPTIMIZERS))
        bound("select_slider", "mu", "tr.mu", container=c2,
              options=[0.0, 0.001, 0.01, 0.1, 1.0])
        bound("selectbox", "model", "tr.model", container=c2, options=list(MODELS))
        bound("selectbox", "agg", "tr.agg", container=c3, options=list(AGGREGATORS))
        if cfg.aggregation.name == "fedavg":
            bound("toggle", "weighted", "tr.weighted", container=c3)
        elif cfg.aggregation.name == "trimmed_mean":
            bound("slider", "trim", "tr.trim", container=c3, min_value=0.0, max_value=0.45,
                  step=0.05)
        elif cfg.aggregation.name == "krum":
            bound("number_input", "krum_f", "tr.krum_f", container=c3, min_value=0, max_value=50,
                  step=1)
        bound("selectbox", "sopt", "tr.sopt", container=c3, options=list(SERVER_OPTIMIZERS))
        bound("select_slider", "slr", "tr.slr", container=c3,
              options=[0.01, 0.03, 0.1, 0.3, 1.0, 3.0])


def controls(sim) -> None:
    """Reset, Next phase, Next round, Play/Pause and the speed: inside the fragment."""
    playing = bool(st.session_state.get(state.PLAYING))
    b = st.columns([1, 1, 1, 1, 2], vertical_alignment="bottom")
    b[0].button(t("tr.reset"), key="reset", icon=":material/skip_previous:",
                help=t("tr.reset.help"), on_click=state.reset_run, width="stretch")
    b[1].button(t("tr.phase"), key="next_phase", icon=":material/step:",
                help=t("tr.phase.help"), on_click=state.step_phase,
                disabled=sim.done or playing, width="stretch")
    b[2].button(t("tr.round"), key="next_round", icon=":material/skip_next:",
                help=t("tr.round.help"), on_click=state.step_round,
                disabled=sim.done or playing, width="stretch")
    b[3].button(t("tr.pause") if playing else t("tr.play"), key="play",
                icon=":material/pause:" if playing else ":material/play_arrow:",
                help=t("tr.pause.help") if playing else t("tr.play.help"),
                # What the button says is what it does (never a toggle of a state that may
                # have changed since it was drawn): Pause pauses, Play plays.
                on_click=state.pause if playing else state.play,
                disabled=sim.done and not playing, type="primary",
                width="stretch")
    b[4].segmented_control(t("tr.speed"), list(SPEEDS), default="normal", required=True,
                           format_func=bound_to_language(lambda s: t(f"tr.speed.{s}")), key="speed",
                           help=t("tr.speed.help"))


def notices(sim) -> None:
    """Queued messages and a divergence report (with its reset button), in one fixed slot."""
    state.show_flash()
    div = st.session_state.get(state.DIVERGED)
    if div:
        rnd, phase, what = div
        st.error(t("state.diverged", round=rnd, phase=safe.md(phase), what=safe.md(what),
                   last=sim.round), icon=":material/warning:")
        st.button(t("state.diverged_reset"), key="diverged_reset", icon=":material/restart_alt:",
                  help=t("state.diverged_reset.help"), on_click=state.reset_run)


def boundary_tab(sim, history) -> None:
    """Global decision boundary beside chosen clients' local ones (2-D data only)."""
    data = sim.fed.data
    n_clients = sim.config.clients.num_clients
    last_ids = list(sim.last.client_ids) if sim.last is not None else []
    default = [c for c in last_ids if c not in (history[-1].dropped if history else ())][:2]
    picked = st.multiselect(t("tr.boundary_pick"), last_ids, default=default,
                            max_selections=3, help=t("tr.boundary_pick.help"),
                            placeholder=t("ui.choose"), key=f"boundary_pick_{sim.round}")
    n = 60
    gx, gy, grid = training_views.grid_for(data.x_test, n=n)
    cd = sim.fed.client_data
    # Global panel: the server's test set. Client panels: that client's own training rows,
    # which is what its local model was fitted to.
    panels = [(t("tr.boundary_global", round=sim.round), sim.global_weights(), GLOBAL_COLOR,
               data.x_test, data.y_test)]
    for c in picked:
        w = training_views.local_weights(sim, c)
        if w is not None:
            xc, yc, _, _ = cd.client(c)
            panels.append((t("tr.boundary_client", id=c), w, client_color(c, n_clients),
                           xc, yc))
    cols = st.columns(max(len(panels), 2))
    for col, (title, weights, color, px, py) in zip(cols, panels):
        prob = training_views.class1_probability(sim, weights, grid, n)
        # The panel's title as page text, which wraps in a narrow column (a Plotly title is cut).
        col.markdown(f"<span style='color:{color}'>■</span> **{title}**", unsafe_allow_html=True)
        col.plotly_chart(charts.boundary_figure(gx, gy, prob, px, py, color=color),
                         key=f"boundary_{title}", **PLOT)
    if not last_ids:
        st.info(t("tr.boundary_none"))
    st.caption(t("tr.boundary_caption"))


def header(sim) -> None:
    """The metric cards (one row that wraps on a narrow screen) and an aborted-round notice."""
    cfg = sim.config
    history = sim.history
    task = sim.fed.data.task
    cards = training_views.metric_cards(history, dict(sim.initial_metrics), task)
    if cfg.privacy.dp.enabled:  # DP overlay: the privacy spent so far, next to the others
        cards.append(training_views.epsilon_card(history))
    # Cards wrap rather than cut their labels and numbers (1280×800 with DP: six cards).
    with st.container(key="fedsim_cards"):
        for col, c in zip(st.columns(len(cards)), cards):
            col.metric(c.label, c.value, c.delta, delta_color=c.delta_color, help=c.help,
                       delta_arrow="off" if c.delta_color == "off" else "auto")

    with st.container(key="tr_aborted"):
        if history and history[-1].aborted:
            st.warning(t("priv.overlay.aborted", round=history[-1].round,
                         why=safe.md(history[-1].aborted)))


def counter(sim) -> None:
    """The round counter (the page's headline) and where the round is."""
    cfg = sim.config
    tip = html.escape(t("tr.counter.help"), quote=True)
    st.html(f"<p class='fedsim-counter' title='{tip}' data-testid='fedsim-round'>"
            f"{views.round_counter(sim.round, cfg.rounds)}</p>")
    with st.container(key="tr_status"):
        if sim.in_round:
            st.markdown(t("tr.in_round", round=sim.round + 1,
                          phase=t(f"phase.{sim.next_phase}")))
        elif sim.done:
            st.success(t("tr.finished", total=cfg.rounds))
        else:
            st.caption(t("tr.counter.help"))


def cycle(sim) -> None:
    """The counter, the round as a cycle diagram, what the next phase does and what the server
    sees: one column beside the charts, so counter, cycle and accuracy share one screen."""
    cfg = sim.config
    history = sim.history
    task = sim.fed.data.task
    counter(sim)
    trace = sim.current_trace if sim.in_round else ()
    nxt = None if sim.done else sim.next_phase
    # No "round N" in the middle: the counter just above says it. The figure itself never
    # changes (a changed Plotly figure is re-mounted and blanks for a frame beside the charts,
    # and at Slow, Play lights a new phase every tick): a small style lights the phases.
    with st.container(key="tr_cycle"):
        st.html(f"<style>{cycle_css('tr_cycle', nxt, [p.phase for p in trace])}</style>")
        st.plotly_chart(cycle_figure(height=270), key="cycle", **PLOT)
    if nxt:
        what, sees = views.phase_texts(nxt, cfg)
        st.info(t("tr.now", phase=t(f"phase.{nxt}"), what=what))
        st.markdown(t("tr.server_sees", sees=sees))
    last = trace[-1] if trace else (history[-1].trace[-1] if history else None)
    if last is not None:
        st.caption(t("tr.last_phase", summary=t(
            "tr.phase_done", phase=t("phase." + last.phase),
            summary=training_views.phase_summary(last, task))))
    st.caption(t("tr.cycle_caption"))


def tabs(sim) -> None:
    """The charts, one tab each (only the open tab is drawn)."""
    cfg = sim.config
    history = sim.history
    task = sim.fed.data.task
    n_clients = cfg.clients.num_clients
    keys = [k for k in TAB_KEYS if k != "boundary" or cfg.dataset.name == "2d"]
    tabs = st.tabs([t(f"tr.tab.{k}") for k in keys], key="tr_tab", on_change="rerun")
    tab = dict(zip(keys, tabs))
    curve = views.global_curve(history, dict(sim.initial_metrics), task)
    with tab["global"]:
        if tab["global"].open:
            t1, t2 = st.columns(2)
            show_c = t1.toggle(t("tr.base.central"), key="base_central",
                               help=t("tr.base.central.help"))
            show_l = t2.toggle(t("tr.base.local"), key="base_local",
                               help=t("tr.base.local.help"))
            base = None
            if show_c or show_l:
                with st.spinner(t("tr.base.computing")):
                    allb = state.baselines(state.baseline_key(cfg))
                base = {k: v for k, v in allb.items()
                        if (k == "centralized" and show_c) or (k == "local_only" and show_l)}
            st.plotly_chart(charts.global_metric_figure(curve, base, cfg.rounds),
                            key="global_metric", **PLOT)
            st.caption(t("tr.global_caption"))
            st.plotly_chart(charts.global_loss_figure(curve, base, cfg.rounds),
                            key="global_loss", **PLOT)
            st.caption(t("tr.loss_caption"))
    with tab["clients"]:
        if tab["clients"].open:
            if not history:
                st.info(t("tr.no_rounds"))
            st.plotly_chart(charts.client_loss_figure(history, n_clients, cfg.rounds),
                            key="clients_loss", **PLOT)
            st.caption(t("tr.clients_loss_caption"))
            st.plotly_chart(charts.client_val_figure(history, n_clients, task, curve,
                                                     cfg.rounds), key="clients_val", **PLOT)
            st.caption(t("tr.clients_val_caption"))
    with tab["updates"]:
        if tab["updates"].open:
            if not history:
                st.info(t("tr.no_rounds"))
            fig = charts.update_norm_figure(history, n_clients, cfg.rounds)
            clipping = cfg.privacy.dp.mode in ("central", "local")
            if clipping:  # DP overlay: the clip bound each round
                charts.add_clip_line(fig, history)
            st.plotly_chart(fig, key="norms", **PLOT)
            st.caption(t("tr.norm_caption") + (" " + t("priv.overlay.clip_caption")
                                               if clipping else ""))
    with tab["participation"]:
        if tab["participation"].open:
            if not history:
                st.info(t("tr.no_rounds"))
            else:
                m = training_views.participation_matrix(history, n_clients)
                st.plotly_chart(charts.participation_figure(
                    m, [r.round for r in history], cfg.clients.malicious.ids),
                                key="participation", **PLOT)
                st.caption(t("tr.participation_caption"))
    if "boundary" in tab:
        with tab["boundary"]:
            if tab["boundary"].open:
                boundary_tab(sim, history)

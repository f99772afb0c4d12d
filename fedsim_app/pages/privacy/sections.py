"""The sections of the Privacy page: settings, ε (round by round, per client), clipping and
noise, and what privacy costs (a real no-DP run and a real sweep over z).

Only the engine's numbers are drawn: ε per round from ``RoundResult.privacy`` (the tightest
bound, min(RDP, PLD), and the accountant that gave it), clipping from the clients' records,
signal and noise norms from the server's reports. Whole extra runs go through
:mod:`fedsim_app.base.runs` (each configuration run once per server).
"""

from __future__ import annotations

import streamlit as st

from fedsim.config import DP_MODES, DPConfig, SimulationConfig, adaptive_clip_noise_limit

from fedsim_app.base import runs, state, views
from fedsim_app.base.controls import bound, widget_key
from fedsim_app.base.stepper import stepper
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.privacy import charts as pc
from fedsim_app.pages.privacy import views as pv

PLOT = dict(theme=None, config=PLOTLY_CONFIG)
SWEEP = "priv_sweep"  # session key of the last sweep's results
SWEEP_ASKED = "priv_sweep_asked"  # set by the sweep button's callback
PLAIN_ASKED = "priv_plain_asked"  # set by the "run without DP" button (cryptography on)
PLAIN_DONE = "priv_plain_done"  # configurations whose no-DP run is in the cache
NOISE_BY = "priv_noise_by"  # widget key of the "set z / set target ε" radio
MODE_KEY = widget_key("dp")
DEFAULT_CLIP = DPConfig().clip  # 1.0: made for whole client updates



def run_cached(cfg_json: str, progress=None) -> dict:
    """A whole engine run (curve, final metric, final ε), once per server."""
    return pv.end_view(runs.summary(SimulationConfig.from_json(cfg_json), progress))


def on_mode() -> None:
    """Mode changed. Adaptive clipping exists only for central DP: leaving central turns it
    off (and says so) instead of refusing the change."""
    new = st.session_state.get(MODE_KEY)
    if new is None:
        return
    changes = {"privacy.dp.mode": new}
    dp = state.config().privacy.dp
    repaired = new != "central" and dp.adaptive_clip
    if repaired:
        changes["privacy.dp.adaptive_clip"] = False
    # DP-SGD clips each example's gradient: the default C = 1 (made for whole updates) leaves
    # it underfitting at every z, so switching to it moves an untouched C to DP-SGD's (and back).
    reclip = None
    if new == "dpsgd" and dp.mode != "dpsgd" and dp.clip == DEFAULT_CLIP:
        reclip = pv.DPSGD_CLIP
    elif new != "dpsgd" and dp.mode == "dpsgd" and dp.clip == pv.DPSGD_CLIP:
        reclip = DEFAULT_CLIP
    if reclip is not None:
        changes["privacy.dp.clip"] = reclip
    if state.update(changes):
        if repaired:
            state.flash("info", t("priv.adaptive_off"))
        if reclip is not None:
            state.flash("info", t("cls.priv.reclip_dpsgd" if new == "dpsgd" else "cls.priv.reclip",
                                  clip=f"{reclip:g}"))


def on_noise_by() -> None:
    """Switch between a fixed z and a target ε. The target starts at the ε-step nearest to
    what the current noise would reach, so the run changes as little as possible."""
    if st.session_state.get(NOISE_BY) == "eps":
        sim = st.session_state.get(state.SIM)
        dpm = sim.pipeline.get("dp") if sim is not None and sim.config == state.config() \
            else None
        planned = dpm.planned_epsilon()[0] if dpm is not None else 8.0
        state.update({"privacy.dp.target_epsilon": pv.nearest_step(planned, pv.EPS_STEPS)})
    else:
        state.update({"privacy.dp.target_epsilon": None})


def run_to_end() -> None:
    state._with_sim(lambda sim: None if sim.done else sim.run())


def controls(cfg: SimulationConfig):
    """The DP settings (bound to the configuration). Returns a placeholder for the resolved z
    when a target ε is set (filled in once the mechanism is built), else None."""
    dp = cfg.privacy.dp
    samp = pv.sampling_info(cfg)
    st.subheader(t("priv.settings"))
    if st.session_state.get(MODE_KEY) != dp.mode:
        st.session_state[MODE_KEY] = dp.mode
    st.segmented_control(t("priv.mode"), list(DP_MODES), required=True, key=MODE_KEY,
                         format_func=lambda m: t(f"priv.mode.{m}"), help=t("priv.mode.help"),
                         on_change=on_mode)
    z_note = None
    if dp.enabled:
        if dp.mode == "central":
            bound("toggle", "adaptive", "priv.adaptive")
            st.caption(t("priv.adaptive_limit", limit=f"{adaptive_clip_noise_limit(cfg):.3g}",
                         m=f"{samp['expected']:g}"))
        bound("select_slider", "clip", "priv.clip0" if dp.adaptive_clip else "priv.clip",
              options=list(pv.CLIP_STEPS))
        if dp.adaptive_clip:
            bound("select_slider", "quantile", "priv.quantile",
                  options=list(pv.QUANTILE_STEPS))
        want = "eps" if dp.target_epsilon is not None else "z"
        if st.session_state.get(NOISE_BY) != want:
            st.session_state[NOISE_BY] = want
        st.radio(t("priv.noise_by"), ["z", "eps"], key=NOISE_BY, horizontal=True,
                 format_func=lambda v: t(f"priv.noise_by.{v}"), help=t("priv.noise_by.help"),
                 on_change=on_noise_by)
        if dp.target_epsilon is None:
            bound("select_slider", "z", "priv.z", options=list(pv.Z_STEPS))
        else:
            bound("select_slider", "eps", "priv.eps", options=list(pv.EPS_STEPS))
            z_note = st.empty()
        bound("select_slider", "delta", "priv.delta", options=list(pv.DELTA_STEPS),
              format_func=pv.fmt_delta)
        st.markdown(f"**{t('priv.who')}**")
        c1, c2 = st.columns(2)
        bound("number_input", "clients", "priv.clients", container=c1, min_value=1,
              max_value=500, step=1)
        bound("number_input", "rounds", "priv.rounds", container=c2, min_value=1,
              max_value=1000, step=1)
        bound("slider", "frac", "priv.frac", min_value=0.05, max_value=1.0, step=0.05)
        if dp.mode == "central":
            st.caption(t("priv.poisson", q=f"{samp['q']:g}", n=samp["n"],
                         m=f"{samp['expected']:g}"))

    return z_note


def epsilon_panel(sim, cfg: SimulationConfig, z_note) -> None:
    """The ε metrics, the stepper, ε round by round and (DP-SGD) every client's ε."""
    dp = cfg.privacy.dp
    samp = pv.sampling_info(cfg)
    dpm = sim.pipeline.get("dp")
    z = float(dpm.noise_multiplier)
    total = cfg.rounds
    planned = [float(e) for e in dpm.epsilon_curve(total)]  # RDP, round by round
    planned_final, planned_by = dpm.planned_epsilon(total)  # the tightest bound, min(RDP, PLD)
    pld = dpm.pld_epsilon(total)
    history = sim.history
    rounds_run, eps_run = views.epsilon_points(history)
    eps_now = eps_run[-1] if eps_run else 0.0
    if z_note is not None:
        z_note.caption(t("priv.z_resolved", z=f"{z:.3g}", eps=f"{dp.target_epsilon:g}",
                         rounds=total))

    with st.container(key="fedsim_cards_priv"):  # cards wrap, never cut (1280×800)
        m = st.columns(5)
    m[0].metric(t("priv.m.now"), views.fmt_eps(eps_now),
                help=t("priv.m.now.help", done=sim.round, total=total))
    m[1].metric(t("priv.m.planned", rounds=total), views.fmt_eps(planned_final),
                help=t("priv.m.planned.help", by=planned_by.upper()))
    m[2].metric(t("priv.m.pld"), views.fmt_eps(pld), help=t("priv.m.pld.help"))
    m[3].metric(t("priv.m.z"), f"{z:.3g}",
                help=t("priv.m.z.help_eps" if dp.target_epsilon is not None
                       else "priv.m.z.help"))
    dpsgd_q = None
    if dp.mode == "central":
        m[4].metric(t("priv.m.q"), f"{samp['q']:g}", help=t("priv.m.q.help"))
    elif dp.mode == "local":
        last = history[-1].privacy.get("participations", 0) if history else 0
        m[4].metric(t("priv.m.part"), f"{last}", help=t("priv.m.part.help"))
    else:
        med = history[-1].privacy.get("epsilon_median", 0.0) if history else 0.0
        m[4].metric(t("priv.m.median"), views.fmt_eps(med),
                    help=t("priv.m.median.help", n=dpm.accounted_size))
        dpsgd_q = pv.dpsgd_sample_rate(dpm.batch_size, dpm.accounted_size)

    with st.container(border=True):
        st.markdown(t("priv.eps_meaning", unit=t(f"priv.unit.{dp.mode}")))
        st.markdown(t("priv.eps_now_means", eps=views.fmt_eps(planned_final), rounds=total,
                      delta=pv.fmt_delta(dp.delta), odds=pv.fmt_odds(planned_final)))
    for kind, text in pv.privacy_warnings(cfg, z, planned_final, dpsgd_q):
        getattr(st, kind)(text)

    stepper(sim, "priv", phase=False, to_end=run_to_end, compact=True)
    if history and history[-1].aborted:
        st.warning(t("priv.overlay.aborted", round=history[-1].round,
                     why=history[-1].aborted))
    if not history:
        st.caption(t("priv.guess"))
    st.plotly_chart(pc.epsilon_figure(planned, rounds_run, eps_run, pld, dp.target_epsilon,
                                      total), key="priv_eps", **PLOT)
    st.caption(t("priv.cap.eps"))

    if dp.mode == "dpsgd" and history and "client_epsilons" in history[-1].privacy:
        p = history[-1].privacy
        st.plotly_chart(pc.client_epsilon_figure(p["client_epsilons"], sim.fed.client_data.counts,
                                                 p["epsilon"], p.get("worst_client")),
                        key="priv_client_eps", **PLOT)
        st.caption(t("priv.cap.client_eps", worst=p.get("worst_client"),
                     by=str(p.get("accountant", "rdp")).upper()))


def clipping_and_noise(sim, cfg: SimulationConfig) -> None:
    """Who was clipped and how loud the noise is, round by round."""
    dp = cfg.privacy.dp
    history = sim.history
    total = cfg.rounds
    n_clients = cfg.clients.num_clients
    g1, g2 = st.columns(2, gap="medium")
    with g1:
        if dp.mode == "dpsgd":
            st.info(t("priv.dpsgd_no_clip"))
        elif not history:  # round 0: an empty chart says nothing; say what will be there
            st.info(t("cls.priv.wait_clip"))
        else:
            st.plotly_chart(pc.clip_figure(history, n_clients, total), key="priv_clip", **PLOT)
            st.caption(t("priv.cap.clip_adaptive" if dp.adaptive_clip else "priv.cap.clip"))
    with g2:
        if dp.mode == "dpsgd":
            st.info(t("priv.dpsgd_no_noise_chart"))
        elif not history:
            st.info(t(f"cls.priv.wait_noise.{dp.mode}"))
        else:
            st.plotly_chart(pc.signal_noise_figure(pv.signal_noise(history, dp.mode), dp.mode),
                            key="priv_noise", **PLOT)
            st.caption(t(f"priv.cap.noise.{dp.mode}"))



def costs(sim, cfg: SimulationConfig) -> None:
    """Accuracy with and without DP (a real run) and the privacy–utility sweep."""
    dp = cfg.privacy.dp
    history = sim.history
    total = cfg.rounds
    task = sim.fed.data.task
    st.subheader(t("priv.sweep_title"))
    g3, g4 = st.columns(2, gap="medium")
    with g3:
        plain = None
        plain_key = pv.without_dp(cfg).to_json(indent=None)
        done = st.session_state.setdefault(PLAIN_DONE, set())
        # A whole extra run is cheap without cryptography; with it (HE above all) it can take
        # minutes, so then it waits for a click.
        if pv.has_crypto(cfg) and plain_key not in done:
            st.button(t("priv.plain_run"), key="priv_plain_run", icon=":material/play_arrow:",
                      help=t("priv.plain_run.help"),
                      on_click=lambda: st.session_state.update({PLAIN_ASKED: True}))
        if not pv.has_crypto(cfg) or plain_key in done or st.session_state.pop(PLAIN_ASKED, False):
            try:
                with st.spinner(t("priv.running_plain")):
                    plain = run_cached(plain_key)
                done.add(plain_key)
            except state.ENGINE_ERRORS as exc:
                st.error(t("state.build_error", error=exc))
        curve = views.global_curve(history, dict(sim.initial_metrics), task)
        st.plotly_chart(pc.with_without_figure(curve, plain["curve"] if plain else None, total),
                        key="priv_utility", **PLOT)
        st.caption(t("priv.cap.utility"))

    with g4:
        st.markdown(t("priv.sweep_intro", zs=", ".join(f"{z:g}" for z in pv.SWEEP_Z),
                      rounds=total, mode=t(f"priv.mode.{dp.mode}")))
        if pv.has_crypto(cfg):
            st.caption(t("priv.slow_crypto"))
        # The button's callback sets a flag (instead of testing the button's return value): a
        # button's one-run trigger is lost if the run restarts before reaching it, which
        # nav.ensure_frame does whenever a page is run outside the frame (AppTest does that).
        st.button(t("priv.sweep_run"), key="priv_sweep_run", type="primary",
                  icon=":material/scatter_plot:", help=t("priv.sweep_run.help"),
                  on_click=lambda: st.session_state.update({SWEEP_ASKED: True}))
        if st.session_state.pop(SWEEP_ASKED, False):
            bar = st.progress(0.0)
            points = []
            for i, zz in enumerate(pv.SWEEP_Z):
                text = t("priv.sweep_progress", z=f"{zz:g}", i=i + 1, n=len(pv.SWEEP_Z))
                bar.progress(i / len(pv.SWEEP_Z), text=text)

                def tick(r: int, i: int = i, text: str = text) -> None:
                    bar.progress((i + r / total) / len(pv.SWEEP_Z), text=text)

                try:  # a z that the rest forbids (adaptive clipping) is reported, not run
                    variant = pv.with_noise(cfg, zz).to_json(indent=None)
                    points.append(pv.sweep_point(zz, run_cached(variant, tick)))
                except state.ENGINE_ERRORS as exc:
                    st.warning(t("priv.sweep_failed", z=f"{zz:g}", error=exc))
            bar.empty()
            st.session_state[SWEEP] = {"base": pv.sweep_key(cfg), "points": points,
                                       "key": views.metric_key(task)}

        res = st.session_state.get(SWEEP)
        if not res or not res["points"]:
            st.info(t("priv.sweep_empty"))
        else:
            stale = res["base"] != pv.sweep_key(cfg)
            if stale:
                st.warning(t("priv.sweep_stale"))
            here = None
            if sim.done and not stale and views.epsilon_points(history)[1]:
                here = (views.epsilon_points(history)[1][-1], curve["metric"][-1])
            no_dp = plain["final"] if plain and not stale else None
            st.plotly_chart(pc.sweep_figure(res["points"], res["key"], no_dp, here),
                            key="priv_sweep", **PLOT)
            st.caption(t("priv.cap.sweep"))
            flat_sweep_note(res, no_dp, cfg)


def flat_sweep_note(res: dict, no_dp: float | None, cfg: SimulationConfig) -> None:
    """A sweep that is flat says why (:func:`fedsim_app.pages.privacy.views.sweep_flat`)."""
    why = pv.sweep_flat(res["points"], no_dp, res["key"])
    if why is None:
        return
    vals = [float(p["metric"]) for p in res["points"]]
    key = {"flat": "cls.priv.flat", "noise": "cls.priv.flat_noise",
           "clip": "cls.priv.flat_clip_dpsgd" if cfg.privacy.dp.mode == "dpsgd"
           else "cls.priv.flat_clip"}[why]
    st.info(t(key, lo=f"{min(vals):.3f}", hi=f"{max(vals):.3f}",
              nodp="–" if no_dp is None else f"{no_dp:.3f}", clip=f"{cfg.privacy.dp.clip:g}",
              suggest=f"{pv.DPSGD_CLIP:g}"))


"""Attacks & defences: a poisoning client against the defences, and a curious server."""

from __future__ import annotations

import streamlit as st

from fedsim_app.base import runs, state
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import t
from fedsim_app.pages.attacks import charts as ac
from fedsim_app.pages.attacks import views as av

PLOT = dict(theme=None, config=PLOTLY_CONFIG)


def render() -> None:
    st.title(t("atk.title"))
    st.caption(t("atk.intro"))
    rounds = _integrity()
    _matrix(rounds)
    _inversion()


def _integrity() -> int:
    """Step one scenario: an attack against a defence, round by round (returns its rounds)."""
    st.subheader(t("atk.integrity"))
    c1, c2, c3 = st.columns([2, 2, 1], vertical_alignment="bottom")
    attack = c1.selectbox(t("atk.attack"), list(av.ATTACKS), help=t("atk.attack.help"),
                          key="atk_attack", format_func=lambda a: t(f"atk.opt.{a}"))
    defence = c2.selectbox(t("atk.defence"), list(av.DEFENCES), help=t("atk.defence.help"),
                           key="atk_defence", format_func=lambda d: t(f"atk.opt.{d}"))
    rounds = int(c3.number_input(t("atk.rounds"), 1, 50, 8, help=t("atk.rounds.help"),
                                 key="atk_rounds"))
    cfg = av.scenario(attack, defence, rounds)
    key = cfg.to_json(None)
    if st.session_state.get("atk_sim_key") != key:
        st.session_state.pop("atk_sim", None)
        st.session_state["atk_sim_key"] = key

    def _sim():
        if "atk_sim" not in st.session_state:
            from fedsim import Simulation

            st.session_state["atk_sim"] = Simulation(cfg)
        return st.session_state["atk_sim"]

    b1, b2, _ = st.columns([1, 1, 4])
    # Callbacks, which run before the script (a rerun in between cannot lose the click).
    b1.button(t("atk.next"), key="atk_next", type="primary", help=t("atk.next.help"),
              on_click=lambda: _sim().step_round())
    b2.button(t("atk.reset"), key="atk_reset", help=t("atk.reset.help"),
              on_click=lambda: st.session_state.pop("atk_sim", None))
    sim = st.session_state.get("atk_sim")
    if sim is None or not sim.history:
        st.info(t("atk.none_yet"))
    else:
        cur = av.curves(sim.history)
        last_asr = cur["asr"][-1]
        st.markdown(t("atk.round_now", round=cur["rounds"][-1], acc=cur["acc"][-1],
                      asr="–" if last_asr is None else f"{last_asr:.1%}",
                      rejected=", ".join(map(str, cur["rejected"][-1])) or t("atk.none")))
        st.plotly_chart(ac.curves_figure(cur["rounds"], cur["acc"], cur["asr"], cur["attacked"]),
                        key="atk_curves", **PLOT)
        st.caption(t("atk.curves_caption"))
    return rounds


def on_demand(text_key: str, store: str, compute):
    """A button that runs ``compute(progress)`` (real, cached runs) with a progress bar and
    keeps its result in the session; returns the last result (or None)."""
    if st.button(t(text_key), key=store + "_run", help=t(text_key + ".help")):
        bar = st.progress(0.0)
        st.session_state[store] = compute(lambda f: bar.progress(f))
        bar.empty()
    return st.session_state.get(store)


def _matrix(rounds: int) -> None:
    """Every attack against every defence, on demand."""
    st.subheader(t("atk.matrix"))
    mat = on_demand("atk.matrix.run", "atk_matrix",
                    lambda p: av.matrix(rounds, runs.summary, progress=p))
    if mat is not None:
        st.plotly_chart(ac.matrix_figure(mat["attacks"], mat["defences"], mat["acc"], mat["asr"]),
                        key="atk_matrix", **PLOT)
        st.caption(t("atk.matrix.caption"))


def _inversion() -> None:
    """A curious server reconstructs a client's images from its update."""
    st.subheader(t("atk.inversion"))
    d1, d2, d3, d4, d5 = st.columns(5, vertical_alignment="bottom")
    batch = int(d1.number_input(t("atk.batch"), 1, 8, 1, help=t("atk.batch.help"),
                                key="atk_batch"))
    steps = int(d2.number_input(t("atk.steps"), 1, 10, 1, help=t("atk.steps.help"),
                                key="atk_steps"))
    noise = float(d3.select_slider(t("atk.noise"), [0.0, *av.NOISES], 0.0,
                                   help=t("atk.noise.help"), key="atk_noise"))
    secagg = d4.toggle(t("atk.secagg"), False, help=t("atk.secagg.help"), key="atk_secagg")
    method = d5.selectbox(t("atk.method"), ["analytic", "dlg"], help=t("atk.method.help"),
                          key="atk_method", format_func=lambda m: t(f"atk.opt.{m}"))
    with st.spinner():
        inv = av.inversion(batch, steps, noise, secagg, method, runs.cached)
    st.plotly_chart(ac.digits_figure(inv["true"][0], inv["reconstruction"][0]),
                    key="atk_digits", **PLOT)
    st.markdown(t("atk.quality", psnr=inv["psnr"], ssim=inv["ssim"],
                  sees=t(f"atk.sees.{inv['sees']}"),
                  base=inv["baseline_psnr"].get("mean", float("nan"))))
    st.caption(t("atk.inv_caption"))
    curve = on_demand("atk.eps.run", "atk_eps",
                      lambda p: av.epsilon_curve(method, runs.cached, progress=p))
    if curve is not None:
        st.plotly_chart(ac.quality_curve(curve["eps"], curve["psnr"], curve["guess"]),
                        key="atk_eps", **PLOT)
        st.caption(t("atk.eps.caption"))

"""Attacks & defences: a poisoning client against the defences, and a curious server."""

from __future__ import annotations

import streamlit as st

from fedsim_app.base import classroom, runs, state
from fedsim_app.base.controls import bound
from fedsim_app.base.stepper import stepper
from fedsim_app.base.theme import PLOTLY_CONFIG
from fedsim_app.i18n import bound_to_language, t
from fedsim_app.pages.attacks import charts as ac
from fedsim_app.pages.attacks import views as av

PLOT = dict(theme=None, config=PLOTLY_CONFIG)
#: The matrix runs 24 scenarios: each for the session's rounds, at most this many.
MATRIX_MAX_ROUNDS = 30


def render() -> None:
    st.title(t("atk.title"))
    st.caption(t("atk.intro"))
    rounds = _integrity()
    _matrix(rounds)
    _inversion()


def _integrity() -> int:
    """The session's run under its attack and defence, round by round (returns its rounds).

    The choices are changes to the session's one configuration (:mod:`fedsim_app.base.state`),
    so a lesson step, a share link or the Training page's settings show up here as they are,
    and the run is the one the Training page steps (built and stepped through the same
    guarded path: classroom limits, errors in the user's language)."""
    st.subheader(t("atk.integrity"))
    cfg = state.config()
    if classroom.hidden("training"):
        classroom.fixed_note()
        st.markdown(t("atk.fixed", attack=t(f"atk.opt.{av.attack_of(cfg)}"),
                      defence=t(f"atk.opt.{av.defence_of(cfg)}")))
    else:
        _choices(cfg)
    with st.spinner(t("tr.building")):
        sim = state.get_sim()
    if sim is None:
        return cfg.rounds  # get_sim showed why; the choices above stay usable
    stepper(sim, "atk", phase=False, to_end=state.run_to_end, compact=True)
    if not sim.history:
        st.info(t("atk.none_yet"))
    else:
        cur = av.curves(sim.history)
        last_asr = cur["asr"][-1]
        st.markdown(t("atk.round_now", round=cur["rounds"][-1], acc=cur["acc"][-1],
                      asr="–" if last_asr is None else f"{last_asr:.1%}",
                      rejected=t("list.sep").join(map(str, cur["rejected"][-1]))
                      or t("atk.none")))
    cur = av.curves(sim.history)
    st.plotly_chart(ac.curves_figure(cur["rounds"], cur["acc"], cur["asr"], cur["attacked"]),
                    key="atk_curves", **PLOT)
    st.caption(t("atk.curves_caption"))
    return cfg.rounds


def _pick(wkey: str, changes) -> None:
    """on_change of a scenario selector: its choice as changes to the configuration."""
    state.update(changes(st.session_state[wkey], state.config()))


def _choices(cfg) -> None:
    """Attack, its factor, defence and rounds: widgets that show the configuration."""
    attack, defence = av.attack_of(cfg), av.defence_of(cfg)
    # Like fedsim_app.base.controls.bound: the widget's state is set from the configuration
    # before it is drawn, so it always shows what the session runs.
    for wkey, value in (("atk_attack", attack), ("atk_defence", defence)):
        if st.session_state.get(wkey) != value:
            st.session_state[wkey] = value
    c1, c2, c3, c4 = st.columns([2, 1, 2, 1], vertical_alignment="bottom")
    label = bound_to_language(lambda v: t(f"atk.opt.{v}"))
    c1.selectbox(t("atk.attack"), ["none", *av.ATTACKS], help=t("atk.attack.help"),
                 key="atk_attack", format_func=label,
                 on_change=_pick, args=("atk_attack", av.attack_changes))
    if attack in av.FACTOR_ATTACKS:
        bound("number_input", "factor", "atk.factor", container=c2, min_value=-100.0,
              max_value=100.0, step=1.0, format="%g")
    c3.selectbox(t("atk.defence"), list(av.DEFENCES), help=t("atk.defence.help"),
                 key="atk_defence", format_func=label,
                 on_change=_pick, args=("atk_defence", av.defence_changes))
    bound("number_input", "rounds", "atk.rounds", container=c4, min_value=1, max_value=1000,
          step=1)
    also = [d for d in av.defences_on(cfg) if d != defence]
    if also:
        st.caption(t("atk.also_on", defences=t("list.sep").join(
            t(f"atk.opt.{d}") for d in also)))


def on_demand(text_key: str, store: str, compute):
    """A button that runs ``compute(progress)`` (real, cached runs) with a progress bar and
    keeps its result in the session; returns the last result (or None)."""
    if st.button(t(text_key), key=store + "_run", help=t(text_key + ".help")):
        bar = st.progress(0.0)
        st.session_state[store] = compute(lambda f: bar.progress(f))
        bar.empty()
    return st.session_state.get(store)


def _matrix(rounds: int) -> None:
    """Every attack against every defence, on demand (whole runs of the page's fixed
    scenario: digits, 10 IID clients, client 3 malicious; the session's rounds, at most
    :data:`MATRIX_MAX_ROUNDS`, and seed)."""
    st.subheader(t("atk.matrix"))
    rounds = min(rounds, MATRIX_MAX_ROUNDS)
    seed = state.config().seed
    mat = on_demand("atk.matrix.run", "atk_matrix",
                    lambda p: av.matrix(rounds, runs.summary, progress=p, seed=seed))
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
                          key="atk_method",
                          format_func=bound_to_language(lambda m: t(f"atk.opt.{m}")))
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

"""The Privacy page (and the Training page's DP overlays) headless, with ``AppTest``.

Every number on screen is compared with an independently built
:class:`fedsim.engine.simulation.Simulation` of the same configuration: ε per round, the planned ε,
the resolved noise multiplier, the no-DP curve and each point of the privacy–utility sweep.
Configurations are tiny (2-D data, 4 clients, 2–3 rounds).
"""

from __future__ import annotations


import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fedsim.config import SimulationConfig
from fedsim_app.base import params, views
from fedsim_app.i18n import t
from fedsim_app.pages.privacy import views as pv

import tests.support.app as apphelp  # noqa: E402
from tests.support.app import arr, cfg_of, chart, errors, metric, sim_of, warnings

PAGE = "pages/privacy.py"
TINY = {"data": "2d", "samples": "200", "clients": "4", "rounds": "3"}


def open_app(query: dict | None = None, page: str = PAGE) -> AppTest:
    return apphelp.open_app(query, page)


def reference(cfg: SimulationConfig, rounds: int):
    from fedsim.engine.simulation import Simulation

    sim = Simulation(cfg)
    sim.run(rounds)
    return sim


# ------------------------------------------------------------------ loads


@pytest.mark.parametrize("mode", ["off", "central", "local", "dpsgd"])
def test_page_loads_for_every_mode(mode):
    at = open_app({**TINY, "dp": mode})
    assert not errors(at)
    assert at.title[0].value == t("priv.title")
    assert at.segmented_control(key="cfg_dp").value == mode
    if mode == "off":
        assert not at.get("plotly_chart")
        return
    at.button(key="priv_next_round").click().run()
    assert not at.exception and not errors(at)
    chart(at, "priv_eps"), chart(at, "priv_utility")
    if mode != "dpsgd":
        chart(at, "priv_clip"), chart(at, "priv_noise")
    assert sim_of(at).round == 1


def test_query_params_prefill_the_widgets():
    at = open_app({**TINY, "dp": "central", "clip": "0.5", "z": "1.2"})
    cfg = cfg_of(at)
    assert cfg == params.decode({**TINY, "dp": "central", "clip": "0.5", "z": "1.2"})[0]
    assert (cfg.privacy.dp.mode, cfg.privacy.dp.clip, cfg.privacy.dp.noise_multiplier) == \
        ("central", 0.5, 1.2)
    assert at.segmented_control(key="cfg_dp").value == "central"
    assert at.select_slider(key="cfg_clip").value == 0.5
    assert at.select_slider(key="cfg_z").value == 1.2  # not a usual step: added to the slider
    assert at.radio(key="priv_noise_by").value == "z"
    assert at.number_input(key="cfg_clients").value == 4


# ------------------------------------------------------------------ the engine's numbers


def test_stepping_shows_the_engines_epsilon():
    at = open_app({**TINY, "dp": "central", "clip": "0.5", "z": "1.2", "frac": "0.5"})
    for _ in range(2):
        at.button(key="priv_next_round").click().run()
    assert not at.exception and not errors(at)
    ref = reference(cfg_of(at), 2)
    eps = [r.privacy["epsilon"] for r in ref.history]
    assert sim_of(at).history[-1].privacy == ref.history[-1].privacy
    assert metric(at, t("priv.m.now")).value == views.fmt_eps(eps[-1])
    dpm = ref.pipeline.get("dp")
    assert (metric(at, t("priv.m.planned", rounds=3)).value
            == views.fmt_eps(dpm.planned_epsilon(3)[0]))
    assert metric(at, t("priv.m.pld")).value == views.fmt_eps(dpm.pld_epsilon())
    fig = chart(at, "priv_eps")
    spent = next(d for d in fig["data"] if d["name"] == t("priv.ch.spent"))
    assert list(arr(spent["x"])) == [1, 2]
    assert arr(spent["y"]) == pytest.approx(eps)
    # signal and noise are the server's own measurements
    sn = next(d for d in chart(at, "priv_noise")["data"]
              if d["name"] == t("priv.ch.noise.central"))
    assert arr(sn["y"]) == pytest.approx(
        [r.phase("update").measurements["dp"]["noise_norm"] for r in ref.history])
    # Poisson sampling is said in the UI
    assert any("Poisson sampling" in c.value for c in at.caption)
    # run to the end: all rounds, still the engine's numbers
    at.button(key="priv_to_end").click().run()
    assert sim_of(at).round == 3 and at.button(key="priv_next_round").disabled
    full = reference(cfg_of(at), 3).history[-1].privacy
    assert metric(at, t("priv.m.now")).value == views.fmt_eps(full["epsilon"])
    # the tighter bound is the headline: here PLD, below the RDP curve's 5.00
    assert full["accountant"] == "pld" and full["epsilon"] < dpm.epsilon_at(3)


def test_without_dp_curve_is_an_independent_engine_run():
    at = open_app({**TINY, "dp": "local"})
    fig = chart(at, "priv_utility")
    plain = next(d for d in fig["data"] if d["name"] == t("priv.ch.no_dp"))
    ref = reference(pv.without_dp(cfg_of(at)), None)
    accs = [ref.initial_metrics["accuracy"]] + [r.global_metrics["accuracy"]
                                                for r in ref.history]
    assert arr(plain["y"]) == pytest.approx(accs)


def test_target_epsilon_shows_the_resolved_noise():
    from fedsim.privacy.dp import from_config

    at = open_app({**TINY, "dp": "central", "z": "1.0"})
    planned = metric(at, t("priv.m.planned", rounds=3)).value
    at.radio(key="priv_noise_by").set_value("eps").run()
    assert not at.exception and not errors(at)
    cfg = cfg_of(at)
    # the target starts at the ε step nearest to what z = 1 would have spent
    assert cfg.privacy.dp.target_epsilon == pv.nearest_step(float(planned), pv.EPS_STEPS)
    at.select_slider(key="cfg_eps").set_value(32.0).run()
    cfg = cfg_of(at)
    z = from_config(cfg).noise_multiplier
    assert metric(at, t("priv.m.z")).value == f"{z:.3g}"
    assert any(t("priv.z_resolved", z=f"{z:.3g}", eps="32", rounds=3) in c.value
               for c in at.caption)
    assert params.encode(cfg)["eps"] == "32"
    at.radio(key="priv_noise_by").set_value("z").run()
    assert cfg_of(at).privacy.dp.target_epsilon is None


def test_with_cryptography_the_no_dp_run_waits_for_a_click():
    at = open_app({**TINY, "rounds": "2", "dp": "central", "secagg": "true"})
    assert not errors(at)
    names = [d["name"] for d in chart(at, "priv_utility")["data"]]
    assert t("priv.ch.no_dp") not in names  # not run on its own: it could be slow
    at.button(key="priv_plain_run").click().run()
    assert not at.exception and not errors(at)
    names = [d["name"] for d in chart(at, "priv_utility")["data"]]
    assert t("priv.ch.no_dp") in names
    at.run()  # remembered: no button any more, the curve stays
    assert not [b for b in at.button if b.key == "priv_plain_run"]
    assert t("priv.ch.no_dp") in [d["name"] for d in chart(at, "priv_utility")["data"]]


# ------------------------------------------------------------------ settings


def test_changing_z_updates_the_config_and_resets_the_run():
    at = open_app({**TINY, "dp": "central"})
    at.button(key="priv_next_round").click().run()
    assert sim_of(at).round == 1
    at.select_slider(key="cfg_z").set_value(2.0).run()
    assert not at.exception
    assert cfg_of(at).privacy.dp.noise_multiplier == 2.0
    assert sim_of(at).round == 0
    assert any(t("state.reset") in x.proto.body for x in at.toast)
    assert at.query_params["z"] in ("2", ["2"])


def test_q_equal_one_warns_that_there_is_no_amplification():
    at = open_app({**TINY, "dp": "central"})  # fraction 1 (the default)
    assert "no amplification by sampling" in warnings(at)
    at.slider(key="cfg_frac").set_value(0.5).run()
    assert cfg_of(at).clients.fraction == 0.5
    assert "no amplification by sampling" not in warnings(at)
    assert "Few clients per round" in warnings(at)  # 2 expected clients: still honest


def test_adaptive_with_too_much_noise_is_refused_and_nothing_changes():
    at = open_app({**TINY, "dp": "central", "z": "1.0"})  # 4 clients: z must be < 0.4
    before = cfg_of(at)
    at.toggle(key="cfg_adaptive").set_value(True).run()
    assert not at.exception
    assert any("privacy.dp.noise_multiplier" in e for e in errors(at)), errors(at)
    assert cfg_of(at) == before
    assert at.toggle(key="cfg_adaptive").value is False  # the toggle springs back
    # with little enough noise it is accepted, and the quantile control appears
    at.select_slider(key="cfg_z").set_value(0.3).run()
    at.toggle(key="cfg_adaptive").set_value(True).run()
    assert not errors(at) and cfg_of(at).privacy.dp.adaptive_clip
    at.button(key="priv_next_round").click().run()
    assert not at.exception and not errors(at)
    assert at.select_slider(key="cfg_quantile").value == 0.5


def test_adaptive_with_local_mode():
    # From a link: the bad part is dropped and reported; the rest applies.
    at = open_app({**TINY, "dp": "local", "adaptive": "true"})
    assert "adaptive_clip" in warnings(at) and not at.exception
    assert not cfg_of(at).privacy.dp.adaptive_clip
    # From the controls: leaving central turns adaptive clipping off, and says so.
    at = open_app({**TINY, "dp": "central", "z": "0.3", "adaptive": "true"})
    assert not errors(at)
    at.segmented_control(key="cfg_dp").set_value("local").run()
    dp = cfg_of(at).privacy.dp
    assert (dp.mode, dp.adaptive_clip) == ("local", False)
    assert any(t("priv.adaptive_off") in i.value for i in at.info)


# ------------------------------------------------------------------ sweep


def test_sweep_points_equal_independent_engine_runs():
    at = open_app({**TINY, "rounds": "2", "dp": "central", "frac": "0.5"})
    at.button(key="priv_sweep_run").click().run()
    assert not at.exception and not errors(at)
    fig = chart(at, "priv_sweep")
    line = fig["data"][0]
    got = sorted(zip(arr(line["x"]).tolist(), arr(line["y"]).tolist()))
    want = []
    for z in pv.SWEEP_Z:
        ref = reference(pv.with_noise(cfg_of(at), z), None)
        want.append((ref.history[-1].privacy["epsilon"],
                     ref.history[-1].global_metrics["accuracy"]))
    assert np.asarray(got) == pytest.approx(np.asarray(sorted(want)))
    assert list(line["text"]) == [f"z = {z:g}" for z in sorted(pv.SWEEP_Z, reverse=True)]
    # changing the noise does not make the sweep stale; changing the data does
    at.select_slider(key="cfg_z").set_value(2.0).run()
    assert t("priv.sweep_stale") not in warnings(at)
    at.number_input(key="cfg_clients").set_value(5).run()
    assert t("priv.sweep_stale") in warnings(at)


# ------------------------------------------------------------------ Training page overlays


def test_training_page_shows_epsilon_and_the_clip_bound():
    at = open_app({**TINY, "dp": "central", "clip": "0.05"}, page="pages/training.py")
    assert metric(at, t("priv.overlay.eps")).value == "0.00"
    at.button(key="next_round").click().run()
    ref = reference(cfg_of(at), 1)
    assert metric(at, t("priv.overlay.eps")).value == \
        views.fmt_eps(ref.history[-1].privacy["epsilon"])
    at.session_state["tr_tab"] = t("tr.tab.updates")
    at.run()
    bound = next(d for d in chart(at, "norms")["data"] if d["name"] == t("priv.ch.clip_bound"))
    assert [y for y in bound["y"] if y is not None] == [0.05, 0.05]
    # without DP: no ε metric, no clip line
    plain = open_app(TINY, page="pages/training.py")
    assert t("priv.overlay.eps") not in [m.label for m in plain.metric]


def test_training_page_says_when_a_round_was_aborted():
    at = open_app({**TINY, "rounds": "2", "secagg": "true", "drop": "0.6"},
                  page="pages/training.py")
    at.button(key="next_round").click().run()
    at.button(key="next_round").click().run()
    assert not at.exception
    last = sim_of(at).history[-1]
    assert last.aborted  # seed 0: round 2 loses too many clients to unmask the sum
    assert t("priv.overlay.aborted", round=2, why=last.aborted) in warnings(at)

"""The Attacks & defences page through streamlit.testing.v1.AppTest.

The page reads and writes the session's one configuration and steps the session's one run
(``state.get_sim`` and the shared stepper), so a lesson step or a share link shows on it as it
is, and the Training page continues the same run."""

import numpy as np
import pytest

from fedsim_app.base import params
from fedsim_app.pages.attacks import views as av
from fedsim_app.base import course
from tests.support.app import arr, cfg_of, chart, open_app, sim_of, switch_page

PAGE = "pages/attacks.py"
LESSON = course.BY_ID["attacks"]


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def test_page_steps_a_backdoor_and_shows_the_inversion():
    at = open_app(page=PAGE)
    # the inversion view runs on load: analytic, batch 1, no defence → exact
    fig = chart(at, "atk_digits")
    true, recon = (arr(d["z"]).reshape(8, 8) for d in fig["data"][:2])
    assert np.abs(true - recon).max() < 1e-3
    assert any("PSNR" in m.value for m in at.markdown)
    assert at.selectbox(key="atk_attack").value == "none"  # the default configuration
    at.selectbox(key="atk_attack").set_value("backdoor").run()
    assert cfg_of(at).clients.malicious.ids == (av.MALICIOUS_ID,)
    assert cfg_of(at).clients.malicious.attack == "backdoor"
    _button(at, "atk_next_round").click().run()
    _button(at, "atk_next_round").click().run()
    assert not at.exception
    assert sim_of(at).round == 2  # the session's run: the Training page shows the same
    fig = chart(at, "atk_curves")
    names = [d["name"] for d in fig["data"]]
    assert len(names) == 3  # accuracy, attack success, malicious-round marks
    asr = arr(fig["data"][1]["y"])
    assert len(asr) == 2 and asr[-1] > 0.9  # undefended backdoor (measured 1.000)
    # secure aggregation: the server inverts the sum and gets no digit
    next(w for w in at.toggle if w.key == "atk_secagg").set_value(True).run()
    assert not at.exception
    assert any("the sum" in m.value for m in at.markdown)


def test_defence_changes_the_run_and_median_keeps_the_backdoor_out():
    at = open_app(page=PAGE)
    at.selectbox(key="atk_attack").set_value("backdoor").run()
    at.selectbox(key="atk_defence").set_value("median").run()
    assert cfg_of(at).aggregation.name == "median"
    for _ in range(3):
        _button(at, "atk_next_round").click().run()
    asr = arr(chart(at, "atk_curves")["data"][1]["y"])
    assert asr[-1] < 0.1  # measured 0.003
    # choosing another defence replaces the first (one defence at a time)
    at.selectbox(key="atk_defence").set_value("norm_bound").run()
    cfg = cfg_of(at)
    assert cfg.aggregation.name == "fedavg" and cfg.aggregation.norm_bound == 0.5
    assert sim_of(at) is None or sim_of(at).round == 0  # a new scenario starts a new run


def _expected(cfg):
    """What the page's selectors must show for ``cfg``, worked out from the config itself."""
    mal = cfg.clients.malicious
    attack = mal.attack if mal.ids else "none"
    if cfg.aggregation.name in ("median", "trimmed_mean", "krum"):
        defence = cfg.aggregation.name
    elif cfg.aggregation.norm_bound is not None:
        defence = "norm_bound"
    elif cfg.privacy.secure_aggregation.enabled:
        defence = "secagg"
    else:
        defence = "none"
    return attack, defence


def _shows(at, cfg):
    """The page shows ``cfg``: its selectors, factor and rounds, and the run it steps."""
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    attack, defence = _expected(cfg)
    assert at.selectbox(key="atk_attack").value == attack
    assert at.selectbox(key="atk_defence").value == defence
    assert at.number_input(key="cfg_rounds").value == cfg.rounds
    if attack in av.FACTOR_ATTACKS:
        assert at.number_input(key="cfg_factor").value == cfg.clients.malicious.factor
    assert cfg_of(at) == cfg
    assert sim_of(at) is not None and sim_of(at).config == cfg


@pytest.mark.parametrize("step", LESSON.steps, ids=[s.id for s in LESSON.steps])
def test_each_lesson_six_step_shows_on_the_attacks_page(step):
    """Lesson 6's setups (scale × −10, median, secure aggregation, norm bound, backdoor; 15
    rounds) reach the page: loaded into the session, then the page opened."""
    cfg = course.step_config(LESSON, step, seed=0)
    # 1) as a share link (the query string is decoded into the session's configuration)
    at = open_app(query=params.encode(cfg), page=PAGE)
    _shows(at, cfg)
    # 2) loaded into a running session (as the Lessons page loads a step), page opened after
    at = open_app()
    at.session_state["cfg"] = cfg
    switch_page(at, PAGE).run()
    _shows(at, cfg)
    # one round through the shared stepper keeps the step's configuration
    _button(at, "atk_next_round").click().run()
    assert not at.exception
    assert sim_of(at).round == 1 and sim_of(at).config == cfg


def test_lesson_six_values_are_what_the_lesson_says():
    """The first step is scale × −10 with no defence for 15 rounds (the issue's example)."""
    cfg = course.step_config(LESSON, LESSON.steps[0])
    assert (cfg.rounds, cfg.clients.malicious.attack, cfg.clients.malicious.factor) == (
        15, "scale", -10.0)
    assert _expected(cfg) == ("scale", "none")
    assert [_expected(course.step_config(LESSON, s))[1] for s in LESSON.steps] == [
        av.defence_of(course.step_config(LESSON, s)) for s in LESSON.steps]


def test_a_refused_scenario_says_why_in_the_users_language_and_keeps_the_state():
    """A choice the engine refuses goes through state.update: flashed, translated, undone."""
    at = open_app(query={"lang": "zh", "clients": "3", "he": "paillier"}, page=PAGE)
    before = cfg_of(at)
    at.selectbox(key="atk_defence").set_value("median").run()  # median cannot sum ciphertexts
    assert not at.exception
    assert cfg_of(at) == before
    assert at.error and any("中位数" in e.value or "median" in e.value or "聚合" in e.value
                            for e in at.error), [e.value for e in at.error]

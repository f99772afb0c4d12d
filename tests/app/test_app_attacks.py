"""The Attacks & defences page through streamlit.testing.v1.AppTest."""

import numpy as np

from tests.support.app import arr, chart, open_app

PAGE = "pages/attacks.py"


def _button(at, key):
    return next(b for b in at.button if b.key == key)


def test_page_steps_a_backdoor_and_shows_the_inversion():
    at = open_app(page=PAGE)
    # the inversion view runs on load: analytic, batch 1, no defence → exact
    fig = chart(at, "atk_digits")
    true, recon = (arr(d["z"]).reshape(8, 8) for d in fig["data"][:2])
    assert np.abs(true - recon).max() < 1e-3
    assert any("PSNR" in m.value for m in at.markdown)
    _button(at, "atk_next").click().run()
    _button(at, "atk_next").click().run()
    assert not at.exception
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
    at.selectbox(key="atk_defence").set_value("median").run()
    for _ in range(3):
        _button(at, "atk_next").click().run()
    asr = arr(chart(at, "atk_curves")["data"][1]["y"])
    assert asr[-1] < 0.1  # measured 0.003

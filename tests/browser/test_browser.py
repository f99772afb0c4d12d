"""The real app in a real browser: ``streamlit run`` + Playwright driving Debian's Chromium.

Checks what AppTest cannot: the page really renders (Plotly charts in the DOM), the buttons
work through the websocket, a *deep link with query parameters as the very first request* to a
fresh server restores its configuration (see :mod:`fedsim_app.frame` for why that is special),
the address bar follows the configuration, and Play's ``run_every`` timer advances rounds on
its own. It saves screenshots to ``out/screenshots/`` (ignored by git; set
``FEDSIM_SCREENSHOTS=assets`` to refresh the README's pictures).

Uses the system Chromium (``/usr/bin/chromium``; CI installs it with apt) and never runs
``playwright install``. Skips, saying why, when no Chromium or no Playwright is available.
"""

from __future__ import annotations

import os
import pathlib
import re

import pytest

from tests.support.serve import find_chromium

ROOT = pathlib.Path(__file__).resolve().parents[2]
ASSETS = ROOT / os.environ.get("FEDSIM_SCREENSHOTS", "out/screenshots")
ASSETS.mkdir(parents=True, exist_ok=True)
CHROMIUM = find_chromium()

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="no Chromium at /usr/bin/chromium "
                                 "(CI installs it with `apt-get install chromium`)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")






def _page(browser, height=1100):
    page = browser.new_page(viewport={"width": 1440, "height": height})
    page.set_default_timeout(60_000)
    return page


def _counter(page, text: str) -> None:
    page.get_by_text(text, exact=True).wait_for(state="visible", timeout=90_000)


def _idle(page) -> None:
    """Wait until Streamlit has finished the current run (the 'running' widget is gone)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "!document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)
    page.wait_for_timeout(700)


def test_training_page_steps_plays_and_keeps_its_config_in_the_url(server, browser):
    page = _page(browser)
    # The very first request to this server is a deep link with a configuration.
    page.goto(f"{server}/training?data=2d&clients=4&rounds=8&split=dirichlet&alpha=0.3"
              "&seed=1&samples=400")
    _counter(page, "Round 00/08")
    for r in (1, 2, 3):
        page.get_by_role("button", name="Next round").click()
        _counter(page, f"Round {r:02d}/08")
    assert page.locator("[data-testid=stMetricValue]").count() >= 5
    page.locator(".js-plotly-plot").first.wait_for(state="visible")
    assert page.locator(".js-plotly-plot").count() >= 3  # cycle + accuracy + loss
    # the address bar holds the configuration (a copyable share link)
    q = page.url.split("?", 1)[1]
    for part in ("data=2d", "clients=4", "rounds=8", "alpha=0.3", "seed=1"):
        assert part in q
    # two phases into round 4: the cycle lights "train"
    page.get_by_role("button", name="Next phase").click()
    page.get_by_text("Round 4 in progress", exact=False).wait_for()
    page.get_by_role("button", name="Next phase").click()
    page.get_by_text("Next: train.").wait_for()
    _idle(page)
    page.mouse.move(5, 5)  # no tooltip in the screenshot
    page.wait_for_timeout(300)
    ASSETS.mkdir(exist_ok=True)
    page.screenshot(path=str(ASSETS / "screenshot-training.png"), full_page=True)
    # Play: the fragment's timer runs the remaining rounds on its own and stops at the end.
    page.get_by_role("button", name="Play").click()
    _counter(page, "Round 08/08")
    page.get_by_role("button", name="Play").wait_for()  # Pause turned back into Play
    page.close()


def test_shared_link_restores_its_configuration(server, browser):
    page = _page(browser, height=1500)
    page.goto(f"{server}/data?clients=6&split=dirichlet&alpha=0.1&seed=4")
    page.get_by_text("Label skew score").wait_for()
    page.locator(".js-plotly-plot").nth(2).wait_for(state="visible")  # labels, sizes, digits
    assert page.get_by_role("spinbutton", name="Number of clients", exact=True
                            ).input_value() == "6"
    assert page.get_by_role("spinbutton", name="Seed", exact=True).input_value() == "4"
    assert page.get_by_role("combobox", name="How the data is split", exact=True
                            ).input_value() == "dirichlet (label skew)"
    slider = page.get_by_role("slider", name=re.compile("Label skew"))
    assert slider.get_attribute("aria-valuetext") in ("0.1", "0.10")
    code = page.locator("[data-testid=stCode]").first.inner_text()
    assert "clients=6" in code and "alpha=0.1" in code and "seed=4" in code
    _idle(page)
    page.mouse.move(5, 5)
    page.screenshot(path=str(ASSETS / "screenshot-data.png"), full_page=True)
    # the same link in a second, independent session gives the same split
    other = _page(browser)
    other.goto(page.url)
    other.get_by_text("Label skew score").wait_for()
    skew = page.locator("[data-testid=stMetricValue]").first.inner_text()
    assert other.locator("[data-testid=stMetricValue]").first.inner_text() == skew
    other.close()
    page.close()


# Samples every animation frame during Play: how many Plotly charts are drawn (have their SVG
# and a real height). A chart that is being re-created shows as a frame with fewer.
_SAMPLER = """() => { window.__s = {min: 99, frames: 0, blank: 0};
  const tick = () => {
    const ok = Array.from(document.querySelectorAll('.js-plotly-plot')).filter(
        e => e.querySelector('.main-svg') && e.getBoundingClientRect().height > 50).length;
    window.__s.min = Math.min(window.__s.min, ok); window.__s.frames++;
    if (ok < 3) window.__s.blank++;
    if (!window.__s.stop) requestAnimationFrame(tick); };
  requestAnimationFrame(tick); }"""


def _round_shown(page) -> int:
    return int(page.locator("[data-testid=fedsim-round]").inner_text().split()[1].split("/")[0])


def test_pause_stops_on_the_round_shown_and_charts_never_blank_during_play(server, browser):
    page = _page(browser)
    page.goto(f"{server}/training?data=2d&clients=4&rounds=40&samples=400&seed=2")
    _counter(page, "Round 00/40")
    page.get_by_role("button", name="Next round").click()
    _counter(page, "Round 01/40")
    page.locator(".js-plotly-plot").nth(2).wait_for(state="visible")
    _idle(page)
    page.evaluate(_SAMPLER)
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => { const c = document.querySelector('[data-testid=fedsim-round]');"
                           " return c && parseInt(c.innerText.split(' ')[1]) >= 6; }",
                           timeout=90_000)
    at_click = _round_shown(page)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)  # Pause turned into Play
    page.wait_for_timeout(3000)  # a late round would show up by now
    final = _round_shown(page)
    # The round running when the click arrived may finish; none starts after it.
    assert at_click <= final <= at_click + 1, (at_click, final)
    s = page.evaluate("() => { window.__s.stop = true; return window.__s; }")
    assert s["frames"] > 30, s
    assert s["min"] >= 3 and s["blank"] == 0, s  # cycle, accuracy and loss: always drawn
    page.close()


def test_a_crafted_link_shows_its_text_and_no_link_or_image(server, browser):
    from urllib.parse import quote, urlparse

    pixel = "![pixel](http://evil.example/pixel.png)"
    phish = "[Click here to fix your configuration](http://evil.example/phish)"
    html = "<img src=http://evil.example/x.png>"
    page = _page(browser)
    requested = []
    page.on("request", lambda r: requested.append(r.url)
            if urlparse(r.url).hostname == "evil.example" else None)
    page.goto(f"{server}/data?{quote(pixel)}=1&data={quote(phish)}&split={quote(html)}"
              "&clients=3")
    alerts = page.locator("[data-testid=stAlert]")
    page.get_by_text("Click here to fix your configuration", exact=False).first.wait_for()
    text = " ".join(alerts.all_inner_texts())
    assert "pixel.png" in text and "evil.example/phish" in text and "<img" in text
    assert page.locator("[data-testid=stAlert] a").count() == 0
    assert page.locator("img[src*='evil.example']").count() == 0
    page.wait_for_timeout(500)
    assert not requested, requested
    page.close()


_CJK_RENDERS = """() => {
  // Tofu (a missing glyph) has one width for every character; real CJK glyphs differ from it.
  const c = document.createElement('canvas').getContext('2d');
  c.font = '32px ' + getComputedStyle(document.body).fontFamily;
  const tofu = c.measureText('\\u{10FFFD}\\u{10FFFD}\\u{10FFFD}\\u{10FFFD}').width;
  return Math.abs(c.measureText('联邦学习').width - tofu) > 1;
}"""


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_lesson_one_walks_through_in_both_languages(server, browser, lang):
    """Lesson 1 step by step in a real browser: each step loads, the guess unlocks the reveal,
    the reveal shows the engine's verdict; screenshots of every step in each language."""
    from fedsim_app import i18n
    from fedsim_app.i18n import t
    from fedsim_app.base import course as lessons

    lesson = lessons.BY_ID["flow"]
    page = _page(browser, height=1000)
    page.goto(f"{server}/lessons?lang={lang}&lesson=flow&step=1")
    with i18n.language(lang):
        for i, step in enumerate(lesson.steps):
            title = t(f"lesson.flow.{step.id}.title")
            page.get_by_role("heading", name=title).wait_for(timeout=90_000)
            _idle(page)
            if i == 0 and lang == "zh":
                assert page.evaluate(_CJK_RENDERS), "Chinese glyphs render (fonts-noto-cjk)"
            reveal = page.get_by_role("button", name=t("lesson.reveal"))
            assert reveal.is_disabled(), "the reveal waits for a guess"
            page.get_by_test_id("stRadioOption").first.click()
            _idle(page)
            page.get_by_role("button", name=t("lesson.reveal")).click()
            measured = t("lesson.measured_line", text="").replace("**", "").strip(" :.：")
            page.get_by_text(measured).first.wait_for(timeout=120_000)
            _idle(page)
            # the article beside the engine (the expander itself: a step's text may name it too)
            page.get_by_test_id("stExpander").filter(has_text=t("lesson.show_code")) \
                .locator("summary").first.click()
            page.get_by_text(t("lesson.code.engine")).first.wait_for()
            page.mouse.move(0, 0)  # no tooltip over the picture
            page.wait_for_timeout(400)
            page.screenshot(path=str(ASSETS / f"lesson1-{lang}-step{i + 1}.png"), full_page=True)
            if i + 1 < len(lesson.steps):
                page.get_by_role("button", name=t("lesson.next")).click()
        assert page.get_by_text(t("lesson.done", right=0, n=6)[:6]).count() >= 1
    page.close()

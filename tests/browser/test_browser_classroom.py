"""Classroom mode and the projector fixes in a real browser (Chromium through Playwright).

What AppTest cannot see: computed font sizes, whether a label is cut off with an ellipsis,
whether two boxes overlap, whether a chart is above the fold. Each test measures the page with
``getComputedStyle`` / ``getBoundingClientRect`` at a projector's resolution (1280×800 or
1920×1080) and saves a screenshot under ``$FEDSIM_SHOTS`` (default: a temp folder).

Uses the system Chromium like ``tests/test_browser.py`` and skips, saying why, without it.
"""

from __future__ import annotations

import os
import pathlib
import tempfile

import pytest

from tests.support.serve import find_chromium

SHOTS = pathlib.Path(os.environ.get("FEDSIM_SHOTS")
                     or pathlib.Path(tempfile.gettempdir()) / "fedsim-classroom-shots")
SHOTS.mkdir(parents=True, exist_ok=True)
CHROMIUM = find_chromium()

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="no Chromium at /usr/bin/chromium "
                                 "(CI installs it with `apt-get install chromium`)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

TINY = "data=2d&clients=4&rounds=8&samples=400&seed=1"






def _page(browser, w: int, h: int):
    page = browser.new_page(viewport={"width": w, "height": h})
    page.set_default_timeout(90_000)
    return page


def _idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')",
                           timeout=90_000)
    page.wait_for_timeout(700)


def _shot(page, name: str) -> None:
    page.mouse.move(2, 2)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _sizes(page, selector: str) -> list[float]:
    """Computed font sizes (px) of the visible elements matching ``selector`` in the main area."""
    return page.evaluate("""s => Array.from(document.querySelectorAll(s))
        .filter(e => e.getBoundingClientRect().width > 0 && e.innerText.trim())
        .map(e => parseFloat(getComputedStyle(e).fontSize))""", selector)


#: Text boxes that are cut off: an ellipsis or hidden overflow with more text than room.
_CUT = """s => Array.from(document.querySelectorAll(s)).filter(e => {
    const b = e.getBoundingClientRect();
    return b.width > 0 && e.scrollWidth > e.clientWidth + 1; }).map(e => e.innerText)"""


def _box(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate(
        "e => { const b = e.getBoundingClientRect(); "
        "return {x: b.x, y: b.y, right: b.right, bottom: b.bottom, w: b.width, h: b.height}; }")


def _overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["right"] and b["x"] < a["right"] and a["y"] < b["bottom"] \
        and b["y"] < a["bottom"]


def test_presenter_view_type_is_24px_or_more_at_1920x1080(server, browser):
    page = _page(browser, 1920, 1080)
    page.goto(f"{server}/training?{TINY}&present=1")
    page.get_by_text("Round 00/08", exact=True).wait_for()
    page.get_by_role("button", name="Next round").click()
    page.get_by_text("Round 01/08", exact=True).wait_for()
    _idle(page)
    main = "[data-testid=stMain] "
    measured = {
        "metric values": _sizes(page, main + "[data-testid=stMetricValue] p"),
        "metric labels": _sizes(page, main + "[data-testid=stMetricLabel] p"),
        "round counter": _sizes(page, main + ".fedsim-counter"),
        "captions": _sizes(page, main + "[data-testid=stCaptionContainer] p"),
        "tab labels": _sizes(page, main + "[data-testid=stTab] p"),
        "widget labels": _sizes(page, main + "[data-testid=stWidgetLabel] p"),
        "body text": _sizes(page, main + "[data-testid=stMarkdownContainer] p"),
    }
    for what, sizes in measured.items():
        assert sizes, f"no {what} on the page"
        assert min(sizes) >= 24, (what, sizes)
    assert min(measured["metric values"]) >= 40 and min(measured["round counter"]) >= 48
    # the presenter view starts with the sidebar folded (the projector's width is the page's);
    # opened, its QR code of the students' link is full width
    side = page.locator("[data-testid=stSidebar]")
    assert side.count() == 0 or side.bounding_box() is None \
        or side.bounding_box()["x"] + side.bounding_box()["width"] <= 1
    page.locator("[data-testid=stExpandSidebarButton], [data-testid=stSidebarCollapsedControl] "
                 "button").first.click()
    page.wait_for_timeout(800)
    qr = _box(page, "[data-testid=stSidebar] [data-testid=stImage] img")
    assert qr["w"] >= 200, qr
    _shot(page, "present-training-1920")
    page.close()


def test_without_presenter_view_wide_screens_get_16px(server, browser):
    page = _page(browser, 1920, 1080)
    page.goto(f"{server}/training?{TINY}")
    page.get_by_text("Round 00/08", exact=True).wait_for()
    page.get_by_text("Local-only baseline", exact=True).wait_for()
    _idle(page)
    main = "[data-testid=stMain] "
    for sel in ("[data-testid=stCaptionContainer] p", "[data-testid=stTab] p",
                "[data-testid=stWidgetLabel] p", "[data-testid=stMetricLabel] p"):
        sizes = _sizes(page, main + sel)
        assert sizes and min(sizes) >= 16, (sel, sizes)
    page.close()


def test_training_at_1280x800_counter_metrics_and_chart_fit(server, browser):
    page = _page(browser, 1280, 800)
    # central DP adds a sixth card ("Privacy ε"): the layout that cut "Test accu…" and "231.…"
    page.goto(f"{server}/training?{TINY}&dp=central&clients=20&frac=0.5")
    page.get_by_text("Round 00/08", exact=True).wait_for()
    page.get_by_role("button", name="Next round").click()
    page.get_by_text("Round 01/08", exact=True).wait_for()
    _idle(page)
    cut = page.evaluate(_CUT, "[data-testid=stMain] [data-testid=stMetric] "
                              "[data-testid=stMarkdownContainer]")
    assert not cut, cut
    counter = _box(page, "[data-testid=fedsim-round]")
    for i in range(page.locator("[data-testid=stMetric]").count()):
        card = page.locator("[data-testid=stMetric]").nth(i).evaluate(
            "e => { const b = e.getBoundingClientRect(); "
            "return {x: b.x, y: b.y, right: b.right, bottom: b.bottom}; }")
        assert not _overlap(counter, card), (counter, card)
    counter_text = page.locator("[data-testid=fedsim-round]").evaluate(
        "e => [e.scrollWidth, e.clientWidth]")
    assert counter_text[0] <= counter_text[1] + 1, counter_text
    chart = _box(page, ".st-key-global_metric")
    assert chart["bottom"] <= 800 and chart["h"] > 250, chart  # Play shows the whole chart
    _shot(page, "training-dp-1280")
    page.close()


def test_privacy_crypto_and_data_labels_are_not_cut_at_1280(server, browser):
    page = _page(browser, 1280, 800)
    page.goto(f"{server}/privacy?{TINY}&dp=central")
    page.get_by_text("Differential privacy you can see").wait_for()
    _idle(page)
    group = _box(page, ".st-key-cfg_dp [role=radiogroup]")
    buttons = page.locator(".st-key-cfg_dp [role=radiogroup] button")
    assert buttons.count() == 4
    for i in range(4):  # every option fully inside its control ("DF" was DP-SGD, cut off)
        b = buttons.nth(i).evaluate("e => { const r = e.getBoundingClientRect(); "
                                    "return {x: r.x, right: r.right, w: r.width}; }")
        assert b["x"] >= group["x"] - 1 and b["right"] <= group["right"] + 1, (b, group)
    assert page.get_by_role("radio", name="DP-SGD").is_visible()
    cut = page.evaluate(_CUT, "[data-testid=stMain] [data-testid=stMetric] "
                              "[data-testid=stMarkdownContainer]")
    assert not cut, cut
    # round 0: the clip and noise charts say what will be there
    assert page.get_by_text("No round yet. After Next round, each client's update").is_visible()
    _shot(page, "privacy-1280")

    page.goto(f"{server}/crypto?{TINY}&zkp=true&bound=1")
    page.get_by_text("What the server sees").first.wait_for()
    _idle(page)
    cut = page.evaluate(_CUT, ".st-key-crypto_zkp [data-testid=stMarkdownContainer]")
    assert not cut, cut  # "Zero-knowledge range p…"
    _shot(page, "crypto-1280")

    page.goto(f"{server}/data?clients=6&split=pathological")
    page.get_by_text("Label skew score").wait_for()
    _idle(page)
    box = page.locator(".st-key-cfg_split input")  # the select shows its value in an input
    assert box.input_value() == "pathological (few classes each)"
    fit = box.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert fit[0] <= fit[1] + 1, fit  # not cut
    _shot(page, "data-1280")
    page.close()


def test_hidden_controls_stay_hidden_on_every_page_and_in_the_url(server, browser):
    page = _page(browser, 1280, 800)
    page.goto(f"{server}/data?{TINY}&hide=seed,split,files")
    page.get_by_text("Label skew score").wait_for()
    _idle(page)
    assert page.get_by_role("spinbutton", name="Seed", exact=True).count() == 0
    assert page.get_by_role("combobox", name="How the data is split", exact=True).count() == 0
    assert page.get_by_role("spinbutton", name="Number of clients", exact=True).count() == 1
    page.get_by_role("link", name="Training").first.click()
    page.get_by_text("Round 00/08", exact=True).wait_for()
    _idle(page)
    assert page.get_by_role("spinbutton", name="Seed", exact=True).count() == 0
    from urllib.parse import parse_qs, urlparse

    hide = parse_qs(urlparse(page.url).query)["hide"][0]  # back in the address bar
    assert hide == "seed,files,split"  # the table's order
    page.reload()
    page.get_by_text("Round 00/08", exact=True).wait_for()
    _idle(page)
    assert page.get_by_role("spinbutton", name="Seed", exact=True).count() == 0
    _shot(page, "hidden-training-1280")
    page.close()


def test_loading_a_preset_is_confirmed_where_the_click_was(server, browser):
    page = _page(browser, 1280, 800)
    page.goto(f"{server}/")
    card = page.get_by_text("Label skew, alpha = 0.1").first
    card.wait_for()
    _idle(page)
    card.scroll_into_view_if_needed()
    page.locator(".st-key-preset_label-skew").get_by_role("button", name="Load", exact=True).click()
    toast = page.locator("[data-testid=stToast]").filter(has_text="Loaded")
    toast.first.wait_for()
    box = toast.first.evaluate("e => { const b = e.getBoundingClientRect(); "
                               "return [b.top, b.bottom]; }")
    assert 0 <= box[0] and box[1] <= 800, box  # on screen, not above the cards
    _shot(page, "preset-loaded-1280")
    page.close()

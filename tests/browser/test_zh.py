"""Chinese a teacher would sign, as Chromium shows it (issue #23).

Each page in Chinese at 1280×800: no ASCII ``:`` ``,`` ``(`` ``;`` right after a Chinese
character anywhere on the page (text, legends, axis titles), no Streamlit English on the file
uploaders ("Upload", "1MB per file • JSON": hidden, the button says 上传), option values shown
by their catalogue names (the aggregator is "FedAvg（平均）", not ``fedavg``), and a
regression split's legend says 目标值区间 0…4, not "bin 0". Screenshots go to ``out/screenshots/zh-*.png``
(``$FEDSIM_SCREENSHOTS`` to put them elsewhere).

Uses the system Chromium like ``tests/browser/test_browser.py`` and skips without it.
"""

from __future__ import annotations

import os
import pathlib
import re

import pytest

from tests.support.serve import find_chromium

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHOTS = ROOT / os.environ.get("FEDSIM_SCREENSHOTS", "out/screenshots")
SHOTS.mkdir(parents=True, exist_ok=True)
CHROMIUM = find_chromium()
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="no Chromium at /usr/bin/chromium "
                                 "(CI installs it with `apt-get install chromium`)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CJK = "\u3400-\u4dbf\u4e00-\u9fff"
ASCII_AFTER_CJK = re.compile(f"[{CJK}][:,(;]")
TINY = "clients=4&rounds=3&seed=1"
#: The pages checked (the Lessons page is checked by the lessons' own browser test).
PAGES = ("overview", "data", "training", "compare", "privacy", "crypto", "attacks")






def _idle(page) -> None:
    page.wait_for_timeout(500)
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')",
                           timeout=90_000)
    page.wait_for_timeout(1000)


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(90_000)
    page.goto(url)
    page.locator("[data-testid=stSidebar]").wait_for()
    page.locator("[data-testid=stMainBlockContainer]").wait_for()
    _idle(page)
    return page


def _text(page) -> str:
    """Everything the page shows as text, the charts' SVG text included."""
    return page.evaluate("""() => {
        const svg = Array.from(document.querySelectorAll('svg text')).map(e => e.textContent);
        return document.body.innerText + '\\n' + svg.join('\\n'); }""")


@pytest.mark.parametrize("name", PAGES)
def test_each_page_in_chinese(server, browser, name):
    page = _open(browser, f"{server}/{name}?lang=zh&{TINY}")
    if name in ("training", "attacks", "crypto"):
        page.get_by_role("button", name="下一轮").first.click()  # a round: charts with data
        _idle(page)
    text = _text(page)
    bad = sorted({m.group() for m in ASCII_AFTER_CJK.finditer(text)})
    context = [text[max(0, m.start() - 20):m.end() + 20] for m in ASCII_AFTER_CJK.finditer(text)]
    assert not bad, context[:10]
    # Streamlit's own English on the uploaders is hidden; the button says 上传
    assert "per file" not in text and "Upload" not in text, name
    uploaders = page.locator("[data-testid=stFileUploaderDropzone]")
    for i in range(uploaders.count()):
        after = uploaders.nth(i).evaluate(
            "e => getComputedStyle(e.querySelector('[data-testid=stBaseButton-secondary] "
            "[data-testid=stMarkdownContainer]'), '::after').content")
        assert after == '"上传"', after
    page.mouse.move(5, 5)
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / f"zh-{name}.png"), full_page=True)
    page.close()


def test_options_show_their_catalogue_names(server, browser):
    page = _open(browser, f"{server}/training?lang=zh&{TINY}")
    page.get_by_text("训练设置（更改后将重置运行）").first.click()  # the settings
    _idle(page)
    shown = {name: page.get_by_role("combobox", name=name, exact=True).input_value()
             for name in ("客户端优化器", "模型", "聚合方法", "服务器优化器")}
    assert shown == {"客户端优化器": "SGD（随机梯度下降）", "模型": "自动（数据集的默认模型）",
                     "聚合方法": "FedAvg（平均）",
                     "服务器优化器": "SGD"}, shown
    page.get_by_role("combobox", name="模型", exact=True).click()
    options = page.get_by_role("option").all_inner_texts()
    assert "文章中的多层感知机（Dense 10 → 1）" in options, options
    assert not {"seed_mlp", "mlp", "cnn", "logistic", "auto"} & set(options), options
    page.keyboard.press("Escape")
    page.screenshot(path=str(SHOTS / "zh-training-settings.png"), full_page=True)
    page.close()


def test_a_regression_split_legend_is_chinese(server, browser):
    page = _open(browser, f"{server}/data?lang=zh&data=seed_regression&split=dirichlet"
                          "&alpha=0.3&clients=4&samples=400")
    page.locator(".js-plotly-plot .legendtext").first.wait_for()
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert "目标值区间 0" in legend, legend
    assert not any(s.startswith("bin ") for s in legend), legend
    page.close()

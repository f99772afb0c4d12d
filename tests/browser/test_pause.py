"""Pause obeys at every speed, on a busy machine too (issue #23): Chromium clicks Pause at slow,
normal and fast speed, five times each, while two busy-loop processes (bounded in time) load
the CPU, and checks that

- the round counter never moves more than one round past the round shown when the click
  happened (the round already running may finish; none starts after the click), measured
  by the page itself: a capturing click listener records the counter at the click, and a
  sampler every 50 ms records every round shown afterwards;
- one click is enough (Pause turns back into Play without a second click);
- no chart blanks while playing and pausing: the same sampler counts the Plotly charts that
  are drawn (their SVG present, a real height) every 50 ms; the cycle, accuracy and loss
  charts are there at every sample.

Uses the system Chromium like ``tests/browser/test_browser.py`` and skips without it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time

import pytest

from tests.support.serve import find_chromium

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="no Chromium at /usr/bin/chromium "
                                 "(CI installs it with `apt-get install chromium`)")]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

# Seconds of one round while playing (fedsim_app/pages/training/sections.py: slow steps phase
# by phase, 8 x 0.45 s a round).
SPEEDS = {"slow": 3.6, "normal": 0.8, "fast": 0.3}
TRIES = 5
#: Busy processes the test starts (each spins one core), and how long they may live at most.
LOAD_PROCS, LOAD_SECONDS = 2, 900
LINK = "training?data=2d&clients=4&rounds=400&samples=400&seed=3"
CHARTS = 3  # cycle, accuracy, loss (the Global model tab)

# Every 50 ms: how many Plotly charts are drawn, and the round shown. A capturing click
# listener (it runs before React's) records the round shown when Pause is clicked.
_SAMPLER = """() => {
  const round = () => { const c = document.querySelector('[data-testid=fedsim-round]');
                        return c ? parseInt(c.innerText.split(' ')[1]) : -1; };
  window.__p = {samples: 0, blank: 0, min: 99, blankAt: [], click: null, maxAfter: -1};
  document.addEventListener('click', e => {
    const b = e.target.closest('button');
    if (b && b.innerText.includes('Pause') && window.__p.click === null)
      window.__p.click = round();
  }, true);
  window.__round = round;
  window.__timer = setInterval(() => {
    const ok = Array.from(document.querySelectorAll('.js-plotly-plot')).filter(
        e => e.querySelector('.main-svg') && e.getBoundingClientRect().height > 50).length;
    const p = window.__p;
    p.samples++; p.min = Math.min(p.min, ok);
    if (ok < %d) { p.blank++; if (p.blankAt.length < 5) p.blankAt.push({
        round: round(), ok: ok, afterClick: p.click !== null, status:
        !!document.querySelector('[data-testid=stStatusWidget]'),
        charts: Array.from(document.querySelectorAll('[data-testid=stPlotlyChart]')).map(
          e => [(e.closest('[class*=st-key-]') || e).className.match(/st-key-[\\w-]+/)?.[0],
                !!e.querySelector('.main-svg'), Math.round(e.getBoundingClientRect().height)])}); }
    if (p.click !== null) p.maxAfter = Math.max(p.maxAfter, round());
  }, 50);
}""" % CHARTS






@pytest.fixture()
def cpu_load():
    """Busy loops on ``LOAD_PROCS`` cores for the test's length (each ends by itself after
    ``LOAD_SECONDS`` at most, and is stopped when the test ends)."""
    code = f"import time\nend = time.time() + {LOAD_SECONDS}\nwhile time.time() < end: pass\n"
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(LOAD_PROCS)]
    try:
        yield procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def _round(page) -> int:
    return page.evaluate("() => window.__round()")


def _idle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')",
                           timeout=60_000)
    page.wait_for_timeout(500)


def test_pause_obeys_at_every_speed_under_cpu_load(server, browser, cpu_load):
    rng = random.Random(23)
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.set_default_timeout(60_000)
    page.goto(f"{server}/{LINK}")
    page.get_by_text("Round 000/400", exact=True).wait_for(timeout=120_000)
    page.get_by_role("button", name="Next round").click()
    page.get_by_text("Round 001/400", exact=True).wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").nth(CHARTS - 1).wait_for(state="visible")
    _idle(page)
    assert all(p.poll() is None for p in cpu_load), "the CPU load is running"
    results = []
    for speed, interval in SPEEDS.items():
        page.get_by_role("radio", name=speed, exact=True).or_(
            page.get_by_role("button", name=speed, exact=True)).first.click()
        _idle(page)
        for i in range(TRIES):
            page.evaluate(_SAMPLER)
            start = _round(page)
            page.get_by_role("button", name="Play").click()
            # Pause after 1-3 rounds, at a random moment inside a round.
            target = start + rng.randint(1, 3)
            page.wait_for_function(f"() => window.__round() >= {target}", timeout=90_000)
            page.wait_for_timeout(rng.uniform(0, interval * 1000))
            page.get_by_role("button", name="Pause").click()
            t0 = time.monotonic()
            # One click pauses: Play is back without a second click.
            page.get_by_role("button", name="Play").wait_for(timeout=30_000)
            waited = time.monotonic() - t0
            page.wait_for_timeout(max(3000, 2.5 * interval * 1000))  # a late round shows by now
            s = page.evaluate("() => { clearInterval(window.__timer); return window.__p; }")
            final = _round(page)
            results.append((speed, i, s["click"], final, s["maxAfter"], s["min"], s["blank"],
                            round(waited, 1)))
            assert s["click"] is not None and s["click"] >= target, (speed, i, s)
            assert s["click"] <= final <= s["click"] + 1, (speed, i, s, final, results)
            assert s["maxAfter"] <= s["click"] + 1, (speed, i, s, results)
            assert s["samples"] > 20, s
            assert s["blank"] == 0 and s["min"] >= CHARTS, json.dumps([speed, i, s, results])
    # At slow speed the cycle lights each phase as it runs: the status line names the next
    # phase, and while playing it moves through the round's phases one tick at a time.
    page.get_by_role("radio", name="slow", exact=True).or_(
        page.get_by_role("button", name="slow", exact=True)).first.click()
    _idle(page)
    page.get_by_role("button", name="Play").click()
    seen = []
    for _ in range(60):
        text = page.locator(".st-key-tr_status").inner_text()
        if "next:" in text:
            phase = text.split("next:")[-1].strip()
            if not seen or seen[-1] != phase:
                seen.append(phase)
        page.wait_for_timeout(100)
    page.get_by_role("button", name="Pause").click()
    page.get_by_role("button", name="Play").wait_for(timeout=30_000)
    assert len(set(seen)) >= 4, seen
    assert all(p.poll() is None for p in cpu_load), "the load lasted the whole test"
    print("\nspeed, try, round at click, final, most shown after, fewest charts, blank samples,"
          " s to Play")
    for r in results:
        print(*r)
    page.close()

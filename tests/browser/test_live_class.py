"""A live class in Chromium (issue #24): one teacher and five students (two on a 390×844 phone),
each in their own browser context, against one real server.

Join by the link the QR code encodes, answer a posed step (the projector's chart is the class's
answers), switch to federation mode, two students attack and one drops out, the teacher steps
two rounds, every phone shows its own client's numbers and the projector the server's view; a
forged teacher token is refused; ending the class frees it (the lobby's count of live classes
on the server is back to 0). On the phones the language switch is clear of Streamlit's fixed
header; the projector's chart and step picker are in type a classroom's back row can read."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}
ANSWERS = [0, 0, 1, 0, 1]  # which option each student picks
CHOICES = {1: "scale ×10", 2: "label flip 1→7", 3: "drop out"}


def _seg(page, name: str):
    """A segmented-control option (a radio or a button, depending on the Streamlit version)."""
    return page.get_by_role("radio", name=name, exact=True).or_(
        page.get_by_role("button", name=name, exact=True)).first


def _wait_text(page, text: str, timeout: float = 60_000):
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)


def _switch_clear_of_header(page) -> None:
    """The phone's language switch lies below Streamlit's fixed header, inside the viewport,
    and a tap on each option reaches the option (not the header)."""
    header = page.get_by_test_id("stHeader").bounding_box()
    vw, vh = page.viewport_size["width"], page.viewport_size["height"]
    for name in ("中文", "English"):
        option = _seg(page.locator(".st-key-live_lang"), name)
        box = option.bounding_box()
        assert box["y"] >= header["y"] + header["height"], (name, box, header)
        assert box["x"] >= 0 and box["x"] + box["width"] <= vw and box["y"] + box["height"] <= vh
        hit = option.evaluate("e => { const r = e.getBoundingClientRect(); "
                              "return e.contains(document.elementFromPoint("
                              "r.x + r.width / 2, r.y + r.height / 2)); }")
        assert hit, name


def test_live_class_teacher_and_five_students(server, browser):
    teacher_ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
    teacher = teacher_ctx.new_page()
    teacher.set_default_timeout(60_000)
    teacher.goto(f"{server}/live?lang=en")
    teacher.get_by_role("button", name="Start a live class").click()
    code = teacher.get_by_test_id("live-code").inner_text(timeout=90_000).replace(" ", "")
    assert re.fullmatch(r"[A-Z2-9]{6}", code), code
    assert teacher.locator(".st-key-live_qr img").is_visible()
    link = teacher.locator("[data-testid=stCode] code").filter(has_text="class=").first.inner_text().strip()
    assert link.endswith(f"/live?class={code}") and "teacher" not in link and "present" not in link
    token = re.search(r"teacher=([\w-]+)", teacher.url).group(1)

    phones = []
    for i in range(5):
        ctx = browser.new_context(viewport=PHONE if i < 2 else LAPTOP)
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        page.goto(link + "&lang=en")
        page.get_by_role("textbox", name="Your display name").fill(f"Student {i}")
        page.get_by_role("button", name="Join", exact=True).click()
        _wait_text(page, f"as Student {i}")
        if i < 2:
            _switch_clear_of_header(page)
        phones.append(page)
    # the switch in Chinese too (its own language: the page's type, not the teacher's)
    _seg(phones[1].locator(".st-key-live_lang"), "中文").click()
    _wait_text(phones[1], "Student 1")
    phones[1].get_by_text("你已").first.wait_for()
    _switch_clear_of_header(phones[1])
    _seg(phones[1].locator(".st-key-live_lang"), "English").click()
    _wait_text(phones[1], "as Student 1")
    teacher.get_by_text("Student 4").wait_for()
    assert teacher.get_by_test_id("stMetricValue").first.inner_text().strip() == "5"

    # Answer together: the first step (lesson 1, step 1), posed to every phone.
    teacher.get_by_role("button", name="Ask the class").click()
    # under way, the code and QR code fold into one line: the tally is on the first screen
    tally = teacher.get_by_text("of 5 answered").first
    tally.wait_for()
    teacher.evaluate("window.scrollTo(0, 0)")
    teacher.wait_for_timeout(300)
    assert tally.bounding_box()["y"] + tally.bounding_box()["height"] <= 1000
    for i, page in enumerate(phones):
        radios = page.locator("[data-testid=stRadio] [role=radiogroup] label")
        radios.first.wait_for()
        radios.nth(ANSWERS[i]).click()
        _wait_text(page, "Sent:")
    _wait_text(teacher, "5 of 5 answered")
    teacher.get_by_role("button", name="Reveal").click()
    chart = teacher.locator(".js-plotly-plot").first
    chart.wait_for(timeout=90_000)
    bars = chart.evaluate("el => el.data[0].x")
    assert bars[:2] == [ANSWERS.count(0), ANSWERS.count(1)] and sum(bars) == 5
    # readable from the back of the room: the chart's ticks and hover text, the step picker
    sizes = chart.evaluate("el => [el._fullLayout.xaxis.tickfont.size, "
                           "el._fullLayout.yaxis.tickfont.size, el._fullLayout.hoverlabel.font.size]")
    assert min(sizes) >= 20, sizes
    picker = teacher.locator(".st-key-live_step input")
    assert picker.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 20
    for page in phones:
        _wait_text(page, "the engine", timeout=30_000)  # own answer against the engine's

    # Be the federation: five clients, two attack, one drops out.
    _seg(teacher, "Be the federation").click()
    teacher.get_by_role("button", name="Start the federation").click()
    for page in phones:
        _wait_text(page, "You are client", timeout=120_000)
    for i, label in CHOICES.items():
        _seg(phones[i], label).click()
        phones[i].wait_for_timeout(300)
    # Student 0 (a phone) draws a "1" for their client and consents to the reconstruction.
    drawer = phones[0]
    canvas = drawer.locator("canvas").first
    canvas.wait_for()
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    # (below the canvas's own toolbar, which floats over its top 40 px while hovered)
    drawer.mouse.move(box["x"] + 110, box["y"] + 60)
    drawer.mouse.down()
    for k in range(1, 20):
        drawer.mouse.move(box["x"] + 112 + k * 0.5, box["y"] + 60 + 7 * k)
    drawer.mouse.up()
    drawer.wait_for_timeout(1000)
    drawer.get_by_role("button", name="Add this drawing").click()
    _wait_text(drawer, "Your drawings: 1")
    drawer.get_by_text("Let the server try to rebuild my drawing").click()
    drawer.wait_for_timeout(1500)
    teacher.wait_for_timeout(2500)  # the last choice reaches the class (each phone polls 2 s)
    teacher.get_by_role("button", name="Next round").click()
    _wait_text(teacher, "Round 1:")
    teacher.get_by_role("button", name="Next round").click()
    _wait_text(teacher, "Round 2:")
    summary = teacher.get_by_text("Round 2:").first.inner_text()
    assert "4 of 5 updates arrived" in summary and "1 dropped out" in summary
    assert teacher.locator(".js-plotly-plot").count() >= 3  # accuracy, norms, the drawing
    rebuilt = teacher.get_by_text("Client 0: rebuilt from its update in the clear").first
    psnr = float(re.search(r"([\d.]+) dB", rebuilt.inner_text()).group(1))
    assert psnr > 40  # one drawing: the server's copy is exact
    for i, page in enumerate(phones):
        _wait_text(page, "Round 2", timeout=30_000)
        if i == 3:
            _wait_text(page, "dropped out")
        else:
            page.get_by_text("Update length").first.wait_for()
            _wait_text(page, "The server accepted your update")

    # A forged teacher token is refused and shows no projector.
    forged = browser.new_context().new_page()
    forged.goto(f"{server}/live?class={code}&teacher={token[:-2]}xx&lang=en")
    _wait_text(forged, "Only the teacher can do that")
    assert forged.get_by_role("button", name="Next round").count() == 0

    # Ending the class frees it.
    teacher.get_by_text("Class settings").click()
    teacher.get_by_role("button", name="End the class").click()
    _wait_text(teacher, "The class has ended")
    lobby = browser.new_context().new_page()
    lobby.goto(f"{server}/live?lang=en")
    _wait_text(lobby, "Live classes running on this server: 0")
    phones[0].reload()
    _wait_text(phones[0], "This class has ended")


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_projector_shows_the_whole_qr_code_with_the_sidebar_folded(server, browser, size):
    w, h = size
    ctx = browser.new_context(viewport={"width": w, "height": h})
    page = ctx.new_page()
    page.set_default_timeout(90_000)
    page.goto(f"{server}/live?start=1&lang=zh")
    page.get_by_test_id("live-code").wait_for()
    qr = page.locator(".st-key-live_qr img")
    qr.wait_for()
    page.wait_for_timeout(500)
    box = qr.bounding_box()
    assert box["width"] == pytest.approx(box["height"], abs=1)  # square, not stretched
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= w and box["y"] + box["height"] <= h, box
    assert box["width"] >= 300  # readable from the back of the room
    sidebar = page.locator("[data-testid=stSidebar]")
    assert sidebar.count() == 0 or sidebar.bounding_box() is None \
        or sidebar.bounding_box()["x"] + sidebar.bounding_box()["width"] <= 1
    size_px = page.get_by_test_id("live-code").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert size_px >= 48
    ctx.close()

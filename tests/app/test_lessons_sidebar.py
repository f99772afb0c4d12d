"""Lessons opened the way a student opens them: from the sidebar, step by step, in both
languages; a change made on a step is kept; the score counts answered steps only.

Every test starts on another page and reaches Lessons through the sidebar (``switch_page``),
then picks the lesson and the step with the page's own controls. The session's configuration
must be ``course.step_config(lesson, step, seed)`` for the step on screen.
"""

from __future__ import annotations

import pytest

from tests.support.app import cfg_of, open_app, switch_page
from fedsim_app import i18n
from fedsim_app.base import params
from fedsim_app.i18n import STRINGS
from fedsim_app.base import course
from fedsim_app.pages.lessons import views as lv


def _captions(at) -> list[str]:
    return [c.value for c in at.caption]


def _from_the_sidebar(lang: str):
    """The app opened on its first page, then Lessons chosen in the sidebar."""
    at = open_app({"lang": lang})
    switch_page(at, "pages/lessons.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", i18n.LANGS)
@pytest.mark.parametrize("lesson", course.LESSONS, ids=[les.id for les in course.LESSONS])
def test_every_step_opens_from_the_sidebar_with_its_setup(lesson, lang):
    at = _from_the_sidebar(lang)
    first = course.LESSONS[0]
    # Opening Lessons loads the step it shows: lesson 1 step 1, not the app's default setup.
    assert at.session_state["lesson_pos"] == (first.id, 0)
    assert cfg_of(at) == course.step_config(first, first.steps[0], seed=0)
    assert STRINGS[lang]["lesson.setup_differs"] not in _captions(at), "nothing was changed"
    if lesson is not first:
        at.selectbox(key="lesson_pick").set_value(lesson.id).run()
        assert not at.exception, at.exception
    for j, step in enumerate(lesson.steps):
        at.button_group(key="lesson_step_pick").set_value(j).run()
        assert not at.exception, at.exception
        assert at.session_state["lesson_pos"] == (lesson.id, j)
        assert cfg_of(at) == course.step_config(lesson, step, seed=0), (lesson.id, step.id)
        with i18n.language(lang):
            assert lv.text(lesson, step, "title", seed=0) in [h.value for h in at.subheader]
        assert STRINGS[lang]["lesson.setup_differs"] not in _captions(at)
        assert at.query_params["lesson"] == lesson.id and at.query_params["step"] == str(j + 1)
    # Away to another page and back through the sidebar: still the step's setup. (Training:
    # AppTest re-formats some pages' options outside the run, in English, which breaks their
    # radios in Chinese; that is the test harness, not the app.)
    last = lesson.steps[-1]
    switch_page(at, "pages/training.py").run()
    assert not at.exception, at.exception
    switch_page(at, "pages/lessons.py").run()
    assert at.session_state["lesson_pos"] == (lesson.id, len(lesson.steps) - 1)
    assert cfg_of(at) == course.step_config(lesson, last, seed=0)


def test_the_step_shown_is_loaded_even_after_another_page_changed_the_setup_first():
    """A setting changed before any lesson was open is not the lesson's: opening Lessons
    replaces it with the step's setup."""
    at = open_app({"epochs": "7", "split": "dirichlet"})
    assert cfg_of(at).training.local_epochs == 7
    switch_page(at, "pages/lessons.py").run()
    first = course.LESSONS[0]
    assert cfg_of(at) == course.step_config(first, first.steps[0], seed=0)


def test_a_change_made_on_a_step_is_kept_and_flagged_until_reloaded():
    lesson = course.BY_ID["noniid"]
    at = open_app({"lesson": "noniid", "step": "2"}, "pages/lessons.py")
    step = lesson.steps[1]
    assert cfg_of(at) == course.step_config(lesson, step, seed=0)
    switch_page(at, "pages/training.py").run()
    # The student changes a setting of this step on the Training page.
    changed = params.with_changes(cfg_of(at), {"training.local_epochs": 3})
    at.session_state["cfg"] = changed
    switch_page(at, "pages/lessons.py").run()
    assert cfg_of(at) == changed, "a deliberate change on this step is kept"
    assert STRINGS["en"]["lesson.setup_differs"] in _captions(at)
    at.button(key="lesson_reload").click().run()
    assert cfg_of(at) == course.step_config(lesson, step, seed=0)
    assert STRINGS["en"]["lesson.setup_differs"] not in _captions(at)
    # A new seed is no change: the step's setup with that seed.
    at.session_state["cfg"] = course.step_config(lesson, step, seed=5)
    switch_page(at, "pages/training.py").run()
    switch_page(at, "pages/lessons.py").run()
    assert cfg_of(at) == course.step_config(lesson, step, seed=5)
    assert STRINGS["en"]["lesson.setup_differs"] not in _captions(at)
    # Another step loads its own setup (with the seed in use).
    at.button(key="lesson_next").click().run()
    assert cfg_of(at) == course.step_config(lesson, lesson.steps[2], seed=5)


def test_the_score_counts_answered_steps_and_appears_when_all_are():
    """k of n steps answered (0 < k < n): no score; all n: the number of matches. The progress
    line and the ✓ marks count a reveal in the rerun that shows it."""
    lesson = course.BY_ID["weights"]
    n = len(lesson.steps)
    at = open_app({"lesson": "weights", "step": "1"}, "pages/lessons.py")
    matched = 0
    for j, step in enumerate(lesson.steps):
        if j:
            at.button(key="lesson_next").click().run()
        guess = step.options[j % len(step.options)]  # right on some steps, wrong on others
        at.radio[0].set_value(guess).run()
        at.button(key=f"lesson_reveal_weights.{step.id}").click().run()
        assert not at.exception, at.exception
        matched += guess == course.evaluate(lesson, step, 0)["truth"]
        progress = at.get("progress")[0].proto.text
        assert STRINGS["en"]["lesson.progress"].format(done=j + 1, n=n) in progress
        marks = at.button_group(key="lesson_step_pick").options
        assert marks == [("✓ " if k <= j else "") + str(k + 1) for k in range(n)]
        done = STRINGS["en"]["lesson.done"].format(right=matched, n=n)
        scores = [s.value for s in at.success if "guesses matched" in s.value]
        if j + 1 < n:
            assert not scores, (j, scores)
        else:
            assert scores == [done]
    assert 0 < matched < n, "the guesses above are a mix of right and wrong"


def test_no_score_for_a_lesson_with_unanswered_steps():
    """Straight to the last step, answered: one of n steps answered, no score, and a note of
    how many are left."""
    lesson = course.BY_ID["weights"]
    n = len(lesson.steps)
    at = open_app({"lesson": "weights", "step": str(n)}, "pages/lessons.py")
    step = lesson.steps[-1]
    at.radio[0].set_value(step.claim).run()
    at.button(key=f"lesson_reveal_weights.{step.id}").click().run()
    assert not [s.value for s in at.success if "guesses matched" in s.value]
    assert STRINGS["en"]["lesson.score_pending"].format(left=n - 1) in _captions(at)
    assert at.session_state["lesson_guesses"] == {"weights." + step.id: step.claim}

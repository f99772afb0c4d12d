"""Lessons: every step in both languages (AppTest), the code views, first paint without TF.

Each AppTest opens the step by its link (``?lesson=…&step=…&lang=…``), checks that the step
loaded its own configuration, guesses, reveals, and checks that the numbers shown are the
engine's: the measured values are recomputed here from fresh runs of the real engine (outside
the app's shared cache) and must appear, formatted for the locale, in the reveal; and the
option they make right is the one the step teaches (its ``claim``) for seed 0. Steps opened
from the sidebar, the score and the texts' rules are in ``test_lessons_*.py``.
"""

from __future__ import annotations

import inspect
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

from tests.support.app import cfg_of, chart, open_app, switch_page
from fedsim_app import i18n
from fedsim_app.i18n import STRINGS
from fedsim_app.pages.lessons import code_views
from fedsim_app.base import course as lessons
from fedsim_app.pages.lessons import views as lv

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARTICLE = ROOT.parent / "shared" / "seed" / "article-zh.txt"
STEPS = [(lesson, i) for lesson in lessons.LESSONS for i in range(len(lesson.steps))]

_fresh: dict = {}
_local = None


def fresh_measure(lesson, step):
    """The step's numbers from runs made here, outside the app's shared cache, for seed 0."""
    global _local
    from bench.check_lessons import LocalRuns

    _local = _local or LocalRuns()
    key = lv.key_of(lesson, step)
    if key not in _fresh:
        res = lessons.evaluate(lesson, step, seed=0, get=_local.get)
        _fresh[key] = (res["measured"], res["truth"])
    return _fresh[key]


def _plain(md: str) -> str:
    return md.replace("**", "").replace("\\", "")


def test_six_lessons_of_four_to_eight_steps_with_distinct_ids():
    assert [les.id for les in lessons.LESSONS] == ["flow", "noniid", "weights", "dp", "server",
                                                   "attacks"]
    for les in lessons.LESSONS:
        assert 4 <= len(les.steps) <= 8
        assert len({s.id for s in les.steps}) == len(les.steps)
        for s in les.steps:
            assert s.claim in s.options, (les.id, s.id)
            assert set(s.curves) <= {name for name, _ in s.runs}, (les.id, s.id)


def test_every_misconception_is_confronted_by_an_existing_step():
    steps = {lv.key_of(les, les.steps[i]) for les, i in STEPS}
    for mis, where in lessons.MISCONCEPTIONS.items():
        assert where in steps, mis
    assert {"server_sees_data", "noise_ruins", "more_epochs_better",
            "encryption_stops_poisoning", "updates_are_safe"} <= set(lessons.MISCONCEPTIONS)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_step_has_its_texts(lang):
    table = STRINGS[lang]
    missing = []
    for les, i in STEPS:
        step = les.steps[i]
        whys = [f"why.{v}" for v in step.variants] or ["why"]
        for part in ("title", "body", "q", "reveal", "look", *whys):
            if f"lesson.{les.id}.{step.id}.{part}" not in table:
                missing.append(f"{les.id}.{step.id}.{part}")
        for o in step.options:
            if not o.isdigit() and f"lesson.opt.{o}" not in table and \
                    f"lesson.{les.id}.{step.id}.opt.{o}" not in table:
                missing.append(f"opt.{o}")
        for name, _ in step.runs:  # every run is named by its setting (legend, progress)
            if f"lesson.{les.id}.{step.id}.run.{name}" not in table:
                missing.append(f"{les.id}.{step.id}.run.{name}")
        for view in step.code:
            if f"code.{view}.wrong" not in table:
                missing.append(f"code.{view}")
    assert not missing, missing


def test_reveal_placeholders_are_the_measured_numbers():
    """Every {placeholder} of a reveal or why is a setup value or something ``measure`` returns
    (with a format); texts shown before the reveal use setup values only."""
    import string

    for les, i in STEPS:
        step = les.steps[i]
        setup = set(lessons.setup(les, step, 0))
        prefix = f"lesson.{les.id}.{step.id}."
        for key, text in STRINGS["en"].items():
            if not key.startswith(prefix):
                continue
            names = {n for _, n, _, _ in string.Formatter().parse(text) if n}
            part = key[len(prefix):]
            allowed = setup | set(step.fmt) if part.startswith(("reveal", "why")) else setup
            assert names <= allowed, (key, names - allowed)


@pytest.mark.parametrize("lang", i18n.LANGS)
@pytest.mark.parametrize("lesson, i", STEPS, ids=[f"{les.id}-{i + 1}" for les, i in STEPS])
def test_every_step_loads_its_setup_asks_and_reveals_the_engines_numbers(lesson, i, lang):
    step = lesson.steps[i]
    at = open_app({"lang": lang, "lesson": lesson.id, "step": str(i + 1)}, "pages/lessons.py")
    assert cfg_of(at) == lessons.step_config(lesson, step, seed=0), "the step loads its setup"
    assert at.session_state["lesson_pos"] == (lesson.id, i)
    with i18n.language(lang):
        title = lv.text(lesson, step, "title", seed=0)
        assert title in [h.value for h in at.subheader]
        radio = at.radio[0]
        assert radio.label == lv.text(lesson, step, "q", seed=0)
        button = at.button(key=f"lesson_reveal_{lesson.id}.{step.id}")
        assert button.disabled, "no reveal before a guess"
        assert not button.help, "no tooltip over the options"
        assert not at.info, "no misconception box before the reveal"
        radio.set_value(step.options[0]).run()
        at.button(key=f"lesson_reveal_{lesson.id}.{step.id}").click().run()
        assert not at.exception, at.exception
        measured, truth = fresh_measure(lesson, step)
        assert truth == step.claim, "the step teaches what the engine measures (seed 0)"
        shown = " ".join(_plain(m.value) for m in at.markdown)
        for name, value in lv.formatted(step, measured).items():
            if "{" + name + "}" in STRINGS[lang][f"lesson.{lesson.id}.{step.id}.reveal"]:
                assert value in shown, (name, value)
        verdict = [s.value for s in at.success] + [w.value for w in at.warning]
        truth_label = lv.option_label(lesson, step, truth, seed=0)
        assert any(truth_label in v or step.options[0] == truth for v in verdict), verdict
        if any(where == lv.key_of(lesson, step) for where in lessons.MISCONCEPTIONS.values()):
            assert at.info, "the misconception is named after the reveal"
        if step.curves:
            fig = chart(at, "lesson_curves")
            names = [tr["name"] for tr in fig["data"]]
            assert names == [lv.run_label(lesson, step, n, seed=0) for n in step.curves]
        if step.invert:
            assert chart(at, "lesson_digits"), "the digits are drawn"


def test_progress_lives_in_the_session_and_the_url():
    at = open_app({"lesson": "dp", "step": "3"}, "pages/lessons.py")
    assert at.session_state["lesson_pos"] == ("dp", 2)
    assert at.query_params["lesson"] == "dp" and at.query_params["step"] == "3"
    at.button(key="lesson_next").click().run()
    assert at.session_state["lesson_pos"] == ("dp", 3)
    assert at.query_params["step"] == "4"
    assert cfg_of(at).privacy.dp.noise_multiplier == 2.0
    # a lesson number works too, and a step beyond the end is the last step
    at = open_app({"lesson": "3", "step": "99"}, "pages/lessons.py")
    assert at.session_state["lesson_pos"] == ("weights", 3)


def test_the_textbook_panel_follows_the_student_to_other_pages():
    at = open_app({"lesson": "noniid", "step": "4"}, "pages/lessons.py")
    switch_page(at, "pages/training.py").run()
    assert not at.exception
    side = " ".join(m.value for m in at.sidebar.markdown)
    lesson = lessons.BY_ID["noniid"]
    assert lv.look_line(lesson, lesson.steps[3], seed=0) in side


# ------------------------------------------------------------------ code views


@pytest.mark.parametrize("view_id", list(code_views.VIEWS))
def test_engine_code_is_the_functions_real_source(view_id):
    import importlib

    for target in code_views.VIEWS[view_id].engine:
        module, qual = target.split(":")
        obj = importlib.import_module(module)
        for part in qual.split("."):
            obj = getattr(obj, part)
        assert code_views.engine_source(target) == textwrap.dedent(inspect.getsource(obj))


@pytest.mark.skipif(not ARTICLE.exists(), reason="../shared/seed is not here")
@pytest.mark.parametrize("view_id", [v for v, c in code_views.VIEWS.items() if c.article])
def test_article_excerpts_are_the_articles_own_lines(view_id):
    article = {re.sub(r"\s+", "", line) for line in ARTICLE.read_text().splitlines()}
    for line in code_views.article_source(view_id).splitlines():
        if line.strip():
            assert re.sub(r"\s+", "", line.lstrip("# ")) in article, line


def test_lessons_and_overview_paint_without_tensorflow():
    code = textwrap.dedent(f"""
        import os, sys
        os.environ["FEDSIM_PRELOAD"] = "0"
        sys.path.insert(0, {str(ROOT / 'tests')!r})
        from tests.support.app import open_app
        open_app()
        open_app({{"lesson": "flow", "step": "1"}}, "pages/lessons.py")
        print("tensorflow" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False", out.stderr[-2000:]

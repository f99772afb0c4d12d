"""The lessons' texts: no figure the engine did not measure, one page per step, Chinese that says
round and epoch apart.

Pure catalogue and course checks (no runs): every number in a step's text is a placeholder
(filled from the step's configuration, its constants or the measured values), a sentence that
depends on the data has a catalogue variant per outcome, the "where to look" text names no page
(the page comes from ``Step.page``, which is also what its button opens), and the Chinese uses
通信轮 / 第 N 轮 for rounds and 本地训练轮次（epoch） for local epochs, with full-width
punctuation after Chinese text.
"""

from __future__ import annotations

import re
import string

import pytest

from fedsim_app import i18n
from fedsim_app.i18n import STRINGS
from fedsim_app.base import course
from fedsim_app.pages.lessons import views as lv

STEPS = [(lesson, step) for lesson in course.LESSONS for step in lesson.steps]
IDS = [f"{lesson.id}.{step.id}" for lesson, step in STEPS]
CJK = r"[\u4e00-\u9fff]"


def _step_texts(lang: str, lesson, step) -> dict[str, str]:
    prefix = f"lesson.{lesson.id}.{step.id}."
    return {k: v for k, v in STRINGS[lang].items() if k.startswith(prefix)}


def _prose(text: str) -> str:
    """``text`` without placeholders, code spans and citation years (Li et al., 2020)."""
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"`[^`]*`", " ", text)
    return re.sub(r"(et al\.,|等人，)\s*(19|20)\d\d", " ", text)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_no_figure_in_a_step_text_is_written_down(lang):
    """Every number a step's text shows is a {placeholder}: from its configuration, its
    thresholds or the engine's measurements (so another seed, or an edited setup, cannot leave
    a stale figure behind)."""
    found = []
    for lesson, step in STEPS:
        for key, text in _step_texts(lang, lesson, step).items():
            digits = re.findall(r".{0,12}\d.{0,8}", _prose(text))
            if digits:
                found.append((key, digits))
    assert not found, found[:10]


@pytest.mark.parametrize("lesson, step", STEPS, ids=IDS)
def test_every_text_of_a_step_fills_in(lesson, step):
    """Every text formats with the step's setup values, plus its measured values after the
    reveal (``fmt`` names every measured value a text uses)."""
    setup = course.setup(lesson, step, 0)
    for lang in i18n.LANGS:
        for key, text in _step_texts(lang, lesson, step).items():
            part = key.rsplit(f"{step.id}.", 1)[1]
            names = {n for _, n, _, _ in string.Formatter().parse(text) if n}
            allowed = set(setup) | (set(step.fmt) if part.startswith(("reveal", "why")) else set())
            assert names <= allowed, (key, names - allowed)


def test_data_dependent_sentences_have_a_variant_per_outcome():
    """A step whose ``why`` depends on the measured values has one text per outcome; by
    default the outcome is the truth, so every option has its text."""
    for lesson, step in STEPS:
        if step.says is None and step.variants:
            assert set(step.options) <= set(step.variants), (lesson.id, step.id)
        for v in step.variants:
            assert f"lesson.{lesson.id}.{step.id}.why.{v}" in STRINGS["en"], (step.id, v)
    assert course.BY_ID["weights"].steps[0].variants == ("dominant", "spread")


def test_the_size_sentence_follows_the_measured_share():
    """Lesson 3's "no client dominates" is said only when no client does."""
    step = course.BY_ID["weights"].steps[0]
    even = {"share": 0.198, "largest": 228, "smallest": 22, "ratio": 10.4, **step.consts}
    skewed = {**even, "share": 0.366, "largest": 421, "smallest": 8, "ratio": 52.6}
    assert step.why_variant(even) == "spread" and step.why_variant(skewed) == "dominant"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_where_to_look_names_no_page_itself(lang):
    """The page is named by ``look_line`` from ``Step.page``, the same field the button opens:
    the catalogue's ``look`` text names none (it could disagree)."""
    titles = {STRINGS[lang][k] for k in STRINGS[lang] if k.startswith("nav.")}
    named = [re.compile(re.escape(p) + r"\s*page", re.I) for p in titles] + \
            [re.compile(re.escape(p) + "”?页面|“" + re.escape(p) + "”") for p in titles]
    for lesson, step in STEPS:
        look = STRINGS[lang][f"lesson.{lesson.id}.{step.id}.look"]
        assert not [r.pattern for r in named if r.search(look)], (lesson.id, step.id, look)
        assert f"nav.{step.page}" in STRINGS[lang]
        with i18n.language(lang):
            assert STRINGS[lang][f"nav.{step.page}"] in lv.look_line(lesson, step, seed=0)


def test_legends_name_each_run_by_its_setting():
    for lesson, step in STEPS:
        with i18n.language("en"):
            labels = [lv.run_label(lesson, step, name, seed=0) for name, _ in step.runs]
        assert len(set(labels)) == len(labels), (lesson.id, step.id, labels)
        assert not any("this step" in label for label in labels)


def _zh_lessons() -> dict[str, str]:
    return i18n.domains("zh")["lessons"]


def test_chinese_says_round_and_epoch_apart():
    """Rounds are 通信轮 (or 第 N 轮); local epochs are 本地训练轮次（epoch）: no bare 轮."""
    en = i18n.domains("en")["lessons"]
    bare, no_epoch = [], []
    for key, text in _zh_lessons().items():
        rest = text.replace("本地训练轮次", "").replace("通信轮", "")
        rest = re.sub(r"第\s*(\{[^}]*\}|\d+|[一二三四五六七八九十百]+)\s*轮", "", rest)
        if "轮" in rest:
            bare.append((key, text))
        if re.search(r"\bepochs?\b", en[key], re.I) and "本地训练轮次" not in text:
            no_epoch.append((key, text))
    assert not bare, bare[:5]
    assert not no_epoch, no_epoch[:5]


def test_chinese_punctuation_is_full_width_after_chinese():
    found = [(k, m.group(0)) for k, v in _zh_lessons().items()
             for m in re.finditer(CJK + r"\s?[,:;?!()]", v)]
    assert not found, found[:10]


@pytest.mark.parametrize("lesson, step", STEPS, ids=IDS)
def test_every_setup_is_within_the_classroom_limits(lesson, step):
    """A step's setup and every run of its reveal pass the server's classroom caps (a capped
    setup would not load, and the student would see another step's configuration)."""
    from fedsim_app.base import limits

    limits.check(course.step_config(lesson, step, 0))
    for cfg in course.run_configs(lesson, step, 0).values():
        limits.check(cfg)

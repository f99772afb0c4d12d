"""A lesson step's texts in this session's language, every placeholder filled: its setup (the
configuration it runs, for a seed) and, after a reveal, the values the engine measured.

Shared by the Lessons page and the live class (which poses a step to a whole class), so the
two word a step the same way.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from fedsim_app import i18n
from fedsim_app.base import course, state
from fedsim_app.i18n import has, t


def _num(value: float) -> str:
    """A configuration value with as many decimals as it has (0.05 → 0.05, 20.0 → 20)."""
    v = float(value)
    if v.is_integer():
        return i18n.num(v, 0)
    digits = len(f"{v:.6g}".split(".")[1]) if "." in f"{v:.6g}" else 0
    return i18n.num(v, min(digits, 6))


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def format_value(value: Any, how: str) -> str:
    """One value as a text shows it, in this locale (``how``: a ``fmt`` or :data:`course.SETUP`
    kind)."""
    if value is None:
        return "—"
    if how == "pct":
        return i18n.pct(value, 1)
    if how == "pct0":
        return i18n.pct(value, 0)
    if how == "pts":
        return i18n.num(100 * value, 1)
    if how == "pow10":
        exp = int(round(np.log10(float(value))))
        return "10" + str(exp).translate(_SUPERSCRIPT)
    if how == "num":
        return _num(value)
    return i18n.num(value, int(how[1:]))


def formatted(step: course.Step, measured: dict) -> dict[str, str]:
    """Measured numbers as the reveal shows them, in this locale."""
    return {name: format_value(value, step.fmt.get(name, "n2"))
            for name, value in measured.items()}


def setup_values(lesson: course.Lesson, step: course.Step,
                 seed: int | None = None) -> dict[str, str]:
    """The step's setup placeholders (its configuration, ``shows``, ``consts``), formatted;
    ``seed`` defaults to this session's."""
    if seed is None:
        seed = state.config().seed
    return {name: format_value(v, how) for name, (v, how) in
            _setup_cached(lesson.id, step.id, seed).items()}


@functools.lru_cache(maxsize=512)
def _setup_cached(lesson_id: str, step_id: str, seed: int) -> dict:
    """:func:`course.setup` (pure, deterministic: shared by every session; callers only read)."""
    lesson = course.BY_ID[lesson_id]
    step = next(s for s in lesson.steps if s.id == step_id)
    return course.setup(lesson, step, seed)


def text(lesson: course.Lesson, step: course.Step, part: str, /,
         measured: dict | None = None, seed: int | None = None) -> str:
    """A text of the step with every placeholder filled: the setup (for ``seed``, default this
    session's), and after a reveal the measured values."""
    values = setup_values(lesson, step, seed)
    if measured is not None:
        values.update(formatted(step, measured))
    return t(f"lesson.{lesson.id}.{step.id}.{part}", **values)


def option_label(lesson: course.Lesson, step: course.Step, option: str,
                 seed: int | None = None) -> str:
    own = f"lesson.{lesson.id}.{step.id}.opt.{option}"
    if has(own):
        return text(lesson, step, f"opt.{option}", seed=seed)
    if has(f"lesson.opt.{option}"):
        return t(f"lesson.opt.{option}")
    return i18n.num(int(option)) if option.isdigit() else option


def run_label(lesson: course.Lesson, step: course.Step, name: str,
              seed: int | None = None) -> str:
    """The legend (and progress) label of one of the step's runs: its setting, in words."""
    return text(lesson, step, f"run.{name}", seed=seed)

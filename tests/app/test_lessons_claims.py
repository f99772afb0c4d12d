"""Every lesson step's claim holds for seeds 0 and 1: the option its text teaches is the one the
engine's numbers make right (``make check-lessons`` runs seeds 0–4 and prints the numbers).

Runs go through the app's shared run cache (:mod:`fedsim_app.base.runs`), so the runs the
Lessons AppTests already made in this process are reused.
"""

from __future__ import annotations

import pytest

from bench.check_lessons import check
from fedsim_app.base import course


@pytest.mark.parametrize("seed", [0, 1])
def test_every_steps_claim_holds(seed):
    rows = check([seed], get=course.result_of, out=None)
    assert len(rows) == sum(len(les.steps) for les in course.LESSONS)
    failed = [(r["key"], r["truth"], r["claim"], r["measured"]) for r in rows if not r["held"]]
    assert not failed, failed
    for r in rows:  # every measured value has a format (a text may show any of them)
        lesson_id, step_id = r["key"].split(".")
        step = next(s for s in course.BY_ID[lesson_id].steps if s.id == step_id)
        assert set(r["measured"]) <= set(step.fmt), (r["key"], set(r["measured"]) - set(step.fmt))

"""``make check-lessons``: does every lesson step's claim hold, seed after seed?

Runs every step of every lesson (:mod:`fedsim_app.base.course`) with the real engine
for each seed and prints, per step and seed, the measured values, the option the numbers make
right (``truth``), the option the step's text teaches (``claim``), whether they agree, and the
seconds the step's runs took uncached (what a student waits for on a reveal nobody made yet).
Then one summary line per step: ``held k/N``, and the slowest reveal.

    python -m bench.check_lessons --seeds 0 1 2 3 4

Exit status 1 if a claim failed for some seed (the step must be changed, or its text must say
that its outcome depends on the seed). Runs shared by several steps are computed once.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Iterable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: A reveal a student waits for, uncached, on a quiet 2-core machine (seconds).
REVEAL_BUDGET_S = 5.0


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


class LocalRuns:
    """Every run once per process (keyed by what it is), with the seconds it took."""

    def __init__(self):
        self.done: dict[str, tuple[dict, float]] = {}

    def get(self, step, cfg) -> dict:
        from fedsim_app.base import course

        key = ("invert:" if step.invert else "run:") + cfg.to_json(indent=None)
        if key not in self.done:
            t0 = time.perf_counter()
            value = (course.reconstruction(cfg) if step.invert else course.run_summary(cfg))
            self.done[key] = (value, time.perf_counter() - t0)
        return self.done[key][0]

    def seconds(self, step, cfg) -> float:
        key = ("invert:" if step.invert else "run:") + cfg.to_json(indent=None)
        return self.done[key][1]


def check(seeds: Iterable[int], get: Callable | None = None,
          out: Callable[[str], None] | None = print) -> list[dict]:
    """Every step for every seed: a row per (step, seed) with ``key``, ``seed``, ``measured``,
    ``truth``, ``claim``, ``held`` and ``seconds`` (None when ``get`` is given: then runs come
    from it, e.g. the app's shared cache, and are not timed)."""
    from fedsim_app.base import course

    local = LocalRuns() if get is None else None
    rows = []
    for seed in seeds:
        for lesson in course.LESSONS:
            for step in lesson.steps:
                key = f"{lesson.id}.{step.id}"
                res = course.evaluate(lesson, step, seed, get=get or local.get)
                secs = None
                if local is not None:
                    secs = sum(local.seconds(step, cfg)
                               for cfg in course.run_configs(lesson, step, seed).values())
                row = {"key": key, "seed": seed, "measured": res["measured"],
                       "truth": res["truth"], "claim": step.claim, "held": res["held"],
                       "seconds": secs}
                rows.append(row)
                if out:
                    shown = " ".join(f"{k}={_fmt(v)}" for k, v in res["measured"].items()
                                     if k not in step.consts)
                    time_s = "" if secs is None else f" {secs:5.1f}s"
                    out(f"{key:22s} seed {seed}  truth={res['truth']:8s} claim={step.claim:8s} "
                        f"{'held' if res['held'] else 'FAILED':6s}{time_s}  {shown}")
    return rows


def summary(rows: list[dict], out: Callable[[str], None] = print) -> bool:
    """One line per step (held k/N, slowest reveal); True if every claim held."""
    by_step: dict[str, list[dict]] = {}
    for r in rows:
        by_step.setdefault(r["key"], []).append(r)
    ok = True
    out("")
    out("summary (claim held for k of N seeds; slowest uncached reveal)")
    for key, rs in by_step.items():
        held = sum(r["held"] for r in rs)
        secs = [r["seconds"] for r in rs if r["seconds"] is not None]
        slow = f"  slowest {max(secs):4.1f}s" if secs else ""
        flag = "" if held == len(rs) else "  <- claim does not hold for every seed"
        if secs and max(secs) > REVEAL_BUDGET_S:
            flag += f"  <- over {REVEAL_BUDGET_S:g} s"
        out(f"{key:22s} held {held}/{len(rs)}{slow}{flag}")
        ok = ok and held == len(rs)
    steps = len(by_step)
    good = sum(all(r["held"] for r in rs) for rs in by_step.values())
    out(f"{good} of {steps} steps held for every seed")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = ap.parse_args(argv)
    # The engine's first call compiles and loads TensorFlow: do it before the timed runs.
    from fedsim_app.base import course

    noniid, server = course.BY_ID["noniid"], course.BY_ID["server"]
    course.run_summary(course.step_config(noniid, noniid.steps[0], 0, {"rounds": 1}))
    course.reconstruction(course.step_config(server, server.steps[0], 0))
    rows = check(args.seeds)
    return 0 if summary(rows) else 1


if __name__ == "__main__":
    sys.exit(main())

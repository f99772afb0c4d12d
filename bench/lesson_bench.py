"""The slowest five lesson reveals, uncached: what a student waits for after "Reveal".

Every step of every lesson (:mod:`fedsim_app.base.course`) runs once for seed 0 with
nothing cached -- each step gets its own empty run store, so runs it shares with an earlier
step are paid again, as they are for the first student of a class who reaches that step. The
engine is compiled and warmed first (a server's preload does that before anyone clicks).
Prints the five slowest steps, the seconds each took, the budget (5 s on a quiet 2-core
machine) and the machine's load average, since a busy machine stretches every number.

    python -m bench.lesson_bench [--seed 0] [--top 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv: list[str] | None = None) -> list[tuple[str, float]]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=5)
    args = ap.parse_args([] if argv is None else argv)

    from bench.check_lessons import REVEAL_BUDGET_S, LocalRuns
    from fedsim_app.base import course

    noniid, server = course.BY_ID["noniid"], course.BY_ID["server"]
    course.run_summary(course.step_config(noniid, noniid.steps[0], 0, {"rounds": 1}))
    course.reconstruction(course.step_config(server, server.steps[0], 0))

    load0 = os.getloadavg()
    times: list[tuple[str, float]] = []
    for lesson in course.LESSONS:
        for step in lesson.steps:
            runs = LocalRuns()
            t0 = time.perf_counter()
            course.evaluate(lesson, step, args.seed, get=runs.get)
            times.append((f"{lesson.id}.{step.id}", time.perf_counter() - t0))
    load1 = os.getloadavg()
    times.sort(key=lambda kv: -kv[1])
    print(f"{len(times)} steps, seed {args.seed}, each uncached; load average "
          f"{load0[0]:.1f} before, {load1[0]:.1f} after")
    print(f"{'step':24s} {'seconds':>8s}  (budget {REVEAL_BUDGET_S:g} s)")
    for key, secs in times[:args.top]:
        flag = "  <- over budget" if secs > REVEAL_BUDGET_S else ""
        print(f"{key:24s} {secs:8.2f}{flag}")
    total = sum(s for _, s in times)
    print(f"all {len(times)} steps: {total:.1f} s together, median "
          f"{sorted(s for _, s in times)[len(times) // 2]:.2f} s")
    return times


if __name__ == "__main__":
    main(sys.argv[1:])
    sys.exit(0)

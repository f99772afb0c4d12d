"""Timing of the privacy accountant (``python -m bench.dp_bench``).

The app redraws the ε curve whenever a DP setting changes, so the whole 1000-round curve must
cost well under a second (target: < 0.5 s). Each figure is the best of 3 runs; "cold" clears the
accountant's cache of one-round RDP vectors first, so it includes the slow dp-accounting call.
"""

from __future__ import annotations

import time
from typing import Callable

from fedsim.privacy import accountant

DELTA = 1e-5


def _best_of(fn: Callable[[], object], repeat: int = 3, cold: bool = True) -> float:
    best = float("inf")
    for _ in range(repeat):
        if cold:
            accountant._unit_rdp.cache_clear()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_accountant() -> list[tuple[str, float]]:
    """Seconds (best of 3) for the accountant operations the app runs; prints a table."""
    results = [
        ("rdp_epsilon_curve z=1 q=0.1 T=1000 (cold)",
         _best_of(lambda: accountant.rdp_epsilon_curve(1.0, 0.1, 1000, DELTA))),
        ("rdp_epsilon_curve z=1 q=0.1 T=1000 (cached RDP)",
         _best_of(lambda: accountant.rdp_epsilon_curve(1.0, 0.1, 1000, DELTA), cold=False)),
        ("pld_epsilon z=1 q=0.1 T=100",
         _best_of(lambda: accountant.pld_epsilon(1.0, 0.1, 100, DELTA))),
        ("calibrate_noise eps=2 q=0.1 T=100",
         _best_of(lambda: accountant.calibrate_noise(2.0, 0.1, 100, DELTA))),
        ("dpsgd_epsilon_curve n=500 B=16 E=1 T=1000 (cold)",
         _best_of(lambda: accountant.dpsgd_epsilon_curve(1.1, 16, 500, 1, 1000, DELTA))),
    ]
    width = max(len(name) for name, _ in results)
    for name, secs in results:
        print(f"{name:<{width}}  {secs * 1e3:9.1f} ms")
    return results


if __name__ == "__main__":
    bench_accountant()

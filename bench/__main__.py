"""``make bench``: every benchmark section, one after another, in one process run each.

Sections are separate modules so each can also run alone (``python -m bench.engine_bench``).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SECTIONS = [
    ("engine", "bench.engine_bench", "main"),
    ("privacy accountant", "bench.dp_bench", "bench_accountant"),
    ("cryptographic mechanisms", "bench.crypto_bench", "bench_all"),
    ("app responsiveness", "bench.app_bench", "main"),
    ("typed round vs the engine before it", "bench.refactor_bench", "main"),
    ("10,000 and 100,000 clients: per-client columns vs records", "bench.scale_bench", "main"),
    ("trainer before/after, and with XLA", "bench.trainer_bench", "main"),
    ("TensorFlow settings: one intra-op thread, oneDNN off vs the defaults", "bench.threads_bench",
     "main"),
    ("attacks and defences", "bench.attack_bench", "main"),
    ("privacy per round: today's implementation vs a snapshot, side by side",
     "bench.privacy_bench", "main"),
    ("Flower's simulation vs fedsim", "bench.flower_bench", "main"),
    ("app in a real browser: click -> chart (Chromium)", "bench.browser_bench", "main"),
    ("one server, 30 and 60 students at once: first clicks and warm", "bench.load_bench",
     "main"),
]


# Sections whose module another change adds: listed here, run once the module exists.
OPTIONAL = [
    ("CNN: vectorized over clients", "bench.cnn_bench", "main"),
    ("lesson reveals, uncached: the slowest five steps", "bench.lesson_bench", "main"),
    ("real data at scale: FEMNIST CNN, Shakespeare, memory", "bench.data_bench", "main"),
    ("a live class: one teacher and 60 phones on one server", "bench.live_bench", "main"),
]


def _sections() -> list[tuple[str, str, str]]:
    return SECTIONS + [s for s in OPTIONAL if importlib.util.find_spec(s[1]) is not None]


def main(argv: list[str]) -> int:
    wanted = set(argv)
    for title, module, func in _sections():
        if wanted and not any(w in module for w in wanted):
            continue
        print(f"\n##### {title} ({module})", flush=True)
        t0 = time.perf_counter()
        fn = getattr(importlib.import_module(module), func)
        fn([]) if module == "bench.load_bench" else fn()
        print(f"(section took {time.perf_counter() - t0:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

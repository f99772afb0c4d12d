"""App responsiveness (``python -m bench.app_bench``).

1. **Rerun after "Next round"** on the Training page with 10 digits clients (the projected
   page): one ``AppTest`` click → callback runs one round → the whole script reruns and renders
   every element. Measured after warm-up (TensorFlow imported, trainer traced). Target:
   ≤ 300 ms. The engine's own round time is measured separately, so the render overhead is
   visible.
2. **Cold start**: a fresh Python process that runs the app's first page to completion through
   ``AppTest`` (Overview, the default page, and Training, the heaviest), compared with a bare
   ``import tensorflow`` in a fresh process measured in the same run.

AppTest renders to protobuf messages, not to a browser, so these times exclude the browser's
own drawing; they are the server-side cost a student waits for.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TARGET_MS = 300.0

_COLD = """
import os, sys, time
{env}
t0 = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({app!r}, default_timeout=300)
{switch}
at.run()
assert not at.exception, at.exception
dt = time.perf_counter() - t0
{check}
print(dt)
"""
#: First paint with nothing loading TensorFlow behind the page (FEDSIM_PRELOAD=0): the pages
#: that must draw without it. The script fails if TensorFlow was imported anyway.
_NO_TF = dict(env='os.environ["FEDSIM_PRELOAD"] = "0"',
              check='assert "tensorflow" not in sys.modules, "TensorFlow was imported"')
_PLAIN = dict(env="", check="")


def _fresh(code: str) -> float:
    """Seconds printed by ``code`` run in a fresh interpreter (best of 2, to skip disk noise)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    best = float("inf")
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
        best = min(best, float(out.stdout.strip().splitlines()[-1]))
    return best


def cold_starts() -> dict[str, float]:
    """Fresh-process seconds: bare TF import, app first page, app Training page."""
    return {
        "import tensorflow": _fresh("import time; t0 = time.perf_counter(); import tensorflow; "
                                    "print(time.perf_counter() - t0)"),
        "app, Overview (default page)": _fresh(_COLD.format(app=APP, switch="", **_PLAIN)),
        "first paint, Overview, without TensorFlow": _fresh(_COLD.format(
            app=APP, switch="", **_NO_TF)),
        "first paint, Lessons (lang=zh), without TensorFlow": _fresh(_COLD.format(
            app=APP, switch='at.query_params["lang"] = "zh"; '
                            'at.switch_page("pages/lessons.py")', **_NO_TF)),
        "app, Training page (builds the simulation)": _fresh(_COLD.format(
            app=APP, switch='at.switch_page("pages/training.py")', **_PLAIN)),
    }


def rerun_after_next_round(clicks: int = 15, warmup: int = 3) -> dict[str, float]:
    """Milliseconds per "Next round" rerun with 10 digits clients (median, p90, max)."""
    from streamlit.testing.v1 import AppTest

    from fedsim.engine.simulation import Simulation

    at = AppTest.from_file(APP, default_timeout=300)
    at.query_params["rounds"] = str(warmup + clicks + 5)  # digits, 10 clients (the defaults)
    at.switch_page("pages/training.py").run()
    assert not at.exception, at.exception
    for _ in range(warmup):
        at.button(key="next_round").click().run()
    times = []
    for _ in range(clicks):
        t0 = time.perf_counter()
        at.button(key="next_round").click().run()
        times.append((time.perf_counter() - t0) * 1e3)
        assert not at.exception, at.exception
    idle = []
    for _ in range(5):  # a rerun that runs no round (e.g. a tab switch): render cost alone
        t0 = time.perf_counter()
        at.run()
        idle.append((time.perf_counter() - t0) * 1e3)
    sim = Simulation(at.session_state["cfg"])  # the engine alone, same config
    sim.run(warmup)
    engine = []
    for _ in range(clicks):
        t0 = time.perf_counter()
        sim.step_round()
        engine.append((time.perf_counter() - t0) * 1e3)
    q = statistics.quantiles(times, n=10)
    return {"median": statistics.median(times), "p90": q[-1], "max": max(times),
            "rerun without a round": statistics.median(idle),
            "engine round alone": statistics.median(engine)}


_FIRST_ROUND = """
import time
from fedsim.presets import PRESETS
from fedsim.engine.simulation import Simulation, build_federation
from fedsim.training.trainer import get_trainer, trace_ahead
cfg = PRESETS["article-regression"].build()
if {ahead}:
    fed = build_federation(cfg)
    trace_ahead(get_trainer(fed.spec, fed.data.task, cfg.training.optimizer,
                            cfg.training.momentum, False))
t0 = time.perf_counter()
Simulation(cfg).step_round()
print(time.perf_counter() - t0)
"""


def first_round() -> dict[str, float]:
    """Seconds from building a simulation of a model not yet used in this process to the end
    of its first round: tracing on demand vs traced ahead (what fedsim_app.base.runtime does at
    start)."""
    return {"on demand (trace in the first round)": _fresh(_FIRST_ROUND.format(ahead=False)),
            "traced ahead (app start)": _fresh(_FIRST_ROUND.format(ahead=True))}


def main() -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    print("Training page, rerun after 'Next round' (10 digits clients, AppTest, warm):")
    rr = rerun_after_next_round()
    for k, v in rr.items():
        print(f"  {k:<28} {v:8.1f} ms")
    verdict = "OK" if rr["median"] <= TARGET_MS else "SLOWER THAN TARGET"
    print(f"  target <= {TARGET_MS:.0f} ms: {verdict} "
          f"(median / target = {rr['median'] / TARGET_MS:.2f})")

    print("Cold start in a fresh process (best of 2):")
    cs = cold_starts()
    tf = cs["import tensorflow"]
    for k, v in cs.items():
        ratio = "" if k == "import tensorflow" else f"   = {v / tf:.2f} x import tensorflow"
        print(f"  {k:<52} {v:6.2f} s{ratio}")
    print("First round of a new model (the article's regression), fresh process:")
    fr = first_round()
    for k, v in fr.items():
        print(f"  {k:<52} {v:6.2f} s")
    return {"rerun_ms": rr, "cold_s": cs, "first_round_s": fr}


if __name__ == "__main__":
    main()

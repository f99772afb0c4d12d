"""The vectorized CNN (issue 12, CNN row): CNN round / MLP round, before and after, in one run.

``python -m bench.cnn_bench [REV]``: extracts ``fedsim/`` at ``REV`` (default ``BEFORE``, the
last commit whose trainer ran the CNN through ``tf.vectorized_map``, where TF falls back to a
per-client ``while_loop`` for ``Conv2DBackpropFilter``) with ``git archive``, then times one
whole round at 100 digits clients (1 local epoch, batch 16) for the MLP and the CNN, old
engine and this one: four worker processes, blocks of rounds interleaved between them (the
order rotating) so the machine's load hits all four alike. Prints the median ms per round,
the ratio CNN / MLP for each engine, and whether TF logged its sequential fallback.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

from bench.snapshot import extract_engine, interleaved

BEFORE = "b76dded"  # fedsim just before this change: the CNN inside vectorized_map, K = 1 workaround
ROOT = Path(__file__).resolve().parents[1]
MODELS = ("mlp", "cnn")

WORKER = textwrap.dedent("""
    import logging, os, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, sys.argv[1])
    fallbacks = []

    class Catch(logging.Handler):  # TF's pfor says "... uses a while_loop. Fix that!"
        def emit(self, record):
            if "while_loop" in record.getMessage():
                fallbacks.append(record.getMessage())

    logging.getLogger("tensorflow").addHandler(Catch())
    from fedsim import Simulation, SimulationConfig
    cfg = SimulationConfig.from_dict({"seed": 0, "rounds": 10000, "model": {"name": sys.argv[3]},
                                      "clients": {"num_clients": int(sys.argv[2])},
                                      "training": {"local_epochs": 1, "batch_size": 16}})
    sim = Simulation(cfg)
    for _ in range(3):
        sim.step_round()
    print("ready", int(bool(fallbacks)), flush=True)
    for line in sys.stdin:
        out = []
        for _ in range(int(line)):
            t0 = time.perf_counter(); sim.step_round()
            out.append((time.perf_counter() - t0) * 1e3)
        print(" ".join(f"{v:.4f}" for v in out), flush=True)
""")



def compare(rev: str = BEFORE, clients: int = 100, blocks: int = 8, per_block: int = 4) -> dict:
    """Median ms per round for (engine, model) in before/after × mlp/cnn, and the ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        old_root = extract_engine(rev, Path(tmp))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        keys = [(eng, m) for eng in ("before", "after") for m in MODELS]
        roots = {"before": old_root, "after": ROOT}
        times, ready = interleaved(
            {key: ([WORKER, str(roots[key[0]]), str(clients), key[1]], env) for key in keys},
            Path(tmp), blocks, per_block)
        fallback = {eng: ready[(eng, "cnn")] == ["1"] for eng in ("before", "after")}
    med = {f"{eng}_{m}": statistics.median(v) for (eng, m), v in times.items()}
    return {"clients": clients, "rev": rev, **med,
            "ratio_before": med["before_cnn"] / med["before_mlp"],
            "ratio_after": med["after_cnn"] / med["after_mlp"],
            "cnn_speedup": med["before_cnn"] / med["after_cnn"],
            "fallback_before": fallback["before"], "fallback_after": fallback["after"]}


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 and __name__ == "__main__" else BEFORE
    r = compare(rev)
    print(f"vectorized CNN vs {r['rev']}, {r['clients']} digits clients, 1 epoch, batch 16 "
          f"(median ms/round of interleaved blocks):")
    for eng in ("before", "after"):
        fb = "yes" if r[f"fallback_{eng}"] else "no"
        print(f"  {eng:<6} MLP {r[f'{eng}_mlp']:7.2f}   CNN {r[f'{eng}_cnn']:7.2f}   "
              f"CNN round / MLP round {r[f'ratio_{eng}']:5.2f}×   "
              f"per-client while_loop fallback: {fb}")
    print(f"  CNN round before / after: {r['cnn_speedup']:.2f}×")


if __name__ == "__main__":
    main()

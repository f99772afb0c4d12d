"""The typed round against the engine before it (issue 8), side by side in one run.

``python -m bench.refactor_bench [REV]``: extracts ``fedsim/`` at ``REV`` (default: the last
commit before the typed round, ``BEFORE``) into a temporary folder with ``git archive``, then
times one whole round at 100 digits clients (1 local epoch, batch 16) in two worker processes
— the old engine and this one — alternating blocks of rounds between them so that the
machine's load hits both alike. Prints the medians and the ratio (new / old).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

from bench.snapshot import extract_engine, interleaved

BEFORE = "1798ae4"  # fedsim before the typed round (landed main + DivergedError)
ROOT = Path(__file__).resolve().parents[1]

WORKER = textwrap.dedent("""
    import os, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, sys.argv[1])
    from fedsim import Simulation, SimulationConfig
    cfg = SimulationConfig.from_dict({"seed": 0, "rounds": 10000,
                                      "clients": {"num_clients": int(sys.argv[2])},
                                      "training": {"local_epochs": 1, "batch_size": 16}})
    sim = Simulation(cfg)
    for _ in range(3):
        sim.step_round()
    print("ready", flush=True)
    for line in sys.stdin:
        n = int(line)
        out = []
        for _ in range(n):
            t0 = time.perf_counter(); sim.step_round()
            out.append((time.perf_counter() - t0) * 1e3)
        print(" ".join(f"{v:.4f}" for v in out), flush=True)
""")



def compare(rev: str = BEFORE, clients: int = 100, blocks: int = 6, per_block: int = 5) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        old_root = extract_engine(rev, Path(tmp))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
        times, _ = interleaved({name: ([WORKER, str(path), str(clients)], env)
                                for name, path in (("before", old_root), ("after", ROOT))},
                               Path(tmp), blocks, per_block)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"clients": clients, "rev": rev, **med, "ratio": med["after"] / med["before"]}


def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 and __name__ == "__main__" else BEFORE
    r = compare(rev)
    print(f"typed round vs {r['rev']}, digits MLP, {r['clients']} clients, 1 epoch "
          f"(median of interleaved blocks):")
    print(f"  before {r['before']:7.2f} ms/round   after {r['after']:7.2f} ms/round   "
          f"after/before {r['ratio']:.2f}×")


if __name__ == "__main__":
    main()

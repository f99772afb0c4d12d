"""Many clients (issue 12): 10,000 and 100,000 2-D clients, the engine before and after.

``python -m bench.scale_bench [BEFORE [AFTER]]`` extracts ``fedsim/`` at ``BEFORE`` (default:
the last commit before per-client columns, :data:`BEFORE`) and, if given, at ``AFTER``
(a revision, or a folder holding ``fedsim/``; default: this working tree) with
``git archive``, and measures both side by side:

- **10,000 clients**, every one sampled (2-D moons, 200,000 rows, 16 a client, the 2-D MLP):
  ms per round and the share of ``Simulation._finish_round``, the step that used to build
  10,000 ``ClientRecord`` objects a round. Two worker processes, one per engine, take blocks
  of rounds in turn, so the machine's load hits both alike (as ``bench.refactor_bench``).
  Both play the same number of rounds: the old records made later rounds slower (the cyclic
  garbage collector walked every record of every earlier round), so a short run flatters it.
- **100,000 clients** (500,000 rows, 4 a client) at fractions 0.01, 0.1 and 1: build time,
  ms per round and peak RSS, each in a fresh process (a peak is per process), the two
  engines one after the other. The peak includes TensorFlow's own ~630 MB, printed as the
  process's RSS right after the imports.

The engine before this change refused more than 2,000 clients and 200,000 rows; its workers
build the capped configuration and set the real sizes on it, so both run the same workload.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from bench.snapshot import extract_engine

BEFORE = "b6da424"  # fedsim with one ClientRecord per client and round, MAX_CLIENTS = 2000
ROOT = Path(__file__).resolve().parents[1]

# Shared by both workers: import the engine at argv[1], build a configuration past the old
# caps, and time _finish_round by wrapping it (the same wrapper on both engines).
PRELUDE = textwrap.dedent("""
    import json, os, resource, statistics, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, sys.argv[1])
    # fedsim first: it sets TensorFlow's environment (oneDNN off) before TF is imported
    from fedsim import Simulation, SimulationConfig
    from fedsim.errors import ConfigError
    import fedsim.engine.simulation as engine
    import tensorflow  # noqa: F401  (imported before building: its RSS is the baseline)

    def rss_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux

    def config(clients, fraction, samples):
        d = {"seed": 0, "rounds": 10000, "clients": {"num_clients": clients,
                                                      "fraction": fraction},
             "dataset": {"name": "2d", "shape": "moons", "num_samples": samples},
             "training": {"local_epochs": 1, "batch_size": 16}}
        try:
            return SimulationConfig.from_dict(d)
        except ConfigError:  # the old caps: same workload, set on the frozen sections
            d["clients"]["num_clients"], d["dataset"]["num_samples"] = 10, 1000
            cfg = SimulationConfig.from_dict(d)
            object.__setattr__(cfg.clients, "num_clients", clients)
            object.__setattr__(cfg.dataset, "num_samples", samples)
            return cfg

    finish = [0.0]
    _orig = engine.Simulation._finish_round

    def _timed(self, rs):
        t0 = time.perf_counter()
        try:
            return _orig(self, rs)
        finally:
            finish[0] += time.perf_counter() - t0

    engine.Simulation._finish_round = _timed

    def timed_round(sim):
        finish[0] = 0.0
        t0 = time.perf_counter()
        sim.step_round()
        return (time.perf_counter() - t0) * 1e3, finish[0] * 1e3
""")

# 10,000 clients: one long-lived process per engine, rounds on request (stdin: a count).
INTERLEAVED = PRELUDE + textwrap.dedent("""
    sim = Simulation(config(10_000, 1.0, 200_000))
    for _ in range(3):
        sim.step_round()
    print("ready", flush=True)
    for line in sys.stdin:
        out = [timed_round(sim) for _ in range(int(line))]
        print(json.dumps(out), flush=True)
""")

# 100,000 clients: one fresh process per (engine, fraction).
ONE_SHOT = PRELUDE + textwrap.dedent("""
    fraction, rounds = float(sys.argv[2]), int(sys.argv[3])
    base = rss_mb()
    t0 = time.perf_counter()
    sim = Simulation(config(100_000, fraction, 500_000))
    build = time.perf_counter() - t0
    first = timed_round(sim)[0]  # traces the training call for this shape
    times = [timed_round(sim) for _ in range(rounds)]
    print(json.dumps({"base_mb": base, "peak_mb": rss_mb(), "build_s": build,
                      "first_ms": first, "ms": statistics.median(t for t, _ in times),
                      "finish_ms": statistics.median(f for _, f in times)}))
""")



def _env() -> dict:
    return {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def ten_thousand(roots: dict[str, Path], blocks: int = 6, per_block: int = 5) -> dict:
    """Median ms/round and ms in ``_finish_round`` at 10,000 clients, per engine."""
    procs = {name: subprocess.Popen([sys.executable, "-c", INTERLEAVED, str(path)],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                    env=_env(), cwd=tempfile.gettempdir())
             for name, path in roots.items()}
    times: dict[str, list] = {name: [] for name in roots}
    try:
        for p in procs.values():
            assert p.stdout.readline().strip() == "ready"
        for b in range(blocks):
            order = list(roots) if b % 2 == 0 else list(reversed(roots))
            for name in order:
                p = procs[name]
                p.stdin.write(f"{per_block}\n")
                p.stdin.flush()
                times[name] += json.loads(p.stdout.readline())
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait(timeout=120)
    out = {}
    for name, rows in times.items():
        ms = statistics.median(t for t, _ in rows)
        fin = statistics.median(f for _, f in rows)
        # Share of the total time (sum over rounds), so GC spikes count as they cost.
        share = sum(f for _, f in rows) / sum(t for t, _ in rows)
        out[name] = {"ms": ms, "finish_ms": fin, "finish_share": share,
                     "max_ms": max(t for t, _ in rows)}
    return out


def hundred_thousand(roots: dict[str, Path], fraction: float, rounds: int,
                     flip: bool = False) -> dict:
    """Build time, ms/round and peak RSS at 100,000 clients, per engine (fresh processes;
    ``flip`` runs the second engine first)."""
    out = {}
    for name in reversed(roots) if flip else roots:
        p = subprocess.run([sys.executable, "-c", ONE_SHOT, str(roots[name]), str(fraction),
                            str(rounds)], capture_output=True, text=True, env=_env(),
                           cwd=tempfile.gettempdir(), timeout=900)
        if p.returncode != 0:
            raise RuntimeError(f"{name} at fraction {fraction}: {p.stderr[-2000:]}")
        out[name] = json.loads(p.stdout.strip().splitlines()[-1])
    return out


def compare(before: str = BEFORE, after: str | None = None,
            fractions: tuple[tuple[float, int], ...] = ((0.01, 15), (0.1, 8), (1.0, 3))):
    with tempfile.TemporaryDirectory() as tmp:
        roots = {"before": extract_engine(before, Path(tmp) / "before"),
                 "after": ROOT if after is None else Path(after) if Path(after).is_dir()
                 else extract_engine(after, Path(tmp) / "after")}
        small = ten_thousand(roots)
        big = {f: hundred_thousand(roots, f, n, flip=i % 2 == 1)
               for i, (f, n) in enumerate(fractions)}
    return small, big


def main() -> None:
    args = sys.argv[1:] if __name__ == "__main__" else []
    before = args[0] if args else BEFORE
    after = args[1] if len(args) > 1 else None
    small, big = compare(before, after)
    b, a = small["before"], small["after"]
    print(f"per-client columns vs {before} (after: {after or 'this working tree'}), 2-D MLP")
    print("10,000 clients, all sampled, 16 rows each (median of 30 interleaved rounds):")
    for name, r in small.items():
        print(f"  {name:<6} {r['ms']:7.1f} ms/round (slowest {r['max_ms']:6.0f})   "
              f"_finish_round {r['finish_ms']:6.1f} ms = {100 * r['finish_share']:4.1f}% "
              f"of the time")
    print(f"  after/before {a['ms'] / b['ms']:.2f}x   _finish_round "
          f"{b['finish_ms'] / max(a['finish_ms'], 1e-3):.0f}x faster")
    print("100,000 clients, 4 rows each (fresh process each; peak RSS includes TensorFlow):")
    for f, rows in big.items():
        for name, r in rows.items():
            print(f"  fraction {f:<4} {name:<6} build {r['build_s']:4.1f} s   "
                  f"{r['ms']:7.1f} ms/round (first {r['first_ms']:5.0f})   "
                  f"_finish_round {r['finish_ms']:6.1f} ms   peak {r['peak_mb']:5.0f} MB "
                  f"(after imports {r['base_mb']:4.0f})")


if __name__ == "__main__":
    main()

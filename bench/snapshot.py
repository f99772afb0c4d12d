"""An earlier commit's engine beside the current one, for before/after benchmarks.

``git archive`` of ``fedsim/`` at a revision, unpacked into a folder that a worker process puts
first on ``sys.path``: both engines then run side by side in one benchmark, interleaved, on the
same machine state (the refactor, CNN, trainer and scale benches use it; :func:`interleaved`
runs their worker processes in turns).
"""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def extract_engine(rev: str, into: Path) -> Path:
    """``fedsim/`` as of ``rev`` under ``into`` (created if missing); returns ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "src.tar"
    subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "fedsim"],
                   check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def interleaved(workers: dict[str, tuple[list[str], dict]], cwd: Path, blocks: int,
                per_block: int) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
    """Run worker processes side by side, their rounds interleaved in blocks.

    ``workers`` maps a name to ``(argv, env)``. Each worker prints ``ready [words...]`` once
    set up, then for every line ``n`` on its stdin prints ``n`` timings (ms) on one line. The
    workers take turns, the order rotating each block, so machine noise hits all of them
    alike. Returns each worker's timings and the words after its ``ready``.
    """
    import sys

    names = list(workers)
    procs = {name: subprocess.Popen([sys.executable, "-c", *argv], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True, env=env, cwd=cwd)
             for name, (argv, env) in workers.items()}
    times: dict[str, list[float]] = {name: [] for name in names}
    ready: dict[str, list[str]] = {}
    try:
        for name, p in procs.items():
            words = p.stdout.readline().split()
            assert words and words[0] == "ready", (name, words)
            ready[name] = words[1:]
        for b in range(blocks):
            for name in names[b % len(names):] + names[:b % len(names)]:
                p = procs[name]
                p.stdin.write(f"{per_block}\n")
                p.stdin.flush()
                times[name] += [float(v) for v in p.stdout.readline().split()]
    finally:
        for p in procs.values():
            p.stdin.close()
            p.wait(timeout=60)
    return times, ready

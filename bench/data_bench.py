"""Real federated data at scale (issue #25), beside the digits MLP in the same run:

- the 100-client digits MLP round (every client trains: the baseline);
- FEMNIST CNN, 100 writers sampled a round out of 500 (target: ≤ 10× the digits round);
- Shakespeare ``char_cnn``, 50 roles sampled a round out of 715 (target: ≤ 1 s a round);
- peak RSS of loading all 3,383 FEMNIST writers (target: ≤ 1.5 GB), in a child process.

The real files are used when they are cached (``fedsim data list``); otherwise synthetic files
of the real shapes are written into a temporary FEDSIM_DATA_DIR (TFF's HDF5 layout: FEMNIST
writers of ~101 training and ~12 test 28×28 images; Shakespeare roles of 22 snippets of ~260
characters, 256 training windows a role as the loader caps them), and the output says so.

    python -m bench.data_bench [--skip-rss]
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

FEMNIST_WRITERS, SHAKESPEARE_ROLES = 3383, 715


def _load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3]) if os.path.exists(
        "/proc/loadavg") else "n/a"


def _round_ms(cfg_dict: dict, rounds: int = 4) -> tuple[float, float]:
    """Median ms of rounds 2..rounds (round 1 traces), and the build time in s."""
    from fedsim.config import SimulationConfig
    from fedsim.engine.simulation import Simulation

    t0 = time.perf_counter()
    sim = Simulation(SimulationConfig.from_dict({**cfg_dict, "rounds": rounds}))
    build = time.perf_counter() - t0
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        sim.run(1)
        times.append((time.perf_counter() - t) * 1e3)
    return float(np.median(times[1:])), build


def _synthetic_femnist(folder: str, writers: int, seed: int = 0) -> None:
    import h5py

    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for split, mean in (("train", 101), ("test", 12)):
        with h5py.File(os.path.join(folder, f"fed_emnist_digitsonly_{split}.h5"), "w") as f:
            ex = f.create_group("examples")
            for w in range(writers):
                n = max(2, int(rng.poisson(mean)))
                g = ex.create_group(f"f{w:04d}_{w % 100:02d}")
                g.create_dataset("label", data=rng.integers(0, 10, n).astype(np.int32))
                px = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
                g.create_dataset("pixels", data=(px / np.float32(255)).astype(np.float32))


def _synthetic_shakespeare(folder: str, roles: int) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "engine"))
    import datafixtures as fx

    fx.shakespeare_files(folder, {f"PLAY_{i:03d}_ROLE": 22 for i in range(roles)},
                         {f"PLAY_{i:03d}_ROLE": 3 for i in range(roles)})
    # ~260 characters a snippet, as LEAF's: the fixture's default is 120
    import h5py

    for name, n in (("shakespeare_train.h5", 22), ("shakespeare_test.h5", 3)):
        path = os.path.join(folder, name)
        with h5py.File(path, "w") as f:
            ex = f.create_group("examples")
            for i in range(roles):
                snippets = fx.shakespeare_snippets(n, i, length=260)
                ex.create_group(f"PLAY_{i:03d}_ROLE").create_dataset(
                    "snippets", data=np.array(snippets, dtype=object),
                    dtype=h5py.string_dtype(encoding="utf-8"))


def _rss_child(writers: int) -> str:
    """Peak RSS (MB) of a fresh process loading ``writers`` FEMNIST writers."""
    code = ("import resource, fedsim.data.femnist as f; d = f.load_femnist(%d, 0); "
            "print(len(d.writers), len(d.dataset.y_train), "
            "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)" % writers)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=os.environ.copy(), cwd=os.path.join(os.path.dirname(__file__), ".."))
    if p.returncode:
        return f"failed: {p.stderr.strip().splitlines()[-1][:120] if p.stderr else p.returncode}"
    n, rows, mb = p.stdout.split()
    return f"{float(mb):,.0f} MB peak RSS for {n} writers, {int(rows):,} training images"


def main(skip_rss: bool = False) -> None:
    from fedsim.data import download

    tmp = None
    real = {n: download.is_cached(n) for n in ("femnist", "shakespeare")}
    if not all(real.values()):
        tmp = tempfile.mkdtemp(prefix="fedsim-data-bench-")
        saved = {n: download.cached_path(n) for n in real if real[n]}
        os.environ["FEDSIM_DATA_DIR"] = tmp
        for n, path in saved.items():  # a real file stays in use
            os.makedirs(os.path.join(tmp, n), exist_ok=True)
            os.symlink(path, download.cached_path(n))
    try:
        if not real["femnist"]:
            t = time.perf_counter()
            _synthetic_femnist(download.cached_path("femnist"),
                               FEMNIST_WRITERS if not skip_rss else 500)
            print(f"FEMNIST: not cached; synthetic files of the real shapes written "
                  f"({time.perf_counter() - t:.0f} s)")
        if not real["shakespeare"]:
            _synthetic_shakespeare(download.cached_path("shakespeare"), SHAKESPEARE_ROLES)
            print("Shakespeare: not cached; synthetic files of the real shapes written")
        print(f"load average before: {_load()}")
        digits, _ = _round_ms({"dataset": {"name": "digits"}, "clients": {"num_clients": 100,
                                                                            "fraction": 1.0}})
        fem, fem_build = _round_ms({"dataset": {"name": "femnist"},
                                    "partition": {"name": "natural"}, "model": {"name": "cnn"},
                                    "clients": {"num_clients": 500, "fraction": 0.2}})
        shk, shk_build = _round_ms({"dataset": {"name": "shakespeare"},
                                    "partition": {"name": "natural"},
                                    "clients": {"num_clients": SHAKESPEARE_ROLES,
                                                "fraction": 50 / SHAKESPEARE_ROLES}})
        src = {n: "real" if real[n] else "synthetic" for n in real}
        print(f"{'row':<58} {'ms/round':>9}  {'vs digits':>9}  target")
        print(f"{'digits MLP, 100 clients (all train)':<58} {digits:>9.0f}  {1.0:>8.1f}×")
        print(f"{'FEMNIST CNN, 100 of 500 writers (' + src['femnist'] + ')':<58} {fem:>9.0f}  "
              f"{fem / digits:>8.1f}×  ≤ 10×  {'met' if fem <= 10 * digits else 'MISSED'}"
              f"  (build {fem_build:.1f} s)")
        print(f"{'Shakespeare char_cnn, 50 of 715 roles (' + src['shakespeare'] + ')':<58} "
              f"{shk:>9.0f}  {shk / digits:>8.1f}×  ≤ 1000 ms  "
              f"{'met' if shk <= 1000 else 'MISSED'}  (build {shk_build:.1f} s)")
        if not skip_rss:
            print(f"FEMNIST all {FEMNIST_WRITERS:,} writers loaded ({src['femnist']}): "
                  f"{_rss_child(FEMNIST_WRITERS)}; target ≤ 1,536 MB")
        print(f"load average after: {_load()} (2 shared cores: other work inflates these)")
        print(f"this process's peak RSS: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(skip_rss="--skip-rss" in sys.argv[1:])

"""Real federated data at scale (issue #25), beside the digits MLP in the same run:

- the 100-client digits MLP round (every client trains: the baseline);
- FEMNIST CNN, 100 writers sampled a round out of 500 and out of all 3,383 (target: ≤ 10× the digits round),
  with where its time goes (the sampled clients' rows gathered and decoded from the uint8
  pool, the train phase, the server's evaluation of the writers' 40,832 test images) and the
  arithmetic each round does (multiply-adds of the models, forward and backward, as trained:
  every client's steps padded to the round's largest client), so the floor is a number;
- Shakespeare ``char_cnn``, 50 roles sampled a round out of 715 (target: ≤ 1 s a round);
- peak RSS of loading all 3,383 FEMNIST writers (target: ≤ 1.5 GB), in a child process: the
  data set alone, and the whole federation (data set, split, client store; no TensorFlow).

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


def _round_ms(cfg_dict: dict, rounds: int = 4) -> tuple[float, float, object]:
    """Median ms of rounds 2..rounds (round 1 traces), the build time in s, the simulation."""
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
    return float(np.median(times[1:])), build, sim


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


_RSS_CODE = {
    "data set": ("import fedsim.data.femnist as f; d = f.load_femnist(%d, 0); "
                 "print(len(d.writers), len(d.dataset.y_train), %s)"),
    "federation": ("from fedsim.config import SimulationConfig\n"
                   "from fedsim.engine.federation import build_federation\n"
                   "f = build_federation(SimulationConfig.from_dict({'dataset': {'name': "
                   "'femnist'}, 'partition': {'name': 'natural'}, 'model': {'name': 'cnn'}, "
                   "'clients': {'num_clients': %d, 'fraction': 0.03}}))\n"
                   "print(len(f.client_names), len(f.data.y_train), %s)"),
}
#: The child's own peak: /proc's VmHWM (ru_maxrss would also count the parent's pages, which
#: Linux carries over the child's exec), in MB.
_PEAK = ("[int(l.split()[1]) / 1024 for l in open('/proc/self/status') "
         "if l.startswith('VmHWM')][0]")


def _rss_child(writers: int, what: str = "data set") -> str:
    """Peak RSS (MB) of a fresh process loading ``writers`` FEMNIST writers."""
    p = subprocess.run([sys.executable, "-c", _RSS_CODE[what] % (writers, _PEAK)],
                       capture_output=True,
                       text=True, env=os.environ.copy(),
                       cwd=os.path.join(os.path.dirname(__file__), ".."))
    if p.returncode:
        return f"failed: {p.stderr.strip().splitlines()[-1][:120] if p.stderr else p.returncode}"
    n, rows, mb = p.stdout.split()
    return f"{float(mb):,.0f} MB peak RSS for {n} writers, {int(rows):,} training images"


def _macs(spec) -> int:
    """Multiply-adds of one example's forward pass (the weights' layers; activations and
    pooling are a few per value)."""
    from fedsim.training.spec import CNN_KERNEL, image_dims, layer_shapes

    shapes = layer_shapes(spec)
    if spec.name == "cnn":
        h, w, c = image_dims(spec)
        conv = h * w * shapes[0][3] * CNN_KERNEL * CNN_KERNEL * c  # 'same' padding
        return conv + shapes[2][0] * shapes[2][1]
    return sum(int(np.prod(s)) for s in shapes if len(s) == 2)


def _round_work(sim) -> tuple[float, float]:
    """(training, evaluation) multiply-adds of one round of ``sim``, in units of 10^9: the
    vectorized trainer runs every sampled client for the largest one's steps (padded), each
    example forward and backward (≈ 3 forward passes); the server evaluates its test set."""
    cfg, fed = sim.config, sim.fed
    counts = fed.client_data.counts
    k = max(1, round(cfg.clients.fraction * len(counts)))
    b = cfg.training.batch_size
    steps = -(-int(np.sort(counts)[-k:].max()) // b)  # a round's largest client, about
    train = 3 * _macs(fed.spec) * k * steps * b * cfg.training.local_epochs
    return train / 1e9, _macs(fed.spec) * len(fed.data.y_test) / 1e9


def _phases(sim, rounds: int) -> dict[str, float]:
    """Median ms of each phase over rounds 2.. (round 1 traces)."""
    out = {}
    for ph in ("train", "evaluate"):
        ms = [r.ms for rr in sim.history[1:rounds] for r in rr.trace if r.phase == ph]
        out[ph] = float(np.median(ms)) if ms else float("nan")
    return out


def _take_ms(store, k: int, reps: int = 5) -> float:
    rng = np.random.default_rng(0)
    n = len(store.counts)
    t = time.perf_counter()
    for _ in range(reps):
        store.take(np.sort(rng.choice(n, k, replace=False)))
    return (time.perf_counter() - t) / reps * 1e3


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
            _synthetic_femnist(download.cached_path("femnist"), FEMNIST_WRITERS)
            print(f"FEMNIST: not cached; synthetic files of the real shapes written "
                  f"({time.perf_counter() - t:.0f} s)")
        if not real["shakespeare"]:
            _synthetic_shakespeare(download.cached_path("shakespeare"), SHAKESPEARE_ROLES)
            print("Shakespeare: not cached; synthetic files of the real shapes written")
        print(f"load average before: {_load()}")
        digits, _, dsim = _round_ms({"dataset": {"name": "digits"},
                                     "clients": {"num_clients": 100, "fraction": 1.0}})
        fem, fem_build, fsim = _round_ms({"dataset": {"name": "femnist"},
                                          "partition": {"name": "natural"},
                                          "model": {"name": "cnn"},
                                          "clients": {"num_clients": FEMNIST_WRITERS,
                                                      "fraction": 100 / FEMNIST_WRITERS}})
        fem500, fem500_build, _ = _round_ms({"dataset": {"name": "femnist"},
                                             "partition": {"name": "natural"},
                                             "model": {"name": "cnn"},
                                             "clients": {"num_clients": 500, "fraction": 0.2}})
        shk, shk_build, _ = _round_ms({"dataset": {"name": "shakespeare"},
                                       "partition": {"name": "natural"},
                                       "clients": {"num_clients": SHAKESPEARE_ROLES,
                                                   "fraction": 50 / SHAKESPEARE_ROLES}})
        src = {n: "real" if real[n] else "synthetic" for n in real}
        print(f"{'row':<58} {'ms/round':>9}  {'vs digits':>9}  target")
        print(f"{'digits MLP, 100 clients (all train)':<58} {digits:>9.0f}  {1.0:>8.1f}×")
        print(f"{'FEMNIST CNN, 100 of 500 writers (' + src['femnist'] + ')':<58} "
              f"{fem500:>9.0f}  {fem500 / digits:>8.1f}×  ≤ 10×  "
              f"{'met' if fem500 <= 10 * digits else 'MISSED'}  (build {fem500_build:.1f} s)")
        print(f"{'FEMNIST CNN, 100 of 3,383 writers (' + src['femnist'] + ')':<58} {fem:>9.0f}  "
              f"{fem / digits:>8.1f}×  ≤ 10×  {'met' if fem <= 10 * digits else 'MISSED'}"
              f"  (build {fem_build:.1f} s)")
        print(f"{'Shakespeare char_cnn, 50 of 715 roles (' + src['shakespeare'] + ')':<58} "
              f"{shk:>9.0f}  {shk / digits:>8.1f}×  ≤ 1000 ms  "
              f"{'met' if shk <= 1000 else 'MISSED'}  (build {shk_build:.1f} s)")
        # Where the FEMNIST round goes, and the arithmetic both rounds do.
        ph, dph = _phases(fsim, 4), _phases(dsim, 4)
        take = _take_ms(fsim.fed.client_data, 100)
        ft, fe = _round_work(fsim)
        dt, de = _round_work(dsim)
        print(f"  FEMNIST round: train phase {ph['train']:,.0f} ms (of which the 100 writers' "
              f"rows gathered from the uint8 pool, decoded and padded: {take:,.0f} ms), "
              f"evaluate {ph['evaluate']:,.0f} ms ({len(fsim.fed.data.y_test):,} test images)")
        print(f"  arithmetic (10^9 multiply-adds, train + evaluate): FEMNIST {ft:.2f} + "
              f"{fe:.2f}, digits {dt:.4f} + {de:.4f}: {(ft + fe) / (dt + de):,.0f}× the "
              f"digits round")
        print(f"  rate: FEMNIST train {ft / ph['train'] * 1e3:.1f}, evaluate "
              f"{fe / ph['evaluate'] * 1e3:.1f} G multiply-adds/s; digits train "
              f"{dt / dph['train'] * 1e3:.2f} G/s; 10× the digits round "
              f"({10 * digits:.0f} ms) would need {(ft + fe) / (10 * digits) * 1e3:.0f} G/s")
        if not skip_rss:
            for what in ("data set", "federation"):
                print(f"FEMNIST all {FEMNIST_WRITERS:,} writers, the {what} "
                      f"({src['femnist']}): {_rss_child(FEMNIST_WRITERS, what)}; "
                      f"target ≤ 1,536 MB")
        print(f"load average after: {_load()} (2 shared cores: other work inflates these)")
        print(f"this process's peak RSS: "
              f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(skip_rss="--skip-rss" in sys.argv[1:])

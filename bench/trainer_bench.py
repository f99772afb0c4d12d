"""The trainer before/after this pass, and with XLA (``python -m bench.trainer_bench [rev]``).

Three engines side by side, each in its own process, their rounds interleaved in blocks so
machine noise hits all alike (median ms per whole round, all 8 phases):

- ``before``: fedsim at ``BEFORE`` (weights in and out as one tensor per layer, the update
  ``local − global`` and its copies made by NumPy on the host, FedProx's term taped, every
  optimizer slot updated every step);
- ``after``: this checkout (one flat float64 row per model in, the update made in the graph
  and read back without a copy, FedProx's gradient added analytically, only the slots an
  optimizer has);
- ``after + XLA``: this checkout with the training step loop and the evaluation compiled by
  XLA (``jit_compile=True`` on an inner ``tf.function``, patched in by the worker: fedsim
  itself does not ship it — see the README's speed section).

Cases: digits MLP at 10 clients (9 local steps) and 100 clients (1 step), DP-SGD and the CNN at
100 clients.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

from bench.snapshot import extract_engine, interleaved

BEFORE = "b823243"  # fedsim before the flat weight rows and the in-graph update
ROOT = Path(__file__).resolve().parents[1]
CASES = (("digits MLP, 10 clients", 10, "mlp", "off"), ("digits MLP, 100 clients", 100, "mlp", "off"),
         ("DP-SGD MLP, 100 clients", 100, "mlp", "dpsgd"), ("digits CNN, 100 clients", 100, "cnn", "off"))
ENGINES = ("before", "after", "after + XLA")

WORKER = textwrap.dedent("""
    import os, sys, time
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, sys.argv[1])
    if os.environ.get("BENCH_XLA") == "1":
        from fedsim.training import trainer as client  # first: fedsim's TF settings (oneDNN off, threads)
        from fedsim.training.tf_runtime import tf
        init = client.VectorizedTrainer.__init__

        def init_xla(self, *a, **k):  # the step loop and the evaluation under jit_compile
            train, one = self._train_impl, self._eval_one_impl
            self._train_impl = tf.function(train, jit_compile=True)
            self._eval_one_impl = tf.function(one, jit_compile=True)
            init(self, *a, **k)

        client.VectorizedTrainer.__init__ = init_xla
    from fedsim import Simulation, SimulationConfig
    dp = {"mode": "dpsgd", "clip": 1.0, "noise_multiplier": 1.0} if sys.argv[4] == "dpsgd" else {}
    cfg = SimulationConfig.from_dict({"seed": 0, "rounds": 10000, "model": {"name": sys.argv[3]},
                                      "clients": {"num_clients": int(sys.argv[2])},
                                      "training": {"local_epochs": 1, "batch_size": 16},
                                      "privacy": {"dp": dp}})
    sim = Simulation(cfg)
    for _ in range(4):  # tracing, XLA compiles (DP-SGD's Poisson batches: a few bucket sizes)
        sim.step_round()
    print("ready", flush=True)
    for line in sys.stdin:
        out = []
        for _ in range(int(line)):
            t0 = time.perf_counter(); sim.step_round()
            out.append((time.perf_counter() - t0) * 1e3)
        print(" ".join(f"{v:.4f}" for v in out), flush=True)
""")


#: XLA's CPU grouped convolution made a CNN round ~13 s (1,000x the plain round): not rerun
XLA_SKIPPED = {"cnn": "not run (13.1 s/round when measured)"}


def compare_case(old_root: Path, clients: int, model: str, dp: str, blocks: int = 6,
                 per_block: int = 5) -> dict[str, float]:
    """Median ms/round per engine for one case."""
    roots = {"before": old_root, "after": ROOT, "after + XLA": ROOT}
    engines = [e for e in ENGINES if not (e.endswith("XLA") and model in XLA_SKIPPED)]
    workers = {eng: ([WORKER, str(roots[eng]), str(clients), model, dp],
                     {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
                      "BENCH_XLA": "1" if eng.endswith("XLA") else "0"}) for eng in engines}
    times, _ = interleaved(workers, old_root, blocks, per_block)
    return {eng: statistics.median(v) for eng, v in times.items()}


def main() -> list[dict]:
    rev = sys.argv[1] if len(sys.argv) > 1 and __name__ == "__main__" else BEFORE
    print(f"trainer: fedsim {rev} (before) vs this checkout, and with XLA "
          "(median ms/round of interleaved blocks, 1 local epoch, batch 16):")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old_root = extract_engine(rev, Path(tmp))
        for name, clients, model, dp in CASES:
            r = compare_case(old_root, clients, model, dp)
            rows.append({"case": name, **r})
            xla = r.get("after + XLA")
            xla_txt = f"{xla:7.2f} ({r['before'] / xla:4.2f}×)" if xla else XLA_SKIPPED[model]
            print(f"  {name:<26} before {r['before']:7.2f}   after {r['after']:7.2f} "
                  f"({r['before'] / r['after']:4.2f}×)   after + XLA {xla_txt}", flush=True)
    return rows


if __name__ == "__main__":
    main()

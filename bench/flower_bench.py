"""Flower's Simulation Engine vs fedsim on the same workload, side by side in one run
(``python -m bench.flower_bench [--cpus N]``).

Workload: digits, MLP, FedAvg, IID, 1 local epoch, batch 16, every client every round, at 10
and 100 clients. fedsim: median wall time of a whole round after warm-up, measured before and
after the Flower run (the median of both). Flower: the exported app on
``flwr.simulation.run_simulation`` (Ray, ``--cpus`` one-CPU actors, default 1), the median
of its rounds after the first (the first also starts Ray, the actors and TensorFlow; it is
reported on its own as start-up).
"""

from __future__ import annotations

import argparse
import statistics
import sys

from fedsim import SimulationConfig

from .engine_bench import _sim, engine_ms


def flower_seconds(num_clients: int, rounds: int, cpus: int) -> tuple[float, float, dict]:
    from fedsim.flower.run import run_simulation

    cfg = SimulationConfig.from_dict({"seed": 0, "rounds": rounds,
                                      "clients": {"num_clients": num_clients},
                                      "training": {"local_epochs": 1, "batch_size": 16}})
    res = run_simulation(cfg, num_cpus=cpus, timeout=1200)
    per = [r["seconds"] for r in res["rounds"]]
    return statistics.median(per[1:]), per[0], res["engine"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.flower_bench")
    p.add_argument("--cpus", type=int, default=1, help="CPUs for Ray (default 1)")
    p.add_argument("--clients", type=int, nargs="*", default=[10, 100])
    args = p.parse_args(argv)
    from fedsim.flower.run import flower_available

    if not flower_available():
        print("flower bench: skipped (pip install -e '.[flower]')")
        return 0
    print(f"Flower simulation (Ray, {args.cpus} CPU) vs fedsim, digits MLP, 1 local epoch, "
          "all clients sampled")
    print(f"{'clients':>8} {'fedsim ms/round':>16} {'Flower s/round':>15} {'ratio':>8} "
          f"{'Flower start-up s':>18}")
    for n in args.clients:
        sim = _sim(n)
        before = engine_ms(sim, rounds=9, warmup=3)
        fl, first, _ = flower_seconds(n, 6 if n <= 20 else 4, args.cpus)
        after = engine_ms(sim, rounds=9, warmup=1)
        ours = statistics.median([before, after])
        print(f"{n:>8} {ours:>16.1f} {fl:>15.2f} {fl * 1e3 / ours:>7.0f}× {first:>18.1f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

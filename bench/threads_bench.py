"""TensorFlow's runtime settings: fedsim's (one intra-op thread, oneDNN off) against TF's
default threads, and against oneDNN on.

TensorFlow fixes its thread pools and its oneDNN choice when its runtime starts, so each
setting runs in its own processes — alternated A, B, C, A, B, C so that a change in the
machine's load hits all — each timing the same rounds: digits MLP at 10 and 100 clients, the
CNN and DP-SGD at 100 clients, and 2-D at 1,000 clients. Printed: each setting's best median ms
per round over the processes, and its ratio to fedsim's (above 1: fedsim's setting is faster).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

_CHILD = r"""
import json
from bench.engine_bench import _sim, engine_ms
out = {
    "digits MLP, 10 clients": engine_ms(_sim(10), 25),
    "digits MLP, 100 clients": engine_ms(_sim(100), 25),
    "digits CNN, 100 clients": engine_ms(_sim(100, model={"name": "cnn"}), 15),
    "DP-SGD MLP, 100 clients": engine_ms(_sim(100, privacy={"dp": {"mode": "dpsgd",
        "clip": 1.0, "noise_multiplier": 1.0}}), 12),
    "2-D MLP, 1000 clients": engine_ms(_sim(1000, dataset={"name": "2d", "num_samples": 62500,
        "val_fraction": 0.0, "shape": "moons"}, model={"name": "mlp", "hidden": 16}), 9),
}
print("RESULT " + json.dumps(out))
"""

SETTINGS = {"fedsim": {"TF_ENABLE_ONEDNN_OPTS": "0"},
            "TF default threads": {"FEDSIM_TF_INTRA_THREADS": "0",
                                   "FEDSIM_TF_INTER_THREADS": "0", "TF_ENABLE_ONEDNN_OPTS": "0"},
            "oneDNN on": {"TF_ENABLE_ONEDNN_OPTS": "1"}}


def _child(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("FEDSIM_TF_") and k != "TF_ENABLE_ONEDNN_OPTS"}
    env.update(extra, FEDSIM_PRELOAD="0")
    run = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                         text=True, check=True, timeout=900)
    line = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def main(repeats: int = 2) -> None:
    got: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for _ in range(repeats):
        for name, extra in SETTINGS.items():
            got[name].append(_child(extra))
    names = list(SETTINGS)
    print(f"{'ms per round (best of ' + str(repeats) + ' processes)':<40}"
          + "".join(f"{n:>20}" for n in names))
    for case in got["fedsim"][0]:
        best = {n: min(r[case] for r in got[n]) for n in names}
        cells = [f"{best['fedsim']:20.2f}"] + [
            f"{best[n]:10.2f} ({best[n] / best['fedsim']:4.2f}x)".rjust(20) for n in names[1:]]
        print(f"{case:<40}" + "".join(cells))


if __name__ == "__main__":
    main()

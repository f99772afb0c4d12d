"""One intra-op thread (fedsim's setting, ``fedsim.tf_runtime``) vs TensorFlow's default.

TensorFlow fixes its thread pools when its runtime starts, so the two settings run in separate
processes — alternated A, B, A, B so that a change in the machine's load hits both — each
timing the same rounds: digits MLP at 10 and 100 clients, the CNN and DP-SGD at 100 clients,
and 2-D at 1,000 clients. Printed: each setting's best-of-two median ms per round, and the ratio.
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

SETTINGS = {"one intra-op thread (fedsim)": {},
            "TF default threads": {"FEDSIM_TF_INTRA_THREADS": "0",
                                   "FEDSIM_TF_INTER_THREADS": "0"}}


def _child(extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEDSIM_TF_")}
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
    ours, theirs = (got[n] for n in SETTINGS)
    print(f"{'ms per round (best of ' + str(repeats) + ' processes)':<40}"
          f"{'fedsim':>10}{'TF default':>12}{'ratio':>9}")
    for case in ours[0]:
        a = min(r[case] for r in ours)
        b = min(r[case] for r in theirs)
        print(f"{case:<40}{a:10.2f}{b:12.2f}{b / a:8.2f}x")


if __name__ == "__main__":
    main()

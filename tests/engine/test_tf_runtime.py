"""TensorFlow's threading as fedsim sets it (``fedsim.training.tf_runtime``), and that it changes no number.

One intra-op thread made a 100-client round ~30% faster on the 2-core machine (see the module's
docstring and ``bench.engine_bench``); these tests hold that it is really in effect, and that a
process with TensorFlow's default threading computes the identical global model, bit for bit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from fedsim import Simulation, SimulationConfig

_CONFIGS = [
    {},
    {"model": {"name": "cnn"}},
    {"training": {"optimizer": "adam", "lr": 0.01, "prox_mu": 0.1}},
    {"privacy": {"dp": {"mode": "dpsgd", "clip": 1.0, "noise_multiplier": 1.0}}},
]

_SCRIPT = """
import hashlib, json, sys
import numpy as np
from fedsim import Simulation, SimulationConfig
out = []
for over in json.loads(sys.argv[1]):
    cfg = {"seed": 3, "rounds": 2, "clients": {"num_clients": 12}, **over}
    sim = Simulation(SimulationConfig.from_dict(cfg))
    sim.run()
    out.append(hashlib.sha256(np.ascontiguousarray(sim.weights).tobytes()).hexdigest())
import tensorflow as tf
print(json.dumps([tf.config.threading.get_intra_op_parallelism_threads(), out]))
"""


def _digests(env: dict) -> tuple[int, list[str]]:
    run = subprocess.run([sys.executable, "-c", _SCRIPT, json.dumps(_CONFIGS)], env=env,
                         capture_output=True, text=True, check=True, timeout=600)
    threads, out = json.loads(run.stdout.strip().splitlines()[-1])
    return threads, out


def test_one_intra_op_thread_and_identical_models_with_tensorflows_default():
    base = {k: v for k, v in os.environ.items() if not k.startswith("FEDSIM_TF_")}
    ours, a = _digests(base)
    default, b = _digests({**base, "FEDSIM_TF_INTRA_THREADS": "0", "FEDSIM_TF_INTER_THREADS": "0"})
    assert ours == 1 and default == 0
    assert a == b  # MLP, CNN, Adam + FedProx, DP-SGD: the same bits either way


def test_in_graph_broadcast_equals_an_explicit_per_client_start():
    """The global model goes in once and the graph copies it to K clients; passing the K
    copies explicitly (``stacked=True``) must train to the same weights, bit for bit."""
    from fedsim.rng import generator

    sim = Simulation(SimulationConfig.from_dict(
        {"seed": 1, "clients": {"num_clients": 7}, "training": {"prox_mu": 0.2}}))
    tr, data = sim.env.trainer, sim.fed.client_data
    start = sim.env.unflat(sim.weights)
    kw = dict(epochs=2, batch_size=8, lr=0.05, prox_mu=0.2)
    once = tr.train(start, data, rng=generator(1, "t", 0), **kw)
    k = len(data.counts)
    many = tr.train([np.repeat(w[None], k, 0) for w in start], data, rng=generator(1, "t", 0),
                    stacked=True, **kw)
    for x, y in zip(once.weights, many.weights):
        assert x.shape[0] == k and np.array_equal(x, y)
    assert np.array_equal(once.epoch_loss, many.epoch_loss)
    assert not np.array_equal(once.weights[0][0], start[0])  # it did train


def test_a_bad_thread_count_names_the_variable():
    run = subprocess.run([sys.executable, "-c", "import fedsim.training.tf_runtime"],
                         env={**os.environ, "FEDSIM_TF_INTRA_THREADS": "two"},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "FEDSIM_TF_INTRA_THREADS='two': expected a whole number of threads" in run.stderr

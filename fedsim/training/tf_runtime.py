"""TensorFlow, imported once and set up for fedsim's workload: many small ops per call.

Every fedsim module that needs TensorFlow imports it from here (``from .tf_runtime import tf``),
so the threading below is in place before TensorFlow's runtime starts (it cannot change after).

Why one intra-op thread: a 100-client round is ~180 small kernels (a [16, 64] × [64, 32]
matmul per client, batched over the clients), each too small to be worth splitting across
cores; with TensorFlow's default (one intra-op thread per core) every kernel pays a hand-off
and a wake-up. Measured by ``bench.threads_bench`` (separate processes, alternated, 2-core
machine), TF's default ÷ this, in two runs: digits MLP 10 clients 1.07-1.09×, 100 clients
1.06-1.13×, CNN 100 clients 1.02-1.19×, 2-D 1,000 clients 1.13-1.21×. Two inter-op
threads keep independent ops (and concurrent app sessions) on both cores. The values
computed are the same bits either way
(``tests/test_tf_runtime.py``). ``FEDSIM_TF_INTRA_THREADS`` / ``FEDSIM_TF_INTER_THREADS``
override (0 = TF's default).

This module is also where TensorFlow's own switches are chosen, right before it is imported
(``import fedsim`` itself changes nothing in the environment): its C++ INFO lines are hidden
(noise for a student reading a terminal), and oneDNN's kernels are off unless the environment
says otherwise. Without them results do not depend on which oneDNN code path a CPU happens to
take, and across fedsim's workloads they do not win (``bench.threads_bench``: the 100-client
digits MLP 1.47-1.73x faster with them, the CNN 1.02-1.42x and the 2-D round 1.07-1.09x
slower). The choice is fixed when TensorFlow starts, for every model in the process;
``TF_ENABLE_ONEDNN_OPTS=1`` turns them on for MLP-only runs. A program that imported
TensorFlow before fedsim keeps its own settings.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

try:
    import tensorflow as tf  # noqa: E402  (after the switches above, which it reads once)
except ModuleNotFoundError as exc:  # not installed (a broken install keeps its own error)
    if exc.name != "tensorflow":
        raise
    from fedsim.errors import TENSORFLOW_MISSING, MissingDependencyError

    raise MissingDependencyError(TENSORFLOW_MISSING) from None


def _threads(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default)).strip()
    if not raw.isdigit():
        raise ValueError(f"{name}={raw[:40]!r}: expected a whole number of threads, "
                         "0 (TensorFlow's default) or more")
    return int(raw)


def _configure() -> None:
    intra = _threads("FEDSIM_TF_INTRA_THREADS", 1)
    inter = _threads("FEDSIM_TF_INTER_THREADS", 2)
    try:
        if intra and tf.config.threading.get_intra_op_parallelism_threads() == 0:
            tf.config.threading.set_intra_op_parallelism_threads(intra)
        if inter and tf.config.threading.get_inter_op_parallelism_threads() == 0:
            tf.config.threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError:
        # TensorFlow's runtime already started (a host program used it first): its
        # threading stays as that program set it; fedsim computes the same values either way.
        pass


_configure()

__all__ = ["tf"]

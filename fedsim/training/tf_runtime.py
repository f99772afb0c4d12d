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
"""

from __future__ import annotations

import os

import tensorflow as tf


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

"""Client data laid out for vectorized training, and each round's batch order (NumPy only).

Kept apart from :mod:`fedsim.client` so that building a federation (data, split, padded
arrays) does not import TensorFlow: the app and the CLI can check a split in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClientData:
    """Every client's rows, padded to the largest client: ``x [K, Nmax, d]``, ``y [K, Nmax]``."""

    x: np.ndarray
    y: np.ndarray
    counts: np.ndarray  # [K] real rows per client
    xv: np.ndarray  # validation rows, padded the same way
    yv: np.ndarray
    vcounts: np.ndarray

    @staticmethod
    def build(xs: list[np.ndarray], ys: list[np.ndarray], xvs: list[np.ndarray],
              yvs: list[np.ndarray]) -> "ClientData":
        def pad(arrs, fill_shape, dtype):
            n = max(1, max(len(a) for a in arrs))
            out = np.zeros((len(arrs), n, *fill_shape), dtype)
            for i, a in enumerate(arrs):
                out[i, : len(a)] = a
            return out

        d = xs[0].shape[1:]
        ydt = ys[0].dtype
        return ClientData(pad(xs, d, np.float32), pad(ys, (), ydt),
                          np.array([len(a) for a in xs], np.int32),
                          pad(xvs, d, np.float32), pad(yvs, (), ydt),
                          np.array([len(a) for a in xvs], np.int32))

    def take(self, clients: np.ndarray) -> "ClientData":
        c = np.asarray(clients)
        nmax = max(1, int(self.counts[c].max()))
        vmax = max(1, int(self.vcounts[c].max()))
        return ClientData(self.x[c, :nmax], self.y[c, :nmax], self.counts[c],
                          self.xv[c, :vmax], self.yv[c, :vmax], self.vcounts[c])


def batch_schedule(counts: np.ndarray, epochs: int, batch_size: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Shuffled batch order for every client: ``idx [K, E·S, B]`` int32, ``emask`` float32.

    One vectorized draw: each epoch, client k's rows ``0..n_k-1`` are permuted (padding rows get
    a key above every real one, so they sort last); the first ``ceil(n_k/B)`` steps are real.
    """
    k = len(counts)
    nmax = max(1, int(counts.max()))
    steps = -(-nmax // batch_size)
    slots = steps * batch_size
    keys = rng.random((epochs, k, slots))
    keys[:, np.arange(slots)[None, :] >= counts[:, None]] = 2.0
    order = np.argsort(keys, axis=-1, kind="stable").astype(np.int32)  # [E, K, slots]
    valid = (np.arange(slots)[None, None, :] < counts[None, :, None]).astype(np.float32)
    valid = np.broadcast_to(valid, order.shape)
    order = np.where(valid > 0, order, 0)
    idx = order.reshape(epochs, k, steps, batch_size).transpose(1, 0, 2, 3).reshape(
        k, epochs * steps, batch_size)
    emask = valid.reshape(epochs, k, steps, batch_size).transpose(1, 0, 2, 3).reshape(
        k, epochs * steps, batch_size)
    return np.ascontiguousarray(idx), np.ascontiguousarray(emask)

"""Client data laid out for vectorized training, and each round's batch order (NumPy only).

Kept apart from :mod:`fedsim.training.trainer` so that building a federation (data, split, padded
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
        """The rows of ``clients`` (in that order), padded to the largest of them."""
        c = np.asarray(clients)
        if len(c) == len(self.counts) and np.array_equal(c, np.arange(len(c))):
            return self  # every client, in order: the arrays as they are (frozen, not copied)
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


def step_activity(emask: np.ndarray) -> np.ndarray:
    """``[K, T]`` float32: 1 where a shuffled step has at least one real example."""
    return (emask.sum(-1) > 0).astype(np.float32)


def poisson_schedule(counts: np.ndarray, epochs: int, batch_size: int,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Poisson-sampled batches, as DP-SGD's accountant assumes (Abadi et al. 2016, §3.1).

    Client k takes S_k = ceil(n_k/B)·E steps; at every step each of its n_k examples joins the
    batch independently with probability q_k = min(1, B/n_k). Batch sizes vary (a step may
    even be empty — it still counts, and still gets its noise), so the slots are padded to the
    largest batch drawn. Returns ``idx [K, T, W]``, ``emask [K, T, W]`` and ``active [K, T]``
    (1 for the client's S_k real steps, whether or not their batch is empty).
    """
    counts = np.asarray(counts, np.int64)
    k = len(counts)
    nmax = max(1, int(counts.max()))
    per_epoch = -(-counts // batch_size)
    pe_max = max(1, int(per_epoch.max()))
    t_max = pe_max * epochs  # laid out epoch by epoch, like batch_schedule
    q = np.minimum(1.0, batch_size / np.maximum(counts, 1))
    draws = rng.random((k, t_max, nmax))
    within = np.tile(np.arange(pe_max), epochs)  # step index inside its epoch
    active = (within[None, :] < per_epoch[:, None])  # [K, T]
    real = (np.arange(nmax)[None, None, :] < counts[:, None, None]) & active[:, :, None]
    member = (draws < q[:, None, None]) & real  # [K, T, Nmax]
    width = max(1, int(member.sum(-1).max()))
    # Members first (stable), then cut to the widest batch.
    order = np.argsort(~member, axis=-1, kind="stable")[..., :width].astype(np.int32)
    emask = np.take_along_axis(member, order, axis=-1).astype(np.float32)
    idx = np.where(emask > 0, order, 0).astype(np.int32)
    active = active.astype(np.float32)
    return np.ascontiguousarray(idx), np.ascontiguousarray(emask), active

"""Client data laid out for vectorized training, and each round's batch order (NumPy only).

Two layouts: :class:`ClientStore` keeps every client's rows *unpadded* (indices into one pool of
rows, which may be uint8 codes) and is what a federation holds; :class:`ClientData` is the
padded block ``[K, Nmax, ...]`` float32 the trainer takes, made by :meth:`ClientStore.take` for
the clients sampled in a round only (memory: the pool once, plus one round's block).

Kept apart from :mod:`fedsim.training.trainer` so that building a federation (data, split, padded
arrays) does not import TensorFlow: the app and the CLI can check a split in milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

#: ``ClientStore.take`` of every client keeps its block for the next rounds when it is at most
#: this big (digits, breast cancer, 2-D: every round trains everyone from the same arrays).
FULL_BLOCK_CACHE_BYTES = 64 << 20


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


@dataclass(frozen=True, eq=False)
class ClientStore:
    """Every client's rows, unpadded: client k's training rows are
    ``x_pool[order[offsets[k]:offsets[k + 1]]]`` (labels ``y_pool[...]`` alike), its validation
    rows the same in ``xv_pool``/``vorder``/``voffsets``. The pools may be uint8 codes, turned
    into float32 by ``decode`` (elementwise) only for the rows a :meth:`take` gathers.

    Duck-compatible with :class:`ClientData` for readers of ``counts``/``vcounts``; ``x``,
    ``y``, ``xv``, ``yv`` give the whole padded float32 block (made on first use and kept: as
    big as the pool padded to the largest client, which for thousands of clients is GBs);
    :meth:`client` gives one client's rows without it.
    """

    x_pool: np.ndarray
    y_pool: np.ndarray
    order: np.ndarray  # int64 pool rows, client after client
    offsets: np.ndarray  # [K + 1]
    xv_pool: np.ndarray
    yv_pool: np.ndarray
    vorder: np.ndarray
    voffsets: np.ndarray
    decode: Callable[[np.ndarray], np.ndarray] | None = None
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def gather(x_pool, y_pool, train_rows: list[np.ndarray], xv_pool, yv_pool,
               val_rows: list[np.ndarray], decode=None) -> "ClientStore":
        """A store of clients whose training rows are ``train_rows[k]`` of ``x_pool`` and
        validation rows ``val_rows[k]`` of ``xv_pool`` (the same pool or another)."""
        def pack(rows):
            off = np.zeros(len(rows) + 1, np.int64)
            np.cumsum([len(r) for r in rows], out=off[1:])
            order = (np.concatenate(rows).astype(np.int64) if len(rows)
                     else np.zeros(0, np.int64))
            for a in (off, order):
                a.setflags(write=False)
            return order, off

        order, off = pack(train_rows)
        vorder, voff = pack(val_rows)
        return ClientStore(x_pool, y_pool, order, off, xv_pool, yv_pool, vorder, voff, decode)

    @staticmethod
    def of_rows(xs: list[np.ndarray], ys: list[np.ndarray], xvs: list[np.ndarray],
                yvs: list[np.ndarray]) -> "ClientStore":
        """A store owning the given per-client rows (concatenated once, no padding)."""
        def cat(arrs, like):
            return np.concatenate(arrs) if arrs else np.zeros((0, *like.shape[1:]), like.dtype)

        ranges = np.cumsum([0] + [len(a) for a in xs])
        vranges = np.cumsum([0] + [len(a) for a in xvs])
        rows = [np.arange(a, b) for a, b in zip(ranges[:-1], ranges[1:])]
        vrows = [np.arange(a, b) for a, b in zip(vranges[:-1], vranges[1:])]
        return ClientStore.gather(cat(xs, xs[0]), cat(ys, ys[0]), rows, cat(xvs, xs[0]),
                                  cat(yvs, ys[0]), vrows)

    @property
    def counts(self) -> np.ndarray:
        """[K] int32 training rows per client."""
        return self._sizes("counts", self.offsets)

    @property
    def vcounts(self) -> np.ndarray:
        return self._sizes("vcounts", self.voffsets)

    def _sizes(self, key, off):
        out = self._memo.get(key)
        if out is None:
            out = np.diff(off).astype(np.int32)
            out.setflags(write=False)
            self._memo[key] = out
        return out

    @property
    def num_clients(self) -> int:
        return len(self.offsets) - 1

    def _block(self, pool, ypool, order, off, c, counts) -> tuple[np.ndarray, np.ndarray]:
        """The padded ``[len(c), max(1, n), ...]`` float32 rows and labels of clients ``c``:
        one gather from the pool, decoded, padding rows zero."""
        nmax = max(1, int(counts.max())) if len(c) else 1
        j = np.arange(nmax)
        real = j[None, :] < counts[:, None]  # [m, nmax]
        src = np.where(real, off[c][:, None] + j[None, :], 0)
        rows = order[src] if len(order) else np.zeros(src.shape, np.int64)
        if len(pool):
            x = pool[rows]
            y = ypool[rows]
        else:
            x = np.zeros((*rows.shape, *pool.shape[1:]), pool.dtype)
            y = np.zeros(rows.shape, ypool.dtype)
        if self.decode is not None and x.dtype == np.uint8:
            x = self.decode(x.reshape(-1, *pool.shape[1:])).reshape(x.shape)
        x = x.astype(np.float32, copy=False)
        x[~real] = 0
        y[~real] = 0
        return x, y

    def take(self, clients: np.ndarray) -> ClientData:
        """The rows of ``clients`` (in that order), padded to the largest of them: the only
        float32 copy of them there is (made per round; every client's block is kept when it is
        at most :data:`FULL_BLOCK_CACHE_BYTES`)."""
        c = np.asarray(clients, np.int64).reshape(-1)
        every = len(c) == self.num_clients and np.array_equal(c, np.arange(len(c)))
        if every:
            full = self._memo.get("full")
            if full is not None:
                return full
        counts, vcounts = self.counts[c], self.vcounts[c]
        x, y = self._block(self.x_pool, self.y_pool, self.order, self.offsets, c, counts)
        xv, yv = self._block(self.xv_pool, self.yv_pool, self.vorder, self.voffsets, c,
                             vcounts)
        out = ClientData(x, y, counts.copy(), xv, yv, vcounts.copy())
        if every and x.nbytes + xv.nbytes <= FULL_BLOCK_CACHE_BYTES:
            self._keep(out)
        return out

    def _keep(self, full: ClientData) -> ClientData:
        for a in (full.x, full.y, full.counts, full.xv, full.yv, full.vcounts):
            a.setflags(write=False)
        self._memo["full"] = full
        return full

    def _everyone(self) -> ClientData:
        full = self._memo.get("full")
        return full if full is not None else self._keep(self.take(np.arange(self.num_clients)))

    # The whole padded block, for readers written against ClientData (made once, kept).
    x = property(lambda self: self._everyone().x)
    y = property(lambda self: self._everyone().y)
    xv = property(lambda self: self._everyone().xv)
    yv = property(lambda self: self._everyone().yv)

    def client(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Client ``k``'s training rows, labels, validation rows and labels (float32,
        unpadded), without making every client's block."""
        d = self.take(np.array([k]))
        n, nv = int(d.counts[0]), int(d.vcounts[0])
        return d.x[0, :n], d.y[0, :n], d.xv[0, :nv], d.yv[0, :nv]

    @property
    def pool_bytes(self) -> int:
        """Bytes the store holds (pools and indices), however many clients a round samples."""
        arrs = {id(a): a for a in (self.x_pool, self.y_pool, self.order, self.offsets,
                                   self.xv_pool, self.yv_pool, self.vorder, self.voffsets)}
        return sum(a.nbytes for a in arrs.values())


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


#: Dummy examples after each step's real ones in :func:`flat_schedule`: TF's elementwise
#: kernels run a tensor's last (size mod packet) elements through a scalar path whose ``exp``
#: rounds differently from the vectorized one; 16 rows (a packet is at most 16 floats) keep
#: every real example out of that tail, as the padded layout's trailing padding slots did.
FLAT_TAIL = 16


def flat_schedule(idx: np.ndarray, emask: np.ndarray, nmax: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A padded schedule's real examples only, step after step (DP-SGD's per-example work).

    Poisson batches vary in size, so ``idx``/``emask [K, T, W]`` pad every (client, step) to
    the widest batch W of the round (about 1.7× the examples drawn at 10 digits clients). This
    lists the real ones, in step, client, slot order, each step followed by
    :data:`FLAT_TAIL` dummies (client 0's row 0, ``live`` 0): ``rows`` (client k's row r as
    ``k·nmax + r`` of the ``[K·nmax]`` row table), ``cid`` (the client), ``live`` (float32, 1
    for a real example) and ``off [T + 1]`` (step t is ``off[t]:off[t + 1]``); and ``slot
    [T, K·W]``: for each slot of step t's padded ``[K, W]`` batch, which of the step's examples
    sits there (an index into ``off[t]:off[t + 1]``; a padding slot names the step's first
    dummy). Int32 but ``live``.
    """
    k, t, w = emask.shape
    tt, kk, bb = np.nonzero(emask.transpose(1, 0, 2) > 0)  # C order: by step, client, slot
    real_per = np.bincount(tt, minlength=t)
    off = np.zeros(t + 1, np.int64)
    np.cumsum(real_per + FLAT_TAIL, out=off[1:])
    at = np.arange(len(tt)) + FLAT_TAIL * tt  # where each real example goes
    rows = np.zeros(off[-1], np.int32)
    cid = np.zeros(off[-1], np.int32)
    live = np.zeros(off[-1], np.float32)
    rows[at] = kk * nmax + idx[kk, tt, bb]
    cid[at] = kk
    live[at] = 1.0
    slot = np.repeat(real_per[:, None], k * w, axis=1)  # padding: the step's first dummy
    slot[tt, kk * w + bb] = at - off[tt]
    return rows, cid, live, off.astype(np.int32), slot.astype(np.int32)

"""Splitting the training pool among clients: IID and the usual non-IID schemes.

Names and parameters follow flwr-datasets (``IidPartitioner``, ``DirichletPartitioner``,
``PathologicalPartitioner``, ``ShardPartitioner``, size partitioners) so what a student learns
here carries over. Every partitioner is seeded, *disjoint* (no example goes to two clients) and
*complete* (every example goes to some client), and guarantees ``min_samples`` per client or
raises :class:`~fedsim.errors.PartitionError` saying what to change.

Label-based schemes use class labels; for the regression set they use the target cut into
``label_bins`` equal-count bins ("label skew on binned targets").

References: Hsu et al. 2019, "Measuring the effects of non-identical data distribution"
(Dirichlet); McMahan et al. 2017, "Communication-efficient learning of deep networks from
decentralized data" (pathological shards); Li et al. 2022, "Federated learning on non-IID data
silos: an experimental study" (quantity and feature skew).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from fedsim.config import PartitionConfig
from fedsim.errors import PartitionError
from fedsim.rng import generator


@dataclass(frozen=True)
class Partition:
    """Which training-pool rows each client holds, and its local train/validation split.

    Attributes
    ----------
    indices:
        One sorted int64 array of pool rows per client (disjoint; they cover the pool except
        the rows of ``unused_labels``).
    val_mask:
        One bool array per client, aligned with ``indices``: True for local-validation rows.
    feature_shift, feature_noise:
        ``[K, d]`` shift and ``[K]`` noise std added to each client's inputs (feature skew;
        zeros otherwise).
    unused_labels:
        Labels (strata) no client holds. Only the pathological split leaves any: with
        clients × classes_per_client < number of labels, the labels without a holder are
        dropped from the federation (what flwr-datasets does) rather than handed to random
        clients, which would break ``classes_per_client``. The Data page says so.
    """

    indices: tuple[np.ndarray, ...]
    val_mask: tuple[np.ndarray, ...]
    feature_shift: np.ndarray
    feature_noise: np.ndarray
    unused_labels: tuple[int, ...] = ()

    @property
    def num_clients(self) -> int:
        return len(self.indices)

    def sizes(self) -> np.ndarray:
        return np.array([len(i) for i in self.indices])

    def label_counts(self, strata: np.ndarray, num_labels: int) -> np.ndarray:
        """``[K, num_labels]`` counts of each label on each client."""
        return np.stack([np.bincount(strata[i], minlength=num_labels) for i in self.indices])


def _too_small(num_clients: int, n: int, min_samples: int) -> PartitionError:
    return PartitionError(
        "clients.num_clients", num_clients,
        f"at most {n // min_samples} clients: the training pool has {n} examples and each "
        f"client needs partition.min_samples={min_samples}")


def _iid(n: int, k: int, rng: np.random.Generator) -> list[np.ndarray]:
    return np.array_split(rng.permutation(n), k)


def _dirichlet(strata: np.ndarray, k: int, alpha: float, min_samples: int,
               rng: np.random.Generator) -> list[np.ndarray]:
    """Each class c is split among clients with proportions p_c ~ Dir(alpha·1_K).

    Like flwr-datasets, resample when some client ends up below ``min_samples`` (tiny alpha
    with many clients can make that impossible; then say so).
    """
    classes = np.unique(strata)
    for _attempt in range(50):
        parts: list[list[np.ndarray]] = [[] for _ in range(k)]
        for c in classes:
            idx = rng.permutation(np.flatnonzero(strata == c))
            p = rng.dirichlet(np.full(k, alpha))
            cuts = (np.cumsum(p)[:-1] * len(idx)).astype(int)
            for j, chunk in enumerate(np.split(idx, cuts)):
                parts[j].append(chunk)
        out = [np.concatenate(p) for p in parts]
        if min(len(o) for o in out) >= min_samples:
            return out
    raise PartitionError(
        "partition.alpha", alpha,
        f"a larger alpha, or fewer than the {k} clients asked for: after 50 draws some client "
        f"still had fewer than partition.min_samples={min_samples} examples")


def _pathological(strata: np.ndarray, k: int, per_client: int,
                  rng: np.random.Generator) -> tuple[list[np.ndarray], tuple[int, ...]]:
    """Each client holds exactly ``per_client`` labels; a label's rows are split evenly among
    its holders. Returns the parts and the labels nobody holds.

    Labels are dealt round-robin over a shuffled label order so every label has a holder
    whenever k·per_client ≥ #labels (flwr's ``class_assignment_mode="deterministic"`` idea);
    with fewer slots, the labels left over are dropped, as flwr-datasets does.
    """
    classes = np.unique(strata)
    if per_client > len(classes):
        raise PartitionError("partition.classes_per_client", per_client,
                             f"at most {len(classes)} (the number of labels)")
    order = rng.permutation(classes)
    holders: dict[int, list[int]] = {int(c): [] for c in classes}
    pos = 0
    for client in range(k):
        mine: set[int] = set()
        while len(mine) < per_client:
            c = int(order[pos % len(order)])
            pos += 1
            if c not in mine:
                mine.add(c)
                holders[c].append(client)
    parts: list[list[np.ndarray]] = [[] for _ in range(k)]
    unused = tuple(sorted(c for c, hs in holders.items() if not hs))
    for c, hs in holders.items():
        if not hs:
            continue  # fewer slots than labels: nobody holds this one (see Partition)
        idx = rng.permutation(np.flatnonzero(strata == c))
        for h, chunk in zip(hs, np.array_split(idx, len(hs))):
            parts[h].append(chunk)
    return [np.concatenate(p) if p else np.array([], np.int64) for p in parts], unused


def _shards(strata: np.ndarray, k: int, per_client: int,
            rng: np.random.Generator) -> list[np.ndarray]:
    """McMahan et al.'s split: sort by label, cut into k·s shards, deal s shards per client."""
    tie = rng.random(len(strata))
    order = np.lexsort((tie, strata))
    shards = np.array_split(order, k * per_client)
    dealt = rng.permutation(len(shards))
    return [np.concatenate([shards[s] for s in dealt[j * per_client:(j + 1) * per_client]])
            for j in range(k)]


def _quantity(n: int, k: int, cfg: PartitionConfig, rng: np.random.Generator) -> list[np.ndarray]:
    """IID labels, unequal sizes: lognormal(0, sigma) or Pareto(power) shares of the pool."""
    if cfg.distribution == "lognormal":
        w = rng.lognormal(0.0, cfg.sigma, size=k)
    else:
        w = rng.pareto(cfg.power, size=k) + 1.0
    extra = n - k * cfg.min_samples
    sizes = cfg.min_samples + np.floor(extra * w / w.sum()).astype(int)
    sizes[np.argmax(w)] += n - sizes.sum()  # rounding remainder to the largest client
    perm = rng.permutation(n)
    return np.split(perm, np.cumsum(sizes)[:-1])


@dataclass(frozen=True)
class Pool:
    """What a partitioner may look at: each pool row's label (``strata``: classes, or binned
    regression targets) and, for data split by nature, which group each row came from."""

    strata: np.ndarray
    groups: tuple[np.ndarray, ...] | None = None  # pool rows of each natural client
    group_names: tuple[str, ...] = ()


class Partitioner(Protocol):
    """One way to split a training pool among ``k`` clients (flwr-datasets' ``Partitioner``).

    ``split`` returns one array of pool rows per client and the labels no client holds. It
    draws only from ``rng`` (the stream ``partition/<name>``), so a split is a function of the
    seed. :func:`partition_pool` adds what every scheme shares: the ``min_samples`` check,
    feature skew and the local validation rows.
    """

    def split(self, pool: Pool, k: int, cfg: PartitionConfig,
              rng: np.random.Generator) -> tuple[list[np.ndarray], tuple[int, ...]]: ...


class Iid:
    """A uniform random split into (almost) equal parts (``feature`` skew uses it too)."""

    def split(self, pool, k, cfg, rng):
        return _iid(len(pool.strata), k, rng), ()


class Dirichlet:
    def split(self, pool, k, cfg, rng):
        return _dirichlet(pool.strata, k, cfg.alpha, cfg.min_samples, rng), ()


class Pathological:
    def split(self, pool, k, cfg, rng):
        return _pathological(pool.strata, k, cfg.classes_per_client, rng)


class Shards:
    def split(self, pool, k, cfg, rng):
        return _shards(pool.strata, k, cfg.shards_per_client, rng), ()


class Quantity:
    def split(self, pool, k, cfg, rng):
        return _quantity(len(pool.strata), k, cfg, rng), ()


class Natural:
    """One client per group the data came in (a CSV's ``dataset.partition_column``): the
    split is the data's own, so nothing is drawn."""

    def split(self, pool, k, cfg, rng):
        if pool.groups is None:
            raise PartitionError("dataset.partition_column", None,
                                 "a column name (the data was loaded without one)")
        for name, idx in zip(pool.group_names, pool.groups):
            if len(idx) < cfg.min_samples:
                raise PartitionError("dataset.partition_column", name,
                                     f"clients with at least partition.min_samples="
                                     f"{cfg.min_samples} training rows (client {name!r} has "
                                     f"{len(idx)})")
        return list(pool.groups), ()


#: Partition name (``partition.name``) -> its partitioner. A new scheme is a class with
#: ``split`` registered here and its name added to ``fedsim.config.fields.PARTITIONS``.
PARTITIONERS: dict[str, Partitioner] = {
    "iid": Iid(), "feature": Iid(), "dirichlet": Dirichlet(), "pathological": Pathological(),
    "shards": Shards(), "quantity": Quantity(), "natural": Natural(),
}


def partition_pool(strata: np.ndarray, num_features: int, num_clients: int,
                   cfg: PartitionConfig, val_fraction: float, seed: int,
                   groups: tuple[np.ndarray, ...] | None = None,
                   group_names: tuple[str, ...] = ()) -> Partition:
    """Split pool rows (labelled ``strata``) among ``num_clients`` clients as ``cfg`` says."""
    n, k = len(strata), num_clients
    natural = cfg.name == "natural"
    if not natural and n < k * cfg.min_samples:
        raise _too_small(k, n, cfg.min_samples)
    rng = None if natural else generator(seed, "partition", cfg.name)
    parts, unused = PARTITIONERS[cfg.name].split(Pool(strata, groups, group_names), k, cfg, rng)
    sizes = [len(p) for p in parts]
    if min(sizes) < cfg.min_samples:
        worst = int(np.argmin(sizes))
        field = {"pathological": "partition.classes_per_client",
                 "shards": "partition.shards_per_client"}.get(cfg.name, "clients.num_clients")
        value = {"partition.classes_per_client": cfg.classes_per_client,
                 "partition.shards_per_client": cfg.shards_per_client}.get(field, k)
        raise PartitionError(field, value,
                             f"a setting that gives every client at least "
                             f"partition.min_samples={cfg.min_samples} examples (client "
                             f"{worst} got {sizes[worst]}); try fewer clients")
    indices = tuple(parts) if natural else tuple(np.sort(p).astype(np.int64) for p in parts)

    shift = np.zeros((k, num_features), np.float32)
    noise = np.zeros(k, np.float32)
    if cfg.name == "feature":
        frng = generator(seed, "partition", "feature-skew")
        shift = (cfg.feature_shift * frng.normal(size=(k, num_features))).astype(np.float32)
        # Graded noise: client 0 is clean, the last client the noisiest — easy to see.
        noise = (cfg.feature_noise * np.linspace(0, 1, k)).astype(np.float32)

    vrng = generator(seed, "local-val-split")
    val = []
    for idx in indices:
        m = len(idx)
        nv = int(round(val_fraction * m))
        if val_fraction > 0:
            nv = min(max(nv, 1), m - 1)  # at least one row each side
        mask = np.zeros(m, bool)
        mask[vrng.permutation(m)[:nv]] = True
        val.append(mask)
    return Partition(indices, tuple(val), shift, noise, unused)


def has_feature_skew(part: Partition) -> bool:
    """True when some client's inputs get a feature shift or noise."""
    return bool(np.any(part.feature_noise > 0) or np.any(part.feature_shift))


def client_arrays(x: np.ndarray, part: Partition, client: int, seed: int, decode=None):
    """A client's inputs with its feature skew applied (noise drawn once, seeded per client).
    ``decode``: turns rows of ``x`` stored as uint8 codes into float32 first
    (:meth:`fedsim.data.dataset.Dataset.decode`)."""
    xc = x[part.indices[client]]
    if decode is not None:
        xc = decode(xc)
    if part.feature_noise[client] > 0 or np.any(part.feature_shift[client]):
        rng = generator(seed, "feature-noise", client)
        flat = xc.reshape(len(xc), -1)
        flat = flat + part.feature_shift[client] + part.feature_noise[client] * rng.normal(
            size=flat.shape)
        xc = flat.reshape(xc.shape).astype(np.float32)
    return xc


def skew_score(label_counts: np.ndarray) -> float:
    """Mean pairwise total-variation distance between clients' label distributions (0..1).

    0 means every client has the same label mix (IID); 1 means no two clients share a label.
    One number that makes "alpha = 0.1" mean something on the Data page.
    """
    p = label_counts / np.maximum(label_counts.sum(axis=1, keepdims=True), 1)
    k = len(p)
    if k < 2:
        return 0.0
    d = 0.5 * np.abs(p[:, None, :] - p[None, :, :]).sum(-1)
    return float(d[np.triu_indices(k, 1)].mean())

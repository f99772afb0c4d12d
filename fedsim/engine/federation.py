"""The static part of a simulation: the data, its split among clients and the clients' rows
laid out for vectorized training, built once from a configuration (TensorFlow-free, so the
app can check and draw a split instantly). Clients' rows are kept unpadded (and, for image
sets, as uint8 codes); each round pads and decodes only the sampled clients' rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedsim.config import SimulationConfig
from fedsim.data.dataset import Dataset, label_strata
from fedsim.data.load import check_files, load_dataset, natural_groups
from fedsim.data.partition import Partition, client_arrays, has_feature_skew, partition_pool
from fedsim.errors import PartitionError
from fedsim.rng import generator
from fedsim.training.batching import ClientStore
from fedsim.training.models import ModelSpec


@dataclass(frozen=True)
class Federation:
    """The static part of a simulation: data, split, model spec (shared by baselines)."""

    config: SimulationConfig
    data: Dataset
    partition: Partition
    spec: ModelSpec
    #: every client's rows, unpadded; ``client_data.take(ids)`` pads the sampled ones
    client_data: ClientStore
    #: partition ``natural``: each client's group (a CSV column's value, an island, a writer)
    client_names: tuple[str, ...] = ()

    @property
    def num_labels(self) -> int:
        return self.data.num_classes if self.data.task == "classification" \
            else self.config.partition.label_bins

    def strata(self) -> np.ndarray:
        return label_strata(self.data.y_train, self.data.task, self.config.partition.label_bins)

    def label_counts(self) -> np.ndarray:
        return self.partition.label_counts(self.strata(), self.num_labels)

    def sample_rows(self, client: int, k: int) -> np.ndarray:
        """A seeded random few of ``client``'s training rows, sorted (thumbnails for the Data
        page: the first rows are sorted by pool index and would not show the label mix)."""
        n = int(self.client_data.counts[client])
        g = generator(self.config.seed, "sample-rows", int(client))
        return np.sort(g.choice(n, size=min(k, n), replace=False))


def build_federation(cfg: SimulationConfig) -> Federation:
    """Load the data, split it among clients and lay it out for vectorized training.

    Imports no TensorFlow: the app calls it to check (and draw) a split instantly; a
    :class:`~fedsim.errors.PartitionError` here means the split is impossible.
    """
    check_files(cfg)
    data = load_dataset(cfg.dataset, cfg.seed, cfg.clients.num_clients)
    groups, names = None, ()
    if cfg.partition.name == "natural":  # one client per group the data came in
        groups, names = natural_groups(cfg.dataset, cfg.seed, cfg.clients.num_clients)
        if len(groups) != cfg.clients.num_clients:
            by = cfg.dataset.partition_column or {"penguins": "island"}.get(
                cfg.dataset.name, "writer")
            raise PartitionError("clients.num_clients", cfg.clients.num_clients,
                                 f"{len(groups)}: the training pool holds rows of "
                                 f"{len(groups)} values of column {by!r}, one client each")
    strata = label_strata(data.y_train, data.task, cfg.partition.label_bins)
    part = partition_pool(strata, data.num_features, cfg.clients.num_clients, cfg.partition,
                          cfg.dataset.val_fraction, cfg.seed, groups, names)
    spec = ModelSpec(cfg.model_name, data.num_features,
                     data.num_classes if data.task == "classification" else 1,
                     cfg.model.hidden, data.image_shape)
    return Federation(cfg, data, part, spec, client_store(data, part, cfg.seed), names)


def client_store(data: Dataset, part: Partition, seed: int) -> ClientStore:
    """Each client's rows, unpadded (:class:`~fedsim.training.batching.ClientStore`).

    Without feature skew the store only indexes the data set's own training pool (uint8
    codes for the image sets, decoded per round for the sampled clients): no copy of the
    pool is made. With feature skew (partition ``feature``) each client's rows differ from
    the pool's, so they are computed once, as float32, and kept unpadded."""
    decode = data.decode if data.quantized else None
    if not has_feature_skew(part):
        tr = [idx[~val] for idx, val in zip(part.indices, part.val_mask)]
        va = [idx[val] for idx, val in zip(part.indices, part.val_mask)]
        return ClientStore.gather(data.x_train, data.y_train, tr, data.x_train, data.y_train,
                                  va, decode)
    xs, ys, xvs, yvs = [], [], [], []
    for k, (idx, val) in enumerate(zip(part.indices, part.val_mask)):
        xk = client_arrays(data.x_train, part, k, seed, decode)
        yk = data.y_train[idx]
        xs.append(xk[~val]), ys.append(yk[~val]), xvs.append(xk[val]), yvs.append(yk[val])
    return ClientStore.of_rows(xs, ys, xvs, yvs)

"""Where a configuration's data comes from: the built-in sets or a CSV, loaded once and shared
read-only, and the checks that need the file itself.

Configuration validation never opens a file (:mod:`fedsim.config`). A file named by
``dataset.path`` is read here, when a federation is built, by a caller that has decided the
path may be read: the CLI reads any path its user names; the app only files this session
uploaded (``fedsim_app``'s upload store).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from functools import lru_cache

from fedsim.config import DatasetConfig, SimulationConfig, check_task
import numpy as np

from fedsim.data.builtin import builtin_groups, load_builtin
from fedsim.data.csvfile import (CSVColumnError, CSVError, CSVOptions, guess_task, inspect_csv,
                                 load_csv)
from fedsim.data.dataset import Dataset
from fedsim.errors import IncompatibleConfigError


def load_dataset(cfg: DatasetConfig, seed: int, num_clients: int | None = None) -> Dataset:
    """Load (or generate) ``cfg.name``, hold out the server's test set and standardize.

    Cached per (config, seed): the result is immutable (arrays are made read-only), so it is
    safe to share between simulations and Streamlit sessions. A CSV is cached on its path,
    modification time and size too, so an edited file is read again.

    ``num_clients``: ``femnist`` takes that many writers, ``shakespeare`` that many roles (``clients.num_clients``; None: 10,
    enough for a caller that only needs the shapes). The downloaded sets (``mnist``,
    ``cifar10``, ``femnist``) are fetched on first use, or raise
    :class:`~fedsim.data.download.DataUnavailableError` in one line.
    """
    if cfg.name == "csv":
        return load_csv_data(cfg, seed).dataset
    if cfg.name in ("mnist", "cifar10"):
        from fedsim.data.images import load_keras_images

        return load_keras_images(cfg.name, cfg.num_samples, cfg.test_fraction, seed)
    if cfg.name == "femnist":
        from fedsim.data.femnist import load_femnist

        return load_femnist(num_clients or 10, seed).dataset
    if cfg.name == "shakespeare":
        from fedsim.data.shakespeare import load_shakespeare

        return load_shakespeare(num_clients or 10, seed).dataset
    return load_builtin(cfg, seed)


def natural_groups(cfg: DatasetConfig, seed: int, num_clients: int | None = None
                   ) -> tuple[tuple[np.ndarray, ...], tuple[str, ...]]:
    """Partition ``natural``'s clients: the training-pool rows of each group the data came in,
    and each group's name (a CSV's ``partition_column`` values; ``penguins``' islands or years;
    ``femnist``'s writer ids; ``shakespeare``'s roles)."""
    if cfg.name == "csv":
        csv = load_csv_data(cfg, seed)
        return tuple(csv.client_indices), tuple(csv.client_names)
    if cfg.name == "femnist":
        from fedsim.data.femnist import load_femnist

        fem = load_femnist(num_clients or 10, seed)
        return fem.groups, fem.writers
    if cfg.name == "shakespeare":
        from fedsim.data.shakespeare import load_shakespeare

        sh = load_shakespeare(num_clients or 10, seed)
        return sh.groups, sh.roles
    return builtin_groups(cfg, seed)


def load_csv_data(cfg: DatasetConfig, seed: int):
    """The :class:`fedsim.data.csvfile.CSVData` of a ``csv`` data set (the Dataset plus the natural
    partition's client rows and the loading report). Errors are ``ConfigError``s naming the
    line and column."""
    try:
        st = os.stat(cfg.path)
    except (OSError, TypeError) as exc:
        raise CSVError(f"dataset.path: cannot read {cfg.path!r}: "
                       f"{getattr(exc, 'strerror', None) or exc}", value=cfg.path) from None
    return _load_csv_cached(os.path.abspath(cfg.path), st.st_mtime_ns, st.st_size, cfg.label,
                            cfg.task_override, cfg.columns, cfg.categorical, cfg.numeric,
                            cfg.missing, cfg.partition_column, cfg.test_fraction, seed)


@lru_cache(maxsize=4)
def _load_csv_cached(path, _mtime, _size, label, task, columns, categorical, numeric, missing,
                     partition_column, test_fraction, seed):
    opts = CSVOptions(label=label, task=task, columns=columns, categorical=categorical,
                      numeric=numeric, missing=missing, partition_column=partition_column,
                      test_fraction=test_fraction)
    return load_csv(path, opts, seed)


class _InfoCache:
    """:func:`inspect_csv` results (column names, kinds, counts: never rows) keyed on a file's
    path, modification time and size, so that checking a configuration again does not re-read
    an unchanged file. Bounded and locked: Streamlit sessions share the process."""

    def __init__(self, size: int):
        self.size, self._lock, self._items = size, threading.Lock(), OrderedDict()

    def get(self, path: str) -> dict:
        try:
            st = os.stat(path)
        except (OSError, ValueError) as exc:
            raise CSVError(f"dataset.path: cannot read {path!r}: "
                           f"{getattr(exc, 'strerror', None) or exc}", value=path) from None
        key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
        with self._lock:
            info = self._items.pop(key, None)
        if info is None:
            info = inspect_csv(path)
        with self._lock:
            self._items[key] = info  # most recently used last
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return info

    def __len__(self) -> int:
        return len(self._items)


CSV_INFO = _InfoCache(8)


def csv_info(path: str) -> dict:
    """:func:`fedsim.data.csvfile.inspect_csv` of ``path``, cached (:data:`CSV_INFO`).
    Raises :class:`~fedsim.data.csvfile.CSVError` naming ``dataset.path``."""
    return CSV_INFO.get(path)


def _column(info: dict, where: str, name: str):
    cols = {c.name: c for c in info["columns"]}
    if name not in cols:
        raise CSVColumnError(f"{where}: no column {name!r} in {info['name']}; the columns are "
                             + ", ".join(map(repr, cols)), column=name, field=where,
                             value=name)
    return cols[name]


def check_files(cfg: SimulationConfig) -> None:
    """The checks that need a CSV's contents: the named columns exist, ``natural`` gets one
    client per value of the partition column, and the task-dependent rules
    (:func:`fedsim.config.check_task`) hold for the task and classes the file implies.

    Call it only for a path the caller allows to be read. Messages name columns of the file,
    which its user supplied; nothing else of the file is quoted."""
    ds = cfg.dataset
    if ds.name != "csv":
        return
    info = csv_info(ds.path)
    for key in ("label", "partition_column"):
        if getattr(ds, key) is not None:
            _column(info, f"dataset.{key}", getattr(ds, key))
    for key in ("columns", "categorical", "numeric"):
        for i, name in enumerate(getattr(ds, key) or ()):
            _column(info, f"dataset.{key}[{i}]", name)
    if cfg.partition.name == "natural":
        k = _column(info, "dataset.partition_column", ds.partition_column).distinct
        if cfg.clients.num_clients != k:
            raise IncompatibleConfigError(
                "clients.num_clients", cfg.clients.num_clients,
                f"{k} with partition 'natural': column {ds.partition_column!r} has {k} "
                f"distinct values, one client each")
    label = _column(info, "dataset.label", ds.label or info["columns"][-1].name)
    task = task_of(cfg)
    check_task(cfg, task, label.distinct if task == "classification" else None)


def task_of(cfg: SimulationConfig) -> str:
    """``classification`` or ``regression``: from the configuration, or for a CSV with
    ``task_override`` auto from its label column (reads the file: see :func:`check_files`)."""
    return cfg.task or guess_task(csv_info(cfg.dataset.path), cfg.dataset.label)

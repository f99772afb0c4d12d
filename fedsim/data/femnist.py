"""FEMNIST digits, split by writer: TFF's ``fed_emnist_digitsonly`` (LEAF's processing of NIST
Special Database 19), the benchmark where every client is one person's handwriting.

The archive is the one TFF's ``simulation/datasets/emnist.py`` fetched (same origin, same
pinned SHA-256), downloaded once by :func:`fedsim.data.download.fetch` into fedsim's data folder
(``$FEDSIM_DATA_DIR``, else the user cache folder) and used offline after that. It holds two
HDF5 files, ``fed_emnist_digitsonly_{train,test}.h5``, each laid out as
``examples/<writer id>/label`` (int, ``[n]``) and ``examples/<writer id>/pixels`` (float32
``[n, 28, 28]``, 1.0 the paper, 0.0 the ink); 3,383 writers, 341,873 training and 40,832
test images, every writer with at least one of each. They are read with ``h5py``.

What fedsim takes (:func:`load_femnist`):

- ``clients.num_clients`` writers, a seeded random sample (stream ``dataset/femnist/writers``)
  of the writers with at least :data:`MIN_TRAIN_IMAGES` training images, listed in id order.
  Not the first N ids: ids run in NIST's collection order (``f0000``… are one form batch, the
  ``hsf_4`` high-school writers come later), so the first N would be one population;
- the training pool: those writers' training images; partition ``natural`` gives each writer
  its own (one client per writer), any other split shares the same pool out artificially;
- the server's test set: the same writers' test images (TFF's own per-writer split, so
  ``dataset.test_fraction`` is not used);
- pixels inverted (ink 1.0, as in MNIST), flattened to 784 features and standardized with
  the training pool's statistics like every built-in set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fedsim.data.dataset import Dataset
from fedsim.data.download import DataUnavailableError, cached_path, fetch, is_cached
from fedsim.errors import FedsimError, PartitionError
from fedsim.rng import generator

TRAIN_FILE = "fed_emnist_digitsonly_train.h5"
TEST_FILE = "fed_emnist_digitsonly_test.h5"
#: Writers with fewer training images are not sampled (each client keeps some for local
#: validation and needs ``partition.min_samples`` rows).
MIN_TRAIN_IMAGES = 10
CLASS_NAMES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class FemnistData:
    """The loaded writers: the Dataset, each writer's training-pool rows, and their ids."""

    dataset: Dataset
    groups: tuple[np.ndarray, ...]
    writers: tuple[str, ...]


def femnist_files() -> tuple[str, str]:
    """The two cached HDF5 files, downloading the archive first if they are not there."""
    folder = cached_path("femnist")
    if not is_cached("femnist"):
        fetch("femnist")
    return os.path.join(folder, TRAIN_FILE), os.path.join(folder, TEST_FILE)


def _damaged(path: str, why: str) -> DataUnavailableError:
    return DataUnavailableError("femnist", f"dataset.name 'femnist': the cached file {path} "
                                f"cannot be read ({why}); delete its folder and load the data "
                                "set again with internet")


def _read(group) -> tuple[np.ndarray, np.ndarray]:
    pixels = np.asarray(group["pixels"][()], np.float32)
    labels = np.asarray(group["label"][()]).reshape(-1).astype(np.int64)
    if pixels.shape[1:] != (28, 28) or len(pixels) != len(labels):
        raise ValueError(f"pixels of shape {pixels.shape} for {len(labels)} labels")
    return (1.0 - pixels).reshape(len(pixels), 784), labels


@lru_cache(maxsize=2)
def load_femnist(num_writers: int, seed: int) -> FemnistData:
    """``num_writers`` FEMNIST writers as a standardized Dataset plus the natural split
    (see the module docstring)."""
    import h5py

    train_path, test_path = femnist_files()
    try:
        with h5py.File(train_path, "r") as ftr, h5py.File(test_path, "r") as fte:
            ex, ex_test = ftr["examples"], fte["examples"]
            ids = sorted(ex.keys())
            eligible = [w for w in ids if ex[w]["label"].shape[0] >= MIN_TRAIN_IMAGES]
            if num_writers > len(eligible):
                raise PartitionError(
                    "clients.num_clients", num_writers,
                    f"at most {len(eligible)}: the FEMNIST file has {len(eligible)} writers "
                    f"with at least {MIN_TRAIN_IMAGES} training images (one client each)")
            pick = generator(seed, "dataset", "femnist", "writers").choice(
                len(eligible), num_writers, replace=False)
            writers = tuple(eligible[i] for i in sorted(pick))
            xs, ys, xts, yts = [], [], [], []
            for w in writers:
                x, y = _read(ex[w])
                xs.append(x), ys.append(y)
                if w in ex_test:
                    xt, yt = _read(ex_test[w])
                    xts.append(xt), yts.append(yt)
    except FedsimError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        path = train_path if not isinstance(exc, KeyError) else f"{train_path} or {test_path}"
        raise _damaged(path, f"{type(exc).__name__}: {exc}"[:80]) from None
    sizes = np.array([len(y) for y in ys])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    groups = tuple(np.arange(a, b, dtype=np.int64) for a, b in zip(offsets[:-1], offsets[1:]))
    x, y = np.concatenate(xs), np.concatenate(ys)
    xt = np.concatenate(xts) if xts else np.zeros((0, 784), np.float32)
    yt = np.concatenate(yts) if yts else np.zeros(0, np.int64)
    mean = x.mean(axis=0, dtype=np.float64)
    std = x.std(axis=0, dtype=np.float64)
    std = np.where(std > 1e-8, std, 1.0)
    m, s = mean.astype(np.float32), std.astype(np.float32)
    arrays = [(x - m) / s, y.astype(np.int32), (xt - m) / s, yt.astype(np.int32)]
    for a in (*arrays, *groups):
        a.setflags(write=False)
    ds = Dataset("femnist", "classification", arrays[0], arrays[1], arrays[2], arrays[3], 10,
                 tuple(f"pixel_{i}" for i in range(784)), CLASS_NAMES, (28, 28), mean, std)
    return FemnistData(ds, groups, writers)


__all__ = ["CLASS_NAMES", "FemnistData", "MIN_TRAIN_IMAGES", "femnist_files", "load_femnist"]

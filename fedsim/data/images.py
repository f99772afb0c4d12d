"""MNIST and CIFAR-10, the classic image sets, from ``keras.datasets``' own cache.

The files are the ones ``keras.datasets.mnist.load_data`` and ``keras.datasets.cifar10.load_data``
download (same origin, same SHA-256, same place: ``$KERAS_HOME/datasets`` or
``~/.keras/datasets``), so a machine where Keras already fetched them has them. They are read
here without importing Keras (TensorFlow's ~5 s import is not needed to draw a split):

- ``mnist.npz``: ``x_train`` ``[60000, 28, 28]`` and ``x_test`` ``[10000, 28, 28]`` uint8,
  ``y_train``/``y_test`` labels, read with ``allow_pickle=False``;
- ``cifar-10-batches-py-target/cifar-10-batches-py/{data_batch_1..5, test_batch}``: pickled
  dicts (``b"data"``: ``[n, 3072]`` uint8, channel planes R, G, B of 32×32; ``b"labels"``),
  read with an unpickler that only rebuilds NumPy arrays (Keras's own allowlist).

A file not there yet is downloaded once through :func:`fedsim.data.download.fetch` (Keras's
``get_file``, verified) or, offline, refused in one line.

Each set's training and test images are pooled and ``dataset.num_samples`` of them drawn with
the seed (stream ``dataset/<name>/sample``); the server's stratified test set and the
training-pool standardization (per pixel and channel) then follow as for every built-in set.
The training pool stays the files' uint8 (``Dataset.x_train`` uint8, ``pixel_values`` 0..255):
the sources are 8-bit, so nothing is lost, and a client's rows are standardized to float32
only when a round trains it (all of MNIST: 55 MB instead of 220 MB).
Images are flattened channels-last (``h × w × c``), which the ``cnn`` model reshapes back.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from functools import lru_cache

import numpy as np

from fedsim.data.dataset import Dataset, label_strata, stratified_test_split
from fedsim.data.download import DataUnavailableError, cached_path, fetch, is_cached
from fedsim.rng import generator

#: ``Dataset.image_shape`` of each set (height, width[, channels]).
IMAGE_SHAPES = {"mnist": (28, 28), "cifar10": (32, 32, 3)}
CLASS_NAMES = {
    "mnist": tuple(str(d) for d in range(10)),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                "ship", "truck"),
}
#: MNIST's and CIFAR's uint8 codes are their pixel values 0..255.
_CODE_VALUES = np.arange(256, dtype=np.float32)
_CODE_VALUES.setflags(write=False)
CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
#: Globals a CIFAR batch may name: NumPy's array reconstruction, nothing else.
_ALLOWED_PICKLE_GLOBALS = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
})


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing {module}.{name} in a CIFAR batch")


def _damaged(name: str, path: str, why: str) -> DataUnavailableError:
    return DataUnavailableError(name, f"dataset.name {name!r}: the cached file {path} cannot "
                                f"be read ({why}); delete it and load the data set again "
                                "with internet")


def mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 MNIST images ``[n, 28, 28]`` uint8 and their labels (training then test)."""
    path = cached_path("mnist")
    if not is_cached("mnist"):
        fetch("mnist")
    try:
        with np.load(path, allow_pickle=False) as f:
            xs = [np.asarray(f["x_train"]), np.asarray(f["x_test"])]
            ys = [np.asarray(f["y_train"]), np.asarray(f["y_test"])]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise _damaged("mnist", path, type(exc).__name__) from None
    x, y = np.concatenate(xs), np.concatenate(ys).reshape(-1)
    if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y):
        raise _damaged("mnist", path, f"images of shape {x.shape}")
    return x.astype(np.uint8, copy=False), y.astype(np.int64)


def _read_cifar_batch(path: str) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as fh:
        d = _ArrayUnpickler(fh, encoding="bytes").load()
    d = {(k.decode("utf8") if isinstance(k, bytes) else k): v for k, v in d.items()}
    data = np.asarray(d["data"], np.uint8)
    return data.reshape(len(data), 3, 32, 32), np.asarray(d["labels"], np.int64)


def cifar10_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 60,000 CIFAR-10 images ``[n, 32, 32, 3]`` uint8 (channels last, as Keras returns
    them) and their labels (the five training batches, then the test batch)."""
    folder = cached_path("cifar10")
    if not is_cached("cifar10"):
        fetch("cifar10")
    xs, ys = [], []
    for b in CIFAR_BATCHES:
        path = os.path.join(folder, "cifar-10-batches-py", b)
        try:
            x, y = _read_cifar_batch(path)
        except (OSError, ValueError, KeyError, TypeError, EOFError, pickle.UnpicklingError) \
                as exc:
            raise _damaged("cifar10", path, type(exc).__name__) from None
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs).transpose(0, 2, 3, 1), np.concatenate(ys)


@lru_cache(maxsize=1)
def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = mnist_arrays() if name == "mnist" else cifar10_arrays()
    x = x.reshape(len(x), -1)
    x.setflags(write=False)
    y.setflags(write=False)
    return x, y


def _standardize(x: np.ndarray, rows_at_a_time: int = 4096):
    """Per-feature mean and std of uint8 rows (float64, accumulated in blocks: no float64
    copy of the whole array)."""
    s = np.zeros(x.shape[1], np.float64)
    s2 = np.zeros(x.shape[1], np.float64)
    for i in range(0, len(x), rows_at_a_time):
        block = x[i:i + rows_at_a_time].astype(np.float64)
        s += block.sum(0)
        s2 += (block * block).sum(0)
    n = max(len(x), 1)
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 0.0))
    return mean, np.where(std > 1e-8, std, 1.0)  # constant border pixels stay 0


def _scaled(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape, np.float32)
    m, s = mean.astype(np.float32), std.astype(np.float32)
    for i in range(0, len(x), 4096):
        out[i:i + 4096] = (x[i:i + 4096].astype(np.float32) - m) / s
    out.setflags(write=False)
    return out


@lru_cache(maxsize=2)
def load_keras_images(name: str, num_samples: int, test_fraction: float, seed: int) -> Dataset:
    """``num_samples`` images of ``mnist`` or ``cifar10`` as a standardized
    :class:`~fedsim.data.dataset.Dataset` (see the module docstring)."""
    x_all, y_all = _raw(name)
    n = min(num_samples, len(y_all))
    pick = np.sort(generator(seed, "dataset", name, "sample").choice(len(y_all), n,
                                                                     replace=False))
    x, y = x_all[pick], y_all[pick]
    test = stratified_test_split(label_strata(y, "classification"), test_fraction, seed)
    mean, std = _standardize(x[~test])
    xtr, ytr, yte = x[~test], y[~test].astype(np.int32), y[test].astype(np.int32)
    for a in (xtr, ytr, yte):
        a.setflags(write=False)
    # The training pool stays uint8 (a quarter of float32); Dataset.decode standardizes a
    # client's rows when it trains, with _scaled's float32 arithmetic (bit for bit the same).
    return Dataset(name, "classification", xtr, ytr, _scaled(x[test], mean, std), yte, 10,
                   tuple(f"pixel_{i}" for i in range(x.shape[1])), CLASS_NAMES[name],
                   IMAGE_SHAPES[name], mean, std, pixel_values=_CODE_VALUES)



__all__ = ["CLASS_NAMES", "IMAGE_SHAPES", "cifar10_arrays", "load_keras_images",
           "mnist_arrays"]

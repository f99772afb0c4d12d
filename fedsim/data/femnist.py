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

Memory: the training pool is kept as **uint8 codes** (``Dataset.x_train``, 784 bytes an image;
all 3,383 writers' 341,873 images: 268 MB), each code standing for one of the file's float32
pixel values (``Dataset.pixel_values``). The file stores float32; when its pixels are 8-bit
(at most one value per level of round(255·p), as images made from 8-bit grey levels are) the
codes hold them exactly, and the decoded rows, the pool's mean and std (summed in NumPy's own
order) and so the standardized inputs are bit for bit those of the float32 path. Otherwise
they are rounded to 256 levels; ``FemnistData.exact`` says which was found (checked on every
load; the real file was not available where this was written, so which it is there is not
yet measured). The test
set (40,832 images) is kept as standardized float32, 128 MB. A client's training rows are
decoded to float32 only in the rounds that sample it
(:class:`fedsim.training.batching.ClientStore`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fedsim.data.dataset import Dataset, standardize_codes
from fedsim.data.download import DataUnavailableError, cached_files, damaged
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
    #: True when the file's pixels are 8-bit (at most 256 values, one per code): the uint8
    #: pool then holds them exactly; False: rounded to the nearest of 256 levels
    exact: bool = True


def femnist_files() -> tuple[str, str]:
    """The two cached HDF5 files, downloading the archive first if they are not there."""
    return cached_files("femnist", TRAIN_FILE, TEST_FILE)


def _damaged(path: str, why: str) -> DataUnavailableError:
    return damaged("femnist", path, why)


def _labels(group) -> np.ndarray:
    return np.asarray(group["label"][()]).reshape(-1).astype(np.int64)


class _Palette:
    """The 8-bit code of each pixel value: code = round(255·p), and the first float32 value
    seen for each code. ``exact`` stays True while every pixel equals its code's value (the
    source is 8-bit: then the codes lose nothing, whatever formula made the floats)."""

    def __init__(self):
        self.values = np.full(256, np.nan, np.float32)
        self.exact = True

    def codes(self, pixels: np.ndarray) -> np.ndarray:
        p = pixels.reshape(len(pixels), -1)
        c = np.rint(np.clip(np.nan_to_num(p), 0.0, 1.0) * 255).astype(np.uint8)
        if self.exact:
            seen = self.values[c]
            new = np.isnan(seen)
            if new.any():
                self.values[c[new]] = p[new]
                seen = self.values[c]
            self.exact = bool(np.array_equal(seen, p))
        return c

    def ink(self) -> np.ndarray:
        """float32 [256]: each code's value as fedsim uses it, ink high (1 − p), as the float
        path computed it; codes never seen (or a source that is not 8-bit) get code/255."""
        grid = (np.arange(256) / 255.0).astype(np.float32)
        p = np.where(np.isnan(self.values), grid, self.values) if self.exact else grid
        out = (1.0 - p.astype(np.float32)).astype(np.float32)
        out.setflags(write=False)
        return out


def _read(group, palette: _Palette, out: np.ndarray) -> None:
    pixels = np.asarray(group["pixels"][()], np.float32)
    if pixels.shape[1:] != (28, 28) or len(pixels) != len(out):
        raise ValueError(f"pixels of shape {pixels.shape} for {len(out)} labels")
    out[:] = palette.codes(pixels)


@lru_cache(maxsize=2)
def load_femnist(num_writers: int, seed: int) -> FemnistData:
    """``num_writers`` FEMNIST writers as a standardized Dataset plus the natural split
    (see the module docstring)."""
    import h5py

    train_path, test_path = femnist_files()
    palette = _Palette()
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
            ys = [_labels(ex[w]) for w in writers]
            yts = [_labels(ex_test[w]) for w in writers if w in ex_test]
            # uint8 codes written straight into one array: no float copy of the pool is made
            x = np.empty((sum(map(len, ys)), 784), np.uint8)
            xt = np.empty((sum(map(len, yts)), 784), np.uint8)
            at = at_test = 0
            for w, y in zip(writers, ys):
                _read(ex[w], palette, x[at:at + len(y)])
                at += len(y)
                if w in ex_test:
                    n = ex_test[w]["label"].shape[0]
                    _read(ex_test[w], palette, xt[at_test:at_test + n])
                    at_test += n
    except FedsimError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        path = train_path if not isinstance(exc, KeyError) else f"{train_path} or {test_path}"
        raise _damaged(path, f"{type(exc).__name__}: {exc}"[:80]) from None
    sizes = np.array([len(y) for y in ys])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    groups = tuple(np.arange(a, b, dtype=np.int64) for a, b in zip(offsets[:-1], offsets[1:]))
    y = np.concatenate(ys).astype(np.int32)
    yt = (np.concatenate(yts) if yts else np.zeros(0, np.int64)).astype(np.int32)
    ink = palette.ink()
    mean, std = standardize_codes(x, ink)
    ds = Dataset("femnist", "classification", x, y, None, yt, 10,
                 tuple(f"pixel_{i}" for i in range(784)), CLASS_NAMES, (28, 28), mean, std,
                 pixel_values=ink)
    ds = dataclasses.replace(ds, x_test=ds.decode(xt))
    for a in (x, y, ds.x_test, yt, *groups):
        a.setflags(write=False)
    return FemnistData(ds, groups, writers, palette.exact)


__all__ = ["CLASS_NAMES", "FemnistData", "MIN_TRAIN_IMAGES", "femnist_files", "load_femnist"]

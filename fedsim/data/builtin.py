"""Built-in data sets, loaded or generated locally (nothing is downloaded at run time).

Each is standardized and split as :mod:`fedsim.data.dataset` describes.

- ``digits``: scikit-learn's bundled 8×8 handwritten digits (1,797 images, 10 classes).
- ``breast_cancer``: scikit-learn's bundled Wisconsin breast-cancer table (569 rows, 30
  features, 2 classes).
- ``seed_regression``: the article's own example: 100 numeric features and one real target
  learned with MSE by ``Dense(10, relu) → Dense(1)``. Generated from a seeded ground truth
  ``y = x·w + 0.5·sin(x·u) + 0.3·(x·v)² / 10 + noise`` so a linear model is not enough.
- ``2d``: TensorFlow-Playground-style 2-D classification (moons, circles, blobs, xor), so
  decision boundaries can be drawn.
- ``penguins``: the Palmer penguins (Gorman, Williams & Fraser 2014; the ``palmerpenguins``
  package carries the CSV, so nothing is downloaded): bill length and depth, flipper length
  and body mass of 344 penguins, of which the 2 without measurements are dropped (342 rows),
  labelled with their species (Adelie, Chinstrap, Gentoo). They were measured on three
  islands in 2007-2009, so the data comes split by nature: partition ``natural`` gives one
  client per island (``dataset.partition_column``: ``island``, the default) or per study year
  (``year``). Torgersen holds only Adelie penguins: label skew nobody had to simulate.
- ``csv``: the user's own file (``dataset.path``), read, checked and encoded by
  :mod:`fedsim.data.csvfile` (numeric columns standardized as below, categorical ones one-hot).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fedsim.config import DatasetConfig
from fedsim.data.dataset import Dataset, label_strata, stratified_test_split
from fedsim.rng import generator


def _raw(cfg: DatasetConfig, seed: int):
    """Unstandardized (x, y, task, num_classes, feature_names, class_names, image_shape)."""
    if cfg.name == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return (d.data.astype(np.float64), d.target.astype(np.int64), "classification", 10,
                tuple(f"pixel_{i}" for i in range(64)), tuple(str(c) for c in range(10)), (8, 8))
    if cfg.name == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        d = load_breast_cancer()
        return (d.data.astype(np.float64), d.target.astype(np.int64), "classification", 2,
                tuple(d.feature_names), tuple(d.target_names), None)
    if cfg.name == "seed_regression":
        rng = generator(seed, "dataset", "seed_regression")
        n, d = cfg.num_samples, 100
        x = rng.normal(size=(n, d))
        w = rng.normal(size=d) / np.sqrt(d)
        u = rng.normal(size=d) / np.sqrt(d)
        v = rng.normal(size=d) / np.sqrt(d)
        y = x @ w + 0.5 * np.sin(3 * (x @ u)) + 0.3 * (x @ v) ** 2 + cfg.noise * rng.normal(size=n)
        return (x, y, "regression", 1, tuple(f"x{i}" for i in range(d)), ("y",), None)
    if cfg.name == "2d":
        x, y = make_2d(cfg.shape, cfg.num_samples, cfg.noise, seed)
        return (x, y, "classification", 2, ("x1", "x2"), ("class 0", "class 1"), None)
    if cfg.name == "penguins":
        t = penguins_table()
        return (t.x, t.y, "classification", 3, PENGUIN_FEATURES, PENGUIN_SPECIES, None)
    raise AssertionError(cfg.name)  # config validation makes this unreachable


#: ``penguins``' features (the four measurements) and classes, in label order.
PENGUIN_FEATURES = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
PENGUIN_SPECIES = ("Adelie", "Chinstrap", "Gentoo")


@dataclass(frozen=True)
class PenguinsTable:
    """The Palmer penguins with all four measurements (342 of 344 rows), in the CSV's order."""

    x: np.ndarray  # float64 [342, 4]
    y: np.ndarray  # int64 species ids (PENGUIN_SPECIES order)
    island: np.ndarray  # str: Biscoe, Dream, Torgersen
    year: np.ndarray  # int: 2007, 2008, 2009
    dropped: int  # rows left out for a missing measurement


@lru_cache(maxsize=1)
def penguins_table() -> PenguinsTable:
    """Read the CSV the ``palmerpenguins`` package ships (pandas only; nothing downloaded)."""
    try:
        from palmerpenguins import load_penguins
    except ImportError:
        from fedsim.data.download import DataUnavailableError

        raise DataUnavailableError("penguins", "dataset.name 'penguins': the palmerpenguins "
                                   "package is not installed: pip install palmerpenguins") \
            from None
    df = load_penguins()
    keep = df[list(PENGUIN_FEATURES)].notna().all(axis=1).to_numpy()
    df = df[keep]
    y = df["species"].map({s: i for i, s in enumerate(PENGUIN_SPECIES)}).to_numpy(np.int64)
    out = PenguinsTable(df[list(PENGUIN_FEATURES)].to_numpy(np.float64), y,
                        df["island"].astype(str).to_numpy(), df["year"].to_numpy(np.int64),
                        int((~keep).sum()))
    for a in (out.x, out.y, out.island, out.year):
        a.setflags(write=False)
    return out


def builtin_groups(cfg: DatasetConfig, seed: int) -> tuple[tuple[np.ndarray, ...],
                                                            tuple[str, ...]]:
    """Partition ``natural`` of a built-in set: the training-pool rows of each group, and the
    group names (``penguins``: by island, or by year; sorted)."""
    if cfg.name != "penguins":
        raise AssertionError(cfg.name)  # config validation makes this unreachable
    t = penguins_table()
    values = t.island if (cfg.partition_column or "island") == "island" else t.year.astype(str)
    pool = values[~_test_mask(t.y, "classification", cfg.test_fraction, seed)]
    names = tuple(sorted(set(pool.tolist())))
    return tuple(np.flatnonzero(pool == n) for n in names), names


def _test_mask(y: np.ndarray, task: str, test_fraction: float, seed: int) -> np.ndarray:
    """The server's test rows (the same mask :func:`load_builtin` holds out)."""
    return stratified_test_split(label_strata(y, task), test_fraction, seed)


def make_2d(shape: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow-Playground-like 2-D sets with seeded noise (no global RNG)."""
    rng = generator(seed, "dataset", "2d", shape)
    y = rng.integers(0, 2, size=n)
    if shape == "moons":
        t = rng.uniform(0, np.pi, size=n)
        x = np.where(y[:, None] == 0,
                     np.c_[np.cos(t), np.sin(t)],
                     np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
        x = x + noise * 0.5 * rng.normal(size=(n, 2))
    elif shape == "circles":
        t = rng.uniform(0, 2 * np.pi, size=n)
        r = np.where(y == 0, 1.0, 0.45)
        x = np.c_[r * np.cos(t), r * np.sin(t)] + noise * 0.3 * rng.normal(size=(n, 2))
    elif shape == "blobs":
        centers = np.array([[-1.0, -1.0], [1.0, 1.0]])
        x = centers[y] + (0.4 + noise) * rng.normal(size=(n, 2))
    else:  # xor
        x = rng.uniform(-1, 1, size=(n, 2))
        y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
        x = x + noise * 0.2 * rng.normal(size=(n, 2))
    return x.astype(np.float64), y.astype(np.int64)


@lru_cache(maxsize=16)
def load_builtin(cfg: DatasetConfig, seed: int) -> Dataset:
    x, y, task, num_classes, feats, classes, image_shape = _raw(cfg, seed)
    test = _test_mask(y, task, cfg.test_fraction, seed)
    xtr, xte, ytr, yte = x[~test], x[test], y[~test], y[test]
    mean, std = xtr.mean(axis=0), xtr.std(axis=0)
    std = np.where(std > 1e-8, std, 1.0)  # constant pixels (digits' borders) stay 0
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    if task == "regression":
        ym, ys = ytr.mean(), ytr.std()
        ytr, yte = (ytr - ym) / ys, (yte - ym) / ys
        ytr, yte = ytr.astype(np.float32), yte.astype(np.float32)
    else:
        ytr, yte = ytr.astype(np.int32), yte.astype(np.int32)
    arrays = [xtr.astype(np.float32), ytr, xte.astype(np.float32), yte]
    for a in arrays:
        a.setflags(write=False)
    return Dataset(cfg.name, task, arrays[0], arrays[1], arrays[2], arrays[3], num_classes,
                   feats, classes, image_shape, mean, std)

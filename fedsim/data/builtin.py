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
- ``csv``: the user's own file (``dataset.path``), read, checked and encoded by
  :mod:`fedsim.data.csvfile` (numeric columns standardized as below, categorical ones one-hot).
"""

from __future__ import annotations

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
    raise AssertionError(cfg.name)  # config validation makes this unreachable


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
    test = stratified_test_split(label_strata(y, task), cfg.test_fraction, seed)
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

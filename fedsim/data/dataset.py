"""The value every data source produces: a standardized :class:`Dataset` split into a training
pool and the server's test set, and the stratification both splits use.

Preprocessing (the article's step 2, "localize data"): the server keeps a held-out, stratified
test set (``test_fraction``). Features are standardized with the mean and standard deviation of
the *training pool only* — the union of all clients' data, never the test set. In a real
deployment those two statistics are exactly what one round of federated analytics computes
(each client sends Σx, Σx² and its count; a secure sum hides the individual terms), so using
them here does not give the simulation knowledge a federation could not have. The regression
target is standardized the same way, so a mean predictor has MSE ≈ 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedsim.rng import generator


@dataclass(frozen=True)
class Dataset:
    """A standardized data set split into a training pool and the server's test set."""

    name: str
    task: str  # "classification" or "regression"
    x_train: np.ndarray  # float32 [n, *feature_shape]
    y_train: np.ndarray  # int32 labels, or float32 targets
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int  # 1 for regression
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    image_shape: tuple[int, ...] | None = None  # (8, 8) for digits; (h, w, c) in colour
    feature_mean: np.ndarray | None = None
    feature_std: np.ndarray | None = None

    @property
    def num_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))


def label_strata(y: np.ndarray, task: str, bins: int = 5) -> np.ndarray:
    """Class labels as-is; regression targets cut into ``bins`` equal-count bins."""
    if task == "classification":
        return np.asarray(y, np.int64)
    edges = np.quantile(y, np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, y, side="right").astype(np.int64)


def stratified_test_split(strata: np.ndarray, frac: float, seed: int) -> np.ndarray:
    """Boolean mask of test rows: ``frac`` of every stratum, chosen by a seeded shuffle."""
    rng = generator(seed, "test-split")
    test = np.zeros(len(strata), bool)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        rng.shuffle(idx)
        test[idx[: int(round(frac * len(idx)))]] = True
    return test

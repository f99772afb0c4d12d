"""The value every data source produces: a standardized :class:`Dataset` split into a training
pool and the server's test set, and the stratification both splits use.

Preprocessing (the article's step 2, "localize data"): the server keeps a held-out, stratified
test set (``test_fraction``). Features are standardized with the mean and standard deviation of
the *training pool only* — the union of all clients' data, never the test set. In a real
deployment those two statistics are exactly what one round of federated analytics computes
(each client sends Σx, Σx² and its count; a secure sum hides the individual terms), so using
them here does not give the simulation knowledge a federation could not have. The regression
target is standardized the same way, so a mean predictor has MSE ≈ 1.

Image sets (``mnist``, ``cifar10``, ``femnist``) keep their training pool as **uint8 codes**
(``x_train`` uint8, ``pixel_values`` the float32 value of each code before standardization):
a quarter of float32's memory (all 3,383 FEMNIST writers: 268 MB instead of 1.07 GB). A
client's rows become float32 only when a round trains it (:meth:`Dataset.decode`, called by
:class:`fedsim.training.batching.ClientStore`), with the same float32 arithmetic the float
path used, so the values are bit for bit those of standardizing the float pixels. The test set
stays float32 (the server evaluates it every round).
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
    x_train: np.ndarray  # float32 [n, *feature_shape]; uint8 codes when pixel_values is set
    y_train: np.ndarray  # int32 labels, or float32 targets
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int  # 1 for regression
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    image_shape: tuple[int, ...] | None = None  # (8, 8) for digits; (h, w, c) in colour
    feature_mean: np.ndarray | None = None
    feature_std: np.ndarray | None = None
    #: float32 [256]: each uint8 code's value before standardization (x_train holds codes);
    #: None when x_train holds standardized float32 rows
    pixel_values: np.ndarray | None = None

    @property
    def num_features(self) -> int:
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def quantized(self) -> bool:
        """True when ``x_train`` holds uint8 codes (see the module docstring)."""
        return self.pixel_values is not None

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Standardized float32 rows of uint8 ``codes`` (rows of ``x_train``): the code's value,
        minus the pool's mean, over its std, in float32 (elementwise, so exactly the float path).
        Rows that are already float are returned as they are."""
        if self.pixel_values is None:
            return codes
        m = self.feature_mean.astype(np.float32)
        s = self.feature_std.astype(np.float32)
        # fancy indexing, not np.take: take would first copy uint8 codes to int64 indices
        out = self.pixel_values[codes].reshape(codes.shape[0], -1)
        out -= m
        out /= s
        return out.reshape(codes.shape)

    def train_rows(self, idx) -> np.ndarray:
        """Training-pool rows ``idx`` as standardized float32 (decoded if stored as codes)."""
        return self.decode(self.x_train[idx])


def standardize_codes(codes: np.ndarray, values: np.ndarray, rows_at_a_time: int = 4096
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature float64 mean and std of ``values[codes]`` (uint8 rows ``[n, d]``), equal to
    ``x.mean(0, dtype=float64)`` and ``x.std(0, dtype=float64)`` of the decoded float32 array
    ``x``, without making it: rows are summed in blocks in NumPy's own order (row after row,
    the carried sum first), so the results are bit for bit NumPy's. A std of 0 becomes 1."""
    n, d = codes.shape[0], int(np.prod(codes.shape[1:]))
    flat = codes.reshape(n, d)
    vals = np.asarray(values, np.float32)
    total = np.zeros(d, np.float64)
    for i in range(0, n, rows_at_a_time):
        block = vals[flat[i:i + rows_at_a_time]].astype(np.float64)
        total = np.concatenate([total[None], block]).sum(0)
    mean = total / max(n, 1)
    sq = np.zeros(d, np.float64)
    for i in range(0, n, rows_at_a_time):
        block = vals[flat[i:i + rows_at_a_time]].astype(np.float64) - mean
        np.multiply(block, block, out=block)
        sq = np.concatenate([sq[None], block]).sum(0)
    std = np.sqrt(sq / max(n, 1))
    return mean, np.where(std > 1e-8, std, 1.0)


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

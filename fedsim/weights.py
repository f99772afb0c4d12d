"""A model's weights as flat NumPy vectors and back: the one representation every layer above
the trainer works in (an update is ``flatten(local) - flatten(global)``; secure aggregation,
HE, proofs and aggregators all see rows of one ``[K, P]`` array). NumPy only, so the engine's
bookkeeping and the app can use it without TensorFlow (FedJAX's ``tree_util`` plays this
role there).
"""

from __future__ import annotations

import numpy as np


def flatten(weights, dtype=np.float64) -> np.ndarray:
    """One model's tensors concatenated into one vector of ``dtype`` (a vector already flat
    is only cast, without a copy when it has that dtype)."""
    if isinstance(weights, np.ndarray) and weights.ndim == 1:
        return weights.astype(dtype, copy=False)
    return np.concatenate([np.asarray(w, dtype).ravel() for w in weights])


def flatten_stacked(weights: list[np.ndarray], dtype=np.float64) -> np.ndarray:
    """``[K, P]``: one row per client's tensors, in ``dtype``.

    Written into one preallocated array (each layer cast in place): a concatenate-of-casts
    makes a ``[K, P]`` temporary per layer.
    """
    k = weights[0].shape[0]
    sizes = [int(np.prod(w.shape[1:])) for w in weights]
    out = np.empty((k, sum(sizes)), dtype)
    pos = 0
    for w, n in zip(weights, sizes):
        out[:, pos:pos + n] = np.asarray(w).reshape(k, n)
        pos += n
    return out


def unflatten_stacked(flat: np.ndarray, shapes) -> list[np.ndarray]:
    """``[K, P]`` → one contiguous ``[K, *shape]`` array per tensor (inverse of
    :func:`flatten_stacked`)."""
    k, out, pos = flat.shape[0], [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(np.ascontiguousarray(flat[:, pos:pos + n]).reshape(k, *s))
        pos += n
    return out


def unflatten(vec: np.ndarray, shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """A flat vector → one float32 array per tensor of ``shapes`` (inverse of :func:`flatten`)."""
    out, pos = [], 0
    for s in shapes:
        n = int(np.prod(s))
        out.append(np.asarray(vec[pos:pos + n], np.float32).reshape(s))
        pos += n
    return out

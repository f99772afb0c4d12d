"""Named random streams derived from the one configured seed.

Streamlit serves every user from one process, so fedsim never touches process-global random
state (``np.random.seed``, ``keras.utils.set_random_seed``). Each consumer asks for its own
stream by name, e.g. ``generator(seed, "partition")`` or ``generator(seed, "sample", round)``;
the same (seed, path) always gives the same stream, and different paths give independent
streams (``np.random.SeedSequence`` spawn keys).
"""

from __future__ import annotations

import zlib

import numpy as np


def _key(part: object) -> int:
    """Map one path element (str or int) to a non-negative 32-bit integer, stably across runs."""
    if isinstance(part, (bool, np.bool_)):
        return int(part)
    if isinstance(part, (int, np.integer)):
        if part < 0:
            raise ValueError(f"random stream path elements must be >= 0, got {part}")
        return int(part)
    # crc32 (not hash()) because str hashes are salted per process.
    return zlib.crc32(str(part).encode("utf-8"))


def seed_sequence(seed: int, *path: object) -> np.random.SeedSequence:
    """The SeedSequence for ``path`` under ``seed``."""
    return np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(_key(p) for p in path))


def generator(seed: int, *path: object) -> np.random.Generator:
    """A fresh NumPy Generator for the named stream ``path`` under ``seed``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, *path)))


def tf_seed(seed: int, *path: object) -> np.ndarray:
    """A ``[2]`` int32 seed for TensorFlow's stateless random ops (``tf.random.stateless_*``)."""
    words = seed_sequence(seed, *path).generate_state(2, dtype=np.uint32)
    return (words & 0x7FFFFFFF).astype(np.int32)


def int_seed(seed: int, *path: object) -> int:
    """A 31-bit integer seed (for Keras initialisers and libraries that want a plain int)."""
    return int(seed_sequence(seed, *path).generate_state(1, dtype=np.uint32)[0] & 0x7FFFFFFF)

"""Fixed-point encoding of clipped float vectors into the ring Z_{2^32}.

Secure aggregation (Bonawitz et al., CCS 2017) adds random masks modulo R, so the updates must
first become integers modulo R. This module does that in three steps:

1. **Clip** each update, coordinate-wise to [-c, c] (``norm="linf"``, the default, as Flower's
   ``clipping_range``) or by its L2 norm to c (``norm="l2"``, which also bounds every
   coordinate by c). The bound c is public; it is what makes overflow impossible.
2. **Scale** by 2^scale_bits and **round stochastically** (floor(x + U[0,1))), which is unbiased:
   E[round(x)] = x, so quantization errors average out instead of drifting. The uniform draws
   come from a named, seeded stream (:func:`fedsim.rng.generator`) so runs are reproducible.
3. **Wrap** into Z_{2^32}: negative integers become their two's-complement residues.

A sum of n encoded vectors decodes correctly as long as it stays inside the signed range
[-2^31, 2^31), i.e. n·(c·2^scale_bits + 1) < 2^31; :meth:`FixedPoint.check_headroom` checks
this before any client encodes, and raises :class:`~fedsim.errors.ConfigError` otherwise.

Arithmetic uses NumPy ``uint32`` arrays, whose addition, subtraction and sum wrap modulo 2^32
exactly like the ring, so masking and unmasking are plain vectorised additions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fedsim.errors import ConfigError

RING_BITS = 32
#: R, the modulus of the ring the masked vectors live in.
MODULUS = 1 << RING_BITS
_SIGNED_LIMIT = 1 << (RING_BITS - 1)


def clip(x: np.ndarray, bound: float, norm: str = "linf") -> tuple[np.ndarray, int]:
    """Clip ``x`` (``[P]`` or ``[K, P]``) to ``bound``; returns the clipped copy and how many
    coordinates (``linf``) or rows (``l2``) were changed."""
    x = np.asarray(x, np.float64)
    if norm == "linf":
        out = np.clip(x, -bound, bound)
        return out, int(np.count_nonzero(out != x))
    if norm == "l2":
        rows = np.atleast_2d(x)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        factor = np.minimum(1.0, bound / np.maximum(norms, 1e-300))
        out = (rows * factor).reshape(x.shape)
        return out, int(np.count_nonzero(factor < 1.0))
    raise ValueError(f"norm must be 'linf' or 'l2', got {norm!r}")


def stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Unbiased rounding to int64: floor(x + u) with u ~ U[0, 1) from ``rng``."""
    return np.floor(np.asarray(x, np.float64) + rng.random(np.shape(x))).astype(np.int64)


def to_ring(q: np.ndarray) -> np.ndarray:
    """Signed int64 → residues modulo 2^32 as ``uint32`` (two's complement wrap)."""
    return (np.asarray(q, np.int64) & (MODULUS - 1)).astype(np.uint32)


def from_ring(r: np.ndarray) -> np.ndarray:
    """Residues modulo 2^32 → the signed representative in [-2^31, 2^31), as int64."""
    return np.asarray(r, np.uint32).view(np.int32).astype(np.int64)


def ring_sum(rows: np.ndarray) -> np.ndarray:
    """Sum ``[K, P]`` ``uint32`` rows modulo 2^32 (the accumulator wraps like the ring)."""
    return np.sum(np.asarray(rows, np.uint32), axis=0, dtype=np.uint32)


@dataclass(frozen=True)
class FixedPoint:
    """A public fixed-point format: clip bound ``clip``, ``scale_bits`` fractional bits.

    Example
    -------
    >>> fp = FixedPoint(clip=1.0, scale_bits=16)
    >>> rng = np.random.default_rng(0)
    >>> enc = [fp.encode(np.array([0.5, -0.25]), rng) for _ in range(3)]
    >>> fp.decode(ring_sum(np.stack(enc))).tolist()
    [1.5, -0.75]
    """

    clip: float = 1.0
    scale_bits: int = 16
    norm: str = "linf"

    @property
    def scale(self) -> float:
        return float(1 << self.scale_bits)

    @property
    def resolution(self) -> float:
        """One quantization step, 2^-scale_bits (the largest per-client rounding error)."""
        return 1.0 / self.scale

    def max_clients(self) -> int:
        """The largest n for which a sum of n encoded vectors cannot overflow."""
        per_client = math.ceil(self.clip * self.scale) + 1  # +1: stochastic rounding up
        return (_SIGNED_LIMIT - 1) // per_client

    def check_headroom(self, n_clients: int,
                       field: str = "privacy.secure_aggregation.scale_bits") -> None:
        """Raise :class:`ConfigError` if a sum of ``n_clients`` vectors could overflow 2^31."""
        if n_clients > self.max_clients():
            per = self.clip * self.scale
            best = max(0, math.floor(math.log2((_SIGNED_LIMIT - 1) / n_clients - 1) -
                                     math.log2(self.clip))) if self.clip > 0 else 0
            raise ConfigError(
                field, self.scale_bits,
                f"at most {best} fractional bits: {n_clients} clients × clip {self.clip} × "
                f"2^{self.scale_bits} = {n_clients * per:.3g} overflows the signed range "
                f"of Z_2^{RING_BITS} (2^31 = {_SIGNED_LIMIT})")

    def quantize(self, x: np.ndarray, rng: np.random.Generator,
                 factor: float = 1.0) -> tuple[np.ndarray, int]:
        """Clip, multiply by ``factor`` (|factor| ≤ 1 keeps the headroom, e.g. a client's
        weight share w_k/ω) and stochastically round to signed integers.
        Returns (int64 array, number of clipped coordinates or rows)."""
        if abs(factor) > 1.0:
            raise ValueError(f"factor must be in [-1, 1] to keep the headroom, got {factor}")
        clipped, n_clipped = clip(x, self.clip, self.norm)
        return stochastic_round(clipped * (factor * self.scale), rng), n_clipped

    def encode(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Clip, scale, round and wrap ``x`` into Z_{2^32} (``uint32``)."""
        return to_ring(self.quantize(x, rng)[0])

    def decode(self, r: np.ndarray) -> np.ndarray:
        """A ring element (typically a sum of encodings) back to float64."""
        return from_ring(r).astype(np.float64) / self.scale

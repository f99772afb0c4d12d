"""A digit a student draws on their phone, as the digits data set's 8×8 image.

scikit-learn's digits (the UCI "optical recognition of handwritten digits" set, Alpaydin &
Kaynak 1998) were made from 32×32 bitmaps of handwriting, normalized to the writing's bounding
box, by counting the "on" pixels in each 4×4 block: an 8×8 image of counts 0–16. A drawing is
turned into the same kind of image the same way: the ink (dark strokes on white) is cropped to
its bounding box, centred in a square with a small margin, resampled to 32×32 on/off pixels and
counted in 4×4 blocks. The canvas's pixels never leave this function: a class keeps only the
8×8 counts (64 small integers per drawing, at most :data:`MAX_DRAWINGS` per student).
"""

from __future__ import annotations

import numpy as np

#: Drawings a student keeps (the oldest goes first), and the largest canvas accepted.
MAX_DRAWINGS = 10
MAX_SIDE = 1024
#: A pixel is ink when it is this much darker than white (0–255).
INK = 96


def to_digit(rgba: object) -> np.ndarray | None:
    """``[H, W, 4]`` (or ``[H, W, 3]``) canvas pixels → ``[8, 8]`` uint8 counts 0–16, or
    None when nothing is drawn. Raises ValueError for anything that is not a small image."""
    a = np.asarray(rgba)
    if a.ndim != 3 or a.shape[2] not in (3, 4) or not (1 <= a.shape[0] <= MAX_SIDE
                                                       and 1 <= a.shape[1] <= MAX_SIDE):
        raise ValueError(f"a drawing is an [H, W, 3 or 4] image up to {MAX_SIDE} pixels a side")
    rgb = a[..., :3].astype(np.float32)
    if a.shape[2] == 4:  # transparent pixels are the white background
        alpha = a[..., 3:4].astype(np.float32) / 255.0
        rgb = rgb * alpha + 255.0 * (1.0 - alpha)
    ink = (255.0 - rgb.mean(axis=2)) > INK
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if not len(rows):
        return None
    crop = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    side = int(max(crop.shape) * 1.2) + 1  # a margin, as the digits' 20×20 box in 32×32 has
    square = np.zeros((side, side), bool)
    top, left = (side - crop.shape[0]) // 2, (side - crop.shape[1]) // 2
    square[top:top + crop.shape[0], left:left + crop.shape[1]] = crop
    # 32×32 on/off: a cell is on if any ink falls in it (nearest-area resampling)
    edges = np.linspace(0, side, 33).astype(int)
    grid = np.zeros((32, 32), bool)
    for i in range(32):
        band = square[edges[i]:max(edges[i + 1], edges[i] + 1)]
        for j in range(32):
            grid[i, j] = band[:, edges[j]:max(edges[j + 1], edges[j] + 1)].any()
    return grid.reshape(8, 4, 8, 4).sum(axis=(1, 3)).astype(np.uint8)


def check_digit(pixels: object, label: object) -> tuple[np.ndarray, int]:
    """An 8×8 count image and its label 0–9, validated (ValueError otherwise)."""
    p = np.asarray(pixels)
    if p.shape != (8, 8) or not np.issubdtype(p.dtype, np.integer) or p.min() < 0 or p.max() > 16:
        raise ValueError("a digit is an 8×8 image of counts 0–16")
    if not isinstance(label, (int, np.integer)) or not 0 <= int(label) <= 9:
        raise ValueError("a digit's label is 0–9")
    return p.astype(np.uint8), int(label)

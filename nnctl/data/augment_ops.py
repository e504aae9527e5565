"""The image augmentations beyond flip and shift, each on a whole batch (N, C, H, W) at once.

Every function takes the batch and per-image parameters drawn beforehand (arrays of length N), and gives a
new array; the arithmetic for one image depends only on that image and its own parameters, so splitting
the batch between threads (nnctl.workers.over_batch) gives the same numbers however it is split.
Uncovered pixels become 0, which is the training mean after `normalize: standard`.

    crop_with_padding   pad p zeros on every side, cut an H x W window at (rows, cols) in [0, 2p]
    rotate_and_zoom     rotate by angle (radians, counter-clockwise) and scale by zoom about the
                        image's centre, bilinear resampling (one batched gather of the four neighbours)
    brightness_contrast add delta to every pixel, then scale each image's deviation from its own mean by
                        factor: x' = (x + delta - m) * factor + m, m = mean(x + delta) over C, H, W
    cutout              zero a size x size square whose top-left corner is (top, left) (may hang over
                        the edge, so border regions are cut out less often than central ones)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def crop_with_padding(x: np.ndarray, pad: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """x: (N, C, H, W); rows, cols: (N,) offsets in [0, 2 * pad] of each window in the padded image."""
    n, _, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = sliding_window_view(padded, (h, w), axis=(2, 3))          # (N, C, 2p+1, 2p+1, H, W)
    return windows[np.arange(n), :, rows, cols]


def rotate_and_zoom(x: np.ndarray, angle: np.ndarray, zoom: np.ndarray) -> np.ndarray:
    """x: (N, C, H, W); angle (N,) radians; zoom (N,) > 0 (2 shows the central half twice as large).

    Output pixel (i, j) (row i counted downwards) reads the input at row ci + (cos a (i - ci) + sin a (j - cj)) / z
    and column cj + (cos a (j - cj) - sin a (i - ci)) / z, with (ci, cj) = ((H-1)/2, (W-1)/2), a = angle and
    z = zoom, so a positive angle turns the picture counter-clockwise as seen on screen; interpolated bilinearly between its four neighbours; neighbours outside the image count as 0."""
    n, channels, h, w = x.shape
    di = (np.arange(h) - (h - 1) / 2)[None, :, None]
    dj = (np.arange(w) - (w - 1) / 2)[None, None, :]
    cos = (np.cos(angle) / zoom)[:, None, None]
    sin = (np.sin(angle) / zoom)[:, None, None]
    src_i = cos * di + sin * dj + (h - 1) / 2                             # (N, H, W) float64
    src_j = cos * dj - sin * di + (w - 1) / 2
    i0, j0 = np.floor(src_i), np.floor(src_j)
    fi, fj = (src_i - i0).astype(x.dtype), (src_j - j0).astype(x.dtype)
    i0, j0 = i0.astype(np.int64), j0.astype(np.int64)
    images = np.arange(n)[:, None, None]
    out = np.zeros((n, h, w, channels), dtype=x.dtype)
    for di_, dj_, weight in ((0, 0, (1 - fi) * (1 - fj)), (0, 1, (1 - fi) * fj),
                             (1, 0, fi * (1 - fj)), (1, 1, fi * fj)):       # the four neighbours, not samples
        ii, jj = i0 + di_, j0 + dj_
        inside = (ii >= 0) & (ii < h) & (jj >= 0) & (jj < w)
        values = x[images, :, np.clip(ii, 0, h - 1), np.clip(jj, 0, w - 1)]   # (N, H, W, C)
        out += values * (weight * inside)[..., None]
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2))


def brightness_contrast(x: np.ndarray, delta: np.ndarray | None, factor: np.ndarray | None) -> np.ndarray:
    """x: (N, C, H, W); delta (N,) added; factor (N,) on the deviation from each image's mean (either may
    be None: that part is left out)."""
    out = x.copy() if delta is None else x + delta.astype(x.dtype)[:, None, None, None]
    if factor is None:
        return out
    mean = out.mean(axis=(1, 2, 3), keepdims=True)
    out -= mean
    out *= factor.astype(x.dtype)[:, None, None, None]
    out += mean
    return out


def cutout(x: np.ndarray, size: int, top: np.ndarray, left: np.ndarray) -> np.ndarray:
    """x: (N, C, H, W); rows top..top+size-1 and columns left..left+size-1 (clipped to the image) become 0;
    top, left: (N,) integers, possibly negative."""
    _, _, h, w = x.shape
    rows = np.arange(h)[None, :]
    cols = np.arange(w)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + size)         # (N, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + size)      # (N, W)
    hole = in_rows[:, None, :, None] & in_cols[:, None, None, :]
    return np.where(hole, x.dtype.type(0), x)

"""Max pooling forward over 2x2 windows that tile the input (kernel 2, stride 2, no padding, even sizes),
one pass that writes each window's maximum and its tap index (nnctl.layers.pool.MaxPool2D); called per
chunk of samples (nnctl.workers.over_batch).

    x (N, C, H, W) -> y (N, C, H/2, W/2), argmax (same shape, uint8): tap k = 2 i + j of window row i,
    column j; the first maximal element in row-major order wins a tie (strictly greater replaces).

The same comparisons as NumPy's tap-by-tap passes, so y and argmax are NumPy's bit for bit, except in a
window holding a NaN: y is NaN there as numpy.maximum makes it, but the tap index may differ (NumPy stops
moving it at the NaN). Measured (benchmarks/bench_kernels.py) the kernel wins only here: the backward pass,
and windows of other shapes, stay on NumPy's strided passes, which a plain loop did not beat.
"""

from __future__ import annotations

import numpy as np

from nnctl.kernels.backend import Kernel


def _max_pool_2x2(x, y, argmax):
    n, channels = x.shape[0], x.shape[1]
    out_h, out_w = y.shape[2], y.shape[3]
    for s in range(n):
        for c in range(channels):
            for ho in range(out_h):
                top, bottom = x[s, c, 2 * ho], x[s, c, 2 * ho + 1]
                best_row, arg_row = y[s, c, ho], argmax[s, c, ho]
                for wo in range(out_w):
                    a, b = top[2 * wo], top[2 * wo + 1]
                    c2, d = bottom[2 * wo], bottom[2 * wo + 1]
                    best, k = a, 0                          # selects, no branches: the loop vectorizes
                    greater = b > best
                    best = b if greater else best
                    k = 1 if greater else k
                    greater = c2 > best
                    best = c2 if greater else best
                    k = 2 if greater else k
                    greater = d > best
                    best = d if greater else best
                    k = 3 if greater else k
                    nan = (a != a) | (b != b) | (c2 != c2) | (d != d)
                    best_row[wo] = (a + b + c2 + d) if nan else best
                    arg_row[wo] = k


max_pool_2x2 = Kernel(_max_pool_2x2)


def warm(dtype) -> None:
    """Compile for (N, C, H, W) arrays of `dtype` with uint8 tap indexes (nnctl.kernels.warmup)."""
    max_pool_2x2(np.ones((1, 1, 2, 2), dtype), np.empty((1, 1, 1, 1), dtype), np.empty((1, 1, 1, 1), np.uint8))

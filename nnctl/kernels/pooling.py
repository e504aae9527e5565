"""Max pooling over 2x2 windows that tile the input (kernel 2, stride 2, no padding, even sizes), forward
and backward in one pass each (nnctl.layers.pool.MaxPool2D); called per chunk of samples
(nnctl.workers.over_batch).

    forward:   x (N, C, H, W) -> y (N, C, H/2, W/2), argmax (same shape, uint8): tap k = 2 i + j of window
               row i, column j; the first maximal element in row-major order wins a tie (strictly greater
               replaces)
    backward:  dy (N, C, H/2, W/2) -> dx (N, C, H, W): dy at each window's tap argmax, dy * 0 at the others
               (as NumPy's product with the boolean mask: -0.0 for a negative dy, NaN for a NaN)

The same comparisons and products as NumPy's tap-by-tap passes, so the numbers are NumPy's bit for bit,
except in a window holding a NaN: y is NaN there as numpy.maximum makes it, but the tap index may differ
(NumPy stops moving it at the NaN). Windows of other shapes stay on NumPy's strided passes, which a plain
loop did not beat when measured (benchmarks/bench_kernels.py times these).
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


def _max_pool_2x2_backward(dy, argmax, zero, dx):
    n, channels, out_h, out_w = dy.shape
    for s in range(n):
        for c in range(channels):
            for ho in range(out_h):
                grad, arg = dy[s, c, ho], argmax[s, c, ho]
                for i in range(2):                  # one input row at a time: its two taps interleave
                    row, first = dx[s, c, 2 * ho + i], 2 * i
                    for wo in range(out_w):
                        k, g = arg[wo] - first, grad[wo]
                        row[2 * wo] = g if k == 0 else g * zero
                        row[2 * wo + 1] = g if k == 1 else g * zero


max_pool_2x2 = Kernel(_max_pool_2x2)
max_pool_2x2_backward = Kernel(_max_pool_2x2_backward)


def warm(dtype) -> None:
    """Compile for (N, C, H, W) arrays of `dtype` with uint8 tap indexes (nnctl.kernels.warmup)."""
    x, y, argmax = np.ones((1, 1, 2, 2), dtype), np.empty((1, 1, 1, 1), dtype), np.empty((1, 1, 1, 1), np.uint8)
    max_pool_2x2(x, y, argmax)
    max_pool_2x2_backward(y, argmax, dtype(0), x)

"""Batch norm's element-wise passes on (N, C, P) arrays, per channel, as single loops
(nnctl.layers.norm.BatchNorm on images); called per chunk of samples (nnctl.workers.over_batch).
The per-channel sums stay NumPy's (nnctl.layers.channels), so the statistics are NumPy's exactly.

    normalize (forward):  xhat <- xhat * inv_std;  y = xhat * gamma + beta       (xhat = x - mean on entry)
    backward:             dx = ((dy - mean_dy) - xhat * mean_dy_xhat) * scale   (scale = gamma * inv_std)

with inv_std, gamma, beta, mean_dy, mean_dy_xhat, scale of shape (C,). The same float operations in the
same order as the NumPy passes they replace (three in forward, four in backward), so the numbers are
NumPy's bit for bit.
"""

from __future__ import annotations

import numpy as np

from nnctl.kernels.backend import Kernel


def _normalize(xhat, inv_std, gamma, beta, y):
    n, channels, size = xhat.shape
    for s in range(n):
        for c in range(channels):
            inv, g, b = inv_std[c], gamma[c], beta[c]
            h_row, y_row = xhat[s, c], y[s, c]
            for i in range(size):
                h = h_row[i] * inv
                h_row[i] = h
                y_row[i] = h * g + b


def _backward(dy, xhat, mean_dy, mean_dy_xhat, scale, dx):
    n, channels, size = dy.shape
    for s in range(n):
        for c in range(channels):
            m, mh, k = mean_dy[c], mean_dy_xhat[c], scale[c]
            d_row, h_row, out = dy[s, c], xhat[s, c], dx[s, c]
            for i in range(size):
                out[i] = ((d_row[i] - m) - h_row[i] * mh) * k


normalize = Kernel(_normalize)
backward = Kernel(_backward)


def warm(dtype) -> None:
    """Compile for (N, C, P) arrays of `dtype` (nnctl.kernels.warmup)."""
    x, per_channel = np.ones((1, 2, 3), dtype), np.ones(2, dtype)
    normalize(x, per_channel, per_channel, per_channel, x.copy())
    backward(x, x, per_channel, per_channel, per_channel, x.copy())

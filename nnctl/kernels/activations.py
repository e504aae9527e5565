"""ReLU forward and backward as single passes (nnctl.layers.activations.ReLU), on 1-D views of contiguous
arrays; called per chunk of samples (nnctl.workers.over_batch).

    forward:   y = max(x, 0)            as numpy.maximum: NaN stays NaN, max(-0.0, 0) is +0.0
    backward:  dx = dy * [y > 0]        the mask as a 1.0 / 0.0 factor, as NumPy multiplies by a bool array

The same two passes with the mask kept as a bool array instead of the output (`relu_with_mask`, in place,
and `masked`) serve the ReLU that nnctl.nn.fusion applies after a max pool. All give NumPy's numbers bit
for bit (-0.0 and NaN included). The backward pass replaces NumPy's two (the
comparison into a bool array, then the product) and the forward saves NumPy's call overhead on small
batches.
"""

from __future__ import annotations

import numpy as np

from nnctl.kernels.backend import Kernel


def _relu_forward(x, zero, y):
    for i in range(x.size):
        v = x[i]
        y[i] = v if (v > zero or v != v) else zero


def _relu_backward(dy, y, zero, one, dx):
    for i in range(dy.size):
        dx[i] = dy[i] * (one if y[i] > zero else zero)


def _relu_with_mask(x, zero, mask):
    for i in range(x.size):
        v = x[i]
        positive = v > zero
        x[i] = v if (positive or v != v) else zero
        mask[i] = positive


def _masked(dy, mask, zero, one, dx):
    for i in range(dy.size):
        dx[i] = dy[i] * (one if mask[i] else zero)


relu_forward = Kernel(_relu_forward)
relu_backward = Kernel(_relu_backward)
relu_with_mask = Kernel(_relu_with_mask)       # in place, and mask = [y > 0] (nnctl.nn.fusion after a pool)
masked = Kernel(_masked)                       # dx = dy * mask, the mask a bool array


def warm(dtype) -> None:
    """Compile for 1-D arrays of `dtype` (nnctl.kernels.warmup)."""
    x = np.ones(4, dtype)
    relu_forward(x, dtype(0), x)
    relu_backward(x, x, dtype(0), dtype(1), x)
    mask = np.zeros(4, np.bool_)
    relu_with_mask(x, dtype(0), mask)
    masked(x, mask, dtype(0), dtype(1), x)

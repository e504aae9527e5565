"""Softmax cross-entropy, loss and gradient in one pass over the scores (nnctl.nn.losses.SoftmaxCrossEntropy).

    scores (N, C) logits, target (N,) integer labels; with e = smoothing, q = (1 - e) onehot(y) + e / C:
    loss[n] = w[y_n] * ((1 - e) (log Z_n - s'_ny) - e (mean_c s'_nc - log Z_n))     s' = s - max_c s_nc
    grad[n, c] = (softmax(s_n)_c - q_nc) / N * w[y_n]                               Z_n = sum_c e^s'_nc

The NumPy code computes the same quantities pass by pass; here each row is read once and its gradient
written once. The exponentials and the row sums are summed in another order than NumPy's, so the results
agree within float32 rounding (a few ulp), not bit for bit. Labels are read as Python indexes (-1 is the
last class, as NumPy's indexing reads it); a label outside [-C, C) makes the kernel return False, and the
caller then runs the NumPy code, which raises its own IndexError.
"""

from __future__ import annotations

import numpy as np

from nnctl.kernels.backend import Kernel


def _softmax_cross_entropy(scores, target, smoothing, keep, spread, width, count, weights, loss, grad):
    n, classes = scores.shape
    for i in range(n):
        label = target[i]
        if label < 0:
            label += classes
        if label < 0 or label >= classes:
            return False
        row, out = scores[i], grad[i]
        top = row[0]
        for c in range(1, classes):
            if row[c] > top:
                top = row[c]
        total = row[0] * 0
        shifted_sum = row[0] * 0
        for c in range(classes):
            shifted = row[c] - top
            shifted_sum += shifted
            e = np.exp(shifted)
            out[c] = e
            total += e
        log_total = np.log(total)
        value = -((row[label] - top) - log_total)
        if smoothing != 0:
            value = keep * value - smoothing * (shifted_sum / width - log_total)
        for c in range(classes):
            out[c] = out[c] / total - spread
        out[label] -= keep
        for c in range(classes):
            out[c] /= count
        if weights.size:
            w = weights[i]
            value *= w
            for c in range(classes):
                out[c] *= w
        loss[i] = value
    return True


softmax_cross_entropy = Kernel(_softmax_cross_entropy)


def run(scores: np.ndarray, target: np.ndarray, smoothing: float, weights: np.ndarray | None):
    """(per-sample losses (N,), gradient (N, C)) in the dtype of `scores`, or None for a label out of range."""
    real = scores.dtype.type
    n, classes = scores.shape
    loss, grad = np.empty(n, scores.dtype), np.empty_like(scores)
    ok = softmax_cross_entropy(scores, target, real(smoothing), real(1 - smoothing), real(smoothing / classes),
                               real(classes), real(n), np.empty(0, scores.dtype) if weights is None else weights, loss, grad)
    return (loss, grad) if ok else None


def warm(dtype) -> None:
    """Compile for (N, C) scores of `dtype` and int64 labels (nnctl.kernels.warmup)."""
    run(np.zeros((2, 3), dtype), np.array([0, 2]), 0.0, None)

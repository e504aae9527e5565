"""Softmax cross-entropy, loss and gradient together (nnctl.nn.losses.SoftmaxCrossEntropy), with NumPy's
numbers bit for bit.

    scores (N, C) logits, target (N,) integer labels; with e = smoothing, q = (1 - e) onehot(y) + e / C:
    loss[n] = w[y_n] * ((1 - e) (log Z_n - s'_ny) - e (mean_c s'_nc - log Z_n))     s' = s - max_c s_nc
    grad[n, c] = (softmax(s_n)_c - q_nc) / N * w[y_n]                               Z_n = sum_c e^s'_nc

The exponentials and logarithms are NumPy's own (np.exp, np.log: their rounding is not a loop's to
copy); everything between them is compiled loops (three in forward, one in backward) that replace NumPy's
dozen passes and two fancy indexings. The row sums are NumPy's pairwise summation for rows of up to 128 classes, written out (eight
running sums, combined as a tree, then the remainder), so they round as NumPy's do; wider score rows and
labels outside [-C, C) make `forward` return None and the caller runs the NumPy code (which raises its own
IndexError for such a label). Labels are read as Python indexes: -1 is the last class, as NumPy reads it.
"""

from __future__ import annotations

import numpy as np

from nnctl.kernels.backend import Kernel

BLOCK = 128          # NumPy's pairwise-summation block: rows up to this length are summed in one block


def _shift(scores, target, shifted):
    """shifted = scores - max over each row; False for a label out of range (nothing else is read then)."""
    n, classes = scores.shape
    for i in range(n):
        label = target[i]
        if label < -classes or label >= classes:
            return False
    for i in range(n):
        row, out = scores[i], shifted[i]
        top = row[0]
        for c in range(1, classes):
            v = row[c]
            if v > top or v != v:              # NaN wins and stays, as in numpy.max
                top = v
        for c in range(classes):
            out[c] = row[c] - top
    return True


def _row_sums(values, zero, sums):
    """sums[i] = values[i].sum() as NumPy's pairwise summation adds a contiguous row of up to 128 values."""
    n, length = values.shape
    for i in range(n):
        row = values[i]
        if length < 8:
            total = zero
            for c in range(length):
                total += row[c]
        else:
            r0, r1, r2, r3 = row[0], row[1], row[2], row[3]
            r4, r5, r6, r7 = row[4], row[5], row[6], row[7]
            c = 8
            while c < length - length % 8:
                r0 += row[c]
                r1 += row[c + 1]
                r2 += row[c + 2]
                r3 += row[c + 3]
                r4 += row[c + 4]
                r5 += row[c + 5]
                r6 += row[c + 6]
                r7 += row[c + 7]
                c += 8
            total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
            while c < length:
                total += row[c]
                c += 1
        sums[i] = total


def _loss_and_probs(shifted, exp, total, log_total, shifted_sums, target, smoothing, keep, width, weights,
                    loss):
    """Per-sample losses, and exp turned into the softmax in place, from the shifted scores, their
    exponentials, the row totals and their logarithms (and the shifted rows' sums when smoothing)."""
    n, classes = shifted.shape
    for i in range(n):
        label = target[i]
        if label < 0:
            label += classes
        value = -(shifted[i, label] - log_total[i])
        if smoothing != 0:
            value = keep * value - smoothing * (shifted_sums[i] / width - log_total[i])
        if weights.size:
            value *= weights[i]
        loss[i] = value
        e, z = exp[i], total[i]
        for c in range(classes):
            e[c] = e[c] / z


def _gradient(probs, target, smoothing, keep, spread, count, weights):
    """probs (N, C) turned into the gradient in place: (probs - q) / N, times each row's weight."""
    n, classes = probs.shape
    for i in range(n):
        label = target[i]
        if label < 0:
            label += classes
        out = probs[i]
        if smoothing != 0:
            for c in range(classes):
                out[c] -= spread
        out[label] -= keep
        for c in range(classes):
            out[c] /= count
        if weights.size:
            w = weights[i]
            for c in range(classes):
                out[c] *= w


shift = Kernel(_shift)
row_sums = Kernel(_row_sums)
loss_and_probs = Kernel(_loss_and_probs)
gradient = Kernel(_gradient)


def _no_weights(weights: np.ndarray | None, dtype) -> np.ndarray:
    return np.empty(0, dtype) if weights is None else weights


def forward(scores: np.ndarray, target: np.ndarray, smoothing: float, weights: np.ndarray | None):
    """(per-sample losses (N,), softmax probabilities (N, C)) in the dtype of `scores`, or None when the
    NumPy code must run instead (more than 128 classes, a label out of range)."""
    n, classes = scores.shape
    if classes > BLOCK or n == 0:
        return None
    real = scores.dtype.type
    shifted = np.empty_like(scores)
    if not shift(scores, target, shifted):
        return None
    exp = np.exp(shifted)
    total = np.empty(n, scores.dtype)
    row_sums(exp, real(0), total)
    log_total = np.log(total)
    shifted_sums = np.empty(n if smoothing else 0, scores.dtype)
    if smoothing:
        row_sums(shifted, real(0), shifted_sums)
    loss = np.empty(n, scores.dtype)
    loss_and_probs(shifted, exp, total, log_total, shifted_sums, target, real(smoothing), real(1 - smoothing),
                   real(classes), _no_weights(weights, scores.dtype), loss)
    return loss, exp


def backward(probs: np.ndarray, target: np.ndarray, smoothing: float, weights: np.ndarray | None) -> np.ndarray:
    """The gradient from `forward`'s probabilities, written over them."""
    n, classes = probs.shape
    real = probs.dtype.type
    gradient(probs, target, real(smoothing), real(1 - smoothing), real(smoothing / classes), real(n),
             _no_weights(weights, probs.dtype))
    return probs


def warm(dtype) -> None:
    """Compile for (N, C) scores of `dtype` and int64 labels (nnctl.kernels.warmup)."""
    target = np.array([0, 2])
    _, probs = forward(np.zeros((2, 3), dtype), target, 0.1, None)
    backward(probs, target, 0.1, None)

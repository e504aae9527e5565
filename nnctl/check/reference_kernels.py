"""Loop-based reference implementations of convolution and pooling, forward and backward.

Written plainly, one output position at a time, straight from the definitions and independent of the
im2col machinery, so the fast layers can be checked against them (tests, `nnctl gradcheck --reference`).
Slow: for small arrays only. Shapes are NCHW; `stride`, `padding`, `dilation` and `kernel` are an int
or an (h, w) pair. Gradients are of sum(y * dy).
"""

from __future__ import annotations

import numpy as np


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _pad(x: np.ndarray, padding, value: float = 0.0) -> np.ndarray:
    ph, pw = _pair(padding)
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _window(h0: int, w0: int, kernel, dilation) -> tuple[slice, slice]:
    """Rows and columns of the padded input under the window whose top-left corner is (h0, w0)."""
    (kh, kw), (dh, dw) = kernel, dilation
    return slice(h0, h0 + dh * (kh - 1) + 1, dh), slice(w0, w0 + dw * (kw - 1) + 1, dw)


def _crop(padded: np.ndarray, padding) -> np.ndarray:
    ph, pw = _pair(padding)
    return padded[:, :, ph:padded.shape[2] - ph, pw:padded.shape[3] - pw]


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1) -> np.ndarray:
    """x (N, C, H, W), w (F, C, kh, kw), b (F,) or None -> y (N, F, Ho, Wo)."""
    (sh, sw), (dh, dw), (ph, pw) = _pair(stride), _pair(dilation), _pair(padding)
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    ho, wo = _out_size(h, kh, sh, ph, dh), _out_size(wd, kw, sw, pw, dw)
    xp = _pad(x, padding)
    y = np.zeros((n, f, ho, wo), x.dtype)
    for s in range(n):
        for r in range(ho):
            for q in range(wo):
                rows, cols = _window(r * sh, q * sw, (kh, kw), (dh, dw))
                patch = xp[s, :, rows, cols]                          # (C, kh, kw)
                for k in range(f):
                    y[s, k, r, q] = np.sum(w[k] * patch) + (0.0 if b is None else b[k])
    return y


def conv2d_backward(x, w, dy, stride=1, padding=0, dilation=1):
    """Gradients (dx, dw, db) of sum(conv2d_forward(x, w, b) * dy)."""
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    n, _, ho, wo = dy.shape
    f, _, kh, kw = w.shape
    xp = _pad(x, padding)
    dxp, dw_ = np.zeros_like(xp), np.zeros_like(w)
    for s in range(n):
        for r in range(ho):
            for q in range(wo):
                rows, cols = _window(r * sh, q * sw, (kh, kw), (dh, dw))
                for k in range(f):
                    g = dy[s, k, r, q]
                    dxp[s, :, rows, cols] += g * w[k]
                    dw_[k] += g * xp[s, :, rows, cols]
    db = dy.sum(axis=(0, 2, 3))
    return _crop(dxp, padding).copy(), dw_, db


def maxpool2d_forward(x, kernel, stride=None, padding=0) -> np.ndarray:
    """x (N, C, H, W) -> y (N, C, Ho, Wo): the max of each window; padding is -inf."""
    return _pool_forward(x, kernel, stride, padding, "max")


def avgpool2d_forward(x, kernel, stride=None, padding=0) -> np.ndarray:
    """x (N, C, H, W) -> y (N, C, Ho, Wo): the sum of each zero-padded window divided by kh*kw."""
    return _pool_forward(x, kernel, stride, padding, "avg")


def _pool_forward(x, kernel, stride, padding, kind: str) -> np.ndarray:
    (kh, kw) = _pair(kernel)
    (sh, sw), (ph, pw) = _pair(kernel if stride is None else stride), _pair(padding)
    n, c, h, wd = x.shape
    ho, wo = _out_size(h, kh, sh, ph, 1), _out_size(wd, kw, sw, pw, 1)
    xp = _pad(x, padding, -np.inf if kind == "max" else 0.0)
    y = np.zeros((n, c, ho, wo), x.dtype)
    for s in range(n):
        for ch in range(c):
            for r in range(ho):
                for q in range(wo):
                    rows, cols = _window(r * sh, q * sw, (kh, kw), (1, 1))
                    patch = xp[s, ch, rows, cols]
                    y[s, ch, r, q] = patch.max() if kind == "max" else patch.sum() / (kh * kw)
    return y


def maxpool2d_backward(x, dy, kernel, stride=None, padding=0) -> np.ndarray:
    """dx (N, C, H, W): each dy goes to the first maximal element of its window in row-major order."""
    return _pool_backward(x, dy, kernel, stride, padding, "max")


def avgpool2d_backward(x, dy, kernel, stride=None, padding=0) -> np.ndarray:
    """dx (N, C, H, W): each dy is shared equally, dy / (kh*kw), by the kh*kw elements of its window."""
    return _pool_backward(x, dy, kernel, stride, padding, "avg")


def _pool_backward(x, dy, kernel, stride, padding, kind: str) -> np.ndarray:
    (kh, kw) = _pair(kernel)
    (sh, sw) = _pair(kernel if stride is None else stride)
    n, c, ho, wo = dy.shape
    xp = _pad(x, padding, -np.inf if kind == "max" else 0.0)
    dxp = np.zeros_like(xp)
    for s in range(n):
        for ch in range(c):
            for r in range(ho):
                for q in range(wo):
                    rows, cols = _window(r * sh, q * sw, (kh, kw), (1, 1))
                    if kind == "avg":
                        dxp[s, ch, rows, cols] += dy[s, ch, r, q] / (kh * kw)
                        continue
                    patch = xp[s, ch, rows, cols]
                    first = int(np.argmax(patch))                     # argmax returns the first maximum
                    i, j = divmod(first, kw)
                    dxp[s, ch, rows.start + i, cols.start + j] += dy[s, ch, r, q]
    return _crop(dxp, padding).copy()


def global_avgpool_forward(x) -> np.ndarray:
    """x (N, C, H, W) -> y (N, C): the mean of each channel."""
    n, c, h, w = x.shape
    y = np.zeros((n, c), x.dtype)
    for s in range(n):
        for ch in range(c):
            y[s, ch] = x[s, ch].sum() / (h * w)
    return y


def global_avgpool_backward(x, dy) -> np.ndarray:
    """dx (N, C, H, W): dy[n, c] / (H*W) at every position of channel c."""
    n, c, h, w = x.shape
    dx = np.zeros_like(x)
    for s in range(n):
        for ch in range(c):
            dx[s, ch] = dy[s, ch] / (h * w)
    return dx

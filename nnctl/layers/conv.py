"""2-D convolution on NCHW data, computed as one GEMM per pass over im2col columns."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.layers.init import INITIALIZERS, init_weights
from nnctl.layers.base import Layer, Shape
from nnctl.layers.im2col import Im2Col, Scratch, Window, pair, same_padding, show_pair
from nnctl.layers.im2col_shift import ShiftIm2Col
from nnctl.workers import over_batch
from nnctl.options.spec import Bool, Choice, Float, Int, IntPair, Mismatch, Option

SMALL_K = 16     # products per sample when C*kh*kw is at most this (see Conv2D; measured)


def per_sample_product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out[n] = a[n] @ b[n] (a or b may be one matrix for all n), the samples split over threads.

    Each product is so small that OpenBLAS runs it on the calling thread alone, and NumPy's matmul takes
    the samples one after another: unsplit, one core does all of it (measured in training: the first
    conv of the benchmark CNN took 3.1 ms forward and 1.8 ms backward; split over two threads, 1.8 and 1.1).
    Every out[n] is computed the same way whatever the split, so results do not depend on it."""
    def chunk(samples: slice) -> None:
        np.matmul(a if a.ndim == 2 else a[samples], b if b.ndim == 2 else b[samples], out=out[samples])

    over_batch(chunk, out.shape[0], out.size * a.shape[-1])      # work: out entries x inner length


def PaddingOrSame():
    """A non-negative int, an [h, w] pair of them, or the word 'same'."""
    int_pair = IntPair(0)

    def check(value: Any) -> tuple[int, int] | str:
        if value == "same":
            return "same"
        try:
            return int_pair(value)
        except Mismatch:
            raise Mismatch("a non-negative integer, a pair [h, w] of them, or 'same'") from None

    return check


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every framework): (C, H, W) -> (F, Ho, Wo), NCHW data.

    y[n, f, ho, wo] = b[f] + sum_{c, i, j} W[f, c, i, j] * xpad[n, c, ho*sh + i*dh, wo*sw + j*dw]
    with W: (F, C, kh, kw), b: (F,), xpad the input with `padding` zeros on each side.

    With columns = im2col(x) as a (K, N*P) matrix (K = C*kh*kw, P = Ho*Wo), one matrix product per pass:
      forward   y = W (F, K) @ columns + b            then one transpose (F, N, P) -> NCHW
      backward  dW = dy (F, N*P) @ columns.T          after one transpose NCHW -> (F, N, P); db = sum of dy
                dx = col2im(W.T @ dy)                 written over the spent columns
    Stride-1 layers that keep the width (3x3 pad 1, ...) build the columns by shifting whole flattened
    images (im2col_shift.py); all others through a zero-padded copy (im2col.py). Same columns either way.
    With few taps (K <= SMALL_K, e.g. a 3x3 first layer on grayscale images) the products are memory-bound
    and the transposes would cost more than they save: there every product is a matmul batched over the
    samples, reading and writing NCHW directly (dW is then summed over the batch).
    """

    options = {
        "filters": Option(Int(1), doc="number of output channels F"),
        "kernel": Option(IntPair(1), doc="kernel size: an integer or [h, w]"),
        "stride": Option(IntPair(1), 1, "step between windows: an integer or [h, w]"),
        "padding": Option(PaddingOrSame(), 0, "zeros added on each side: an integer, [h, w], or 'same'"),
        "dilation": Option(IntPair(1), 1, "spacing between kernel taps: an integer or [h, w]"),
        "bias": Option(Bool(), True, "learn a bias per filter"),
        "init": Option(Choice(*INITIALIZERS), "he", "weight initializer (fan_in = C*kh*kw)"),
        "weight_scale": Option(Float(0, low_open=True), 1e-2, "std for init: normal"),
    }
    penalized = ("W",)
    size_key = "filters"

    def window(self, in_shape: Shape) -> Window:
        """The geometry for inputs of `in_shape` (C, H, W); ValueError if it does not fit."""
        kernel, stride, dilation = (pair(self.config[k]) for k in ("kernel", "stride", "dilation"))
        padding = self.config["padding"]
        if padding == "same":
            padding = same_padding(kernel, stride, dilation)
        return Window(in_shape, kernel, stride, padding, dilation)

    def output_shape(self, in_shape: Shape) -> Shape:
        w = self.window(in_shape)
        return self.config["filters"], w.out_height, w.out_width

    def param_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        g, f = self.window(in_shape), self.config["filters"]
        return {"W": (f, g.channels, *g.kernel), **({"b": (f,)} if self.config["bias"] else {})}

    def work_per_sample(self, in_shape: Shape, out_shape: Shape) -> int:
        g = self.window(in_shape)
        return g.channels * g.taps * g.out_height * g.out_width        # the im2col columns

    def build(self, in_shape: Shape, rng: np.random.Generator, dtype: Any = np.float32) -> Shape:
        self.geometry = g = self.window(in_shape)
        self.per_sample = g.channels * g.taps <= SMALL_K
        ones_row = self.per_sample and self.config["bias"]      # bias and its gradient inside the products
        self.im2col = (ShiftIm2Col if ShiftIm2Col.fits(g) else Im2Col)(g, ones_row=ones_row)
        self.scratch = Scratch()
        self.columns: np.ndarray | None = None
        return super().build(in_shape, rng, dtype)

    def create_params(self, rng: np.random.Generator) -> None:
        f, (c, kh, kw) = self.config["filters"], (self.geometry.channels, *self.geometry.kernel)
        self.params["W"] = init_weights(self.config["init"], (f, c, kh, kw), c * kh * kw, f * kh * kw,
                                        self.config["weight_scale"], rng, self.dtype)
        if self.config["bias"]:
            self.params["b"] = np.zeros(f, dtype=self.dtype)

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        """x (N, C, H, W) -> y (N, F, Ho, Wo), a new array. Keeps the columns for backward."""
        g, n, f = self.geometry, x.shape[0], self.config["filters"]
        w = self.params["W"].reshape(f, -1)
        self.columns = columns = self.im2col.columns(x)
        y = np.empty((n, f, g.out_height, g.out_width), x.dtype)
        bias = self.params["b"][:, None, None] if "b" in self.params else None
        if self.per_sample:                             # columns end in a row of ones when there is a bias
            w_b = w if bias is None else np.concatenate([w, self.params["b"][:, None]], axis=1)
            per_sample_product(w_b, self.by_sample(columns), y.reshape(n, f, -1))
            return y
        out = self.scratch.get("out", (f, n, g.out_height, g.out_width), x.dtype)
        np.matmul(w, columns, out=out.reshape(f, -1))

        def to_nchw(samples: slice) -> None:
            transposed = out[:, samples].transpose(1, 0, 2, 3)
            if bias is None:
                np.copyto(y[samples], transposed)
            else:
                np.add(transposed, bias, out=y[samples])

        over_batch(to_nchw, n, y.size)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """dy (N, F, Ho, Wo) -> dx (N, C, H, W) (None if not `need_input_grad`); fills grads W and b."""
        columns, self.columns = self.columns, None
        gradients = self.gradients_per_sample if self.per_sample else self.gradients_batched
        dcolumns = gradients(dy, columns, need_input_grad)
        return None if dcolumns is None else self.im2col.image(dcolumns)

    def gradients_batched(self, dy: np.ndarray, columns: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        """Fill grads W and b with one GEMM over the batch; return dcolumns = W.T @ dy (K, N*P), written
        over the spent columns, or None when nobody needs dx (then that GEMM and col2im are skipped)."""
        n, f, w = dy.shape[0], self.config["filters"], self.params["W"]
        dy_t = self.scratch.get("dy", (f, n) + dy.shape[2:], dy.dtype)

        def to_fnhw(samples: slice) -> None:
            np.copyto(dy_t[:, samples], dy[samples].transpose(1, 0, 2, 3))

        over_batch(to_fnhw, n, dy.size)
        dy_t = dy_t.reshape(f, -1)
        if "b" in self.params:
            dy_t.sum(axis=1, out=self.grad_buffer("b"))
        # dW.T = columns (K, N*P) @ dy.T: OpenBLAS runs this orientation faster than dy @ columns.T
        dw_t = self.scratch.get("dw_t", (columns.shape[0], f), dy.dtype)
        np.matmul(columns, dy_t.T, out=dw_t)
        np.copyto(self.grad_buffer("W").reshape(f, -1), dw_t.T)
        if not need_input_grad:
            return None
        # a contiguous W.T (K, F) copy is tiny, and OpenBLAS runs the product ~5% faster with it
        return np.matmul(np.ascontiguousarray(w.reshape(f, -1).T), dy_t, out=columns)

    def gradients_per_sample(self, dy: np.ndarray, columns: np.ndarray, need_input_grad: bool) -> np.ndarray | None:
        """As `gradients_batched`, with batched products over samples that read dy in NCHW directly."""
        n, f, w = dy.shape[0], self.config["filters"], self.params["W"]
        dy = dy.reshape(n, f, -1)
        taps = w[0].size
        per_sample_dw = self.scratch.get("dw", (n, f, columns.shape[0]), dy.dtype)       # (N, F, K [+ 1])
        per_sample_product(dy, self.by_sample(columns).transpose(0, 2, 1), per_sample_dw)
        dw_b = per_sample_dw.sum(axis=0)
        np.copyto(self.grad_buffer("W").reshape(f, taps), dw_b[:, :taps])
        if "b" in self.params:                              # the row of ones gives sum_n,p dy
            np.copyto(self.grad_buffer("b"), dw_b[:, taps])
        if not need_input_grad:
            return None
        dcolumns = columns[:taps]
        per_sample_product(np.ascontiguousarray(w.reshape(f, -1).T), dy, self.by_sample(dcolumns))
        return dcolumns

    def by_sample(self, columns: np.ndarray) -> np.ndarray:
        """The (K, N*P) columns as an (N, K, P) view: one (K, P) matrix per sample, for batched products."""
        g = self.geometry
        return columns.reshape(columns.shape[0], -1, g.out_height * g.out_width).transpose(1, 0, 2)

    def macs(self) -> int:
        g = self.geometry
        return self.config["filters"] * g.out_height * g.out_width * g.channels * g.taps

    def describe(self) -> str:
        g = self.geometry
        text = (f"{self.config['filters']} filters {show_pair(g.kernel, square=False)}, "
                f"stride {show_pair(g.stride)}, pad {show_pair(g.padding)}")
        if g.dilation != (1, 1):
            text += f", dilation {show_pair(g.dilation)}"
        return text

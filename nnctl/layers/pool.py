"""Pooling on NCHW data: max and average over sliding windows, and global average.

Windows may overlap (stride < kernel), skip (stride > kernel) or tile exactly. The work is a loop over the
kh*kw kernel taps, each a strided (n, C, Ho, Wo) view of the (padded) input for a chunk of n samples
(chunks run on parallel threads, see workers.py), so no Python loop touches samples or pixels. When windows
tile the input (kernel == stride, sizes divisible, no padding) those views are the slices
[:, :, :, i, :, j] of x.reshape(N, C, Ho, kh, Wo, kw): they partition x, so backward writes each tap's
share straight into dx instead of accumulating into a zeroed, padded buffer.

With compiled kernels on (nnctl.kernels.backend), max pooling over tiling 2x2 windows runs forward and
backward as one loop each instead (nnctl.kernels.pooling), on the same chunks of samples, same numbers.
"""

from __future__ import annotations

import numpy as np

from nnctl.kernels import backend, pooling
from nnctl.layers.base import Layer, Shape
from nnctl.layers.im2col import Scratch, Window, pair, show_pair
from nnctl.workers import over_batch
from nnctl.options.spec import IntPair, Optional, Option


class Pool2D(Layer):
    """Shared geometry of max and average pooling: (C, H, W) -> (C, Ho, Wo)."""

    options = {
        "kernel": Option(IntPair(1), doc="window size: an integer or [h, w]"),
        "stride": Option(Optional(IntPair(1)), None, "step between windows (default: the kernel)"),
        "padding": Option(IntPair(0), 0, "padding on each side: an integer or [h, w], smaller than the kernel"),
    }
    pad_value = 0.0

    def window(self, in_shape: Shape) -> Window:
        kernel, padding = pair(self.config["kernel"]), pair(self.config["padding"])
        stride = kernel if self.config["stride"] is None else pair(self.config["stride"])
        if padding[0] >= kernel[0] or padding[1] >= kernel[1]:
            raise ValueError(f"padding {show_pair(padding, square=False)} must be smaller than the kernel "
                             f"{show_pair(kernel, square=False)} (else a window can lie wholly in the padding)")
        return Window(in_shape, kernel, stride, padding)

    def output_shape(self, in_shape: Shape) -> Shape:
        w = self.window(in_shape)
        return w.channels, w.out_height, w.out_width

    def build(self, in_shape: Shape, rng: np.random.Generator, dtype=np.float32) -> Shape:
        self.geometry = self.window(in_shape)
        self.scratch = Scratch()
        return super().build(in_shape, rng, dtype)

    def windows_of(self, x: np.ndarray):
        """A function of a slice of samples giving the input their windows read: x[samples] without padding,
        else those samples of a work array (N, C, Hp, Wp) with a `pad_value` border, filled from x then."""
        g = self.geometry
        if g.padding == (0, 0):
            return lambda samples: x[samples]
        shape = (x.shape[0], g.channels, g.padded_height, g.padded_width)
        padded = self.scratch.get("padded", shape, x.dtype, fill=self.pad_value)
        rows, cols = g.interior()

        def source(samples: slice) -> np.ndarray:
            padded[samples, :, rows, cols] = x[samples]
            return padded[samples]

        return source

    def scatter(self, dy: np.ndarray, tap_gradient) -> np.ndarray:
        """dx (N, C, H, W) for dy (N, C, Ho, Wo). `tap_gradient(k, samples, out)` writes into `out` the
        gradient that tap k (row-major order) passes to the input elements it read, for those samples."""
        g, n = self.geometry, dy.shape[0]
        dx = np.empty((n, g.channels, g.height, g.width), dy.dtype)
        taps = list(enumerate(g.offsets()))
        if g.tiles:
            def fold(samples: slice) -> None:
                for k, (_, _, rows, cols) in taps:
                    tap_gradient(k, samples, dx[samples, :, rows, cols])
        else:
            padded = self.scratch.get("dpadded", (n, g.channels, g.padded_height, g.padded_width), dx.dtype)
            share = self.scratch.get("share", dy.shape, dx.dtype)
            interior = (slice(None), slice(None)) + g.interior()

            def fold(samples: slice) -> None:
                part, mine = padded[samples], share[samples]
                part.fill(0)
                for k, (_, _, rows, cols) in taps:
                    tap_gradient(k, samples, mine)
                    part[:, :, rows, cols] += mine
                np.copyto(dx[samples], part[interior])

        over_batch(fold, n, dx.size)
        return dx

    def describe(self) -> str:
        g = self.geometry
        text = f"{show_pair(g.kernel, square=False)}, stride {show_pair(g.stride)}"
        return text + (f", pad {show_pair(g.padding)}" if g.padding != (0, 0) else "")


class MaxPool2D(Pool2D):
    """y[n, c, ho, wo] = max over the window; padding is -inf, so it is never the maximum.

    Ties: the gradient goes to the first maximal element of the window in row-major (i, j) order, and
    only to it. A training forward keeps that element's tap index (uint8 for up to 256 taps) for backward.
    """

    pad_value = -np.inf

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        """x (N, C, H, W) -> y (N, C, Ho, Wo)."""
        g, n = self.geometry, x.shape[0]
        source = self.windows_of(x)
        (_, _, rows0, cols0), *taps = g.offsets()
        index = np.min_scalar_type(g.taps - 1).type      # uint8 up to 256 taps
        y = np.empty((n, g.channels, g.out_height, g.out_width), x.dtype)
        argmax = np.empty(y.shape, index) if training else None
        if self.compiled_2x2(x):
            indexes = np.empty(y.shape, np.uint8) if argmax is None else argmax
            over_batch(lambda s: pooling.max_pool_2x2(x[s], y[s], indexes[s]), n, x.size)
            self.argmax = argmax
            return y

        def pool(samples: slice) -> None:
            src, best = source(samples), y[samples]
            np.copyto(best, src[:, :, rows0, cols0])
            if argmax is None:                          # inference: the maximum alone
                for _, _, rows, cols in taps:
                    np.maximum(best, src[:, :, rows, cols], out=best)
                return
            arg = argmax[samples]
            arg.fill(0)
            greater, candidate = np.empty(best.shape, bool), np.empty(best.shape, index)
            view = np.empty_like(best)
            for k, (_, _, rows, cols) in enumerate(taps, start=1):
                # one strided copy, then two comparisons on contiguous arrays: cheaper than comparing
                # the strided tap twice (NumPy's SIMD loops want contiguous operands)
                np.copyto(view, src[:, :, rows, cols])
                np.greater(view, best, out=greater)     # strictly: an equal later element never wins
                # arg = k where greater, else unchanged. As k exceeds every earlier index, that is
                # max(arg, k * greater): no branches (a masked copy mispredicts on random data)
                np.multiply(greater, index(k), out=candidate)
                np.maximum(arg, candidate, out=arg)
                np.maximum(best, view, out=best)

        over_batch(pool, n, x.size)
        self.argmax = argmax
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        """dy (N, C, Ho, Wo) -> dx (N, C, H, W): dy goes to each window's first maximal element."""
        argmax = self.argmax
        if self.compiled_2x2(dy) and argmax.dtype == np.uint8:
            dx = np.empty((dy.shape[0], *self.in_shape), dy.dtype)
            zero = dy.dtype.type(0)
            over_batch(lambda s: pooling.max_pool_2x2_backward(dy[s], argmax[s], zero, dx[s]), dy.shape[0], dx.size)
            self.argmax = None
            return dx

        def tap_gradient(k: int, samples: slice, out: np.ndarray) -> None:
            np.multiply(argmax[samples] == k, dy[samples], out=out)

        dx = self.scatter(dy, tap_gradient)
        self.argmax = None
        return dx

    def compiled_2x2(self, array: np.ndarray) -> bool:
        """True when the compiled 2x2 kernels run for this contiguous input or gradient (nnctl.kernels)."""
        g = self.geometry
        return g.tiles and g.kernel == (2, 2) and array.flags.c_contiguous and backend.active()

    def kinks(self) -> bool:
        return True


class AvgPool2D(Pool2D):
    """y[n, c, ho, wo] = mean of the kh*kw window; padded zeros count (the divisor is always kh*kw)."""

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        """x (N, C, H, W) -> y (N, C, Ho, Wo)."""
        g, n = self.geometry, x.shape[0]
        source = self.windows_of(x)
        (_, _, rows0, cols0), *taps = g.offsets()
        y = np.empty((n, g.channels, g.out_height, g.out_width), x.dtype)
        scale = x.dtype.type(1.0 / g.taps)

        def pool(samples: slice) -> None:
            src, total = source(samples), y[samples]
            np.copyto(total, src[:, :, rows0, cols0])
            for _, _, rows, cols in taps:
                total += src[:, :, rows, cols]
            total *= scale

        over_batch(pool, n, x.size)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        """dy (N, C, Ho, Wo) -> dx (N, C, H, W): each window element receives dy / (kh*kw)."""
        scale = dy.dtype.type(1.0 / self.geometry.taps)
        return self.scatter(dy, lambda k, samples, out: np.multiply(dy[samples], scale, out=out))


class GlobalAvgPool(Layer):
    """(N, C, H, W) -> (N, C): the mean of each channel;  dx = dy / (H*W) spread over the channel."""

    def output_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 3:
            raise ValueError(f"expected (channels, height, width) inputs, got shape {tuple(in_shape)}")
        return (in_shape[0],)

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        n, c = x.shape[:2]
        return x.reshape(n, c, -1).mean(axis=2)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        c, h, w = self.in_shape
        dx = np.empty((dy.shape[0], c, h, w), dy.dtype)
        dx.reshape(dy.shape[0], c, h * w)[...] = (dy * (1.0 / (h * w)))[:, :, None]
        return dx

"""Sliding-window geometry, reusable work arrays, and im2col/col2im: a convolution as one GEMM.

Array layouts (NCHW data; K = C*kh*kw kernel taps, P = Ho*Wo output positions):

    x         (N, C, H, W)              the layer input
    padded    (C, N, Hp, Wp)            channel-major copy with a zero border
    columns   (C, kh, kw, N, Ho, Wo)    == a (K, N*P) matrix; row (c, i, j), column (n, ho, wo) holds
                                        padded[c, n, ho*sh + i*dh, wo*sw + j*dw]

Why channel-major: with (K, N*P) columns the forward pass W (F, K) @ columns and the weight gradient
columns @ dy.T are plain 2-D GEMMs over the whole batch, and every copy in im2col/col2im moves runs of
whole output rows between arrays stored in the same (channel, sample) order. The price is one transpose
of the (small) input on the way in and of the gradient on the way out. The copies and additions run on
chunks of samples in parallel threads (workers.py); only the kh*kw taps are a Python loop.
Stride-1 layers that keep the width use the faster shift form in im2col_shift.py instead.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from nnctl.layers.base import BuildError
from nnctl.workers import over_batch
from nnctl.limits import MAX_KERNEL_TAPS


def pair(value: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """An int or an (h, w) pair as an (h, w) tuple of ints."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    h, w = value
    return int(h), int(w)


def show_pair(value, square: bool = True) -> str:
    """How a pair reads in `describe()`: '3x3' (or '3' when square=True and h == w), '1x2'."""
    h, w = pair(value)
    return str(h) if square and h == w else f"{h}x{w}"


def same_padding(kernel: tuple[int, int], stride: tuple[int, int],
                 dilation: tuple[int, int]) -> tuple[int, int]:
    """The padding that keeps H and W unchanged: (extent - 1) / 2 per axis, where extent = d*(k-1) + 1.

    Exists only for stride 1 and an odd extent; otherwise raises ValueError.
    """
    if stride != (1, 1):
        raise ValueError(f"padding 'same' needs stride 1, got stride {stride[0]}x{stride[1]}")
    extent = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(e % 2 == 0 for e in extent):
        raise ValueError(f"padding 'same' needs an odd kernel extent, got kernel {kernel[0]}x{kernel[1]} "
                         f"with dilation {dilation[0]}x{dilation[1]} (extent {extent[0]}x{extent[1]})")
    return (extent[0] - 1) // 2, (extent[1] - 1) // 2


class Window:
    """Where a (kh, kw) window with stride, padding and dilation lands on a (C, H, W) input.

    Output size per axis: (size + 2*pad - extent) // stride + 1 with extent = dilation*(kernel - 1) + 1.
    Raises ValueError when the input is not (C, H, W) or the window does not fit in the padded input, and
    BuildError for more than MAX_KERNEL_TAPS taps or padding wider than the input itself (the extra
    output rows and columns would see nothing but padding).
    """

    def __init__(self, in_shape: tuple[int, ...], kernel, stride=1, padding=0, dilation=1):
        if len(in_shape) != 3:
            raise ValueError(f"expected (channels, height, width) inputs, got shape {tuple(in_shape)}")
        self.channels, self.height, self.width = (int(s) for s in in_shape)
        self.kernel, self.stride = pair(kernel), pair(stride)
        self.padding, self.dilation = pair(padding), pair(dilation)
        (kh, kw), (dh, dw), (ph, pw) = self.kernel, self.dilation, self.padding
        self.padded_height, self.padded_width = self.height + 2 * ph, self.width + 2 * pw
        self.extent = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
        if kh * kw > MAX_KERNEL_TAPS:
            raise BuildError(f"kernel {kh}x{kw} has {kh * kw} taps, more than the limit of {MAX_KERNEL_TAPS}",
                             key="kernel")
        if ph > self.height or pw > self.width:
            raise BuildError(f"padding {ph}x{pw} is wider than the {self.height}x{self.width} input it pads",
                             key="padding")
        if self.extent[0] > self.padded_height or self.extent[1] > self.padded_width:
            spans = "" if self.extent == self.kernel else f" (spanning {self.extent[0]}x{self.extent[1]} dilated)"
            raise ValueError(f"kernel {kh}x{kw}{spans} is larger than the padded input "
                             f"{self.padded_height}x{self.padded_width}")
        self.out_height = (self.padded_height - self.extent[0]) // self.stride[0] + 1
        self.out_width = (self.padded_width - self.extent[1]) // self.stride[1] + 1

    @property
    def taps(self) -> int:
        """Kernel offsets per window: kh*kw."""
        return self.kernel[0] * self.kernel[1]

    @property
    def tiles(self) -> bool:
        """True when the windows partition the input exactly (kernel == stride, no padding or dilation,
        sizes divisible): each input element then lies in exactly one window."""
        return (self.kernel == self.stride and self.padding == (0, 0) and self.dilation == (1, 1)
                and self.height % self.kernel[0] == 0 and self.width % self.kernel[1] == 0)

    def offsets(self):
        """For each kernel offset (i, j) in row-major order: (i, j, rows, cols), the slices of the padded
        input that this tap reads at every output position (each selects Ho rows and Wo columns)."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        row_span, col_span = sh * (self.out_height - 1) + 1, sw * (self.out_width - 1) + 1
        for i in range(kh):
            for j in range(kw):
                yield i, j, slice(i * dh, i * dh + row_span, sh), slice(j * dw, j * dw + col_span, sw)

    def interior(self) -> tuple[slice, slice]:
        """The slices of the padded input that hold the original image."""
        (ph, pw) = self.padding
        return slice(ph, ph + self.height), slice(pw, pw + self.width)


class Scratch:
    """Named work arrays kept between calls and reused while shape and dtype repeat.

    Allocating tens of MB afresh for every batch costs page faults and zeroing; reusing them does not.
    A new batch size or dtype allocates a new array (and frees the old one).
    """

    def __init__(self):
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype, fill: float | None = None) -> np.ndarray:
        """The array called `name` with this shape and dtype. `fill` initializes a newly allocated array
        only, so a padded buffer's border keeps its value while callers rewrite the interior."""
        array = self.arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            self.arrays.pop(name, None)
            array = np.empty(shape, dtype) if fill is None else np.full(shape, fill, dtype)
            self.arrays[name] = array
        return array


class ColumnForm:
    """What both forms of im2col share: the Window, a Scratch of work arrays, and the columns array.

    With `ones_row` the columns get a last row of ones: one product with [W | b] then adds the bias, and
    dy @ columns.T yields db beside dW."""

    def __init__(self, window: Window, ones_row: bool = False):
        self.window = window
        self.scratch = Scratch()
        self.ones_row = ones_row

    def grid(self, flat: np.ndarray) -> np.ndarray:
        """A contiguous (K, N*P) array as its (C, kh, kw, N, Ho, Wo) view."""
        w = self.window
        return flat.reshape(w.channels, *w.kernel, -1, w.out_height, w.out_width)

    def column_buffer(self, n: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        """The columns work array (K [+ 1], N*P) for n samples, and its first K rows as a `grid`."""
        w = self.window
        taps = w.channels * w.taps
        buffer = self.scratch.get("columns", (taps + self.ones_row, n * w.out_height * w.out_width), dtype)
        if self.ones_row:
            buffer[taps] = 1
        return buffer, self.grid(buffer[:taps])


class Im2Col(ColumnForm):
    """im2col and col2im for any Window, through a zero-padded channel-major copy of the input."""

    def _padded_shape(self, n: int) -> tuple[int, int, int, int]:
        w = self.window
        return w.channels, n, w.padded_height, w.padded_width

    def columns(self, x: np.ndarray) -> np.ndarray:
        """x (N, C, H, W) -> columns (K, N*Ho*Wo), plus a row of ones with `ones_row`. The result is a work
        array: valid until the next call."""
        w, n = self.window, x.shape[0]
        padded = self.scratch.get("padded", self._padded_shape(n), x.dtype, fill=0)
        buffer, columns = self.column_buffer(n, x.dtype)
        s_c, s_n, s_h, s_w = padded.strides
        (sh, sw), (dh, dw) = w.stride, w.dilation
        taps = as_strided(padded, columns.shape, (s_c, dh * s_h, dw * s_w, s_n, sh * s_h, sw * s_w),
                          writeable=False)
        rows, cols = w.interior()

        def fill(samples: slice) -> None:
            padded[:, samples, rows, cols] = x[samples].transpose(1, 0, 2, 3)
            np.copyto(columns[:, :, :, samples], taps[:, :, :, samples])

        over_batch(fill, n, columns.size)
        return buffer

    def image(self, dcolumns: np.ndarray) -> np.ndarray:
        """col2im, the adjoint of `columns`: dcolumns (K, N*Ho*Wo) (contiguous, no ones row) -> dx (N, C, H, W),
        a new array.

        Every tap adds its (C, N, Ho, Wo) slab onto the padded gradient; the border is then cut off.
        """
        w = self.window
        n = dcolumns.shape[1] // (w.out_height * w.out_width)
        taps = self.grid(dcolumns)
        padded = self.scratch.get("dpadded", self._padded_shape(n), dcolumns.dtype)
        dx = np.empty((n, w.channels, w.height, w.width), dcolumns.dtype)
        offsets, (rows, cols) = list(w.offsets()), w.interior()

        def fold(samples: slice) -> None:
            part = padded[:, samples]
            part.fill(0)
            for i, j, tap_rows, tap_cols in offsets:
                part[:, :, tap_rows, tap_cols] += taps[:, i, j, samples]
            np.copyto(dx[samples], part[:, :, rows, cols].transpose(1, 0, 2, 3))

        over_batch(fold, n, taps.size)
        return dx

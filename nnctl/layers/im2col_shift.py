"""im2col/col2im for stride-1 convolutions that keep the width (3x3 pad 1, 5x5 pad 2, ...): taps as shifts.

When the stride is 1 and Wo == W, output position p = ho*W + wo of a sample reads, for kernel tap (i, j),
the input element at flat position q = p + s with s = (i*dh - ph)*W + (j*dw - pw) of that sample's
(H*W) image. So each tap is one shift of whole flattened images: one copy (im2col) or one addition
(col2im) per (channel, sample) run of about H*W elements, instead of one per output row of Wo elements,
and no padded copy of the input is needed. Positions whose input lies in the padding are handled apart:
    rows above or below the image   fall outside the range [lo, hi) where 0 <= p + s < H*W: left at 0
                                    in the columns, skipped by col2im;
    columns left or right of it     p + s wraps into the neighbouring row: those entries (wo < pw - j*dw
                                    or wo >= W + pw - j*dw) are set to 0 in the columns, and in the
                                    column gradient before it is added back.

Layouts as in im2col.py: columns (C, kh, kw, N, Ho, Wo) == a (K, N*P) matrix; x and dx (N, C, H, W).
"""

from __future__ import annotations

import numpy as np

from nnctl.layers.im2col import ColumnForm, Window
from nnctl.workers import over_batch


class ShiftIm2Col(ColumnForm):
    """im2col and col2im for one Window with stride 1 and out_width == width (see `fits`)."""

    @staticmethod
    def fits(window: Window) -> bool:
        return window.stride == (1, 1) and window.out_width == window.width

    def __init__(self, window: Window, ones_row: bool = False):
        if not self.fits(window):
            raise ValueError("ShiftIm2Col needs stride 1 and an output as wide as the input")
        super().__init__(window, ones_row)
        g = window
        positions, size = g.out_height * g.out_width, g.height * g.width
        (kh, kw), (dh, dw), (ph, pw) = g.kernel, g.dilation, g.padding
        self.taps = []          # (i, j, s, lo, hi, wrap): wrap is a column slice of the (Ho, Wo) output
        for i in range(kh):
            for j in range(kw):
                column_shift = j * dw - pw
                s = (i * dh - ph) * g.width + column_shift
                lo, hi = max(0, -s), min(positions, size - s)
                if column_shift < 0:
                    wrap = slice(0, -column_shift)
                elif column_shift > 0:
                    wrap = slice(g.width - column_shift, g.width)
                else:
                    wrap = None
                self.taps.append((i, j, s, lo, max(lo, hi), wrap))
        # col2im assigns the tap that reads the most positions, then adds the others
        first = max(self.taps, key=lambda tap: tap[4] - tap[3])
        self.fold_order = [first] + [tap for tap in self.taps if tap is not first]

    def columns(self, x: np.ndarray) -> np.ndarray:
        """x (N, C, H, W) -> columns (K, N*Ho*Wo), plus a row of ones with `ones_row`. The result is a work
        array: valid until the next call."""
        g, n = self.window, x.shape[0]
        buffer, grid = self.column_buffer(n, x.dtype)
        columns = grid.reshape(g.channels, *g.kernel, n, -1)            # (C, kh, kw, N, Ho*Wo)
        source = x.reshape(n, g.channels, -1).transpose(1, 0, 2)        # (C, N, H*W)

        def fill(samples: slice) -> None:
            for i, j, s, lo, hi, wrap in self.taps:
                tap = columns[:, i, j, samples]
                tap[:, :, :lo] = 0
                np.copyto(tap[:, :, lo:hi], source[:, samples, lo + s:hi + s])
                tap[:, :, hi:] = 0
                if wrap is not None:
                    grid[:, i, j, samples, :, wrap] = 0

        over_batch(fill, n, columns.size)
        return buffer

    def image(self, dcolumns: np.ndarray) -> np.ndarray:
        """col2im, the adjoint of `columns`: dcolumns (K, N*Ho*Wo) (contiguous, no ones row) -> dx (N, C, H, W),
        a new array. Overwrites the wrapped entries of dcolumns with zeros."""
        g = self.window
        n = dcolumns.shape[1] // (g.out_height * g.out_width)
        grid = self.grid(dcolumns)
        taps = grid.reshape(g.channels, *g.kernel, n, -1)                # (C, kh, kw, N, Ho*Wo)
        total = self.scratch.get("total", (g.channels, n, g.height * g.width), dcolumns.dtype)
        dx = np.empty((n, g.channels, g.height, g.width), dcolumns.dtype)

        def fold(samples: slice) -> None:
            part = total[:, samples]
            for k, (i, j, s, lo, hi, wrap) in enumerate(self.fold_order):
                if wrap is not None:
                    grid[:, i, j, samples, :, wrap] = 0
                shifted = taps[:, i, j, samples, lo:hi]
                if k == 0:
                    part[:, :, :lo + s] = 0
                    np.copyto(part[:, :, lo + s:hi + s], shifted)
                    part[:, :, hi + s:] = 0
                else:
                    part[:, :, lo + s:hi + s] += shifted
            np.copyto(dx[samples].reshape(-1, g.channels, g.height * g.width), part.transpose(1, 0, 2))

        over_batch(fold, n, taps.size)
        return dx

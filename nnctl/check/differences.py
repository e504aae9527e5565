"""Centered differences at two step sizes, and what they say about their own accuracy.

For each checked entry x_i of a tensor, f is evaluated at x_i - 2h, x_i - h, x_i + h and x_i + 2h (h is
`eps`; f at the unperturbed point once for the tensor). From these five values:

    gradient     D(h)  = (f(x+h) - f(x-h)) / 2h          the numeric derivative that is compared
    wide         D(2h) = (f(x+2h) - f(x-2h)) / 4h        the same with twice the step
    spread       |D(h) - D(2h)|                           how far D(h) can be trusted (see below)
    slope_jump   |f(x+2h) - 4f(x+h) + 6f(x) - 4f(x-h) + f(x-2h)| / 2h
    one_sided    the lowest and highest of the slopes (f(x+kh) - f(x)) / kh, k = -2, -1, 1, 2

Why the spread measures the error of D(h): rounding makes f uncertain by some r (many units in the last
place of f, depending on how f is computed), so D(h) is off by about r/h and D(2h) by about r/2h, with
independent signs; truncation makes D(h) off by h^2 f'''/6 and D(2h) by four times that. Either way the
two disagree by about as much as D(h) is off. The spread of a single entry can be small by chance (the
two rounding errors happening to agree), which is why the verdict pools it over a tensor (gradcheck.py).

Why the slope jump finds kinks: for a smooth f the fourth difference is h^4 f'''' plus rounding, so the
slope jump is at the rounding level; when the derivative jumps by s somewhere within the steps (a ReLU
input crossing 0, a tie in a max), it is of the order of |s| (at least s/2 when the jump lies within h/2
of x, exactly where D(h) and D(2h) are wrong by the same amount and the spread cannot see it). There the
one-sided slopes still say what a correct gradient may be: a value between the derivatives on either side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

OFFSETS = (-2, -1, 1, 2)     # the steps, in units of h, at which f is evaluated around each entry


@dataclass
class Differences:
    """f around each of n checked entries: `values` (4, n) at x - 2h, x - h, x + h, x + 2h, `center` f(x),
    and `steps` (4, n), the displacements the entries really had (x + h rounds in floating point; dividing
    by the step taken rather than the step asked for removes that error, which grows with |x|)."""

    eps: float
    center: float
    values: np.ndarray
    steps: np.ndarray

    @property
    def gradient(self) -> np.ndarray:
        """D(h): (n,)"""
        return (self.values[2] - self.values[1]) / (self.steps[2] - self.steps[1])

    @property
    def wide(self) -> np.ndarray:
        """D(2h): (n,)"""
        return (self.values[3] - self.values[0]) / (self.steps[3] - self.steps[0])

    @property
    def spread(self) -> np.ndarray:
        """|D(h) - D(2h)|: (n,)"""
        return np.abs(self.gradient - self.wide)

    @property
    def one_sided(self) -> tuple[np.ndarray, np.ndarray]:
        """(lowest, highest) of the four one-sided slopes (f(x+kh) - f(x)) / kh, k = -2, -1, 1, 2: (n,) each.
        At a kink every value between the derivatives on its two sides is a valid (sub)gradient, and these
        slopes bracket them."""
        slopes = (self.values - self.center) / self.steps
        return slopes.min(axis=0), slopes.max(axis=0)

    @property
    def slope_jump(self) -> np.ndarray:
        """|fourth difference| / 2h: (n,)"""
        m2, m1, p1, p2 = self.values
        return np.abs(p2 - 4 * p1 + 6 * self.center - 4 * m1 + m2) / (2 * self.eps)


def differences(f: Callable[[], float], array: np.ndarray, eps: float,
                indices: Sequence[int] | np.ndarray) -> Differences:
    """Evaluate f around the entries of `array` at flat (C-order) `indices`.

    `array` is perturbed in place, one entry at a time, and each entry is restored to its exact old value
    (the step actually taken, stored value minus old value, is recorded); `f` takes no arguments and must
    read `array`.
    """
    values = np.empty((len(OFFSETS), len(indices)), dtype=np.float64)
    steps = np.empty_like(values)
    center = float(f())
    for k, i in enumerate(indices):
        where = np.unravel_index(int(i), array.shape)
        old = array[where].copy()
        for row, offset in enumerate(OFFSETS):
            array[where] = old + offset * eps
            steps[row, k] = float(array[where]) - float(old)
            values[row, k] = f()
        array[where] = old
    return Differences(eps, center, values, steps)


def numeric_gradient(f: Callable[[], float], array: np.ndarray, eps: float,
                     indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Centered differences (f() with a_i + eps  -  f() with a_i - eps) / (2 eps).

    `array` is perturbed in place and restored exactly, as in `differences`. Returns the gradient shaped like
    `array` when `indices` is None, else a 1-D array aligned with them.
    """
    flat = range(array.size) if indices is None else indices
    out = np.empty(len(flat), dtype=np.float64)
    for k, i in enumerate(flat):
        where = np.unravel_index(int(i), array.shape)
        old = array[where].copy()
        array[where] = old + eps
        plus = f()
        array[where] = old - eps
        minus = f()
        array[where] = old
        out[k] = (plus - minus) / (2 * eps)
    return out.reshape(array.shape) if indices is None else out

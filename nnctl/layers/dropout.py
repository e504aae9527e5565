"""Inverted dropout: zero a random fraction of values during training, scale the rest up."""

from __future__ import annotations

import numpy as np

from nnctl.layers.base import Layer
from nnctl.config.spec import Float, Option


class Dropout(Layer):
    """x: (N, ...) -> y of the same shape.

    Training: each value is dropped (set to 0) with probability `p`, independently, and the kept ones
    are divided by (1 - p), so E[y] = x and evaluation needs no rescaling:
        keep = u >= p with u ~ Uniform[0, 1) drawn from `self.rng` (the run's generator, given at build)
        y = x * keep / (1 - p),   dx = dy * keep / (1 - p)
    Every output is exactly 0 or exactly x / (1 - p) (one rounding). Evaluation is the identity (y is x).

    `hold_mask`: when True, training forwards reuse the last mask (if its shape matches) instead of
    drawing a new one, so the layer is a fixed function of x; the gradient checker sets it. False by
    default.
    """

    options = {"p": Option(Float(0, 1, high_open=True), 0.5, "probability of dropping each value")}

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self.hold_mask = False
        self.keep: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.dropping = training and self.config["p"] > 0
        if not self.dropping:
            return x
        if not (self.hold_mask and self.keep is not None and self.keep.shape == x.shape):
            self.keep = self.rng.random(x.shape, dtype=self.dtype) >= self.dtype.type(self.config["p"])
        return self._apply(x)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        if not self.dropping:
            return dy
        dx = self._apply(dy)
        if not self.hold_mask:
            self.keep = None
        return dx

    def _apply(self, values: np.ndarray) -> np.ndarray:
        out = values * self.keep
        out /= out.dtype.type(1 - self.config["p"])
        return out

    def describe(self) -> str:
        return f"p {self.config['p']:g}"

"""Inverted dropout: zero a random fraction of values during training, scale the rest up."""

from __future__ import annotations

import numpy as np

from nnctl.layers.base import Layer
from nnctl.options.spec import Float, Option


class Dropout(Layer):
    """x: (N, ...) -> y of the same shape.

    Training: each value is dropped (set to 0) with probability `p`, independently, and the kept ones
    are divided by (1 - p), so E[y] = x and evaluation needs no rescaling:
        keep = u >= p with u ~ Uniform[0, 1) drawn from the generator given to `forward`
        y = x * keep / (1 - p),   dx = dy * keep / (1 - p)
    Every output is exactly 0 or exactly x / (1 - p) (one rounding). Evaluation is the identity (y is x).
    Two forwards given generators in the same state draw the same mask (the gradient checker relies on it).
    """

    options = {"p": Option(Float(0, 1, high_open=True), 0.5, "probability of dropping each value")}

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        self.keep: np.ndarray | None = None

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        self.dropping = training and self.config["p"] > 0
        if not self.dropping:
            return x
        if rng is None:
            raise ValueError(f"{self.name}: dropout in training needs a random generator")
        self.keep = rng.random(x.shape, dtype=self.dtype) >= self.dtype.type(self.config["p"])
        return self._apply(x)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        if not self.dropping:
            return dy
        dx = self._apply(dy)
        self.keep = None
        return dx

    def _apply(self, values: np.ndarray) -> np.ndarray:
        out = values * self.keep
        out /= out.dtype.type(1 - self.config["p"])
        return out

    def describe(self) -> str:
        return f"p {self.config['p']:g}"

"""Elementwise nonlinearities. Each keeps only what its backward needs.

All map (N, ...) -> (N, ...) with the same shape.
"""

from __future__ import annotations

import numpy as np

from nnctl.layers.base import Layer
from nnctl.spec import Float, Option


class ReLU(Layer):
    """y = max(x, 0);  dx = dy * [x > 0]  (the derivative at 0 is taken as 0)."""

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.mask = x > 0
        return np.maximum(x, 0)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = dy * self.mask
        self.mask = None
        return dx

    def kinks(self) -> bool:
        return True


class LeakyReLU(Layer):
    """y = x if x > 0 else slope * x;  dx = dy * (1 if x > 0 else slope)."""

    options = {"slope": Option(Float(0, 1), 0.01, "slope for negative inputs")}

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, x * self.dtype.type(self.config["slope"]))

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = np.where(self.mask, dy, dy * self.dtype.type(self.config["slope"]))
        self.mask = None
        return dx

    def kinks(self) -> bool:
        return True

    def describe(self) -> str:
        return f"slope {self.config['slope']:g}"


class Sigmoid(Layer):
    """y = 1 / (1 + e^-x), computed without overflow;  dx = dy * y * (1 - y)."""

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        # e^-|x| never overflows; pick the algebraically equal branch by sign.
        z = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = dy * self.y * (1 - self.y)
        self.y = None
        return dx


class Tanh(Layer):
    """y = tanh(x);  dx = dy * (1 - y^2)."""

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        self.y = np.tanh(x)
        return self.y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        dx = dy * (1 - self.y * self.y)
        self.y = None
        return dx

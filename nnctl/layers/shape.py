"""Layers that only rearrange values."""

from __future__ import annotations

import math

import numpy as np

from nnctl.layers.base import Layer, Shape


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...). A view when the input is contiguous; backward reshapes back."""

    def output_shape(self, in_shape: Shape) -> Shape:
        return (int(math.prod(in_shape)),)

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        return dy.reshape((dy.shape[0],) + tuple(self.in_shape))

"""Layers that only rearrange values."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnctl.options.spec import Mismatch, Option
from nnctl.layers.base import Layer, Shape


class Flatten(Layer):
    """(N, d1, d2, ...) -> (N, d1*d2*...). A view when the input is contiguous; backward reshapes back."""

    def output_shape(self, in_shape: Shape) -> Shape:
        return (int(math.prod(in_shape)),)

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        return dy.reshape((dy.shape[0],) + tuple(self.in_shape))


def _target_shape(value: Any) -> tuple[int, ...]:
    """A list of positive integers, at most one of them -1 (that size is inferred)."""
    what = "a list of positive integers (one of them may be -1), e.g. [1, 28, 28]"
    if not isinstance(value, (list, tuple)) or not value:
        raise Mismatch(what)
    if any(isinstance(v, bool) or not isinstance(v, int) or (v < 1 and v != -1) for v in value):
        raise Mismatch(what)
    if value.count(-1) > 1:
        raise Mismatch(what)
    return tuple(value)


class Reshape(Layer):
    """(N, *in_shape) -> (N, *shape), the same values in the same (C) order, e.g. a decoder's flat
    (784,) output back to an image (1, 28, 28). One entry of `shape` may be -1: it takes what is left.
    A view when the input is contiguous; backward reshapes dy back to the input shape."""

    options = {"shape": Option(_target_shape, doc="output shape per sample (without the batch axis), "
                                                  "e.g. [1, 28, 28]; one entry may be -1")}

    def output_shape(self, in_shape: Shape) -> Shape:
        size = int(math.prod(in_shape))
        shape = list(self.config["shape"])
        known = int(math.prod(v for v in shape if v != -1))
        if -1 in shape:
            if size % known:
                raise ValueError(f"cannot reshape {tuple(in_shape)} ({size} values) to {tuple(self.config['shape'])}: "
                                 f"{size} is not a multiple of {known}")
            shape[shape.index(-1)] = size // known
        elif known != size:
            raise ValueError(f"cannot reshape {tuple(in_shape)} ({size} values) to {tuple(shape)} ({known} values)")
        return tuple(shape)

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        return x.reshape((x.shape[0],) + self.out_shape)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        return dy.reshape((dy.shape[0],) + tuple(self.in_shape))

    def describe(self) -> str:
        return "to " + "x".join(map(str, self.out_shape))

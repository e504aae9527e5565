"""Layers that combine several earlier nodes (`inputs: [a, b, ...]` in YAML): branches meet here."""

from __future__ import annotations

import numpy as np

from nnctl.layers.base import Layer, Shape


class Concat(Layer):
    """Join inputs along the feature (channel) axis: (N, D1), (N, D2) -> (N, D1 + D2), or images
    (N, C1, H, W), (N, C2, H, W) -> (N, C1 + C2, H, W). All other axes must agree.
    Backward splits dy back into the inputs' parts."""

    arity = "many"

    def output_shape(self, in_shapes: list[Shape]) -> Shape:
        rest = {tuple(s[1:]) for s in in_shapes}
        if len({len(s) for s in in_shapes}) != 1 or len(rest) != 1:
            raise ValueError(f"concat needs inputs that differ only in their first axis, got "
                             f"{', '.join(str(tuple(s)) for s in in_shapes)}")
        return (sum(s[0] for s in in_shapes),) + rest.pop()

    def forward(self, xs: list[np.ndarray], training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        return np.concatenate(xs, axis=1)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> list[np.ndarray]:
        cuts = np.cumsum([s[0] for s in self.in_shape])[:-1]
        return [np.ascontiguousarray(part) for part in np.split(dy, cuts, axis=1)]

    def describe(self) -> str:
        return "along axis 1"


class Add(Layer):
    """Elementwise sum of inputs of one shape (a residual connection): y = x1 + x2 + ...;
    every input receives dy itself."""

    arity = "many"

    def output_shape(self, in_shapes: list[Shape]) -> Shape:
        if len({tuple(s) for s in in_shapes}) != 1:
            raise ValueError(f"add needs inputs of one shape, got {', '.join(str(tuple(s)) for s in in_shapes)}")
        return tuple(in_shapes[0])

    def forward(self, xs: list[np.ndarray], training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        y = xs[0] + xs[1]
        for x in xs[2:]:
            y += x
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> list[np.ndarray]:
        return [dy for _ in self.in_shape]

"""Weight initializers: how the first numbers of a weight matrix are drawn.

`fan_in` is the number of inputs feeding one output unit (D for a dense layer with W of shape (D, M);
C*kh*kw for a convolution), `fan_out` the number of outputs each input feeds.

- normal:  N(0, weight_scale^2)                       (the course's `weight_scale`, default 1e-2)
- xavier:  N(0, 2 / (fan_in + fan_out))               (Glorot & Bengio 2010, normal form)
- he:      N(0, 2 / fan_in)                           (He et al. 2015, for ReLU nets)
- lecun:   N(0, 1 / fan_in)                           (LeCun 1998, for tanh/SELU nets)
- zeros:   all zeros (to show why symmetric weights never learn)
"""

from __future__ import annotations

import math

import numpy as np

STD_RULES = {
    "he": lambda fan_in, fan_out, weight_scale: math.sqrt(2.0 / fan_in),
    "xavier": lambda fan_in, fan_out, weight_scale: math.sqrt(2.0 / (fan_in + fan_out)),
    "lecun": lambda fan_in, fan_out, weight_scale: math.sqrt(1.0 / fan_in),
    "normal": lambda fan_in, fan_out, weight_scale: float(weight_scale),
    "zeros": lambda fan_in, fan_out, weight_scale: 0.0,
}
INITIALIZERS = tuple(STD_RULES)


def init_std(method: str, fan_in: int, fan_out: int, weight_scale: float) -> float:
    """The standard deviation each initializer draws with (0.0 for zeros)."""
    if method not in STD_RULES:
        raise ValueError(f"unknown initializer {method!r}")
    return STD_RULES[method](fan_in, fan_out, weight_scale)


def init_weights(method: str, shape: tuple[int, ...], fan_in: int, fan_out: int, weight_scale: float,
                 rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """An array of `shape` drawn by `method` from `rng` (drawn in float64, then cast, so float32 and
    float64 networks built from the same seed start from the same numbers up to rounding)."""
    std = init_std(method, fan_in, fan_out, weight_scale)
    if std == 0.0:
        return np.zeros(shape, dtype=dtype)
    return (rng.standard_normal(shape) * std).astype(dtype, copy=False)

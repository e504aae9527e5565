"""Fully connected (affine) layer: y = x W + b."""

from __future__ import annotations

import math

import numpy as np

from nnctl.layers.init import INITIALIZERS, init_weights
from nnctl.layers.base import Layer, Shape
from nnctl.options.spec import Bool, Choice, Float, Int, Option


class Dense(Layer):
    """x: (N, D) -> y: (N, M) with W: (D, M), b: (M,).

    Backward: dW = x^T dy, db = sum_n dy, dx = dy W^T. Inputs with more than one feature axis are
    rejected at build time (put a `flatten` layer first).
    """

    options = {
        "units": Option(Int(1), doc="number of output units M"),
        "init": Option(Choice(*INITIALIZERS), "he", "weight initializer"),
        "weight_scale": Option(Float(0, low_open=True), 1e-2, "std for init: normal"),
        "bias": Option(Bool(), True, "learn a bias vector"),
    }
    penalized = ("W",)
    size_key = "units"

    def output_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) != 1:
            raise ValueError(f"dense expects flat inputs, got shape {tuple(in_shape)}; add a flatten layer first")
        return (self.config["units"],)

    def param_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        m = self.config["units"]
        return {"W": (in_shape[0], m), **({"b": (m,)} if self.config["bias"] else {})}

    def create_params(self, rng: np.random.Generator) -> None:
        d, m = self.in_shape[0], self.config["units"]
        self.params["W"] = init_weights(self.config["init"], (d, m), d, m, self.config["weight_scale"], rng,
                                        self.dtype)
        if self.config["bias"]:
            self.params["b"] = np.zeros(m, dtype=self.dtype)

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        self.x = x
        y = np.matmul(x, self.params["W"])
        if "b" in self.params:
            y += self.params["b"]
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        np.matmul(self.x.T, dy, out=self.grad_buffer("W"))
        if "b" in self.params:
            dy.sum(axis=0, out=self.grad_buffer("b"))
        self.x = None
        return dy @ self.params["W"].T if need_input_grad else None

    def macs(self) -> int:
        return int(math.prod(self.in_shape)) * self.config["units"]

    def describe(self) -> str:
        return f"{self.config['units']} units, init {self.config['init']}"

"""Elementwise nonlinearities. Each keeps only what its backward needs.

All map (N, ...) -> (N, ...) with the same shape.
"""

from __future__ import annotations

import math

import numpy as np

from nnctl.kernels import activations as fused
from nnctl.kernels import backend
from nnctl.layers.base import Layer, Shape
from nnctl.workers import over_batch
from nnctl.options.spec import Bool, Float, Option


class ReLU(Layer):
    """y = max(x, 0);  dx = dy * [y > 0]  (the derivative at 0 is taken as 0).

    Keeps its output as the mask; large batches are split over threads (see nnctl.workers). With compiled
    kernels on, each pass is one loop (nnctl.kernels.activations), same numbers.
    """

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        y = np.empty_like(x)
        zero = x.dtype.type(0)
        if backend.active() and x.flags.c_contiguous:
            flat_x, flat_y = x.reshape(x.shape[0], -1), y.reshape(y.shape[0], -1)
            over_batch(lambda s: fused.relu_forward(flat_x[s].reshape(-1), zero, flat_y[s].reshape(-1)),
                       x.shape[0], x.size)
        else:
            over_batch(lambda s: np.maximum(x[s], zero, out=y[s]), x.shape[0], x.size)
        self.y = y
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        y, dx = self.y, np.empty_like(dy)
        zero = y.dtype.type(0)
        if backend.active() and dy.flags.c_contiguous:
            flat = [a.reshape(a.shape[0], -1) for a in (dy, y, dx)]
            one = y.dtype.type(1)
            over_batch(lambda s: fused.relu_backward(*(a[s].reshape(-1) for a in flat[:2]), zero, one,
                                                     flat[2][s].reshape(-1)), dy.shape[0], dy.size)
        else:
            over_batch(lambda s: np.multiply(dy[s], y[s] > zero, out=dx[s]), dy.shape[0], dy.size)
        self.y = None
        return dx

    def kinks(self) -> bool:
        return True


class LeakyReLU(Layer):
    """y = x if x > 0 else slope * x;  dx = dy * (1 if x > 0 else slope)."""

    options = {"slope": Option(Float(0, 1), 0.01, "slope for negative inputs")}

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        self.mask = x > 0
        return np.where(self.mask, x, x * self.dtype.type(self.config["slope"]))

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        dx = np.where(self.mask, dy, dy * self.dtype.type(self.config["slope"]))
        self.mask = None
        return dx

    def kinks(self) -> bool:
        return True

    def describe(self) -> str:
        return f"slope {self.config['slope']:g}"


class Sigmoid(Layer):
    """y = 1 / (1 + e^-x), computed without overflow;  dx = dy * y * (1 - y)."""

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        # e^-|x| never overflows; pick the algebraically equal branch by sign.
        z = np.exp(-np.abs(x))
        self.y = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
        return self.y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        dx = dy * self.y * (1 - self.y)
        self.y = None
        return dx


class Tanh(Layer):
    """y = tanh(x);  dx = dy * (1 - y^2)."""

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        self.y = np.tanh(x)
        return self.y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        dx = dy * (1 - self.y * self.y)
        self.y = None
        return dx


class PReLU(Layer):
    """y = x if x > 0 else alpha * x, with alpha learned (He et al. 2015).

    alpha: (1,) when `shared`, else one per feature / channel: (C,) for inputs (N, C, ...), broadcast over
    the trailing axes. Starts at `init`. dx = dy * (1 if x > 0 else alpha); dalpha = sum dy * min(x, 0)
    over every axis alpha is shared across.
    """

    options = {
        "shared": Option(Bool(), False, "one alpha for all values (true) or one per feature/channel"),
        "init": Option(Float(), 0.25, "starting value of alpha"),
    }

    def param_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        return {"alpha": (1 if self.config["shared"] else in_shape[0],)}

    def create_params(self, rng: np.random.Generator) -> None:
        shared = self.config["shared"]
        size = 1 if shared else self.in_shape[0]
        self.broadcast: Shape = (1,) if shared else (size,) + (1,) * (len(self.in_shape) - 1)
        self.axes = None if shared else (0,) + tuple(range(2, len(self.in_shape) + 1))
        self.params["alpha"] = np.full(size, self.config["init"], dtype=self.dtype)

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        self.mask = x > 0
        self.negative = np.minimum(x, 0)
        y = self.negative * self.params["alpha"].reshape(self.broadcast)
        y += np.maximum(x, 0)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        alpha = self.params["alpha"].reshape(self.broadcast)
        self.grads["alpha"] = (dy * self.negative).sum(axis=self.axes).reshape(self.params["alpha"].shape)
        dx = np.where(self.mask, dy, dy * alpha)
        self.mask = self.negative = None
        return dx

    def kinks(self) -> bool:
        return True

    def describe(self) -> str:
        return f"{'shared' if self.config['shared'] else 'per-channel'} alpha, init {self.config['init']:g}"


class ELU(Layer):
    """y = x if x > 0 else alpha * (e^x - 1)  (Clevert et al. 2015);  dx = dy * (1 if x > 0 else y + alpha).

    e^x - 1 is computed by expm1 on min(x, 0), so large inputs never overflow. The derivative jumps at 0
    unless alpha = 1, and even then the second derivative does: kinks() is True.
    """

    options = {"alpha": Option(Float(0), 1.0, "scale of the negative saturation value")}

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        self.mask = x > 0
        negative = np.expm1(np.minimum(x, 0))
        negative *= self.dtype.type(self.config["alpha"])
        self.y = np.where(self.mask, x, negative)
        return self.y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        dx = np.where(self.mask, dy, dy * (self.y + self.dtype.type(self.config["alpha"])))
        self.mask = self.y = None
        return dx

    def kinks(self) -> bool:
        return True

    def describe(self) -> str:
        return f"alpha {self.config['alpha']:g}"


class GELU(Layer):
    """Gaussian error linear unit, tanh approximation (Hendrycks & Gimpel 2016):

        y = 0.5 x (1 + t),  t = tanh(c (x + k x^3)),  c = sqrt(2/pi), k = 0.044715
        dx = dy * (0.5 (1 + t) + 0.5 x (1 - t^2) c (1 + 3 k x^2))

    The approximation stays within 4.8e-4 of the exact x * Phi(x) (largest gap near x = -2.7); the
    gradient is the exact derivative of the approximation, so gradient checks hold to rounding.
    """

    C = math.sqrt(2 / math.pi)
    K = 0.044715

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        u = x * x
        u *= self.K
        u += 1
        u *= x
        u *= self.C
        self.x, self.t = x, np.tanh(u, out=u)
        y = self.t + 1
        y *= x
        y *= 0.5
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        x, t = self.x, self.t
        slope = x * x
        slope *= 3 * self.K
        slope += 1
        slope *= self.C
        slope *= x
        slope *= 1 - t * t
        slope += t
        slope += 1
        slope *= 0.5
        slope *= dy
        self.x = self.t = None
        return slope


class Softplus(Layer):
    """y = log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows;
    dx = dy * sigmoid(x), with sigmoid taken from the same e^-|x|."""

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        self.positive = x >= 0
        self.z = np.exp(-np.abs(x))
        y = np.log1p(self.z)
        y += np.maximum(x, 0)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        z = self.z
        sigmoid = np.where(self.positive, 1, z)
        sigmoid /= 1 + z
        self.positive = self.z = None
        return dy * sigmoid


class Identity(Layer):
    """y = x (the same array);  dx = dy. A placeholder, or the linear output of a regression net."""

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        return x

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        return dy

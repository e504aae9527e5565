"""The update rules: SGD, momentum, Nesterov, RMSProp, Adagrad, Adam, AdamW. What every step shares
(clipping, weight decay, flat buffers, state) is the base class's: nnctl.optim.optimizer."""

from __future__ import annotations

import math

import numpy as np

from nnctl.kernels import optimizers as fused
from nnctl.optim.optimizer import Optimizer, common_options
from nnctl.options.spec import Float, Option

MOMENTUM = Option(Float(0, 1, high_open=True), 0.9, "mu, the fraction of the velocity kept per step")
EPS = Option(Float(0, low_open=True), 1e-8, "added to the root for stability")


# ---------------------------------------------------------------------------------------------- rules

class SGD(Optimizer):
    """Plain gradient descent:  p -= lr * g.   No state but the step count."""

    passes = 3
    kernel = fused.sgd

    def update(self, param, grad, state, scratch, lr, scale):
        param -= np.multiply(grad, lr * scale, out=scratch)

    def fused_scalars(self, lr, scale, real):
        return (real(lr * scale),)


class Momentum(Optimizer):
    """SGD with momentum (cs231n):  v = mu * v - lr * g;  p += v.   State: v (starts at 0)."""

    options = {**common_options(1e-2),
               "momentum": MOMENTUM}
    slots = ("v",)
    kernel = fused.momentum

    def fused_scalars(self, lr, scale, real):
        return real(self.config["momentum"]), real(lr * scale)

    def update(self, param, grad, state, scratch, lr, scale):
        v = state["v"]
        v *= self.config["momentum"]
        v -= np.multiply(grad, lr * scale, out=scratch)
        param += v


class Nesterov(Optimizer):
    """Nesterov momentum in cs231n's form:  v_prev = v;  v = mu * v - lr * g;
    p += -mu * v_prev + (1 + mu) * v.   State: v (starts at 0).

    g is the gradient at the current p (the lookahead is folded into the change of variables). The last
    step is computed as the algebraically equal  p += mu * v - lr * g  with the new v: no copy of v_prev.
    """

    options = {**common_options(1e-2),
               "momentum": MOMENTUM}
    slots = ("v",)
    kernel = fused.nesterov

    def fused_scalars(self, lr, scale, real):
        return real(self.config["momentum"]), real(-lr * scale)

    def update(self, param, grad, state, scratch, lr, scale):
        mu, v, s = self.config["momentum"], state["v"], scratch
        np.multiply(grad, -lr * scale, out=s)      # s = -lr g
        v *= mu
        v += s                                     # v = mu v - lr g
        param += s
        param += np.multiply(v, mu, out=s)


class RMSProp(Optimizer):
    """RMSProp (cs231n):  cache = rho * cache + (1 - rho) * g^2;  p -= lr * g / (sqrt(cache) + eps).
    State: cache (starts at 0)."""

    options = {**common_options(1e-3),
               "rho": Option(Float(0, 1, high_open=True), 0.99, "decay rate of the squared-gradient cache"),
               "eps": EPS}
    slots = ("cache",)
    kernel = fused.rmsprop

    def fused_scalars(self, lr, scale, real):
        rho = self.config["rho"]
        return real(rho), real((1.0 - rho) * scale * scale), real(self.config["eps"]), real(lr * scale)

    def update(self, param, grad, state, scratch, lr, scale):
        rho, cache, s = self.config["rho"], state["cache"], scratch
        np.multiply(grad, grad, out=s)
        s *= (1.0 - rho) * scale * scale
        cache *= rho
        cache += s
        step_by_root_cache(param, grad, cache, s, self.config["eps"], lr * scale)


def step_by_root_cache(param, grad, cache, scratch, eps, factor) -> None:
    """param -= factor * grad / (sqrt(cache) + eps), in place, using `scratch` (shared by rmsprop, adagrad)."""
    np.sqrt(cache, out=scratch)
    scratch += eps
    np.divide(grad, scratch, out=scratch)
    scratch *= factor
    param -= scratch


class Adagrad(Optimizer):
    """Adagrad (cs231n):  cache += g^2;  p -= lr * g / (sqrt(cache) + eps).   State: cache (starts at 0)."""

    options = {**common_options(1e-2),
               "eps": EPS}
    slots = ("cache",)
    kernel = fused.adagrad

    def fused_scalars(self, lr, scale, real):
        return real(scale * scale), scale != 1.0, real(self.config["eps"]), real(lr * scale)

    def update(self, param, grad, state, scratch, lr, scale):
        cache, s = state["cache"], scratch
        np.multiply(grad, grad, out=s)
        if scale != 1.0:                           # a pass of its own here, so only when clipping
            s *= scale * scale
        cache += s
        step_by_root_cache(param, grad, cache, s, self.config["eps"], lr * scale)


class Adam(Optimizer):
    """Adam with bias correction (cs231n; Kingma & Ba 2015): running means m of g and v of g^2, corrected
    for their start at 0 (mt, vt), give  p -= lr * mt / (sqrt(vt) + eps).

        m = beta1 * m + (1 - beta1) * g          mt = m / (1 - beta1^t)
        v = beta2 * v + (1 - beta2) * g^2        vt = v / (1 - beta2^t)       t = 1 on the first step

    The update is computed as the equal  p -= (lr * sqrt(c2) / c1) * m / (sqrt(v) + eps * sqrt(c2))
    with c1 = 1 - beta1^t, c2 = 1 - beta2^t: one pass over memory fewer. State: m, v (start at 0), t.
    """

    options = {**common_options(1e-3),
               "beta1": Option(Float(0, 1, high_open=True), 0.9, "decay rate of the gradient mean m"),
               "beta2": Option(Float(0, 1, high_open=True), 0.999, "decay rate of the squared-gradient mean v"),
               "eps": EPS}
    slots = ("m", "v")

    passes = 12
    kernel = fused.adam

    def fused_scalars(self, lr, scale, real):
        beta1, beta2 = self.config["beta1"], self.config["beta2"]
        c1, root_c2 = 1.0 - beta1 ** self.t, math.sqrt(1.0 - beta2 ** self.t)
        return (real(beta1), real((1.0 - beta1) * scale), real(beta2), real((1.0 - beta2) * scale * scale),
                real(self.config["eps"] * root_c2), real(lr * root_c2 / c1))

    def update(self, param, grad, state, scratch, lr, scale):
        beta1, beta2 = self.config["beta1"], self.config["beta2"]
        m, v, s = state["m"], state["v"], scratch
        c1, root_c2 = 1.0 - beta1 ** self.t, math.sqrt(1.0 - beta2 ** self.t)
        m *= beta1
        m += np.multiply(grad, (1.0 - beta1) * scale, out=s)
        np.multiply(grad, grad, out=s)
        s *= (1.0 - beta2) * scale * scale
        v *= beta2
        v += s
        np.sqrt(v, out=s)
        s += self.config["eps"] * root_c2
        np.divide(m, s, out=s)
        s *= lr * root_c2 / c1
        param -= s


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): before each Adam update the weights
    (not biases or norm gains) shrink by  p -= lr * weight_decay * p;  the gradient gets no L2 term.
    Otherwise exactly Adam (same formulas, options and state)."""

    decoupled_decay = True

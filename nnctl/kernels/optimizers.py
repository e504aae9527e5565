"""Fused optimizer updates: one pass over a chunk of the flat parameter buffer per step, for every rule of
nnctl.optim.optimizers, weight decay included.

All arrays are 1-D and of one length (a chunk of the flat buffers): p the parameters, g the gradient (read
only), the rule's state slots, and `decays` (uint8, 1 where the element's key takes weight decay). Every
scalar arrives already in the arrays' dtype, computed in Python exactly as the NumPy path computes the
factors it multiplies by; each element then goes through the same float operations in the same order as
the NumPy rule's passes (written beside each line), so both paths give identical numbers (Numba without
fastmath neither reorders nor fuses them; tests/test_kernels_optim.py checks it bit for bit).

Weight decay (the base class's stage 2), where decays[i]:
    L2 (not decoupled):  g = p * l2 + g          with l2 = wd / scale   (the rule's scale undoes it)
    decoupled (adamw):   p = p * shrink          with shrink = 1 - lr * wd, before the rule
With no decay l2 = 0 and shrink = 1 and `decays` is all zeros.
"""

from __future__ import annotations

import numpy as np

from nnctl.kernels.backend import Kernel


def _sgd(p, g, decays, l2, shrink, decoupled, step):
    for i in range(p.size):
        gi, pi = g[i], p[i]
        if decays[i]:
            if decoupled:
                pi = pi * shrink
            else:
                gi = pi * l2 + gi
        p[i] = pi - gi * step                            # param -= grad * (lr * scale)


def _momentum(p, g, v, decays, l2, shrink, decoupled, mu, step):
    for i in range(p.size):
        gi, pi = g[i], p[i]
        if decays[i]:
            if decoupled:
                pi = pi * shrink
            else:
                gi = pi * l2 + gi
        vi = v[i] * mu - gi * step                       # v *= mu; v -= grad * (lr * scale)
        v[i] = vi
        p[i] = pi + vi                                   # param += v


def _nesterov(p, g, v, decays, l2, shrink, decoupled, mu, minus_step):
    for i in range(p.size):
        gi, pi = g[i], p[i]
        if decays[i]:
            if decoupled:
                pi = pi * shrink
            else:
                gi = pi * l2 + gi
        s = gi * minus_step                              # s = grad * (-lr * scale)
        vi = v[i] * mu + s                               # v *= mu; v += s
        v[i] = vi
        p[i] = (pi + s) + vi * mu                        # param += s; param += v * mu


def _rmsprop(p, g, cache, decays, l2, shrink, decoupled, rho, new_share, eps, step):
    for i in range(p.size):
        gi, pi = g[i], p[i]
        if decays[i]:
            if decoupled:
                pi = pi * shrink
            else:
                gi = pi * l2 + gi
        ci = cache[i] * rho + (gi * gi) * new_share      # s = g*g; s *= (1-rho) scale^2; cache *= rho; += s
        cache[i] = ci
        p[i] = pi - (gi / (np.sqrt(ci) + eps)) * step    # step_by_root_cache


def _adagrad(p, g, cache, decays, l2, shrink, decoupled, squared_scale, scaled, eps, step):
    for i in range(p.size):
        gi, pi = g[i], p[i]
        if decays[i]:
            if decoupled:
                pi = pi * shrink
            else:
                gi = pi * l2 + gi
        square = gi * gi                                 # s = g*g
        if scaled:
            square = square * squared_scale              # s *= scale^2 (only when clipping)
        ci = cache[i] + square                           # cache += s
        cache[i] = ci
        p[i] = pi - (gi / (np.sqrt(ci) + eps)) * step    # step_by_root_cache


def _adam(p, g, m, v, decays, l2, shrink, decoupled, beta1, new1, beta2, new2, eps, step):
    for i in range(p.size):
        gi, pi = g[i], p[i]
        if decays[i]:
            if decoupled:
                pi = pi * shrink
            else:
                gi = pi * l2 + gi
        mi = m[i] * beta1 + gi * new1                    # m *= b1; m += g * ((1-b1) scale)
        vi = v[i] * beta2 + (gi * gi) * new2             # s = g*g; s *= (1-b2) scale^2; v *= b2; v += s
        m[i] = mi
        v[i] = vi
        p[i] = pi - (mi / (np.sqrt(vi) + eps)) * step    # s = sqrt(v) + eps'; s = m / s; s *= lr'; p -= s


sgd = Kernel(_sgd)
momentum = Kernel(_momentum)
nesterov = Kernel(_nesterov)
rmsprop = Kernel(_rmsprop)
adagrad = Kernel(_adagrad)
adam = Kernel(_adam)


def warm(dtype) -> None:
    """Compile every update for 1-D arrays of `dtype` (nnctl.kernels.warmup)."""
    p, g, a, b = (np.ones(4, dtype) for _ in range(4))
    decays = np.zeros(4, np.uint8)
    one = dtype(1)
    sgd(p, g, decays, one, one, False, one)
    momentum(p, g, a, decays, one, one, False, one, one)
    nesterov(p, g, a, decays, one, one, False, one, one)
    rmsprop(p, g, a, decays, one, one, False, one, one, one, one)
    adagrad(p, g, a, decays, one, one, False, one, False, one, one)
    adam(p, g, a, b, decays, one, one, False, one, one, one, one, one, one)

"""Values of the activations at known points, their parameters' shapes, stability at huge inputs,
dtypes and kink flags. (Gradients: test_layers_gradients.py.)"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nnctl.nn.registry import LAYERS
from nnctl.options.spec import validate


def build(kind: str, in_shape: tuple, dtype=np.float64, **options):
    cls = LAYERS.lookup(kind, "test")
    layer = cls(kind, **validate(cls.options, options, "test"))
    layer.build(in_shape, np.random.default_rng(0), dtype)
    return layer


def run(kind: str, x, **options) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return build(kind, x.shape[1:], **options).forward(x, training=True)


def test_prelu_values_and_alpha_shapes():
    np.testing.assert_array_equal(run("prelu", [[-2.0, -0.5, 0.0, 1.5]]), [[-0.5, -0.125, 0.0, 1.5]])
    assert build("prelu", (3, 4, 4)).params["alpha"].shape == (3,)
    assert build("prelu", (5,)).params["alpha"].shape == (5,)
    assert build("prelu", (3, 4, 4), shared=True).params["alpha"].shape == (1,)


def test_prelu_alpha_is_per_channel_and_its_gradient_sums_negative_parts():
    layer = build("prelu", (2, 1, 2))
    layer.params["alpha"][...] = [0.5, 2.0]
    x = np.array([[[[-2.0, 4.0]], [[-2.0, -1.0]]]])
    y = layer.forward(x, training=True)
    np.testing.assert_array_equal(y, [[[[-1.0, 4.0]], [[-4.0, -2.0]]]])
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx, [[[[0.5, 1.0]], [[2.0, 2.0]]]])
    np.testing.assert_array_equal(layer.grads["alpha"], [-2.0, -3.0])


def test_elu_values_and_stability():
    y = run("elu", [[-1.0, 0.0, 2.5, -1000.0, 1000.0]], alpha=2.0)
    assert y[0, 0] == pytest.approx(2.0 * (math.exp(-1.0) - 1), rel=1e-15)
    np.testing.assert_array_equal(y[0, 1:], [0.0, 2.5, -2.0, 1000.0])


def test_gelu_tanh_approximation_stays_within_the_documented_gap_of_the_exact_gelu():
    x = np.linspace(-6, 6, 1201)
    y = run("gelu", x[None, :])[0]
    exact = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    gap = np.abs(y - exact)
    assert gap.max() <= 4.8e-4
    assert gap.max() >= 4.0e-4                        # it is the tanh form, not the exact one
    assert y[600] == 0.0                              # x = 0


def test_softplus_values_and_stability():
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # any overflow warning fails the test
        y = run("softplus", [[0.0, 1000.0, -1000.0, 1.0]])
    assert y[0, 0] == pytest.approx(math.log(2), rel=1e-15)       # NumPy's log1p: SIMD code on some processors
    assert y[0, 1] == 1000.0
    assert 0.0 <= y[0, 2] < 1e-300
    assert y[0, 3] == pytest.approx(math.log1p(math.e), rel=1e-15)


def test_huge_inputs_raise_no_warnings():
    x = np.array([[-1e4, -50.0, 50.0, 1e4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kind in ("prelu", "elu", "gelu", "softplus", "identity"):
            layer = build(kind, (4,))
            y = layer.forward(x, training=True)
            dx = layer.backward(np.ones_like(y))
            assert np.isfinite(y).all() and np.isfinite(dx).all(), kind


def test_identity_passes_arrays_through():
    layer = build("identity", (3,))
    x, dy = np.ones((2, 3)), np.zeros((2, 3))
    assert layer.forward(x, training=True) is x
    assert layer.backward(dy) is dy


@pytest.mark.parametrize("kind", ["prelu", "elu", "gelu", "softplus", "identity"])
def test_float32_in_float32_out(kind):
    layer = build(kind, (2, 3), dtype=np.float32)
    x = np.random.default_rng(1).standard_normal((4, 2, 3)).astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads.values())


def test_kink_flags():
    kinked = {kind: build(kind, (3,)).kinks() for kind in ("prelu", "elu", "gelu", "softplus", "identity",
                                                            "relu", "leaky_relu", "sigmoid", "tanh")}
    assert kinked == {"prelu": True, "elu": True, "gelu": False, "softplus": False, "identity": False,
                      "relu": True, "leaky_relu": True, "sigmoid": False, "tanh": False}

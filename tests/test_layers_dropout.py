"""Dropout: identity at evaluation; at training exact values 0 or x/(1-p), the kept share and the mean
preserved within a tolerance derived from the sample size; masks drawn from the generator given to
forward, so the same generator state gives the same mask."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.errors import ConfigError
from nnctl.nn.registry import LAYERS
from nnctl.options.spec import validate


def build(in_shape: tuple, seed: int = 0, dtype=np.float32, **options):
    cls = LAYERS.lookup("dropout", "test")
    layer = cls("dropout1", **validate(cls.options, options, "model.layers[0]"))
    layer.build(in_shape, np.random.default_rng(seed), dtype)
    return layer


def test_evaluation_is_the_identity():
    layer = build((3, 4), p=0.5)
    x = np.random.default_rng(1).standard_normal((5, 3, 4)).astype(np.float32)
    assert layer.forward(x, training=False) is x
    dy = np.ones_like(x)
    assert layer.backward(dy) is dy


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.9])
def test_training_values_are_exactly_zero_or_scaled_and_the_statistics_hold(p):
    n_rows, n_cols = 1000, 200
    n = n_rows * n_cols
    x = np.random.default_rng(2).uniform(0.5, 2.0, size=(n_rows, n_cols)).astype(np.float32)   # no zeros
    layer = build((n_cols,), p=p)
    y = layer.forward(x, training=True, rng=np.random.default_rng(3))
    assert y.dtype == np.float32
    scaled = x / np.float32(1 - p)
    kept = y != 0
    assert np.array_equal(y[kept], scaled[kept])
    assert np.all(y[~kept] == 0)

    # kept share ~ Binomial(n, 1 - p) / n: allow 5 standard deviations
    assert abs(kept.mean() - (1 - p)) <= 5 * math.sqrt(p * (1 - p) / n)
    # mean preserved: y_i - x_i has mean 0 and variance x_i^2 p / (1 - p)
    spread = math.sqrt(float(np.mean(x.astype(np.float64) ** 2)) * p / (1 - p) / n)
    assert abs(float(y.mean(dtype=np.float64)) - float(x.mean(dtype=np.float64))) <= 5 * spread


def test_backward_uses_the_forward_mask():
    layer = build((50,), p=0.4)
    x = np.random.default_rng(4).uniform(1, 2, size=(20, 50)).astype(np.float32)
    y = layer.forward(x, training=True, rng=np.random.default_rng(6))
    dy = np.random.default_rng(5).uniform(1, 2, size=(20, 50)).astype(np.float32)
    dx = layer.backward(dy)
    np.testing.assert_array_equal(dx == 0, y == 0)
    np.testing.assert_array_equal(dx[y != 0], (dy / np.float32(0.6))[y != 0])


def test_masks_come_from_the_generator_given_to_forward():
    layer = build((30,), p=0.5)
    x = np.ones((8, 30), dtype=np.float32)
    a = layer.forward(x, training=True, rng=np.random.default_rng(11))
    b = layer.forward(x, training=True, rng=np.random.default_rng(11))
    c = layer.forward(x, training=True, rng=np.random.default_rng(12))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    shared = np.random.default_rng(11)
    first, second = layer.forward(x, True, shared), layer.forward(x, True, shared)
    np.testing.assert_array_equal(first, a)
    assert not np.array_equal(first, second)           # one generator: the next mask is a new draw


def test_training_without_a_generator_is_refused():
    with pytest.raises(ValueError, match="dropout1: dropout in training needs a random generator"):
        build((30,), p=0.5).forward(np.ones((2, 30), dtype=np.float32), training=True)


def test_p_zero_is_the_identity_even_at_training():
    layer = build((6,), p=0.0)
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    assert layer.forward(x, training=True) is x


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_p_must_be_a_probability_below_one(p):
    with pytest.raises(ConfigError, match=r"model.layers\[0\].p: expected a number in \[0, 1\), got"):
        build((6,), p=p)

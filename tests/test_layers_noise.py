"""The noise layer (denoising autoencoders) and reshape: exact values, the statistics of each kind of damage
within tolerances derived from the sample size, generator use, evaluation behaviour, and config errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.options.spec import validate
from nnctl.errors import ConfigError, InputError
from nnctl.layers.noise import Corruption, corrupt, parse_corruption
from nnctl.nn.registry import LAYERS


def build(kind: str, in_shape: tuple, dtype=np.float32, **options):
    cls = LAYERS.lookup(kind, "test")
    layer = cls(f"{kind}1", **validate(cls.options, options, "model.layers[0]"))
    layer.build(in_shape, np.random.default_rng(0), dtype)
    return layer


def positive(shape: tuple) -> np.ndarray:
    return np.random.default_rng(2).uniform(0.5, 2.0, size=shape).astype(np.float32)   # no zeros


def test_evaluation_is_the_identity_by_default():
    layer = build("noise", (3, 4), mode="mask", p=0.5)
    x = positive((5, 3, 4))
    assert layer.forward(x, training=False, rng=np.random.default_rng(1)) is x
    dy = np.ones_like(x)
    assert layer.backward(dy) is dy


@pytest.mark.parametrize("p", [0.1, 0.3, 0.7])
def test_mask_zeroes_a_fraction_p_and_keeps_the_rest_unscaled(p):
    n_rows, n_cols = 1000, 200
    x = positive((n_rows, n_cols))
    layer = build("noise", (n_cols,), mode="mask", p=p)
    y = layer.forward(x, training=True, rng=np.random.default_rng(3))
    kept = y != 0
    np.testing.assert_array_equal(y[kept], x[kept])            # no rescaling, unlike dropout
    assert abs((~kept).mean() - p) <= 5 * math.sqrt(p * (1 - p) / x.size)
    dx = layer.backward(np.full_like(x, 3.0))
    np.testing.assert_array_equal(dx, np.where(kept, np.float32(3.0), np.float32(0)))


def test_gaussian_adds_noise_of_the_given_std_and_passes_gradients_through():
    x = positive((500, 400))
    layer = build("noise", (400,), mode="gaussian", std=0.5)
    y = layer.forward(x, training=True, rng=np.random.default_rng(4))
    added = (y - x).astype(np.float64)
    n = added.size
    assert abs(added.mean()) <= 5 * 0.5 / math.sqrt(n)
    assert abs(added.std() - 0.5) <= 5 * 0.5 / math.sqrt(2 * n)
    dy = positive((500, 400))
    assert layer.backward(dy) is dy


def test_salt_and_pepper_replaces_a_fraction_p_half_by_high_half_by_low():
    x = positive((400, 500))
    layer = build("noise", (500,), mode="salt_pepper", p=0.2, low=-1.0, high=5.0)
    y = layer.forward(x, training=True, rng=np.random.default_rng(5))
    salt, pepper = y == 5.0, y == -1.0
    kept = ~(salt | pepper)
    np.testing.assert_array_equal(y[kept], x[kept])
    n = x.size
    for share, expected in ((salt.mean(), 0.1), (pepper.mean(), 0.1)):
        assert abs(share - expected) <= 5 * math.sqrt(expected * (1 - expected) / n)
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx, kept.astype(np.float32))


def test_the_damage_comes_from_the_generator_given_to_forward():
    layer = build("noise", (30,), mode="mask", p=0.5)
    x = positive((8, 30))
    a = layer.forward(x, True, np.random.default_rng(11))
    b = layer.forward(x, True, np.random.default_rng(11))
    c = layer.forward(x, True, np.random.default_rng(12))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_at_eval_damages_evaluation_inputs_when_a_generator_is_given():
    layer = build("noise", (30,), mode="mask", p=0.5, at_eval=True)
    x = positive((8, 30))
    assert layer.forward(x, training=False) is x             # no generator (pictures, embed): clean
    y = layer.forward(x, training=False, rng=np.random.default_rng(1))
    expected, _ = corrupt(x, Corruption("mask", p=0.5), np.random.default_rng(1))
    np.testing.assert_array_equal(y, expected)
    assert layer.describe() == "mask p 0.5, also at evaluation"


def test_training_without_a_generator_is_refused():
    with pytest.raises(ValueError) as info:
        build("noise", (30,)).forward(np.ones((2, 30), dtype=np.float32), training=True)
    assert str(info.value) == "noise1: noise in training needs a random generator"


def test_float64_inputs_get_float64_damage():
    x = np.ones((4, 6))
    for how in (Corruption("mask", p=0.5), Corruption("gaussian", std=1.0), Corruption("salt_pepper", p=0.5)):
        assert corrupt(x, how, np.random.default_rng(0))[0].dtype == np.float64


@pytest.mark.parametrize("options, message", [
    ({"mode": "blur"}, "model.layers[0].mode: expected one of mask, gaussian, salt_pepper, got 'blur'"),
    ({"p": 1.0}, "model.layers[0].p: expected a number in [0, 1), got 1.0"),
    ({"std": -0.1}, "model.layers[0].std: expected a non-negative number, got -0.1"),
    ({"at_eval": "yes"}, "model.layers[0].at_eval: expected true or false, got 'yes'"),
])
def test_bad_noise_options_name_the_key(options, message):
    with pytest.raises(ConfigError) as info:
        build("noise", (4,), **options)
    assert str(info.value) == message


@pytest.mark.parametrize("text, expected", [
    ("mask=0.3", Corruption("mask", p=0.3)),
    ("gaussian=0.5", Corruption("gaussian", std=0.5)),
    ("salt_pepper=0.1", Corruption("salt_pepper", p=0.1)),
])
def test_corruption_specs_parse(text, expected):
    assert parse_corruption(text) == expected


@pytest.mark.parametrize("text, message", [
    ("mask", "--corrupt 'mask': expected MODE=AMOUNT with MODE one of mask, gaussian, salt_pepper (e.g. mask=0.3)"),
    ("blur=0.3", "--corrupt 'blur=0.3': expected MODE=AMOUNT with MODE one of mask, gaussian, salt_pepper "
                 "(e.g. mask=0.3)"),
    ("mask=lots", "--corrupt 'mask=lots': expected MODE=AMOUNT with MODE one of mask, gaussian, salt_pepper "
                  "(e.g. mask=0.3)"),
    ("mask=1.5", "--corrupt 'mask=1.5': the mask fraction must be in [0, 1)"),
    ("gaussian=-1", "--corrupt 'gaussian=-1': the gaussian std must be a non-negative number"),
    ("gaussian=nan", "--corrupt 'gaussian=nan': the gaussian std must be a non-negative number"),
])
def test_bad_corruption_specs_are_one_line(text, message):
    with pytest.raises(InputError) as info:
        parse_corruption(text)
    assert str(info.value) == message


# ------------------------------------------------------------------------------------------ reshape

def test_reshape_keeps_values_in_order_and_infers_minus_one():
    layer = build("reshape", (12,), shape=[3, -1])
    assert layer.out_shape == (3, 4)
    x = np.arange(24, dtype=np.float32).reshape(2, 12)
    np.testing.assert_array_equal(layer.forward(x, False), x.reshape(2, 3, 4))
    np.testing.assert_array_equal(layer.backward(x.reshape(2, 3, 4)), x)
    assert layer.describe() == "to 3x4"


@pytest.mark.parametrize("shape, message", [
    ([2, 5], "cannot reshape (12,) (12 values) to (2, 5) (10 values)"),
    ([5, -1], "cannot reshape (12,) (12 values) to (5, -1): 12 is not a multiple of 5"),
])
def test_reshape_to_the_wrong_size_is_refused(shape, message):
    with pytest.raises(ValueError) as info:
        build("reshape", (12,), shape=shape)
    assert str(info.value) == message


@pytest.mark.parametrize("shape", [[], [0, 12], [-1, -1], "1x28x28", [2.5]])
def test_reshape_shape_must_be_positive_integers(shape):
    with pytest.raises(ConfigError) as info:
        build("reshape", (12,), shape=shape)
    assert str(info.value).startswith("model.layers[0].shape: expected a list of positive integers (one of them "
                                      "may be -1), e.g. [1, 28, 28], got ")


def test_no_damage_is_the_identity_and_draws_nothing():
    x = positive((4, 6))
    for options in ({"mode": "mask", "p": 0.0}, {"mode": "salt_pepper", "p": 0.0}, {"mode": "gaussian", "std": 0.0}):
        rng = np.random.default_rng(3)
        assert build("noise", (6,), **options).forward(x, training=True, rng=rng) is x
        assert rng.random() == np.random.default_rng(3).random()

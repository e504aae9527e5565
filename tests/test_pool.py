"""maxpool2d, avgpool2d, global_avgpool: exact values by hand (ties, padding, overlap), shape rules,
parity with the loop reference, numeric gradients, and broken backwards that the check catches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nnctl.errors import ConfigError
from nnctl.check.gradcheck import PASS_LIMIT, check_layer
from nnctl.check import reference_kernels as reference
from nnctl.layers import pool
from nnctl.layers.pool import AvgPool2D, GlobalAvgPool, MaxPool2D
from nnctl.nn.registry import LAYERS
from nnctl.options.spec import validate


def make(cls, in_shape, dtype=np.float64, **given):
    layer = cls("pool", **validate(cls.options, given, "model.layers[0]"))
    layer.build(in_shape, np.random.default_rng(0), dtype)
    return layer


X = np.array([[1.0, 3, 2, 0],
              [4, 2, 1, 5],
              [0, 1, 9, 8],
              [7, 6, 3, 2]]).reshape(1, 1, 4, 4)
DY22 = np.array([[10.0, 20], [30, 40]]).reshape(1, 1, 2, 2)


# ------------------------------------------------------------------------------------------ exact values

def test_maxpool_2x2_by_hand():
    layer = make(MaxPool2D, (1, 4, 4), kernel=2)
    np.testing.assert_array_equal(layer.forward(X, True)[0, 0], [[4, 5], [7, 9]])
    dx = layer.backward(DY22)
    expected = np.zeros((4, 4))
    expected[1, 0], expected[1, 3], expected[3, 0], expected[2, 2] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx[0, 0], expected)


def test_maxpool_ties_send_the_gradient_to_the_first_maximum_in_row_major_order():
    x = np.array([[2.0, 2, 0, 5],
                  [2, 2, 5, 1],
                  [-1, -1, 3, 3],
                  [-1, -1, 3, 3]]).reshape(1, 1, 4, 4)
    layer = make(MaxPool2D, (1, 4, 4), kernel=2)
    np.testing.assert_array_equal(layer.forward(x, True)[0, 0], [[2, 5], [-1, 3]])
    dx = layer.backward(DY22)[0, 0]
    expected = np.zeros((4, 4))
    expected[0, 0], expected[0, 3], expected[2, 0], expected[2, 2] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx, expected)


def test_overlapping_maxpool_accumulates_where_windows_share_their_maximum():
    # every 3x3 window of X contains the 9 at (2, 2), so all four gradients land there
    layer = make(MaxPool2D, (1, 4, 4), kernel=3, stride=1)
    np.testing.assert_array_equal(layer.forward(X, True)[0, 0], [[9, 9], [9, 9]])
    dx = layer.backward(np.array([[1.0, 2], [3, 4]]).reshape(1, 1, 2, 2))[0, 0]
    expected = np.zeros((4, 4))
    expected[2, 2] = 10
    np.testing.assert_array_equal(dx, expected)


def test_maxpool_padding_is_minus_infinity_never_zero():
    # windows start at padded (2r, 2q): x rows 2r-1, 2r and columns 2q-1, 2q
    layer = make(MaxPool2D, (1, 4, 4), kernel=2, padding=1)
    np.testing.assert_array_equal(layer.forward(X, True)[0, 0], [[1, 3, 0], [4, 9, 8], [7, 6, 2]])
    np.testing.assert_array_equal(layer.forward(-X - 1, True)[0, 0], [[-2, -3, -1], [-1, -2, -6], [-8, -4, -3]])
    dx = layer.backward(np.arange(1.0, 10).reshape(1, 1, 3, 3))[0, 0]
    # the maxima of -X - 1 sit at (0,0) (0,2) (0,3) (2,0) (1,2) (1,3) (3,0) (3,2) (3,3); window (1, 1)
    # holds -2 twice, at (1,2) and (2,1), and the first in row-major order takes the gradient
    np.testing.assert_array_equal(dx, [[1, 0, 2, 3], [0, 0, 5, 6], [4, 0, 0, 0], [7, 0, 8, 9]])


def test_avgpool_2x2_by_hand():
    layer = make(AvgPool2D, (1, 4, 4), kernel=2)
    np.testing.assert_array_equal(layer.forward(X, True)[0, 0], [[2.5, 2.0], [3.5, 5.5]])
    dx = layer.backward(DY22)[0, 0]
    np.testing.assert_array_equal(dx, [[2.5, 2.5, 5, 5], [2.5, 2.5, 5, 5], [7.5, 7.5, 10, 10], [7.5, 7.5, 10, 10]])


def test_avgpool_with_padding_divides_by_the_whole_kernel_area():
    layer = make(AvgPool2D, (1, 4, 4), kernel=2, padding=1)
    np.testing.assert_array_equal(layer.forward(X, True)[0, 0],
                                  [[0.25, 1.25, 0], [1, 3.25, 3.25], [1.75, 2.25, 0.5]])
    dx = layer.backward(np.full((1, 1, 3, 3), 4.0))[0, 0]
    np.testing.assert_array_equal(dx, np.ones((4, 4)))      # each x element is in exactly one window


def test_overlapping_avgpool_accumulates():
    layer = make(AvgPool2D, (1, 4, 4), kernel=3, stride=1)
    np.testing.assert_allclose(layer.forward(X, True)[0, 0], [[23 / 9, 31 / 9], [33 / 9, 37 / 9]], rtol=0, atol=1e-15)
    dx = layer.backward(np.full((1, 1, 2, 2), 9.0))[0, 0]
    np.testing.assert_array_equal(dx, [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]])


def test_the_loop_reference_gives_the_same_hand_values():
    np.testing.assert_array_equal(reference.maxpool2d_forward(X, 2)[0, 0], [[4, 5], [7, 9]])
    np.testing.assert_array_equal(reference.avgpool2d_forward(X, 2, None, 1)[0, 0],
                                  [[0.25, 1.25, 0], [1, 3.25, 3.25], [1.75, 2.25, 0.5]])
    dx = reference.maxpool2d_backward(-X - 1, np.arange(1.0, 10).reshape(1, 1, 3, 3), 2, 2, 1)[0, 0]
    np.testing.assert_array_equal(dx, [[1, 0, 2, 3], [0, 0, 5, 6], [4, 0, 0, 0], [7, 0, 8, 9]])
    np.testing.assert_array_equal(reference.global_avgpool_forward(np.arange(12.0).reshape(1, 2, 2, 3)), [[2.5, 8.5]])


def test_global_avgpool_by_hand():
    x = np.arange(12.0).reshape(1, 2, 2, 3)                  # channel means 2.5 and 8.5
    layer = make(GlobalAvgPool, (2, 2, 3))
    np.testing.assert_array_equal(layer.forward(x, True), [[2.5, 8.5]])
    dx = layer.backward(np.array([[6.0, 12.0]]))
    np.testing.assert_array_equal(dx[0, 0], np.ones((2, 3)))
    np.testing.assert_array_equal(dx[0, 1], np.full((2, 3), 2.0))


# ------------------------------------------------------------------------------------------ shapes

@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("in_shape, options, out_shape", [
    ((32, 28, 28), {"kernel": 2}, (32, 14, 14)),
    ((3, 7, 9), {"kernel": 2}, (3, 3, 4)),
    ((3, 7, 9), {"kernel": 3, "stride": 1}, (3, 5, 7)),
    ((3, 7, 9), {"kernel": 3, "stride": 2, "padding": 1}, (3, 4, 5)),
    ((2, 5, 8), {"kernel": [2, 4], "stride": [1, 4]}, (2, 4, 2)),
    ((1, 5, 5), {"kernel": 5}, (1, 1, 1)),
    ((1, 6, 6), {"kernel": 2, "stride": 3}, (1, 2, 2)),
])
def test_pool_output_shapes(cls, in_shape, options, out_shape):
    layer = cls("pool", **validate(cls.options, options, "layer"))
    assert layer.output_shape(in_shape) == out_shape
    assert layer.build(in_shape, np.random.default_rng(0)) == out_shape
    assert layer.forward(np.zeros((2,) + in_shape, np.float32), True).shape == (2,) + out_shape


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("in_shape, options, message", [
    ((1, 4, 4), {"kernel": 5}, "kernel 5x5 is larger than the padded input 4x4"),
    ((1, 4, 4), {"kernel": 2, "padding": 2},
     "padding 2x2 must be smaller than the kernel 2x2 (else a window can lie wholly in the padding)"),
    ((1, 4, 4), {"kernel": [3, 1], "padding": [1, 1]},
     "padding 1x1 must be smaller than the kernel 3x1 (else a window can lie wholly in the padding)"),
    ((16,), {"kernel": 2}, "expected (channels, height, width) inputs, got shape (16,)"),
])
def test_impossible_pool_geometry_is_a_value_error(cls, in_shape, options, message):
    layer = cls("pool", **validate(cls.options, options, "layer"))
    with pytest.raises(ValueError) as info:
        layer.build(in_shape, np.random.default_rng(0))
    assert str(info.value) == message


def test_global_avgpool_shapes_and_errors():
    assert GlobalAvgPool("g").output_shape((64, 7, 5)) == (64,)
    with pytest.raises(ValueError, match=r"expected \(channels, height, width\) inputs, got shape \(64,\)"):
        GlobalAvgPool("g").build((64,), np.random.default_rng(0))


def test_pool_options_are_validated():
    assert validate(MaxPool2D.options, {"kernel": 2}, "p") == {"kernel": (2, 2), "stride": None, "padding": 0}
    with pytest.raises(ConfigError) as info:
        validate(MaxPool2D.options, {"kernel": 2, "stride": -1}, "model.layers[2]")
    assert str(info.value) == ("model.layers[2].stride: expected a positive integer or a pair [h, w] of them "
                               "or null, got -1")


# ------------------------------------------------------------------------------------------ parity

KINDS = {
    "max": (MaxPool2D, reference.maxpool2d_forward, reference.maxpool2d_backward),
    "avg": (AvgPool2D, reference.avgpool2d_forward, reference.avgpool2d_backward),
}
GRID = [(k, s, p) for k, s, p in itertools.product((1, 2, 3, 5), (None, 1, 2, 3), (0, 1, 2)) if p < k]
ODD_CASES = [  # (batch, in_shape, kernel, stride, padding); the first three tile their input exactly
    (1, (2, 6, 8), 2, None, 0),
    (3, (1, 6, 9), [2, 3], None, 0),
    (2, (3, 4, 4), 4, None, 0),
    (1, (2, 5, 8), [3, 2], [1, 3], [1, 0]),
    (2, (1, 9, 4), [2, 4], [3, 1], [1, 2]),
    (1, (4, 3, 11), [3, 3], [2, 4], [2, 1]),
]


def assert_pool_matches_reference(kind, x, kernel, stride, padding, rng):
    cls, forward, backward = KINDS[kind]
    layer = make(cls, x.shape[1:], kernel=kernel, stride=stride, padding=padding)
    y = layer.forward(x, True)
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(y, forward(x, kernel, stride, padding), rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.backward(dy), backward(x, dy, kernel, stride, padding), rtol=0, atol=1e-10)
    return layer


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("kernel, stride, padding", GRID, ids=[f"k{k}-s{s}-p{p}" for k, s, p in GRID])
def test_matches_the_loop_reference(kind, kernel, stride, padding):
    rng = np.random.default_rng(kernel * 100 + (stride or 0) * 10 + padding)
    assert_pool_matches_reference(kind, rng.standard_normal((2, 3, 7, 9)), kernel, stride, padding, rng)


@pytest.mark.parametrize("kernel, stride, padding", GRID, ids=[f"k{k}-s{s}-p{p}" for k, s, p in GRID])
def test_maxpool_matches_the_reference_on_inputs_full_of_ties(kernel, stride, padding):
    rng = np.random.default_rng(kernel + 7)
    x = rng.integers(0, 3, (2, 3, 7, 9)).astype(np.float64)  # three values: most windows hold ties
    assert_pool_matches_reference("max", x, kernel, stride, padding, rng)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", ODD_CASES, ids=[f"case{i}" for i in range(len(ODD_CASES))])
def test_matches_the_loop_reference_on_rectangular_and_tiling_geometries(kind, case):
    n, in_shape, kernel, stride, padding = case
    rng = np.random.default_rng(n)
    shape = (n,) + in_shape
    x = rng.integers(-2, 3, shape).astype(np.float64) if kind == "max" else rng.standard_normal(shape)
    layer = assert_pool_matches_reference(kind, x, kernel, stride, padding, rng)
    assert layer.geometry.tiles == (case in ODD_CASES[:3])


def test_global_avgpool_matches_the_reference():
    rng = np.random.default_rng(2)
    x, dy = rng.standard_normal((3, 4, 5, 7)), rng.standard_normal((3, 4))
    layer = make(GlobalAvgPool, (4, 5, 7))
    np.testing.assert_allclose(layer.forward(x, True), reference.global_avgpool_forward(x), rtol=0, atol=1e-12)
    np.testing.assert_allclose(layer.backward(dy), reference.global_avgpool_backward(x, dy), rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D, GlobalAvgPool])
def test_float32_stays_float32(cls):
    options = {} if cls is GlobalAvgPool else {"kernel": 3, "stride": 2, "padding": 1}
    layer = make(cls, (3, 8, 7), np.float32, **options)
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 7)).astype(np.float32)
    y = layer.forward(x, True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == np.float32
    assert dx.shape == x.shape and dx.flags.c_contiguous


def test_padded_maxpool_keeps_its_minus_infinity_border_between_batches():
    rng = np.random.default_rng(6)
    layer = make(MaxPool2D, (2, 5, 5), kernel=3, stride=2, padding=1)
    for n in (3, 3, 1):
        x = rng.standard_normal((n, 2, 5, 5)) - 10                # all negative: a 0 border would win
        np.testing.assert_array_equal(layer.forward(x, True), reference.maxpool2d_forward(x, 3, 2, 1))


# ------------------------------------------------------------------------------------------ gradients

def distinct(rng, shape) -> np.ndarray:
    """Values 0.01 apart in random order: no ties, and no centered difference crosses a maximum."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.01).reshape(shape)


GRAD_CASES = [  # (layer class, batch, in_shape, options)
    (MaxPool2D, 1, (2, 4, 6), {"kernel": 2}),
    (MaxPool2D, 3, (2, 5, 5), {"kernel": 3, "stride": 1, "padding": 1}),
    (MaxPool2D, 2, (1, 7, 6), {"kernel": [3, 2], "stride": [2, 3], "padding": [1, 0]}),
    (AvgPool2D, 1, (2, 4, 6), {"kernel": 2}),
    (AvgPool2D, 3, (2, 5, 5), {"kernel": 3, "stride": 1, "padding": 1}),
    (AvgPool2D, 2, (1, 7, 6), {"kernel": [3, 2], "stride": [2, 3], "padding": [1, 0]}),
    (GlobalAvgPool, 1, (3, 4, 5), {}),
    (GlobalAvgPool, 4, (2, 3, 3), {}),
]


@pytest.mark.parametrize("cls, n, in_shape, options", GRAD_CASES, ids=[f"case{i}" for i in range(len(GRAD_CASES))])
def test_gradients_match_centered_differences(cls, n, in_shape, options):
    rng = np.random.default_rng(n)
    layer = make(cls, in_shape, **options)
    (row,) = check_layer(layer, distinct(rng, (n,) + in_shape), rng, max_entries=10_000)
    assert row.tensor == "x" and row.checked == row.total
    assert row.max_rel_error <= PASS_LIMIT, row


def failing(monkeypatch, cls, wrong_backward, in_shape=(2, 4, 4), **options) -> bool:
    monkeypatch.setattr(cls, "backward", wrong_backward)
    rng = np.random.default_rng(1)
    layer = make(cls, in_shape, **options)
    (row,) = check_layer(layer, distinct(rng, (3,) + in_shape), rng)
    return row.max_rel_error > PASS_LIMIT and row.verdict != "pass"


def test_a_maxpool_gradient_with_height_and_width_swapped_is_caught(monkeypatch):
    right = pool.MaxPool2D.backward
    assert failing(monkeypatch, MaxPool2D, lambda self, dy, need_input_grad=True: right(self, dy, need_input_grad).transpose(0, 1, 3, 2), kernel=2)


def test_a_maxpool_gradient_sent_to_the_whole_window_is_caught(monkeypatch):
    right = pool.AvgPool2D.backward
    assert failing(monkeypatch, MaxPool2D, lambda self, dy, need_input_grad=True: right(self, dy, need_input_grad) * 4, kernel=2)


def test_an_avgpool_gradient_one_percent_too_large_is_caught(monkeypatch):
    right = pool.AvgPool2D.backward
    assert failing(monkeypatch, AvgPool2D, lambda self, dy, need_input_grad=True: right(self, dy, need_input_grad) * 1.01, kernel=3, stride=1, padding=1)


def test_a_global_avgpool_gradient_without_the_division_is_caught(monkeypatch):
    right = pool.GlobalAvgPool.backward
    assert failing(monkeypatch, GlobalAvgPool, lambda self, dy, need_input_grad=True: right(self, dy, need_input_grad) * 16)


# ------------------------------------------------------------------------------------------ the rest

def test_kinks_describe_and_registry():
    assert make(MaxPool2D, (1, 4, 4), kernel=2).kinks()
    assert not make(AvgPool2D, (1, 4, 4), kernel=2).kinks()
    assert make(MaxPool2D, (1, 4, 4), kernel=2).describe() == "2x2, stride 2"
    assert make(AvgPool2D, (1, 6, 6), kernel=3, stride=[1, 2], padding=1).describe() == "3x3, stride 1x2, pad 1"
    assert LAYERS.lookup("maxpool2d", "t") is MaxPool2D
    assert LAYERS.lookup("avgpool2d", "t") is AvgPool2D
    assert LAYERS.lookup("global_avgpool", "t") is GlobalAvgPool
    assert all(not make(cls, (1, 4, 4), kernel=2).params for cls in (MaxPool2D, AvgPool2D))


@pytest.mark.parametrize("cls, options", [
    (MaxPool2D, {"kernel": 2}), (MaxPool2D, {"kernel": 3, "stride": 2, "padding": 1}),
    (AvgPool2D, {"kernel": 2}), (AvgPool2D, {"kernel": 3, "stride": 1, "padding": 1}),
])
def test_splitting_the_batch_over_threads_gives_identical_results(monkeypatch, cls, options):
    from nnctl import workers

    x = np.random.default_rng(3).integers(0, 4, (5, 2, 6, 8)).astype(np.float32)     # ties included
    results = {}
    for threads in ("1", "2"):
        monkeypatch.setenv("NNCTL_THREADS", threads)
        monkeypatch.setattr(workers, "MIN_CHUNK", 1)
        layer = make(cls, (2, 6, 8), np.float32, **options)
        y = layer.forward(x, True)
        results[threads] = (y, layer.backward(np.cos(y)))
    for one, two in zip(results["1"], results["2"]):
        np.testing.assert_array_equal(one, two)
    expected = KINDS["max" if cls is MaxPool2D else "avg"][1](x.astype(np.float64), **options)
    np.testing.assert_allclose(results["2"][0], expected, rtol=1e-6, atol=0)


def test_maxpool_inference_forward_gives_the_same_maximum_and_keeps_no_indices():
    x = np.random.default_rng(4).standard_normal((2, 3, 7, 9))
    layer = make(MaxPool2D, (3, 7, 9), kernel=3, stride=2, padding=1)
    y_infer = layer.forward(x, False)
    assert layer.argmax is None
    np.testing.assert_array_equal(y_infer, layer.forward(x, True))
    assert layer.argmax is not None

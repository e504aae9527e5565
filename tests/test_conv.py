"""conv2d: exact values by hand, shape rules and errors, parity with the loop reference over a grid of
geometries, float32 paths, numeric gradients, and deliberately broken backwards that the check catches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nnctl.errors import ConfigError
from nnctl.check.gradcheck import PASS_LIMIT, check_layer
from nnctl.check import reference_kernels as reference
from nnctl.layers import conv
from nnctl.layers.conv import Conv2D
from nnctl.layers.im2col_shift import ShiftIm2Col
from nnctl.nn.model_config import resolve_model_config
from nnctl.nn.network import build_network
from nnctl.nn.registry import LAYERS
from nnctl.options.spec import validate


def make(in_shape, dtype=np.float64, seed=0, **given) -> Conv2D:
    layer = Conv2D("conv", **validate(Conv2D.options, given, "model.layers[0]"))
    layer.build(in_shape, np.random.default_rng(seed), dtype)
    return layer


def with_weights(layer: Conv2D, w, b=None) -> Conv2D:
    layer.params["W"][...] = w
    if b is not None:
        layer.params["b"][...] = b
    return layer


X44 = np.arange(16.0).reshape(1, 1, 4, 4)           # x[h, w] = 4h + w
K22 = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)


# ------------------------------------------------------------------------------------------ exact values

def test_forward_of_a_2x2_kernel_on_a_4x4_input_by_hand():
    # y[r, q] = 1*x[r,q] + 2*x[r,q+1] + 3*x[r+1,q] + 4*x[r+1,q+1] + 0.5 = 40r + 10q + 34.5
    layer = with_weights(make((1, 4, 4), filters=1, kernel=2), K22, [0.5])
    y = layer.forward(X44, True)
    assert y.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(y[0, 0], [[34.5, 44.5, 54.5], [74.5, 84.5, 94.5], [114.5, 124.5, 134.5]])


def test_backward_of_a_2x2_kernel_on_a_4x4_input_by_hand():
    layer = with_weights(make((1, 4, 4), filters=1, kernel=2), K22)
    layer.forward(X44, True)
    dx = layer.backward(np.ones((1, 1, 3, 3)))
    # each dx pixel sums the kernel taps that read it; dW[i, j] sums the 3x3 block of x at offset (i, j)
    np.testing.assert_array_equal(dx[0, 0], [[1, 3, 3, 2], [4, 10, 10, 6], [4, 10, 10, 6], [3, 7, 7, 4]])
    np.testing.assert_array_equal(layer.grads["W"][0, 0], [[45, 54], [81, 90]])
    np.testing.assert_array_equal(layer.grads["b"], [9])


def test_stride_2_with_zero_padding_by_hand():
    # windows start at padded (2r, 2q), i.e. x rows 2r-1, 2r and columns 2q-1, 2q; outside x is 0
    layer = with_weights(make((1, 4, 4), filters=1, kernel=2, stride=2, padding=1, bias=False), K22)
    np.testing.assert_array_equal(layer.forward(X44, True)[0, 0], [[0, 11, 9], [40, 84, 40], [24, 41, 15]])


def test_dilation_2_by_hand():
    # x[h, w] = 5h + w; y[r, q] = x[r,q] + 2x[r,q+2] + 3x[r+2,q] + 4x[r+2,q+2] = 50r + 10q + 82
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    layer = with_weights(make((1, 5, 5), filters=1, kernel=2, dilation=2, bias=False), K22)
    np.testing.assert_array_equal(layer.forward(x, True)[0, 0], [[82, 92, 102], [132, 142, 152], [182, 192, 202]])


def test_the_loop_reference_gives_the_same_hand_values():
    np.testing.assert_array_equal(reference.conv2d_forward(X44, K22, np.array([0.5]))[0, 0],
                                  [[34.5, 44.5, 54.5], [74.5, 84.5, 94.5], [114.5, 124.5, 134.5]])
    np.testing.assert_array_equal(reference.conv2d_forward(X44, K22, None, 2, 1)[0, 0],
                                  [[0, 11, 9], [40, 84, 40], [24, 41, 15]])
    dx, dw, db = reference.conv2d_backward(X44, K22, np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(dx[0, 0], [[1, 3, 3, 2], [4, 10, 10, 6], [4, 10, 10, 6], [3, 7, 7, 4]])
    np.testing.assert_array_equal(dw[0, 0], [[45, 54], [81, 90]])
    np.testing.assert_array_equal(db, [9])


def test_channels_and_filters_are_wired_to_the_right_axes():
    # 1x1 kernels mix channels per pixel: filter 0 = 1*c0 + 10*c1, filter 1 = -c0, filter 2 = c1 + 7 (bias)
    x = np.stack([np.arange(6.0).reshape(2, 3), 100 + np.arange(6.0).reshape(2, 3)])[None]   # (1, 2, 2, 3)
    w = np.array([[1.0, 10.0], [-1.0, 0.0], [0.0, 1.0]]).reshape(3, 2, 1, 1)
    layer = with_weights(make((2, 2, 3), filters=3, kernel=1), w, [0.0, 0.0, 7.0])
    y = layer.forward(np.concatenate([x, 2 * x]), True)       # batch of 2: the second sample doubled
    np.testing.assert_array_equal(y[0, 0], x[0, 0] + 10 * x[0, 1])
    np.testing.assert_array_equal(y[0, 1], -x[0, 0])
    np.testing.assert_array_equal(y[0, 2], x[0, 1] + 7)
    np.testing.assert_array_equal(y[1, 0], 2 * (x[0, 0] + 10 * x[0, 1]))


# ------------------------------------------------------------------------------------------ shapes

@pytest.mark.parametrize("in_shape, options, out_shape", [
    ((1, 28, 28), {"filters": 32, "kernel": 3, "padding": 1}, (32, 28, 28)),
    ((3, 32, 32), {"filters": 8, "kernel": 5, "stride": 2, "padding": 2}, (8, 16, 16)),
    ((3, 7, 9), {"filters": 2, "kernel": 3}, (2, 5, 7)),
    ((3, 7, 9), {"filters": 2, "kernel": 3, "stride": 3}, (2, 2, 3)),
    ((2, 7, 9), {"filters": 4, "kernel": [3, 2], "stride": [2, 1], "padding": [1, 0], "dilation": [1, 2]},
     (4, 4, 7)),
    ((1, 9, 9), {"filters": 1, "kernel": 3, "dilation": 4}, (1, 1, 1)),
    ((1, 5, 5), {"filters": 1, "kernel": 5}, (1, 1, 1)),
    ((1, 6, 7), {"filters": 3, "kernel": 3, "padding": "same"}, (3, 6, 7)),
    ((1, 6, 7), {"filters": 3, "kernel": [5, 1], "padding": "same", "dilation": 2}, (3, 6, 7)),
    ((1, 6, 7), {"filters": 3, "kernel": 2, "padding": "same", "dilation": 2}, (3, 6, 7)),
])
def test_output_shapes(in_shape, options, out_shape):
    layer = Conv2D("conv", **validate(Conv2D.options, options, "layer"))
    assert layer.output_shape(in_shape) == out_shape
    assert layer.build(in_shape, np.random.default_rng(0)) == out_shape
    assert layer.forward(np.zeros((2,) + in_shape, np.float32), True).shape == (2,) + out_shape


def test_same_padding_is_resolved_to_numbers():
    layer = make((1, 6, 7), filters=1, kernel=[5, 3], padding="same", dilation=[2, 1])
    assert layer.geometry.padding == (4, 1)
    assert layer.describe() == "1 filters 5x3, stride 1, pad 4x1, dilation 2x1"


@pytest.mark.parametrize("in_shape, options, message", [
    ((1, 4, 4), {"kernel": 5}, "kernel 5x5 is larger than the padded input 4x4"),
    ((1, 4, 8), {"kernel": [3, 9], "padding": [0, 0]}, "kernel 3x9 is larger than the padded input 4x8"),
    ((1, 6, 6), {"kernel": 3, "dilation": 3}, "kernel 3x3 (spanning 7x7 dilated) is larger than the padded input 6x6"),
    ((1, 6, 6), {"kernel": 3, "stride": 2, "padding": "same"}, "padding 'same' needs stride 1, got stride 2x2"),
    ((1, 6, 6), {"kernel": [3, 2], "padding": "same"},
     "padding 'same' needs an odd kernel extent, got kernel 3x2 with dilation 1x1 (extent 3x2)"),
    ((784,), {"kernel": 3}, "expected (channels, height, width) inputs, got shape (784,)"),
])
def test_impossible_geometry_is_a_value_error_at_build_time(in_shape, options, message):
    layer = Conv2D("conv", **validate(Conv2D.options, {"filters": 2, **options}, "layer"))
    with pytest.raises(ValueError) as info:
        layer.build(in_shape, np.random.default_rng(0))
    assert str(info.value) == message


def test_the_model_builder_reports_a_bad_geometry_with_its_key_path():
    cfg, paths = resolve_model_config([{"type": "conv2d", "filters": 2, "kernel": 3},
                                       {"type": "conv2d", "filters": 2, "kernel": 5}], "model")
    with pytest.raises(ConfigError) as info:
        build_network(cfg, (1, 6, 6), np.random.default_rng(0), np.float32, paths)
    assert str(info.value) == "model.layers[1]: kernel 5x5 is larger than the padded input 4x4"


@pytest.mark.parametrize("given, message", [
    ({"kernel": 3}, "model.layers[0].filters: required key is missing"),
    ({"filters": 2, "kernel": 3, "padding": "Same"},
     "model.layers[0].padding: expected a non-negative integer, a pair [h, w] of them, or 'same', got 'Same'"),
    ({"filters": 2, "kernel": [3, 3, 3]},
     "model.layers[0].kernel: expected a positive integer or a pair [h, w] of them, got [3, 3, 3]"),
    ({"filters": 2, "kernel": 3, "stride": 0},
     "model.layers[0].stride: expected a positive integer or a pair [h, w] of them, got 0"),
])
def test_bad_options_are_config_errors_naming_the_key(given, message):
    with pytest.raises(ConfigError) as info:
        validate(Conv2D.options, given, "model.layers[0]")
    assert str(info.value) == message


# ------------------------------------------------------------------------------------------ parity

GRID = list(itertools.product((1, 2, 3, 5), (1, 2, 3), (0, 1, 2), (1, 2)))
ODD_SHAPES = [  # (batch, in_shape, filters, kernel, stride, padding, dilation)
    (1, (1, 5, 8), 1, [2, 3], [1, 2], [0, 1], 1),
    (3, (4, 6, 7), 5, [3, 1], [2, 1], [2, 0], [1, 3]),
    (1, (2, 11, 4), 3, [1, 4], [3, 1], [1, 2], [2, 1]),
    (2, (3, 1, 9), 2, [1, 3], 1, 0, 2),
]


def assert_close(actual: np.ndarray, expected: np.ndarray, tol: float) -> None:
    """|actual - expected| <= tol * max(1, largest |expected|), entry by entry."""
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=0, atol=tol * max(1.0, float(np.abs(expected).max())))


def assert_matches_reference(layer: Conv2D, x: np.ndarray, rng: np.random.Generator, tol: float) -> None:
    """Forward and backward (dx, dW, db) of the fast layer against reference.py, computed in float64."""
    g = layer.geometry
    w, b = (layer.params[k].astype(np.float64) if k in layer.params else None for k in ("W", "b"))
    y = layer.forward(x, True)
    dy = rng.standard_normal(y.shape).astype(x.dtype)
    dx = layer.backward(dy)
    x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
    assert_close(y, reference.conv2d_forward(x64, w, b, g.stride, g.padding, g.dilation), tol)
    dx_ref, dw_ref, db_ref = reference.conv2d_backward(x64, w, dy64, g.stride, g.padding, g.dilation)
    assert_close(dx, dx_ref, tol)
    assert_close(layer.grads["W"], dw_ref, tol)
    if b is not None:
        assert_close(layer.grads["b"], db_ref, tol)


@pytest.mark.parametrize("kernel, stride, padding, dilation", GRID,
                         ids=[f"k{k}-s{s}-p{p}-d{d}" for k, s, p, d in GRID])
def test_matches_the_loop_reference_in_float64(kernel, stride, padding, dilation):
    rng = np.random.default_rng(kernel * 100 + stride * 10 + padding + dilation)
    layer = make((3, 9, 10), filters=4, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
    layer.params["b"][...] = rng.standard_normal(4)
    assert_matches_reference(layer, rng.standard_normal((2, 3, 9, 10)), rng, tol=1e-10)


@pytest.mark.parametrize("case", ODD_SHAPES, ids=lambda c: f"n{c[0]}-{'x'.join(map(str, c[1]))}")
def test_matches_the_loop_reference_on_rectangular_and_odd_geometries(case):
    n, in_shape, filters, kernel, stride, padding, dilation = case
    rng = np.random.default_rng(n)
    layer = make(in_shape, filters=filters, kernel=kernel, stride=stride, padding=padding, dilation=dilation)
    layer.params["b"][...] = rng.standard_normal(filters)
    assert_matches_reference(layer, rng.standard_normal((n,) + in_shape), rng, tol=1e-10)


def test_float32_stays_float32_and_agrees_with_the_float64_reference():
    rng = np.random.default_rng(5)
    layer = make((3, 9, 8), np.float32, filters=6, kernel=3, stride=[1, 2], padding=1, dilation=[2, 1])
    layer.params["b"][...] = rng.standard_normal(6)
    x = rng.standard_normal((4, 3, 9, 8)).astype(np.float32)
    y = layer.forward(x, True)
    dx = layer.backward(np.ones_like(y))
    assert {a.dtype for a in (y, dx, layer.grads["W"], layer.grads["b"], layer.params["W"])} == {np.dtype(np.float32)}
    assert y.flags.c_contiguous and dx.flags.c_contiguous
    assert_matches_reference(layer, x, rng, tol=1e-5)


def test_work_arrays_are_reused_but_results_are_never_overwritten():
    rng = np.random.default_rng(9)
    layer = make((2, 6, 5), filters=3, kernel=3, padding=1)
    x1, x2 = rng.standard_normal((4, 2, 6, 5)), rng.standard_normal((4, 2, 6, 5))
    y1 = layer.forward(x1, True)
    kept = y1.copy()
    dx1 = layer.backward(np.ones_like(y1))
    kept_dx = dx1.copy()
    columns = layer.im2col.scratch.arrays["columns"]
    y2 = layer.forward(x2, True)
    layer.backward(np.ones_like(y2))
    assert layer.im2col.scratch.arrays["columns"] is columns      # same batch size: same work array
    np.testing.assert_array_equal(y1, kept)                       # earlier results untouched
    np.testing.assert_array_equal(dx1, kept_dx)
    y3 = layer.forward(x1[:1], True)                              # a new batch size still works
    np.testing.assert_allclose(y3, kept[:1], rtol=0, atol=1e-12)


def test_backward_uses_the_most_recent_forward():
    rng = np.random.default_rng(4)
    layer = make((1, 5, 5), filters=2, kernel=2)
    x_old, x_new = rng.standard_normal((3, 1, 5, 5)), rng.standard_normal((2, 1, 5, 5))
    layer.forward(x_old, True)
    dy = rng.standard_normal(layer.forward(x_new, True).shape)
    layer.backward(dy)
    _, dw_ref, _ = reference.conv2d_backward(x_new, layer.params["W"], dy)
    np.testing.assert_allclose(layer.grads["W"], dw_ref, rtol=0, atol=1e-12)


# ------------------------------------------------------------------------------------------ gradients

GRAD_CASES = [  # (batch, in_shape, options)
    (1, (2, 5, 6), {"filters": 3, "kernel": 3, "padding": 1}),
    (3, (3, 6, 5), {"filters": 2, "kernel": [2, 3], "stride": 2, "padding": [1, 0], "dilation": [1, 2]}),
    (2, (1, 7, 7), {"filters": 2, "kernel": 3, "stride": 2, "dilation": 2, "bias": False}),
    (1, (2, 4, 4), {"filters": 1, "kernel": 4, "padding": 2, "stride": 3}),
]


@pytest.mark.parametrize("n, in_shape, options", GRAD_CASES, ids=[f"case{i}" for i in range(len(GRAD_CASES))])
def test_gradients_match_centered_differences(n, in_shape, options):
    rng = np.random.default_rng(11)
    layer = make(in_shape, seed=n, **options)
    if "b" in layer.params:
        layer.params["b"][...] = rng.standard_normal(layer.params["b"].shape)
    rows = check_layer(layer, rng.standard_normal((n,) + in_shape), rng, max_entries=10_000)
    assert [r.tensor for r in rows] == ["x"] + list(layer.params)
    for row in rows:
        assert row.checked == row.total
        assert row.max_rel_error <= PASS_LIMIT, row


def failing_tensors(monkeypatch, wrong_backward, in_shape=(2, 5, 5)) -> set[str]:
    monkeypatch.setattr(Conv2D, "backward", wrong_backward)
    rng = np.random.default_rng(3)
    layer = make(in_shape, filters=3, kernel=3, padding=1)
    rows = check_layer(layer, rng.standard_normal((2,) + in_shape), rng)
    return {r.tensor for r in rows if r.max_rel_error > PASS_LIMIT}


def test_a_weight_gradient_off_by_one_percent_is_caught(monkeypatch):
    right = conv.Conv2D.backward

    def wrong(self, dy, need_input_grad=True):
        dx = right(self, dy, need_input_grad)
        self.grads["W"] = self.grads["W"] * 1.01
        return dx

    assert failing_tensors(monkeypatch, wrong) == {"W"}


def test_an_input_gradient_with_height_and_width_swapped_is_caught(monkeypatch):
    right = conv.Conv2D.backward
    assert failing_tensors(monkeypatch, lambda self, dy, need_input_grad=True: right(self, dy, need_input_grad).transpose(0, 1, 3, 2)) == {"x"}


def test_a_bias_gradient_averaged_instead_of_summed_is_caught(monkeypatch):
    right = conv.Conv2D.backward

    def wrong(self, dy, need_input_grad=True):
        dx = right(self, dy, need_input_grad)
        self.grads["b"] = dy.mean(axis=(0, 2, 3))
        return dx

    assert failing_tensors(monkeypatch, wrong) == {"b"}


# ------------------------------------------------------------------------------------------ the rest

def test_he_initialization_uses_fan_in_of_channels_times_kernel_area():
    layer = make((32, 14, 14), np.float32, filters=64, kernel=3)
    w = layer.params["W"]
    assert w.shape == (64, 32, 3, 3) and w.dtype == np.float32
    assert abs(w.std() / np.sqrt(2 / (32 * 9)) - 1) < 0.02
    np.testing.assert_array_equal(layer.params["b"], np.zeros(64))
    assert layer.penalized == ("W",)
    assert "b" not in make((1, 4, 4), filters=1, kernel=2, bias=False).params


def test_macs_describe_and_registry():
    layer = make((1, 28, 28), filters=32, kernel=3, padding=1)
    assert layer.macs() == 32 * 28 * 28 * 1 * 3 * 3
    assert layer.describe() == "32 filters 3x3, stride 1, pad 1"
    assert make((1, 9, 9), filters=2, kernel=[3, 2], stride=[2, 1]).describe() == "2 filters 3x2, stride 2x1, pad 0"
    assert LAYERS.lookup("conv2d", "model.layers[0].type") is Conv2D
    assert not layer.kinks()


@pytest.mark.parametrize("in_shape, options, form", [
    ((3, 9, 8), {"kernel": 3, "stride": [2, 1], "padding": 1}, "padded"),
    ((3, 9, 8), {"kernel": 3, "padding": 1}, "shift"),
    ((1, 6, 5), {"kernel": 3, "padding": 1}, "per-sample"),
], ids=["padded-im2col", "shift-im2col", "per-sample-products"])
def test_splitting_the_batch_over_threads_gives_identical_results(monkeypatch, in_shape, options, form):
    from nnctl import workers

    rng = np.random.default_rng(8)
    x = rng.standard_normal((7,) + in_shape).astype(np.float32)
    bias = rng.standard_normal(4).astype(np.float32)
    results = {}
    for threads in ("1", "3"):
        monkeypatch.setenv("NNCTL_THREADS", threads)
        monkeypatch.setattr(workers, "MIN_CHUNK", 1)           # split even these small arrays
        layer = make(in_shape, np.float32, filters=4, **options)
        assert form == ("per-sample" if layer.per_sample else
                        "shift" if isinstance(layer.im2col, ShiftIm2Col) else "padded")
        layer.params["b"][...] = bias
        y = layer.forward(x, True)
        dx = layer.backward(np.sin(y))
        results[threads] = (y, dx, layer.grads["W"], layer.grads["b"])
    assert workers.chunks(7, 7 * 3 * 9 * 8, 3) == [slice(0, 2), slice(2, 4), slice(4, 7)]
    for one, three in zip(results["1"], results["3"]):
        np.testing.assert_array_equal(one, three)


@pytest.mark.parametrize("small_k", [0, 1000], ids=["batched-products", "per-sample-products"])
def test_without_need_input_grad_backward_skips_dx_but_fills_the_same_weight_gradients(monkeypatch, small_k):
    monkeypatch.setattr(conv, "SMALL_K", small_k)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 2, 6, 6))
    full, lean = make((2, 6, 6), filters=3, kernel=3, padding=1), make((2, 6, 6), filters=3, kernel=3, padding=1)
    dy = rng.standard_normal((3, 3, 6, 6))
    full.forward(x, True), lean.forward(x, True)
    assert full.backward(dy).shape == x.shape
    assert lean.backward(dy, need_input_grad=False) is None
    for key in ("W", "b"):
        np.testing.assert_array_equal(lean.grads[key], full.grads[key])


def test_per_sample_products_for_few_taps_equal_the_batched_products(monkeypatch):
    rng = np.random.default_rng(13)
    x = rng.standard_normal((4, 3, 7, 6)).astype(np.float32)
    bias = rng.standard_normal(5)
    outputs = []
    for small_k in (0, 1000):                          # force each strategy in turn
        monkeypatch.setattr(conv, "SMALL_K", small_k)
        layer = make((3, 7, 6), np.float32, filters=5, kernel=3, stride=[2, 1], padding=[0, 1])
        assert layer.per_sample == (small_k == 1000)
        layer.params["b"][...] = bias
        outputs.append(layer.forward(x, True))
        assert_matches_reference(layer, x, rng, tol=1e-5)
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=0, atol=1e-5)


@pytest.mark.parametrize("bias", [True, False])
def test_per_sample_products_carry_the_bias_in_a_row_of_ones_that_backward_leaves_alone(bias):
    rng = np.random.default_rng(14)
    layer = make((1, 6, 5), filters=3, kernel=3, padding=1, bias=bias)
    assert layer.per_sample and layer.im2col.ones_row == bias
    if bias:
        layer.params["b"][...] = rng.standard_normal(3)
    x = rng.standard_normal((4, 1, 6, 5))
    first = layer.forward(x, True).copy()
    columns = layer.im2col.scratch.arrays["columns"]
    assert columns.shape == (9 + bias, 4 * 30)
    assert_matches_reference(layer, x, rng, tol=1e-10)             # forward and a backward that writes dx
    if bias:
        np.testing.assert_array_equal(columns[9], np.ones(4 * 30))
    np.testing.assert_array_equal(layer.forward(x, True), first)


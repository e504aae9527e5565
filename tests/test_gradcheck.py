"""The gradient checker itself: relative error, differences at two steps, the noise-aware verdict, kinks,
sampling, restoring state, layers with several inputs, losses and whole networks (with penalties)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.check.differences import Differences, differences, numeric_gradient
from nnctl.check.gradcheck import CheckRow, Probe, check_layer, check_loss, check_network, judge, relative_error
from nnctl.layers import dense
from nnctl.layers.base import Layer
from nnctl.nn.losses import MeanSquaredError
from nnctl.nn.model_config import resolve_model_config
from nnctl.nn.network import build_network
from nnctl.nn.objective import build_objective, resolve_loss_config
from nnctl.nn.registry import LAYERS
from nnctl.options.spec import validate


def build(kind: str, in_shape: tuple, **options):
    cls = LAYERS.lookup(kind, "test")
    layer = cls(kind, **validate(cls.options, options, "test"))
    layer.build(in_shape, np.random.default_rng(0), np.float64)
    return layer


# ------------------------------------------------------------------------------------- relative error

def test_relative_error_is_the_largest_entrywise_ratio():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.5])) == 0.5 / 4.5
    assert relative_error(np.array([-1.0]), np.array([1.0])) == 1.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0
    assert math.isnan(relative_error(np.array([1.0, np.nan]), np.array([1.0, 1.0])))


def test_relative_error_measures_tiny_entries_against_a_share_of_the_largest():
    # entry 2 alone would be 1/3; against 1e-2 * (100 + 100) = 2 it is 1e-6 / 2
    error = relative_error(np.array([100.0, 1e-6]), np.array([100.0, 2e-6]))
    assert error == pytest.approx(5e-7, rel=1e-9)
    assert relative_error(np.array([1e-17]), np.array([0.0]), floor=1e-3) == pytest.approx(1e-14, rel=1e-12)
    assert relative_error(np.array([1e-17]), np.array([0.0])) == 1.0


# --------------------------------------------------------------------------------- two step sizes

def test_differences_of_a_cubic_spread_by_the_truncation_error():
    a = np.array([0.5, -2.0])
    c = 3.0
    d = differences(lambda: float(np.sum(c * a ** 3)), a, 1e-3, [0, 1])
    np.testing.assert_array_equal(a, [0.5, -2.0])                         # restored exactly
    np.testing.assert_allclose(d.gradient, 3 * c * a ** 2 + c * 1e-6, rtol=1e-9)   # f' + h^2 f'''/6
    np.testing.assert_allclose(d.wide, 3 * c * a ** 2 + 4 * c * 1e-6, rtol=1e-9)
    np.testing.assert_allclose(d.spread, 3 * c * 1e-6, rtol=1e-6)         # |D(h) - D(2h)| = h^2 f'''/2
    assert (d.slope_jump < 1e-6).all()                                      # smooth: fourth difference ~ 0


def test_a_kink_at_the_point_shows_as_a_slope_jump_not_as_spread():
    a = np.array([0.0])
    d = differences(lambda: float(3.0 * abs(a[0])), a, 1e-6, [0])          # derivative jumps from -3 to 3
    assert d.gradient[0] == d.wide[0] == 0.0 and d.spread[0] == 0.0         # both steps equally wrong
    assert d.slope_jump[0] == pytest.approx(6.0, rel=1e-9)


def test_differences_divide_by_the_step_actually_taken():
    a = np.array([3.0e8])                  # 3e8 + 1e-6 rounds: the step taken is not 1e-6
    d = differences(lambda: float(2.0 * a[0]), a, 1e-6, [0])
    assert d.steps[2, 0] != 1e-6
    assert d.gradient[0] == 2.0 and d.wide[0] == 2.0


# ------------------------------------------------------------------------------------------ verdict

def made(gradient, wide, jump=None, h=1e-6) -> Differences:
    """Differences with the given D(h), D(2h) and slope jump per entry (f(x) = 0)."""
    g, w = np.asarray(gradient, dtype=float), np.asarray(wide, dtype=float)
    j = np.zeros_like(g) if jump is None else np.asarray(jump, dtype=float)
    values = np.stack([-2 * h * w + j * h, -h * g, h * g, 2 * h * w + j * h])
    steps = np.array([-2 * h, -h, h, 2 * h])[:, None] * np.ones_like(g)
    return Differences(h, 0.0, values, steps)


def verdicts(analytic, diffs, kinks=False):
    analytic = np.asarray(analytic, dtype=float)
    (row,) = judge([Probe("layer", "x", analytic.shape, analytic.size, analytic, diffs)], kinks)
    return row.verdict, row.on_kinks


def test_an_error_within_ten_times_the_noise_passes_and_beyond_it_fails():
    n = np.ones(20)
    noisy = made(n, n + 1e-6)                                # D(h) and D(2h) disagree by 1e-6 everywhere
    assert verdicts(n + 9e-6, noisy) == ("pass", 0)
    assert verdicts(n + 1.1e-5, noisy) == ("fail", 0)
    quiet = made(n, n)                                       # no noise: only the 1e-7 relative limit remains
    assert verdicts(n + 1.9e-7, quiet) == ("pass", 0)       # 1.9e-7 / (2 + 1.9e-7) < 1e-7
    assert verdicts(n + 2.1e-7, quiet) == ("fail", 0)


def test_an_entry_whose_own_noise_is_small_by_chance_is_covered_by_its_tensor():
    n = np.ones(20)
    wide = n + 1e-6
    wide[3] = n[3]                                           # this entry's two steps happen to agree
    analytic = n.copy()
    analytic[3] += 5e-6
    assert verdicts(analytic, made(n, wide)) == ("pass", 0)


def test_a_one_entry_tensor_is_covered_by_the_noise_of_its_group():
    big = Probe("layer", "x", (50,), 50, np.ones(50), made(np.ones(50), np.ones(50) + 1e-6))
    lone = Probe("layer", "b", (1,), 1, np.array([0.5 + 5e-6]), made([0.5], [0.5]))
    assert [r.verdict for r in judge([big, lone], kinks=False)] == ["pass", "pass"]
    assert judge([lone], kinks=False)[0].verdict == "fail"


def test_entries_at_a_kink_pass_within_their_one_sided_slopes():
    n = np.ones(10)
    jump = np.zeros(10)
    jump[2] = 1.0                       # the slope jumps by 1 within 2h: one-sided slopes from 0.5 to 1.5
    analytic = n.copy()
    analytic[2] = 1.5                                        # one side's derivative, 0.5 away from D(h)
    assert verdicts(analytic, made(n, n, jump), kinks=True) == ("pass", 1)
    assert verdicts(analytic, made(n, n, jump), kinks=False) == ("warn", 1)      # a kink nothing declares
    analytic[2] = 1.8                   # within the jump of D(h), but outside what either side allows
    assert verdicts(analytic, made(n, n, jump), kinks=True) == ("fail", 0)
    analytic[2] = 3.0                                        # an error larger than the jump is not a kink's
    assert verdicts(analytic, made(n, n, jump), kinks=True) == ("fail", 0)


def test_one_sided_slopes_at_a_kink_bracket_both_derivatives():
    a = np.array([0.0])
    d = differences(lambda: float(max(a[0], 0.0)), a, 1e-6, [0])
    low, high = d.one_sided
    assert (low[0], high[0]) == (0.0, 1.0)


def test_a_non_finite_or_missing_analytic_gradient_fails():
    n = np.ones(3)
    assert verdicts([1.0, np.nan, 1.0], made(n, n)) == ("fail", 0)
    (row,) = judge([Probe("layer", "W", (3,), 3, None, None)], kinks=False)
    assert (row.verdict, row.max_rel_error) == ("fail", math.inf)


# ----------------------------------------------------------------------------------- numeric gradient

def test_numeric_gradient_of_a_cubic_and_the_array_restored_exactly():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4))
    before = a.copy()
    c = rng.standard_normal((3, 4))
    grad = numeric_gradient(lambda: float(np.sum(c * a ** 3)), a, 1e-6)
    np.testing.assert_allclose(grad, 3 * c * before ** 2, rtol=1e-7, atol=1e-9)
    np.testing.assert_array_equal(a, before)


def test_numeric_gradient_on_chosen_flat_indices_of_a_strided_view():
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    view = base.T                                          # (4, 3), not C-contiguous
    grad = numeric_gradient(lambda: float(np.sum(view ** 2)), view, 1e-4, indices=[0, 5, 11])
    np.testing.assert_allclose(grad, 2 * view.reshape(-1)[[0, 5, 11]], rtol=1e-10)
    assert grad.shape == (3,)
    np.testing.assert_array_equal(base, np.arange(12).reshape(3, 4))


# ------------------------------------------------------------------------------------------ layers

def test_check_layer_samples_large_tensors_and_records_it():
    layer = build("dense", (30,), units=20)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 30))
    rows = check_layer(layer, x, rng, max_entries=50)
    assert [(r.where, r.tensor, r.shape, r.checked, r.total) for r in rows] == [
        ("dense", "x", (3, 30), 50, 90), ("dense", "W", (30, 20), 50, 600), ("dense", "b", (20,), 20, 20)]
    assert all(r.verdict == "pass" for r in rows)


def test_check_layer_restores_inputs_params_and_buffers_and_holds_dropout_masks():
    rng = np.random.default_rng(2)
    norm_layer = build("batchnorm", (4,))
    x = rng.standard_normal((5, 4))
    saved_x, saved_gamma = x.copy(), norm_layer.params["gamma"].copy()
    check_layer(norm_layer, x, rng)
    np.testing.assert_array_equal(x, saved_x)
    np.testing.assert_array_equal(norm_layer.params["gamma"], saved_gamma)
    np.testing.assert_array_equal(norm_layer.buffers["running_mean"], np.zeros(4))
    np.testing.assert_array_equal(norm_layer.buffers["running_var"], np.ones(4))

    drop = build("dropout", (40,), p=0.5)
    assert check_layer(drop, rng.standard_normal((3, 40)), rng)[0].verdict == "pass"


def test_a_missing_or_misshapen_gradient_fails_without_crashing(monkeypatch):
    right = dense.Dense.backward

    def forgets_bias(self, dy, need_input_grad=True):
        dx = right(self, dy, need_input_grad)
        del self.grads["b"]
        self.grads["W"] = self.grads["W"][:-1]
        return dx

    monkeypatch.setattr(dense.Dense, "backward", forgets_bias)
    layer = build("dense", (4,), units=2)
    layer.grads.clear()
    rows = check_layer(layer, np.ones((2, 4)), np.random.default_rng(3))
    assert [(r.tensor, r.checked, r.max_rel_error, r.verdict) for r in rows[1:]] == [
        ("W", 0, math.inf, "fail"), ("b", 0, math.inf, "fail")]


class WeightedSum(Layer):
    """A two-input layer for the test: y = a * x0 + x1 * x1 with a learned scalar a."""

    arity = "many"

    def output_shape(self, in_shapes):
        return tuple(in_shapes[0])

    def create_params(self, rng):
        self.params["a"] = np.array([1.5])

    def forward(self, xs, training, rng=None):
        self.xs = xs
        return self.params["a"] * xs[0] + xs[1] * xs[1]

    def backward(self, dy, need_input_grad=True):
        self.grads["a"] = np.array([np.sum(dy * self.xs[0])])
        return [dy * self.params["a"], 2 * dy * self.xs[1]]


def test_check_layer_with_several_inputs():
    layer = WeightedSum("mix")
    layer.build([(3,), (3,)], np.random.default_rng(0), np.float64)
    rng = np.random.default_rng(4)
    rows = check_layer(layer, [rng.standard_normal((2, 3)), rng.standard_normal((2, 3))], rng)
    assert [(r.tensor, r.verdict) for r in rows] == [("x[0]", "pass"), ("x[1]", "pass"), ("a", "pass")]


# ------------------------------------------------------------------------------------------- losses

def test_check_loss_row():
    rng = np.random.default_rng(5)
    scores = rng.standard_normal((3, 2))
    row = check_loss(MeanSquaredError(), scores, rng.standard_normal((3, 2)))
    assert isinstance(row, CheckRow)
    assert (row.where, row.tensor, row.shape, row.checked, row.total, row.verdict) == (
        "loss", "scores", (3, 2), 6, 6, "pass")
    assert row.max_rel_error <= 1e-7


# ----------------------------------------------------------------------------------------- networks

def network_and_objective(layers: list, loss: dict, regularization: dict, in_shape: tuple = (6,)):
    rng = np.random.default_rng(9)
    model_cfg, paths = resolve_model_config(layers, "model")
    network = build_network(model_cfg, in_shape, rng, np.float64, paths)
    objective = build_objective(resolve_loss_config(loss, "loss"), regularization, network)
    return network, objective


MLP = [{"type": "dense", "units": 5}, {"type": "batchnorm"}, {"type": "gelu"}, {"type": "dropout", "p": 0.3},
       {"type": "dense", "units": 4}, {"type": "layernorm"}, {"type": "tanh"}, {"type": "dense", "units": 3}]


def test_check_network_passes_every_parameter_including_penalties():
    network, objective = network_and_objective(MLP, {"type": "softmax_cross_entropy", "label_smoothing": 0.1},
                                               {"l2": 0.3})
    rng = np.random.default_rng(10)
    x, y = rng.standard_normal((5, 6)), rng.integers(0, 3, size=5)
    buffers = {k: v.copy() for k, v in network.buffers().items()}
    rows = check_network(network, objective, x, y, rng)
    assert [(r.where, r.tensor) for r in rows] == [
        ("dense1", "W"), ("dense1", "b"), ("batchnorm1", "gamma"), ("batchnorm1", "beta"), ("dense2", "W"),
        ("dense2", "b"), ("layernorm1", "gain"), ("layernorm1", "bias"), ("dense3", "W"), ("dense3", "b")]
    assert all(r.verdict == "pass" for r in rows), rows
    # dense1.b feeds batch norm: its true gradient is zero and the check must agree, not divide noise by noise
    assert rows[1].max_rel_error <= 1e-7
    for k, v in network.buffers().items():
        np.testing.assert_array_equal(v, buffers[k])


def test_check_network_catches_a_missing_penalty_gradient(monkeypatch):
    network, objective = network_and_objective(MLP[-1:], {"type": "mse"}, {"l2": 0.5})
    monkeypatch.setattr(type(objective), "add_penalty_grads", lambda self, params, grads: None)
    rng = np.random.default_rng(11)
    rows = check_network(network, objective, rng.standard_normal((4, 6)), rng.standard_normal((4, 3)), rng)
    assert [(r.tensor, r.verdict) for r in rows] == [("W", "fail"), ("b", "pass")]


def test_check_network_catches_a_wrong_layer_deep_inside(monkeypatch):
    monkeypatch.setattr(LAYERS.table["gelu"], "backward", lambda self, dy, need_input_grad=True: dy * 0.5 * (1 + self.t))
    network, objective = network_and_objective(MLP, {"type": "softmax_cross_entropy"}, {})
    rng = np.random.default_rng(12)
    rows = check_network(network, objective, rng.standard_normal((5, 6)), rng.integers(0, 3, size=5), rng)
    verdicts = {(r.where, r.tensor): r.verdict for r in rows}
    assert verdicts[("dense1", "W")] == "fail" and verdicts[("batchnorm1", "gamma")] == "fail"
    assert verdicts[("dense3", "W")] == "pass"


def test_check_network_with_kinks_passes_away_from_them():
    layers = [{"type": "dense", "units": 4}, {"type": "relu"}, {"type": "dense", "units": 2}]
    network, objective = network_and_objective(layers, {"type": "huber"}, {"l1": 0.01})
    rng = np.random.default_rng(13)
    rows = check_network(network, objective, rng.standard_normal((3, 6)), rng.standard_normal((3, 2)), rng)
    assert all(r.verdict == "pass" for r in rows), rows


@pytest.mark.parametrize("activation, regularization", [("relu", {}), ("tanh", {}), ("tanh", {"l1": 0.01})])
def test_an_error_of_1e5_fails_where_something_kinks_too(monkeypatch, activation, regularization):
    right = dense.Dense.backward

    def slightly_off(self, dy, need_input_grad=True):
        dx = right(self, dy, need_input_grad)
        self.grads["W"] = self.grads["W"] * (1 + 1e-5)
        return dx

    monkeypatch.setattr(dense.Dense, "backward", slightly_off)
    layers = [{"type": "dense", "units": 4}, {"type": activation}, {"type": "dense", "units": 2}]
    network, objective = network_and_objective(layers, {"type": "mse"}, regularization)
    rng = np.random.default_rng(14)
    rows = check_network(network, objective, rng.standard_normal((3, 6)), rng.standard_normal((3, 2)), rng)
    assert [(r.where, r.tensor, r.verdict) for r in rows] == [
        ("dense1", "W", "fail"), ("dense1", "b", "pass"), ("dense2", "W", "fail"), ("dense2", "b", "pass")]


def test_ties_in_a_max_pass_one_sidedly_and_a_wrong_gradient_there_still_fails(monkeypatch):
    from nnctl.layers.pool import MaxPool2D

    rng = np.random.default_rng(15)
    x = np.maximum(rng.standard_normal((2, 2, 4, 4)) - 1.0, 0.0)    # ReLU outputs: many windows tie at 0
    layer = build("maxpool2d", (2, 4, 4), kernel=2)
    (row,) = check_layer(layer, x, rng, max_entries=10_000)
    assert (row.verdict, row.checked) == ("pass", 64) and row.on_kinks >= 10, row
    right = MaxPool2D.backward
    monkeypatch.setattr(MaxPool2D, "backward", lambda self, dy, need_input_grad=True: right(self, dy) * 1.001)
    (row,) = check_layer(build("maxpool2d", (2, 4, 4), kernel=2), x, np.random.default_rng(15), max_entries=10_000)
    assert row.verdict == "fail"


FROZEN_BN = [{"type": "dense", "units": 5}, {"type": "batchnorm", "trainable": False}, {"type": "tanh"},
             {"type": "dense", "units": 3}]


def frozen_bn_network():
    """dense -> frozen batch norm (stored statistics, not the batch's) -> tanh -> dense, in float64."""
    network, objective = network_and_objective(FROZEN_BN, {"type": "softmax_cross_entropy"}, {})
    bn = network.by_name["batchnorm1"].layer
    bn.buffers["running_mean"][...] = [0.3, -0.2, 0.1, 0.0, 0.5]
    bn.buffers["running_var"][...] = [2.0, 0.5, 1.5, 1.0, 3.0]
    bn.params["gamma"][...] = [1.5, 0.7, 1.0, 2.0, 0.9]
    return network, objective


def test_a_frozen_batchnorm_backpropagates_through_its_stored_statistics():
    network, objective = frozen_bn_network()
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((6, 6)), rng.integers(0, 3, size=6)
    running = network.by_name["batchnorm1"].layer.buffers["running_mean"].copy()
    rows = check_network(network, objective, x, y, rng)
    assert [(r.where, r.tensor, r.verdict) for r in rows] == [
        ("dense1", "W", "pass"), ("dense1", "b", "pass"), ("dense2", "W", "pass"), ("dense2", "b", "pass")]
    # with batch statistics dense1.b's gradient would be zero; through stored statistics it is not
    objective.forward(network, x, y, training=True)
    objective.backward(network)
    assert np.abs(network.grads()["dense1.b"]).max() > 1e-3
    np.testing.assert_array_equal(network.by_name["batchnorm1"].layer.buffers["running_mean"], running)


def test_a_wrong_fixed_statistics_backward_fails_the_check(monkeypatch):
    original = LAYERS.table["batchnorm"].backward

    def forgets_the_scale(self, dy, need_input_grad=True):
        dx = original(self, dy, need_input_grad)
        return dy if not self.batch_stats else dx

    monkeypatch.setattr(LAYERS.table["batchnorm"], "backward", forgets_the_scale)
    network, objective = frozen_bn_network()
    rng = np.random.default_rng(14)
    rows = check_network(network, objective, rng.standard_normal((6, 6)), rng.integers(0, 3, size=6), rng)
    verdicts = {(r.where, r.tensor): r.verdict for r in rows}
    assert verdicts[("dense1", "W")] == "fail" and verdicts[("dense2", "W")] == "pass"

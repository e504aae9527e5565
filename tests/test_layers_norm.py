"""Batch norm and layer norm: outputs against the formulas computed by hand, running statistics after
known updates, the three evaluation modes, and the recompute pass."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.errors import WorkError
from nnctl.layers.norm import PopulationMoments
from nnctl.nn.registry import LAYERS
from nnctl.options.spec import validate

EPS = 1e-5


def build(kind: str, in_shape: tuple, dtype=np.float64, **options):
    cls = LAYERS.lookup(kind, "test")
    layer = cls(kind, **validate(cls.options, options, "test"))
    layer.build(in_shape, np.random.default_rng(0), dtype)
    return layer


def by_hand(x, mean, var, gamma, beta, eps=EPS):
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


# Two batches with exact statistics: per-feature means and biased variances.
BATCH1 = np.array([[1.0, 2.0], [3.0, 6.0]])      # mean [2, 4],  var [1, 4]
BATCH2 = np.array([[0.0, 0.0], [4.0, -2.0]])     # mean [2, -1], var [4, 1]


def test_batchnorm_training_output_is_the_formula_with_batch_statistics():
    layer = build("batchnorm", (2,))
    layer.params["gamma"][...] = [2.0, 0.5]
    layer.params["beta"][...] = [1.0, -1.0]
    y = layer.forward(BATCH1, training=True)
    expected = by_hand(BATCH1, np.array([2.0, 4.0]), np.array([1.0, 4.0]), [2.0, 0.5], [1.0, -1.0])
    np.testing.assert_allclose(y, expected, rtol=1e-14, atol=0)
    # by hand, feature 0: (1 - 2) / sqrt(1 + 1e-5) * 2 + 1
    assert y[0, 0] == pytest.approx(1 - 2 / np.sqrt(1 + EPS), rel=1e-15)


def test_batchnorm_running_averages_after_two_known_updates():
    layer = build("batchnorm", (2,))           # momentum 0.9: running = 0.9 * running + 0.1 * batch
    layer.forward(BATCH1, training=True)
    layer.forward(BATCH2, training=True)
    # mean: 0.9 * (0.9 * 0 + 0.1 * m1) + 0.1 * m2;  var: 0.9 * (0.9 * 1 + 0.1 * v1) + 0.1 * v2
    running_mean = np.array([0.09 * 2 + 0.1 * 2, 0.09 * 4 + 0.1 * -1])      # [0.38, 0.26]
    running_var = np.array([0.81 + 0.09 * 1 + 0.1 * 4, 0.81 + 0.09 * 4 + 0.1 * 1])   # [1.3, 1.27]
    np.testing.assert_allclose(layer.buffers["running_mean"], [0.38, 0.26], rtol=1e-14)
    np.testing.assert_allclose(layer.buffers["running_var"], [1.3, 1.27], rtol=1e-14)
    np.testing.assert_allclose(layer.buffers["running_mean"], running_mean, rtol=1e-14)
    np.testing.assert_allclose(layer.buffers["running_var"], running_var, rtol=1e-14)

    x = np.array([[0.5, -3.0], [7.0, 1.0], [2.0, 2.0]])
    y = layer.forward(x, training=False)
    np.testing.assert_allclose(y, by_hand(x, running_mean, running_var, 1.0, 0.0), rtol=1e-14)
    np.testing.assert_allclose(layer.buffers["running_mean"], running_mean, rtol=1e-14)   # eval: no update


def test_batchnorm_momentum_option_sets_the_weight_of_the_old_value():
    layer = build("batchnorm", (2,), momentum=0.5)
    layer.forward(BATCH1, training=True)
    np.testing.assert_array_equal(layer.buffers["running_mean"], [1.0, 2.0])      # 0.5 * 0 + 0.5 * [2, 4]
    np.testing.assert_array_equal(layer.buffers["running_var"], [1.0, 2.5])       # 0.5 * 1 + 0.5 * [1, 4]


def test_spatial_batchnorm_normalizes_per_channel_over_batch_and_positions():
    rng = np.random.default_rng(3)
    x = rng.normal(5.0, 3.0, size=(4, 3, 2, 5))
    layer = build("batchnorm", (3, 2, 5))
    layer.params["gamma"][...] = [1.0, 2.0, 3.0]
    layer.params["beta"][...] = [0.0, -1.0, 1.0]
    y = layer.forward(x, training=True)
    for c in range(3):
        values = x[:, c]
        expected = by_hand(values, values.mean(), values.var(), layer.params["gamma"][c], layer.params["beta"][c])
        np.testing.assert_allclose(y[:, c], expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-13)
    np.testing.assert_allclose(layer.buffers["running_var"], 0.9 + 0.1 * x.var(axis=(0, 2, 3)), rtol=1e-13)
    assert layer.params["gamma"].shape == (3,) and layer.buffers["running_var"].shape == (3,)


def test_batchnorm_batch_mode_evaluates_with_the_batch_statistics_and_updates_nothing():
    layer = build("batchnorm", (2,), test_stats="batch")
    y = layer.forward(BATCH2, training=False)
    np.testing.assert_allclose(y, by_hand(BATCH2, np.array([2.0, -1.0]), np.array([4.0, 1.0]), 1.0, 0.0),
                               rtol=1e-14)
    np.testing.assert_array_equal(layer.buffers["running_mean"], [0.0, 0.0])
    np.testing.assert_array_equal(layer.buffers["running_var"], [1.0, 1.0])


def test_batchnorm_backward_after_evaluation_is_the_affine_map():
    layer = build("batchnorm", (2,))
    layer.forward(BATCH1, training=True)
    layer.params["gamma"][...] = [2.0, -1.0]
    dy = np.array([[1.0, 2.0], [-3.0, 0.5]])
    layer.forward(BATCH2, training=False)
    dx = layer.backward(dy)
    scale = np.array([2.0, -1.0]) / np.sqrt(layer.buffers["running_var"] + EPS)
    np.testing.assert_allclose(dx, dy * scale, rtol=1e-15)
    xhat = (BATCH2 - layer.buffers["running_mean"]) / np.sqrt(layer.buffers["running_var"] + EPS)
    np.testing.assert_allclose(layer.grads["gamma"], (dy * xhat).sum(axis=0), rtol=1e-14)
    np.testing.assert_array_equal(layer.grads["beta"], dy.sum(axis=0))


def test_batchnorm_recompute_stores_the_population_statistics_of_all_batches():
    rng = np.random.default_rng(5)
    data = rng.normal(1000.0, 0.01, size=(103, 4, 3, 3))        # large mean, small spread: no cancellation
    layer = build("batchnorm", (4, 3, 3), test_stats="recompute")
    assert layer.needs_recompute
    layer.forward(data[:10], training=True)                      # running stats move; recompute ignores them
    moments = PopulationMoments(4)
    for start in range(0, 103, 25):                              # batches of 25, last one of 3
        moments.add(data[start:start + 25])
    layer.set_recomputed(moments)
    np.testing.assert_allclose(layer.buffers["recomputed_mean"], data.mean(axis=(0, 2, 3)), rtol=1e-15)
    np.testing.assert_allclose(layer.buffers["recomputed_var"], data.var(axis=(0, 2, 3)), rtol=1e-9)
    assert layer.buffers["recomputed_samples"][0] == 103 * 9

    x = data[:7]
    y = layer.forward(x, training=False)
    expected = by_hand(x, data.mean(axis=(0, 2, 3)).reshape(4, 1, 1), data.var(axis=(0, 2, 3)).reshape(4, 1, 1),
                       1.0, 0.0)
    np.testing.assert_allclose(y, expected, rtol=1e-7, atol=1e-7)


def test_batchnorm_recompute_in_float32_accumulates_in_float64():
    rng = np.random.default_rng(6)
    data = rng.normal(3.0, 2.0, size=(2000, 8)).astype(np.float32)
    layer = build("batchnorm", (8,), dtype=np.float32, test_stats="recompute")
    moments = PopulationMoments(8)
    for start in range(0, 2000, 64):
        moments.add(data[start:start + 64])
    layer.set_recomputed(moments)
    assert layer.forward(data[:64], training=False).dtype == np.float32
    wide = data.astype(np.float64)
    assert layer.buffers["recomputed_mean"].dtype == np.float32
    np.testing.assert_allclose(layer.buffers["recomputed_mean"], wide.mean(axis=0), rtol=1e-7)
    np.testing.assert_allclose(layer.buffers["recomputed_var"], wide.var(axis=0), rtol=1e-7)


def test_batchnorm_recompute_mode_falls_back_to_running_stats_until_recomputed():
    layer = build("batchnorm", (2,), test_stats="recompute")
    layer.forward(BATCH1, training=True)
    y = layer.forward(BATCH2, training=False)
    expected = by_hand(BATCH2, layer.buffers["running_mean"], layer.buffers["running_var"], 1.0, 0.0)
    np.testing.assert_allclose(y, expected, rtol=1e-15)
    assert set(layer.buffers) == {"running_mean", "running_var", "recomputed_mean", "recomputed_var",
                                  "recomputed_samples"}


def test_batchnorm_recompute_misuse_is_reported():
    with pytest.raises(ValueError, match="test_stats: recompute"):
        build("batchnorm", (2,)).set_recomputed(PopulationMoments(2))
    layer = build("batchnorm", (2,), test_stats="recompute")
    with pytest.raises(WorkError, match="batchnorm: no batches were seen"):
        layer.set_recomputed(PopulationMoments(2))
    assert set(build("batchnorm", (2,)).buffers) == {"running_mean", "running_var"}


def test_batchnorm_keeps_float32():
    layer = build("batchnorm", (3, 2, 2), dtype=np.float32)
    x = np.random.default_rng(0).standard_normal((4, 3, 2, 2)).astype(np.float32)
    y = layer.forward(x, training=True)
    dx = layer.backward(np.ones_like(y))
    assert y.dtype == dx.dtype == layer.grads["gamma"].dtype == layer.buffers["running_mean"].dtype == np.float32


def test_layernorm_normalizes_each_sample_over_all_its_features():
    rng = np.random.default_rng(8)
    x = rng.normal(2.0, 5.0, size=(3, 2, 3, 4))
    layer = build("layernorm", (2, 3, 4), eps=1e-3)
    layer.params["gain"][...] = rng.standard_normal((2, 3, 4))
    layer.params["bias"][...] = rng.standard_normal((2, 3, 4))
    y_train = layer.forward(x, training=True)
    y_eval = layer.forward(x, training=False)
    np.testing.assert_array_equal(y_train, y_eval)
    for n in range(3):
        expected = by_hand(x[n], x[n].mean(), x[n].var(), layer.params["gain"], layer.params["bias"], eps=1e-3)
        np.testing.assert_allclose(y_train[n], expected, rtol=1e-12, atol=1e-12)
    assert layer.params["gain"].shape == (2, 3, 4) and not layer.buffers


def test_layernorm_on_flat_features_by_hand():
    layer = build("layernorm", (4,), eps=0.0001)
    y = layer.forward(np.array([[1.0, 2.0, 3.0, 6.0]]), training=True)     # mean 3, var (4+1+0+9)/4 = 3.5
    np.testing.assert_allclose(y, [[-2, -1, 0, 3] / np.sqrt(3.5001)], rtol=1e-15)

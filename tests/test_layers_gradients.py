"""Every registered layer's backward against numeric gradients (float64), and deliberately wrong backwards
that the checker must catch, one per layer family."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.check.gradcheck import PASS_LIMIT, check_layer
from nnctl.layers import activations, dense, dropout, noise, norm, shape
from nnctl.nn.registry import LAYERS
from nnctl.options.spec import validate


def build(kind: str, in_shape: tuple, seed: int = 0, **options):
    cls = LAYERS.lookup(kind, "test")
    layer = cls(kind, **validate(cls.options, options, "test"))
    layer.build(in_shape, np.random.default_rng(seed), np.float64)
    return layer


def away_from_zero(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Standard normals pushed to |x| >= 0.1, so no centered difference straddles a kink at 0."""
    x = rng.standard_normal(shape)
    return x + np.where(x >= 0, 0.1, -0.1)


# (layer type, options, in_shape, batch sizes); kinked layers get inputs away from their kink at 0.
CASES = [
    ("dense", {"units": 3}, (5,), (1, 2, 7)),
    ("dense", {"units": 1, "bias": False}, (1,), (3,)),
    ("dense", {"units": 4, "init": "xavier"}, (9,), (5,)),
    ("relu", {}, (4, 3, 2), (1, 3)),
    ("leaky_relu", {"slope": 0.1}, (5,), (1, 2, 7)),
    ("sigmoid", {}, (5,), (1, 2, 7)),
    ("tanh", {}, (3, 3), (1, 5)),
    ("prelu", {}, (3, 4, 5), (1, 2, 5)),
    ("prelu", {"shared": True, "init": -0.3}, (7,), (1, 3)),
    ("prelu", {"init": 0.1}, (6,), (1, 4)),
    ("elu", {}, (5,), (1, 2, 7)),
    ("elu", {"alpha": 0.5}, (2, 3, 3), (1, 3)),
    ("gelu", {}, (5,), (1, 2, 7)),
    ("gelu", {}, (2, 3, 3), (3,)),
    ("softplus", {}, (5,), (1, 2, 7)),
    ("identity", {}, (2, 5), (1, 3)),
    ("flatten", {}, (2, 3, 4), (1, 3)),
    ("batchnorm", {}, (5,), (1, 3, 7)),
    ("batchnorm", {"eps": 0.5}, (4,), (2,)),
    ("batchnorm", {}, (3, 4, 5), (1, 2, 5)),
    ("batchnorm", {}, (2, 7), (3,)),
    ("layernorm", {}, (7,), (1, 2, 7)),
    ("layernorm", {}, (3, 4, 5), (1, 3)),
    ("dropout", {"p": 0.5}, (6, 5), (1, 2, 7)),
    ("dropout", {"p": 0.2}, (3, 2, 2), (3,)),
    ("noise", {"mode": "mask", "p": 0.3}, (6, 5), (1, 2, 7)),
    ("noise", {"mode": "gaussian", "std": 0.5}, (3, 2, 2), (1, 3)),
    ("noise", {"mode": "salt_pepper", "p": 0.4, "low": -1.0, "high": 2.0}, (12,), (1, 4)),
    ("reshape", {"shape": [1, 4, 3]}, (12,), (1, 3)),
    ("reshape", {"shape": [2, -1]}, (3, 2, 2), (2,)),
]
KINKED = {"relu", "leaky_relu", "prelu", "elu"}


def case_id(case) -> str:
    kind, options, in_shape, _ = case
    words = [kind] + [f"{k}={v}" for k, v in options.items()] + ["x".join(map(str, in_shape))]
    return "-".join(words)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_layer_gradients_match_numeric(case):
    kind, options, in_shape, batch_sizes = case
    rng = np.random.default_rng(123)
    for n in batch_sizes:
        layer = build(kind, in_shape, seed=n, **options)
        if "gamma" in layer.params:      # non-trivial affine part for the norm layers
            layer.params["gamma"][...] = 1 + 0.5 * rng.standard_normal(layer.params["gamma"].shape)
            layer.params["beta"][...] = rng.standard_normal(layer.params["beta"].shape)
        if "gain" in layer.params:
            layer.params["gain"][...] = 1 + 0.5 * rng.standard_normal(layer.params["gain"].shape)
            layer.params["bias"][...] = rng.standard_normal(layer.params["bias"].shape)
        shape_ = (n,) + in_shape
        x = away_from_zero(rng, shape_) if kind in KINKED else rng.standard_normal(shape_)
        rows = check_layer(layer, x, rng)
        assert [r.tensor for r in rows] == ["x"] + list(layer.params)
        for row in rows:
            assert row.max_rel_error <= PASS_LIMIT, (n, row)
            assert row.verdict == "pass"
            assert row.shape == (shape_ if row.tensor == "x" else layer.params[row.tensor].shape)


def test_every_layer_registered_here_has_a_gradient_case():
    mine = {"dense", "relu", "leaky_relu", "sigmoid", "tanh", "prelu", "elu", "gelu", "softplus", "identity",
            "flatten", "batchnorm", "layernorm", "dropout", "noise", "reshape"}
    assert mine <= set(LAYERS.names())
    assert {case[0] for case in CASES} == mine


# ------------------------------------------------------------------------------- wrong backwards fail

def failing_tensors(kind: str, in_shape: tuple, n: int = 4, **options) -> set[str]:
    rng = np.random.default_rng(7)
    layer = build(kind, in_shape, **options)
    rows = check_layer(layer, away_from_zero(rng, (n,) + in_shape), rng)
    return {r.tensor for r in rows if r.verdict == "fail"}


def test_dense_bias_gradient_averaged_instead_of_summed_fails(monkeypatch):
    right = dense.Dense.backward

    def wrong(self, dy, need_input_grad=True):
        dx = right(self, dy, need_input_grad)
        self.grads["b"] = dy.mean(axis=0)
        return dx

    monkeypatch.setattr(dense.Dense, "backward", wrong)
    assert failing_tensors("dense", (5,), units=3) == {"b"}


def test_dense_weight_gradient_from_the_wrong_product_fails(monkeypatch):
    right = dense.Dense.backward

    def wrong(self, dy, need_input_grad=True):
        x = self.x
        dx = right(self, dy, need_input_grad)
        self.grads["W"] = x[::-1].T @ dy      # rows of x paired with the wrong rows of dy
        return dx

    monkeypatch.setattr(dense.Dense, "backward", wrong)
    assert failing_tensors("dense", (5,), units=3) == {"W"}


@pytest.mark.parametrize("cls, kind", [(activations.ReLU, "relu"), (activations.LeakyReLU, "leaky_relu"),
                                       (activations.Tanh, "tanh")])
def test_kinked_or_smooth_activation_with_a_wrong_slope_fails(monkeypatch, cls, kind):
    monkeypatch.setattr(cls, "backward", lambda self, dy, need_input_grad=True: dy)     # pretends the slope is 1 everywhere
    assert failing_tensors(kind, (6,)) == {"x"}


def test_sigmoid_backward_missing_a_factor_fails(monkeypatch):
    monkeypatch.setattr(activations.Sigmoid, "backward", lambda self, dy, need_input_grad=True: dy * self.y)
    assert failing_tensors("sigmoid", (6,)) == {"x"}


def test_prelu_alpha_gradient_over_the_wrong_values_fails(monkeypatch):
    right = activations.PReLU.backward

    def wrong(self, dy, need_input_grad=True):
        negative = self.negative
        dx = right(self, dy, need_input_grad)
        self.grads["alpha"] = (dy * -negative).sum(axis=self.axes)      # sign error
        return dx

    monkeypatch.setattr(activations.PReLU, "backward", wrong)
    assert failing_tensors("prelu", (3, 2, 2)) == {"alpha"}


def test_elu_gelu_softplus_wrong_derivatives_fail(monkeypatch):
    monkeypatch.setattr(activations.ELU, "backward", lambda self, dy, need_input_grad=True: np.where(self.mask, dy, dy * self.y))
    monkeypatch.setattr(activations.GELU, "backward", lambda self, dy, need_input_grad=True: dy * 0.5 * (1 + self.t))
    monkeypatch.setattr(activations.Softplus, "backward", lambda self, dy, need_input_grad=True: dy * np.where(self.positive, 1, 0.0))
    for kind in ("elu", "gelu", "softplus"):
        assert failing_tensors(kind, (6,)) == {"x"}, kind


def test_flatten_backward_in_the_wrong_order_fails(monkeypatch):
    monkeypatch.setattr(shape.Flatten, "backward",
                        lambda self, dy, need_input_grad=True: dy.reshape((dy.shape[0],) + tuple(self.in_shape), order="F"))
    assert failing_tensors("flatten", (2, 3)) == {"x"}


def test_batchnorm_backward_without_the_variance_term_fails(monkeypatch):
    def wrong(self, dy, need_input_grad=True):
        self.grads["gamma"] = (dy * self.xhat).sum(axis=self.axes)
        self.grads["beta"] = dy.sum(axis=self.axes)
        per_channel = dy.size // self.grads["beta"].size
        dx = (dy - (self.grads["beta"] / per_channel).reshape(self.broadcast))
        return dx * self.params["gamma"].reshape(self.broadcast) * self.inv_std

    monkeypatch.setattr(norm.BatchNorm, "backward", wrong)
    assert failing_tensors("batchnorm", (5,), n=6) == {"x"}
    assert failing_tensors("batchnorm", (2, 3, 3), n=3) == {"x"}


def test_layernorm_backward_treating_statistics_as_constants_fails(monkeypatch):
    right = norm.LayerNorm.backward

    def wrong(self, dy, need_input_grad=True):
        inv_std, gain = self.inv_std, self.params["gain"]
        right(self, dy, need_input_grad)
        return (dy * gain).reshape(dy.shape[0], -1) * inv_std

    monkeypatch.setattr(norm.LayerNorm, "backward", wrong)
    assert failing_tensors("layernorm", (6,)) == {"x"}


def test_dropout_backward_without_the_rescaling_fails(monkeypatch):
    monkeypatch.setattr(dropout.Dropout, "backward", lambda self, dy, need_input_grad=True: dy * self.keep)
    assert failing_tensors("dropout", (10,), p=0.5) == {"x"}


def test_noise_mask_backward_that_ignores_the_mask_fails(monkeypatch):
    monkeypatch.setattr(noise.Noise, "backward", lambda self, dy, need_input_grad=True: dy)
    assert failing_tensors("noise", (10,), mode="mask", p=0.5) == {"x"}
    assert failing_tensors("noise", (10,), mode="salt_pepper", p=0.5) == {"x"}


def test_noise_mask_backward_rescaled_like_dropout_fails(monkeypatch):
    monkeypatch.setattr(noise.Noise, "backward", lambda self, dy, need_input_grad=True: dy * self.keep / 0.5)
    assert failing_tensors("noise", (10,), mode="mask", p=0.5) == {"x"}


def test_noise_gaussian_backward_scaled_by_the_noise_fails(monkeypatch):
    monkeypatch.setattr(noise.Noise, "backward", lambda self, dy, need_input_grad=True: dy * (1 + self.how.std))
    assert failing_tensors("noise", (10,), mode="gaussian", std=0.5) == {"x"}


def test_reshape_backward_in_the_wrong_order_fails(monkeypatch):
    def wrong(self, dy, need_input_grad=True):
        return dy.reshape((dy.shape[0],) + tuple(self.in_shape), order="F")

    monkeypatch.setattr(shape.Reshape, "backward", wrong)
    assert failing_tensors("reshape", (6,), shape=[2, 3]) == {"x"}

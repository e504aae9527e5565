"""Losses: values and gradients on tiny hand-computed examples, stability at huge logits, numeric gradient
checks (float64) on several shapes, wrong backwards caught, options and metadata."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from nnctl.nn import losses
from nnctl.errors import ConfigError, InputError
from nnctl.check.gradcheck import PASS_LIMIT, check_loss
from nnctl.nn.registry import LOSSES


def make(kind: str, **options) -> losses.Loss:
    return LOSSES.lookup(kind, "loss.type")(**options)


def value_and_grad(kind: str, scores, target, **options):
    loss = make(kind, **options)
    value = loss.forward(np.asarray(scores, dtype=np.float64), np.asarray(target))
    return value, loss.backward()


# --------------------------------------------------------------------------------- hand-computed values

def test_softmax_cross_entropy_by_hand():
    value, grad = value_and_grad("softmax_cross_entropy", [[0.0, 0.0, 0.0, 0.0]], [2])
    assert value == pytest.approx(math.log(4), rel=1e-15)
    np.testing.assert_array_equal(grad, [[0.25, 0.25, -0.75, 0.25]])
    value, _ = value_and_grad("softmax_cross_entropy", [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], [2, 0])
    assert value == pytest.approx((math.log1p(math.exp(-1) + math.exp(-2)) + math.log(3)) / 2, rel=1e-15)


def test_label_smoothing_by_hand():
    # C = 4, e = 0.2: q = 0.85 on the label and 0.05 elsewhere; uniform scores give p = 1/4 everywhere.
    value, grad = value_and_grad("softmax_cross_entropy", [[0.0, 0.0, 0.0, 0.0]], [1], label_smoothing=0.2)
    assert value == pytest.approx(math.log(4), rel=1e-15)
    np.testing.assert_allclose(grad, [[0.2, -0.6, 0.2, 0.2]], rtol=1e-15)
    # scores [ln 2, 0]: p = [2/3, 1/3]; C = 2, e = 0.5: q = [0.25, 0.75] for label 1
    value, grad = value_and_grad("softmax_cross_entropy", [[math.log(2), 0.0]], [1], label_smoothing=0.5)
    assert value == pytest.approx(-(0.25 * math.log(2 / 3) + 0.75 * math.log(1 / 3)), rel=1e-15)
    np.testing.assert_allclose(grad, [[2 / 3 - 0.25, 1 / 3 - 0.75]], rtol=1e-15)


def test_svm_by_hand():
    # sample 0, label 0: margins 5 - 3.25 + 1 = 2.75 and -1.75 - 3.25 + 1 < 0;  sample 1, label 2: 0.5 + 1 and 1
    scores = [[3.25, 5.0, -1.75], [1.0, 0.0, -0.5]]
    value, grad = value_and_grad("svm", scores, [0, 2])
    assert value == (2.75 + 2.5 + 1.5) / 2
    np.testing.assert_array_equal(grad, [[-0.5, 0.5, 0.0], [0.5, 0.5, -1.0]])
    value, _ = value_and_grad("svm", scores, [0, 2], margin=0.25)
    assert value == (2.0 + 1.75 + 0.75) / 2


def test_sigmoid_bce_by_hand():
    value, grad = value_and_grad("sigmoid_bce", [[0.0, 0.0], [0.0, 0.0]], [[1, 0], [0, 1]])
    assert value == pytest.approx(math.log(2), rel=1e-15)
    np.testing.assert_array_equal(grad, [[-0.125, 0.125], [0.125, -0.125]])
    value, grad = value_and_grad("sigmoid_bce", [[math.log(3)], [-math.log(3)]], [1.0, 1.0])   # (N,) labels
    # sigmoid(ln 3) = 3/4, sigmoid(-ln 3) = 1/4: mean of -ln(3/4) and -ln(1/4)
    assert value == pytest.approx((math.log(4 / 3) + math.log(4)) / 2, rel=1e-15)
    np.testing.assert_allclose(grad, [[-0.125], [-0.375]], rtol=1e-15)
    assert grad.shape == (2, 1)


def test_regression_losses_by_hand():
    scores = [[1.0, 2.0], [3.0, 4.5]]
    target = [[0.0, 2.0], [5.0, 4.0]]                    # residuals 1, 0, -2, 0.5
    value, grad = value_and_grad("mse", scores, target)
    assert value == (1 + 0 + 4 + 0.25) / 4
    np.testing.assert_array_equal(grad, [[0.5, 0.0], [-1.0, 0.25]])
    value, grad = value_and_grad("l1", scores, target)
    assert value == (1 + 0 + 2 + 0.5) / 4
    np.testing.assert_array_equal(grad, [[0.25, 0.0], [-0.25, 0.25]])
    value, grad = value_and_grad("huber", scores, target)     # 0.5, 0, 1 * (2 - 0.5), 0.125
    assert value == (0.5 + 0 + 1.5 + 0.125) / 4
    np.testing.assert_array_equal(grad, [[0.25, 0.0], [-0.25, 0.125]])
    value, grad = value_and_grad("huber", scores, target, delta=0.5)   # 0.5 * (1 - 0.25), 0, 0.5 * 1.75, 0.125
    assert value == (0.375 + 0 + 0.875 + 0.125) / 4
    np.testing.assert_array_equal(grad, [[0.125, 0.0], [-0.125, 0.125]])


def test_regression_accepts_flat_targets_for_one_output():
    value, grad = value_and_grad("mse", [[1.0], [3.0]], [0.0, 1.0])
    assert value == (1 + 4) / 2
    np.testing.assert_array_equal(grad, [[1.0], [2.0]])


# ----------------------------------------------------------------------------------- stability and dtype

def test_huge_logits_are_stable():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, grad = value_and_grad("softmax_cross_entropy", [[1000.0, 0.0, -1000.0]], [0])
        assert value == 0.0 and np.isfinite(grad).all()
        value, grad = value_and_grad("softmax_cross_entropy", [[1000.0, 0.0, -1000.0]], [1])
        assert value == 1000.0
        np.testing.assert_array_equal(grad, [[1.0, -1.0, 0.0]])
        value, _ = value_and_grad("softmax_cross_entropy", [[1e4, -1e4]], [1], label_smoothing=0.1)
        assert value == pytest.approx(0.9 * 2e4 + 0.05 * 2e4, rel=1e-12)
        value, grad = value_and_grad("sigmoid_bce", [[1000.0, 1000.0, -1000.0]], [[1, 0, 1]])
        assert value == 2000.0 / 3
        np.testing.assert_array_equal(grad, [[0.0, 1 / 3, -1 / 3]])
        value, _ = value_and_grad("svm", [[1e30, -1e30]], [0])
        assert value == 0.0


@pytest.mark.parametrize("kind, target", [("softmax_cross_entropy", [0, 2]), ("svm", [1, 0]),
                                          ("sigmoid_bce", [[1, 0, 0], [0, 1, 1]]),
                                          ("mse", [[0.5, 1, 2], [3, 1, 0]]), ("l1", [[0.5, 1, 2], [3, 1, 0]]),
                                          ("huber", [[0.5, 1, 2], [3, 1, 0]])])
def test_gradients_keep_float32(kind, target):
    loss = make(kind)
    scores = np.array([[0.1, 2.0, -1.0], [0.5, -0.3, 4.0]], dtype=np.float32)
    loss.forward(scores, np.asarray(target))
    assert loss.backward().dtype == np.float32


def test_mismatched_targets_are_an_input_error():
    with pytest.raises(InputError, match=r"loss mse: targets of shape \(3,\) do not fit scores of shape \(3, 2\)"):
        make("mse").forward(np.zeros((3, 2)), np.zeros(3))


# ---------------------------------------------------------------------------------- numeric gradients

def scores_and_target(kind: str, n: int, k: int, rng: np.random.Generator):
    """Scores with their target, kept away from each loss's kinks (margins, residuals, |r| = delta)."""
    if kind in ("softmax_cross_entropy", "svm"):
        target = rng.integers(0, k, size=n)
        if kind == "softmax_cross_entropy":
            return 2 * rng.standard_normal((n, k)), target
        # every margin s_j - s_y + 1 is an odd multiple of 0.125, so at least 0.125 away from the kink at 0
        scores = 0.5 * rng.integers(-4, 5, size=(n, k)) + 0.25 * (np.arange(k) % 2)
        scores[np.arange(n), target] = 0.125
        return scores + 0.01 * rng.standard_normal((n, 1)), target
    if kind == "sigmoid_bce":
        return 3 * rng.standard_normal((n, k)), rng.integers(0, 2, size=(n, k))
    target = rng.standard_normal((n, k))
    residual = rng.uniform(0.1, 3.0, size=(n, k)) * rng.choice([-1, 1], size=(n, k))
    if kind == "huber":
        residual[np.abs(np.abs(residual) - 1.0) < 0.1] *= 1.5
    return target + residual, target


@pytest.mark.parametrize("kind", ["softmax_cross_entropy", "svm", "sigmoid_bce", "mse", "l1", "huber"])
def test_loss_gradients_match_numeric(kind):
    rng = np.random.default_rng(21)
    for n, k in [(1, 3), (2, 5), (7, 4), (5, 1) if kind not in ("softmax_cross_entropy", "svm") else (5, 2)]:
        scores, target = scores_and_target(kind, n, k, rng)
        row = check_loss(make(kind), scores, target)
        assert row.max_rel_error <= PASS_LIMIT, (n, k, row)
        assert (row.verdict, row.checked, row.total, row.shape) == ("pass", n * k, n * k, (n, k))


def test_label_smoothing_gradient_matches_numeric():
    rng = np.random.default_rng(22)
    for n, k in [(1, 3), (6, 5)]:
        scores, target = scores_and_target("softmax_cross_entropy", n, k, rng)
        assert check_loss(make("softmax_cross_entropy", label_smoothing=0.3), scores, target).verdict == "pass"


@pytest.mark.parametrize("kind, wrong", [
    ("softmax_cross_entropy", lambda self: self.probs / self.probs.shape[0]),       # forgot the one-hot
    ("svm", lambda self: self.active / self.active.shape[0]),                     # forgot the label column
    ("sigmoid_bce", lambda self: self.residual),                                     # forgot to average
    ("mse", lambda self: self.residual / self.residual.size),                       # lost the factor 2
    ("l1", lambda self: np.abs(self.residual) / self.residual.size),                # lost the sign
    ("huber", lambda self: np.sign(self.slope) / self.slope.size),                  # treated as l1
])
def test_wrong_loss_backward_fails_the_check(monkeypatch, kind, wrong):
    monkeypatch.setattr(LOSSES.table[kind], "backward", wrong)
    rng = np.random.default_rng(23)
    scores, target = scores_and_target(kind, 4, 3, rng)
    assert check_loss(make(kind), scores, target).verdict == "fail"


# ------------------------------------------------------------------------------------- options and meta

def test_expected_initial_and_kinks_and_tasks():
    table = {kind: (make(kind).expected_initial(10), make(kind).kinks(), make(kind).task)
             for kind in LOSSES.names()}
    assert table["softmax_cross_entropy"] == (math.log(10), False, "classification")
    assert table["svm"] == (9.0, True, "classification")
    assert table["sigmoid_bce"] == (None, False, "binary")
    assert table["mse"] == (None, False, "regression")
    assert table["l1"] == (None, True, "regression")
    assert table["huber"] == (None, True, "regression")
    assert make("svm", margin=0.5).expected_initial(4) == 1.5


def test_svm_at_zero_scores_equals_its_expected_initial_loss():
    loss = make("svm", margin=2.0)
    assert loss.forward(np.zeros((3, 5)), np.array([0, 4, 2])) == loss.expected_initial(5) == 8.0


def test_loss_options_are_validated_with_defaults_filled():
    assert make("softmax_cross_entropy").config == {"label_smoothing": 0.0, "class_weights": None}
    assert make("huber").config == {"delta": 1.0}
    with pytest.raises(ConfigError, match=r"loss.label_smoothing: expected a number in \[0, 1\), got 1.0"):
        make("softmax_cross_entropy", label_smoothing=1.0)
    with pytest.raises(ConfigError, match=r"loss.marjin: unknown key \(did you mean 'margin'\?\)"):
        make("svm", marjin=1.0)

"""loss.class_weights: hand-computed weighted values and gradients, float64 numeric gradient checks that a
wrong backward fails, `balanced` from the training labels, the config errors, and a whole run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from nnctl.check.gradcheck import PASS_LIMIT, check_loss
from nnctl.cli import cli
from nnctl.nn.class_weights import balanced_weights
from nnctl.nn.registry import LOSSES


def weighted(kind: str, weights, **options):
    loss = LOSSES.lookup(kind, "loss.type")(**options)
    loss.use_class_weights(np.asarray(weights, dtype=np.float64))
    return loss


def test_balanced_weights_by_hand():
    # 6 samples of 3 classes: counts 3, 2, 1 -> 6 / (3 * count); a missing class gets 0
    np.testing.assert_array_equal(balanced_weights(np.array([0, 0, 0, 1, 1, 2]), 3), [2 / 3, 1.0, 2.0])
    np.testing.assert_array_equal(balanced_weights(np.array([0, 0, 2, 2]), 3), [2 / 3, 0.0, 2 / 3])


def test_weighted_softmax_by_hand():
    # uniform scores: every per-sample loss is ln 4; weights of labels 2 and 0 are 3 and 0.5
    loss = weighted("softmax_cross_entropy", [0.5, 1.0, 3.0, 1.0])
    value = loss.forward(np.zeros((2, 4)), np.array([2, 0]))
    assert value == pytest.approx((3 + 0.5) * math.log(4) / 2, rel=1e-15)
    np.testing.assert_array_equal(loss.backward(), [[0.375, 0.375, -1.125, 0.375],
                                                    [-0.1875, 0.0625, 0.0625, 0.0625]])


def test_weighted_svm_by_hand():
    # the unweighted case's margins (2.75; 2.5 and 1.5) with weights 2 (label 0) and 0.5 (label 2)
    loss = weighted("svm", [2.0, 1.0, 0.5])
    assert loss.forward(np.array([[3.25, 5.0, -1.75], [1.0, 0.0, -0.5]]), np.array([0, 2])) == \
        (2 * 2.75 + 0.5 * 4.0) / 2
    np.testing.assert_array_equal(loss.backward(), [[-1.0, 1.0, 0.0], [0.25, 0.25, -0.5]])


def test_weighted_sigmoid_bce_by_hand():
    # zero logits: each value ln 2, gradient (0.5 - t) / N; weight 4 where t = 1 and 1 where t = 0
    loss = weighted("sigmoid_bce", [1.0, 4.0])
    value = loss.forward(np.zeros((2, 1)), np.array([1, 0]))
    assert value == pytest.approx(5 * math.log(2) / 2, rel=1e-15)
    np.testing.assert_array_equal(loss.backward(), [[-1.0], [0.25]])


def check_case(kind: str, rng: np.random.Generator):
    """(scores, target, weights) away from the kinks, float64."""
    n, k = 6, 4
    target = rng.integers(0, k, size=n)
    weights = rng.uniform(0.2, 5.0, size=k)
    if kind == "softmax_cross_entropy":
        return 2 * rng.standard_normal((n, k)), target, weights
    if kind == "svm":
        scores = 0.5 * rng.integers(-4, 5, size=(n, k)) + 0.25 * (np.arange(k) % 2)
        scores[np.arange(n), target] = 0.125
        return scores + 0.01 * rng.standard_normal((n, 1)), target, weights
    return 3 * rng.standard_normal((n, 1)), target % 2, weights[:2]


KINDS = ["softmax_cross_entropy", "svm", "sigmoid_bce"]


@pytest.mark.parametrize("kind", KINDS)
def test_weighted_gradients_match_numeric(kind):
    scores, target, weights = check_case(kind, np.random.default_rng(31))
    row = check_loss(weighted(kind, weights), scores, target)
    assert row.verdict == "pass" and row.max_rel_error <= PASS_LIMIT, row
    options = {"label_smoothing": 0.2} if kind == "softmax_cross_entropy" else {}
    if options:
        assert check_loss(weighted(kind, weights, **options), scores, target).verdict == "pass"


def forgets_the_weights(kind: str):
    """A backward that leaves the class weights out of the gradient (the forward still applies them)."""
    if kind == "sigmoid_bce":
        return lambda self: self.residual / self.weights / self.residual.size
    original = LOSSES.table[kind].backward

    def backward(self):
        self.weights = None
        return original(self)

    return backward


@pytest.mark.parametrize("kind", KINDS)
def test_a_backward_that_ignores_the_weights_fails(monkeypatch, kind):
    scores, target, weights = check_case(kind, np.random.default_rng(32))
    monkeypatch.setattr(LOSSES.table[kind], "backward", forgets_the_weights(kind))
    assert check_loss(weighted(kind, weights), scores, target).verdict == "fail"


def test_weighted_loss_keeps_float32():
    loss = weighted("softmax_cross_entropy", [1.0, 2.0, 3.0])
    loss.forward(np.zeros((2, 3), dtype=np.float32), np.array([0, 2]))
    assert loss.backward().dtype == np.float32


def spiral_config(tmp_path, loss: dict, **data) -> str:
    config = {"data": {"dataset": "spiral", "samples": 300, "classes": 3, **data},
              "model": [{"type": "dense", "units": 16}, {"type": "relu"}, {"type": "dense", "units": 3}],
              "loss": loss, "train": {"epochs": 2, "progress": False}}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.mark.parametrize("loss, message", [
    ({"type": "softmax_cross_entropy", "class_weights": [1, 2]},
     "loss.class_weights: expected 3 weights (one per class), got 2"),
    ({"type": "sigmoid_bce", "class_weights": "balanced", "target": "onehot"},
     "loss.class_weights: class weights need a term scored against integer class labels (target: labels)"),
    ({"type": "svm", "class_weights": [1, 0, 2]},
     "loss.class_weights: expected a list of at least 2 positive numbers or 'balanced' or null, got [1, 0, 2]"),
])
def test_class_weight_errors_name_the_key(tmp_path, loss, message):
    config = spiral_config(tmp_path, loss)
    result = CliRunner().invoke(cli, ["train", config, "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{config}: {message}\n"


def test_balanced_run_and_eval_report_the_same_weighted_loss(tmp_path):
    """The run's weights come from its training split; `nnctl eval` rebuilds them and gets the same loss."""
    config = spiral_config(tmp_path, {"type": "softmax_cross_entropy", "class_weights": "balanced"},
                           per_class={0: 20})
    runner = CliRunner()
    assert runner.invoke(cli, ["train", config, "--out", str(tmp_path / "runs")]).exit_code == 0
    run = next((tmp_path / "runs").glob("*/*"))
    report = json.loads((run / "report.json").read_text())
    result = runner.invoke(cli, ["eval", str(run), "--split", "val"])
    assert result.exit_code == 0, result.output
    saved = json.loads((run / "eval_best_val.json").read_text())
    assert saved["loss"] == report["val"]["loss"]
    assert saved["f1"] == report["val"]["f1"] and saved["support"] == report["val"]["support"]
    lines = result.output.splitlines()
    header = lines.index("class        precision  recall  F1      support")
    assert lines[header + 1].startswith("-----") and lines[header + 2].startswith("0  ")
    assert lines[header + 5].split() == ["macro", "F1", f"{saved['macro_f1']:.4f}", str(saved["samples"])]

"""`target: onehot`: mse, l1 and sigmoid_bce scoring class labels as one-hot rows (the course's
1/2 ||h - y||^2 with sigmoid outputs; logistic regression on labels), with accuracy measured, an exact
gradient, and one-line messages for the combinations that make no sense."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from nnctl.check.gradcheck import PASS_LIMIT, check_network
from nnctl.config.load import load_config
from nnctl.errors import ConfigError
from nnctl.nn.objective import onehot
from nnctl.commands.evaluate import setup_from_checkpoint
from nnctl.build.prepare import prepare
from nnctl.training.runner import train

CONFIG = """\
name: onehot
seed: 2
data: {{dataset: spiral, samples: 240, normalize: standard}}
model:
  layers:
    - {{type: dense, units: 16}}
    - {{type: tanh}}
    - {{type: dense, units: {units}}}
{extra}loss: {{type: {loss}, target: onehot}}
optimizer: {{type: adam, lr: 2.0e-2}}
train: {{epochs: 2, batch_size: 24}}
"""


def write(tmp_path, loss="mse", units=3, extra="    - {type: sigmoid}\n", data=None):
    path = tmp_path / "onehot.yaml"
    text = CONFIG.format(loss=loss, units=units, extra=extra)
    if data:
        text = text.replace("{dataset: spiral, samples: 240, normalize: standard}", data)
    path.write_text(text)
    return path


def test_onehot_rows():
    np.testing.assert_array_equal(onehot(np.array([2, 0, 1]), 4, np.float32),
                                  np.array([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32))
    assert onehot(np.array([1]), 2, np.float64).dtype == np.float64


@pytest.mark.parametrize("loss, extra", [("mse", "    - {type: sigmoid}\n"), ("l1", ""), ("sigmoid_bce", "")])
def test_training_on_onehot_targets_measures_accuracy(tmp_path, loss, extra):
    run = train(load_config(write(tmp_path, loss, extra=extra)), tmp_path / "runs", progress=False).run_dir
    with open(run / "metrics.csv", newline="") as handle:
        last = list(csv.DictReader(handle))[-1]
    setup, _ = setup_from_checkpoint(run / "checkpoints" / "last.npz", progress=False)
    x, y = setup.splits.val
    scores = setup.network.forward(x, training=False)[setup.network.output_name]
    assert float(last["val_acc"]) == float(np.mean(scores.argmax(axis=1) == y))
    target = np.eye(3)[y]
    residual = scores.astype(np.float64) - target
    expected = {"mse": np.mean(residual ** 2), "l1": np.mean(np.abs(residual)),
                "sigmoid_bce": np.mean(np.maximum(scores, 0) - scores * target + np.log1p(np.exp(-np.abs(scores))))}
    assert float(last["val_loss"]) == pytest.approx(expected[loss], rel=1e-5)


def test_the_gradient_through_onehot_targets_is_exact(tmp_path):
    setup = prepare(load_config(write(tmp_path)), dtype=np.float64, progress=False)
    x, y = setup.splits.train[0][:6].astype(np.float64), setup.splits.train[1][:6]
    rows = check_network(setup.network, setup.objective, x, y, np.random.default_rng(0))
    assert rows and all(row.max_rel_error <= PASS_LIMIT for row in rows)


def test_a_wrong_gradient_through_onehot_targets_is_caught(tmp_path):
    setup = prepare(load_config(write(tmp_path)), dtype=np.float64, progress=False)
    x, y = setup.splits.train[0][:6].astype(np.float64), setup.splits.train[1][:6]
    right = setup.objective.terms[0].loss.backward
    setup.objective.terms[0].loss.backward = lambda: right() + 1e-3     # a backward off by a constant
    rows = check_network(setup.network, setup.objective, x, y, np.random.default_rng(0))
    assert any(row.verdict == "fail" for row in rows)


@pytest.mark.parametrize("loss, extra, units, data, message", [
    ("softmax_cross_entropy", "", 3, None,
     "loss.target: onehot is for mse, l1, huber and sigmoid_bce; SoftmaxCrossEntropy takes the labels themselves "
     "(target: labels)"),
    ("mse", "", 2, None,
     "model.layers[2]: gives scores of shape (2,) per sample, but the data has 3 classes: the last layer needs "
     "units: 3"),
    ("mse", "", 3, "{dataset: npz, path: real.npz}",
     "loss.target: onehot needs integer class labels, but the data has real-valued targets; use target: labels"),
])
def test_onehot_where_it_makes_no_sense_is_one_line(tmp_path, loss, extra, units, data, message):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "real.npz", x=rng.random((40, 4)).astype(np.float32), y=rng.random((40, 3)).astype(np.float32))
    path = write(tmp_path, loss, units, extra, data)
    with pytest.raises(ConfigError) as info:
        prepare(load_config(path), progress=False)
    assert str(info.value) == f"{path}: {message}"

"""`nnctl gradcheck`, `--overfit` and `test_stats: recompute` through the command line."""

from __future__ import annotations

import json
import math

import numpy as np
from click.testing import CliRunner

from nnctl.cli import cli

NET = """\
name: course
seed: 0
data: {{dataset: spiral, samples: 240}}
model:
  layers:
    - {{type: dense, units: 16}}
    - {{type: batchnorm{bn}}}
    - {{type: relu}}
    - {{type: dropout, p: 0.2}}
    - {{type: dense, units: 3}}
regularization: {{l2: 1.0e-3}}
train: {{epochs: 3, batch_size: 32}}
"""


def write(tmp_path, bn=""):
    path = tmp_path / "net.yaml"
    path.write_text(NET.format(bn=bn))
    return path


def test_gradcheck_passes_and_reports_every_tensor(tmp_path):
    result = CliRunner().invoke(cli, ["gradcheck", str(write(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    layer_rows = {(r["where"], r["tensor"]) for r in report["layers"]}
    assert layer_rows == {("dense1", "x"), ("dense1", "W"), ("dense1", "b"), ("batchnorm1", "x"),
                          ("batchnorm1", "gamma"), ("batchnorm1", "beta"), ("relu1", "x"), ("dropout1", "x"),
                          ("dense2", "x"), ("dense2", "W"), ("dense2", "b")}
    assert {(r["where"], r["tensor"]) for r in report["network"]} == {
        ("dense1", "W"), ("dense1", "b"), ("batchnorm1", "gamma"), ("batchnorm1", "beta"), ("dense2", "W"),
        ("dense2", "b")}
    assert report["counts"]["fail"] == 0
    assert report["largest_smooth_error"] <= 1e-7
    assert report["expected_initial_loss"] == math.log(3)     # math.log as nnctl takes it (NumPy's may round apart)
    assert report["samples"] == 8


def test_gradcheck_fails_with_exit_1_on_a_broken_backward(tmp_path, monkeypatch):
    from nnctl.layers.dense import Dense

    original = Dense.backward

    def wrong(self, dy, need_input_grad=True):
        dx = original(self, dy, need_input_grad)
        self.grads["W"] = self.grads["W"] * 1.01
        return dx

    monkeypatch.setattr(Dense, "backward", wrong)
    result = CliRunner().invoke(cli, ["gradcheck", str(write(tmp_path))])
    assert result.exit_code == 1
    assert "fail" in result.stdout
    assert result.stdout.splitlines()[-1].startswith("result: ")
    assert " 0 fail" not in result.stdout.splitlines()[-1]


def test_gradcheck_single_layer_and_unknown_layer(tmp_path):
    config = write(tmp_path)
    result = CliRunner().invoke(cli, ["gradcheck", str(config), "--layer", "dense2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {r["where"] for r in report["layers"]} == {"dense2"}
    assert {r["where"] for r in report["network"]} == {"dense2"}
    bad = CliRunner().invoke(cli, ["gradcheck", str(config), "--layer", "dense9"])
    assert bad.exit_code == 2
    assert bad.stderr == ("--layer 'dense9': no such node; nodes are dense1, batchnorm1, relu1, dropout1, "
                          "dense2\n")


def overfit_12(tmp_path, epochs: int, lr: str):
    """`nnctl train NET --overfit 12` with `epochs` and learning rate `lr`."""
    return CliRunner().invoke(cli, ["train", str(write(tmp_path)), "--overfit", "12", "--quiet", "--out",
                                    str(tmp_path / "runs"), "--set", f"train.epochs={epochs}",
                                    "--set", f"optimizer.lr={lr}"])


def test_overfit_reaches_100_percent_on_a_few_samples(tmp_path):
    result = overfit_12(tmp_path, 150, "0.01")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == ("overfit check: training accuracy 100.00% on 12 samples (12/12): "
                                              "reached 100%")
    run = next((tmp_path / "runs" / "course-overfit12").iterdir())
    resolved = (run / "config.yaml").read_text()
    assert "limit: 12" in resolved and "p: 0.0" in resolved and "l2: 0.0" in resolved


def test_recomputed_batchnorm_statistics_are_saved_and_used_by_eval(tmp_path):
    from nnctl.runs.checkpoints import load_checkpoint
    from nnctl.commands.evaluate import setup_from_checkpoint

    config = write(tmp_path, bn=", test_stats: recompute")
    result = CliRunner().invoke(cli, ["train", str(config), "--quiet", "--out", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    run = next((tmp_path / "runs" / "course").iterdir())
    best = load_checkpoint(run / "checkpoints" / "best.npz")
    setup, _ = setup_from_checkpoint(run / "checkpoints" / "best.npz", progress=False)
    x = setup.splits.train[0]
    dense = setup.network.by_name["dense1"].layer
    hidden = x.astype(np.float64) @ dense.params["W"].astype(np.float64) + dense.params["b"]
    np.testing.assert_allclose(best.buffers["batchnorm1.recomputed_mean"], hidden.mean(axis=0), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(best.buffers["batchnorm1.recomputed_var"], hidden.var(axis=0), rtol=1e-4)
    assert best.buffers["batchnorm1.recomputed_samples"][0] == len(x)
    report = json.loads((run / "report.json").read_text())
    evaluated = CliRunner().invoke(cli, ["eval", str(run / "checkpoints" / "best.npz")])
    assert evaluated.exit_code == 0
    assert json.loads((run / "eval_best_test.json").read_text())["acc"] == report["test"]["acc"]


def test_overfit_exits_1_when_training_accuracy_stays_below_100_percent(tmp_path):
    # One epoch at lr 1e-6 leaves the initial weights (drawn from the seed) in charge: the smallest gap between
    # a sample's two largest scores is 1.5e-3 on every kernel tried, over a thousand times what float32
    # rounding moves a score of this 2-layer ReLU network, so 5 of 12 is kept exact.
    result = overfit_12(tmp_path, 1, "1.0e-6")
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[-1] == ("overfit check: training accuracy 41.67% on 12 samples (5/12): "
                                              "did NOT reach 100%")

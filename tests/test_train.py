"""The training loop's promises: early stopping restores the best weights, a diverging run stops cleanly
with the best checkpoint kept, Ctrl-C saves last.npz and the report and exits 130."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from nnctl.checkpoint import load_checkpoint
from nnctl.cli import cli

BASE = """\
name: loop
seed: 1
data: {{dataset: spiral, normalize: none}}
model:
  layers:
    - {{type: dense, units: 24}}
    - {{type: relu}}
    - {{type: dense, units: 3}}
optimizer: {optimizer}
train: {train}
"""


def train_loop(tmp_path, optimizer="{type: adam, lr: 1.0e-2}", train="{epochs: 6, batch_size: 32}"):
    config = tmp_path / "loop.yaml"
    config.write_text(BASE.format(optimizer=optimizer, train=train))
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(tmp_path / "runs"), "--quiet"])
    runs = sorted((tmp_path / "runs" / "loop").iterdir()) if (tmp_path / "runs" / "loop").exists() else []
    return result, (runs[-1] if runs else None)


def test_early_stopping_stops_after_patience_and_restores_best(tmp_path):
    # A learning rate this small cannot move the validation accuracy: epoch 1 stays the best.
    result, run = train_loop(tmp_path, optimizer="{type: sgd, lr: 1.0e-12}",
                      train="{epochs: 20, batch_size: 32, early_stopping: {patience: 3}}")
    assert result.exit_code == 0, result.output
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "stopped early"
    assert report["epochs_run"] == 4
    assert report["best_epoch"] == 1
    best = load_checkpoint(run / "checkpoints" / "best.npz")
    assert best.meta["epoch"] == 1
    assert report["val"]["acc"] == best.meta["metrics"]["val_acc"]


def test_divergence_stops_with_exit_1_and_keeps_the_report(tmp_path):
    result, run = train_loop(tmp_path, optimizer="{type: sgd, lr: 1.0e+30}")
    assert result.exit_code == 1
    assert result.stderr.startswith("training diverged: loss became ")
    assert result.stderr.count("\n") == 1
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "diverged"


def test_ctrl_c_saves_last_checkpoint_and_report(tmp_path, monkeypatch):
    from nnctl import train as train_module

    calls = {"n": 0}
    original = train_module.Trainer.fit_one_epoch

    def interrupt_in_third_epoch(self, epoch):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch)

    monkeypatch.setattr(train_module.Trainer, "fit_one_epoch", interrupt_in_third_epoch)
    result, run = train_loop(tmp_path)
    assert result.exit_code == 130
    assert result.stderr == f"interrupted: saved {run / 'checkpoints' / 'last.npz'} and the report in {run}\n"
    last = load_checkpoint(run / "checkpoints" / "last.npz")
    assert last.meta["epoch"] == 2
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "interrupted"
    assert report["epochs_run"] == 2
    del calls


def test_best_checkpoint_holds_the_restored_weights(tmp_path):
    result, run = train_loop(tmp_path)
    assert result.exit_code == 0, result.output
    best = load_checkpoint(run / "checkpoints" / "best.npz")
    last = load_checkpoint(run / "checkpoints" / "last.npz")
    report = json.loads((run / "report.json").read_text())
    assert best.meta["epoch"] == report["best_epoch"]
    assert last.meta["epoch"] == 6
    assert set(best.params) == {"dense1.W", "dense1.b", "dense2.W", "dense2.b"}
    assert best.params["dense1.W"].dtype == np.float32

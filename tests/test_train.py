"""The training loop's promises: early stopping restores the best weights, a diverging run stops cleanly
with the best checkpoint kept, Ctrl-C saves last.npz and the report and exits 130."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from nnctl.runs.checkpoints import load_checkpoint
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
    assert best.meta.epoch == 1
    assert report["val"]["acc"] == best.meta.metrics["val_acc"]


def test_divergence_stops_with_exit_1_and_keeps_the_report(tmp_path):
    result, run = train_loop(tmp_path, optimizer="{type: sgd, lr: 1.0e+30}")
    assert result.exit_code == 1
    assert result.stderr.startswith("training diverged: loss became ")
    assert result.stderr.count("\n") == 1
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "diverged"


def test_a_diverged_run_in_a_real_process_prints_one_line_and_no_matplotlib_warning(tmp_path):
    """In a process of its own (Python's default warning filters, not pytest's), the pictures of a run whose
    outputs are NaN (health.png's histograms have no counts) add nothing to the one-line ending."""
    import subprocess
    import sys

    config = tmp_path / "loop.yaml"
    config.write_text(BASE.format(optimizer="{type: sgd, lr: 1.0e+30}", train="{epochs: 6, batch_size: 32}"))
    done = subprocess.run([sys.executable, "-m", "nnctl", "train", str(config), "--out", str(tmp_path / "runs"),
                           "--quiet"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("training diverged: loss became nan at epoch 1, step 2;")
    assert done.stderr.count("\n") == 1, done.stderr
    run = next((tmp_path / "runs" / "loop").iterdir())
    assert (run / "health.png").stat().st_size > 0


def test_ctrl_c_saves_the_exact_position_and_the_report(tmp_path):
    import os
    import signal

    import pytest

    from nnctl.config.load import load_config
    from nnctl.errors import Interrupted
    from nnctl.training.callbacks import Callback
    from nnctl.training.runner import train

    class CtrlCInThirdEpoch(Callback):
        def on_step_end(self, trainer, step):
            if step.epoch == 2 and step.step == 3:
                os.kill(os.getpid(), signal.SIGINT)

    config = tmp_path / "loop.yaml"
    config.write_text(BASE.format(optimizer="{type: adam, lr: 1.0e-2}", train="{epochs: 6, batch_size: 32}"))
    with pytest.raises(Interrupted) as caught:
        train(load_config(config), tmp_path / "runs", progress=False, callbacks=[CtrlCInThirdEpoch()])
    run = next((tmp_path / "runs" / "loop").iterdir())
    assert caught.value.exit_code == 130
    assert str(caught.value) == (f"interrupted: saved {run / 'checkpoints' / 'last.npz'} (epoch 3, step 4 of "
                                 f"7) and the report in {run}; continue with nnctl train --resume {run}")
    last = load_checkpoint(run / "checkpoints" / "last.npz")
    assert (last.meta.epoch, last.meta.step) == (2, 4)
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "interrupted"
    assert report["epochs_run"] == 2 and report["steps_into_next_epoch"] == 4
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_best_checkpoint_holds_the_restored_weights(tmp_path):
    result, run = train_loop(tmp_path)
    assert result.exit_code == 0, result.output
    best = load_checkpoint(run / "checkpoints" / "best.npz")
    last = load_checkpoint(run / "checkpoints" / "last.npz")
    report = json.loads((run / "report.json").read_text())
    assert best.meta.epoch == report["best_epoch"]
    assert last.meta.epoch == 6
    assert set(best.params) == {"dense1.W", "dense1.b", "dense2.W", "dense2.b"}
    assert best.params["dense1.W"].dtype == np.float32


def test_early_stopping_on_a_loss_waits_for_it_to_stop_falling(tmp_path):
    # The monitor (val_acc) is maximized, but early stopping on val_loss must minimize: with a steadily
    # falling validation loss the run goes all the way.
    result, run = train_loop(tmp_path, optimizer="{type: adam, lr: 1.0e-3}",
                             train="{epochs: 6, batch_size: 32, early_stopping: {metric: val_loss, patience: 2}}")
    assert result.exit_code == 0, result.output
    report = json.loads((run / "report.json").read_text())
    losses = [float(line.split(",")[4]) for line in (run / "metrics.csv").read_text().splitlines()[1:]]
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    assert report["status"] == "completed" and report["epochs_run"] == 6


def test_an_unexpected_failure_writes_the_report_and_exits_1(tmp_path, monkeypatch):
    from nnctl.optim.optimizers import Adam

    def broken(self, grads, lr):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(Adam, "step", broken)
    result, run = train_loop(tmp_path)
    assert result.exit_code == 1
    assert result.stderr == (f"training failed before its first step: RuntimeError: disk on fire; kept no "
                             f"checkpoint (none was written yet) and the report in {run}; run with --debug for the "
                             f"traceback\n")
    assert json.loads((run / "report.json").read_text())["status"] == "failed"


def test_regression_runs_monitor_the_loss(tmp_path):
    from nnctl.config.sections import resolve
    from nnctl.build.prepare import prepare
    from nnctl.build.metric_names import monitored_metric, produced_metrics

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "reg.npz", x=rng.standard_normal((50, 3)).astype(np.float32),
             y=rng.standard_normal(50).astype(np.float32))
    config = resolve({"data": {"dataset": "npz", "path": str(tmp_path / "reg.npz")},
                      "model": [{"type": "dense", "units": 1}], "loss": {"type": "mse"}})
    setup = prepare(config, progress=False)
    assert produced_metrics(setup) == {"train_loss", "val_loss"}
    assert monitored_metric(config, setup) == "val_loss"


def test_a_run_started_with_ctrl_c_ignored_keeps_ignoring_it(tmp_path):
    """`nnctl train ... &` in a script (or nohup) starts with SIGINT ignored; the run must not take it over."""
    import signal
    import subprocess
    import sys

    config = tmp_path / "loop.yaml"
    config.write_text(BASE.format(optimizer="{type: adam, lr: 1.0e-2}", train="{epochs: 2, batch_size: 32}"))
    script = ("import os, signal, sys\n"
              "from nnctl.config.load import load_config\n"
              "from nnctl.training.callbacks import Callback\n"
              "from nnctl.training.runner import train\n"
              "class CtrlC(Callback):\n"
              "    def on_step_end(self, trainer, step):\n"
              "        if step.step == 1:\n"
              "            os.kill(os.getpid(), signal.SIGINT)\n"
              "result = train(load_config(sys.argv[1]), sys.argv[2], progress=False, callbacks=[CtrlC()])\n"
              "print(result.report['status'], signal.getsignal(signal.SIGINT) is signal.SIG_IGN)\n")
    done = subprocess.run([sys.executable, "-c", script, str(config), str(tmp_path / "runs")], capture_output=True,
                          text=True, timeout=120, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "completed True\n"

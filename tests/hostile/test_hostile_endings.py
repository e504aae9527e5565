"""How a run ends when it goes wrong or is stopped: a loss beyond the divergence bound, Ctrl-C during the
final evaluation, a stop signal as the run ends, and Ctrl-C twice at random moments during checkpoint
writes, sent to real processes. Each asserts the exit code, the exact line and the report."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import pytest
from click.testing import CliRunner

from fault_kit import BIG, DIVERGING, ENV, leftovers, nnctl, the_run, wait_for, wait_for_run, write_config
from nnctl.cli import cli
from nnctl.runs.checkpoints import load_checkpoint


# ------------------------------------------------------------------------------------ divergence

def test_a_loss_beyond_the_bound_stops_the_run_and_the_report_measures_the_best_checkpoint(tmp_path):
    config = write_config(tmp_path, DIVERGING)
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(tmp_path / "runs")])
    run = the_run(tmp_path / "runs", "div")
    report = json.loads((run / "report.json").read_text())
    assert result.exit_code == 1
    assert report["status"] == "diverged" and report["epochs_run"] == 1
    cause = report["message"].removesuffix("; kept the best checkpoint (epoch 1)")
    assert cause.startswith("loss became ") and " at epoch 2, step " in cause
    loss = float(cause.split()[2])
    assert loss > 1000 * 1.0 and "more than train.divergence_ratio = 1000 times the first batch's loss" in cause
    assert result.stderr == (f"training diverged: {cause}; kept the best checkpoint (epoch 1) in {run}; the report "
                             f"measures the best checkpoint. Try a smaller optimizer.lr or gradient clipping "
                             f"(optimizer.clip_norm)\n")
    assert report["evaluated"] == "the best checkpoint (epoch 1)"
    evaluated = CliRunner().invoke(cli, ["eval", str(run)])
    assert evaluated.exit_code == 0
    assert json.loads((run / "eval_best_test.json").read_text())["acc"] == report["test"]["acc"]
    assert "- evaluated: the best checkpoint (epoch 1)" in (run / "report.md").read_text()


def test_a_huge_learning_rate_no_longer_completes(tmp_path):
    config = write_config(tmp_path, BIG.format(units=16, epochs=5, extra="").replace(
        "{type: adam, lr: 1.0e-3}", "{type: sgd, lr: 1.0e+6}"))
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(tmp_path / "runs")])
    run = the_run(tmp_path / "runs", "big")
    report = json.loads((run / "report.json").read_text())
    cause = report["message"].removesuffix("; no epoch finished, so there is no best checkpoint")
    assert result.exit_code == 1 and report["status"] == "diverged"
    assert result.stderr == (f"training diverged: {cause}; no epoch finished, so there is no best checkpoint in "
                             f"{run}. Try a smaller optimizer.lr or gradient clipping (optimizer.clip_norm)\n")
    assert cause.startswith("loss became ") and cause.endswith("taken as at least 1)")
    assert report["evaluated"] == "nothing: no epoch ended with a checkpoint"
    assert all(report.get(split) is None for split in ("train", "val", "test"))


# ------------------------------------------------------------------------------------ signals

SLOW_EVALUATION = """\
name: slow
seed: 0
data: {dataset: spiral, samples: 60000, val_size: 0, test_size: 0.97, normalize: none}
model:
  layers:
    - {type: dense, units: 8}
    - {type: relu}
    - {type: dense, units: 3}
train: {epochs: 1, batch_size: 64, eval_batch_size: 1, progress: false}
"""


def test_ctrl_c_during_the_final_evaluation_writes_the_report_and_exits_130(tmp_path):
    config = write_config(tmp_path, SLOW_EVALUATION)
    out = tmp_path / "runs"
    process = subprocess.Popen(nnctl("train", str(config), "--out", str(out), "--quiet"), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=ENV)
    run = wait_for_run(out, "slow", process)
    wait_for(run / "checkpoints" / "last.npz", process)
    time.sleep(0.5)                                        # the final evaluation of 58200 samples, one at a time
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130
    assert stderr == (f"interrupted during the final evaluation (training had completed after 1 epoch): the "
                      f"checkpoints and the report in {run} are whole; nnctl train --resume {run} finishes the "
                      f"evaluation\n")
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "interrupted"
    assert report["evaluated"].startswith("the best checkpoint (epoch 1), cut short by SIGINT before the ")
    assert (run / "curves.png").is_file() and (run / "report.md").is_file()


def test_a_stop_signal_as_the_run_ends_cuts_only_the_evaluation_and_resume_finishes_it(tmp_path):
    """SIGINT delivered at the last hook before the final evaluation (a real signal, sent by the process to
    itself): the report is written with status interrupted, exit 130; --resume then only evaluates."""
    from nnctl.config.load import load_config
    from nnctl.errors import Interrupted
    from nnctl.training.callbacks import Callback
    from nnctl.training.runner import train

    class CtrlCAtTheEnd(Callback):
        def on_fit_end(self, trainer, status):
            os.kill(os.getpid(), signal.SIGINT)

    config = write_config(tmp_path, BIG.format(units=8, epochs=2, extra=""))
    with pytest.raises(Interrupted) as caught:
        train(load_config(config), tmp_path / "runs", progress=False, callbacks=[CtrlCAtTheEnd()])
    run = the_run(tmp_path / "runs", "big")
    assert caught.value.exit_code == 130
    assert str(caught.value) == (f"interrupted during the final evaluation (training had completed after 2 epochs): "
                                 f"the checkpoints and the report in {run} are whole; nnctl train --resume {run} "
                                 f"finishes the evaluation")
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "interrupted" and "train" not in report and "test" not in report
    assert report["evaluated"] == (f"the best checkpoint (epoch {report['best_epoch']}), cut short by SIGINT before "
                                   f"the train split")
    resumed = CliRunner().invoke(cli, ["train", "--resume", str(run), "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    finished = json.loads((run / "report.json").read_text())
    assert finished["status"] == "completed" and finished["test"]["samples"] == 60 and finished["epochs_run"] == 2


def test_ctrl_c_twice_at_random_moments_never_tears_a_file_or_loses_the_report(tmp_path):
    """Checkpoints of ~3 MB written at every step, and two Ctrl-C at random moments: every ending is exit 130
    with one line, every checkpoint on disk loads, and the report is there."""
    config = write_config(tmp_path, BIG.format(units=512, epochs=50, extra=", checkpoint_every: 1"))
    rng = random.Random(20261202)
    for trial in range(3):
        out = tmp_path / f"runs{trial}"
        process = subprocess.Popen(nnctl("train", str(config), "--out", str(out), "--quiet"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        run = wait_for_run(out, "big", process)
        wait_for(run / "checkpoints" / "last.npz", process)
        time.sleep(rng.uniform(0, 0.3))
        process.send_signal(signal.SIGINT)
        time.sleep(rng.uniform(0, 0.05))
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 130, stderr
        assert stderr.count("\n") == 1 and stderr.startswith("interrupted: ") and "Traceback" not in stderr
        assert stderr.endswith(f"and the report in {run}; continue with nnctl train --resume {run}\n")
        assert json.loads((run / "report.json").read_text())["status"] == "interrupted"
        for checkpoint in (run / "checkpoints").glob("*.npz"):
            load_checkpoint(checkpoint)
        assert leftovers(run) == []



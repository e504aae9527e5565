"""What `nnctl train --resume` says when there is nothing to resume or when the schedule changes, tested by
doing what it says."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.nn.registry import SCHEDULES

STOPPING = """\
name: es
seed: 0
data: {dataset: spiral, samples: 240}
model: [{type: dense, units: 16}, {type: relu}, {type: dense, units: 3}]
optimizer: {type: adam, lr: 0.3}
schedule: {type: cosine}
train: {epochs: 30, batch_size: 32, health_every: null, early_stopping: {patience: 2}}
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def report(run):
    return json.loads((run / "report.json").read_text())


def follow(advice: str):
    """Run the command an advice line ends with ('...; to train longer: nnctl train --resume RUN --set ...')."""
    command = shlex.split(advice.split("to train longer: ", 1)[1])
    assert command[:2] == ["nnctl", "train"]
    return invoke(*command[1:], "-q")


def test_a_run_stopped_early_names_the_patience_to_raise_and_that_continues_it(tmp_path):
    (tmp_path / "es.yaml").write_text(STOPPING)
    assert invoke("train", tmp_path / "es.yaml", "-q", "--out", tmp_path / "runs").exit_code == 0
    (original,) = (tmp_path / "runs" / "es").iterdir()
    run = tmp_path / "copied"                                  # a copied folder is named as given
    shutil.copytree(original, run)
    stopped = report(run)
    assert stopped["status"] == "stopped early"
    shown = invoke("train", "--resume", run)
    assert shown.exit_code == 0
    advice = shown.stderr.splitlines()[0]
    patience = 2 + 2                     # epochs without improvement so far, plus the patience it had
    assert advice == (f"nothing to resume: {run} already stopped early after {stopped['epochs_run']} epochs "
                      f"(val_acc did not improve for 2 epochs); to train longer: nnctl train --resume {run} "
                      f"--set train.early_stopping.patience={patience}")
    assert shown.stdout.endswith(f"run: {run}\n")
    followed = follow(advice)
    assert followed.exit_code == 0, followed.stderr
    assert report(run)["epochs_run"] > stopped["epochs_run"]


def test_a_completed_run_names_more_epochs_and_the_schedule_change_is_said(tmp_path):
    (tmp_path / "c.yaml").write_text(STOPPING.replace("epochs: 30", "epochs: 4").replace(
        ", early_stopping: {patience: 2}", ""))
    assert invoke("train", tmp_path / "c.yaml", "-q", "--out", tmp_path / "runs").exit_code == 0
    (run,) = (tmp_path / "runs" / "es").iterdir()
    shown = invoke("train", "--resume", run)
    advice = shown.stderr.splitlines()[0]
    assert advice == (f"nothing to resume: {run} already completed after 4 epochs; to train longer: nnctl train "
                      f"--resume {run} --set train.epochs=14")
    followed = follow(advice)
    assert followed.exit_code == 0, followed.stderr
    was, now = (SCHEDULES["cosine"](0.3, total).lr(4) for total in (4, 14))
    assert followed.stderr.splitlines()[0] == (
        f"note: train.epochs 4 -> 14 changes the cosine schedule from here on: the learning rate at epoch 4 "
        f"becomes {now:.6g} instead of {was:.6g} (see docs/runs.md, 'Training longer')")
    docs = (Path(__file__).parents[1] / "docs" / "runs.md").read_text()
    assert followed.stderr.splitlines()[0] + "\n" in docs           # the line docs/runs.md quotes
    assert report(run)["epochs_run"] == 14
    rows = (run / "metrics.csv").read_text().splitlines()[1:]
    assert float(rows[4].split(",")[1]) == now                 # epoch 5's learning rate is the one announced


def test_a_config_edited_by_hand_is_refused_and_putting_it_back_resumes(tmp_path):
    (tmp_path / "c.yaml").write_text(STOPPING.replace("epochs: 30", "epochs: 3"))
    assert invoke("train", tmp_path / "c.yaml", "-q", "--out", tmp_path / "runs").exit_code == 0
    (run,) = (tmp_path / "runs" / "es").iterdir()
    kept = (run / "config.yaml").read_text()
    (run / "config.yaml").write_text(kept.replace("lr: 0.3", "lr: 0.1"))
    before = sorted(p.name for p in run.rglob("*"))
    refused = invoke("train", "--resume", run, "--set", "train.epochs=5")
    assert refused.exit_code == 2
    assert refused.stderr == (f"{run / 'config.yaml'}: differs from the config last.npz was trained with "
                              f"(optimizer.lr: 0.3 there, 0.1 here); --resume continues exactly what the checkpoint "
                              f"holds: put the file back, or start a new run with nnctl train\n")
    assert sorted(p.name for p in run.rglob("*")) == before
    (run / "config.yaml").write_text(kept)                       # what the message says
    resumed = invoke("train", "--resume", run, "--set", "train.epochs=5", "-q")
    assert resumed.exit_code == 0, resumed.stderr
    assert report(run)["epochs_run"] == 5

"""steps.csv: every step's training loss and learning rate (or every k-th), exactly what the trainer computed;
what a resume keeps of an existing file. (Exact continuity across interruptions is in test_resume.py and
test_kill_resume.py.)"""

from __future__ import annotations

import csv

import pytest

from nnctl.config.load import load_config
from nnctl.errors import ConfigError
from nnctl.training.callbacks import Callback
from nnctl.training.runner import train
from nnctl.training.step_log import default_every, rows_up_to

CONFIG = """\
name: steps
seed: 0
data: {{dataset: spiral, samples: 200}}
model: [{{type: dense, units: 8}}, {{type: relu}}, {{type: dense, units: 3}}]
optimizer: {{type: momentum, lr: 0.1}}
schedule: {{type: cosine}}
regularization: {{l2: 1.0e-3}}
train: {{epochs: 3, batch_size: 16{extra}}}
"""


class Recorder(Callback):
    def __init__(self):
        self.steps = []

    def on_step_end(self, trainer, step):
        self.steps.append((step.global_step, step.epoch + (step.step + 1) / step.steps, step.loss, step.lr))


def run_with(tmp_path, extra=""):
    path = tmp_path / "steps.yaml"
    path.write_text(CONFIG.format(extra=extra))
    recorder = Recorder()
    run = train(load_config(path), tmp_path / "runs", progress=False, callbacks=[recorder]).run_dir
    with open(run / "steps.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows, recorder.steps


def test_every_step_is_written_with_its_loss_and_rate(tmp_path):
    rows, steps = run_with(tmp_path)
    assert rows[0] == ["step", "epoch", "loss", "lr"]
    assert len(rows) == 1 + len(steps) and len(steps) == 3 * 9      # 135 training samples, batches of 16
    for row, (global_step, epoch, loss, lr) in zip(rows[1:], steps):
        assert int(row[0]) == global_step
        assert float(row[1]) == pytest.approx(epoch, abs=1e-6)
        assert float(row[2]) == loss and float(row[3]) == lr           # exact: written with repr
    assert float(rows[-1][1]) == 3.0
    assert len({row[3] for row in rows[1:]}) > 1                       # the cosine rate moves every step


def test_every_kth_step(tmp_path):
    rows, steps = run_with(tmp_path, ", steps_every: 5")
    assert [int(row[0]) for row in rows[1:]] == list(range(5, 28, 5))
    assert [float(row[2]) for row in rows[1:]] == [loss for step, _, loss, _ in steps if step % 5 == 0]


def test_the_default_keeps_an_epoch_to_a_thousand_rows():
    assert [default_every(n) for n in (1, 430, 1000, 1001, 2500)] == [1, 1, 1, 2, 3]


def test_a_resume_keeps_rows_up_to_its_step_and_stops_at_a_cut_line(tmp_path):
    path = tmp_path / "steps.csv"
    path.write_text("step,epoch,loss,lr\n1,0.5,2.0,0.1\n2,1,1.5,0.1\n3,1.5,1.2,0.1\n4,2,1.")
    assert rows_up_to(path, 2) == [["1", "0.5", "2.0", "0.1"], ["2", "1", "1.5", "0.1"]]
    assert rows_up_to(path, 10) == [["1", "0.5", "2.0", "0.1"], ["2", "1", "1.5", "0.1"], ["3", "1.5", "1.2", "0.1"]]
    path.write_text("step,epoch,loss,lr\n1,0.5,2.0,0.1\n2,1,garbage,0.1\n3,1.5,1.2,0.1\n")
    assert rows_up_to(path, 10) == [["1", "0.5", "2.0", "0.1"]]
    assert rows_up_to(tmp_path / "missing.csv", 10) == []


def test_steps_every_must_be_positive(tmp_path):
    path = tmp_path / "steps.yaml"
    path.write_text(CONFIG.format(extra=", steps_every: 0"))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: train.steps_every: expected a positive integer or null, got 0"

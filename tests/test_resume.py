"""`nnctl train --resume`: train(N) equals train(k) + resume to N, bit for bit, from epoch boundaries and from
the middle of an epoch; what may and may not change on resume; metrics.csv continuity; signals."""

from __future__ import annotations

import csv
from dataclasses import replace
import json
import os
import re
import signal

import numpy as np
import pytest

from nnctl.atomic import write_bytes_atomic
from nnctl.config.load import load_config
from nnctl.errors import Interrupted, InputError
from nnctl.training.callbacks import Callback
from nnctl.runs.checkpoints import load_checkpoint, save_checkpoint
from nnctl.threads import blas_threads
from nnctl.training.resume import resume
from nnctl.training.runner import train

MLP = """\
name: mlp
seed: 5
data: {dataset: spiral, samples: 360, normalize: standard}
model:
  layers:
    - {type: dense, units: 32}
    - {type: batchnorm}
    - {type: relu}
    - {type: dropout, p: 0.2}
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 1.0e-2}
schedule: {type: cosine, warmup_epochs: 2, warmup_start: 0.1, min_lr: 1.0e-4}
train: {epochs: 6, batch_size: 32}
"""

CNN = """\
name: cnn
seed: 2
data: {dataset: npz, path: images.npz, flatten: false, val_size: 48}
model:
  layers:
    - {type: conv2d, filters: 4, kernel: 3, padding: 1}
    - {type: batchnorm, test_stats: recompute}
    - {type: relu}
    - {type: maxpool2d, kernel: 2}
    - {type: flatten}
    - {type: dense, units: 3}
optimizer: {type: momentum, lr: 5.0e-2, momentum: 0.9}
schedule: {type: reduce_on_plateau, metric: val_loss, patience: 0, factor: 0.5}
train: {epochs: 7, batch_size: 20, early_stopping: {metric: val_acc, patience: 3},
        augment: {flip: true, shift: 1}}
"""


MULTI = """\
name: multi
seed: 4
data: {dataset: spiral, samples: 360, normalize: standard}
model:
  layers:
    - {type: dense, units: 32}
    - {type: relu}
    - {type: dropout, p: 0.1}
    - {type: dense, units: 3, name: main}
    - {type: dense, units: 3, name: aux, input: relu1}
loss:
  - {type: softmax_cross_entropy, input: main}
  - {type: mse, target: onehot, input: aux, weight: 0.5}
optimizer: {type: adam, lr: 1.0e-2}
schedule: {type: reduce_on_plateau, metric: val_loss.aux, patience: 0, factor: 0.5}
train: {epochs: 6, batch_size: 32, early_stopping: {metric: val_acc.main, patience: 3}}
"""


def write_images(folder):
    """240 8x8 images in 3 classes: the bright square sits in the top-left, top-right or bottom half."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=240)
    x = rng.normal(0.0, 0.3, size=(240, 1, 8, 8)).astype(np.float32)
    for cls, (rows, cols) in enumerate(((slice(0, 4), slice(0, 4)), (slice(0, 4), slice(4, 8)),
                                        (slice(4, 8), slice(0, 8)))):
        x[y == cls, 0, rows, cols] += 1.0
    np.savez(folder / "images.npz", x=x, y=y)


@pytest.fixture(params=["mlp", "cnn", "multi"])
def config(request, tmp_path):
    path = tmp_path / f"{request.param}.yaml"
    path.write_text({"mlp": MLP, "cnn": CNN, "multi": MULTI}[request.param])
    if request.param == "cnn":
        write_images(tmp_path)
    return load_config(path)


class SignalAt(Callback):
    """Sends a signal to this process after the given step (or, with step None, at the given epoch's end)."""

    def __init__(self, epoch: int, step: int | None, signum: int = signal.SIGINT):
        self.epoch, self.step, self.signum = epoch, step, signum

    def on_step_end(self, trainer, step):
        if self.step is not None and (step.epoch, step.step) == (self.epoch, self.step):
            os.kill(os.getpid(), self.signum)

    def on_epoch_end(self, trainer, row):
        if self.step is None and row["epoch"] == self.epoch + 1:
            os.kill(os.getpid(), self.signum)


def metrics_without_seconds(run):
    with open(run / "metrics.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def step_rows(run):
    with open(run / "steps.csv", newline="") as handle:
        return list(csv.reader(handle))


def assert_same_run(a, b):
    """Identical weights, buffers and optimizer state in last.npz and best.npz, and identical metrics."""
    for name in ("last.npz", "best.npz"):
        with np.load(a / "checkpoints" / name) as first, np.load(b / "checkpoints" / name) as second:
            arrays = [k for k in first.files if k != "meta"]
            assert arrays == [k for k in second.files if k != "meta"]
            assert any(k.startswith("optim/") for k in arrays)
            for key in arrays:
                np.testing.assert_array_equal(first[key], second[key], err_msg=f"{name} {key}")
    assert metrics_without_seconds(a) == metrics_without_seconds(b)
    assert step_rows(a) == step_rows(b)
    assert [int(row[0]) for row in step_rows(a)[1:]] == list(range(1, len(step_rows(a))))
    for name in ("health.csv", "health_histograms.csv"):       # health records continue exactly too
        assert (a / name).read_text() == (b / name).read_text(), name
    reports = [json.loads((run / "report.json").read_text()) for run in (a, b)]
    for key in ("status", "epochs_run", "best_epoch", "best_value", "test", "val", "train"):
        assert reports[0][key] == reports[1][key], key


def interrupted_then_resumed(config, out, stop: SignalAt):
    with pytest.raises(Interrupted) as caught:
        train(config, out, progress=False, callbacks=[stop])
    assert caught.value.exit_code == 128 + stop.signum
    run = next((out / config.name).iterdir())
    last = load_checkpoint(run / "checkpoints" / "last.npz").meta
    result = resume(run, progress=False)
    assert result.report["resumes"] == 1
    return run, (last.epoch, last.step)


@pytest.mark.parametrize("epoch, step", [(1, None), (2, 4), (0, 0)], ids=["epoch-boundary", "mid-epoch", "first-step"])
def test_train_n_equals_train_k_plus_resume(tmp_path, config, epoch, step):
    reference = train(config, tmp_path / "reference", progress=False).run_dir
    run, position = interrupted_then_resumed(config, tmp_path / "interrupted", SignalAt(epoch, step))
    assert position == ((epoch + 1, 0) if step is None else (epoch, step + 1))
    assert_same_run(reference, run)


def test_sigterm_saves_the_position_and_exits_143(tmp_path, config):
    reference = train(config, tmp_path / "reference", progress=False).run_dir
    run, position = interrupted_then_resumed(config, tmp_path / "stopped", SignalAt(3, 1, signal.SIGTERM))
    assert position == (3, 2)
    assert_same_run(reference, run)


def test_resume_from_an_earlier_checkpoint_drops_later_rows(tmp_path):
    (tmp_path / "mlp.yaml").write_text(MLP.replace("epochs: 6", "epochs: 4").replace("cosine", "constant")
                                       .replace(", min_lr: 1.0e-4", ""))
    config = load_config(tmp_path / "mlp.yaml")
    reference = train(config, tmp_path / "reference", progress=False).run_dir
    run = train(config, tmp_path / "again", progress=False).run_dir
    early = run / "checkpoints" / "early.npz"
    with pytest.raises(Interrupted):       # a checkpoint from the end of epoch 2, kept aside
        train(config, tmp_path / "stop", progress=False, callbacks=[SignalAt(1, None)])
    stopped = next((tmp_path / "stop" / "mlp").iterdir())
    early.write_bytes((stopped / "checkpoints" / "last.npz").read_bytes())
    assert len(metrics_without_seconds(run)) == 4
    resume(early, progress=False)
    text = (run / "metrics.csv").read_text()
    assert text.count("epoch,lr,") == 1 and len(text.splitlines()) == 5
    assert metrics_without_seconds(run) == metrics_without_seconds(reference)
    assert step_rows(run) == step_rows(reference)
    assert (run / "steps.csv").read_text().count("step,epoch,loss,lr") == 1


def test_more_epochs_and_more_patience_may_be_asked_for(tmp_path):
    (tmp_path / "mlp.yaml").write_text(MLP.replace("cosine, warmup_epochs: 2, warmup_start: 0.1, min_lr: 1.0e-4",
                                                   "step, every: 2, gamma: 0.5"))
    long = load_config(tmp_path / "mlp.yaml", ["train.epochs=8"])
    reference = train(long, tmp_path / "reference", progress=False).run_dir
    short = train(load_config(tmp_path / "mlp.yaml"), tmp_path / "short", progress=False)
    assert short.report["epochs_run"] == 6
    result = resume(short.run_dir, ["train.epochs=8"], progress=False)
    assert result.report["epochs_run"] == 8
    assert load_config(short.run_dir / "config.yaml").train["epochs"] == 8
    assert_same_run(reference, short.run_dir)


def test_a_changed_config_is_refused_with_the_keys_that_differ(tmp_path):
    (tmp_path / "mlp.yaml").write_text(MLP)
    run = train(load_config(tmp_path / "mlp.yaml", ["train.epochs=2"]), tmp_path / "runs", progress=False).run_dir
    before = {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    with pytest.raises(InputError) as caught:
        resume(run, ["optimizer.lr=0.5", "train.epochs=3", "model.layers[3].p=0.1"], progress=False)
    assert str(caught.value) == (f"--set: --resume continues {run} with its own config; only train.epochs and "
                                 f"train.early_stopping.patience may change, but model.layers[3].p, "
                                 f"optimizer.lr differ")
    assert caught.value.exit_code == 2
    assert {p.name: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    other = tmp_path / "other.yaml"
    other.write_text(MLP.replace("seed: 5", "seed: 6"))
    with pytest.raises(InputError, match=rf"^{other}: --resume continues .* but seed differs$"):
        resume(run, [], config_path=other, progress=False)


def test_a_finished_run_has_nothing_to_resume(tmp_path):
    (tmp_path / "mlp.yaml").write_text(MLP)
    run = train(load_config(tmp_path / "mlp.yaml", ["train.epochs=2"]), tmp_path / "runs", progress=False).run_dir
    said = []
    result = resume(run, progress=False, notify=said.append)
    assert said == [f"nothing to resume: {run} already completed after 2 epochs; to train longer: nnctl train "
                    f"--resume {run} --set train.epochs=12"]
    assert result.report == json.loads((run / "report.json").read_text())


def test_leftover_temporaries_are_removed_and_another_thread_count_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("NNCTL_THREADS")         # the resume takes the checkpoint's count, which BLAS cannot reach
    before = blas_threads()
    (tmp_path / "mlp.yaml").write_text(MLP)
    config = load_config(tmp_path / "mlp.yaml")
    with pytest.raises(Interrupted):
        train(config, tmp_path / "runs", progress=False, callbacks=[SignalAt(1, 3)])
    run = next((tmp_path / "runs" / "mlp").iterdir())
    last = run / "checkpoints" / "last.npz"
    ckpt = load_checkpoint(last)
    save_checkpoint(last, ckpt.params, ckpt.buffers, ckpt.optim, replace(ckpt.meta, blas_threads=97))
    leftovers = [run / "checkpoints" / ".last.npz.x1y2z3.tmp", run / ".metrics.csv.abc.tmp"]
    for path in leftovers:
        write_bytes_atomic(path, b"half a file")
    said = []
    resume(run, progress=False, notify=said.append)
    assert not any(path.exists() for path in leftovers)
    # OpenBLAS grows its pool on request up to the most threads it was built for (64 in NumPy's wheels)
    assert len(said) == 1 and re.fullmatch(
        rf"warning: {re.escape(str(last))} was written with 97 BLAS threads and this machine's BLAS runs at most "
        rf"\d+; the resumed run will differ from an uninterrupted one by float rounding \(resume on a machine "
        rf"with 97 CPUs for identical numbers\)", said[0]), said
    assert blas_threads() == before             # this process's count again once the run has ended


def test_resume_needs_a_run_folder(tmp_path):
    with pytest.raises(InputError, match=rf"^{tmp_path / 'nope'}: no such run folder$"):
        resume(tmp_path / "nope", progress=False)
    with pytest.raises(InputError, match=r"not a run folder \(no config.yaml\), nothing to resume$"):
        resume(tmp_path, progress=False)

"""data.per_class and data.sampler: exact counts, determinism, untouched validation and test splits, exact
resume with the balanced sampler, the new augmentations and class metrics; class metrics as the monitored
metric (best checkpoint, early stopping, plateau schedule, sweeps)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from nnctl.config.load import load_config
from nnctl.data import load_splits, validate_data_config
from nnctl.data.sampler import balanced_order
from nnctl.errors import ConfigError
from nnctl.sweep.trial import Outcome, settle
from nnctl.training.runner import train
from tests.test_resume import SignalAt, assert_same_run, interrupted_then_resumed, write_images

SEED = np.random.SeedSequence(3)


def npz_data(tmp_path):
    """60 samples of 3 classes named a, b, c (20 each, x row i holds i), and a test split of 9."""
    x = np.arange(60, dtype=np.float32)[:, None]
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(60) % 3, x_test=x[:9] + 100, y_test=np.arange(9) % 3,
             class_names=np.array(["a", "b", "c"]))
    return {"dataset": "npz", "path": "d.npz", "normalize": "none", "val_size": 6}


def load(tmp_path, **data):
    return load_splits(validate_data_config({**npz_data(tmp_path), **data}), SEED, tmp_path, progress=False)


def test_per_class_keeps_that_many_training_samples_of_each_named_class(tmp_path):
    whole = load(tmp_path)
    cut = load(tmp_path, per_class={"a": 3, 2: 5})
    assert np.bincount(cut.train[1], minlength=3).tolist() == [3, np.bincount(whole.train[1])[1], 5]
    kept = set(cut.train[0][:, 0].tolist())
    assert kept <= set(whole.train[0][:, 0].tolist())                   # a subset of the training samples
    np.testing.assert_array_equal(cut.val[0], whole.val[0])              # validation and test untouched
    np.testing.assert_array_equal(cut.test[0], whole.test[0])
    again = load(tmp_path, per_class={"a": 3, 2: 5})
    np.testing.assert_array_equal(again.train[0], cut.train[0])         # the same seed, the same samples
    other = load_splits(validate_data_config({**npz_data(tmp_path), "per_class": {"a": 3, 2: 5}}),
                        np.random.SeedSequence(4), tmp_path, progress=False)
    assert np.bincount(other.train[1], minlength=3).tolist()[::2] == [3, 5]


def test_per_class_keys_follow_data_classes(tmp_path):
    cut = load(tmp_path, classes=[2, 0], per_class={0: 4})              # dataset label 0 = run label 1
    assert cut.class_names == ["c", "a"]
    assert np.bincount(cut.train[1]).tolist()[1] == 4


@pytest.mark.parametrize("per_class, message", [
    ({"d": 3}, "data.per_class.d: no class is named 'd'; the classes are a, b, c"),
    ({7: 3}, "data.per_class.7: class 7 does not exist: the labels are 0 to 2"),
    ({"b": 99}, "data.per_class.b: asks for 99 training samples, but the training split has "),
])
def test_per_class_errors_name_the_key(tmp_path, per_class, message):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, per_class=per_class)
    assert str(error.value).startswith(message)


def test_per_class_values_are_checked():
    with pytest.raises(ConfigError) as error:
        validate_data_config({"dataset": "spiral", "per_class": {0: 0}})
    assert str(error.value).startswith("data.per_class: expected a mapping {class name or label: number of "
                                       "training samples to keep}")


def test_balanced_order_draws_every_class_equally_often():
    labels = np.array([0] * 50 + [1] * 3 + [3] * 7)                      # class 2 has no samples
    order = balanced_order(labels, np.random.default_rng(0))
    assert len(order) == 60
    assert sorted(np.bincount(labels[order], minlength=4).tolist()) == [0, 20, 20, 20]
    assert set(order[labels[order] == 1].tolist()) == {50, 51, 52}      # the small class's samples repeat
    np.testing.assert_array_equal(order, balanced_order(labels, np.random.default_rng(0)))
    uneven = balanced_order(np.array([0] * 9 + [1] * 2), np.random.default_rng(1))
    assert sorted(np.bincount(np.array([0] * 9 + [1] * 2)[uneven]).tolist()) == [5, 6]


IMBALANCED = """\
name: imbalanced
seed: 3
data: {dataset: npz, path: images.npz, flatten: false, val_size: 48, sampler: balanced, per_class: {0: 20}}
model:
  layers:
    - {type: conv2d, filters: 4, kernel: 3, padding: 1}
    - {type: relu}
    - {type: dropout, p: 0.2}
    - {type: flatten}
    - {type: dense, units: 3}
loss: {type: softmax_cross_entropy, class_weights: balanced}
optimizer: {type: momentum, lr: 5.0e-2, momentum: 0.9}
schedule: {type: reduce_on_plateau, metric: val_balanced_acc, patience: 0, factor: 0.5}
train:
  epochs: 5
  batch_size: 20
  metrics: [acc, macro_f1, top2]
  monitor: val_macro_f1
  early_stopping: {metric: val_weighted_f1, patience: 3}
  augment: {flip: true, crop: 1, rotate: 10, zoom: 0.1, brightness: 0.1, contrast: 0.1, cutout: 2}
"""


@pytest.fixture
def imbalanced(tmp_path):
    (tmp_path / "imbalanced.yaml").write_text(IMBALANCED)
    write_images(tmp_path)
    return load_config(tmp_path / "imbalanced.yaml")


@pytest.mark.parametrize("epoch, step", [(1, None), (2, 3)], ids=["epoch-boundary", "mid-epoch"])
def test_sampler_augment_and_class_metrics_resume_exactly(tmp_path, imbalanced, epoch, step):
    reference = train(imbalanced, tmp_path / "reference", progress=False).run_dir
    run, _ = interrupted_then_resumed(imbalanced, tmp_path / "interrupted", SignalAt(epoch, step))
    assert_same_run(reference, run)


def test_class_metrics_are_columns_and_the_monitor_picks_by_them(tmp_path, imbalanced):
    result = train(imbalanced, tmp_path / "runs", progress=False)
    with open(result.run_dir / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "val_macro_f1",
                             "val_top2", "val_balanced_acc", "val_weighted_f1", "seconds"]
    f1 = [float(row["val_macro_f1"]) for row in rows]
    best = next(i for i, value in enumerate(f1) if value == max(f1)) + 1
    report = result.report
    assert (report["monitor"], report["best_epoch"], report["best_value"]) == ("val_macro_f1", best, max(f1))
    assert report["val"]["macro_f1"] == max(f1)                       # the best checkpoint measured again
    assert set(report["test"]) >= {"precision", "recall", "f1", "support", "macro_f1", "weighted_f1", "top2"}
    assert len(report["test"]["support"]) == 3 and sum(report["test"]["support"]) == report["test"]["samples"]
    text = (result.run_dir / "report.md").read_text()
    assert "## Test precision, recall and F1 per class" in text and "| macro F1 |" in text
    lrs = [float(row["lr"]) for row in rows]
    balanced = [float(row["val_balanced_acc"]) for row in rows]
    for i in range(1, len(rows)):                                      # plateau: halve after no rise
        rose = balanced[i - 1] > max(balanced[:i - 1], default=-1)
        assert lrs[i] == (lrs[i - 1] if rose else lrs[i - 1] / 2), (lrs, balanced)


def test_a_sweep_scores_a_class_metric_from_the_report():
    outcome = Outcome(0, "running", "running")
    settle(outcome, {"status": "completed", "epochs_run": 3, "epochs_planned": 3,
                     "val": {"macro_f1": 0.625, "top5": 0.9}}, "val_macro_f1")
    assert (outcome.value, outcome.state) == (0.625, "complete")
    settle(outcome, {"status": "completed", "epochs_run": 3, "epochs_planned": 3, "val": {"top5": 0.9}}, "val_top5")
    assert outcome.value == 0.9


@pytest.mark.parametrize("extra, message", [
    ("train: {metrics: [acc, top3]}", "train.metrics: top3 needs more than 3 classes (this data has 3), else "
                                      "every sample counts as right"),
    ("model: [{type: dense, units: 2}]\nloss: {type: mse, target: input}\ntrain: {metrics: [macro_f1]}",
     "train.metrics: macro_f1 needs a classifier: the first loss term must give one class per sample on class "
     "labels"),
    ("data: {dataset: spiral, val_size: 0}\ntrain: {monitor: val_macro_f1}",
     "train.monitor: this run has no 'val_macro_f1' (no validation split: data.val_size is 0); use one of "
     "train_acc, train_loss"),
    ("data: {dataset: spiral, sampler: balanced, per_class: {0: 10}, val_size: 0.2}\n"
     "schedule: {type: reduce_on_plateau, metric: val_macro_f2}",
     "schedule.metric: unknown metric 'val_macro_f2'"),
])
def test_class_metric_errors_name_the_key(tmp_path, extra, message):
    from click.testing import CliRunner

    from nnctl.cli import cli

    config = tmp_path / "c.yaml"
    base = "data: {dataset: spiral}\n" if not extra.startswith("data") else ""
    model = "" if extra.startswith("model") else "model: [{type: dense, units: 3}]\n"
    config.write_text(base + model + extra + "\n")
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"{config}: {message}")
    assert not (tmp_path / "runs").exists()

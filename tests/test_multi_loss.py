"""Several loss terms reported one by one: per-run metrics.csv columns, each term's loss and each head's
accuracy checked against an independent computation, early stopping and best-epoch choice on a head's
accuracy, reports, and the messages for metric names a run does not have."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.config.load import load_config
from nnctl.errors import ConfigError
from nnctl.commands.evaluate import setup_from_checkpoint
from nnctl.training.runner import train

MULTI = """\
name: multi
seed: 1
data: {{dataset: spiral, samples: 300, normalize: standard}}
model:
  layers:
    - {{type: dense, units: 24}}
    - {{type: relu, name: hidden}}
    - {{type: dense, units: 24}}
    - {{type: relu}}
    - {{type: dense, units: 3, name: main}}
    - {{type: dense, units: 3, name: aux, input: hidden}}
loss:
  - {{type: softmax_cross_entropy, input: main}}
  - {{type: softmax_cross_entropy, input: aux, weight: 0.3}}
optimizer: {{type: adam, lr: 2.0e-2}}
train: {{epochs: {epochs}, batch_size: 30{train}}}
"""
COLUMNS = ["epoch", "lr", "train_loss", "train_loss.main", "train_loss.aux", "train_acc", "train_acc.main",
           "train_acc.aux", "val_loss", "val_loss.main", "val_loss.aux", "val_acc", "val_acc.main", "val_acc.aux",
           "seconds"]


def config_file(tmp_path, epochs=3, train_extra="", text=None):
    path = tmp_path / "multi.yaml"
    path.write_text(text or MULTI.format(epochs=epochs, train=train_extra))
    return path


def read_rows(run):
    with open(run / "metrics.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [{k: float(v) for k, v in row.items()} for row in rows]


def softmax_cross_entropy(scores: np.ndarray, labels: np.ndarray) -> float:
    s = scores.astype(np.float64)
    s -= s.max(axis=1, keepdims=True)
    log_probs = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def test_metrics_csv_has_each_term_and_each_head(tmp_path):
    run = train(load_config(config_file(tmp_path)), tmp_path / "runs", progress=False).run_dir
    with open(run / "metrics.csv", newline="") as handle:
        assert next(csv.reader(handle)) == COLUMNS
    for row in read_rows(run):
        assert row["train_loss"] == pytest.approx(row["train_loss.main"] + 0.3 * row["train_loss.aux"], rel=1e-12)
        assert row["val_loss"] == pytest.approx(row["val_loss.main"] + 0.3 * row["val_loss.aux"], rel=1e-12)
        assert row["val_acc"] == row["val_acc.main"] and row["train_acc"] == row["train_acc.main"]


def test_each_terms_validation_loss_and_accuracy_match_an_independent_computation(tmp_path):
    run = train(load_config(config_file(tmp_path, epochs=2)), tmp_path / "runs", progress=False).run_dir
    setup, _ = setup_from_checkpoint(run / "checkpoints" / "last.npz", progress=False)
    x, y = setup.splits.val
    outputs = setup.network.forward(x, training=False, keep=["main", "aux"])
    last = read_rows(run)[-1]
    for head in ("main", "aux"):
        assert last[f"val_loss.{head}"] == pytest.approx(softmax_cross_entropy(outputs[head], y), rel=1e-5)
        assert last[f"val_acc.{head}"] == float(np.mean(outputs[head].argmax(axis=1) == y))


def test_early_stopping_on_the_main_heads_accuracy(tmp_path):
    config = load_config(config_file(tmp_path, epochs=40, train_extra=", early_stopping: {metric: val_acc.main, "
                                                                      "patience: 2}, monitor: val_acc.main"))
    result = train(config, tmp_path / "runs", progress=False)
    rows = read_rows(result.run_dir)
    accuracies = [r["val_acc.main"] for r in rows]
    best = max(range(len(rows)), key=lambda i: (accuracies[i], -i))     # first epoch with the highest value
    assert result.report["status"] == "stopped early"
    assert result.report["message"] == "early stopping: val_acc.main did not improve for 2 epochs"
    assert result.report["best_epoch"] == best + 1
    assert len(rows) == best + 1 + 2
    assert result.report["monitor"] == "val_acc.main" and result.report["best_value"] == accuracies[best]


def test_report_and_eval_show_each_term(tmp_path):
    run = train(load_config(config_file(tmp_path, epochs=2)), tmp_path / "runs", progress=False).run_dir
    report = json.loads((run / "report.json").read_text())
    assert set(report["test"]["term_loss"]) == {"main", "aux"} and set(report["test"]["head_acc"]) == {"main", "aux"}
    markdown = (run / "report.md").read_text()
    assert "| split | loss | accuracy | loss main | loss aux | accuracy main | accuracy aux |" in markdown
    result = CliRunner().invoke(cli, ["eval", str(run)])
    assert result.exit_code == 0, result.output
    test = report["test"]
    lines = result.stdout.splitlines()
    assert lines[1] == (f"loss of each term: main {test['term_loss']['main']:.6f}, "
                        f"aux {test['term_loss']['aux']:.6f}")
    assert lines[2] == (f"accuracy of each head: main {100 * test['head_acc']['main']:.2f}%, "
                        f"aux {100 * test['head_acc']['aux']:.2f}%")


def test_reduce_on_plateau_can_watch_one_term(tmp_path):
    text = MULTI.format(epochs=8, train="") + ("schedule: {type: reduce_on_plateau, metric: val_loss.aux, patience: 0, "
                                               "threshold: 0}\n")
    run = train(load_config(config_file(tmp_path, text=text)), tmp_path / "runs", progress=False).run_dir
    rows = read_rows(run)
    lrs = [r["lr"] for r in rows]
    aux = [r["val_loss.aux"] for r in rows]
    lowered = [lrs[i] < lrs[i - 1] for i in range(1, len(rows))]
    # the rate of epoch i+1 is lowered exactly when epoch i's val_loss.aux did not improve on the best before
    assert lowered == [aux[i - 1] >= min(aux[:i - 1], default=float("inf")) for i in range(1, len(rows))]
    assert any(lowered) and not all(lowered)


@pytest.mark.parametrize("extra, message", [
    (", monitor: val_acc.aux2", "train.monitor: this run has no 'val_acc.aux2' (no loss term is named 'aux2'); "
                                "use one of " + ", ".join(sorted(COLUMNS[2:-1]))),
    (", early_stopping: {metric: val_accuracy}",
     "train.early_stopping.metric: expected auto, val_acc, val_loss, train_acc, train_loss, val_macro_f1, "
     "val_weighted_f1, val_balanced_acc, val_topK, or a loss term's metric such as val_acc.NAME or val_loss.NAME "
     "(did you mean 'val_acc'?), got 'val_accuracy'"),
])
def test_metric_names_the_run_does_not_have_are_refused(tmp_path, extra, message):
    path = config_file(tmp_path, train_extra=extra)
    with pytest.raises(ConfigError) as info:
        train(load_config(path), tmp_path / "runs", progress=False)
    assert str(info.value) == f"{path}: {message}"
    assert not (tmp_path / "runs").exists()


def test_a_term_without_classes_has_no_accuracy_and_one_term_has_no_suffixes(tmp_path):
    reconstruct = MULTI.format(epochs=1, train=", monitor: val_acc.rec").replace(
        "  - {type: softmax_cross_entropy, input: aux, weight: 0.3}",
        "  - {type: mse, input: rec, target: input, name: rec}").replace(
        "name: aux, input: hidden}", "name: rec, input: hidden}").replace("units: 3, name: rec", "units: 2, name: rec")
    path = config_file(tmp_path, text=reconstruct)
    with pytest.raises(ConfigError) as info:
        train(load_config(path), tmp_path / "runs", progress=False)
    assert str(info.value).startswith(f"{path}: train.monitor: this run has no 'val_acc.rec' (loss term 'rec' gives "
                                      f"no class per sample, so it has no accuracy); use one of ")
    single = tmp_path / "single.yaml"
    single.write_text("data: {dataset: spiral}\nmodel: [{type: dense, units: 3}]\ntrain: {monitor: val_loss.dense1}\n")
    with pytest.raises(ConfigError) as info:
        train(load_config(single), tmp_path / "runs", progress=False)
    assert str(info.value) == (f"{single}: train.monitor: this run has no 'val_loss.dense1' (per-term metrics exist "
                               f"only with several loss terms); use one of train_acc, train_loss, val_acc, val_loss")


def test_terms_on_one_node_are_named_by_node_and_type_and_names_must_differ(tmp_path):
    path = tmp_path / "twice.yaml"
    path.write_text("data: {dataset: spiral}\nmodel: [{type: dense, units: 3}]\n"
                    "loss: [{type: softmax_cross_entropy}, {type: mse, target: onehot}]\ntrain: {epochs: 1}\n")
    run = train(load_config(path), tmp_path / "runs", progress=False).run_dir
    with open(run / "metrics.csv", newline="") as handle:
        assert next(csv.reader(handle))[2:5] == ["train_loss", "train_loss.dense1_softmax_cross_entropy",
                                                 "train_loss.dense1_mse"]
    path.write_text("data: {dataset: spiral}\nmodel: [{type: dense, units: 3}]\n"
                    "loss: [{type: mse, target: onehot}, {type: mse, target: onehot, weight: 2}]\n")
    with pytest.raises(ConfigError) as info:
        train(load_config(path), tmp_path / "runs", progress=False)
    assert str(info.value) == (f"{path}: loss[1].name: loss[0] is also named 'dense1_mse' (a term is named after "
                               f"its node, or node_type when several terms score that node); give each a different "
                               f"name")
    path.write_text("data: {dataset: spiral}\nmodel: [{type: dense, units: 3}]\n"
                    "loss: [{type: softmax_cross_entropy}, {type: mse, target: onehot, name: 9x}]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (f"{path}: loss[1].name: expected a name of letters, digits, _ or - (not starting "
                               f"with a digit or -), got '9x'")

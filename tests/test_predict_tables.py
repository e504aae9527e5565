"""`nnctl predict` beyond pictures: CSV inputs (with or without the training label column), and the columns
for SVM scores, regression outputs and sigmoid outputs, each checked against the network's own numbers."""

from __future__ import annotations

import csv
import io

import numpy as np
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.config.load import load_config
from nnctl.deploy.saved_model import load_saved_model, to_network_input
from nnctl.training.runner import train


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def trained(tmp_path, body: str):
    path = tmp_path / "c.yaml"
    path.write_text(body)
    return train(load_config(path), tmp_path / "runs", progress=False).run_dir


def rows_of(result):
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def network_outputs(run_dir, x):
    model = load_saved_model(run_dir)
    return model.network.forward(to_network_input(x, model), training=False)[model.network.output_name]


def test_csv_inputs_with_the_training_label_column_or_without_it(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3)).round(3)
    labels = np.where(x[:, 0] + x[:, 1] > 0, "up", "down")
    lines = ["kind;a;b;c"] + [f"{k};{a};{b};{c}" for k, (a, b, c) in zip(labels, x)]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    run_dir = trained(tmp_path, """\
seed: 0
data: {dataset: csv, path: train.csv, label_column: kind, delimiter: ";", normalize: standard}
model: [{type: dense, units: 8}, {type: tanh}, {type: dense, units: 2}]
train: {epochs: 2, batch_size: 16, progress: false}
""")
    (tmp_path / "features.csv").write_text("\n".join(f"{a};{b};{c}" for a, b, c in x[:10]) + "\n")
    np.savez(tmp_path / "x.npz", x=x[:10].astype(np.float32))
    with_labels = rows_of(invoke("predict", run_dir, tmp_path / "train.csv"))[:10]
    without = rows_of(invoke("predict", run_dir, tmp_path / "features.csv"))
    from_npz = rows_of(invoke("predict", run_dir, tmp_path / "x.npz"))
    assert with_labels == without == from_npz
    assert {r["class"] for r in from_npz} <= {"down", "up"}
    assert list(from_npz[0]) == ["id", "class", "probability", "class_2", "probability_2"]   # top-k: 2 classes


def test_svm_scores_are_scores_not_probabilities(tmp_path):
    run_dir = trained(tmp_path, """\
seed: 0
data: {dataset: blobs, samples: 200, classes: 3, features: 4}
model: [{type: dense, units: 3}]
loss: {type: svm}
train: {epochs: 1, progress: false}
""")
    x = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    rows = rows_of(invoke("predict", run_dir, tmp_path / "x.npz", "--top-k", 3))
    assert list(rows[0]) == ["id", "class", "score", "class_2", "score_2", "class_3", "score_3"]
    scores = network_outputs(run_dir, x)
    np.testing.assert_allclose([float(r["score"]) for r in rows], scores.max(axis=1), rtol=1e-5)
    assert [r["class"] for r in rows] == [str(c) for c in scores.argmax(axis=1)]


def test_regression_outputs(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(100, 3)).astype(np.float32)
    np.savez(tmp_path / "r.npz", x=x, y=np.stack([x.sum(axis=1), x[:, 0] - x[:, 2]], axis=1))
    run_dir = trained(tmp_path, """\
seed: 0
data: {dataset: npz, path: r.npz, normalize: minmax}
model: [{type: dense, units: 2}]
loss: {type: mse}
train: {epochs: 1, progress: false}
""")
    np.savez(tmp_path / "x.npz", x=x[:6])
    rows = rows_of(invoke("predict", run_dir, tmp_path / "x.npz"))
    assert list(rows[0]) == ["id", "output_0", "output_1"]
    outputs = network_outputs(run_dir, x[:6])
    np.testing.assert_allclose([[float(r["output_0"]), float(r["output_1"])] for r in rows], outputs, rtol=1e-6)


def test_a_single_sigmoid_output_reads_as_two_classes(tmp_path):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(100, 2)).astype(np.float32)
    np.savez(tmp_path / "b.npz", x=x, y=(x[:, 0] > 0).astype(np.int64), class_names=np.array(["no", "yes"]))
    run_dir = trained(tmp_path, """\
seed: 0
data: {dataset: npz, path: b.npz}
model: [{type: dense, units: 1}]
loss: {type: sigmoid_bce}
train: {epochs: 1, progress: false}
""")
    np.savez(tmp_path / "x.npz", x=x[:5])
    rows = rows_of(invoke("predict", run_dir, tmp_path / "x.npz", "--top-k", 1))
    assert list(rows[0]) == ["id", "class", "probability"]
    logits = network_outputs(run_dir, x[:5])[:, 0].astype(np.float64)
    p_yes = 1 / (1 + np.exp(-logits))
    assert [r["class"] for r in rows] == ["yes" if p > 0.5 else "no" for p in p_yes]
    np.testing.assert_allclose([float(r["probability"]) for r in rows], np.maximum(p_yes, 1 - p_yes), rtol=1e-5)

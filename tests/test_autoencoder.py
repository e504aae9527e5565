"""Autoencoders end to end on tiny 8x8 images: `nnctl embed`, `nnctl plot --codes` (codes versus PCA with
k-NN accuracies checked against a brute-force computation), `nnctl plot --reconstructions`, `nnctl eval
--corrupt`, noise at evaluation, and every bad-input message of these commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.config.load import load_config
from nnctl.layers.noise import Corruption, corrupt
from nnctl.commands.evaluate import setup_from_checkpoint
from nnctl.training.metrics import evaluate
from nnctl.build.prepare import evaluation_generator
from nnctl.training.runner import train

AUTOENCODER = """\
name: tiny_ae
seed: 0
data: {{dataset: npz, path: images.npz, normalize: none, flatten: false, val_size: 60, test_size: 60}}
model:
  layers:
    - {{type: flatten}}
{noise}    - {{type: dense, units: 16}}
    - {{type: tanh}}
    - {{type: dense, units: {code}, name: code}}
    - {{type: dense, units: 16}}
    - {{type: tanh}}
    - {{type: dense, units: 64}}
    - {{type: sigmoid}}
    - {{type: reshape, shape: [1, 8, 8]}}
loss: {{type: mse, target: input}}
optimizer: {{type: adam, lr: 1.0e-2}}
train: {{epochs: 2, batch_size: 32}}
"""
NOISE = "    - {type: noise, mode: mask, p: 0.3}\n"


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def write_images(folder):
    """300 images 1x8x8 in 3 classes: a class's fixed random pattern plus noise, clipped to [0, 1]."""
    rng = np.random.default_rng(0)
    y = np.arange(300) % 3
    patterns = rng.random((3, 1, 8, 8))
    x = np.clip(patterns[y] + 0.2 * rng.standard_normal((300, 1, 8, 8)), 0, 1).astype(np.float32)
    np.savez(folder / "images.npz", x=x, y=y.astype(np.int64))


def train_autoencoder(tmp_path, noise=NOISE, code=2, extra=""):
    write_images(tmp_path)
    path = tmp_path / "ae.yaml"
    path.write_text(AUTOENCODER.format(noise=noise, code=code) + extra)
    return train(load_config(path), tmp_path / "runs", progress=False).run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_autoencoder(tmp_path_factory.mktemp("ae"))


# ---------------------------------------------------------------------------------------------- embed

def test_embed_writes_the_codes_and_labels(run):
    result = invoke("embed", run, "--node", "code")
    assert result.exit_code == 0, result.output
    out = run / "embed_code_test.npz"
    assert result.stdout == f"wrote {out}: 60 outputs of node 'code', shape (2,) each (test split)\n"
    setup, _ = setup_from_checkpoint(run, progress=False)
    x, y = setup.splits.test
    with np.load(out, allow_pickle=False) as saved:
        np.testing.assert_array_equal(saved["codes"], setup.network.forward(x, training=False, until="code")["code"])
        np.testing.assert_array_equal(saved["labels"], y)
        assert str(saved["node"]) == "code" and str(saved["split"]) == "test"


def test_a_folder_of_runs_stands_for_its_newest_run(run):
    result = invoke("embed", run.parent, "--node", "code", "--split", "val")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {run / 'embed_code_val.npz'}: 60 outputs")
    result = invoke("eval", run.parent)
    assert result.stdout.splitlines()[-1] == f"wrote {run / 'eval_best_test.json'}"


def test_embed_other_split_and_file(run, tmp_path):
    result = invoke("embed", run / "checkpoints" / "last.npz", "--node", "dense1", "--split", "val", "--out",
                    tmp_path / "h.npz")
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "h.npz") as saved:
        assert saved["codes"].shape == (60, 16)


def test_embed_unknown_node_and_oversized_outputs(run, monkeypatch):
    result = invoke("embed", run, "--node", "cod")
    assert result.exit_code == 2
    assert result.stderr == ("--node 'cod': the network has no such node (did you mean 'code'?); its nodes are "
                             "flatten1, noise1, dense1, tanh1, code, dense2, tanh2, dense3, sigmoid1, reshape1\n")
    from nnctl.analysis import node_outputs as embed

    monkeypatch.setattr(embed, "MAX_BYTES", 1000)
    result = invoke("embed", run, "--node", "dense1")
    assert result.exit_code == 2
    assert result.stderr == ("--node 'dense1': its outputs for 60 samples, (16,) each, would take 0.0 GiB (at most "
                             "0 GiB); choose a narrower node\n")
    assert not (run / "embed_dense1_test.npz").exists()


# ---------------------------------------------------------------------------------------------- codes

def brute_force_knn_accuracy(train, train_y, test, test_y, k=5):
    """Majority of the k nearest; a tie goes to the tied class whose member is nearest."""
    distances = ((test[:, None, :] - train[None, :, :]) ** 2).sum(axis=2)
    predicted = []
    for row in np.argsort(distances, axis=1, kind="stable")[:, :k]:
        classes = [int(c) for c in train_y[row]]
        most = max(classes.count(c) for c in classes)
        predicted.append(next(c for c in classes if classes.count(c) == most))
    return float(np.mean(np.array(predicted) == test_y))


def pca_2d(train, rows):
    mean = train.mean(axis=0, dtype=np.float64)
    _, _, vt = np.linalg.svd(train - mean, full_matrices=False)
    axes = vt[:2] * np.sign(vt[:2][np.arange(2), np.abs(vt[:2]).argmax(axis=1)])[:, None]
    return (train - mean) @ axes.T, (rows - mean) @ axes.T


def test_codes_beside_pca_with_their_nearest_neighbour_accuracies(run):
    result = invoke("plot", run, "--codes", "code")
    assert result.exit_code == 0, result.output
    setup, _ = setup_from_checkpoint(run, progress=False)
    (train_x, train_y), (x, y) = setup.splits.train, setup.splits.test
    forward = setup.network.forward
    codes = brute_force_knn_accuracy(forward(train_x, False, until="code")["code"].astype(np.float64), train_y,
                                     forward(x, False, until="code")["code"].astype(np.float64), y)
    train_points, points = pca_2d(train_x.reshape(len(train_x), -1).astype(np.float64),
                                  x.reshape(len(x), -1).astype(np.float64))
    pca = brute_force_knn_accuracy(train_points, train_y, points, y)
    assert result.stdout.splitlines() == [f"wrote {run / 'codes_code.png'}",
                                          f"2-D codes of 'code': 5-NN test accuracy {100 * codes:.2f}%",
                                          f"PCA of the 64-D inputs: 5-NN test accuracy {100 * pca:.2f}%"]
    assert (run / "codes_code.png").read_bytes()[:4] == b"\x89PNG"


def test_wider_codes_are_projected_by_pca_first(run):
    result = invoke("plot", run, "--codes", "dense1", "--split", "val", "--out", run / "wide.png")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].startswith("16-D codes of 'dense1', PCA to 2-D: 5-NN val accuracy ")


def test_codes_need_two_values_and_class_labels(tmp_path):
    run = train_autoencoder(tmp_path, noise="", code=1)
    result = invoke("plot", run, "--codes", "code")
    assert result.exit_code == 2
    assert result.stderr == "--codes 'code': the node gives 1 value per sample; a map needs at least 2\n"
    result = invoke("plot", run, "--codes", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("--node 'nope': the network has no such node; its nodes are flatten1, ")


# ---------------------------------------------------------------------------------------------- reconstructions

def test_reconstructions_use_the_runs_own_noise_layer(run):
    result = invoke("plot", run, "--reconstructions", 4)
    assert result.exit_code == 0, result.output
    setup, _ = setup_from_checkpoint(run, progress=False)
    clean = setup.splits.test[0][:4]
    damaged, keep = corrupt(clean, Corruption("mask", p=0.3), evaluation_generator(0))
    assert not keep.all()
    rebuilt = setup.network.forward(damaged, training=False)["reshape1"]
    mse = float(np.mean((rebuilt.astype(np.float64) - clean) ** 2))
    assert result.stdout == (f"wrote {run / 'reconstructions.png'} (3 rows of 4 test images; mean squared error to "
                             f"the clean images {mse:.6f})\n")


def test_reconstructions_with_another_corruption_or_none(tmp_path):
    run = train_autoencoder(tmp_path, noise="")
    result = invoke("plot", run, "--reconstructions", 3, "--corrupt", "gaussian=0.2", "--split", "val")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {run / 'reconstructions.png'} (3 rows of 3 val images; ")
    result = invoke("plot", run, "--reconstructions", 3, "--out", tmp_path / "plain.png")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {tmp_path / 'plain.png'} (2 rows of 3 test images; ")


@pytest.mark.parametrize("args, message", [
    (["--reconstructions", "0"], "--reconstructions 0: expected 1 to 50 images (the test split has 60)"),
    (["--reconstructions", "3", "--corrupt", "mask"],
     "--corrupt 'mask': expected MODE=AMOUNT with MODE one of mask, gaussian, salt_pepper (e.g. mask=0.3)"),
    (["--codes", "code", "--corrupt", "mask=0.3"], "--corrupt goes with --reconstructions (or nnctl eval --corrupt)"),
    (["--codes", "code", "--reconstructions", "3"],
     "--codes draws a picture of one RUN (a run folder, a checkpoint, or a config for a fresh network); give it "
     "alone, without other runs, other pictures or --metric, --per-step, --label, --log-y, --smooth"),
    (["--codes", "code", "--metric", "val_loss"],
     "--codes draws a picture of one RUN (a run folder, a checkpoint, or a config for a fresh network); give it "
     "alone, without other runs, other pictures or --metric, --per-step, --label, --log-y, --smooth"),
])
def test_bad_picture_options_are_one_line(run, args, message):
    result = invoke("plot", run, *args)
    assert result.exit_code == 2
    assert result.stderr == message + "\n"


def test_reconstructions_of_a_classifier_are_refused(tmp_path):
    write_images(tmp_path)
    path = tmp_path / "clf.yaml"
    path.write_text(AUTOENCODER.format(noise="", code=2).replace("units: 64}", "units: 3}").replace(
        "    - {type: sigmoid}\n    - {type: reshape, shape: [1, 8, 8]}\n", "").replace(
        "{type: mse, target: input}", "{type: softmax_cross_entropy}"))
    run = train(load_config(path), tmp_path / "runs", progress=False).run_dir
    result = invoke("plot", run, "--reconstructions", 3)
    assert result.exit_code == 2
    assert result.stderr == (f"{run}: no loss term reconstructs the input (target: input), so there are no "
                             f"reconstructions to draw\n")
    assert (run / "confusion.png").is_file()


# ---------------------------------------------------------------------------------------------- eval --corrupt

def test_eval_corrupt_compares_reconstructions_of_damaged_inputs_with_clean_ones(run):
    result = invoke("eval", run, "--corrupt", "mask=0.3", "--batch-size", 25)
    assert result.exit_code == 0, result.output
    setup, _ = setup_from_checkpoint(run, progress=False)
    x = setup.splits.test[0]
    rng = evaluation_generator(0)
    squared = 0.0
    for start in range(0, len(x), 25):
        clean = x[start:start + 25]
        rebuilt = setup.network.forward(corrupt(clean, Corruption("mask", p=0.3), rng)[0], training=False)["reshape1"]
        squared += float(np.sum((rebuilt.astype(np.float64) - clean) ** 2))
    mse = squared / x.size
    lines = result.stdout.splitlines()
    assert lines[0].startswith("test: 60 samples, loss ") and lines[0].endswith(" (inputs corrupted: mask p 0.3)")
    assert float(lines[0].split()[4]) == pytest.approx(mse, rel=1e-5)
    assert lines[1] == f"reconstruction mean squared error {mse:.6f} (to the clean inputs)"
    assert lines[2] == f"wrote {run / 'eval_best_test_mask0.3.json'}"
    clean = invoke("eval", run)
    assert clean.stdout.splitlines()[-1] == f"wrote {run / 'eval_best_test.json'}"


def test_noise_at_evaluation_damages_validation_inputs_the_same_way_every_time(tmp_path):
    run = train_autoencoder(tmp_path, noise="    - {type: noise, mode: mask, p: 0.3, at_eval: true}\n")
    setup, _ = setup_from_checkpoint(run, progress=False)
    x, y = setup.splits.val
    batch = setup.eval_batch
    damaged = [evaluate(setup.network, setup.objective, x, y, batch, None, evaluation_generator(0)).loss
               for _ in range(2)]
    clean = evaluate(setup.network, setup.objective, x, y, batch, None).loss
    assert damaged[0] == damaged[1] and damaged[0] != clean
    assert json.loads((run / "report.json").read_text())["val"]["loss"] == damaged[0]
    result = invoke("eval", run, "--corrupt", "mask=0.3")
    assert result.exit_code == 2
    assert result.stderr == ("--corrupt: noise layer 'noise1' of this run already damages inputs at evaluation "
                             "(at_eval: true); evaluate without --corrupt\n")


def test_a_noise_layer_with_p_zero_trains_exactly_as_no_noise_layer(tmp_path):
    def rows(run):
        with open(run / "metrics.csv") as handle:
            return [line.rsplit(",", 1)[0] for line in handle]          # without seconds

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = train_autoencoder(tmp_path / "a", noise="")
    zero = train_autoencoder(tmp_path / "b", noise="    - {type: noise, mode: mask, p: 0.0}\n")
    assert rows(plain) == rows(zero)

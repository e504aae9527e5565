"""`nnctl predict`: on a folder of PNGs the test writes, on .npz and on IDX, each against `nnctl eval`'s own
predictions for the same images; CSV columns; other inputs (CSV, resized and RGB pictures); the one-line
errors; no training data is read."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from nnctl.cli import cli
from nnctl.commands.evaluate import setup_from_checkpoint
from nnctl.config.load import load_config
from nnctl.runs.checkpoints import load_checkpoint, save_checkpoint
from nnctl.training.runner import train
from tests.conftest import idx_bytes

SIDE = 10
CONFIG = """\
name: tiny
seed: 4
data: {{dataset: mnist, path: data, download: false, verify: false, val_size: 60, flatten: {flatten}}}
model:
{layers}
optimizer: {{type: adam, lr: 5.0e-3}}
train: {{epochs: 3, batch_size: 32, progress: false}}
"""
MLP = """\
  - {type: dense, units: 32}
  - {type: batchnorm}
  - {type: relu}
  - {type: dense, units: 10}"""
CNN = """\
  - {type: conv2d, filters: 4, kernel: 3, padding: 1}
  - {type: batchnorm}
  - {type: relu}
  - {type: maxpool2d, kernel: 2}
  - {type: flatten}
  - {type: dense, units: 10}"""


def pictures(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`count` SIDExSIDE uint8 images in ten classes: class k is a bright 3x3 square at spot k, plus noise."""
    labels = rng.integers(0, 10, size=count)
    images = rng.integers(0, 60, size=(count, SIDE, SIDE)).astype(np.uint8)
    for k in range(10):
        row, col = divmod(k, 4)
        images[labels == k, 2 * row + 1:2 * row + 4, 2 * col:2 * col + 3] = 230
    return images, labels.astype(np.uint8)


@pytest.fixture(scope="module", params=["mlp", "cnn"])
def run(request, tmp_path_factory):
    """A trained run on an MNIST-style IDX set; returns (run folder, raw test images, test labels, root)."""
    root = tmp_path_factory.mktemp(request.param)
    rng = np.random.default_rng(0)
    (train_x, train_y), (test_x, test_y) = pictures(600, rng), pictures(90, rng)
    data = root / "data"
    data.mkdir()
    for name, array in (("train-images-idx3-ubyte", train_x), ("train-labels-idx1-ubyte", train_y),
                        ("t10k-images-idx3-ubyte", test_x), ("t10k-labels-idx1-ubyte", test_y)):
        (data / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(array), mtime=0))
    config = root / "tiny.yaml"
    flatten = request.param == "mlp"
    config.write_text(CONFIG.format(flatten=str(flatten).lower(), layers=MLP if flatten else CNN))
    result = train(load_config(config), root / "runs", progress=False)
    assert result.report["test"]["acc"] > 0.5            # it learned something, so predictions are not all alike
    return result.run_dir, test_x, test_y, root


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def eval_predictions(run_dir):
    """Per-image class and probabilities as `nnctl eval` computes them: the run's own test split rebuilt
    from its config and seed, through eval's network, in evaluation mode."""
    setup, _ = setup_from_checkpoint(run_dir, progress=False)
    x = setup.splits.test[0]
    logits = setup.network.forward(x, training=False)[setup.network.output_name].astype(np.float64)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return logits.argmax(axis=1), probabilities, setup.splits.class_names


def check_against_eval(rows, run_dir, labels):
    """Same class for every image and probabilities equal to 1e-6 (the CSV keeps 6 digits), and the confusion
    matrix that `nnctl eval` prints is the one these predictions give."""
    classes, probabilities, names = eval_predictions(run_dir)
    assert [r["class"] for r in rows] == [names[c] for c in classes]
    np.testing.assert_allclose([float(r["probability"]) for r in rows], probabilities.max(axis=1), rtol=1e-5)
    second = np.argsort(-probabilities, axis=1, kind="stable")[:, 1]
    assert [r["class_2"] for r in rows] == [names[c] for c in second]
    result = invoke("eval", run_dir, "--split", "test")
    assert result.exit_code == 0, result.output
    report = json.loads((run_dir / "eval_best_test.json").read_text())
    predicted = [names.index(r["class"]) for r in rows]
    confusion = np.zeros((10, 10), int)
    np.add.at(confusion, (labels.astype(int), predicted), 1)
    assert confusion.tolist() == report["confusion"]


def test_predict_on_an_idx_file_matches_eval(run, tmp_path):
    run_dir, test_x, test_y, root = run
    out = tmp_path / "idx.csv"
    result = invoke("predict", run_dir, root / "data" / "t10k-images-idx3-ubyte.gz", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} (90 samples)\n"
    rows = read_rows(out)
    assert list(rows[0]) == ["id", "class", "probability", "class_2", "probability_2", "class_3", "probability_3"]
    assert [r["id"] for r in rows] == [str(i) for i in range(90)]
    check_against_eval(rows, run_dir, test_y)


def test_predict_on_an_npz_file_matches_eval(run, tmp_path):
    run_dir, test_x, test_y, _ = run
    np.savez(tmp_path / "x.npz", x=test_x, y=test_y)              # y is ignored
    result = invoke("predict", run_dir, tmp_path / "x.npz", "--batch-size", 7)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))           # no --out: CSV on standard output
    check_against_eval(rows, run_dir, test_y)
    assert result.stderr == ""          # 13 batches, but stderr is not a terminal: no bar frames in a log
    quiet = invoke("predict", run_dir, tmp_path / "x.npz", "--batch-size", 7, "--quiet")
    assert quiet.stderr == "" and quiet.stdout == result.stdout
    whole = invoke("predict", run_dir, tmp_path / "x.npz")      # default: auto, 512 for this small network
    assert whole.exit_code == 0, whole.output
    assert whole.stderr == ""                                       # one batch of 90: no progress bar
    # float32 products in other batch shapes may round the last printed digit differently
    check_against_eval(list(csv.DictReader(io.StringIO(whole.stdout))), run_dir, test_y)


def test_predict_on_a_folder_of_pngs_matches_eval(run, tmp_path):
    run_dir, test_x, test_y, _ = run
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i, image in enumerate(test_x):
        Image.fromarray(image, mode="L").save(folder / f"img{i:03d}.png")
    (folder / "notes.txt").write_text("not a picture")               # ignored
    out = tmp_path / "png.csv"
    result = invoke("predict", run_dir, folder, "--out", out, "--top-k", 2)
    assert result.exit_code == 0, result.output
    rows = read_rows(out)
    assert list(rows[0]) == ["id", "class", "probability", "class_2", "probability_2"]
    assert [r["id"] for r in rows] == [f"img{i:03d}.png" for i in range(90)]
    check_against_eval(rows, run_dir, test_y)


def test_pictures_are_converted_to_grey_and_resized(run, tmp_path):
    run_dir, test_x, _, _ = run
    grey = Image.fromarray(test_x[0], mode="L")
    grey.save(tmp_path / "grey.png")
    Image.merge("RGB", [grey, grey, grey]).save(tmp_path / "rgb.png")
    grey.resize((4 * SIDE, 4 * SIDE), Image.Resampling.NEAREST).save(tmp_path / "big.jpg", quality=100)
    outputs = {}
    for name in ("grey.png", "rgb.png", "big.jpg"):
        result = invoke("predict", run_dir, tmp_path / name, "--top-k", 1)
        assert result.exit_code == 0, result.output
        outputs[name] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert outputs["rgb.png"][0]["probability"] == outputs["grey.png"][0]["probability"]    # same pixels
    assert outputs["big.jpg"][0]["class"] == outputs["grey.png"][0]["class"]


def test_predict_reads_no_training_data(run, tmp_path):
    """The data folder is gone and downloads would fail: predict needs none of it."""
    run_dir, test_x, _, root = run
    np.savez(tmp_path / "x.npz", x=test_x[:5])
    moved = tmp_path / "moved-data"
    shutil.move(root / "data", moved)
    try:
        result = invoke("predict", run_dir, tmp_path / "x.npz")
    finally:
        shutil.move(moved, root / "data")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 6


def test_a_checkpoint_from_before_input_shapes_were_stored(run, tmp_path):
    run_dir, test_x, _, _ = run
    ckpt = load_checkpoint(run_dir / "checkpoints" / "best.npz")
    meta = replace(ckpt.meta, input_shape=None, image_shape=None, init=None)
    old = tmp_path / "old.npz"
    save_checkpoint(old, ckpt.params, ckpt.buffers, {}, meta)
    np.savez(tmp_path / "x.npz", x=test_x[:4])
    result = invoke("predict", old, tmp_path / "x.npz")
    if "cnn" in str(run_dir):       # an old convolutional checkpoint is taken to be of 28x28 MNIST images
        assert result.exit_code == 2
        assert result.stderr == (f"{old}: parameter dense1.W has shape (100, 10), the network expects (784, 10); "
                                 f"nothing was loaded\n")
        return
    assert result.exit_code == 0, result.output
    assert result.stdout == invoke("predict", run_dir, tmp_path / "x.npz").stdout
    Image.fromarray(test_x[0], mode="L").save(tmp_path / "one.png")       # pictures: 10x10 from 100 values
    assert invoke("predict", old, tmp_path / "one.png").exit_code == 0


# ---------------------------------------------------------------------------------------------- mistakes

def test_one_line_errors(run, tmp_path):
    run_dir, test_x, _, _ = run
    expected_shape = "(1, 10, 10) (or 100 values in a row)" if "cnn" in str(run_dir) else "(100,) or (1, 10, 10)"
    np.savez(tmp_path / "wrong.npz", x=np.zeros((3, 9, 9), np.uint8))
    np.savez(tmp_path / "noname.npz", images=np.zeros((3, 10, 10), np.uint8))
    np.savez(tmp_path / "nan.npz", x=np.full((2, 100), np.nan, np.float32))
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "empty").mkdir()
    (tmp_path / "data.bin").write_bytes(b"\x89PNX....")
    (tmp_path / "rows.csv").write_text("1,2,3\n4,5,6\n")
    cases = [
        ("wrong.npz", f"samples of shape (9, 9) do not fit this model, which takes {expected_shape}"),
        ("noname.npz", "no array 'x' in this .npz (found: images)"),
        ("nan.npz", "holds NaN or infinite values"),
        ("text.png", "not a readable PNG or JPEG picture (cannot identify image file "
                     f"'{tmp_path / 'text.png'}')"),
        ("empty", "no .png, .jpg, .jpeg pictures in this folder or its sub-folders"),
        ("data.bin", "not an .npz, CSV, IDX or PNG/JPEG file (nor a folder of pictures)"),
        ("rows.csv", "line 1: expected 100 values per row (the model's input size), found 3 fields"),
        ("missing.npz", "no such file or folder"),
    ]
    for name, message in cases:
        result = invoke("predict", run_dir, tmp_path / name, "--out", tmp_path / "p.csv")
        assert result.exit_code == 2, (name, result.output)
        separator = ", " if name.endswith(".csv") else ": "
        assert result.stderr == f"{tmp_path / name}{separator}{message}\n", name
        assert not (tmp_path / "p.csv").exists()

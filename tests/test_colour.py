"""Colour throughout: 3-channel images through conv, pooling and batch norm (float64 gradients), flip and
shift augmentation, and a small CNN trained on an RGB image folder, then summary, predict (a folder of
class folders, class names), ONNX export, `plot --filters` and `--features`."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from nnctl.check.gradcheck import PASS_LIMIT, check_layer
from nnctl.data.augment import augment_batch
from nnctl.layers import conv
from nnctl.nn.registry import LAYERS
from nnctl.options.spec import validate
from nnctl.runs.loader import load_model
from nnctl.viz.pictures import first_layer_tiles
from tests.folder_support import CLASSES, SIDE, cnn_config, nnctl, write_folder


def build(kind: str, in_shape: tuple, **options):
    cls = LAYERS.lookup(kind, "test")
    layer = cls(kind, **validate(cls.options, options, "test"))
    layer.build(in_shape, np.random.default_rng(0), np.float64)
    return layer


@pytest.mark.parametrize("kind, options", [
    ("conv2d", {"filters": 4, "kernel": 3, "padding": 1}),
    ("batchnorm", {}),
    ("maxpool2d", {"kernel": 2}),
    ("avgpool2d", {"kernel": 2}),
])
def test_three_channel_gradients_match_centered_differences(kind, options):
    rng = np.random.default_rng(3)
    layer = build(kind, (3, 6, 6), **options)
    rows = check_layer(layer, rng.standard_normal((2, 3, 6, 6)), rng)
    assert [r.tensor for r in rows] == ["x"] + list(layer.params)
    for row in rows:
        assert row.max_rel_error <= PASS_LIMIT and row.verdict == "pass", row


def test_a_conv_backward_that_mixes_up_the_colour_channels_fails(monkeypatch):
    right = conv.Conv2D.backward

    def wrong(self, dy, need_input_grad=True):
        dx = right(self, dy, need_input_grad)
        return dx[:, ::-1].copy()                     # red and blue swapped: invisible on one channel

    monkeypatch.setattr(conv.Conv2D, "backward", wrong)
    rng = np.random.default_rng(4)
    layer = build("conv2d", (3, 5, 5), filters=2, kernel=3)
    failed = {r.tensor for r in check_layer(layer, rng.standard_normal((2, 3, 5, 5)), rng) if r.verdict == "fail"}
    assert failed == {"x"}


def test_flip_and_shift_move_the_three_channels_together():
    base = np.arange(2 * 7 * 7, dtype=np.float32).reshape(2, 1, 7, 7)
    x = np.concatenate([base, base + 1000, base + 2000], axis=1)                # channel c = base + 1000 c
    out = augment_batch(x, np.random.default_rng(0), flip=True, shift=2)
    assert out.shape == (2, 3, 7, 7)
    np.testing.assert_array_equal(out[:, 1], out[:, 0] + 1000)
    np.testing.assert_array_equal(out[:, 2], out[:, 0] + 2000)
    assert not np.array_equal(out, x)


@pytest.fixture(scope="module")
def rgb_run(tmp_path_factory):
    """A small CNN trained (flips and shifts on) on an RGB image folder; returns (root, run folder)."""
    root = tmp_path_factory.mktemp("rgb")
    write_folder(root / "pics", {"train": 40, "test": 8}, rgb=True)
    config = cnn_config(root / "pics", root / "rgb.yaml", name="rgb_cnn", epochs=4,
                        train_extra=", augment: {flip: true, shift: 1}")
    done = nnctl("train", config, "--out", root / "runs")
    assert done.returncode == 0, done.stderr
    return root, next((root / "runs" / "rgb_cnn").iterdir())


def test_an_rgb_folder_trains_with_its_class_names(rgb_run):
    _, run = rgb_run
    report = json.loads((run / "report.json").read_text())
    assert report["class_names"] == list(CLASSES)
    assert report["test"]["acc"] >= 0.9                # colour and position both tell the classes apart
    assert (run / "confusion.png").is_file()
    assert load_model(run).image_shape == (3, SIDE, SIDE)


def test_summary_shows_the_three_channel_shapes(rgb_run):
    root, _ = rgb_run
    done = nnctl("summary", root / "rgb.yaml")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[2].split() == ["input", "(3,", f"{SIDE},", f"{SIDE})"]
    assert lines[3].split()[:5] == ["conv2d1", "conv2d", "(6,", f"{SIDE},", f"{SIDE})"]
    assert lines[3].split()[5] == str(6 * 3 * 3 * 3 + 6)                      # 3 input channels per filter


def test_predict_reads_a_folder_of_class_folders_in_colour(rgb_run):
    root, run = rgb_run
    done = nnctl("predict", run, root / "pics" / "test", "--top-k", 1)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [r["id"] for r in rows] == [f"{name}/{i:03d}.png" for name in CLASSES for i in range(8)]
    right = sum(r["class"] == r["id"].split("/")[0] for r in rows)
    assert right >= 0.9 * len(rows)


def test_onnx_export_of_an_rgb_network_carries_the_class_names(rgb_run):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed (pip install 'nnctl[onnx]')")
    onnxruntime = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (pip install 'nnctl[onnx]')")
    root, run = rgb_run
    out = root / "rgb.onnx"
    done = nnctl("export", run, "--format", "onnx", "--out", out)
    assert done.returncode == 0, done.stderr
    properties = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(properties["class_names"]) == list(CLASSES)
    pixels = np.stack([np.asarray(Image.open(p)).transpose(2, 0, 1)
                       for p in sorted((root / "pics" / "test" / "owl").glob("*.png"))]).astype(np.float32)
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": pixels})[0]                            # raw (N, 3, H, W) values
    assert (logits.argmax(axis=1) == CLASSES.index("owl")).mean() >= 0.9


def test_plot_filters_draws_colour_filters(rgb_run):
    root, run = rgb_run
    name, tiles = first_layer_tiles(load_model(run).network)
    assert name == "conv2d1" and tiles.shape == (6, 3, 3, 3)                   # (filters, kh, kw, RGB)
    out = root / "filters.png"
    done = nnctl("plot", run, "--filters", "--out", out)
    assert done.returncode == 0 and done.stdout.strip() == f"wrote {out} (6 filters)"
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(int)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    assert (spread > 40).mean() > 0.05                                           # many pixels are not grey


def test_plot_features_shows_the_colour_input(rgb_run):
    root, run = rgb_run
    out = root / "features.png"
    done = nnctl("plot", run, "--features", "0", "--out", out)
    assert done.returncode == 0, done.stderr
    pixels = np.asarray(Image.open(out).convert("RGB")).astype(int)
    spread = pixels.max(axis=2) - pixels.min(axis=2)
    assert (spread > 40).sum() > 50                         # the colour input tile (feature maps are grey)

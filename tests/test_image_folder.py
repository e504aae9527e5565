"""`dataset: folder`: pictures in train/<class>/ (val/, test/) decoded exactly, class names from the folders,
stratified splits, the .npz cache and what invalidates it, bad and misfit pictures, the memory check
before decoding, results independent of the thread count."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnctl.data import load_splits, validate_data_config
from nnctl.data.folder import ImageFolder, decode_listing
from nnctl.data.folder_cache import cache_path
from nnctl.data.folder_scan import list_folder
from nnctl.data.stratify import stratified_order
from nnctl.errors import ConfigError, InputError
from tests.folder_support import CLASSES, SIDE, cnn_config, nnctl, write_folder


def splits_of(root, progress=False, **keys):
    cfg = validate_data_config({"dataset": "folder", "path": str(root), "normalize": "none", "flatten": False,
                                **keys})
    return load_splits(cfg, np.random.SeedSequence(0), root.parent, progress=progress)


def test_pictures_are_decoded_exactly_with_class_names_from_the_folders(tmp_path):
    written = write_folder(tmp_path / "pics", {"train": 4, "val": 2, "test": 3})
    splits = splits_of(tmp_path / "pics")
    assert splits.class_names == list(CLASSES) and splits.num_classes == 3
    assert splits.image_shape == (1, SIDE, SIDE)
    for split, (x, y) in (("val", splits.val), ("test", splits.test)):          # own folders: all, in order
        expected = np.stack([pixels for _, pixels in written[split]])[:, None] / np.float32(255)
        assert np.array_equal(x, expected.astype(np.float32))
        assert y.tolist() == [k for k in range(3) for _ in range(len(written[split]) // 3)]
    assert len(splits.train[1]) == 12 and np.bincount(splits.train[1]).tolist() == [4, 4, 4]   # val_size unused


def test_without_val_and_test_folders_the_split_is_stratified_by_class(tmp_path):
    write_folder(tmp_path / "pics", {"train": 20})
    splits = splits_of(tmp_path / "pics", val_size=0.25, test_size=12)
    assert np.bincount(splits.test[1]).tolist() == [4, 4, 4]
    assert np.bincount(splits.val[1]).tolist() == [4, 4, 4]                     # round(0.25 * 48) = 12
    assert np.bincount(splits.train[1]).tolist() == [12, 12, 12]
    again = splits_of(tmp_path / "pics", val_size=0.25, test_size=12)
    assert np.array_equal(again.train[0], splits.train[0])


def test_stratified_order_keeps_every_prefix_in_proportion():
    y = np.repeat(np.arange(3), [50, 30, 20])
    order = stratified_order(y, np.random.default_rng(1))
    assert sorted(order.tolist()) == list(range(100))
    for k in (10, 20, 37, 50):
        counts = np.bincount(y[order[:k]], minlength=3)
        assert np.all(np.abs(counts - k * np.array([0.5, 0.3, 0.2])) <= 1), (k, counts)
    assert np.array_equal(order, stratified_order(y, np.random.default_rng(1)))
    assert not np.array_equal(order, stratified_order(y, np.random.default_rng(2)))


def test_the_second_load_reads_the_npz_cache_and_a_changed_file_invalidates_it(tmp_path, capsys):
    written = write_folder(tmp_path / "pics", {"train": 3, "test": 2})
    first = splits_of(tmp_path / "pics", progress=True)
    assert "decoded, cached in" in capsys.readouterr().err
    listing = list_folder(tmp_path / "pics")
    cached = cache_path(listing, {"color": "auto", "image_size": None, "skip_bad_files": False})
    assert cached.parent == Path(os.environ["NNCTL_DATA"]) / "image-folders"
    with np.load(cached, allow_pickle=False) as archive:                         # plain arrays, no pickle
        assert sorted(archive.files) == ["class_names", "skipped", "x_test", "x_train", "y_test", "y_train"]
    second = splits_of(tmp_path / "pics", progress=True)
    assert "read from the cache" in capsys.readouterr().err
    assert np.array_equal(first.train[0], second.train[0])

    path, pixels = written["train"][0]
    Image.fromarray(255 - pixels).save(path)                                     # same size, new content
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    third = splits_of(tmp_path / "pics", progress=True)
    assert "decoded, cached in" in capsys.readouterr().err
    assert not np.array_equal(first.train[0], third.train[0])
    assert not cached.exists() and len(list(cached.parent.glob("*.npz"))) == 1  # the stale file is removed


def test_a_picture_of_another_size_names_the_file_and_image_size_resizes(tmp_path):
    write_folder(tmp_path / "pics", {"train": 3})
    odd = tmp_path / "pics" / "train" / "dog" / "zz.png"
    Image.fromarray(np.zeros((SIDE, SIDE + 2), dtype=np.uint8)).save(odd)
    config = cnn_config(tmp_path / "pics", tmp_path / "c.yaml", epochs=1)
    done = nnctl("train", config, "--out", tmp_path / "runs")
    assert done.returncode == 2 and not (tmp_path / "runs").exists()
    line = done.stderr.strip().splitlines()[-1]
    assert line == (f"{odd}: {SIDE + 2}x{SIDE} pixels, but the first picture (train/cat/000.png) is {SIDE}x{SIDE}; "
                    f"set data.image_size: [H, W] to resize every picture")
    done = nnctl("train", config, "--out", tmp_path / "runs", "--set", "data.image_size=[8, 8]")  # as it says
    assert done.returncode == 0, done.stderr
    assert splits_of(tmp_path / "pics", image_size=[8, 8]).image_shape == (1, 8, 8)


def test_a_truncated_picture_is_one_line_or_skipped_and_counted(tmp_path):
    write_folder(tmp_path / "pics", {"train": 5})
    bad = tmp_path / "pics" / "train" / "owl" / "001.png"
    bad.write_bytes(bad.read_bytes()[:60])                                       # header intact, data cut
    config = cnn_config(tmp_path / "pics", tmp_path / "c.yaml", epochs=1, extra=", test_size: 3")
    done = nnctl("train", config, "--out", tmp_path / "runs")
    assert done.returncode == 2 and not (tmp_path / "runs").exists()
    assert done.stderr.strip().splitlines()[-1].startswith(f"{bad}: not a readable PNG or JPEG picture (")
    assert done.stderr.strip().endswith("; set data.skip_bad_files: true to leave such files out")
    assert "Traceback" not in done.stderr
    done = nnctl("train", config, "--out", tmp_path / "runs", "--set", "data.skip_bad_files=true")
    assert done.returncode == 0, done.stderr
    report = json.loads(next((tmp_path / "runs").glob("*/*/report.json")).read_text())
    assert report["data"] == {"skipped_files": 1, "skipped_examples": ["train/owl/001.png"]}
    assert report["class_names"] == list(CLASSES)
    assert "1 unreadable pictures skipped" in next((tmp_path / "runs").glob("*/*/report.md")).read_text()


def test_a_file_that_is_no_picture_at_all_is_one_line_naming_it(tmp_path):
    write_folder(tmp_path / "pics", {"train": 2})
    fake = tmp_path / "pics" / "train" / "cat" / "fake.jpg"
    fake.write_text("hello")
    with pytest.raises(InputError, match=f"^{fake}: not a readable PNG or JPEG picture"):
        splits_of(tmp_path / "pics")
    splits = splits_of(tmp_path / "pics", skip_bad_files=True, val_size=1, test_size=1)
    assert splits.notes == {"skipped_files": 1, "skipped_examples": ["train/cat/fake.jpg"]}


@pytest.mark.parametrize("color, channels", [("auto", 3), ("gray", 1), ("rgb", 3)])
def test_color_gray_rgb_and_auto(tmp_path, color, channels):
    written = write_folder(tmp_path / "pics", {"train": 2, "test": 1})
    colour = tmp_path / "pics" / "train" / "owl" / "zz.png"                      # one colour picture decides auto
    Image.fromarray(np.full((SIDE, SIDE, 3), (200, 10, 30), dtype=np.uint8)).save(colour)
    splits = splits_of(tmp_path / "pics", color=color, val_size=1, test_size=None)
    assert splits.image_shape == (channels, SIDE, SIDE)
    test = splits.test[0]
    grey = np.stack([p for _, p in written["test"]]) / np.float32(255)
    for c in range(channels):                                                    # grey pictures: equal channels
        assert np.array_equal(test[:, c], grey.astype(np.float32))


def test_jpeg_pictures_are_read(tmp_path):
    written = write_folder(tmp_path / "pics", {"train": 2, "test": 1}, rgb=True, suffix=".jpg")
    splits = splits_of(tmp_path / "pics", val_size=1)
    assert splits.image_shape == (3, SIDE, SIDE)
    expected = np.stack([p for _, p in written["test"]]).transpose(0, 3, 1, 2) / 255
    error = np.abs(splits.test[0] - expected).mean(axis=(1, 2, 3))              # lossy, but the same pictures:
    other = np.abs(splits.test[0] - expected[::-1]).mean(axis=(1, 2, 3))        # much nearer than to another one
    assert error.max() < 0.05 and other[[0, 2]].min() > 2 * error.max(), (error, other)


def test_the_memory_check_comes_before_decoding_and_its_advice_works(tmp_path, monkeypatch):
    write_folder(tmp_path / "pics", {"train": 10})
    bad = tmp_path / "pics" / "train" / "owl" / "001.png"
    bad.write_bytes(bad.read_bytes()[:60])              # decoding would fail on it: the size check comes first
    monkeypatch.setenv("NNCTL_MEMORY_LIMIT", str(9 * 30 * SIDE * SIDE - 1))
    with pytest.raises(ConfigError, match=r"^data\.image_size: .*: 30 pictures of 1x12x12 values need about "
                                          r".*; set a smaller data\.image_size$"):
        splits_of(tmp_path / "pics", skip_bad_files=True)
    monkeypatch.setenv("NNCTL_MEMORY_LIMIT", str(9 * 30 * 6 * 6 + 200_000))
    splits = splits_of(tmp_path / "pics", skip_bad_files=True, image_size=[6, 6])
    assert splits.image_shape == (1, 6, 6)


def test_the_decoded_arrays_do_not_depend_on_the_thread_count(tmp_path, monkeypatch):
    write_folder(tmp_path / "pics", {"train": 200}, rgb=True)                    # 600 files: three chunks
    listing = list_folder(tmp_path / "pics")
    results = []
    for threads in ("1", "3"):
        monkeypatch.setenv("NNCTL_THREADS", threads)
        results.append(decode_listing(listing, "auto", (10, 9), False, progress=False))
    assert results[0].keys() == results[1].keys()
    for key in results[0]:
        assert np.array_equal(results[0][key], results[1][key])
    assert results[0]["x_train"].shape == (600, 3, 10, 9)


@pytest.mark.parametrize("layout, keys, message", [
    ({}, {}, "data.path: {root}: no such folder"),
    ({"test": 1}, {}, "data.path: {root} has no train/ folder (expected {root}/train/<class>/*.png)"),
    ({"train": 1, "test": 1}, {"test_size": 0.1}, "data.test_size: {root} has its own test/ folder; remove this key"),
])
def test_folder_errors_name_the_key(tmp_path, layout, keys, message):
    root = tmp_path / "pics"
    if layout:
        write_folder(root, layout)
    with pytest.raises(ConfigError) as caught:
        splits_of(root, **keys)
    assert str(caught.value) == message.format(root=root)


def test_a_class_in_test_that_train_lacks_is_named(tmp_path):
    write_folder(tmp_path / "pics", {"train": 1, "test": 1})
    (tmp_path / "pics" / "test" / "cow").mkdir()
    with pytest.raises(InputError, match=f"^{tmp_path / 'pics' / 'test' / 'cow'}: class 'cow' is not a folder in"):
        splits_of(tmp_path / "pics")


def test_summary_reads_only_headers_for_the_shape(tmp_path):
    write_folder(tmp_path / "pics", {"train": 2}, rgb=True)
    assert ImageFolder(path=str(tmp_path / "pics"), image_size=None, color="auto", skip_bad_files=False,
                       test_size=None).sample_shape(tmp_path) == ((3, SIDE, SIDE), True)
    config = cnn_config(tmp_path / "pics", tmp_path / "c.yaml")
    done = nnctl("summary", config)
    assert done.returncode == 0, done.stderr
    assert f"input                  (3, {SIDE}, {SIDE})" in done.stdout

"""tools/fashion_to_folder.py: IDX files out as an image folder, grey exactly and tinted per class, read back
by `dataset: folder` to the same pixels as `dataset: fashion-mnist` gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnctl.data import load_splits, validate_data_config
from nnctl.data.mnist import COLLECTIONS
from tests.conftest import require_fashion, write_files

TOOL = Path(__file__).resolve().parent.parent / "tools" / "fashion_to_folder.py"
NAMES = [name.replace("/", "_") for name in COLLECTIONS["fashion-mnist"].class_names]


def run_tool(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True)


def test_grey_and_tinted_folders_hold_the_idx_pixels(tmp_path, fake_mnist):
    source = write_files(tmp_path / "idx", fake_mnist["files"])
    arrays = fake_mnist["arrays"]
    done = run_tool(tmp_path / "grey", "--source", source)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"wrote 6 pictures to {tmp_path / 'grey' / 'train'}",
                                        f"wrote 3 pictures to {tmp_path / 'grey' / 'test'}"]
    assert sorted(p.name for p in (tmp_path / "grey" / "train").iterdir()) == sorted(NAMES)
    for i, label in enumerate(arrays["train-labels-idx1-ubyte"]):
        pixels = np.asarray(Image.open(tmp_path / "grey" / "train" / NAMES[label] / f"{i:05d}.png"))
        assert np.array_equal(pixels, arrays["train-images-idx3-ubyte"][i])
    done = run_tool(tmp_path / "rgb", "--source", source, "--rgb")
    assert done.returncode == 0, done.stderr
    picture = np.asarray(Image.open(tmp_path / "rgb" / "test" / NAMES[7] / "00000.png")).astype(int)
    grey = arrays["t10k-images-idx3-ubyte"][0].astype(int)
    assert picture.shape == (4, 5, 3)
    assert np.array_equal(picture, grey[..., None] * np.array([240, 50, 230]) // 255)   # class 7's colour
    again = run_tool(tmp_path / "rgb", "--source", source, "--rgb")
    assert again.returncode == 2 and again.stderr.strip().endswith("already holds train/ or test/; choose a new folder")


@pytest.mark.data
def test_the_real_fashion_folder_decodes_to_the_idx_pixels(tmp_path):
    fashion = require_fashion()
    done = run_tool(tmp_path / "png", "--source", fashion, "--limit", 200)
    assert done.returncode == 0, done.stderr
    plain = {"val_size": 0, "normalize": "none", "flatten": False}
    folder = load_splits(validate_data_config({"dataset": "folder", "path": str(tmp_path / "png"), **plain}),
                         np.random.SeedSequence(0), tmp_path, progress=False)
    idx = load_splits(validate_data_config({"dataset": "fashion-mnist", "path": str(fashion), **plain}),
                      np.random.SeedSequence(0), tmp_path, progress=False)
    x, y = idx.test[0][:200], idx.test[1][:200]
    order = np.lexsort((np.arange(200), [NAMES[k] for k in y]))      # the folder's order: class name, file name
    assert np.array_equal(folder.test[0], x[order])
    assert [folder.class_names[k] for k in folder.test[1]] == [NAMES[k] for k in y[order]]

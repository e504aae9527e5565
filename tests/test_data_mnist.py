import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from nnctl.data import load_splits, mnist, validate_data_config
from nnctl.data.mnist import files_in, search_dirs
from nnctl.errors import ConfigError, InputError
from tests.conftest import REAL_FASHION, require_fashion


def mnist_cfg(**keys):
    """MNIST data config; the fake files of these tests are not the real MNIST, so verify is off unless
    a test asks for it."""
    return validate_data_config({"dataset": "mnist", "val_size": 0, "normalize": "none", "verify": False, **keys})


def test_search_order(data_env):
    assert search_dirs("mnist") == [
        data_env["nnctl_data"] / "mnist",
        data_env["home"] / ".cache" / "nnctl" / "mnist",
        data_env["system"] / "mnist",
    ]


def test_first_complete_folder_wins(data_env, fake_mnist, put_files, tmp_path):
    folders = [data_env["nnctl_data"] / "mnist", data_env["home"] / ".cache" / "nnctl" / "mnist",
               data_env["system"] / "mnist"]
    for number, folder in enumerate(folders):  # the training labels tell the folders apart
        labels = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 0, 6] + [number] * 6))
        put_files(folder, {**fake_mnist["files"], "train-labels-idx1-ubyte.gz": labels})
    cfg = mnist_cfg(download=False)
    for number, folder in enumerate(folders):
        splits = load_splits(cfg, np.random.SeedSequence(0), tmp_path, progress=False)
        np.testing.assert_array_equal(splits.train[1], [number] * 6)
        (folder / "t10k-labels-idx1-ubyte.gz").unlink()  # now incomplete: the next folder is used


def test_an_explicit_path_must_hold_the_files(data_env, fake_mnist, put_files, tmp_path):
    put_files(data_env["system"] / "mnist", fake_mnist["files"])          # a complete copy elsewhere
    mine = put_files(tmp_path / "configs" / "mine", dict(list(fake_mnist["files"].items())[:3]))
    with pytest.raises(ConfigError) as info:
        load_splits(mnist_cfg(path="mine"), np.random.SeedSequence(0), tmp_path / "configs", progress=False)
    assert str(info.value) == (f"data.path: {mine} does not hold the mnist IDX files (missing "
                               f"t10k-labels-idx1-ubyte, raw or .gz)")


def test_gz_files_are_preferred_and_mixing_is_fine(tmp_path, fake_mnist, put_files):
    files = dict(fake_mnist["files"])
    files["train-images-idx3-ubyte"] = gzip.decompress(files["train-images-idx3-ubyte.gz"])
    files["t10k-images-idx3-ubyte"] = gzip.decompress(files.pop("t10k-images-idx3-ubyte.gz"))
    put_files(tmp_path, files)
    found = files_in(tmp_path)
    assert found["train_images"] == tmp_path / "train-images-idx3-ubyte.gz"
    assert found["test_images"] == tmp_path / "t10k-images-idx3-ubyte"


def test_files_are_checked_against_the_known_digests(tmp_path, fake_mnist, put_files):
    folder = put_files(tmp_path / "mine", fake_mnist["files"])
    with pytest.raises(InputError) as info:
        load_splits(mnist_cfg(path=str(folder), verify=True), np.random.SeedSequence(0), tmp_path, progress=False)
    name = "train-images-idx3-ubyte.gz"
    digest = hashlib.sha256(fake_mnist["files"][name]).hexdigest()
    assert str(info.value) == (f"{folder / name}: SHA-256 {digest} matches no known copy of mnist's {name} "
                               f"(damaged, or other data); replace it, or set data.verify: false to train on your "
                               f"own IDX files")


@pytest.mark.data
def test_fashion_files_under_dataset_mnist_are_named(tmp_path):
    fashion_folder = require_fashion()
    with pytest.raises(InputError) as info:
        load_splits(mnist_cfg(path=str(fashion_folder), verify=True), np.random.SeedSequence(0), tmp_path,
                    progress=False)
    name = "train-images-idx3-ubyte.gz"
    assert str(info.value) == (f"{fashion_folder / name}: this is fashion-mnist's {name}, not mnist's; use "
                               f"dataset: fashion-mnist, or put mnist's files there")
    raw = tmp_path / "raw"
    raw.mkdir()
    for gz in fashion_folder.glob("*.gz"):
        (raw / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
    with pytest.raises(InputError, match=r"train-images-idx3-ubyte: this is fashion-mnist's "
                                         r"train-images-idx3-ubyte, not mnist's"):
        load_splits(mnist_cfg(path=str(raw), verify=True), np.random.SeedSequence(0), tmp_path, progress=False)


def test_missing_files_without_download(data_env, tmp_path):
    with pytest.raises(InputError) as info:
        load_splits(mnist_cfg(download=False), np.random.SeedSequence(0), tmp_path, progress=False)
    dirs = [data_env["nnctl_data"] / "mnist", data_env["home"] / ".cache/nnctl/mnist", data_env["system"] / "mnist"]
    assert str(info.value) == (
        "mnist: the IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        f"t10k-labels-idx1-ubyte, raw or .gz) are not in any of {', '.join(map(str, dirs))}; "
        "put them in one or set data.download: true")


def test_images_and_labels_must_agree(tmp_path, fake_mnist, put_files):
    files = dict(fake_mnist["files"])
    files["train-labels-idx1-ubyte.gz"] = files["t10k-labels-idx1-ubyte.gz"]  # 3 labels for 6 images
    put_files(tmp_path / "mine", files)
    with pytest.raises(InputError) as info:
        load_splits(mnist_cfg(path=str(tmp_path / "mine")), np.random.SeedSequence(0), tmp_path, progress=False)
    assert str(info.value) == (f"{tmp_path / 'mine' / 'train-labels-idx1-ubyte.gz'}: expected 6 labels to match "
                               "train-images-idx3-ubyte.gz, found shape (3,)")


def test_mnist_pixels_scaled_and_standardized_per_channel(data_env, fake_mnist, put_files, tmp_path):
    put_files(data_env["system"] / "mnist", fake_mnist["files"])
    splits = load_splits(mnist_cfg(normalize="standard"), np.random.SeedSequence(0), tmp_path, progress=False)
    # statistics of the float32 pixels the network sees, accumulated in float64
    pixels = (fake_mnist["arrays"]["train-images-idx3-ubyte"] / np.float32(255)).astype(np.float64)
    assert splits.normalization["mean"] == pytest.approx([pixels.mean()], rel=1e-12)
    assert splits.normalization["std"] == pytest.approx([pixels.std()], rel=1e-12)
    assert splits.normalization["per"] == "channel" and splits.normalization["raw_divisor"] == 255.0
    assert splits.train[0].shape == (6, 20) and splits.input_shape == (20,)
    assert splits.class_names == [str(d) for d in range(10)] and splits.num_classes == 10


# ------------------------------------------------------------------------------ the real Fashion-MNIST

@pytest.mark.data
def test_installed_fashion_files_have_accepted_hashes():
    folder = require_fashion()
    expected = mnist.COLLECTIONS["fashion-mnist"].sha256
    for gz in sorted(folder.glob("*.gz")):
        assert hashlib.sha256(gz.read_bytes()).hexdigest() in expected[gz.name]
        assert hashlib.sha256(gzip.decompress(gz.read_bytes())).hexdigest() in expected[gz.stem]


@pytest.fixture(scope="module")
def fashion():
    """Fashion-MNIST from /usr/share/datasets, no validation split, no normalization (about 1 s)."""
    require_fashion()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", "/nonexistent-home")
        patch.delenv("NNCTL_DATA", raising=False)
        cfg = validate_data_config({"dataset": "fashion-mnist", "val_size": 0, "normalize": "none",
                                    "download": False})
        return load_splits(cfg, np.random.SeedSequence(0), Path("."), progress=False)


@pytest.mark.data
def test_real_fashion_mnist_shapes_and_types(fashion):
    x, y = fashion.train
    x_test, y_test = fashion.test
    assert x.shape == (60000, 784) and x.dtype == np.float32 and x.flags.c_contiguous
    assert x_test.shape == (10000, 784) and x_test.dtype == np.float32
    assert y.dtype == np.int64 and y_test.dtype == np.int64
    assert fashion.val is None and fashion.input_shape == (784,) and fashion.num_classes == 10
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert fashion.class_names[0] == "T-shirt/top" and fashion.class_names[9] == "Ankle boot"


@pytest.mark.data
def test_real_fashion_mnist_label_counts(fashion):
    np.testing.assert_array_equal(np.bincount(fashion.train[1], minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(fashion.test[1], minlength=10), [1000] * 10)


@pytest.mark.data
def test_real_fashion_first_image_matches_the_file(fashion):
    raw = gzip.decompress((REAL_FASHION / "train-images-idx3-ubyte.gz").read_bytes())
    first = np.frombuffer(raw, dtype=np.uint8, count=784, offset=16)
    np.testing.assert_array_equal(fashion.train[0][0], first / np.float32(255))
    labels = gzip.decompress((REAL_FASHION / "train-labels-idx1-ubyte.gz").read_bytes())
    assert fashion.train[1][:5].tolist() == list(labels[8:13])

"""`data.classes: [...]`: keep some classes, relabelled 0..K-1 in the order given, with their names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnctl.data import load_splits, validate_data_config
from nnctl.errors import ConfigError
from tests.conftest import REAL_FASHION, require_fashion

SEED = np.random.SeedSequence(0)
FASHION = REAL_FASHION


def load(tmp_path, raw):
    return load_splits(validate_data_config(raw), SEED, tmp_path, progress=False)


def five_classes(tmp_path):
    """x row i holds the number i; labels cycle 0..4; names a..e; a test split of its own."""
    x = np.arange(20, dtype=np.float32)[:, None]
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(20) % 5, x_test=x[:10] + 100, y_test=np.arange(10) % 5,
             class_names=np.array(list("abcde")))
    return {"dataset": "npz", "path": "d.npz", "normalize": "none"}


def test_kept_classes_are_relabelled_in_the_order_given(tmp_path):
    splits = load(tmp_path, {**five_classes(tmp_path), "classes": [3, 1], "val_size": 2})
    assert splits.num_classes == 2 and splits.class_names == ["d", "b"]
    x = np.concatenate([splits.train[0], splits.val[0]])[:, 0].astype(int)
    y = np.concatenate([splits.train[1], splits.val[1]])
    assert sorted(x.tolist()) == [1, 3, 6, 8, 11, 13, 16, 18]             # the samples of classes 1 and 3
    assert all(label == (0 if value % 5 == 3 else 1) for value, label in zip(x, y))
    assert splits.test[0][:, 0].tolist() == [101, 103, 106, 108]
    assert splits.test[1].tolist() == [1, 0, 1, 0]


def test_limit_and_validation_apply_to_the_kept_samples(tmp_path):
    splits = load(tmp_path, {**five_classes(tmp_path), "classes": [0, 1, 2], "val_size": 3, "limit": 4})
    assert len(splits.val[1]) == 3 and len(splits.train[1]) == 4
    assert set(splits.train[1].tolist() + splits.val[1].tolist()) <= {0, 1, 2}


def test_a_class_the_data_does_not_have(tmp_path):
    with pytest.raises(ConfigError) as error:
        load(tmp_path, {**five_classes(tmp_path), "classes": [4, 12]})
    assert str(error.value) == "data.classes: class 12 does not exist: the labels are 0 to 4"


@pytest.mark.parametrize("value", [[1], [1, 1], [1, -2], [1, 2.5], [True, 2], 3, "1,2"])
def test_a_malformed_class_list(value):
    with pytest.raises(ConfigError) as error:
        validate_data_config({"dataset": "npz", "path": "d.npz", "classes": value})
    assert str(error.value).startswith("data.classes: expected a list of at least 2 distinct class labels "
                                       "(integers >= 0) or null, got ")


def test_regression_targets_have_no_classes(tmp_path):
    np.savez(tmp_path / "r.npz", x=np.ones((10, 2), np.float32), y=np.linspace(0, 1, 10).astype(np.float32))
    with pytest.raises(ConfigError) as error:
        load(tmp_path, {"dataset": "npz", "path": "r.npz", "classes": [0, 1]})
    assert str(error.value) == "data.classes: this data has real-valued targets, not class labels"


def test_for_synthetic_sets_classes_stays_the_number_of_classes(tmp_path):
    splits = load(tmp_path, {"dataset": "spiral", "classes": 4, "samples": 200})
    assert splits.num_classes == 4


@pytest.mark.data
def test_fashion_mnist_classes_5_to_9():
    require_fashion()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", "/nonexistent-home")
        patch.delenv("NNCTL_DATA", raising=False)
        splits = load(Path("."), {"dataset": "fashion-mnist", "classes": [5, 6, 7, 8, 9], "val_size": 0,
                                  "normalize": "none", "download": False})
    assert splits.class_names == ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    np.testing.assert_array_equal(np.bincount(splits.train[1]), [6000] * 5)
    np.testing.assert_array_equal(np.bincount(splits.test[1]), [1000] * 5)

from pathlib import Path

import numpy as np
import pytest

from nnctl.data import load_splits, validate_data_config
from nnctl.data.synthetic import class_counts
from nnctl.errors import ConfigError

SYNTHETIC = ["spiral", "blobs", "circles", "xor"]


def everything(name, seed=0, **keys):
    """All samples in the training split, unnormalized."""
    cfg = validate_data_config({"dataset": name, "val_size": 0, "test_size": 0, "normalize": "none", **keys})
    return load_splits(cfg, np.random.SeedSequence(seed), Path("."), progress=False)


def test_class_counts_share_the_remainder_from_the_front():
    assert class_counts(300, 3).tolist() == [100, 100, 100]
    assert class_counts(302, 3).tolist() == [101, 101, 100]
    assert class_counts(5, 2).tolist() == [3, 2]


@pytest.mark.parametrize("name", SYNTHETIC)
def test_same_seed_same_arrays_other_seed_other_arrays(name):
    cfg = validate_data_config({"dataset": name})
    seed = np.random.SeedSequence(7)
    first = load_splits(cfg, seed, Path("."), progress=False)
    again = load_splits(cfg, seed, Path("."), progress=False)
    other = load_splits(cfg, np.random.SeedSequence(8), Path("."), progress=False)
    for part in ("train", "val", "test"):
        np.testing.assert_array_equal(getattr(first, part)[0], getattr(again, part)[0])
        np.testing.assert_array_equal(getattr(first, part)[1], getattr(again, part)[1])
    assert not np.array_equal(first.train[0], other.train[0])


@pytest.mark.parametrize("name, classes, features", [("spiral", 3, 2), ("blobs", 3, 2), ("circles", 2, 2),
                                                     ("xor", 2, 2)])
def test_default_shapes_and_exact_class_counts(name, classes, features):
    splits = everything(name)
    x, y = splits.train
    assert x.shape == (300, features) and x.dtype == np.float32 and x.flags.c_contiguous
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [300 // classes] * classes
    assert splits.num_classes == classes and splits.class_names == [str(k) for k in range(classes)]
    assert splits.input_shape == (features,)


def test_uneven_counts_and_more_features():
    assert np.bincount(everything("spiral", samples=301, classes=4).train[1]).tolist() == [76, 75, 75, 75]
    blobs = everything("blobs", samples=50, classes=5, features=7)
    assert blobs.train[0].shape == (50, 7) and np.bincount(blobs.train[1]).tolist() == [10] * 5
    assert np.bincount(everything("xor", samples=7).train[1]).tolist() == [4, 3]


def test_spiral_without_noise_is_the_exact_curve():
    x, y = everything("spiral", samples=12, classes=3, noise=0.0).train
    r = np.tile([0, 1 / 3, 2 / 3, 1], 3)
    t = 4.0 * np.repeat([0, 1, 2], 4) + 4.0 * r
    np.testing.assert_array_equal(y, np.repeat([0, 1, 2], 4))
    np.testing.assert_array_equal(x, np.stack([r * np.sin(t), r * np.cos(t)], axis=1).astype(np.float32))


def test_circles_without_noise_lie_on_their_circles():
    x, y = everything("circles", samples=40, noise=0.0, factor=0.25).train
    radius = np.hypot(x[:, 0].astype(np.float64), x[:, 1])
    np.testing.assert_allclose(radius, np.where(y == 0, 1.0, 0.25), rtol=1e-6)


def test_xor_without_noise_follows_the_signs():
    x, y = everything("xor", samples=200, noise=0.0).train
    np.testing.assert_array_equal(y, (np.sign(x[:, 0]) != np.sign(x[:, 1])).astype(np.int64))
    assert np.abs(x).max() <= 1.0
    assert len({(bool(a > 0), bool(b > 0)) for a, b in x}) == 4


def test_blobs_centres_stay_in_their_box():
    x, y = everything("blobs", samples=3000, classes=3, noise=0.0, spread=2.0).train
    centres = np.array([x[y == k][0] for k in range(3)])
    for k in range(3):
        np.testing.assert_array_equal(x[y == k], np.broadcast_to(centres[k], (1000, 2)))
    assert np.abs(centres).max() <= 2.0


def test_changing_the_split_does_not_redraw_the_points():
    cfg = validate_data_config({"dataset": "blobs", "val_size": 0, "test_size": 0, "normalize": "none"})
    whole = load_splits(cfg, np.random.SeedSequence(3), Path("."), progress=False).train[0]
    cfg.update(val_size=0.3, test_size=0.2)
    split = load_splits(cfg, np.random.SeedSequence(3), Path("."), progress=False)
    parts = np.concatenate([split.train[0], split.val[0], split.test[0]])
    np.testing.assert_array_equal(np.unique(parts, axis=0), np.unique(whole, axis=0))


def test_fewer_samples_than_classes_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        validate_data_config({"dataset": "spiral", "samples": 2, "classes": 3})
    assert str(info.value) == "data.samples: expected at least one sample per class (>= 3), got 2"

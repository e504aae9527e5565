import json
import math
from pathlib import Path

import numpy as np
import pytest

from nnctl.data import load_splits, validate_data_config
from nnctl.data.normalize import STD_FLOOR
from nnctl.data.splits import data_streams
from nnctl.errors import ConfigError

SEED = np.random.SeedSequence(0)


def npz(tmp_path, **arrays):
    np.savez(tmp_path / "d.npz", **arrays)
    return {"dataset": "npz", "path": "d.npz"}


def load(tmp_path, raw, seed=SEED):
    return load_splits(validate_data_config(raw), seed, tmp_path, progress=False)


# ------------------------------------------------------------------------------ normalization

def test_standard_statistics_come_from_train_only(tmp_path):
    # train features: column 0 = 1, 3, 5, 7 (mean 4, std sqrt 5); column 1 = 10, 10, 40, 40 (mean 25, std 15)
    raw = npz(tmp_path, x=np.array([[1, 10], [3, 10], [5, 40], [7, 40]], dtype=np.float32), y=np.arange(4),
              x_test=np.array([[4, 25], [9, 55]], dtype=np.float32), y_test=np.array([0, 1]))
    splits = load(tmp_path, {**raw, "val_size": 0})
    assert splits.normalization == {"method": "standard", "per": "feature", "raw_divisor": 1.0,
                                    "mean": [4.0, 25.0], "std": [math.sqrt(5), 15.0]}
    s5 = np.float32(math.sqrt(5))
    np.testing.assert_allclose(splits.train[0], [[-3 / s5, -1], [-1 / s5, -1], [1 / s5, 1], [3 / s5, 1]], rtol=1e-6)
    np.testing.assert_allclose(splits.test[0], [[0, 0], [s5, 2]], rtol=1e-6)
    json.dumps(splits.normalization)


def test_validation_samples_do_not_enter_the_statistics(tmp_path):
    x = np.array([[0], [2], [4], [6], [100], [200]], dtype=np.float32)
    splits = load(tmp_path, {**npz(tmp_path, x=x, y=np.arange(6)), "val_size": 2, "test_size": 0})
    train_ids, val_ids = splits.train[1], splits.val[1]
    assert sorted(train_ids.tolist() + val_ids.tolist()) == list(range(6))
    expected = x[train_ids, 0].astype(np.float64)
    assert splits.normalization["mean"] == pytest.approx([expected.mean()], rel=1e-12)
    assert splits.normalization["std"] == pytest.approx([expected.std()], rel=1e-12)
    np.testing.assert_allclose(splits.val[0][:, 0], (x[val_ids, 0] - expected.mean()) / expected.std(), rtol=1e-6)


def test_minmax_maps_train_to_unit_range(tmp_path):
    raw = npz(tmp_path, x=np.array([[2, -1], [4, 1], [6, 3]], dtype=np.float32), y=np.arange(3),
              x_test=np.array([[8, 0]], dtype=np.float32), y_test=np.array([0]))
    splits = load(tmp_path, {**raw, "val_size": 0, "normalize": "minmax"})
    assert splits.normalization["min"] == [2.0, -1.0] and splits.normalization["range"] == [4.0, 4.0]
    np.testing.assert_array_equal(splits.train[0], [[0, 0], [0.5, 0.5], [1, 1]])
    np.testing.assert_array_equal(splits.test[0], [[1.5, 0.25]])


def test_images_are_normalized_per_channel(tmp_path):
    # sample i, channel c: every pixel = 10 c + i  ->  channel means 0.5 and 10.5, both stds 0.5
    x = (10 * np.arange(2)[None, :, None, None] + np.arange(2)[:, None, None, None] + np.zeros((2, 2, 2, 3)))
    raw = npz(tmp_path, x=x.astype(np.float32), y=np.array([0, 1]), x_test=x[:1].astype(np.float32),
              y_test=np.array([0]))
    flat = load(tmp_path, {**raw, "val_size": 0})
    assert flat.normalization["per"] == "channel"
    assert flat.normalization["mean"] == [0.5, 10.5] and flat.normalization["std"] == [0.5, 0.5]
    assert flat.input_shape == (12,)
    np.testing.assert_array_equal(flat.train[0], np.repeat([[-1, -1], [1, 1]], 6, axis=1))
    shaped = load(tmp_path, {**raw, "val_size": 0, "flatten": False})
    assert shaped.input_shape == (2, 2, 3) and shaped.train[0].shape == (2, 2, 2, 3)
    np.testing.assert_array_equal(shaped.test[0], -np.ones((1, 2, 2, 3)))


def test_constant_feature_is_only_shifted(tmp_path):
    # Constant in training, varying in test: scaled by 1, not by a tiny std that would blow it up.
    x = np.array([[5, 1], [5, 2], [5, 3], [7, 2], [3, 1]], dtype=np.float32)
    raw = npz(tmp_path, x=x[:3], y=np.arange(3), x_test=x[3:], y_test=np.arange(2))
    splits = load(tmp_path, {**raw, "val_size": 0})
    assert splits.normalization["std"][0] == 1.0
    assert STD_FLOOR == 1e-6
    np.testing.assert_array_equal(splits.train[0][:, 0], [0, 0, 0])
    np.testing.assert_array_equal(splits.test[0][:, 0], [2, -2])


def test_none_leaves_values_alone(tmp_path):
    x = np.array([[1.5, -2], [3, 4]], dtype=np.float32)
    splits = load(tmp_path, {**npz(tmp_path, x=x, y=np.arange(2)), "val_size": 0, "test_size": 0, "normalize": "none"})
    np.testing.assert_array_equal(splits.train[0], x)
    assert splits.normalization == {"method": "none", "per": "feature", "raw_divisor": 1.0}


# ------------------------------------------------------------------------------ split sizes, limit, seeds

@pytest.mark.parametrize("val_size, test_size, sizes", [
    (0.1, 0.2, (216, 24, 60)),   # test round(0.2 * 300) = 60, val round(0.1 * 240) = 24
    (50, 0.2, (190, 50, 60)),
    (0, 30, (270, None, 30)),
    (0.25, 0, (225, 75, None)),
])
def test_split_sizes_are_exact(val_size, test_size, sizes):
    cfg = validate_data_config({"dataset": "spiral", "val_size": val_size, "test_size": test_size})
    splits = load_splits(cfg, SEED, Path("."), progress=False)
    found = tuple(None if part is None else len(part[1]) for part in (splits.train, splits.val, splits.test))
    assert found == sizes


def test_parts_are_disjoint_and_cover_everything(tmp_path):
    raw = npz(tmp_path, x=np.arange(40, dtype=np.float32)[:, None], y=np.arange(40))
    splits = load(tmp_path, {**raw, "val_size": 0.25, "test_size": 8, "normalize": "none"})
    ids = [part[1] for part in (splits.train, splits.val, splits.test)]
    assert [len(i) for i in ids] == [24, 8, 8]
    assert sorted(np.concatenate(ids).tolist()) == list(range(40))
    for part_ids, part in zip(ids, (splits.train, splits.val, splits.test)):
        assert np.all(np.diff(part_ids) > 0)  # original order kept
        np.testing.assert_array_equal(part[0][:, 0], part_ids)


def test_limit_caps_the_training_split_only(tmp_path):
    raw = npz(tmp_path, x=np.arange(100, dtype=np.float32)[:, None], y=np.arange(100))
    limited = load(tmp_path, {**raw, "val_size": 10, "test_size": 10, "limit": 7})
    assert (len(limited.train[1]), len(limited.val[1]), len(limited.test[1])) == (7, 10, 10)
    full = load(tmp_path, {**raw, "val_size": 10, "test_size": 10})
    np.testing.assert_array_equal(limited.val[1], full.val[1])
    assert set(limited.train[1]) <= set(full.train[1])
    assert len(load(tmp_path, {**raw, "limit": 1000}).train[1]) == 72


def test_seed_sequence_is_not_consumed_and_generators_work(tmp_path):
    cfg = validate_data_config({"dataset": "circles"})
    seed = np.random.SeedSequence(11)
    first = load_splits(cfg, seed, tmp_path, progress=False)
    assert seed.n_children_spawned == 0
    np.testing.assert_array_equal(first.train[0], load_splits(cfg, seed, tmp_path, progress=False).train[0])
    from_gen = load_splits(cfg, np.random.default_rng(5), tmp_path, progress=False)
    again = load_splits(cfg, np.random.default_rng(5), tmp_path, progress=False)
    np.testing.assert_array_equal(from_gen.train[0], again.train[0])


def test_data_streams_differ_from_plain_spawned_children():
    draw, split = data_streams(np.random.SeedSequence(4))
    spawned = [np.random.default_rng(s) for s in np.random.SeedSequence(4).spawn(2)]
    values = [g.integers(0, 2**62) for g in (draw, split, *spawned)]
    assert len(set(values)) == 4


def test_too_large_validation_split(tmp_path):
    cfg = validate_data_config({"dataset": "xor", "val_size": 240})
    with pytest.raises(ConfigError) as info:
        load_splits(cfg, SEED, tmp_path, progress=False)
    assert str(info.value) == "data.val_size: asks for 240 validation samples, leaving no training samples (of 240)"


def test_too_large_test_split(tmp_path):
    cfg = validate_data_config({"dataset": "xor", "samples": 10, "test_size": 10})
    with pytest.raises(ConfigError) as info:
        load_splits(cfg, SEED, tmp_path, progress=False)
    assert str(info.value) == "data.test_size: asks for 10 test samples but there are only 10"


def test_regression_targets(tmp_path):
    raw = npz(tmp_path, x=np.ones((10, 3), dtype=np.float64), y=np.linspace(0, 1, 20).reshape(10, 2))
    splits = load(tmp_path, {**raw, "val_size": 0, "test_size": 0})
    assert splits.train[1].dtype == np.float32 and splits.train[1].shape == (10, 2)
    assert splits.train[0].dtype == np.float32
    assert splits.num_classes is None and splits.class_names is None


def test_fortran_ordered_arrays_come_out_c_contiguous(tmp_path):
    x = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(6, 2))
    y = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(6, 2))
    raw = npz(tmp_path, x=x, y=y, x_test=x[:2], y_test=y[:2])
    for val_size in (0, 2):
        splits = load(tmp_path, {**raw, "val_size": val_size, "normalize": "none"})
        for part in (splits.train, splits.test):
            assert part[0].flags.c_contiguous and part[1].flags.c_contiguous
        assert len(splits.train[0]) == 6 - val_size

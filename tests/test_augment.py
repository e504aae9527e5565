"""Augmentation: exact shifted/flipped images, reproducible per seed, input never modified."""

from __future__ import annotations

import numpy as np

from nnctl.data.augment import augment_batch


def test_shift_moves_each_image_by_its_drawn_offset_with_edge_fill():
    x = np.arange(2 * 1 * 4 * 5, dtype=np.float32).reshape(2, 1, 4, 5)
    before = x.copy()
    out = augment_batch(x, np.random.default_rng(0), shift=1)
    rows = np.random.default_rng(0).integers(0, 3, size=2)
    cols = np.random.default_rng(0)
    cols.integers(0, 3, size=2)
    cols = cols.integers(0, 3, size=2)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    for i in range(2):
        np.testing.assert_array_equal(out[i, 0], padded[i, 0, rows[i]:rows[i] + 4, cols[i]:cols[i] + 5])
    np.testing.assert_array_equal(x, before)
    assert out.shape == x.shape and out.dtype == np.float32


def test_flip_mirrors_about_half_the_images():
    x = np.random.default_rng(1).standard_normal((400, 1, 3, 3)).astype(np.float32)
    out = augment_batch(x, np.random.default_rng(2), flip=True)
    mirrored = np.random.default_rng(2).random(400) < 0.5
    np.testing.assert_array_equal(out[mirrored], x[mirrored][..., ::-1])
    np.testing.assert_array_equal(out[~mirrored], x[~mirrored])
    assert 150 < mirrored.sum() < 250


def test_same_seed_same_batch():
    x = np.random.default_rng(3).standard_normal((8, 2, 6, 6))
    a = augment_batch(x, np.random.default_rng(9), flip=True, shift=2)
    b = augment_batch(x, np.random.default_rng(9), flip=True, shift=2)
    np.testing.assert_array_equal(a, b)


def test_augment_rejects_flat_inputs(tmp_path):
    from click.testing import CliRunner

    from nnctl.cli import cli

    config = tmp_path / "flat.yaml"
    config.write_text("data: {dataset: spiral}\nmodel: [{type: dense, units: 3}]\n"
                      "train: {epochs: 1, augment: {flip: true}}\n")
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert result.stderr == (f"{config}: train.augment: augmentation needs image-shaped inputs (C, H, W), "
                             f"got (2,); set data.flatten: false\n")
    assert not (tmp_path / "runs").exists()

"""Crop, rotation and zoom, brightness and contrast, cutout: exact on small float64 inputs against
per-image references (crop, cutout, brightness/contrast), structural for rotation and zoom; the draws
come from the run's generator in a fixed order; the result does not depend on the thread count."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl import workers
from nnctl.cli import cli
from nnctl.data import augment_ops
from nnctl.data.augment import augment_batch


def images(n=5, c=2, h=6, w=7, seed=0):
    return np.random.default_rng(seed).standard_normal((n, c, h, w))


def test_crop_is_a_window_of_the_zero_padded_image():
    x = images()
    before = x.copy()
    out = augment_batch(x, np.random.default_rng(4), crop=2)
    draw = np.random.default_rng(4)
    rows, cols = draw.integers(0, 5, size=5), draw.integers(0, 5, size=5)
    for i in range(5):
        padded = np.zeros((2, 10, 11))
        padded[:, 2:8, 2:9] = x[i]
        np.testing.assert_array_equal(out[i], padded[:, rows[i]:rows[i] + 6, cols[i]:cols[i] + 7])
    np.testing.assert_array_equal(x, before)
    assert out.dtype == np.float64 and out.shape == x.shape


def test_cutout_zeroes_one_square_per_image_where_drawn():
    x = images() + 10                               # no pixel is 0 before
    out = augment_batch(x, np.random.default_rng(5), cutout=3)
    draw = np.random.default_rng(5)
    top, left = draw.integers(-2, 6, size=5), draw.integers(-2, 7, size=5)
    for i in range(5):
        expected = x[i].copy()
        expected[:, max(top[i], 0):top[i] + 3, max(left[i], 0):left[i] + 3] = 0
        np.testing.assert_array_equal(out[i], expected)
        assert 1 <= (out[i, 0] == 0).sum() <= 9


def test_brightness_then_contrast_by_formula():
    x = images()
    draw = np.random.default_rng(6)
    delta, factor = draw.uniform(-0.5, 0.5, size=5), draw.uniform(0.7, 1.3, size=5)
    out = augment_batch(x, np.random.default_rng(6), brightness=0.5, contrast=0.3)
    for i in range(5):
        bright = x[i] + delta[i]
        mean = bright.mean()
        np.testing.assert_array_equal(out[i], (bright - mean) * factor[i] + mean)
    only = augment_batch(x, np.random.default_rng(6), brightness=0.5)
    np.testing.assert_array_equal(only, x + delta[:, None, None, None])


def test_rotation_by_zero_and_zoom_by_one_change_nothing():
    x = images()
    np.testing.assert_array_equal(augment_ops.rotate_and_zoom(x, np.zeros(5), np.ones(5)), x)


def test_quarter_turns_and_zoom_are_what_they_say():
    x = images(n=2, h=5, w=5)
    turned = augment_ops.rotate_and_zoom(x, np.full(2, np.pi / 2), np.ones(2))
    np.testing.assert_allclose(turned, np.rot90(x, k=1, axes=(2, 3)), atol=1e-12)      # counter-clockwise
    half = augment_ops.rotate_and_zoom(x, np.array([np.pi, -np.pi]), np.ones(2))
    np.testing.assert_allclose(half, x[:, :, ::-1, ::-1], atol=1e-12)
    zoomed = augment_ops.rotate_and_zoom(x, np.zeros(2), np.full(2, 2.0))               # centre 2.5 x 2.5 shown
    np.testing.assert_allclose(zoomed[:, :, 2, 2], x[:, :, 2, 2], atol=1e-12)
    np.testing.assert_allclose(zoomed[:, :, 0, 0], x[:, :, 1, 1], atol=1e-12)
    np.testing.assert_allclose(zoomed[:, :, 1, 2], (x[:, :, 1, 2] + x[:, :, 2, 2]) / 2, atol=1e-12)
    shrunk = augment_ops.rotate_and_zoom(x, np.zeros(2), np.full(2, 0.5))               # the border reads 0
    assert np.all(shrunk[:, :, 0, 0] == 0) and np.allclose(shrunk[:, :, 2, 2], x[:, :, 2, 2])


def test_drawn_angles_and_zooms_come_from_the_run_generator():
    x = images(n=4)
    out = augment_batch(x, np.random.default_rng(7), rotate=20, zoom=0.1)
    draw = np.random.default_rng(7)
    angle, zoom = np.deg2rad(draw.uniform(-20, 20, size=4)), draw.uniform(0.9, 1.1, size=4)
    np.testing.assert_array_equal(out, augment_ops.rotate_and_zoom(x, angle, zoom))


ALL = {"flip": True, "shift": 1, "crop": 2, "rotate": 15.0, "zoom": 0.1, "brightness": 0.2, "contrast": 0.2,
       "cutout": 3}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_does_not_change_the_result(monkeypatch, dtype):
    x = images(n=13, c=3, h=8, w=8).astype(dtype)
    monkeypatch.setattr(workers, "MIN_CHUNK", 1)                 # split even this small batch
    results = []
    for threads in ("1", "2", "5"):
        monkeypatch.setenv("NNCTL_THREADS", threads)
        assert len(workers.chunks(13, x.size, workers.thread_count())) == int(threads)
        results.append(augment_batch(x, np.random.default_rng(8), **ALL))
    for other in results[1:]:
        np.testing.assert_array_equal(results[0], other)
    assert results[0].dtype == dtype


def test_same_draws_same_batch_and_options_off_draw_nothing():
    x = images()
    rng = np.random.default_rng(9)
    augment_batch(x, rng, **{key: type(value)(0) for key, value in ALL.items()})
    assert rng.bit_generator.state == np.random.default_rng(9).bit_generator.state
    np.testing.assert_array_equal(augment_batch(x, np.random.default_rng(9), **ALL),
                                  augment_batch(x, np.random.default_rng(9), **ALL))


def test_a_cutout_as_large_as_the_image_is_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((40, 1, 6, 6), np.float32), y=np.arange(40) % 2)
    config = tmp_path / "c.yaml"
    config.write_text("data: {dataset: npz, path: d.npz, flatten: false}\n"
                      "model: [{type: flatten}, {type: dense, units: 2}]\n"
                      "train: {epochs: 1, augment: {cutout: 6}}\n")
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert result.stderr == f"{config}: train.augment.cutout: expected at most 5 for 6x6 images, got 6\n"
    assert not (tmp_path / "runs").exists()


def test_docs_augment_lists_every_option_with_its_default():
    result = CliRunner().invoke(cli, ["docs", "augment"])
    assert result.exit_code == 0
    for key, default in (("flip", "false"), ("shift", "0"), ("crop", "0"), ("rotate", "0"), ("zoom", "0"),
                         ("brightness", "0"), ("contrast", "0"), ("cutout", "0")):
        assert f"| `{key}` | {default} |" in result.output, key

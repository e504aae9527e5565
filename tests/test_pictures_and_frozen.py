"""Fixed, frozen weights from the config; pictures of filters and feature maps."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.config.load import load_config
from nnctl.errors import ConfigError
from nnctl.build.prepare import prepare
from nnctl.training.loop import train_one_epoch
from nnctl.training.trainer import Trainer

SOBEL_X = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]

IMAGES = """\
name: pictures
seed: 0
data: {{dataset: npz, path: {path}, normalize: none, val_size: 0, flatten: false, test_size: 4}}
model:
  layers:
    - {{type: conv2d, name: edges, filters: 1, kernel: 3, padding: 1, bias: false, trainable: {trainable},
       weights: {{W: [[{kernel}]]}}}}
    - {{type: flatten}}
    - {{type: dense, units: 2}}
optimizer: {{type: sgd, lr: 0.5}}
train: {{epochs: 2, batch_size: 4}}
"""


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((16, 1, 6, 6)).astype(np.float32)
    y = (np.arange(16) % 2).astype(np.int64)
    path = tmp_path / "images.npz"
    np.savez(path, x=x, y=y)
    return path


def config_file(tmp_path, images, trainable="false", kernel=SOBEL_X):
    path = tmp_path / "pictures.yaml"
    path.write_text(IMAGES.format(path=images, trainable=trainable, kernel=kernel))
    return path


def test_given_weights_are_used_exactly(tmp_path, images):
    setup = prepare(load_config(config_file(tmp_path, images)), progress=False)
    np.testing.assert_array_equal(setup.network.by_name["edges"].layer.params["W"][0, 0], np.array(SOBEL_X))
    x = setup.splits.train[0][:1]
    edges = setup.network.forward(x, training=False, keep=["edges"])["edges"][0, 0]
    padded = np.pad(x[0, 0], 1)
    expected = sum(SOBEL_X[i][j] * padded[i:i + 6, j:j + 6] for i in range(3) for j in range(3))
    np.testing.assert_allclose(edges, expected, rtol=1e-6, atol=1e-6)


def test_frozen_layer_is_not_trained_but_others_are(tmp_path, images):
    setup = prepare(load_config(config_file(tmp_path, images)), progress=False)
    trainer = Trainer(setup)
    assert set(trainer.params) == {"dense1.W", "dense1.b"}
    dense_before = setup.network.by_name["dense1"].layer.params["W"].copy()
    train_one_epoch(trainer)
    np.testing.assert_array_equal(setup.network.by_name["edges"].layer.params["W"][0, 0], np.array(SOBEL_X))
    assert not np.array_equal(setup.network.by_name["dense1"].layer.params["W"], dense_before)


def test_trainable_given_weights_do_change(tmp_path, images):
    setup = prepare(load_config(config_file(tmp_path, images, trainable="true")), progress=False)
    train_one_epoch(Trainer(setup))
    assert not np.array_equal(setup.network.by_name["edges"].layer.params["W"][0, 0], np.array(SOBEL_X))


def test_wrong_weight_shape_names_the_key(tmp_path, images):
    config = config_file(tmp_path, images, kernel=[[1, 0], [0, 1]])
    with pytest.raises(ConfigError) as info:
        prepare(load_config(config), progress=False)
    assert str(info.value) == f"{config}: model.layers[0].weights.W: expected shape (1, 1, 3, 3), got (1, 1, 2, 2)"


def test_filters_and_features_pictures(tmp_path, images):
    config = config_file(tmp_path, images)
    out = tmp_path / "filters.png"
    result = CliRunner().invoke(cli, ["plot", str(config), "--filters", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} (1 filters)\n"
    assert out.read_bytes()[:4] == b"\x89PNG"
    out = tmp_path / "features.png"
    result = CliRunner().invoke(cli, ["plot", str(config), "--features", "0,3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {out} (4 rows: each image and its image-shaped layers)\n"
    bad = CliRunner().invoke(cli, ["plot", str(config), "--features", "4"])
    assert bad.exit_code == 2
    assert bad.stderr == "--features 4: the test split has 4 images (0 to 3)\n"


@pytest.mark.data
def test_dense_weights_of_flat_images_are_drawn_as_pictures(tmp_path, fashion_folder):
    from nnctl.viz.pictures import first_layer_tiles

    config = tmp_path / "mlp.yaml"
    config.write_text("data: {dataset: fashion-mnist, limit: 100}\nmodel: [{type: dense, units: 5}, {type: dense, units: 10}]\n")
    setup = prepare(load_config(config), progress=False)
    name, tiles = first_layer_tiles(setup.network)
    assert name == "dense1" and tiles.shape == (5, 28, 28)
    np.testing.assert_array_equal(tiles[2].reshape(-1), setup.network.by_name["dense1"].layer.params["W"][:, 2])

"""Pictures of what a network learned: first-layer weights as an image grid, and one sample's feature maps.

- `plot_filters`: the first layer's weights, one tile per output unit. A convolution's filters
  W (F, C, kh, kw) are shown as kh x kw tiles (grayscale for C = 1, RGB for C = 3, else the channel mean);
  a dense layer on flattened images, W (C*H*W, M), as one H x W tile per unit (the classic "templates").
  Each tile is scaled to its own min..max.
- `plot_feature_maps`: the input image and the output of every image-shaped layer (N, C, H, W) for one
  sample, one row per layer, one tile per channel (up to `max_channels`); an RGB input is shown first in
  colour (scaled to its own min..max), then channel by channel.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nnctl.errors import InputError
from nnctl.nn.network import Network
from nnctl.viz.figure import new_figure, save_figure


def square_image_shape(size: int) -> tuple[int, int, int] | None:
    """(C, H, W) for a flattened square image of `size` values with 1 or 3 channels, else None."""
    for channels in (1, 3):
        side = math.isqrt(size // channels)
        if side * side * channels == size:
            return channels, side, side
    return None


def first_layer_tiles(network: Network) -> tuple[str, np.ndarray]:
    """(node name, tiles (M, H, W) or (M, H, W, 3)) for the first conv or dense layer's weights."""
    for node in network.nodes:
        w = node.layer.params.get("W")
        if w is None:
            continue
        if w.ndim == 4:                                   # conv: (F, C, kh, kw)
            tiles = w.transpose(0, 2, 3, 1)
            tiles = tiles if w.shape[1] == 3 else tiles.mean(axis=3)
            return node.name, tiles
        if w.ndim == 2:                                   # dense: (D, M) on flattened images
            shape = square_image_shape(w.shape[0])
            if shape is None:
                raise InputError(f"layer {node.name}: its {w.shape[0]} inputs are not a flattened square "
                                 f"image, so its weights cannot be drawn as pictures")
            c, h, wd = shape
            tiles = w.T.reshape(-1, c, h, wd).transpose(0, 2, 3, 1)
            return node.name, tiles if c == 3 else tiles[..., 0]
    raise InputError("the network has no dense or conv layer whose weights could be drawn")


def _scaled(tile: np.ndarray) -> np.ndarray:
    low, high = float(tile.min()), float(tile.max())
    return (tile - low) / (high - low) if high > low else np.zeros_like(tile)


def plot_filters(network: Network, path: Path, title: str = "", max_tiles: int = 100) -> int:
    """Draw the first layer's weights as a grid; returns the number of tiles drawn."""
    name, tiles = first_layer_tiles(network)
    tiles = tiles[:max_tiles]
    count = len(tiles)
    cols = min(count, 10)
    rows = math.ceil(count / cols)
    figure = new_figure(1.1 * cols, 1.1 * rows + 0.5)
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False)).reshape(-1)
    for ax, tile in zip(axes, tiles):
        ax.imshow(_scaled(tile.astype(np.float64)), cmap="gray" if tile.ndim == 2 else None,
                  interpolation="nearest")
    for ax in axes:
        ax.axis("off")
    figure.suptitle(title or f"{name}: {count} filters")
    save_figure(figure, path)
    return count


def feature_maps(network: Network, x: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """[(node name, (K, C, H, W) maps)] for images x (K, *input_shape), in eval mode: every node whose
    output is image-shaped."""
    outputs = network.forward(x, training=False, keep=network.by_name)
    return [(n.name, outputs[n.name]) for n in network.nodes if outputs[n.name].ndim == 4]


def tiles_of(maps: np.ndarray, colour: bool) -> list[np.ndarray]:
    """One sample's maps (C, H, W) as tiles: one (H, W) per channel, led for a 3-channel input (`colour`) by
    the picture itself, (H, W, 3)."""
    tiles = list(maps)
    if colour and maps.shape[0] == 3:
        tiles.insert(0, maps.transpose(1, 2, 0).astype(np.float64))
    return tiles


def plot_feature_maps(network: Network, x: np.ndarray, path: Path, labels: list[str],
                      max_channels: int = 16) -> int:
    """Draw images x: (K, C, H, W) and their feature maps: for each image a row with the input and a row per
    image-shaped layer, one tile per channel (up to `max_channels`). Returns the number of rows."""
    if x.ndim != 4:
        raise InputError(f"feature maps need image-shaped inputs (C, H, W), got samples of shape {x.shape[1:]}; "
                         f"set data.flatten: false")
    layers = [("input", x)] + feature_maps(network, x)
    rows = [(f"{label}: {name}", tiles_of(maps[k], colour=name == "input"))
            for k, label in enumerate(labels) for name, maps in layers]
    cols = min(max_channels, max(len(tiles) for _, tiles in rows))
    figure = new_figure(1.2 * cols + 1.2, 1.3 * len(rows) + 0.4)
    axes = figure.subplots(len(rows), cols, squeeze=False)
    for r, (title, tiles) in enumerate(rows):
        for col in range(cols):
            ax = axes[r][col]
            ax.axis("off")
            if col < len(tiles):
                tile = tiles[col]
                ax.imshow(_scaled(tile) if tile.ndim == 3 else tile, cmap="gray" if tile.ndim == 2 else None,
                          interpolation="nearest")
        axes[r][0].set_title(title, fontsize=8, loc="left")
    save_figure(figure, path)
    return len(rows)

"""`nnctl plot RUN --reconstructions N`: N images of a split in rows input / corrupted input /
reconstruction, for a network with a loss term that reconstructs its input (`target: input`).

The corruption is `--corrupt MODE=AMOUNT` when given (any autoencoder can be shown damaged inputs), else
the run's own noise layer when one takes the network input (up to flatten and reshape), else none (the
middle row is then left out). It is drawn from the run's evaluation generator, so the same command gives the same picture. The
network runs in evaluation mode on the corrupted images; the reconstruction is what the loss's scores
say about the input (the sigmoid of logits for sigmoid_bce). The three images of a column share one
grey scale, that of the clean input.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nnctl.errors import InputError
from nnctl.viz.figure import new_figure, save_figure
from nnctl.viz.pictures import square_image_shape

def image_shape(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) to draw samples of `shape`: images as they are, flat vectors as square 1- or 3-channel images."""
    if len(shape) == 3:
        return shape
    square = square_image_shape(math.prod(shape))
    if square is not None:
        return square
    raise InputError(f"samples of shape {shape} are neither images nor flattened square images, so they cannot "
                     f"be drawn")


def plot_rows(rows: list[tuple[str, np.ndarray]], path: Path, title: str) -> None:
    """Draw rows of images (each (K, ...)) as a grid, one column per image, each column on the first row's
    grey scale (first channel for non-RGB images)."""
    count = len(rows[0][1])
    c, h, w = image_shape(rows[0][1].shape[1:])
    figure = new_figure(max(4.0, 1.0 * count + 1.5), 1.1 * len(rows) + 0.6)
    axes = figure.subplots(len(rows), count, squeeze=False)
    reference = rows[0][1].reshape(count, c, h, w)
    for r, (label, images) in enumerate(rows):
        images = images.reshape(count, c, h, w)
        for k in range(count):
            ax = axes[r][k]
            low, high = float(reference[k].min()), float(reference[k].max())
            if c == 3:
                ax.imshow(np.clip((images[k].transpose(1, 2, 0) - low) / max(high - low, 1e-12), 0, 1))
            else:
                ax.imshow(images[k, 0], cmap="gray", vmin=low, vmax=high, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r][0].set_ylabel(label, fontsize=8)
    figure.suptitle(title, fontsize=10)
    save_figure(figure, path)

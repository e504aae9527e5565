"""Training-time data augmentation for image batches (N, C, H, W): random flips and small shifts.

Each training batch gets fresh random choices from the run's generator (so runs stay reproducible);
validation and test data are never augmented.

- flip:  each image is mirrored left-right with probability 1/2 (right for clothes, wrong for digits).
- shift: each image is translated by a whole number of pixels in [-shift, shift] along each axis, drawn
         independently; the border it uncovers repeats the image's edge pixels.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnctl.errors import ConfigError
from nnctl.options.spec import Bool, Int, Option, join_path

AUGMENT_OPTIONS = {
    "flip": Option(Bool(), False, "mirror each training image left-right with probability 1/2"),
    "shift": Option(Int(0), 0, "translate each training image by up to this many pixels along each axis"),
}


def check_augment(augment: dict | None, input_shape: tuple[int, ...], path: str) -> None:
    """Augmentation needs image-shaped inputs (C, H, W), and a shift smaller than the images (a larger one
    shows nothing of the image and would pad each batch by the shift). ConfigError at the key to change."""
    if not augment or not (augment["flip"] or augment["shift"]):
        return
    if len(input_shape) != 3:
        raise ConfigError(path, f"augmentation needs image-shaped inputs (C, H, W), got {tuple(input_shape)}; "
                                f"set data.flatten: false")
    _, height, width = input_shape
    if augment["shift"] >= min(height, width):
        raise ConfigError(join_path(path, "shift"), f"expected at most {min(height, width) - 1} for "
                                                    f"{height}x{width} images, got {augment['shift']}")


def augment_batch(x: np.ndarray, rng: np.random.Generator, flip: bool = False, shift: int = 0) -> np.ndarray:
    """A new augmented batch from x: (N, C, H, W); x itself is never modified."""
    n, _, h, w = x.shape
    out = x
    if shift:
        padded = np.pad(x, ((0, 0), (0, 0), (shift, shift), (shift, shift)), mode="edge")
        windows = sliding_window_view(padded, (h, w), axis=(2, 3))          # (N, C, 2s+1, 2s+1, H, W)
        rows = rng.integers(0, 2 * shift + 1, size=n)
        cols = rng.integers(0, 2 * shift + 1, size=n)
        out = windows[np.arange(n), :, rows, cols]                           # (N, C, H, W), a new array
    if flip:
        mirrored = rng.random(n) < 0.5
        if out is x:
            out = x.copy()
        out[mirrored] = out[mirrored][..., ::-1]
    return out

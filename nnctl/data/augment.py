"""Training-time data augmentation for image batches (N, C, H, W).

Each training batch gets fresh random choices from the run's generator (so runs stay reproducible, and a
resumed run draws the same ones); validation and test data are never augmented. In this order:

- shift:  each image is translated by a whole number of pixels in [-shift, shift] along each axis, drawn
          independently; the border it uncovers repeats the image's edge pixels.
- flip:   each image is mirrored left-right with probability 1/2 (right for clothes, wrong for digits).
- crop:   pad `crop` zero pixels on every side and cut a window of the original size at a random place.
- rotate, zoom: turn by an angle drawn from [-rotate, rotate] degrees and scale by a factor from
          [1 - zoom, 1 + zoom] about the centre (bilinear).
- brightness, contrast: add a number from [-brightness, brightness] to every pixel, then scale the
          image's deviation from its mean by a factor from [1 - contrast, 1 + contrast].
- cutout: zero a cutout x cutout square at a random place (it may hang over the edge).
Uncovered pixels are 0, the training mean under `normalize: standard`. Every number is drawn in the
calling thread, in this order, for the options that are on; the operations after flip then run on the
worker threads (nnctl.workers), each thread on its own images, so the result is the same for any thread
count. The arithmetic is in nnctl.data.augment_ops.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from nnctl.data import augment_ops
from nnctl.errors import ConfigError
from nnctl.options.spec import Bool, Float, Int, Option, join_path
from nnctl.workers import over_batch

AUGMENT_OPTIONS = {
    "flip": Option(Bool(), False, "mirror each training image left-right with probability 1/2"),
    "shift": Option(Int(0), 0, "translate each training image by up to this many pixels along each axis"),
    "crop": Option(Int(0), 0, "pad this many zero pixels on every side, then cut a window of the image's size "
                              "at a random place (0: off)"),
    "rotate": Option(Float(0, 180), 0.0, "rotate by a random angle of up to this many degrees either way"),
    "zoom": Option(Float(0, 1, high_open=True), 0.0, "scale by a random factor in [1 - zoom, 1 + zoom] about the "
                                                     "centre"),
    "brightness": Option(Float(0), 0.0, "add a random number in [-brightness, brightness] to every pixel (in "
                                        "normalized units)"),
    "contrast": Option(Float(0, 1), 0.0, "scale each image's deviation from its mean by a random factor in "
                                         "[1 - contrast, 1 + contrast]"),
    "cutout": Option(Int(0), 0, "zero a square of this side at a random place in each image (0: off)"),
}


def check_augment(augment: dict | None, input_shape: tuple[int, ...], path: str) -> None:
    """Augmentation needs image-shaped inputs (C, H, W), and a shift smaller than the images (a larger one
    shows nothing of the image and would pad each batch by the shift). ConfigError at the key to change."""
    if not augment or not any(augment.values()):
        return
    if len(input_shape) != 3:
        raise ConfigError(path, f"augmentation needs image-shaped inputs (C, H, W), got {tuple(input_shape)}; "
                                f"set data.flatten: false")
    _, height, width = input_shape
    for key in ("shift", "crop", "cutout"):
        if augment.get(key, 0) >= min(height, width):
            raise ConfigError(join_path(path, key), f"expected at most {min(height, width) - 1} for "
                                                    f"{height}x{width} images, got {augment[key]}")


def augment_batch(x: np.ndarray, rng: np.random.Generator, flip: bool = False, shift: int = 0, crop: int = 0,
                  rotate: float = 0.0, zoom: float = 0.0, brightness: float = 0.0, contrast: float = 0.0,
                  cutout: int = 0) -> np.ndarray:
    """A new augmented batch from x: (N, C, H, W); x itself is never modified (see the module docstring)."""
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
    steps = drawn_steps(rng, n, h, w, crop, rotate, zoom, brightness, contrast, cutout)
    if not steps:
        return out
    source, result = out, np.empty(x.shape, dtype=x.dtype)

    def work(images: slice) -> None:
        part = source[images]
        for step, values in steps:
            part = step(part, *(v[images] if isinstance(v, np.ndarray) else v for v in values))
        result[images] = part

    over_batch(work, n, x.size * (2 + 4 * bool(rotate or zoom)))
    return result


def drawn_steps(rng: np.random.Generator, n: int, h: int, w: int, crop: int, rotate: float, zoom: float,
                brightness: float, contrast: float, cutout: int) -> list:
    """[(operation, its arguments)] for the options that are on, every per-image number (N,) drawn from
    rng here, in a fixed order: crop rows and columns, angles, zoom factors, brightness, contrast, cutout
    corners."""
    steps = []
    if crop:
        rows, cols = rng.integers(0, 2 * crop + 1, size=n), rng.integers(0, 2 * crop + 1, size=n)
        steps.append((augment_ops.crop_with_padding, (crop, rows, cols)))
    if rotate or zoom:
        angle = np.deg2rad(rng.uniform(-rotate, rotate, size=n)) if rotate else np.zeros(n)
        scale = rng.uniform(1 - zoom, 1 + zoom, size=n) if zoom else np.ones(n)
        steps.append((augment_ops.rotate_and_zoom, (angle, scale)))
    if brightness or contrast:
        delta = rng.uniform(-brightness, brightness, size=n) if brightness else None
        factor = rng.uniform(1 - contrast, 1 + contrast, size=n) if contrast else None
        steps.append((augment_ops.brightness_contrast, (delta, factor)))
    if cutout:
        top = rng.integers(-(cutout - 1), h, size=n)
        left = rng.integers(-(cutout - 1), w, size=n)
        steps.append((augment_ops.cutout, (cutout, top, left)))
    return steps

"""Pictures (PNG, JPEG) as raw 8-bit sample arrays of a model's image shape.

A picture is read with Pillow (which matplotlib already depends on), converted to grey (one channel, ITU-R
601-2 luma; an alpha channel is dropped) or RGB (three channels), and resized to the model's height and
width with Pillow's antialiasing bilinear filter when its size differs. Values stay 0-255, like the
pixels of MNIST's IDX files: they become the network's input the same way training samples did (divided
by the data's raw divisor, then normalized). 16-bit grey pictures are scaled to 0-255.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from nnctl.errors import InputError
from nnctl.limits import exceeds_budget, show_bytes

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
MAX_PIXELS = 1 << 26          # 64M pixels: larger pictures are refused before they are decoded
DECODE_BYTES_PER_PIXEL = 24   # decoded RGBA, its conversion, and for 16-bit grey two float64 copies


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


COLOUR_MODES = ("RGB", "RGBA", "RGBX", "RGBa", "P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def probe_image(path: Path) -> tuple[int, int, bool]:
    """(width, height, colour) of the picture at `path` from its header alone (nothing is decoded); colour is
    True for RGB-like and palette modes. Anything unreadable is one InputError naming the file."""
    # Pillow (installed with matplotlib) is slow to import: loaded only when images are read
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as picture:
                return picture.width, picture.height, picture.mode in COLOUR_MODES
    except Image.DecompressionBombError:
        raise InputError(f"{path}: declares more pixels than the {MAX_PIXELS} nnctl reads") from None
    except Exception as exc:    # any decoder failure on a stranger's file is one line, not a traceback
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable PNG or JPEG picture ({reason})") from None


def read_image(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    """The picture at `path` as uint8 (C, H, W) for shape = (C, H, W) with C 1 (grey) or 3 (RGB)."""
    # Pillow (installed with matplotlib) is slow to import: loaded only when images are read
    from PIL import Image

    channels, height, width = shape
    if channels not in (1, 3):
        raise InputError(f"{path}: this model takes images with {channels} channels; a picture gives 1 (grey) "
                         f"or 3 (RGB)")
    try:
        with warnings.catch_warnings():       # Pillow warns of large sizes; nnctl's own limit below says it
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            picture = Image.open(path)
        with picture:
            pixels = picture.width * picture.height           # from the header: nothing decoded yet
            if pixels > MAX_PIXELS:
                raise InputError(f"{path}: {picture.width}x{picture.height} pixels is more than the "
                                 f"{MAX_PIXELS} nnctl reads")
            budget = exceeds_budget(DECODE_BYTES_PER_PIXEL * pixels)
            if budget is not None:
                raise InputError(f"{path}: {picture.width}x{picture.height} pixels need about "
                                 f"{show_bytes(DECODE_BYTES_PER_PIXEL * pixels)} of memory to decode, more than "
                                 f"the {show_bytes(budget)} available")
            if picture.mode in ("I;16", "I;16B", "I;16L", "I") and channels == 1:
                values = np.asarray(picture, dtype=np.float64) * (255.0 / 65535.0)
                picture = Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
            picture = picture.convert("L" if channels == 1 else "RGB")
            if picture.size != (width, height):
                picture = picture.resize((width, height), Image.Resampling.BILINEAR)
            pixels = np.asarray(picture, dtype=np.uint8)
    except InputError:
        raise
    except Image.DecompressionBombError:          # Pillow's own check, on what the header declares
        raise InputError(f"{path}: declares more pixels than the {MAX_PIXELS} nnctl reads") from None
    except Exception as exc:    # any decoder failure on a stranger's file is one line, not a traceback
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable PNG or JPEG picture ({reason})") from None
    return pixels[None] if channels == 1 else np.ascontiguousarray(pixels.transpose(2, 0, 1))

"""Small image folders written with Pillow for the `dataset: folder` tests: train/<class>/ and test/<class>/
(optionally val/), three classes a network can tell apart (a bright square at the class's own spot), grey
or tinted per class."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("cat", "dog", "owl")                                # sorted: labels 0, 1, 2
TINTS = np.array([[255, 60, 60], [60, 255, 60], [60, 60, 255]])
SIDE = 12


def picture(label: int, rng: np.random.Generator, rgb: bool) -> np.ndarray:
    """One SIDExSIDE uint8 picture (H, W) or (H, W, 3) of class `label`."""
    grey = rng.integers(0, 50, size=(SIDE, SIDE))
    grey[2 + 3 * label:5 + 3 * label, 2 + 3 * label:5 + 3 * label] = 230
    if not rgb:
        return grey.astype(np.uint8)
    return (grey[..., None] * TINTS[label] // 255).astype(np.uint8)


def write_folder(root: Path, counts: dict[str, int], rgb: bool = False, seed: int = 0,
                 suffix: str = ".png") -> dict[str, list[tuple[Path, np.ndarray]]]:
    """Write root/SPLIT/CLASS/NNN.png, `counts[SPLIT]` pictures per class; returns each split's
    [(path, pixels)] in the folder's sorted order (class, then name)."""
    rng = np.random.default_rng(seed)
    written = {}
    for split, count in counts.items():
        written[split] = []
        for label, name in enumerate(CLASSES):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = picture(label, rng, rgb)
                path = root / split / name / f"{i:03d}{suffix}"
                Image.fromarray(pixels).save(path, **({"quality": 95} if suffix == ".jpg" else {}))
                written[split].append((path, pixels))
    return written


CNN_CONFIG = """\
name: {name}
seed: 0
data: {{dataset: folder, path: {path}, val_size: 0.2, flatten: false{extra}}}
model:
  layers:
    - {{type: conv2d, filters: 6, kernel: 3, padding: 1}}
    - {{type: batchnorm}}
    - {{type: relu}}
    - {{type: maxpool2d, kernel: 2}}
    - {{type: flatten}}
    - {{type: dense, units: 3}}
loss: {{type: softmax_cross_entropy}}
optimizer: {{type: adam, lr: 1.0e-2}}
train: {{epochs: {epochs}, batch_size: 16{train_extra}}}
"""


def cnn_config(folder: Path, config: Path, name: str = "folder_cnn", extra: str = "", epochs: int = 3,
               train_extra: str = "") -> Path:
    config.write_text(CNN_CONFIG.format(name=name, path=folder, extra=extra, epochs=epochs, train_extra=train_extra))
    return config


def nnctl(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    """`nnctl ARGS` in a real subprocess (this venv's nnctl), text output."""
    return subprocess.run([sys.executable, "-m", "nnctl", *map(str, args)], capture_output=True, text=True, env=env)

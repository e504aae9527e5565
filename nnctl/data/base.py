"""What every dataset is: a class with its own config keys that loads a `Source` of raw arrays.

A dataset only produces samples. Splitting into train/val/test, limiting, converting to float32,
normalizing and flattening happen afterwards, the same way for every dataset (see `splits.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.options.spec import Option


@dataclass
class Source:
    """Samples as a dataset provides them, before any splitting or scaling.

    x:  (N, F) flat features, or (N, C, H, W) images; any numeric dtype (uint8 pixels stay uint8 here).
    y:  (N,) int64 class labels, or float32 regression targets of shape (N,) or (N, K).
    test: the set's own test split (x_test, y_test) shaped like x and y, or None.
    images: True when x holds images: statistics are then taken per channel, and `flatten` applies.
    raw_divisor: raw values are divided by this when converted to float32 (255.0 for 8-bit pixels).
    num_classes, class_names: for labels; both None for regression targets.
    val: the set's own validation split shaped like x and y (then `val_size` is not used), or None.
    stratify: take the test and validation samples from x class by class, in proportion (see splits.py).
    notes: facts about the loading that go into the run's report (e.g. files skipped), JSON-able.
    """

    x: np.ndarray
    y: np.ndarray
    test: tuple[np.ndarray, np.ndarray] | None = None
    images: bool = False
    raw_divisor: float = 1.0
    num_classes: int | None = None
    class_names: list[str] | None = None
    val: tuple[np.ndarray, np.ndarray] | None = None
    stratify: bool = False
    notes: dict = field(default_factory=dict)


class Dataset:
    """Base class. Subclasses set `options` (their own YAML keys under `data:`) and implement `load`.

    Sets without a test split of their own list a `test_size` option; `load` then leaves `Source.test`
    as None and the split is taken from the samples.
    """

    options: dict[str, Option] = {}

    def __init__(self, **config: Any):
        self.config = config

    @classmethod
    def check_config(cls, config: dict, path: str) -> None:
        """Checks that involve several keys (raise ConfigError at the key to change). Default: none."""

    def sample_shape(self, base_dir: Path) -> tuple[tuple[int, ...], bool] | None:
        """(the shape of one sample as `load` would give it, whether samples are images), found without
        loading the data, or None when only loading tells (`nnctl summary` uses it)."""
        return None

    def load(self, rng: np.random.Generator, base_dir: Path, progress: bool) -> Source:
        """Produce the samples. `rng` is the only randomness a synthetic set may use; `base_dir` is the
        folder relative paths are resolved against; `progress` allows progress bars."""
        raise NotImplementedError

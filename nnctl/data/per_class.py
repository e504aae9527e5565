"""`data.per_class: {name_or_index: count}`: an imbalanced training split from any labelled dataset.

Each named class keeps `count` of its training samples (the others keep all of theirs); validation and test
splits are left as they are, so they still measure every class fairly. A class is named by its name
(`Bag`) or by its label as the dataset gives it (the numbers `data.classes` uses). Which samples stay is
drawn from the data's split stream after the split itself, so it depends on the seed alone, and adding
`per_class` never moves the validation or test samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.errors import ConfigError
from nnctl.options.spec import Mismatch

PATH = "data.per_class"


def PerClassCounts():
    """A non-empty mapping {class name or label: positive count}; keys become strings ('0' for label 0),
    as they are in a checkpoint's JSON, so a config reads the same from YAML and from a checkpoint."""
    what = "a mapping {class name or label: number of training samples to keep}, e.g. {0: 5000, Bag: 100}"

    def check(value: Any) -> dict:
        if not isinstance(value, dict) or not value or any(
                isinstance(k, bool) or not isinstance(k, (int, str)) or (isinstance(k, int) and k < 0)
                or isinstance(v, bool) or not isinstance(v, int) or v < 1 for k, v in value.items()):
            raise Mismatch(what)
        return {str(k): v for k, v in value.items()}

    return check


def class_index(key: int | str, names: list[str] | None, kept: list[int] | None, num_classes: int) -> int:
    """The run's label (0..K-1) of a per_class key: a class name, or a dataset label (mapped through
    data.classes when it kept some classes). ConfigError at data.per_class.KEY otherwise."""
    where = f"{PATH}.{key}"
    if isinstance(key, str):
        if key.isdigit() and (names is None or key not in names):
            key = int(key)
        elif names is None or key not in names:
            listing = ", ".join(names) if names else f"labels 0 to {num_classes - 1}"
            raise ConfigError(where, f"no class is named {key!r}; the classes are {listing}")
        else:
            return names.index(key)
    if kept is not None:
        if key not in kept:
            raise ConfigError(where, f"class {key} is not among data.classes {kept}")
        return kept.index(key)
    if key >= num_classes:
        raise ConfigError(where, f"class {key} does not exist: the labels are 0 to {num_classes - 1}")
    return key


def cap_per_class(train_idx: np.ndarray, labels: np.ndarray, counts: dict, num_classes: int | None,
                  names: list[str] | None, kept: list[int] | None, rng: np.random.Generator) -> np.ndarray:
    """The training indices (sorted) left when each class in `counts` keeps that many of its samples.

    train_idx: (M,) sorted indices into `labels` (N,) int64. The kept samples of a class are the first
    `count` of its samples in a random order drawn from `rng` (one draw of M numbers, whatever `counts`)."""
    if num_classes is None:
        raise ConfigError(PATH, "this data has real-valued targets, not class labels")
    caps = np.full(num_classes, len(train_idx), dtype=np.int64)         # unnamed classes keep all
    y = labels[train_idx]
    have = np.bincount(y, minlength=num_classes)
    for key, count in counts.items():
        c = class_index(key, names, kept, num_classes)
        if count > have[c]:
            raise ConfigError(f"{PATH}.{key}", f"asks for {count} training samples, but the training split has "
                                               f"{have[c]} of this class")
        caps[c] = count
    order = np.lexsort((rng.random(len(train_idx)), y))                 # by class, randomly within a class
    starts = np.concatenate(([0], np.cumsum(have)[:-1]))
    rank = np.empty(len(train_idx), dtype=np.int64)
    rank[order] = np.arange(len(train_idx)) - starts[y[order]]          # position within its class
    return train_idx[rank < caps[y]]

"""Every dataset nnctl knows, the `data:` keys they all share, and the check of a `data:` mapping.

A `data:` mapping is the common keys below plus the chosen dataset's own `options`, for example
    data: {dataset: spiral, samples: 600, noise: 0.1, val_size: 0.2, normalize: standard}
"""

from __future__ import annotations

from typing import Any

from nnctl.data import arrays, csv_table, folder, mnist, synthetic
from nnctl.data.base import Dataset
from nnctl.data.folds import FoldChoice
from nnctl.data.normalize import METHODS
from nnctl.data.per_class import PerClassCounts
from nnctl.errors import ConfigError
from nnctl.options.named import Registry
from nnctl.options.spec import (
    Bool,
    Choice,
    Int,
    IntOrFraction,
    Mismatch,
    Option,
    Optional,
    did_you_mean,
    join_path,
    require_mapping,
    show,
    validate,
)

DATASETS = Registry("dataset", {
    "mnist": mnist.Mnist,
    "fashion-mnist": mnist.FashionMnist,
    "spiral": synthetic.Spiral,
    "blobs": synthetic.Blobs,
    "circles": synthetic.Circles,
    "xor": synthetic.Xor,
    "npz": arrays.Npz,
    "csv": csv_table.Csv,
    "folder": folder.ImageFolder,
})


def ClassList():
    """Two or more distinct class labels (non-negative integers)."""
    what = "a list of at least 2 distinct class labels (integers >= 0)"

    def check(value: Any) -> list[int]:
        if not isinstance(value, list) or len(value) < 2 or len(set(map(str, value))) != len(value) or any(
                isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value):
            raise Mismatch(what)
        return [int(v) for v in value]

    return check


DATA_OPTIONS: dict[str, Option] = {
    "dataset": Option(Choice(*DATASETS), doc="which data: " + ", ".join(DATASETS)),
    "val_size": Option(IntOrFraction(), 0.1, "validation samples taken from the training split (count or fraction; not used "
                                          "when the data has its own validation split, an image folder's val/)"),
    "limit": Option(Optional(Int(1)), None, "keep at most this many training samples (after the split)"),
    "normalize": Option(Choice(*METHODS), "standard", "input scaling fitted on the training split"),
    "flatten": Option(Bool(), True, "images become flat vectors (C*H*W,) instead of (C, H, W)"),
    "classes": Option(Optional(ClassList()), None,
                      "keep only these classes, relabelled 0..K-1 in the order given (names kept), e.g. [5, 6, 7] "
                      "(for the synthetic sets, `classes` is their number of classes)"),
    "per_class": Option(Optional(PerClassCounts()), None,
                        "an imbalanced training split: {class name or label: count} keeps that many training "
                        "samples of each named class (drawn with the seed; validation and test untouched), "
                        "e.g. {0: 5000, Bag: 100}"),
    "sampler": Option(Optional(Choice("balanced")), None,
                      "null: each epoch visits every training sample once; balanced: each epoch draws as many "
                      "samples, every class equally often (samples of small classes repeat; seeded)"),
    "fold": Option(FoldChoice(), None,
                   "[k, K]: validate on the k-th (from 0) of K stratified folds of the non-test samples instead of "
                   "val_size (set by nnctl train --folds K)"),
}


def dataset_class(name: Any, path: str) -> type[Dataset]:
    """The class registered as `name`, or a ConfigError at `path` with a did-you-mean."""
    if not isinstance(name, str):
        raise ConfigError(path, f"expected a dataset name ({', '.join(DATASETS)}), got {show(name)}")
    return DATASETS.lookup(name, path)


def validate_data_config(raw: dict | None, path: str = "data") -> dict:
    """Check a `data:` mapping and return it with every default filled in (`dataset` first).

    Keys that belong to another dataset are named as such, e.g. `data.noise: unknown key for dataset
    'mnist' (it belongs to spiral, blobs, circles, xor)`.
    """
    raw = require_mapping({} if raw is None else raw, path)
    if "dataset" not in raw:
        raise ConfigError(join_path(path, "dataset"), "required key is missing")
    name = raw["dataset"]
    cls = dataset_class(name, join_path(path, "dataset"))
    options = {**DATA_OPTIONS, **cls.options}
    for key in raw:
        if key not in options:
            owners = [other for other, c in DATASETS.items() if key in c.options]
            hint = f" (it belongs to {', '.join(owners)})" if owners else did_you_mean(key, options)
            raise ConfigError(join_path(path, key), f"unknown key for dataset {name!r}{hint}")
    config = validate(options, raw, path)
    cls.check_config(config, path)
    return config

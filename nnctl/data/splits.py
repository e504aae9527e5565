"""From a validated `data:` config and seed material to float32 train/val/test arrays, reproducibly.

Steps, the same for every dataset:
1. Two independent random streams are derived from the seed material: one for drawing synthetic
   samples, one for splitting. Changing `val_size` therefore never changes the synthetic points.
2. The dataset loads its samples (`Source`); with `classes`, only samples of those classes are kept (in
   both the data and its own test split), relabelled 0..K-1 in the order the list gives.
3. One permutation of the N samples from the split stream orders them; in that order come
   `n_test` test samples (only for sets without their own test split), then `n_val` validation samples,
   then the training samples, cut to `limit`, then (with `per_class`) to so many of each named class
   (nnctl.data.per_class). Each part keeps the samples' original order. Sets that ask for it (image
   folders) are ordered by nnctl.data.stratify instead, so each part holds the classes in proportion;
   sets with their own validation split (an image folder's val/) take none from the samples.
   With `fold` (k-fold validation, see folds.py) the validation part is one stratified fold instead.
   Counts: an integer is taken as is; a fraction f of a pool of P samples gives round(f * P), where the
   test pool is all N samples and the validation pool what the test split leaves.
4. x becomes float32 (divided by `raw_divisor`), the normalization is fitted on the training part
   alone and applied to all parts in place, and images are flattened if asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.data import normalize
from nnctl.data.base import Source
from nnctl.data.catalog import DATASETS
from nnctl.data.folds import fold_indices
from nnctl.data.loader import take_rows
from nnctl.data.per_class import cap_per_class
from nnctl.data.stratify import stratified_order
from nnctl.errors import ConfigError, InputError
from nnctl.limits import exceeds_budget, show_bytes

DEFAULT_TEST_SIZE = 0.2
STREAM_TAG = 0x64617461  # "data": keeps these streams apart from any child the trainer spawns
DRAW_STREAM, SPLIT_STREAM = 0, 1
FLOAT_COPIES = 2            # the float32 splits, plus one gathered copy on the way


@dataclass
class Splits:
    """The arrays a run trains, validates and tests on.

    train, val, test: (x, y) with x float32 (N, *input_shape) C-contiguous and y (N,) int64 labels, or
    float32 regression targets (N,) or (N, K); val and test are None when empty.
    input_shape: one sample's shape, e.g. (784,) or (1, 28, 28).
    num_classes, class_names: None for regression targets.
    normalization: what was applied (see nnctl.data.normalize), JSON-able.
    image_shape: (C, H, W) of one image before any flattening, or None when the data is not images.
    notes: facts about the loading for the run's report (Source.notes), e.g. pictures skipped.
    """

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None
    input_shape: tuple[int, ...]
    num_classes: int | None
    class_names: list[str] | None
    normalization: dict
    image_shape: tuple[int, int, int] | None = None
    notes: dict | None = None


def data_streams(seed: np.random.SeedSequence | np.random.Generator) -> tuple[np.random.Generator, np.random.Generator]:
    """(draw, split) generators. From a SeedSequence they are its children with spawn keys
    (..., STREAM_TAG, 0) and (..., STREAM_TAG, 1), made without spawning (the sequence is not changed,
    so calling twice gives the same streams). From a Generator, 128 bits are drawn from it first."""
    if isinstance(seed, np.random.Generator):
        seed = np.random.SeedSequence(seed.integers(0, 2**63, size=2).tolist())
    streams = [np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, STREAM_TAG, k))
               for k in (DRAW_STREAM, SPLIT_STREAM)]
    return np.random.default_rng(streams[0]), np.random.default_rng(streams[1])


def part_size(size: int | float, pool: int) -> int:
    """A count as given, or round(fraction * pool)."""
    return int(round(size * pool)) if isinstance(size, float) else int(size)


def split_indices(n: int, n_test: int, n_val: int, limit: int | None, rng: np.random.Generator,
                  stratify_by: np.ndarray | None = None) -> list[np.ndarray]:
    """Sorted index arrays [test, val, train] from one permutation of range(n) (with `stratify_by`, labels
    (n,): the stratified order of nnctl.data.stratify, which draws the same one permutation)."""
    order = rng.permutation(n) if stratify_by is None else stratified_order(stratify_by, rng)
    train_end = n if limit is None else min(n, n_test + n_val + limit)
    bounds = [0, n_test, n_test + n_val, train_end]
    return [np.sort(order[a:b]) for a, b in zip(bounds, bounds[1:])]


def to_float32(x: np.ndarray, raw_divisor: float) -> np.ndarray:
    """A C-contiguous float32 array of x / raw_divisor that may be changed in place (copies only if needed)."""
    if raw_divisor != 1.0:
        return np.divide(x, np.float32(raw_divisor), out=np.empty(x.shape, dtype=np.float32), dtype=np.float32)
    out = np.ascontiguousarray(x, dtype=np.float32)
    return out if out.flags.writeable else out.copy()


def flatten(part: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray] | None:
    """(x, y) with x: (N, C, H, W) seen as (N, C*H*W) (a view, no copy)."""
    return None if part is None else (part[0].reshape(part[0].shape[0], -1), part[1])


def given_normalization(description: dict, source, name: str) -> dict:
    """`description` checked against this data: per channel for images and per feature otherwise, the same
    raw divisor, one statistic per group."""
    where = f"{name}: the network's input normalization"
    per = "channel" if source.images else "feature"
    groups = {per: source.x.shape[1] if source.images else int(np.prod(source.x.shape[1:]))}
    if description["per"] != per or description["raw_divisor"] != source.raw_divisor:
        raise InputError(f"{where} (per {description['per']}, raw values / {description['raw_divisor']:g}) does "
                         f"not fit this data (per {per}, raw values / {source.raw_divisor:g})")
    groups[description["per"]] = groups[per]
    return normalize.check_description(description, where, groups)


def keep_classes(source: Source, classes: list[int]) -> Source:
    """Only the samples whose label is in `classes` (data and test split), relabelled to their position in
    the list; class names follow. A label outside the data's classes is a ConfigError at data.classes."""
    if source.num_classes is None:
        raise ConfigError("data.classes", "this data has real-valued targets, not class labels")
    missing = [c for c in classes if c >= source.num_classes]
    if missing:
        raise ConfigError("data.classes", f"class {missing[0]} does not exist: the labels are 0 to "
                                          f"{source.num_classes - 1}")
    relabel = np.full(source.num_classes, -1, dtype=np.int64)
    relabel[classes] = np.arange(len(classes))

    def subset(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        new = relabel[y]
        rows = np.flatnonzero(new >= 0)
        return take_rows(x, rows), new[rows]

    names = source.class_names or [str(c) for c in range(source.num_classes)]
    return Source(*subset(source.x, source.y), test=None if source.test is None else subset(*source.test),
                  images=source.images, raw_divisor=source.raw_divisor, num_classes=len(classes),
                  class_names=[names[c] for c in classes], val=None if source.val is None else subset(*source.val),
                  stratify=source.stratify, notes=source.notes)


def load_splits(cfg: dict, seed_seq: np.random.SeedSequence | np.random.Generator, base_dir: Path,
                progress: bool = True, normalization: dict | None = None) -> Splits:
    """Build the splits a validated `data:` config describes (see the module docstring for the steps).

    The same config and seed give identical arrays. A split request that the data cannot satisfy
    raises ConfigError at `data.val_size` / `data.test_size`. With `normalization` (a description a
    network was trained with, e.g. from a checkpoint) that one is applied instead of one fitted here;
    it must fit this data (InputError otherwise).
    """
    cls = DATASETS[cfg["dataset"]]
    draw_rng, split_rng = data_streams(seed_seq)
    source = cls(**{key: cfg[key] for key in cls.options}).load(draw_rng, Path(base_dir), progress)
    if "classes" not in cls.options and cfg.get("classes") is not None:     # synthetic sets: a class count
        source = keep_classes(source, cfg["classes"])
    n = source.x.shape[0]
    if n == 0:
        raise InputError(f"{cfg['dataset']}: the data has no samples")
    needed = FLOAT_COPIES * 4 * source.x.size
    budget = exceeds_budget(needed)
    if budget is not None:
        raise InputError(f"{cfg['dataset']}: {n} samples of shape {source.x.shape[1:]} need about "
                         f"{show_bytes(needed)} of memory as float32, more than the {show_bytes(budget)} available")

    n_test = 0
    if source.test is None:
        test_size = cfg.get("test_size")
        n_test = part_size(DEFAULT_TEST_SIZE if test_size is None else test_size, n)
        if n_test >= n:
            raise ConfigError("data.test_size", f"asks for {n_test} test samples but there are only {n}")
    if cfg.get("fold") is not None:                 # k-fold validation: val_size is not used (see folds.py)
        if source.val is not None:
            raise ConfigError("data.fold", "this image folder has its own val/ split; k-fold validation draws its "
                                           "folds from train/ only, so remove val/ or do not use --folds")
        test_idx, val_idx, train_idx = fold_indices(n, n_test, source.y, cfg["fold"], cfg["limit"], split_rng,
                                                    source.class_names)
        n_val = len(val_idx)
    else:
        n_val = 0 if source.val is not None else part_size(cfg["val_size"], n - n_test)
        if n_test + n_val >= n:
            raise ConfigError("data.val_size", f"asks for {n_val} validation samples, leaving no training "
                                               f"samples (of {n - n_test})")
        test_idx, val_idx, train_idx = split_indices(n, n_test, n_val, cfg["limit"], split_rng,
                                                     source.y if source.stratify else None)
    if cfg.get("per_class"):
        kept = cfg["classes"] if "classes" not in cls.options else None
        train_idx = cap_per_class(train_idx, source.y, cfg["per_class"], source.num_classes, source.class_names,
                                  kept, split_rng)

    def take(idx: np.ndarray | None, x: np.ndarray = source.x, y: np.ndarray = source.y):
        """(x[idx] as float32, y[idx]), both C-contiguous; idx None or covering all of x: no gather."""
        if idx is not None and len(idx) < len(x):
            x, y = take_rows(x, idx), take_rows(y, idx)
        return to_float32(x, source.raw_divisor), np.ascontiguousarray(y)

    train = take(train_idx)
    val = take(val_idx) if n_val else None
    if source.val is not None:
        val = take(None, *source.val) if len(source.val[1]) else None
    if source.test is not None:
        test = take(None, *source.test) if len(source.test[1]) else None
    else:
        test = take(test_idx) if n_test else None

    image_shape = tuple(int(s) for s in train[0].shape[1:]) if source.images else None
    if normalization is None:
        description = normalize.fit(train[0], cfg["normalize"], source.images, source.raw_divisor)
    else:
        description = given_normalization(normalization, source, cfg["dataset"])
    parts = [part for part in (train, val, test) if part is not None]
    for x, _ in parts:
        normalize.apply(x, description, source.images)
    if source.images and cfg["flatten"]:
        train, val, test = flatten(train), flatten(val), flatten(test)
    return Splits(train=train, val=val, test=test, input_shape=tuple(train[0].shape[1:]),
                  num_classes=source.num_classes, class_names=source.class_names, normalization=description,
                  image_shape=image_shape, notes=source.notes)

"""Stratified k-fold validation splits: `data.fold: [k, K]` (set by `nnctl train CONFIG --folds K`).

With a fold, the validation split is the k-th (counted from 0) of K stratified folds of the samples outside
the test split, and the training split is the other K - 1 folds (cut to `limit`); `val_size` is not used.
The test split is the one the config gives without a fold (the same permutation draws it), so every fold
of a group is tested on the same samples.

Folds are drawn from the split stream: the pool (the non-test samples, in the permutation's random order)
is sorted by label, keeping that order within each class, and the i-th sample of the sorted pool goes to
fold i mod K. So every class is spread over the folds as evenly as it can be (its counts differ by at most
one), and the folds' sizes too. Real-valued targets are not stratified: fold i mod K in random order.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.errors import ConfigError
from nnctl.options.spec import Mismatch

MAX_FOLDS = 1000


def FoldChoice():
    """null, or [k, K]: fold k (0 <= k < K) of K folds, 2 <= K <= MAX_FOLDS."""
    what = f"null or [k, K], fold k of K stratified folds (0 <= k < K, 2 <= K <= {MAX_FOLDS})"

    def check(value: Any) -> list[int] | None:
        if value is None:
            return None
        if (isinstance(value, list) and len(value) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                and 2 <= value[1] <= MAX_FOLDS and 0 <= value[0] < value[1]):
            return [int(value[0]), int(value[1])]
        raise Mismatch(what)

    return check


def fold_numbers(labels: np.ndarray | None, size: int, folds: int) -> np.ndarray:
    """(size,) int64: the fold of each pool position; stratified by `labels` ((size,) integers, in the pool's
    random order) when given."""
    positions = np.arange(size) if labels is None else np.argsort(labels, kind="stable")
    numbers = np.empty(size, dtype=np.int64)
    numbers[positions] = np.arange(size) % folds
    return numbers


def check_fold_counts(labels: np.ndarray | None, size: int, folds: int,
                      class_names: list[str] | None) -> None:
    """ConfigError at data.fold when a fold would miss a class (a class with fewer samples than folds),
    or when there are fewer samples than folds."""
    if labels is None or labels.dtype.kind not in "iu":
        if size < folds:
            raise ConfigError("data.fold", f"{folds} folds but only {size} samples outside the test split")
        return
    counts = np.bincount(labels)
    present = np.flatnonzero(counts)
    smallest = present[np.argmin(counts[present])]
    if counts[smallest] < folds:
        name = class_names[smallest] if class_names and smallest < len(class_names) else str(smallest)
        raise ConfigError("data.fold", f"{folds} folds but class {name!r} has only {counts[smallest]} samples "
                                       f"outside the test split (at most {counts[smallest]} folds)")


def fold_indices(n: int, n_test: int, labels: np.ndarray | None, fold: list[int], limit: int | None,
                 rng: np.random.Generator, class_names: list[str] | None = None) -> list[np.ndarray]:
    """Sorted index arrays [test, val, train] into n samples: the test part drawn as split_indices draws it
    (the same first draw of `rng`), validation the fold `fold[0]` of `fold[1]`, training the others, cut to
    `limit` (in random order, then sorted). `labels`: (n,) class labels of all samples, or None."""
    index, folds = fold
    order = rng.permutation(n)
    pool = order[n_test:]
    pool_labels = None if labels is None or labels.dtype.kind not in "iu" else labels[pool]
    check_fold_counts(pool_labels, len(pool), folds, class_names)
    numbers = fold_numbers(pool_labels, len(pool), folds)
    train = pool[numbers != index]
    if limit is not None:
        train = train[:limit]
    return [np.sort(order[:n_test]), np.sort(pool[numbers == index]), np.sort(train)]

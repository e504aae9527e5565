"""A seeded order of samples in which every prefix holds the classes in proportion (stratified splits).

`stratified_order(y, rng)`: one permutation of range(N) from `rng` fixes the order within each class;
the sample that is the r-th of its class (of n_c) then sits at position (r + 1/2) / n_c on a common 0..1
scale, and the samples are sorted by that position (ties in the permutation's order). Any first k samples
then hold round-about k * n_c / N of class c (at most one away), so cutting test, validation and training
parts from this order stratifies all three.
"""

from __future__ import annotations

import numpy as np


def stratified_order(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices (N,) int64 into y: (N,) int64 labels, in the stratified order described above."""
    order = rng.permutation(len(y))
    labels = y[order]
    by_class = np.argsort(labels, kind="stable")                  # permutation order kept within a class
    sorted_labels = labels[by_class]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    counts = np.diff(np.r_[starts, len(y)])
    group = np.repeat(np.arange(len(starts)), counts)
    rank = np.empty(len(y), dtype=np.float64)
    rank[by_class] = (np.arange(len(y)) - starts[group] + 0.5) / counts[group]
    return order[np.argsort(rank, kind="stable")]

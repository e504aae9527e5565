"""The order an epoch visits the training samples in: a permutation, or with `data.sampler: balanced` a
draw in which every class is equally frequent.

balanced, for N training samples of K classes present (a class without training samples is left out):
each class gets N // K slots, and N % K classes chosen at random get one more, so the epoch has N samples
and as many steps as without the sampler. The slots are shuffled, and each slot takes a sample of its
class drawn uniformly with replacement, so a small class's samples repeat within an epoch and a large
class's are only partly seen. All draws come from the run's generator, in a fixed order, so the trainer's
resume (which redraws an epoch's order from the generator state saved at its start) is exact.
"""

from __future__ import annotations

import numpy as np


def balanced_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(N,) int64 indices into labels (N,) int64: one epoch's balanced draw (see the module docstring)."""
    n = len(labels)
    by_class = np.argsort(labels, kind="stable")                   # sample indices grouped by class
    counts = np.bincount(labels)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    present = np.flatnonzero(counts)
    k = len(present)
    extra = rng.choice(k, size=n % k, replace=False)
    slots = np.concatenate((np.repeat(present, n // k), present[extra]))
    slots = slots[rng.permutation(n)]
    picks = rng.integers(0, counts[slots])                         # one draw per slot, within its class
    return by_class[starts[slots] + picks]


def epoch_order(labels: np.ndarray, sampler: str | None, rng: np.random.Generator) -> np.ndarray:
    """One epoch's order: rng.permutation(N) (sampler None), or balanced_order."""
    if sampler == "balanced":
        return balanced_order(labels, rng)
    return rng.permutation(len(labels))

"""Mini-batches over arrays: shuffled once per call with the run's generator, or in order as views."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def take_rows(a: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """a[rows] (a new array) for a: (N, ...); gathers through a 2-D view when a is C-contiguous, which
    NumPy does several times faster than fancy indexing on 3-D and 4-D arrays."""
    if a.ndim > 2 and a.flags.c_contiguous:
        return a.reshape(a.shape[0], -1)[rows].reshape(len(rows), *a.shape[1:])
    return a[rows]


def iterate_batches(x: np.ndarray, y: np.ndarray, batch_size: int, rng: np.random.Generator | None = None,
                    drop_last: bool = False) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (xb, yb) batches of up to `batch_size` samples along axis 0 of x (N, ...) and y (N, ...).

    With `rng`, one `rng.permutation(N)` per call (= per epoch) orders the samples and each batch is
    gathered with `take_rows` (a copy); without it, batches are contiguous slices (views, no copy).
    With `drop_last`, a final batch smaller than `batch_size` is skipped.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"x has {n} samples but y has {y.shape[0]}")
    end = n - n % batch_size if drop_last else n
    if rng is None:
        for start in range(0, end, batch_size):
            yield x[start:start + batch_size], y[start:start + batch_size]
        return
    order = rng.permutation(n)
    for start in range(0, end, batch_size):
        batch = order[start:start + batch_size]
        yield take_rows(x, batch), take_rows(y, batch)

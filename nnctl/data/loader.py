"""Mini-batches over arrays: shuffled once per call with the run's generator, or in order as views."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


def take_rows(a: np.ndarray, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """a[rows] for a: (N, ...), written into `out` (shape (len(rows), ...), C-contiguous, a's dtype) when
    given, else a new array. Gathers through 2-D views when a is C-contiguous, which NumPy does several
    times faster than fancy indexing on 3-D and 4-D arrays. `rows` must be valid indices into a."""
    flat = a.reshape(a.shape[0], -1) if a.ndim > 2 and a.flags.c_contiguous else None
    if out is None:
        return a[rows] if flat is None else flat[rows].reshape(len(rows), *a.shape[1:])
    if flat is None:
        return np.take(a, rows, axis=0, out=out, mode="clip")      # "clip": no bounds check, no buffering
    np.take(flat, rows, axis=0, out=out.reshape(len(rows), -1), mode="clip")
    return out


class RowGatherer:
    """take_rows into work arrays reused from call to call: one per name, reallocated only when the
    shape or dtype changes. A result is valid until the next call with the same name."""

    def __init__(self):
        self.buffers: dict[str, np.ndarray] = {}

    def __call__(self, name: str, a: np.ndarray, rows: np.ndarray) -> np.ndarray:
        shape = (len(rows),) + a.shape[1:]
        out = self.buffers.get(name)
        if out is None or out.shape != shape or out.dtype != a.dtype:
            out = self.buffers[name] = np.empty(shape, a.dtype)
        return take_rows(a, rows, out)


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

"""Per-channel work on (N, C, P) arrays (P = H*W or any flattened trailing axes), split over threads by sample.

Batch norm on images reduces over the batch and both spatial axes at once. NumPy's `x.mean(axis=(0, 2, 3))`
walks that strided layout on one core; here each sample's (C, P) block is summed along its contiguous
rows (one SIMD pairwise sum, or one sum-of-products with `einsum` that never forms the product array),
giving (N, C) row totals, and only those are added over the batch. Every row is summed the same way
whatever the split, and the final sum over N runs on the calling thread, so the results do not depend
on the number of threads.
"""

from __future__ import annotations

import numpy as np

from nnctl.workers import over_batch


def channel_sums(x: np.ndarray) -> np.ndarray:
    """(C,): the sum of x (N, C, P) over N and P."""
    n, c, _ = x.shape
    rows = np.empty((n, c), x.dtype)
    over_batch(lambda s: np.sum(x[s], axis=2, out=rows[s]), n, x.size)
    return rows.sum(axis=0)


def channel_dots(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(C,): the sum of a * b (both (N, C, P)) over N and P, without forming a * b."""
    n, c, p = a.shape
    rows = np.empty((n, c), a.dtype)

    def chunk(s: slice) -> None:
        left, right = a[s].reshape(-1, p), b[s].reshape(-1, p)
        np.einsum("ij,ij->i", left, right, out=rows[s].reshape(-1))

    over_batch(chunk, n, 2 * a.size)
    return rows.sum(axis=0)


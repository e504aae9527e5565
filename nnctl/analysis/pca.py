"""Principal component analysis with NumPy's SVD, fitted on one set of rows and applied to any other.

With X the (N, D) rows and m their mean, the principal axes are the right singular vectors of the centred
X - m. They are computed here as the singular vectors of the scatter matrix S = (X - m)^T (X - m), a
symmetric (D, D) matrix whose SVD is U diag(s^2) U^T with the same axes U, accumulated in float64 over
chunks of rows: memory is O(D^2 + chunk * D) instead of a centred copy of X and an (N, D) factor.
Each axis's sign is fixed so that its largest entry (in absolute value) is positive, so the same data
always give the same picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CHUNK_ROWS = 4096


@dataclass
class PCA:
    """mean: (D,); axes: (k, D) orthonormal rows, by decreasing variance; variance: (k,) along each axis."""

    mean: np.ndarray
    axes: np.ndarray
    variance: np.ndarray

    def project(self, x: np.ndarray) -> np.ndarray:
        """(N, D) rows (any shape (N, ...) is flattened) -> (N, k) coordinates along the axes, float64."""
        flat = x.reshape(len(x), -1)
        out = np.empty((len(flat), len(self.axes)))
        for start in range(0, len(flat), CHUNK_ROWS):
            chunk = flat[start:start + CHUNK_ROWS].astype(np.float64) - self.mean
            out[start:start + CHUNK_ROWS] = chunk @ self.axes.T
        return out


def fit_pca(x: np.ndarray, components: int = 2) -> PCA:
    """The first `components` principal axes of the rows of x: (N, ...) (flattened to (N, D))."""
    flat = x.reshape(len(x), -1)
    n, d = flat.shape
    if n < 2:
        raise ValueError(f"PCA needs at least 2 rows, got {n}")
    if not 1 <= components <= d:
        raise ValueError(f"PCA of {d}-dimensional rows cannot have {components} components")
    mean = flat.mean(axis=0, dtype=np.float64)
    scatter = np.zeros((d, d))
    for start in range(0, n, CHUNK_ROWS):
        chunk = flat[start:start + CHUNK_ROWS].astype(np.float64) - mean
        scatter += chunk.T @ chunk
    u, s, _ = np.linalg.svd(scatter, hermitian=True)
    axes = u[:, :components].T.copy()
    signs = np.sign(axes[np.arange(components), np.abs(axes).argmax(axis=1)])
    axes *= np.where(signs == 0, 1.0, signs)[:, None]
    return PCA(mean, axes, s[:components] / n)

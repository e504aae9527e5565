"""k-nearest-neighbour classification accuracy: how well points of a low-dimensional code separate the
classes, the number printed above each panel of `nnctl plot RUN --codes`.

Euclidean distances, computed as |a|^2 + |b|^2 - 2 a.b with one matrix product per chunk of test points
(chunks sized so that a chunk's distance matrix stays under CHUNK_BYTES, whatever the data size). Each
test point takes the majority class of its k nearest training points; a tie goes to the tied class whose
member is nearest.
"""

from __future__ import annotations

import numpy as np

CHUNK_BYTES = 64 << 20


def knn_predict(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, k: int = 5) -> np.ndarray:
    """Predicted labels (M,) for test points (M, D) from train points (N, D) with integer labels (N,)."""
    if not 1 <= k <= len(train):
        raise ValueError(f"k = {k} nearest neighbours need at least {k} training points, got {len(train)}")
    train = train.astype(np.float64).reshape(len(train), -1)
    test = test.astype(np.float64).reshape(len(test), -1)
    labels = np.asarray(train_labels, dtype=np.int64)
    classes = int(labels.max()) + 1
    train_sq = np.einsum("ij,ij->i", train, train)
    rows = max(1, CHUNK_BYTES // (8 * len(train)))
    out = np.empty(len(test), dtype=np.int64)
    for start in range(0, len(test), rows):
        chunk = test[start:start + rows]
        distances = train_sq[None, :] - 2 * (chunk @ train.T)          # + |chunk|^2: the same for a row
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k] if k < len(train) else \
            np.broadcast_to(np.arange(len(train)), (len(chunk), len(train)))
        order = np.take_along_axis(distances, nearest, axis=1).argsort(axis=1, kind="stable")
        nearest = np.take_along_axis(nearest, order, axis=1)
        out[start:start + rows] = vote(labels[nearest], classes)
    return out


def vote(neighbour_labels: np.ndarray, classes: int) -> np.ndarray:
    """The winning class of each row of neighbour labels (M, k), nearest first: the most votes, and among
    classes with as many votes the one whose first member comes earliest. Scored exactly in integers as
    votes * (k + 1) + (k - first rank): one more vote always outweighs any difference of first ranks."""
    m, k = neighbour_labels.shape
    rows = np.arange(m)
    votes = np.zeros((m, classes), dtype=np.int64)
    first = np.full((m, classes), k, dtype=np.int64)
    for rank in reversed(range(k)):
        votes[rows, neighbour_labels[:, rank]] += 1
        first[rows, neighbour_labels[:, rank]] = rank
    return (votes * (k + 1) + (k - first)).argmax(axis=1)


def knn_accuracy(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, test_labels: np.ndarray,
                 k: int = 5) -> float:
    """Share of test points whose k-NN prediction (fitted on the train points) is their label."""
    predicted = knn_predict(train, train_labels, test, k)
    return float(np.mean(predicted == np.asarray(test_labels, dtype=np.int64)))

"""PCA (against NumPy's SVD of the centred rows) and k-nearest-neighbour prediction (against a brute-force
vote), including chunking and the tie rule."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.analysis import knn, pca
from nnctl.analysis.knn import knn_accuracy, knn_predict
from nnctl.analysis.pca import fit_pca


def test_pca_axes_are_the_right_singular_vectors_of_the_centred_rows(monkeypatch):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6)) + 3).astype(np.float32)
    monkeypatch.setattr(pca, "CHUNK_ROWS", 64)                       # several chunks
    fitted = fit_pca(x, 3)
    centred = x.astype(np.float64) - x.mean(axis=0, dtype=np.float64)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    for axis, expected in zip(fitted.axes, vt[:3]):
        assert abs(abs(axis @ expected) - 1) < 1e-9                  # same direction, either sign
        assert axis[np.abs(axis).argmax()] > 0                       # the sign rule
    np.testing.assert_allclose(fitted.variance, s[:3] ** 2 / 500, rtol=1e-9)
    projected = fitted.project(x)
    np.testing.assert_allclose(projected, centred @ fitted.axes.T, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(projected.var(axis=0), fitted.variance, rtol=1e-6)


def test_pca_flattens_images_and_refuses_what_it_cannot_do():
    images = np.random.default_rng(1).random((20, 1, 3, 3))
    assert fit_pca(images, 2).axes.shape == (2, 9)
    with pytest.raises(ValueError, match="PCA needs at least 2 rows, got 1"):
        fit_pca(images[:1], 2)
    with pytest.raises(ValueError, match="PCA of 9-dimensional rows cannot have 10 components"):
        fit_pca(images, 10)


def brute_force(train, labels, test, k):
    distances = ((test[:, None, :] - train[None, :, :]) ** 2).sum(axis=2)
    out = []
    for row in distances:
        nearest = np.argsort(row, kind="stable")[:k]
        votes = {}
        for rank, i in enumerate(nearest):
            votes.setdefault(int(labels[i]), []).append(rank)
        best = max(len(ranks) for ranks in votes.values())
        tied = [c for c, ranks in votes.items() if len(ranks) == best]
        out.append(min(tied, key=lambda c: min(votes[c])))           # the tied class with the nearest member
    return np.array(out)


@pytest.mark.parametrize("k", [1, 4, 5])
def test_knn_matches_a_brute_force_vote(k, monkeypatch):
    rng = np.random.default_rng(k)
    train, test = rng.standard_normal((200, 2)), rng.standard_normal((90, 2))
    labels = rng.integers(0, 4, size=200)
    monkeypatch.setattr(knn, "CHUNK_BYTES", 8 * 200 * 7)             # 7 test rows per chunk
    np.testing.assert_array_equal(knn_predict(train, labels, test, k), brute_force(train, labels, test, k))


def test_knn_ties_go_to_the_class_with_the_nearest_member():
    train = np.array([[1.0, 0], [2, 0], [3, 0], [4, 0]])
    labels = np.array([1, 0, 0, 1])
    assert knn_predict(train, labels, np.array([[0.0, 0]]), k=4).tolist() == [1]
    assert knn_predict(train, labels, np.array([[5.0, 0]]), k=4).tolist() == [1]
    assert knn_predict(train, labels, np.array([[2.4, 0]]), k=2).tolist() == [0]
    assert knn_accuracy(train, labels, np.array([[0.0, 0], [2.4, 0]]), np.array([1, 1]), k=2) == 0.5


def test_knn_needs_k_training_points():
    with pytest.raises(ValueError, match="k = 5 nearest neighbours need at least 5 training points, got 3"):
        knn_predict(np.zeros((3, 2)), np.zeros(3, dtype=int), np.zeros((1, 2)))

import numpy as np
import pytest

from nnctl.data import iterate_batches
from nnctl.data.loader import RowGatherer, take_rows

X = np.arange(40, dtype=np.float32).reshape(10, 4)
Y = np.arange(10)


def test_in_order_batches_are_views():
    batches = list(iterate_batches(X, Y, 4))
    assert [len(yb) for _, yb in batches] == [4, 4, 2]
    for start, (xb, yb) in zip((0, 4, 8), batches):
        assert np.shares_memory(xb, X) and np.shares_memory(yb, Y)
        np.testing.assert_array_equal(yb, Y[start:start + 4])


def test_drop_last():
    assert [len(yb) for _, yb in iterate_batches(X, Y, 4, drop_last=True)] == [4, 4]
    assert list(iterate_batches(X, Y, 11, drop_last=True)) == []
    assert [len(yb) for _, yb in iterate_batches(X, Y, 5, drop_last=True)] == [5, 5]


def test_shuffled_batches_follow_one_permutation_per_call():
    rng = np.random.default_rng(3)
    first = list(iterate_batches(X, Y, 3, rng))
    second = list(iterate_batches(X, Y, 3, rng))
    expected = np.random.default_rng(3)
    order_1, order_2 = expected.permutation(10), expected.permutation(10)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in first]), order_1)
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in second]), order_2)
    assert not np.array_equal(order_1, order_2)
    for xb, yb in first:
        np.testing.assert_array_equal(xb, X[yb])


def test_shuffled_drop_last_skips_the_tail_of_the_permutation():
    batches = list(iterate_batches(X, Y, 4, np.random.default_rng(0), drop_last=True))
    expected = np.random.default_rng(0).permutation(10)[:8]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), expected)


def test_image_batches_and_non_contiguous_input():
    images = np.arange(5 * 2 * 3 * 3, dtype=np.float32).reshape(5, 2, 3, 3)
    rows = np.array([4, 0, 2])
    np.testing.assert_array_equal(take_rows(images, rows), images[rows])
    strided = images[:, :, ::2, :]
    np.testing.assert_array_equal(take_rows(strided, rows), strided[rows])
    for xb, yb in iterate_batches(images, np.arange(5), 2, np.random.default_rng(1)):
        assert xb.shape[1:] == (2, 3, 3) and xb.flags.c_contiguous
        np.testing.assert_array_equal(xb, images[yb])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        next(iterate_batches(X, Y, bad))


def test_mismatched_lengths():
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        next(iterate_batches(X, Y[:9], 2))


def test_gathering_into_reused_work_arrays():
    images = np.arange(5 * 2 * 3 * 3, dtype=np.float32).reshape(5, 2, 3, 3)
    labels = np.arange(5) * 10
    gather = RowGatherer()
    first = gather("x", images, np.array([4, 0, 2]))
    np.testing.assert_array_equal(first, images[[4, 0, 2]])
    again = gather("x", images, np.array([1, 3, 3]))
    assert again is first                                       # the same work array, rewritten
    np.testing.assert_array_equal(again, images[[1, 3, 3]])
    np.testing.assert_array_equal(gather("y", labels, np.array([2, 1])), [20, 10])
    tail = gather("x", images, np.array([0]))                   # a shorter batch gets its own array
    assert tail.shape == (1, 2, 3, 3) and tail is not first
    np.testing.assert_array_equal(tail, images[:1])
    strided = images[:, :, ::2, :]
    out = np.empty((2, 2, 2, 3), np.float32)
    assert take_rows(strided, np.array([3, 1]), out) is out
    np.testing.assert_array_equal(out, strided[[3, 1]])

import numpy as np
import pytest

from nnctl.data import load_splits, validate_data_config
from nnctl.errors import ConfigError, InputError

SEED = np.random.SeedSequence(0)
WHOLE = {"val_size": 0, "normalize": "none"}


def load(tmp_path, raw):
    return load_splits(validate_data_config(raw), SEED, tmp_path, progress=False)


def error(tmp_path, raw, kind=InputError):
    with pytest.raises(kind) as info:
        load(tmp_path, raw)
    return str(info.value)


# ------------------------------------------------------------------------------ npz

def test_npz_with_its_own_test_split_and_class_names(tmp_path):
    (tmp_path / "sub").mkdir()
    np.savez(tmp_path / "sub" / "d.npz", x=np.arange(6, dtype=np.uint8).reshape(3, 2), y=np.array([1, 0, 1]),
             x_test=np.array([[9, 9]], dtype=np.int32), y_test=np.array([2]), class_names=np.array(["a", "b", "c"]))
    splits = load(tmp_path, {"dataset": "npz", "path": "sub/d.npz", **WHOLE})
    np.testing.assert_array_equal(splits.train[0], [[0, 1], [2, 3], [4, 5]])
    assert splits.train[0].dtype == np.float32 and splits.train[1].dtype == np.int64
    np.testing.assert_array_equal(splits.test[0], [[9, 9]])
    assert splits.num_classes == 3 and splits.class_names == ["a", "b", "c"]


def test_npz_three_dimensional_x_gains_a_channel_axis(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((5, 3, 4), dtype=np.uint8), y=np.arange(5))
    splits = load(tmp_path, {"dataset": "npz", "path": "d.npz", "flatten": False, "test_size": 0, **WHOLE})
    assert splits.input_shape == (1, 3, 4) and splits.num_classes == 5


def test_npz_test_size_conflicts_with_own_test_split(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.arange(4), x_test=np.zeros((1, 2)), y_test=np.array([0]))
    message = error(tmp_path, {"dataset": "npz", "path": "d.npz", "test_size": 0.5}, ConfigError)
    assert message == "data.test_size: d.npz has its own test split (x_test, y_test); remove this key"


def test_npz_unknown_array_name(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.arange(4), X_test=np.zeros((1, 2)))
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz"}) == (
        f"{tmp_path / 'd.npz'}: unexpected array 'X_test' (expected x, y, x_test, y_test, class_names)")


def test_npz_missing_y(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)))
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz"}) == f"{tmp_path / 'd.npz'}: missing array 'y' (found: x)"


def test_npz_object_arrays_are_refused(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 2)), y=np.array([{"a": 1}, None], dtype=object))
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz"}) == (
        f"{tmp_path / 'd.npz'}: entry 'y' holds Python objects (pickle), which nnctl never loads; "
        "nothing was loaded")


def test_npz_not_a_zip(tmp_path):
    (tmp_path / "d.npz").write_bytes(b"not a zip file")
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz"}) == (
        f"{tmp_path / 'd.npz'}: not an .npz archive (expected a file written by numpy.savez)")
    np.save(tmp_path / "single.npy", np.zeros(3))
    assert error(tmp_path, {"dataset": "npz", "path": "single.npy"}) == (
        f"{tmp_path / 'single.npy'}: not an .npz archive (expected a file written by numpy.savez)")


def test_npz_missing_file(tmp_path):
    assert error(tmp_path, {"dataset": "npz", "path": "nope.npz"}) == f"{tmp_path / 'nope.npz'}: file not found"


def test_npz_row_counts_must_match(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.arange(3))
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz"}) == (
        f"{tmp_path / 'd.npz'}: y has shape (3,), expected 4 rows like x")


def test_npz_forced_classification_needs_whole_numbers(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.array([0.0, 1.0, 2.0, 1.0]))
    splits = load(tmp_path, {"dataset": "npz", "path": "d.npz", "task": "classification", "test_size": 0, **WHOLE})
    assert splits.train[1].dtype == np.int64 and splits.num_classes == 3
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.array([0.0, 1.5, 2.0, 1.0]))
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz", "task": "classification"}) == (
        f"{tmp_path / 'd.npz'}: y: class labels must be whole numbers (set data.task: regression for values)")


def test_npz_negative_labels(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 2)), y=np.array([0, -1, 2, 1]))
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz"}) == (
        f"{tmp_path / 'd.npz'}: y: class labels must be >= 0, found -1")


# ------------------------------------------------------------------------------ csv

def csv_file(tmp_path, text):
    (tmp_path / "t.csv").write_text(text)
    return {"dataset": "csv", "path": "t.csv"}


def test_csv_with_header_and_word_labels(tmp_path):
    raw = csv_file(tmp_path, "width,height,kind\n1.5,2,cat\n\n3,4e1,dog\n 5 , 6 ,cat\n")
    splits = load(tmp_path, {**raw, "test_size": 0, **WHOLE})
    np.testing.assert_array_equal(splits.train[0], [[1.5, 2], [3, 40], [5, 6]])
    np.testing.assert_array_equal(splits.train[1], [0, 1, 0])
    assert splits.class_names == ["cat", "dog"] and splits.num_classes == 2


def test_csv_without_header_label_column_first(tmp_path):
    raw = csv_file(tmp_path, "2,0.5,0.25\n0,1,1\n1,2,2\n")
    splits = load(tmp_path, {**raw, "label_column": 0, "test_size": 0, **WHOLE})
    np.testing.assert_array_equal(splits.train[0], [[0.5, 0.25], [1, 1], [2, 2]])
    np.testing.assert_array_equal(splits.train[1], [2, 0, 1])
    assert splits.class_names == ["0", "1", "2"]


def test_csv_label_by_name_and_regression(tmp_path):
    raw = csv_file(tmp_path, "price;rooms;area\n100.5;3;70\n80;2;50\n")
    splits = load(tmp_path, {**raw, "label_column": "price", "delimiter": ";", "test_size": 0, **WHOLE})
    np.testing.assert_array_equal(splits.train[0], [[3, 70], [2, 50]])
    np.testing.assert_array_equal(splits.train[1], np.array([100.5, 80], dtype=np.float32))
    assert splits.num_classes is None


def test_csv_integer_labels_as_regression_values(tmp_path):
    raw = csv_file(tmp_path, "1,10\n2,20\n")
    splits = load(tmp_path, {**raw, "task": "regression", "test_size": 0, **WHOLE})
    assert splits.train[1].dtype == np.float32 and splits.train[1].tolist() == [10.0, 20.0]


def test_csv_bad_cell_names_line_and_column(tmp_path):
    raw = csv_file(tmp_path, "a,label,c,d\n1,0,3,4\n5,1,x,8\n")  # x is the 2nd feature, 3rd column
    assert error(tmp_path, {**raw, "label_column": 1}) == (
        f"{tmp_path / 't.csv'}, line 3, column 3: expected a number, got 'x'")


def test_csv_ragged_row(tmp_path):
    raw = csv_file(tmp_path, "1,2,0\n3,1\n")
    assert error(tmp_path, raw) == f"{tmp_path / 't.csv'}, line 2: expected 3 fields like the first row, found 2"


def test_csv_regression_with_words(tmp_path):
    raw = csv_file(tmp_path, "1,2\n3,four\n")
    assert error(tmp_path, {**raw, "task": "regression"}) == (
        f"{tmp_path / 't.csv'}, line 2: expected a number in the label column, got 'four'")


def test_csv_unknown_label_name(tmp_path):
    raw = csv_file(tmp_path, "a,b\n1,2\n")
    assert error(tmp_path, {**raw, "label_column": "c"}, ConfigError) == (
        "data.label_column: no column named 'c' in t.csv (the first row is a, b)")


def test_csv_label_index_out_of_range(tmp_path):
    raw = csv_file(tmp_path, "1,2\n")
    assert error(tmp_path, {**raw, "label_column": 2}, ConfigError) == (
        "data.label_column: expected a column index from -2 to 1 for t.csv (2 columns), got 2")


def test_csv_header_only(tmp_path):
    raw = csv_file(tmp_path, "a,b\n")
    assert error(tmp_path, raw) == f"{tmp_path / 't.csv'}: no data rows"


def test_csv_tab_separated_and_delimiter_check(tmp_path):
    raw = csv_file(tmp_path, "1\t2\t0\n3\t4\t1\n")
    splits = load(tmp_path, {**raw, "delimiter": "\t", "test_size": 0, **WHOLE})
    np.testing.assert_array_equal(splits.train[0], [[1, 2], [3, 4]])
    with pytest.raises(ConfigError) as info:
        validate_data_config({**raw, "delimiter": ";;"})
    assert str(info.value) == "data.delimiter: expected a single character, got ';;'"


def test_csv_non_finite_values(tmp_path):
    raw = csv_file(tmp_path, "1,2,0\n3,nan,1\n")
    assert error(tmp_path, raw) == f"{tmp_path / 't.csv'}, line 2: expected finite numbers, found nan or inf"
    raw = csv_file(tmp_path, "1,2,0.5\n3,4,inf\n")
    assert error(tmp_path, raw) == f"{tmp_path / 't.csv'}, line 2: expected a finite label, got 'inf'"


def test_npz_non_finite_values(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.array([[0, np.nan], [np.inf, 1]]), y=np.arange(2))
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz"}) == f"{tmp_path / 'd.npz'}: x holds 2 nan or inf values"
    np.savez(tmp_path / "d.npz", x=np.zeros((2, 2)), y=np.array([0.5, np.nan]))
    assert error(tmp_path, {"dataset": "npz", "path": "d.npz"}) == (
        f"{tmp_path / 'd.npz'}: y: regression targets must be finite, found nan or inf")

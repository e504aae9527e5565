"""Your own data: a NumPy .npz file or a CSV table.

npz: arrays `x` (N, ...) and `y` (N,) or (N, K); optionally `x_test` and `y_test` (the test split) and
     `class_names` (a 1-D string array). Any other array name is refused, so a typo is caught.
     x of shape (N, F) is flat data (statistics per feature); (N, H, W) or (N, C, H, W) are images
     (statistics per channel; (N, H, W) gains a channel axis). Values are used as stored (no /255).
csv: one sample per row; the label column (`label_column`: index, negative counts from the end, or a
     header name; default the last) and every other column a number. `header: auto` treats the first
     row as column names when one of its feature cells is not a number.

Targets (`task`): `auto` reads integer labels as classes (npz: an integer dtype; csv: every label
written as an integer) and other numbers as regression values; CSV labels that are not numbers are
class names, numbered in sorted order. `classification` and `regression` force the reading.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.options.spec import Choice, IntOrFraction, Mismatch, Optional, Option, Str
from nnctl.data.base import Dataset, Source
from nnctl.errors import ConfigError, InputError
from nnctl.limits import MAX_CLASSES, exceeds_budget, show_bytes
from nnctl.npzfile import inspect_npz, read_entries

TASKS = ("auto", "classification", "regression")
CSV_EXPANSION = 64          # bytes of Python objects per byte of CSV text, at most (short cells cost most)
NPZ_ARRAYS = ("x", "y", "x_test", "y_test", "class_names")


def resolve(base_dir: Path, name: str) -> Path:
    """`name` relative to the config file's folder (absolute and ~ paths are kept)."""
    return Path(base_dir) / Path(name).expanduser()


def check_csv_size(path: Path) -> None:
    """InputError unless the CSV file at `path`, as Python objects (CSV_EXPANSION times its bytes), fits
    in the memory available; checked before reading it (OSError when it cannot be looked at)."""
    size = path.stat().st_size
    budget = exceeds_budget(CSV_EXPANSION * size)
    if budget is not None:
        raise InputError(f"{path}: a CSV file of {show_bytes(size)} needs about {show_bytes(CSV_EXPANSION * size)} "
                         f"of memory to read, more than the {show_bytes(budget)} available; save the data with "
                         f"numpy.savez instead")


def labels_summary(y: np.ndarray, names: list[str] | None, where: str) -> tuple[int, list[str]]:
    """(num_classes, class_names) for int64 labels y, checked against given names; at most MAX_CLASSES
    classes (checked before any list of names is made)."""
    if y.size and int(y.min()) < 0:
        raise InputError(f"{where}: class labels must be >= 0, found {int(y.min())}")
    highest = int(y.max()) if y.size else -1
    if highest >= MAX_CLASSES or (names is not None and len(names) > MAX_CLASSES):
        found = f"label {highest}" if highest >= MAX_CLASSES else f"{len(names)} class names"
        raise InputError(f"{where}: {found}, more than the limit of {MAX_CLASSES} classes (labels 0 to "
                         f"{MAX_CLASSES - 1})")
    if names is not None:
        if highest >= len(names):
            raise InputError(f"{where}: label {highest} has no entry in class_names ({len(names)} names)")
        return len(names), names
    return highest + 1, [str(k) for k in range(highest + 1)]


# ---------------------------------------------------------------------------------------------- npz

def array_targets(y: np.ndarray, task: str, where: str) -> np.ndarray:
    """y as int64 class labels (N,) or float32 regression targets, by `task` and dtype."""
    if y.dtype.kind not in "biuf":
        raise InputError(f"{where}: expected numbers, found dtype {y.dtype}")
    if task == "regression" or (task == "auto" and y.dtype.kind == "f"):
        values = y.astype(np.float32)
        if not np.isfinite(values).all():
            raise InputError(f"{where}: regression targets must be finite, found nan or inf")
        return values
    if y.ndim != 1:
        raise InputError(f"{where}: class labels must have shape (N,), found {y.shape}")
    if y.dtype.kind == "f" and not np.array_equal(y, np.round(y)):
        raise InputError(f"{where}: class labels must be whole numbers (set data.task: regression for values)")
    return y.astype(np.int64)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """All arrays of an .npz file, in bounded memory (nnctl.npzfile: sizes checked before reading),
    refusing pickled objects and unknown array names."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if not zipfile.is_zipfile(path):
        raise InputError(f"{path}: not an .npz archive (expected a file written by numpy.savez)")
    entries = inspect_npz(path, kinds="biufU")
    for name in entries:
        if name not in NPZ_ARRAYS:
            shown = name if len(name) <= 80 else name[:80] + "..."
            raise InputError(f"{path}: unexpected array {shown!r} (expected {', '.join(NPZ_ARRAYS)})")
    return read_entries(path, list(entries.values()))


class Npz(Dataset):
    """Arrays saved with numpy.savez: x, y and optionally x_test, y_test, class_names."""

    options = {
        "path": Option(Str(), doc="the .npz file (relative to the config file's folder)"),
        "task": Option(Choice(*TASKS), "auto", "how y is read: class labels or regression values"),
        "test_size": Option(Optional(IntOrFraction()), None,
                            "null: the file's x_test/y_test when present, else 0.2 of the samples"),
    }

    def sample_shape(self, base_dir: Path) -> tuple[tuple[int, ...], bool] | None:
        """From the header of x.npy inside the archive (nnctl.npzfile: declarations only, no array data)."""
        try:
            entry = inspect_npz(resolve(base_dir, self.config["path"]), kinds="biufU").get("x")
        except InputError:
            return None                                                    # loading says what is wrong
        if entry is None:
            return None
        shape = entry.shape
        if len(shape) == 3:
            return (1, *shape[1:]), True
        return tuple(shape[1:]), len(shape) == 4

    def load(self, rng: np.random.Generator, base_dir: Path, progress: bool) -> Source:
        path = resolve(base_dir, self.config["path"])
        arrays = read_npz(path)
        for name in ("x", "y"):
            if name not in arrays:
                raise InputError(f"{path}: missing array {name!r} (found: {', '.join(arrays) or 'none'})")
        if ("x_test" in arrays) != ("y_test" in arrays):
            raise InputError(f"{path}: x_test and y_test must come together")
        has_test = "x_test" in arrays
        if has_test and self.config["test_size"] is not None:
            raise ConfigError("data.test_size", f"{path.name} has its own test split (x_test, y_test); remove this key")
        x, y = self.checked_pair(arrays, "x", "y", path)
        test = self.checked_pair(arrays, "x_test", "y_test", path) if has_test else None
        if test is not None and test[0].shape[1:] != x.shape[1:]:
            raise InputError(f"{path}: x_test samples have shape {test[0].shape[1:]}, x samples {x.shape[1:]}")
        source = Source(x, y, test=test, images=x.ndim == 4)
        if y.dtype == np.int64:
            names = self.class_names(arrays, path)
            all_labels = y if test is None else np.concatenate([y, test[1]])
            source.num_classes, source.class_names = labels_summary(all_labels, names, f"{path}: y")
        return source

    def checked_pair(self, arrays: dict, x_name: str, y_name: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
        """(x, y) with x as (N, F) or (N, C, H, W) and y converted by the task."""
        x, y = arrays[x_name], arrays[y_name]
        if x.dtype.kind not in "biuf" or x.ndim not in (2, 3, 4):
            raise InputError(f"{path}: {x_name} must be numbers of shape (N, F), (N, H, W) or (N, C, H, W), "
                             f"found {x.dtype} of shape {x.shape}")
        if y.ndim == 0 or y.shape[0] != x.shape[0]:
            raise InputError(f"{path}: {y_name} has shape {y.shape}, expected {x.shape[0]} rows like {x_name}")
        if 0 in x.shape[1:] or 0 in y.shape[1:]:
            empty = x_name if 0 in x.shape[1:] else y_name
            raise InputError(f"{path}: {empty} has shape {arrays[empty].shape}: its samples hold no values")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise InputError(f"{path}: {x_name} holds {int((~np.isfinite(x)).sum())} nan or inf values")
        if x.ndim == 3:
            x = x.reshape(x.shape[0], 1, *x.shape[1:])
        return x, array_targets(y, self.config["task"], f"{path}: {y_name}")

    @staticmethod
    def class_names(arrays: dict, path: Path) -> list[str] | None:
        names = arrays.get("class_names")
        if names is None:
            return None
        if names.ndim != 1 or names.dtype.kind != "U":
            raise InputError(f"{path}: class_names must be a 1-D array of strings, found {names.dtype} {names.shape}")
        return [str(name) for name in names]


# ---------------------------------------------------------------------------------------------- csv

def LabelColumn() -> Any:
    """A column index (negative counts from the end) or a header name."""

    def check(value: Any) -> int | str:
        if isinstance(value, bool) or not isinstance(value, (int, str)) or value == "":
            raise Mismatch("a column index (integer) or a column name")
        return value

    return check


def HeaderMode() -> Any:
    def check(value: Any) -> bool | str:
        if value not in (True, False, "auto"):
            raise Mismatch("true, false or auto")
        return value

    return check


def OneCharacter() -> Any:
    def check(value: Any) -> str:
        if not isinstance(value, str) or len(value) != 1:
            raise Mismatch("a single character")
        return value

    return check


def is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def text_targets(labels: list[str], lines: list[int], task: str, where: str) -> tuple[np.ndarray, list[str] | None]:
    """Label cells as int64 classes or float32 values; the class names when they are words."""
    if task != "regression":
        try:
            return np.array([int(v) for v in labels], dtype=np.int64), None
        except ValueError:
            pass
    if task != "classification":
        try:
            values = np.array([float(v) for v in labels], dtype=np.float32)
        except ValueError:
            if task == "regression":
                bad = next(i for i, v in enumerate(labels) if not is_number(v))
                raise InputError(f"{where}, line {lines[bad]}: expected a number in the label column, "
                                 f"got {labels[bad]!r}") from None
        else:
            if not np.isfinite(values).all():
                bad = int(np.flatnonzero(~np.isfinite(values))[0])
                raise InputError(f"{where}, line {lines[bad]}: expected a finite label, got {labels[bad]!r}")
            return values, None
    names = sorted(set(labels))
    return np.searchsorted(np.array(names), np.array(labels)).astype(np.int64), names


class Csv(Dataset):
    """A table with one sample per row: numeric feature columns and one label column."""

    options = {
        "path": Option(Str(), doc="the .csv file (relative to the config file's folder)"),
        "label_column": Option(LabelColumn(), -1, "index or header name of the label column (default: last)"),
        "header": Option(HeaderMode(), "auto", "whether the first row names the columns"),
        "delimiter": Option(OneCharacter(), ",", "the field separator (\"\\t\" for tabs)"),
        "task": Option(Choice(*TASKS), "auto", "how labels are read: classes or regression values"),
        "test_size": Option(IntOrFraction(), 0.2, "test samples taken first (count or fraction)"),
    }

    def load(self, rng: np.random.Generator, base_dir: Path, progress: bool) -> Source:
        path = resolve(base_dir, self.config["path"])
        rows, lines = self.read_rows(path)
        width = len(rows[0])
        column, header = self.label_column(rows[0], path)
        if header:
            rows, lines = rows[1:], lines[1:]
        if not rows:
            raise InputError(f"{path}: no data rows")
        for cells, line in zip(rows, lines):
            if len(cells) != width:
                raise InputError(f"{path}, line {line}: expected {width} fields like the first row, found {len(cells)}")
        labels = [cells[column] for cells in rows]
        features = [cells[:column] + cells[column + 1:] for cells in rows]
        try:
            x = np.array(features, dtype=np.float64).astype(np.float32)
        except ValueError:
            row, col = next((r, c) for r, cells in enumerate(features) for c, v in enumerate(cells) if not is_number(v))
            raise InputError(f"{path}, line {lines[row]}, column {col + (col >= column) + 1}: expected a number, "
                             f"got {features[row][col]!r}") from None
        if not np.isfinite(x).all():
            row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
            raise InputError(f"{path}, line {lines[row]}: expected finite numbers, found nan or inf")
        y, names = text_targets(labels, lines, self.config["task"], str(path))
        source = Source(x, y)
        if y.dtype == np.int64:
            source.num_classes, source.class_names = labels_summary(y, names, f"{path}: labels")
        return source

    def read_rows(self, path: Path) -> tuple[list[list[str]], list[int]]:
        """Non-empty rows with surrounding spaces stripped, and their line numbers. The file's size is checked
        first: its cells as Python strings take up to CSV_EXPANSION times the bytes of the text."""
        rows, lines = [], []
        try:
            check_csv_size(path)
            with open(path, newline="", encoding="utf-8-sig") as handle:
                reader = csv.reader(handle, delimiter=self.config["delimiter"])
                for cells in reader:
                    cells = [cell.strip() for cell in cells]
                    if any(cells):
                        rows.append(cells)
                        lines.append(reader.line_num)
        except FileNotFoundError:
            raise InputError(f"{path}: file not found") from None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"{path}: cannot read as CSV ({exc})") from None
        if not rows:
            raise InputError(f"{path}: the file is empty")
        if len(rows[0]) < 2:
            raise InputError(f"{path}: expected at least 2 columns (features and a label), found {len(rows[0])}")
        return rows, lines

    def label_column(self, first: list[str], path: Path) -> tuple[int, bool]:
        """(index of the label column, whether the first row is a header)."""
        wanted, mode, width = self.config["label_column"], self.config["header"], len(first)
        if isinstance(wanted, str):
            if mode is False or wanted not in first:
                found = "data.header is false" if mode is False else f"the first row is {', '.join(first)}"
                raise ConfigError("data.label_column", f"no column named {wanted!r} in {path.name} ({found})")
            return first.index(wanted), True
        if not -width <= wanted < width:
            raise ConfigError("data.label_column", f"expected a column index from {-width} to {width - 1} "
                                                   f"for {path.name} ({width} columns), got {wanted}")
        column = wanted % width
        if mode == "auto":
            return column, any(not is_number(cell) for i, cell in enumerate(first) if i != column)
        return column, mode

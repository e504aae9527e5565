"""Your own data as a CSV table (`dataset: csv`): one sample per row; the label column (`label_column`:
index, negative counts from the end, or a header name; default the last) and every other column a number.
`header: auto` treats the first row as column names when one of its feature cells is not a number. How
labels become targets (`task`) is as for .npz files (nnctl.data.arrays); CSV labels that are not numbers
are class names, numbered in sorted order."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data.arrays import TASKS, labels_summary, resolve
from nnctl.data.base import Dataset, Source
from nnctl.errors import ConfigError, InputError
from nnctl.limits import exceeds_budget, show_bytes
from nnctl.options.spec import Choice, IntOrFraction, Mismatch, Option, Str

CSV_EXPANSION = 64          # bytes of Python objects per byte of CSV text, at most (short cells cost most)


def check_csv_size(path: Path) -> None:
    """InputError unless the CSV file at `path`, as Python objects (CSV_EXPANSION times its bytes), fits
    in the memory available; checked before reading it (OSError when it cannot be looked at)."""
    size = path.stat().st_size
    budget = exceeds_budget(CSV_EXPANSION * size)
    if budget is not None:
        raise InputError(f"{path}: a CSV file of {show_bytes(size)} needs about {show_bytes(CSV_EXPANSION * size)} "
                         f"of memory to read, more than the {show_bytes(budget)} available; save the data with "
                         f"numpy.savez instead")


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

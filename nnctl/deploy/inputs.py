"""INPUTS for `nnctl predict`: samples to run a saved network on, read in batches of raw values.

    file.npz        array `x`: (N, *sample shape); other arrays (y, ...) are ignored
    file.csv        one sample per row (.tsv and .txt too): the model's number of values, plus optionally
                    the label column of the training data (dropped); a first row with words is a header
    IDX file        images (N, H, W) or samples (N, F), raw or gzip-compressed (MNIST's t10k-images-idx3-ubyte)
    picture         a PNG or JPEG file, or a folder of them (sorted by name), or a folder of such folders
                    (an image folder's test/: ids are then CLASS/FILE): converted to the model's image shape
                    (grey or RGB, resized; see nnctl.data.images)
A sample's shape must be the model's input shape, its image shape (C, H, W), (H, W) for grey images, or
its values in one flat row. Sample ids are row numbers from 0, or the pictures' file names.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nnctl.data.csv_table import check_csv_size, is_number
from nnctl.data.idx import GZIP_MAGIC, read_idx
from nnctl.data.images import IMAGE_SUFFIXES, is_image_file, read_image
from nnctl.deploy.saved_model import SavedModel
from nnctl.errors import InputError
from nnctl.npzfile import inspect_npz, read_entries

CSV_SUFFIXES = (".csv", ".tsv", ".txt")


class Samples:
    """Samples from one INPUTS path: `ids` (one name per sample) and `read(start, stop)`, the raw values
    of samples start..stop-1 as an array (n, ...) holding prod(model.input_shape) values per sample."""

    def __init__(self, source: str, ids: Sequence[str]):
        self.source = source
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def read(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError


class ArraySamples(Samples):
    """Samples held in one array (npz, csv, IDX): numbered rows."""

    def __init__(self, source: str, array: np.ndarray):
        super().__init__(source, [str(i) for i in range(len(array))])
        self.array = array

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.array[start:stop]


class PictureSamples(Samples):
    """Picture files, decoded batch by batch (only one batch of pictures is in memory at a time)."""

    def __init__(self, source: str, paths: list[Path], ids: list[str], shape: tuple[int, int, int]):
        super().__init__(source, ids)
        self.paths, self.shape = paths, shape

    def read(self, start: int, stop: int) -> np.ndarray:
        return np.stack([read_image(path, self.shape) for path in self.paths[start:stop]])


def describe_input(model: SavedModel) -> str:
    """'(1, 28, 28) (or 784 values in a row)': what a sample must look like."""
    flat = math.prod(model.input_shape)
    shapes = [model.input_shape] + ([model.image_shape] if model.image_shape not in (None, model.input_shape) else [])
    return " or ".join(str(s) for s in shapes) + ("" if len(model.input_shape) == 1 else f" (or {flat} values in a row)")


def conform(array: np.ndarray, model: SavedModel, source: str) -> np.ndarray:
    """`array` (N, ...) checked: real numbers, finite, and samples of a shape this model takes."""
    if array.dtype.kind not in "biuf":
        raise InputError(f"{source}: expected numbers, found {array.dtype} values")
    if array.ndim < 2:
        raise InputError(f"{source}: expected samples (N, ...) with N first, found an array of shape {array.shape}")
    sample = tuple(array.shape[1:])
    accepted = {model.input_shape, (math.prod(model.input_shape),)}
    if model.image_shape is not None:
        accepted.add(model.image_shape)
        if model.image_shape[0] == 1:
            accepted.add(model.image_shape[1:])
    if sample not in accepted:
        raise InputError(f"{source}: samples of shape {sample} do not fit this model, which takes "
                         f"{describe_input(model)}")
    if array.dtype.kind == "f":
        rows = max(1, (1 << 20) // max(1, math.prod(sample)))
        for start in range(0, len(array), rows):
            if not np.isfinite(array[start:start + rows]).all():
                raise InputError(f"{source}: holds NaN or infinite values")
    return array


def read_npz_x(path: Path) -> np.ndarray:
    """Array `x` of an .npz file, read in bounded memory (nnctl.npzfile: every declared size checked against
    the file and the memory available before reading, no pickle)."""
    entries = inspect_npz(path)
    if "x" not in entries:
        raise InputError(f"{path}: no array 'x' in this .npz (found: {', '.join(entries) or 'none'})")
    return read_entries(path, [entries["x"]])["x"]


def read_csv_samples(path: Path, model: SavedModel) -> np.ndarray:
    """Rows of a CSV file as float32 (N, F), F = the model's input size. Rows of F + 1 fields lose the label
    column the model was trained with (its training data's label_column, else the last). The file's size is
    checked against the memory available before it is read."""
    width = math.prod(model.input_shape)
    options = model.csv_options
    rows, label = [], None
    try:
        check_csv_size(path)
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=options["delimiter"])
            header: list[str] | None = None
            for cells in reader:
                cells = [cell.strip() for cell in cells]
                if not any(cells):
                    continue
                if header is None and not rows and (options["header"] is True or (
                        options["header"] == "auto" and not all(is_number(c) for c in cells))):
                    header = cells
                    continue
                if label is None:
                    label = label_index(len(cells), width, header, options["label_column"], path)
                if len(cells) != width + (label >= 0):
                    raise InputError(f"{path}, line {reader.line_num}: expected {width} values per row (the "
                                     f"model's input size), found {len(cells)} fields")
                if label >= 0:
                    del cells[label]
                try:
                    rows.append(np.array(cells, dtype=np.float64).astype(np.float32))
                except ValueError:
                    bad = next(c for c in cells if not is_number(c))
                    raise InputError(f"{path}, line {reader.line_num}: expected numbers, got {bad!r}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc})") from None
    if not rows:
        raise InputError(f"{path}: no data rows")
    return np.stack(rows)


def label_index(fields: int, width: int, header: list[str] | None, label_column: int | str, path: Path) -> int:
    """-1 when a row is all features; else the index of the label column to drop."""
    if fields != width + 1:
        return -1
    if isinstance(label_column, str):
        if header is None or label_column not in header:
            raise InputError(f"{path}: rows have {fields} fields, one more than the model's {width} inputs, and "
                             f"no column is named {label_column!r} (the training data's label column)")
        return header.index(label_column)
    return label_column % fields


def pictures_in(folder: Path) -> list[Path]:
    """The visible PNG and JPEG files directly in `folder`, sorted by name."""
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_file(p) and not p.name.startswith("."))


def open_samples(path: Path, model: SavedModel) -> Samples:
    """The samples at `path` (see the module docstring); anything unreadable or misshapen is one
    InputError naming the file."""
    source = str(path)
    if path.is_dir():
        pictures = pictures_in(path)
        if not pictures:            # a folder of class folders (an image folder's test/): one level down
            pictures = [p for folder in sorted(path.iterdir()) if folder.is_dir() and not folder.name.startswith(".")
                        for p in pictures_in(folder)]
        if not pictures:
            raise InputError(f"{source}: no {', '.join(IMAGE_SUFFIXES)} pictures in this folder or its sub-folders")
        return PictureSamples(source, pictures, [p.relative_to(path).as_posix() for p in pictures],
                              image_shape_for_pictures(model, source))
    if not path.is_file():
        raise InputError(f"{source}: no such file or folder")
    suffix = path.suffix.lower()
    if is_image_file(path):
        return PictureSamples(source, [path], [path.name], image_shape_for_pictures(model, source))
    if suffix == ".npz":
        return ArraySamples(source, conform(read_npz_x(path), model, source))
    if suffix in CSV_SUFFIXES:
        return ArraySamples(source, conform(read_csv_samples(path, model), model, source))
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:2] == GZIP_MAGIC or (len(head) == 4 and head[:2] == b"\0\0"):
        return ArraySamples(source, conform(read_idx(path), model, source))
    raise InputError(f"{source}: not an .npz, CSV, IDX or PNG/JPEG file (nor a folder of pictures)")


def image_shape_for_pictures(model: SavedModel, source: str) -> tuple[int, int, int]:
    if model.image_shape is None:
        raise InputError(f"{source}: this model takes samples of shape {model.input_shape}, not pictures")
    return model.image_shape

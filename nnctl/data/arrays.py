"""Your own data: a NumPy .npz file (a CSV table: nnctl.data.csv_table).

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

import zipfile
from pathlib import Path

import numpy as np

from nnctl.data.base import Dataset, Source
from nnctl.errors import ConfigError, InputError
from nnctl.limits import MAX_CLASSES
from nnctl.npzfile import inspect_npz, read_entries
from nnctl.options.spec import Choice, IntOrFraction, Option, Optional, Str

TASKS = ("auto", "classification", "regression")
NPZ_ARRAYS = ("x", "y", "x_test", "y_test", "class_names")


def resolve(base_dir: Path, name: str) -> Path:
    """`name` relative to the config file's folder (absolute and ~ paths are kept)."""
    return Path(base_dir) / Path(name).expanduser()


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

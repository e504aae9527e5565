"""The file list of an image folder: DIR/train/<class>/*, optionally DIR/val/<class>/* and DIR/test/<class>/*.

Classes are the sub-folders of train/, sorted by name (label k is the k-th name); val/ and test/ may hold
only classes that train/ has (fewer is fine). In each class folder the PNG and JPEG files (.png, .jpg,
.jpeg, any letter case) are taken in sorted order; hidden files and other files are ignored, and so are
files directly inside train/, val/ or test/. A class folder of train/ without pictures is an error.

The listing's fingerprint (SHA-256 over each file's relative path, size and modification time, and the
folder's absolute path) names the decoded arrays in the cache: any added, removed, renamed or rewritten
file changes it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.data.images import IMAGE_SUFFIXES
from nnctl.errors import ConfigError, InputError
from nnctl.limits import MAX_CLASSES

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitFiles:
    """The pictures of one split: paths (N,) in class order, then file-name order, and labels (N,) int64."""

    paths: list[Path]
    labels: np.ndarray
    sizes: list[int]
    mtimes: list[int]


@dataclass(frozen=True)
class FolderListing:
    """root, class_names (sorted sub-folders of train/), and the splits found ({'train': ..., 'test': ...})."""

    root: Path
    class_names: list[str]
    splits: dict[str, SplitFiles]

    def fingerprint(self) -> str:
        """Hex SHA-256 of the absolute root and every file's split, relative path, size and mtime (ns)."""
        digest = hashlib.sha256(str(self.root.resolve()).encode() + b"\0")
        for split, files in self.splits.items():
            for path, size, mtime in zip(files.paths, files.sizes, files.mtimes):
                digest.update(f"{split}\0{path.relative_to(self.root)}\0{size}\0{mtime}\n".encode())
        return digest.hexdigest()

    def count(self) -> int:
        return sum(len(files.paths) for files in self.splits.values())


def sub_folders(folder: Path) -> list[str]:
    """Names of the visible sub-folders of `folder`, sorted."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))
    except OSError as exc:
        raise InputError(f"{folder}: cannot list this folder ({exc.strerror or exc})") from None


def pictures_in(folder: Path) -> list[tuple[str, int, int]]:
    """(name, size in bytes, mtime in ns) of each visible PNG/JPEG file in `folder`, sorted by name."""
    found = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.name.lower().endswith(IMAGE_SUFFIXES):
                    continue
                if entry.is_file():
                    stat = entry.stat()
                    found.append((entry.name, stat.st_size, stat.st_mtime_ns))
    except OSError as exc:
        raise InputError(f"{folder}: cannot list this folder ({exc.strerror or exc})") from None
    return sorted(found)


def list_split(root: Path, split: str, class_names: list[str]) -> SplitFiles:
    """The pictures of root/split/<class>/ for the classes that folder has (each must be one of train's)."""
    folder = root / split
    present = sub_folders(folder)
    unknown = [name for name in present if name not in class_names]
    if unknown:
        raise InputError(f"{folder / unknown[0]}: class {unknown[0]!r} is not a folder in {root / 'train'} "
                         f"(its classes: {', '.join(class_names[:10])}{', ...' if len(class_names) > 10 else ''})")
    paths, labels, sizes, mtimes = [], [], [], []
    for name in present:
        label = class_names.index(name)
        files = pictures_in(folder / name)
        if not files and split == "train":
            raise InputError(f"{folder / name}: no {', '.join(IMAGE_SUFFIXES)} pictures in this class folder")
        for file_name, size, mtime in files:
            paths.append(folder / name / file_name)
            sizes.append(size)
            mtimes.append(mtime)
        labels += [label] * len(files)
    return SplitFiles(paths, np.array(labels, dtype=np.int64), sizes, mtimes)


def list_folder(root: Path) -> FolderListing:
    """The listing of `root` (see the module docstring); a missing or empty train/ is a ConfigError at
    data.path, other problems an InputError naming the folder."""
    if not root.is_dir():
        raise ConfigError("data.path", f"{root}: no such folder")
    if not (root / "train").is_dir():
        raise ConfigError("data.path", f"{root} has no train/ folder (expected {root}/train/<class>/*.png)")
    class_names = sub_folders(root / "train")
    if len(class_names) < 2:
        raise InputError(f"{root / 'train'}: expected a folder per class (at least 2), found "
                         f"{len(class_names)}")
    if len(class_names) > MAX_CLASSES:
        raise InputError(f"{root / 'train'}: {len(class_names)} class folders, more than the limit of "
                         f"{MAX_CLASSES}")
    splits = {split: list_split(root, split, class_names) for split in SPLITS if (root / split).is_dir()}
    for split, files in splits.items():
        if not files.paths:
            raise InputError(f"{root / split}: no {', '.join(IMAGE_SUFFIXES)} pictures in its class folders")
    return FolderListing(root, class_names, splits)

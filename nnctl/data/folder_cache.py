"""Decoded image folders kept as .npz files, so that a second run on the same folder starts in seconds.

Where: $NNCTL_DATA/image-folders/, else ~/.cache/nnctl/image-folders/ (beside the downloaded IDX sets).
One file per folder and settings, named ROOT-KEY.npz: ROOT is a digest of the folder's absolute path and
KEY a digest of the folder listing's fingerprint (every file's path, size and modification time, see
nnctl.data.folder_scan) and the settings that shape the arrays (color, image_size, skip_bad_files). Any
change to a file gives another KEY, so a stale cache is never read; writing a new file for a folder
removes its older ones.

The file holds plain arrays only (no pickle), read back through nnctl.npzfile (sizes checked before
reading): x_<split> (N, C, H, W) uint8 and y_<split> (N,) int64 for each split found, class_names, and
skipped (the relative paths of the bad files left out). A cache file that cannot be read or does not
fit the listing is ignored (and rewritten); one that cannot be written only costs the next run time.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

import numpy as np

from nnctl.atomic import atomic_file
from nnctl.data.folder_scan import FolderListing
from nnctl.data.mnist import download_dir
from nnctl.errors import InputError, WorkError
from nnctl.npzfile import read_npz, write_npz

FORMAT = "nnctl-image-folder-1"


def cache_path(listing: FolderListing, settings: dict) -> Path:
    """The cache file for this listing and these settings (see the module docstring)."""
    root = hashlib.sha256(str(listing.root.resolve()).encode()).hexdigest()[:16]
    shown = ";".join(f"{key}={settings[key]}" for key in sorted(settings))
    key = hashlib.sha256(f"{FORMAT}\0{listing.fingerprint()}\0{shown}".encode()).hexdigest()[:32]
    return download_dir("image-folders") / f"{root}-{key}.npz"


def read_cache(path: Path, listing: FolderListing) -> dict[str, np.ndarray] | None:
    """The cached arrays when `path` exists and fits the listing (its splits and class names), else None."""
    if not path.is_file():
        return None
    try:
        arrays = read_npz(path, kinds="biuU", what="image-folder cache")
    except InputError:
        return None
    expected = {"class_names", "skipped"} | {f"{p}_{s}" for s in listing.splits for p in ("x", "y")}
    if set(arrays) != expected or list(arrays["class_names"]) != listing.class_names:
        return None
    total = len(arrays["skipped"])
    for split, files in listing.splits.items():
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.dtype != np.uint8 or x.ndim != 4 or y.dtype != np.int64 or y.shape != (len(x),):
            return None
        total += len(y)
    return arrays if total == listing.count() else None


def write_cache(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write the arrays to `path` whole (atomically) and remove this folder's older cache files; False when
    it cannot be written (the run goes on without a cache)."""
    try:
        with atomic_file(path, "image-folder cache") as handle:
            write_npz(handle, arrays)
    except (WorkError, OSError):
        return False
    prefix = path.name.split("-")[0] + "-"
    for older in path.parent.glob(f"{prefix}*.npz"):
        if older != path:
            with contextlib.suppress(OSError):
                older.unlink()
    return True

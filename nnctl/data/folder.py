"""`dataset: folder`: your own pictures, one folder per class.

    data: {dataset: folder, path: DIR, image_size: [H, W], color: auto, skip_bad_files: false}

DIR holds train/<class>/* and optionally val/<class>/* and test/<class>/* (nnctl.data.folder_scan): class
names are the folder names, sorted. Without val/ (test/), `val_size` (`test_size`) pictures are taken from
the training pictures, stratified by class (each class in proportion, see nnctl.data.splits). PNG and JPEG
files are decoded with Pillow to uint8 (N, C, H, W) (nnctl.data.folder_decode), divided by 255 on conversion
to float32 like MNIST's pixels, and kept in the data cache (nnctl.data.folder_cache) for the next run.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nnctl.console import say
from nnctl.data.base import Dataset, Source
from nnctl.data.folder_cache import cache_path, read_cache, write_cache
from nnctl.data.folder_decode import check_memory, choose_shape, decode_all, first_error, probe_all
from nnctl.data.folder_scan import FolderListing, list_folder
from nnctl.errors import ConfigError, InputError
from nnctl.npzfile import inspect_npz
from nnctl.options.spec import Bool, Choice, IntOrFraction, IntPair, Option, Optional, Str

MAX_SKIPPED_SHOWN = 10      # bad files named in the report (all are counted)


def decode_listing(listing: FolderListing, color: str, image_size: tuple[int, int] | None, skip: bool,
                   progress: bool) -> dict[str, np.ndarray]:
    """The arrays the cache holds (nnctl.data.folder_cache) for every split of the listing, decoded now."""
    names = list(listing.splits)
    paths = [path for files in listing.splits.values() for path in files.paths]
    labels = np.concatenate([files.labels for files in listing.splits.values()])
    split_of = np.repeat(np.arange(len(names)), [len(files.paths) for files in listing.splits.values()])
    sizes, colour, errors = probe_all(paths, progress)
    first_error(errors, skip)
    readable = np.array([e is None for e in errors], dtype=bool)
    if not readable[split_of == 0].any():
        raise InputError(f"{listing.root / 'train'}: none of its pictures could be read")
    kept = np.flatnonzero(readable)
    shape = choose_shape([paths[i] for i in kept], sizes[kept], colour[kept], color, image_size, listing.root)
    check_memory(len(kept), shape, listing.root)
    x, decode_errors = decode_all([paths[i] for i in kept], shape, progress)
    first_error(decode_errors, skip)
    for i, message in zip(kept, decode_errors):
        errors[i] = message
    good = np.array([e is None for e in decode_errors], dtype=bool)
    if not good.all():
        x, kept = x[good], kept[good]
    arrays = {"class_names": np.array(listing.class_names)}
    for k, name in enumerate(names):
        rows = split_of[kept] == k
        arrays[f"x_{name}"], arrays[f"y_{name}"] = x[rows], labels[kept[rows]]
    if not len(arrays["y_train"]):
        raise InputError(f"{listing.root / 'train'}: none of its pictures could be read")
    bad = [str(paths[i].relative_to(listing.root)) for i, e in enumerate(errors) if e is not None]
    arrays["skipped"] = np.array(bad, dtype=str) if bad else np.zeros(0, dtype="U1")
    return arrays


class ImageFolder(Dataset):
    """Your own PNG and JPEG pictures, one folder per class: DIR/train/<class>/, and optionally DIR/val/<class>/
    and DIR/test/<class>/ (without them, `val_size` and `test_size` take pictures from train/, stratified by
    class). Class names are the folder names, sorted. Pixels are divided by 255. The decoded pictures are
    kept as .npz in the data cache (beside downloaded datasets, folder image-folders) until a file changes.

    See the module docstring."""

    options = {
        "path": Option(Str(), doc="the folder holding train/<class>/ (and optionally val/<class>/, "
                                  "test/<class>/), relative to the config file's folder"),
        "image_size": Option(Optional(IntPair()), None, "[H, W] every picture is resized to (null: the first "
                                                        "picture's size, and another size is an error)"),
        "color": Option(Choice("auto", "gray", "rgb"), "auto", "gray: 1 channel, rgb: 3; auto: rgb when any "
                                                               "picture is in colour (or has a palette)"),
        "skip_bad_files": Option(Bool(), False, "leave out unreadable or truncated pictures (counted in the "
                                                "report) instead of stopping"),
        "test_size": Option(Optional(IntOrFraction()), None,
                            "null: the folder's test/ when present, else 0.2 of the training pictures"),
    }

    def root(self, base_dir: Path) -> Path:
        return Path(base_dir) / Path(self.config["path"]).expanduser()

    def settings(self) -> dict:
        return {key: self.config[key] for key in ("color", "image_size", "skip_bad_files")}

    def sample_shape(self, base_dir: Path) -> tuple[tuple[int, ...], bool] | None:
        """From the settings when they fix the shape, else from the cache's header or the pictures' headers
        (nothing decoded)."""
        size, color = self.config["image_size"], self.config["color"]
        if size is not None and color != "auto":
            return ({"gray": 1, "rgb": 3}[color], *size), True
        try:
            listing = list_folder(self.root(base_dir))
            cached = cache_path(listing, self.settings())
            if cached.is_file():
                return tuple(inspect_npz(cached, kinds="biuU")["x_train"].shape[1:]), True
            paths = [path for files in listing.splits.values() for path in files.paths]
            sizes, colour, errors = probe_all(paths if color == "auto" else paths[:1], progress=False)
            first_error(errors, skip=False)
            channels = {"gray": 1, "rgb": 3}.get(color, 3 if colour.any() else 1)
            return (channels, *(size or (int(sizes[0, 0]), int(sizes[0, 1])))), True
        except (InputError, KeyError):
            return None                                                   # loading says what is wrong

    def load(self, rng: np.random.Generator, base_dir: Path, progress: bool) -> Source:
        listing = list_folder(self.root(base_dir))
        if "test" in listing.splits and self.config["test_size"] is not None:
            raise ConfigError("data.test_size", f"{listing.root} has its own test/ folder; remove this key")
        cached = cache_path(listing, self.settings())
        started = time.monotonic()
        arrays = read_cache(cached, listing)
        if arrays is not None:
            action = f"read from the cache {cached}"
        else:
            arrays = decode_listing(listing, self.config["color"], self.config["image_size"],
                                    self.config["skip_bad_files"], progress)
            stored = write_cache(cached, arrays)
            action = f"decoded, cached in {cached}" if stored else "decoded (the cache could not be written)"
        x = arrays["x_train"]
        if progress:
            shape = "x".join(map(str, x.shape[1:]))
            say(f"image folder {listing.root}: {len(x)} training pictures of {shape}, {action} "
                f"({time.monotonic() - started:.1f} s)")
        part = {split: (arrays[f"x_{split}"], arrays[f"y_{split}"]) for split in ("val", "test") if f"x_{split}" in arrays}
        skipped = [str(name) for name in arrays["skipped"]]
        notes = {"skipped_files": len(skipped), "skipped_examples": skipped[:MAX_SKIPPED_SHOWN]} if skipped else {}
        return Source(x, arrays["y_train"], test=part.get("test"), val=part.get("val"), images=True,
                      raw_divisor=255.0, num_classes=len(listing.class_names),
                      class_names=list(listing.class_names), stratify=True, notes=notes)

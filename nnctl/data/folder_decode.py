"""Pictures to one uint8 array (N, C, H, W), in two passes over the files, on worker threads.

1. Headers only (`probe_all`): each file's width, height and whether it is in colour. This fixes the
   array's shape before anything is decoded: C from `color` (gray: 1, rgb: 3, auto: 3 when any picture is
   in colour, else 1) and (H, W) from `image_size`, else from the first picture (then a picture of another
   size is an error naming it). The memory the array and its float32 copies need is checked here.
2. Decoding (`decode_all`): each picture converted and resized by nnctl.data.images.read_image into its
   own row of the array.

Both passes run on `nnctl.workers.thread_count()` threads (Pillow releases the GIL while it inflates and
resizes); every file lands in its own row and errors are reported for the first bad file in listing
order, so the results do not depend on the number of threads. A bad file (unreadable, truncated, not a
picture) is an InputError naming it, or with `skip` is left out and listed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nnctl.data.images import probe_image, read_image
from nnctl.errors import ConfigError, InputError
from nnctl.limits import exceeds_budget, show_bytes
from nnctl.workers import thread_count

CHUNK_FILES = 256           # files per task handed to a worker thread
BYTES_PER_VALUE = 1 + 8     # the uint8 array, then the float32 splits and one gathered copy (data.splits)


def in_chunks(count: int, work: Callable[[int, int], None], label: str, progress: bool) -> None:
    """work(start, stop) over range(count) in chunks of CHUNK_FILES, on worker threads."""
    bounds = [(start, min(count, start + CHUNK_FILES)) for start in range(0, count, CHUNK_FILES)]
    workers = max(1, min(thread_count(), len(bounds)))
    with tqdm(total=count, desc=label, unit="file", disable=None if progress else True,
              leave=False) as bar:          # disable None: bars on a terminal only
        if workers == 1:
            for start, stop in bounds:
                work(start, stop)
                bar.update(stop - start)
            return
        def run(bound: tuple[int, int]) -> int:
            work(*bound)
            return bound[1] - bound[0]

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nnctl-decode") as pool:
            for done in pool.map(run, bounds):
                bar.update(done)


def probe_all(paths: Sequence[Path], progress: bool) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """(sizes (N, 2) int64 as (height, width), colour (N,) bool, errors: None or a message per file)."""
    sizes = np.zeros((len(paths), 2), dtype=np.int64)
    colour = np.zeros(len(paths), dtype=bool)
    errors: list[str | None] = [None] * len(paths)

    def work(start: int, stop: int) -> None:
        for i in range(start, stop):
            try:
                width, height, colour[i] = probe_image(paths[i])
                sizes[i] = height, width
            except InputError as exc:
                errors[i] = str(exc)

    in_chunks(len(paths), work, "reading picture headers", progress)
    return sizes, colour, errors


def choose_shape(paths: Sequence[Path], sizes: np.ndarray, colour: np.ndarray, color: str,
                 image_size: tuple[int, int] | None, root: Path) -> tuple[int, int, int]:
    """(C, H, W) of the array for the readable pictures (see the module docstring)."""
    channels = {"gray": 1, "rgb": 3}.get(color, 3 if colour.any() else 1)
    if image_size is not None:
        return channels, *image_size
    height, width = (int(v) for v in sizes[0])
    different = np.flatnonzero((sizes[:, 0] != height) | (sizes[:, 1] != width))
    if len(different):
        i = int(different[0])
        raise InputError(f"{paths[i]}: {sizes[i, 1]}x{sizes[i, 0]} pixels, but the first picture "
                         f"({paths[0].relative_to(root)}) is {width}x{height}; set data.image_size: [H, W] to "
                         f"resize every picture")
    return channels, height, width


def check_memory(count: int, shape: tuple[int, int, int], root: Path) -> None:
    """The array and the float32 splits made from it must fit in memory (checked before decoding)."""
    needed = BYTES_PER_VALUE * count * int(np.prod(shape))
    budget = exceeds_budget(needed)
    if budget is not None:
        raise ConfigError("data.image_size", f"{root}: {count} pictures of {shape[0]}x{shape[1]}x{shape[2]} "
                                             f"values need about {show_bytes(needed)} of memory, more than the "
                                             f"{show_bytes(budget)} available; set a smaller data.image_size")


def decode_all(paths: Sequence[Path], shape: tuple[int, int, int], progress: bool) -> tuple[np.ndarray, list[str | None]]:
    """(x (N, C, H, W) uint8 with zeros in the rows of bad files, errors: None or a message per file)."""
    x = np.zeros((len(paths), *shape), dtype=np.uint8)
    errors: list[str | None] = [None] * len(paths)

    def work(start: int, stop: int) -> None:
        for i in range(start, stop):
            try:
                x[i] = read_image(paths[i], shape)
            except InputError as exc:
                errors[i] = str(exc)

    in_chunks(len(paths), work, "decoding pictures", progress)
    return x, errors


def first_error(errors: list[str | None], skip: bool) -> None:
    """Raise the first error in listing order unless bad files are skipped."""
    if not skip:
        bad = next((message for message in errors if message is not None), None)
        if bad is not None:
            raise InputError(f"{bad}; set data.skip_bad_files: true to leave such files out")

"""Write Fashion-MNIST's IDX files out as an image folder for `dataset: folder`: OUT/train/<class>/NNNNN.png
(60,000 pictures) and OUT/test/<class>/NNNNN.png (10,000), 28x28 grey PNGs, NNNNN the picture's index in
its IDX file. With --rgb each picture is tinted with its class's colour (pixel value v becomes
v * colour / 255 per channel), so that colour alone tells the classes apart.

    python tools/fashion_to_folder.py OUT [--rgb] [--source DIR] [--limit N]

The IDX files come from --source, else from where `dataset: fashion-mnist` finds them ($NNCTL_DATA, the
nnctl data cache ~/.cache/nnctl/fashion-mnist, /usr/share/datasets/fashion-mnist); nothing is downloaded.
Class folder names are the Fashion-MNIST class names with '/' written as '_' ('T-shirt_top').
--limit N writes only the first N pictures of each file (for tests). OUT must not hold train/ or test/
yet. PNG encoding runs on worker threads (zlib releases the GIL); the files do not depend on their number.
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from nnctl.data.mnist import COLLECTIONS, locate, read_pair
from nnctl.errors import NnctlError
from nnctl.workers import thread_count

# one colour per class (RGB, 0-255), in Fashion-MNIST's label order
TINTS = np.array([[230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
                  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 190]],
                 dtype=np.uint16)


def folder_names() -> list[str]:
    return [name.replace("/", "_") for name in COLLECTIONS["fashion-mnist"].class_names]


def tinted(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(N, 28, 28, 3) uint8: each grey image (N, 28, 28) times its class's colour / 255, rounded down."""
    return ((images[..., None].astype(np.uint16) * TINTS[labels][:, None, None, :]) // 255).astype(np.uint8)


def write_split(out: Path, split: str, images: np.ndarray, labels: np.ndarray, rgb: bool) -> int:
    """Write one split's pictures (images (N, 1, 28, 28) uint8, labels (N,)) as PNGs; returns N."""
    # Pillow (installed with matplotlib) is slow to import: loaded only here
    from PIL import Image

    names = folder_names()
    for name in names:
        (out / split / name).mkdir(parents=True, exist_ok=True)
    pixels = tinted(images[:, 0], labels) if rgb else images[:, 0]

    def save(start: int) -> None:
        for i in range(start, min(start + 500, len(labels))):
            Image.fromarray(pixels[i], "RGB" if rgb else "L").save(out / split / names[labels[i]] / f"{i:05d}.png")

    with ThreadPoolExecutor(max_workers=thread_count()) as pool:
        list(pool.map(save, range(0, len(labels), 500)))
    return len(labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the folder to write (train/ and test/ go inside)")
    parser.add_argument("--rgb", action="store_true", help="tint each picture with its class's colour")
    parser.add_argument("--source", type=Path, help="folder holding the four Fashion-MNIST IDX files")
    parser.add_argument("--limit", type=int, help="write only the first N pictures of each split")
    args = parser.parse_args(argv)
    if (args.out / "train").exists() or (args.out / "test").exists():
        print(f"{args.out}: already holds train/ or test/; choose a new folder", file=sys.stderr)
        return 2
    try:
        paths = locate(COLLECTIONS["fashion-mnist"], args.source, allow_download=False, progress=False)
        for split, prefix in (("train", "train"), ("test", "test")):
            images, labels = read_pair(paths[f"{prefix}_images"], paths[f"{prefix}_labels"], 10)
            if args.limit is not None:
                images, labels = images[:args.limit], labels[:args.limit]
            count = write_split(args.out, split, images, labels, args.rgb)
            print(f"wrote {count} pictures to {args.out / split}")
    except NnctlError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""MNIST and Fashion-MNIST: four IDX files each, found on disk or downloaded once.

Where the files are looked for (each file may be gzip-compressed, `train-images-idx3-ubyte.gz`, or raw,
`train-images-idx3-ubyte`; .gz wins when both are there): the config's `path` (relative to the config
file's folder), which must then hold all four; else, the first of these folders that holds all four:
    1. $NNCTL_DATA/NAME
    2. ~/.cache/nnctl/NAME
    3. /usr/share/datasets/NAME          (Debian's `dataset-fashion-mnist` installs here)
When none has them and `download` is true, the missing .gz files are fetched into $NNCTL_DATA/NAME
(or ~/.cache/nnctl/NAME) from the mirrors below, each checked against its known SHA-256 digests.
Every file found is checked against the known SHA-256 digests (`verify: false` for one's own IDX files),
so another set's files or a damaged copy never train without a word. Pixels are uint8 in [0, 255] and are
divided by 255 on conversion to float32.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.data.base import Dataset, Source
from nnctl.data.download import download, mirror_list
from nnctl.data.idx import read_idx
from nnctl.errors import ConfigError, InputError
from nnctl.options.spec import Bool, Option, Optional, Str

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SYSTEM_DATA_DIR = Path(os.environ.get("NNCTL_SYSTEM_DATA", "/usr/share/datasets"))   # Debian's dataset-* packages


@dataclass(frozen=True)
class IdxCollection:
    """Where a four-file IDX set comes from and how to recognise good copies of its .gz files."""

    name: str
    mirrors: tuple[str, ...]
    sha256: dict[str, frozenset[str]]  # "train-images-idx3-ubyte.gz" -> accepted digests (raw files too, if known)
    sizes: dict[str, int]              # "train-images-idx3-ubyte.gz" -> bytes of the largest accepted copy
    class_names: tuple[str, ...]

    def size_cap(self, filename: str) -> int:
        """The most bytes read from a mirror for `filename`: its expected size plus 1%."""
        return self.sizes[filename] + self.sizes[filename] // 100 + 4096

    def deadline(self, filename: str) -> float:
        """Seconds all mirrors together get for `filename`: a minute plus the expected size at 20 KiB/s."""
        return 60.0 + self.sizes[filename] / (20 * 1024)


COLLECTIONS = {
    "mnist": IdxCollection(
        name="mnist",
        mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/",
                 "http://yann.lecun.com/exdb/mnist/"),
        sha256={
            "train-images-idx3-ubyte.gz": frozenset({
                "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"}),
            "train-labels-idx1-ubyte.gz": frozenset({
                "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"}),
            "t10k-images-idx3-ubyte.gz": frozenset({
                "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"}),
            "t10k-labels-idx1-ubyte.gz": frozenset({
                "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"}),
        },
        sizes={"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
               "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
        class_names=tuple(str(digit) for digit in range(10)),
    ),
    # Two digests per file: Debian's copies (recompressed without the file name in the gzip header)
    # and the upstream files served by the Fashion-MNIST S3 website and GitHub repository.
    "fashion-mnist": IdxCollection(
        name="fashion-mnist",
        mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
        sha256={
            "train-images-idx3-ubyte.gz": frozenset({
                "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
                "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"}),
            "train-labels-idx1-ubyte.gz": frozenset({
                "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
                "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"}),
            "t10k-images-idx3-ubyte.gz": frozenset({
                "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
                "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"}),
            "t10k-labels-idx1-ubyte.gz": frozenset({
                "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
                "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"}),
            # the uncompressed files (contents of Debian's .gz copies)
            "train-images-idx3-ubyte": frozenset({
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"}),
            "train-labels-idx1-ubyte": frozenset({
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"}),
            "t10k-images-idx3-ubyte": frozenset({
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"}),
            "t10k-labels-idx1-ubyte": frozenset({
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}),
        },
        # the upstream copies (Debian's are 23 or 24 bytes smaller: no file name in the gzip header)
        sizes={"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
               "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148},
        class_names=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                     "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}


def download_dir(name: str) -> Path:
    """Where missing files are fetched to: $NNCTL_DATA/NAME, else ~/.cache/nnctl/NAME."""
    root = os.environ.get("NNCTL_DATA")
    return Path(root) / name if root else Path.home() / ".cache" / "nnctl" / name


def search_dirs(name: str) -> list[Path]:
    """The folders looked in when data.path is not given, in order (see the module docstring)."""
    dirs = []
    if os.environ.get("NNCTL_DATA"):
        dirs.append(Path(os.environ["NNCTL_DATA"]) / name)
    dirs += [Path.home() / ".cache" / "nnctl" / name, SYSTEM_DATA_DIR / name]
    return dirs


def files_in(folder: Path) -> dict[str, Path] | None:
    """The four files in `folder` (.gz preferred over raw: its upstream digest is known), or None if any
    is missing."""
    found = {}
    for key, stem in FILES.items():
        for candidate in (folder / f"{stem}.gz", folder / stem):
            if candidate.is_file():
                found[key] = candidate
                break
        else:
            return None
    return found


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(collection: IdxCollection, paths: dict[str, Path]) -> None:
    """Each file's SHA-256 against the known copies: another set's files (Fashion-MNIST under `dataset:
    mnist`) and damaged or foreign files are one InputError. Raw files of a set whose raw digests are not
    known here (MNIST's) are only checked not to be another set's."""
    for path in paths.values():
        digest = sha256_of(path)
        known = collection.sha256.get(path.name)
        if known is not None and digest in known:
            continue
        owner = next((c.name for c in COLLECTIONS.values() if digest in c.sha256.get(path.name, ())), None)
        if owner is not None:
            raise InputError(f"{path}: this is {owner}'s {path.name}, not {collection.name}'s; use dataset: "
                             f"{owner}, or put {collection.name}'s files there")
        if known is not None:
            raise InputError(f"{path}: SHA-256 {digest} matches no known copy of {collection.name}'s "
                             f"{path.name} (damaged, or other data); replace it, or set data.verify: false to "
                             f"train on your own IDX files")


def locate(collection: IdxCollection, configured: Path | None, allow_download: bool,
           progress: bool) -> dict[str, Path]:
    """Paths of the four files, downloading the missing ones if allowed. A configured folder (data.path)
    must hold them: nothing else is searched then."""
    if configured is not None:
        found = files_in(configured)
        if found is None:
            missing = [stem for stem in FILES.values()
                       if not (configured / stem).is_file() and not (configured / f"{stem}.gz").is_file()]
            raise ConfigError("data.path", f"{configured} does not hold the {collection.name} IDX files "
                                           f"(missing {', '.join(missing)}, raw or .gz)")
        return found
    dirs = search_dirs(collection.name)
    for folder in dirs:
        if (found := files_in(folder)) is not None:
            return found
    if not allow_download:
        raise InputError(f"{collection.name}: the IDX files ({', '.join(FILES.values())}, raw or .gz) are not in "
                         f"any of {', '.join(map(str, dirs))}; put them in one or set data.download: true")
    target = download_dir(collection.name)
    mirrors = mirror_list(collection.mirrors)
    advice = (f"put the {collection.name} files in {target} (or point data.path or NNCTL_DATA at a copy), "
              f"or set NNCTL_MIRRORS to a working mirror")
    for stem in FILES.values():
        if not (target / stem).is_file() and not (target / f"{stem}.gz").is_file():
            filename = f"{stem}.gz"
            download(filename, mirrors, target, collection.sha256[filename], progress, advice,
                     collection.size_cap(filename), collection.deadline(filename))
    return files_in(target)


def read_pair(images_path: Path, labels_path: Path, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, H, W) uint8 and labels (N,) int64, checked against each other."""
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise InputError(f"{images_path}: expected uint8 images of shape (N, H, W), "
                         f"found {images.dtype} of shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise InputError(f"{labels_path}: expected {images.shape[0]} labels to match {images_path.name}, "
                         f"found shape {labels.shape}")
    if labels.size and int(labels.max()) >= classes:
        raise InputError(f"{labels_path}: expected labels 0..{classes - 1}, found {int(labels.max())}")
    return images.reshape(images.shape[0], 1, *images.shape[1:]), labels.astype(np.int64)


class IdxDataset(Dataset):
    """A set of 28x28 grey images in ten classes with its own 10000-image test split.

    x: (N, 1, 28, 28) uint8 pixels (divided by 255 later); y: (N,) int64 in [0, 10).
    """

    collection = "mnist"
    options = {
        "path": Option(Optional(Str()), None, "folder holding the four IDX files (then the only place looked in)"),
        "download": Option(Bool(), True, "fetch missing files from the mirrors"),
        "verify": Option(Bool(), True, "check each file's SHA-256 against the known copies (false for your own "
                                       "IDX files)"),
    }

    def sample_shape(self, base_dir: Path) -> tuple[tuple[int, ...], bool]:
        return (1, 28, 28), True

    def load(self, rng: np.random.Generator, base_dir: Path, progress: bool) -> Source:
        collection = COLLECTIONS[self.collection]
        configured = Path(base_dir) / Path(self.config["path"]).expanduser() if self.config["path"] else None
        paths = locate(collection, configured, self.config["download"], progress)
        if self.config["verify"]:
            verify(collection, paths)
        classes = len(collection.class_names)
        x, y = read_pair(paths["train_images"], paths["train_labels"], classes)
        x_test, y_test = read_pair(paths["test_images"], paths["test_labels"], classes)
        return Source(x, y, test=(x_test, y_test), images=True, raw_divisor=255.0, num_classes=classes,
                      class_names=list(collection.class_names))


class Mnist(IdxDataset):
    """Handwritten digits 0-9 (LeCun, Cortes & Burges): 60000 training and 10000 test images."""

    collection = "mnist"


class FashionMnist(IdxDataset):
    """Zalando's clothing pictures in ten classes (Xiao, Rasul & Vollgraf 2017), MNIST's shapes and sizes."""

    collection = "fashion-mnist"

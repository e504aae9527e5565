"""Small synthetic classification sets drawn from the run's seed: no files, instant, exact class counts.

`samples` points are shared among the classes as evenly as possible: class k gets
samples // classes points, plus one more when k < samples % classes. Points come out grouped by class
(class 0 first); the seeded test/val split afterwards mixes them. x: (N, features) float32, y: (N,) int64.

- spiral:  the cs231n spiral. Arm k has n points at radius r = 0, 1/(n-1), ..., 1 and angle
           t = 4k + 4r + noise * N(0, 1) radians; the point is (r sin t, r cos t).
- blobs:   one Gaussian blob per class: centres uniform in [-spread, spread]^features, std `noise`.
- circles: class 0 on the unit circle, class 1 on a circle of radius `factor`, at uniform angles,
           then Gaussian noise of std `noise` on both coordinates.
- xor:     points uniform in [-1, 1]^2, in the quadrants where sign(x0) == sign(x1) for class 0 and
           where they differ for class 1, then Gaussian noise of std `noise` (labels stay as drawn).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.data.base import Dataset, Source
from nnctl.errors import ConfigError
from nnctl.limits import MAX_CLASSES, exceeds_budget, show_bytes
from nnctl.options.spec import Float, Int, IntOrFraction, Option

TEST_SIZE = Option(IntOrFraction(), 0.2, "test samples taken first (count or fraction of all samples)")


def class_counts(samples: int, classes: int) -> np.ndarray:
    """Points per class, (classes,) int64: as even as possible, the first classes taking the remainder."""
    counts = np.full(classes, samples // classes, dtype=np.int64)
    counts[: samples % classes] += 1
    return counts


def grouped_labels(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (N,) int64 grouped by class, and each point's position (N,) within its class."""
    labels = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    return labels, np.arange(int(counts.sum())) - starts[labels]


class SyntheticDataset(Dataset):
    """Turns the points a subclass draws into a Source of flat float32 features and int64 labels."""

    def sample_shape(self, base_dir: Path) -> tuple[tuple[int, ...], bool]:
        return (self.config.get("features", 2),), False

    def load(self, rng: np.random.Generator, base_dir: Path, progress: bool) -> Source:
        x, y = self.draw(rng)
        classes = int(y.max()) + 1
        return Source(x.astype(np.float32), y, num_classes=classes, class_names=[str(k) for k in range(classes)])

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """x: (N, features) float64, y: (N,) int64 grouped by class."""
        raise NotImplementedError

    @classmethod
    def check_config(cls, config: dict, path: str) -> None:
        """The points must fit in memory: about 24 bytes per feature and 32 more per point, for the float64
        draw, its float32 copy, the splits and the labels (checked before anything is drawn)."""
        samples, features = config["samples"], config.get("features", 2)
        needed = samples * (24 * features + 32)
        budget = exceeds_budget(needed)
        if budget is not None:
            key = "features" if features > samples else "samples"
            raise ConfigError(f"{path}.{key}", f"{samples} points of {features} features need about "
                                                 f"{show_bytes(needed)} of memory, more than the "
                                                 f"{show_bytes(budget)} available")


class ClassCountMixin:
    """Checks that every class gets at least one point."""

    @classmethod
    def check_config(cls, config: dict, path: str) -> None:
        super().check_config(config, path)
        if config["samples"] < config["classes"]:
            raise ConfigError(f"{path}.samples", f"expected at least one sample per class (>= {config['classes']}), "
                                                 f"got {config['samples']}")


class Spiral(ClassCountMixin, SyntheticDataset):
    """Interleaved 2-D spiral arms, one per class (not linearly separable)."""

    options = {
        "samples": Option(Int(1), 300, "total number of points"),
        "classes": Option(Int(2, MAX_CLASSES), 3, "number of arms"),
        "noise": Option(Float(0), 0.2, "std of the angle noise, radians"),
        "test_size": TEST_SIZE,
    }

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        counts = class_counts(self.config["samples"], self.config["classes"])
        labels, position = grouped_labels(counts)
        radius = position / np.maximum(counts[labels] - 1, 1)
        angle = 4.0 * labels + 4.0 * radius + self.config["noise"] * rng.standard_normal(labels.shape[0])
        return np.stack([radius * np.sin(angle), radius * np.cos(angle)], axis=1), labels


class Blobs(ClassCountMixin, SyntheticDataset):
    """Isotropic Gaussian clusters, one per class, in any number of dimensions."""

    options = {
        "samples": Option(Int(1), 300, "total number of points"),
        "classes": Option(Int(2, MAX_CLASSES), 3, "number of blobs"),
        "features": Option(Int(1), 2, "dimensions of each point"),
        "noise": Option(Float(0), 1.0, "std of each blob"),
        "spread": Option(Float(0, low_open=True), 5.0, "centres are uniform in [-spread, spread]^features"),
        "test_size": TEST_SIZE,
    }

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        labels, _ = grouped_labels(class_counts(cfg["samples"], cfg["classes"]))
        centres = rng.uniform(-cfg["spread"], cfg["spread"], size=(cfg["classes"], cfg["features"]))
        x = centres[labels] + cfg["noise"] * rng.standard_normal((labels.shape[0], cfg["features"]))
        return x, labels


class Circles(SyntheticDataset):
    """Two concentric circles in 2-D: class 0 outside (radius 1), class 1 inside (radius `factor`)."""

    options = {
        "samples": Option(Int(2), 300, "total number of points"),
        "noise": Option(Float(0), 0.05, "std of the Gaussian noise on each coordinate"),
        "factor": Option(Float(0, 1, low_open=True, high_open=True), 0.5, "radius of the inner circle"),
        "test_size": TEST_SIZE,
    }

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        labels, _ = grouped_labels(class_counts(self.config["samples"], 2))
        n = labels.shape[0]
        angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
        radius = np.where(labels == 0, 1.0, self.config["factor"])
        x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
        x += self.config["noise"] * rng.standard_normal((n, 2))
        return x, labels


class Xor(SyntheticDataset):
    """The XOR problem in 2-D: the class is whether the two coordinates have different signs."""

    options = {
        "samples": Option(Int(2), 300, "total number of points"),
        "noise": Option(Float(0), 0.1, "std of the Gaussian noise on each coordinate"),
        "test_size": TEST_SIZE,
    }

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        labels, _ = grouped_labels(class_counts(self.config["samples"], 2))
        n = labels.shape[0]
        first_sign = rng.choice(np.array([-1.0, 1.0]), size=n)
        signs = np.stack([first_sign, np.where(labels == 0, first_sign, -first_sign)], axis=1)
        x = signs * rng.uniform(0.0, 1.0, size=(n, 2))
        x += self.config["noise"] * rng.standard_normal((n, 2))
        return x, labels

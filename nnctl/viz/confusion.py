"""confusion.png: a classifier's confusion matrix as a picture, rows = true class, columns = predicted.

Each cell is coloured by its share of the true class (the row), so classes of different sizes read
alike; the counts are written in the cells (up to 20 classes), and the diagonal is each class's recall.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.viz.figure import new_figure, save_figure

MAX_WRITTEN = 20     # classes up to which counts are written into the cells


def plot_confusion(confusion: list[list[int]], class_names: list[str] | None, path: Path, title: str = "") -> None:
    """Draw the (C, C) `confusion` counts, labelled with `class_names` (or 0..C-1), into `path`."""
    counts = np.asarray(confusion, dtype=np.int64)
    classes = counts.shape[0]
    names = [str(n) for n in (class_names or range(classes))]
    totals = counts.sum(axis=1, keepdims=True)
    shares = counts / np.maximum(totals, 1)
    side = min(12.0, 3.0 + 0.55 * classes)
    figure = new_figure(side + 1.2, side)
    ax = figure.subplots()
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, interpolation="nearest")
    figure.colorbar(image, ax=ax, label="share of the true class", shrink=0.8)
    ax.set_xticks(range(classes), names, rotation=45 if max(map(len, names)) > 2 else 0, ha="right"
                  if max(map(len, names)) > 2 else "center", fontsize=8)
    ax.set_yticks(range(classes), names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if classes <= MAX_WRITTEN:
        for i in range(classes):
            for j in range(classes):
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if shares[i, j] > 0.5 else "black")
    correct, total = int(np.trace(counts)), int(counts.sum())
    accuracy = f"accuracy {100 * correct / total:.2f}% ({correct}/{total})" if total else "no samples"
    ax.set_title(f"{title}\n{accuracy}" if title else accuracy)
    save_figure(figure, path)

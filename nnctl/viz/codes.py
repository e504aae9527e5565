"""`nnctl plot RUN --codes NODE`: the 2-D codes a network gives a split's inputs, beside PCA's 2-D
projection of the same inputs: the classic autoencoder-versus-PCA picture.

Both maps are fitted on the training split only: PCA of the training inputs (NumPy SVD, see
nnctl.analysis.pca), and, for codes wider than 2, PCA of the training codes. Each panel shows the points
of the chosen split (test by default) coloured by class, and is titled with its k-nearest-neighbour
accuracy: a k-NN classifier fitted on the training split's 2-D points labels the split's 2-D points.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.viz.figure import new_figure, save_figure

NEIGHBOURS = 5


@dataclass
class Panel:
    """One map of the split: 2-D points (M, 2), the title's words, and its k-NN accuracy."""

    title: str
    points: np.ndarray
    accuracy: float


def plot_code_panels(panels: list[Panel], labels: np.ndarray, class_names: list[str] | None, split: str,
                     path: Path, title: str = "") -> None:
    """Scatter each panel's points coloured by class, side by side, with one legend of classes."""
    figure = new_figure(6 * len(panels) + 1.5, 5.5)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    classes = int(labels.max()) + 1 if len(labels) else 0
    names = [str(n) for n in (class_names or range(classes))]
    colours = [f"C{i % 10}" if classes <= 10 else None for i in range(classes)]
    for ax, panel in zip(axes, panels):
        for c in range(classes):
            chosen = labels == c
            ax.scatter(panel.points[chosen, 0], panel.points[chosen, 1], s=2, alpha=0.6, color=colours[c],
                       label=names[c] if c < len(names) else str(c), rasterized=True)
        ax.set_title(f"{panel.title}\n{NEIGHBOURS}-NN {split} accuracy {100 * panel.accuracy:.2f}%", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[-1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), markerscale=5, fontsize=8, frameon=False)
    if title:
        figure.suptitle(title)
    save_figure(figure, path)

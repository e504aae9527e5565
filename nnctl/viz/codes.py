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

from nnctl.analysis.node_outputs import check_node, node_outputs, split_data
from nnctl.analysis.knn import knn_accuracy
from nnctl.analysis.pca import fit_pca
from nnctl.errors import InputError
from nnctl.viz.figure import new_figure, save_figure

NEIGHBOURS = 5


@dataclass
class Panel:
    """One map of the split: 2-D points (M, 2), the title's words, and its k-NN accuracy."""

    title: str
    points: np.ndarray
    accuracy: float


def two_d(train: np.ndarray, shown: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """(train 2-D, shown 2-D, projected?): rows as they are when 2 wide, else PCA fitted on `train`."""
    if train.shape[1] == 2:
        return train.astype(np.float64), shown.astype(np.float64), False
    pca = fit_pca(train, 2)
    return pca.project(train), pca.project(shown), True


def code_panels(setup, node: str, split: str, source: str) -> tuple[list[Panel], np.ndarray]:
    """The codes panel and the PCA panel for `split` of a run, and the split's labels (M,)."""
    if setup.splits.num_classes is None:
        raise InputError(f"{source}: --codes colours points by class, but this run's data has real-valued targets")
    check_node(setup.network, node)
    (train_x, train_y), (x, y) = setup.splits.train, split_data(setup, split, source)
    batch = setup.eval_batch
    train_codes = node_outputs(setup.network, train_x, node, batch).reshape(len(train_x), -1)
    codes = node_outputs(setup.network, x, node, batch).reshape(len(x), -1)
    width = train_codes.shape[1]
    if width < 2:
        raise InputError(f"--codes {node!r}: the node gives 1 value per sample; a map needs at least 2")
    train_points, points, projected = two_d(train_codes, codes)
    what = f"{width}-D codes of {node!r}" + (", PCA to 2-D" if projected else "")
    panels = [Panel(what, points, knn_accuracy(train_points, train_y, points, y, NEIGHBOURS))]
    pca = fit_pca(train_x, 2)
    train_points, points = pca.project(train_x), pca.project(x)
    inputs = int(np.prod(train_x.shape[1:]))
    panels.append(Panel(f"PCA of the {inputs}-D inputs", points, knn_accuracy(train_points, train_y, points, y,
                                                                              NEIGHBOURS)))
    return panels, y


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


def draw_codes(setup, node: str, split: str, out_file: Path, source: str, title: str = "") -> list[Panel]:
    """Write the codes-versus-PCA picture of a run to `out_file`; returns its panels (codes first)."""
    panels, labels = code_panels(setup, node, split, source)
    title = title or (f"{setup.config['name']}: {split} split; {NEIGHBOURS}-NN fitted on the "
                      f"{len(setup.splits.train[0])} training points")
    plot_code_panels(panels, labels, setup.splits.class_names, split, out_file, title)
    return panels

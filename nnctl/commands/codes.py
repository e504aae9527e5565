"""`nnctl plot RUN --codes NODE`: the 2-D codes a network gives a split's inputs, beside PCA's 2-D
projection of the same inputs: the classic autoencoder-versus-PCA picture (drawn by nnctl.viz.codes).

Both maps are fitted on the training split only: PCA of the training inputs (NumPy SVD, see
nnctl.analysis.pca), and, for codes wider than 2, PCA of the training codes. Each panel shows the points
of the chosen split (test by default) coloured by class, and is titled with its k-nearest-neighbour
accuracy: a k-NN classifier fitted on the training split's 2-D points labels the split's 2-D points."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.analysis.knn import knn_accuracy
from nnctl.analysis.node_outputs import check_node, node_outputs, split_data
from nnctl.analysis.pca import fit_pca
from nnctl.errors import InputError
from nnctl.viz.codes import NEIGHBOURS, Panel, plot_code_panels


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


def draw_codes(setup, node: str, split: str, out_file: Path, source: str, title: str = "") -> list[Panel]:
    """Write the codes-versus-PCA picture of a run to `out_file`; returns its panels (codes first)."""
    panels, labels = code_panels(setup, node, split, source)
    title = title or (f"{setup.config.name}: {split} split; {NEIGHBOURS}-NN fitted on the "
                      f"{len(setup.splits.train[0])} training points")
    plot_code_panels(panels, labels, setup.splits.class_names, split, out_file, title)
    return panels

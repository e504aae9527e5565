"""`nnctl plot RUN --reconstructions N`: N images of a split in rows input / corrupted input /
reconstruction, for a network with a loss term that reconstructs its input (`target: input`); drawn by
nnctl.viz.reconstructions.

The corruption is `--corrupt MODE=AMOUNT` when given (any autoencoder can be shown damaged inputs), else
the run's own noise layer when one takes the network input (up to flatten and reshape), else none (the
middle row is then left out). It is drawn from the run's evaluation generator, so the same command gives
the same picture. The network runs in evaluation mode on the corrupted images; the reconstruction is what
the loss's scores say about the input (the sigmoid of logits for sigmoid_bce)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.analysis.node_outputs import split_data
from nnctl.build.prepare import evaluation_generator
from nnctl.errors import InputError
from nnctl.layers.noise import Corruption, Noise, corrupt
from nnctl.layers.shape import Flatten, Reshape
from nnctl.nn.model_config import INPUT
from nnctl.viz.reconstructions import plot_rows

MAX_IMAGES = 50


def reconstruction_term(setup, source: str):
    """The first loss term with `target: input`; InputError naming `source` when there is none."""
    for term in setup.objective.terms:
        if term.target == "input":
            return term
    raise InputError(f"{source}: no loss term reconstructs the input (target: input), so there are no "
                     f"reconstructions to draw")


def fed_by_input(network, node) -> bool:
    """Does `node` see the network input itself, up to flatten and reshape (which keep every value)?"""
    while node.inputs != [INPUT]:
        if len(node.inputs) != 1:
            return False
        node = network.by_name[node.inputs[0]]
        if not isinstance(node.layer, (Flatten, Reshape)):
            return False
    return True


def own_corruption(network) -> Corruption | None:
    """The damage of the run's first noise layer that takes the network input (up to flatten and
    reshape), if any: damaging the input with it is what that layer does in training."""
    for node in network.nodes:
        if isinstance(node.layer, Noise) and fed_by_input(network, node):
            return node.layer.how
    return None


def reconstruct(setup, count: int, split: str, how: Corruption | None, source: str):
    """(clean (K, ...), corrupted or None, reconstructions shaped like clean) for the first `count` images."""
    term = reconstruction_term(setup, source)
    x, _ = split_data(setup, split, source)
    if not 1 <= count <= min(MAX_IMAGES, len(x)):
        raise InputError(f"--reconstructions {count}: expected 1 to {min(MAX_IMAGES, len(x))} images (the {split} "
                         f"split has {len(x)})")
    clean = x[:count]
    damaged = None if how is None else corrupt(clean, how, evaluation_generator(setup.config.seed))[0]
    scores = setup.network.forward(clean if damaged is None else damaged, training=False, keep=[term.node])[term.node]
    return clean, damaged, term.loss.output(scores).reshape(clean.shape)


def draw_reconstructions(setup, count: int, split: str, how: Corruption | None, out_file: Path, source: str,
                         title: str = "") -> tuple[int, float]:
    """Write the picture; returns (rows drawn, mean squared error of the reconstructions to the clean images)."""
    how = how or own_corruption(setup.network)
    clean, damaged, rebuilt = reconstruct(setup, count, split, how, source)
    rows = [("input", clean)] + ([(f"corrupted\n({how.describe()})", damaged)] if damaged is not None else [])
    rows.append(("reconstruction", rebuilt))
    mse = float(np.mean(np.square(rebuilt.astype(np.float64) - clean)))
    title = title or f"{setup.config.name}: {count} {split} images; mean squared error {mse:.4f}"
    plot_rows(rows, out_file, title)
    return len(rows), mse

"""`loss: {..., class_weights: balanced | [w0, w1, ...]}`: the weights made concrete for one run's data.

A term's loss multiplies each sample's loss by the weight of its true class (nnctl.nn.losses). Here the
weights are checked against the data and handed to the loss:

    balanced      w_c = n_samples / (n_classes * count_c), counted on the training split's labels, so the
                  mean weight over the training samples is exactly 1 and the loss keeps its scale; a class
                  with no training samples gets weight 0 (it contributes nothing to the training loss)
    [w0, w1, ...] as given; one number per class (two for sigmoid_bce: target 0, target 1)

Only terms that score the labels themselves take class weights: softmax_cross_entropy and svm, and
sigmoid_bce on a single-logit net (scores (N, 1) against 0/1 labels). The same config and seed rebuild the
same training split, so `nnctl eval` recomputes the same weights and reports the same weighted loss.
"""

from __future__ import annotations

import numpy as np

from nnctl.errors import ConfigError
from nnctl.nn.losses import SigmoidBCE
from nnctl.nn.network import Network
from nnctl.nn.objective import Objective
from nnctl.options.spec import join_path


def balanced_weights(labels: np.ndarray, classes: int) -> np.ndarray:
    """(classes,) float64: n / (classes * count_c) for labels (N,) in [0, classes); 0 where count_c = 0."""
    counts = np.bincount(np.asarray(labels, dtype=np.int64).reshape(-1), minlength=classes)[:classes]
    weights = np.zeros(classes, dtype=np.float64)
    present = counts > 0
    weights[present] = counts.sum() / (classes * counts[present])
    return weights


def fit_class_weights(objective: Objective, network: Network, labels: np.ndarray,
                      num_classes: int | None) -> None:
    """Give every term that asks for class weights its concrete weights, from the training labels (N,).
    Raises ConfigError at loss.class_weights (or loss[i].class_weights) when they cannot apply."""
    for i, term in enumerate(objective.terms):
        wanted = term.loss.config.get("class_weights")
        if wanted is None:
            continue
        where = join_path(f"loss[{i}]" if len(objective.terms) > 1 else "loss", "class_weights")
        binary = isinstance(term.loss, SigmoidBCE)
        if num_classes is None or term.target != "labels":
            raise ConfigError(where, "class weights need a term scored against integer class labels "
                                     "(target: labels)")
        if binary and tuple(network.by_name[term.node].layer.out_shape) != (1,):
            raise ConfigError(where, "for sigmoid_bce, class weights apply to a single-logit net (units: 1) "
                                     "on 0/1 labels")
        classes = 2 if binary else num_classes
        if wanted == "balanced":
            weights = balanced_weights(labels, classes)
        else:
            if len(wanted) != classes:
                raise ConfigError(where, f"expected {classes} weights (one per class"
                                         f"{': target 0, target 1' if binary else ''}), got {len(wanted)}")
            weights = np.asarray(wanted, dtype=np.float64)
        counts = np.bincount(np.asarray(labels, dtype=np.int64).reshape(-1), minlength=classes)[:classes]
        prior = float(counts @ weights / max(counts.sum(), 1))
        term.loss.use_class_weights(weights, prior)

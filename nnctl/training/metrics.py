"""Classification metrics and whole-split evaluation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from nnctl.nn.class_metrics import class_scores, top_k_hits
from nnctl.nn.evaluation import Evaluation
from nnctl.nn.network import Network
from nnctl.nn.objective import Objective, predictions
from nnctl.training.signals import StopRequested

__all__ = ["confusion_matrix", "evaluate", "per_class_accuracy", "predictions"]


def confusion_matrix(true: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    return np.bincount(true * num_classes + pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> list[float | None]:
    """Recall of each class (diagonal / row sum); None for a class with no samples."""
    totals = confusion.sum(axis=1)
    return [float(confusion[i, i] / totals[i]) if totals[i] else None for i in range(len(totals))]


def labels_of(y: np.ndarray) -> np.ndarray:
    """(N,) int64 class labels from labels (N,) or (N, 1)."""
    return (y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y).astype(np.int64)


Corrupter = Callable[[np.ndarray], np.ndarray]


def evaluate(network: Network, objective: Objective, x: np.ndarray, y: np.ndarray, batch_size: int,
             num_classes: int | None, rng: np.random.Generator | None = None,
             corrupt: Corrupter | None = None, stop: Callable[[], int | None] | None = None,
             bar: str | None = None, top_k: tuple[int, ...] = ()) -> Evaluation:
    """The Evaluation (nnctl.nn.evaluation) of `network` on (x, y) in eval mode, in batches of
    `batch_size`: loss, accuracy and confusion matrix of the first head, each term's loss and each head's
    accuracy with several terms, the reconstruction error (of the sigmoid of logits for sigmoid_bce).

    `rng` goes to the layers (noise at evaluation); `corrupt` damages each input batch before the network
    sees it, while reconstructions are still compared with the clean input. With `bar`, a progress bar of
    that title on stderr. With `stop` (a stop signal's number once one has arrived), StopRequested ends
    the work between batches. `top_k`: the k of the top-k accuracies to measure (first head, k < C).
    """
    terms, heads = objective.terms, objective.heads
    term_sums = np.zeros(len(terms))
    head_correct = np.zeros(len(heads), dtype=np.int64)
    primary_preds = []
    top_hits = np.zeros(len(top_k), dtype=np.int64)
    rebuilds = [i for i, term in enumerate(terms) if term.target == "input"]
    squared_error = total_loss = 0.0
    starts = range(0, len(x), batch_size)
    for start in starts if bar is None else tqdm(starts, desc=bar, unit="batch", leave=False, dynamic_ncols=True):
        if stop is not None and (signum := stop()) is not None:
            objective.release()
            raise StopRequested(signum)
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        seen = xb if corrupt is None else corrupt(xb)
        total_loss += objective.forward(network, seen, yb, training=False, rng=rng, clean=xb) * len(xb)
        term_sums += np.asarray(objective.values) * len(xb)
        if heads:
            head_correct += objective.correct(yb)
        if objective.primary.head:
            primary_preds.append(objective.primary.predict(objective.primary_scores()))
            if top_k:
                top_hits += top_k_hits(objective.primary_scores(), labels_of(yb), top_k)
        if rebuilds:
            term = terms[rebuilds[0]]
            scores = objective.scores_of(term.node)
            residual = term.loss.output(scores) - xb.reshape(scores.shape)
            squared_error += float(np.square(residual, dtype=np.float64).sum())
    objective.release()
    count = max(len(x), 1)
    figures: dict = {}
    if len(terms) > 1:
        figures["term_loss"] = {term.name: float(total) / count for term, total in zip(terms, term_sums)}
        figures["head_acc"] = {term.name: int(c) / count for term, c in zip(heads, head_correct)}
    if rebuilds:
        figures["reconstruction_mse"] = squared_error / (count * int(np.prod(x.shape[1:])))
    if primary_preds:
        pred = np.concatenate(primary_preds)
        true = labels_of(y)
        figures["correct"] = int((pred == true).sum())
        figures["acc"] = figures["correct"] / count
        if num_classes:
            confusion = confusion_matrix(true, pred, num_classes)
            figures["confusion"] = confusion.tolist()
            figures["per_class_acc"] = per_class_accuracy(confusion)
            figures.update(class_scores(confusion))
        if top_k:
            figures["top_k"] = {k: int(hits) / count for k, hits in zip(top_k, top_hits)}
    return Evaluation(total_loss / count + objective.penalty(network.params()), len(x), **figures)

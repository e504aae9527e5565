"""Classification metrics and whole-split evaluation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from nnctl.nn.network import Network
from nnctl.nn.objective import Objective
from nnctl.training.signals import StopRequested


def predictions(scores: np.ndarray, task: str) -> np.ndarray | None:
    """Predicted labels (N,) from scores (N, C): argmax over classes, or logit > 0 for a single-logit
    binary net. None where a single label per sample makes no sense (regression, multi-label)."""
    if task == "regression":
        return None
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.int64)
    if task == "binary":
        return None
    return scores.argmax(axis=1)


def confusion_matrix(true: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) counts: row = true class, column = predicted class."""
    return np.bincount(true * num_classes + pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def per_class_accuracy(confusion: np.ndarray) -> list[float | None]:
    """Recall of each class (diagonal / row sum); None for a class with no samples."""
    totals = confusion.sum(axis=1)
    return [float(confusion[i, i] / totals[i]) if totals[i] else None for i in range(len(totals))]


def evaluate(network: Network, objective: Objective, x: np.ndarray, y: np.ndarray, batch_size: int,
             num_classes: int | None, stop: Callable[[], int | None] | None = None,
             bar: str | None = None) -> dict:
    """Loss (data loss averaged over samples, plus the weight penalty) and, for classification, accuracy
    and the confusion matrix of `network` on (x, y), in eval mode, in batches of `batch_size`; with `bar`,
    a progress bar of that title on stderr. With `stop` (a stop signal's number once one has arrived),
    StopRequested ends the work between batches."""
    total_loss = 0.0
    preds = []
    starts = range(0, len(x), batch_size)
    for start in starts if bar is None else tqdm(starts, desc=bar, unit="batch", leave=False, dynamic_ncols=True):
        if stop is not None and (signum := stop()) is not None:
            objective.scores = {}
            raise StopRequested(signum)
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        total_loss += objective.forward(network, xb, yb, training=False) * len(xb)
        pred = predictions(objective.primary_scores(), objective.task)
        if pred is not None:
            preds.append(pred)
    objective.scores = {}
    result: dict = {"loss": total_loss / max(len(x), 1) + objective.penalty(network.params()), "samples": len(x)}
    if preds and objective.primary.target == "labels":
        pred = np.concatenate(preds)
        true = y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y
        true = true.astype(np.int64)
        result["correct"] = int((pred == true).sum())
        result["acc"] = result["correct"] / max(len(x), 1)
        if num_classes:
            confusion = confusion_matrix(true, pred, num_classes)
            result["confusion"] = confusion.tolist()
            result["per_class_acc"] = per_class_accuracy(confusion)
    return result

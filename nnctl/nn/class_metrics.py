"""Classification figures beyond accuracy, from a confusion matrix and from the scores' ranks.

From the confusion matrix M (C x C, row = true class, column = predicted class), per class c:

    support_c   = sum_j M[c, j]          samples of class c
    predicted_c = sum_i M[i, c]          samples predicted as c
    precision_c = M[c, c] / predicted_c  (0 when nothing is predicted as c)
    recall_c    = M[c, c] / support_c    (None when the split has no sample of c)
    f1_c        = 2 M[c, c] / (support_c + predicted_c), the harmonic mean of the two (None as recall)

and over the classes the split has (support_c > 0):

    macro_f1      the plain mean of f1_c          every class counts the same, however small
    weighted_f1   the mean of f1_c weighted by support_c
    balanced_acc  the plain mean of recall_c      (accuracy if every class were equally frequent)

top-k accuracy (`topK`): the share of samples whose true class is among the k highest scores, ties broken
as argmax breaks them (the lower class index first), so top1 is the accuracy.

The names `train.metrics` accepts are METRIC_WORDS and topK (K >= 2); every one of them is better when
larger.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from nnctl.options.spec import Mismatch

METRIC_WORDS = ("acc", "macro_f1", "weighted_f1", "balanced_acc")
TOP_K = re.compile(r"^top([0-9]+)$")


def MetricList():
    """A non-empty list of distinct metric names: acc, macro_f1, weighted_f1, balanced_acc or topK (K >= 2)."""
    what = f"a list of metric names ({', '.join(METRIC_WORDS)}, or topK with K >= 2 such as top5)"

    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value) or not all(
                isinstance(v, str) and is_metric_word(v) for v in value):
            raise Mismatch(what)
        return list(value)

    return check


def is_metric_word(word: str) -> bool:
    match = TOP_K.match(word)
    return word in METRIC_WORDS or (match is not None and int(match.group(1)) >= 2)


def top_k_of(word: str) -> int | None:
    """K of a `topK` name, else None."""
    match = TOP_K.match(word)
    return int(match.group(1)) if match else None


def class_scores(confusion: np.ndarray) -> dict:
    """Per-class precision, recall, f1 and support (lists), macro_f1, weighted_f1 and balanced_acc (None
    when the split has no samples) from an integer confusion matrix (C, C); see the module docstring."""
    confusion = np.asarray(confusion, dtype=np.int64)
    hits = np.diagonal(confusion)
    support = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    present = support > 0
    precision = np.divide(hits, predicted, out=np.zeros(len(hits)), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros(len(hits)), where=present)
    f1 = np.divide(2 * hits, support + predicted, out=np.zeros(len(hits)), where=present)
    total = int(support.sum())
    return {
        "precision": precision.tolist(),
        "recall": [float(r) if p else None for r, p in zip(recall, present)],
        "f1": [float(f) if p else None for f, p in zip(f1, present)],
        "support": support.tolist(),
        "macro_f1": float(f1[present].mean()) if total else None,
        "weighted_f1": float(f1 @ support / total) if total else None,
        "balanced_acc": float(recall[present].mean()) if total else None,
    }


def top_k_hits(scores: np.ndarray, true: np.ndarray, ks: tuple[int, ...]) -> np.ndarray:
    """(len(ks),) int64: how many of the N samples have their true class among the k highest of scores
    (N, C), for each k in ks. A class ranks above the true one when its score is higher, or equal with a
    lower index (argmax's tie rule)."""
    n, classes = scores.shape
    true_scores = scores[np.arange(n), true][:, None]
    ahead = scores > true_scores
    ahead |= (scores == true_scores) & (np.arange(classes) < true[:, None])
    rank = ahead.sum(axis=1)
    return np.array([int(np.count_nonzero(rank < k)) for k in ks], dtype=np.int64)

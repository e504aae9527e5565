"""Loss functions on a batch of scores. Each returns the batch mean and its exact gradient.

Interface: `forward(scores, target) -> float` stores what `backward() -> dscores` needs; `dscores` has
the shape and dtype of `scores` and is the gradient of the returned (mean) value.
"""

from __future__ import annotations

import math

import numpy as np

from nnctl.spec import Option


class Loss:
    """Base class. `task` says what the targets are: integer class labels ("classification"),
    real values shaped like the scores ("regression") or 0/1 values ("binary")."""

    options: dict[str, Option] = {}
    task = "classification"

    def __init__(self, **config):
        self.config = config

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def expected_initial(self, num_outputs: int) -> float | None:
        """The loss a freshly initialized net with small weights should show, when theory says (else None)."""
        return None

    def kinks(self) -> bool:
        return False


class SoftmaxCrossEntropy(Loss):
    """L = -(1/N) sum_n log softmax(s_n)[y_n], fused with the softmax for stability.

    scores: (N, C) logits; target: (N,) integer labels in [0, C).
    Gradient: dL/ds = (softmax(s) - onehot(y)) / N. The max is subtracted before exponentiating,
    so large logits never overflow.
    """

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        n = scores.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_prob_true = shifted[np.arange(n), target] - np.log(total[:, 0])
        exp /= total
        self.probs, self.target = exp, target
        return float(-log_prob_true.mean())

    def backward(self) -> np.ndarray:
        n = self.probs.shape[0]
        d = self.probs
        d[np.arange(n), self.target] -= 1
        d /= n
        self.probs = None
        return d

    def expected_initial(self, num_outputs: int) -> float | None:
        return math.log(num_outputs)

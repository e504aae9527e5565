"""Loss functions on a batch of scores. Each returns the batch mean and its exact gradient.

Interface: `forward(scores, target) -> float` stores what `backward() -> dscores` needs; `dscores` has
the shape and dtype of `scores` and is the gradient of the returned (mean) value. Each class states how
it averages: classification losses take the mean over the N samples; element losses (binary and
regression) take the mean over all N*K values.
"""

from __future__ import annotations

import math

import numpy as np

from nnctl.errors import InputError
from nnctl.options.spec import Float, Option, validate


class Loss:
    """Base class. `task` says what the targets are: integer class labels ("classification"),
    real values shaped like the scores ("regression") or 0/1 values ("binary")."""

    options: dict[str, Option] = {}
    task = "classification"

    def __init__(self, **config):
        self.config = validate(self.options, config, "loss")

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def expected_initial(self, num_outputs: int) -> float | None:
        """The loss a freshly initialized net with small weights should show, when theory says (else None)."""
        return None

    def output(self, scores: np.ndarray) -> np.ndarray:
        """What the scores say about the target's values, e.g. a reconstruction: the scores themselves
        for regression losses, the sigmoid of the logits for sigmoid_bce."""
        return scores

    def kinks(self) -> bool:
        return False


class SoftmaxCrossEntropy(Loss):
    """L = -(1/N) sum_n sum_c q_nc log softmax(s_n)_c, fused with the softmax for stability.

    scores: (N, C) logits; target: (N,) integer labels in [0, C). The target distribution q is one-hot,
    or with `label_smoothing` e: q = (1 - e) onehot(y) + e / C. Gradient: dL/ds = (softmax(s) - q) / N.
    The max is subtracted before exponentiating, so large logits never overflow.
    """

    options = {
        "label_smoothing": Option(Float(0, 1, high_open=True), 0.0,
                                  "share of the target mass spread evenly over all classes"),
    }

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        n = scores.shape[0]
        smoothing = self.config["label_smoothing"]
        shifted = scores - scores.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(axis=1, keepdims=True)
        log_total = np.log(total[:, 0])
        log_prob_true = shifted[np.arange(n), target] - log_total
        per_sample = -log_prob_true
        if smoothing:
            mean_log_prob = shifted.mean(axis=1) - log_total
            per_sample = (1 - smoothing) * per_sample - smoothing * mean_log_prob
        exp /= total
        self.probs, self.target = exp, target
        return float(per_sample.mean())

    def backward(self) -> np.ndarray:
        n, classes = self.probs.shape
        smoothing = self.config["label_smoothing"]
        d = self.probs
        if smoothing:
            d -= d.dtype.type(smoothing / classes)
        d[np.arange(n), self.target] -= d.dtype.type(1 - smoothing)
        d /= n
        self.probs = None
        return d

    def expected_initial(self, num_outputs: int) -> float | None:
        return math.log(num_outputs)


class MulticlassHinge(Loss):
    """Multiclass SVM (Weston-Watkins, as in cs231n):
        L = (1/N) sum_n sum_{j != y_n} max(0, s_nj - s_ny + margin)

    scores: (N, C); target: (N,) integer labels. Gradient (taken as 0 where a margin is exactly 0):
    dL/ds_nj = [m_nj > 0] / N for j != y_n, dL/ds_ny = -(number of j with m_nj > 0) / N.
    """

    options = {"margin": Option(Float(0, low_open=True), 1.0, "the score gap the true class must keep")}

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        n = scores.shape[0]
        rows = np.arange(n)
        margins = scores - scores[rows, target][:, None]
        margins += self.config["margin"]
        margins[rows, target] = 0
        np.maximum(margins, 0, out=margins)
        self.active, self.target, self.dtype = margins > 0, target, scores.dtype
        return float(margins.sum()) / n

    def backward(self) -> np.ndarray:
        active = self.active
        n = active.shape[0]
        d = active.astype(self.dtype)
        d[np.arange(n), self.target] = -active.sum(axis=1)
        d /= n
        self.active = None
        return d

    def expected_initial(self, num_outputs: int) -> float | None:
        return (num_outputs - 1) * self.config["margin"]

    def kinks(self) -> bool:
        return True


def targets_like(scores: np.ndarray, target: np.ndarray, loss: str) -> np.ndarray:
    """`target` as an array of the scores' shape and dtype; (N,) targets fit (N, 1) scores."""
    target = np.asarray(target)
    if target.shape != scores.shape:
        if scores.ndim == 2 and scores.shape[1] == 1 and target.shape == scores.shape[:1]:
            target = target.reshape(scores.shape)
        else:
            raise InputError(f"loss {loss}: targets of shape {target.shape} do not fit scores of shape "
                             f"{scores.shape} (expected the same shape, or (N,) for (N, 1) scores)")
    return target.astype(scores.dtype, copy=False)


class SigmoidBCE(Loss):
    """Binary cross-entropy on logits, mean over all N*K values:
        L = mean( -t log sigmoid(s) - (1 - t) log(1 - sigmoid(s)) ) = mean( max(s, 0) - s t + log1p(e^-|s|) )

    scores: (N, K) logits, one independent yes/no per column; target: 0/1 values of the same shape (or
    (N,) for a single-logit net with scores (N, 1)). The second form never overflows.
    Gradient: (sigmoid(s) - t) / (N*K).
    """

    task = "binary"

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        t = targets_like(scores, target, "sigmoid_bce")
        z = np.exp(-np.abs(scores))
        values = np.log1p(z)
        values += np.maximum(scores, 0)
        values -= scores * t
        sigmoid = np.where(scores >= 0, 1, z)
        sigmoid /= 1 + z
        sigmoid -= t
        self.residual = sigmoid
        return float(values.mean())

    def backward(self) -> np.ndarray:
        d = self.residual
        d /= d.size
        self.residual = None
        return d

    def output(self, scores: np.ndarray) -> np.ndarray:
        """sigmoid(scores), computed without overflow for logits of either sign."""
        z = np.exp(-np.abs(scores))
        return np.where(scores >= 0, 1, z) / (1 + z)


class MeanSquaredError(Loss):
    """L = mean((s - t)^2) over all N*K values (no 1/2);  dL/ds = 2 (s - t) / (N*K).

    scores: (N, K); target: real values of the same shape (or (N,) for scores (N, 1)).
    """

    task = "regression"

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        self.residual = scores - targets_like(scores, target, "mse")
        return float(np.vdot(self.residual, self.residual) / self.residual.size)

    def backward(self) -> np.ndarray:
        d = self.residual
        d *= d.dtype.type(2 / d.size)
        self.residual = None
        return d


class MeanAbsoluteError(Loss):
    """L = mean(|s - t|) over all N*K values;  dL/ds = sign(s - t) / (N*K) (0 where s = t)."""

    task = "regression"

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        self.residual = scores - targets_like(scores, target, "l1")
        return float(np.abs(self.residual).mean())

    def backward(self) -> np.ndarray:
        d = np.sign(self.residual, out=self.residual)
        d /= d.size
        self.residual = None
        return d

    def kinks(self) -> bool:
        return True


class Huber(Loss):
    """Huber loss (smooth L1 for delta = 1), mean over all N*K values of, with r = s - t,
        h(r) = 0.5 r^2                    if |r| <= delta
               delta (|r| - 0.5 delta)    otherwise
    dL/ds = clip(r, -delta, delta) / (N*K). The slope is continuous but the curvature jumps at
    |r| = delta, so a centered difference straddling it is off: kinks() is True.
    """

    task = "regression"
    options = {"delta": Option(Float(0, low_open=True), 1.0, "where the quadratic turns linear")}

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        delta = scores.dtype.type(self.config["delta"])
        residual = scores - targets_like(scores, target, "huber")
        size = np.abs(residual)
        values = np.where(size <= delta, 0.5 * residual * residual, delta * (size - 0.5 * delta))
        self.slope = np.clip(residual, -delta, delta, out=residual)
        return float(values.mean())

    def backward(self) -> np.ndarray:
        d = self.slope
        d /= d.size
        self.slope = None
        return d

    def kinks(self) -> bool:
        return True

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
from nnctl.kernels import backend, softmax_ce
from nnctl.options.spec import Float, ListOf, Option, Optional, OrWord, validate

CLASS_WEIGHTS = Option(Optional(OrWord("balanced", ListOf(Float(0, low_open=True), 2,
                                                          "a list of at least 2 positive numbers"))), None,
                       "multiply each sample's loss by the weight of its true class: null (all 1), balanced "
                       "(n_samples / (n_classes x count of the class) in the training split) or a list [w0, w1, "
                       "...], one per class; the loss stays the mean over the N samples")


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

    # ---------------------------------------------------------------------------------- class weights
    class_weights: np.ndarray | None = None      # (C,) float64 weight per class, once known (class_weights.py)
    prior_weight = 1.0                           # the mean weight over the training labels (expected_initial)

    def use_class_weights(self, weights: np.ndarray | None, prior_weight: float = 1.0) -> None:
        """Weight each sample's loss by weights[true class] from now on (None: unweighted)."""
        self.class_weights = None if weights is None else np.asarray(weights, dtype=np.float64)
        self.prior_weight = prior_weight

    def sample_weights(self, target: np.ndarray, dtype) -> np.ndarray | None:
        """(N,) weights of the samples' true classes in `dtype`, or None when unweighted."""
        if self.class_weights is None:
            return None
        return self.class_weights.astype(dtype)[np.asarray(target, dtype=np.int64).reshape(-1)]


class SoftmaxCrossEntropy(Loss):
    """L = -(1/N) sum_n sum_c q_nc log softmax(s_n)_c, fused with the softmax for stability.

    scores: (N, C) logits; target: (N,) integer labels in [0, C). The target distribution q is one-hot,
    or with `label_smoothing` e: q = (1 - e) onehot(y) + e / C. Gradient: dL/ds = (softmax(s) - q) / N.
    The max is subtracted before exponentiating, so large logits never overflow. With class weights w,
    sample n's term is multiplied by w[y_n] (still divided by N), and so is its row of the gradient.
    With compiled kernels on, both run as compiled loops, with the same numbers (nnctl.kernels.softmax_ce).
    """

    options = {
        "label_smoothing": Option(Float(0, 1, high_open=True), 0.0,
                                  "share of the target mass spread evenly over all classes"),
        "class_weights": CLASS_WEIGHTS,
    }
    fused = False            # the last forward ran the compiled kernels, so backward does too

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        n = scores.shape[0]
        smoothing = self.config["label_smoothing"]
        if backend.active() and scores.ndim == 2 and np.ndim(target) == 1 and np.asarray(target).dtype.kind in "iu":
            self.weights = self.sample_weights(target, scores.dtype)
            fused = softmax_ce.forward(scores, target, smoothing, self.weights)   # None: a label out of range
            if fused is not None:
                per_sample, self.probs = fused
                self.target, self.fused = target, True
                return float(per_sample.mean())
        self.fused = False
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
        self.weights = self.sample_weights(target, scores.dtype)
        if self.weights is not None:
            per_sample *= self.weights
        self.probs, self.target = exp, target
        return float(per_sample.mean())

    def backward(self) -> np.ndarray:
        if self.fused:
            d = softmax_ce.backward(self.probs, self.target, self.config["label_smoothing"], self.weights)
            self.probs = self.weights = None
            return d
        n, classes = self.probs.shape
        smoothing = self.config["label_smoothing"]
        d = self.probs
        if smoothing:
            d -= d.dtype.type(smoothing / classes)
        d[np.arange(n), self.target] -= d.dtype.type(1 - smoothing)
        d /= n
        if self.weights is not None:
            d *= self.weights[:, None]
        self.probs = self.weights = None
        return d

    def expected_initial(self, num_outputs: int) -> float | None:
        return math.log(num_outputs) * self.prior_weight


class MulticlassHinge(Loss):
    """Multiclass SVM (Weston-Watkins, as in cs231n):
        L = (1/N) sum_n sum_{j != y_n} max(0, s_nj - s_ny + margin)

    scores: (N, C); target: (N,) integer labels. Gradient (taken as 0 where a margin is exactly 0):
    dL/ds_nj = [m_nj > 0] / N for j != y_n, dL/ds_ny = -(number of j with m_nj > 0) / N.
    With class weights w, sample n's sum and its row of the gradient are multiplied by w[y_n].
    """

    options = {"margin": Option(Float(0, low_open=True), 1.0, "the score gap the true class must keep"),
               "class_weights": CLASS_WEIGHTS}

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        n = scores.shape[0]
        rows = np.arange(n)
        margins = scores - scores[rows, target][:, None]
        margins += self.config["margin"]
        margins[rows, target] = 0
        np.maximum(margins, 0, out=margins)
        self.active, self.target, self.dtype = margins > 0, target, scores.dtype
        self.weights = self.sample_weights(target, scores.dtype)
        if self.weights is not None:
            return float(margins.sum(axis=1) @ self.weights) / n
        return float(margins.sum()) / n

    def backward(self) -> np.ndarray:
        active = self.active
        n = active.shape[0]
        d = active.astype(self.dtype)
        d[np.arange(n), self.target] = -active.sum(axis=1)
        d /= n
        if self.weights is not None:
            d *= self.weights[:, None]
        self.active = self.weights = None
        return d

    def expected_initial(self, num_outputs: int) -> float | None:
        return (num_outputs - 1) * self.config["margin"] * self.prior_weight

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
    Gradient: (sigmoid(s) - t) / (N*K). With class_weights [w0, w1] (a single-logit net on 0/1 labels),
    each value and its gradient are multiplied by w0 where t = 0 and by w1 where t = 1.
    """

    task = "binary"
    options = {"class_weights": CLASS_WEIGHTS}

    def forward(self, scores: np.ndarray, target: np.ndarray) -> float:
        t = targets_like(scores, target, "sigmoid_bce")
        self.weights = None
        if self.class_weights is not None:
            self.weights = np.where(t > 0.5, *self.class_weights.astype(scores.dtype)[::-1])
        z = np.exp(-np.abs(scores))
        values = np.log1p(z)
        values += np.maximum(scores, 0)
        values -= scores * t
        sigmoid = np.where(scores >= 0, 1, z)
        sigmoid /= 1 + z
        sigmoid -= t
        if self.weights is not None:
            values *= self.weights
            sigmoid *= self.weights
        self.residual = sigmoid
        return float(values.mean())

    def backward(self) -> np.ndarray:
        d = self.residual
        d /= d.size
        self.residual = self.weights = None
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

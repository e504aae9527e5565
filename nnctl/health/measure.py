"""What one health record measures, as pure functions of arrays.

For every node's output on the probe sample (a fixed set of training inputs, run in evaluation mode):
    mean, std           of all its values
    dead                ReLU outputs: the share of units (features of (N, D), channels of (N, C, H, W))
                        that are zero for every probe sample and position
    saturated           sigmoid and tanh outputs: the share of values where the slope is below 2% of its
                        largest value (|y| > 0.99 for tanh; y < 0.005 or y > 0.995 for sigmoid), where
                        almost no gradient passes back
For every trainable parameter tensor (measured before the step's update):
    mean, std           of its values (for batch norm's gamma: the gain statistics)
    norm                ||W||
    grad_norm           ||dL/dW|| of the step
    update_ratio        ||W_after - W_before|| / ||W_before||, the size of the step's update relative to
                        the weights (rule of thumb: about 1e-3); empty when ||W|| is 0
Norms are Frobenius norms (the square root of the sum of squares of all entries).
"""

from __future__ import annotations

import math

import numpy as np

SATURATION_SLOPE = 0.02          # "saturated": slope below this share of the activation's largest slope
HISTOGRAM_BINS = 40
PROBE_SAMPLES = 256              # at most this many training inputs in the probe sample ...
PROBE_BYTES = 32 * 2 ** 20       # ... and fewer if all node outputs on it would need more memory than this
MIN_PROBE_SAMPLES = 16

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "elu", "gelu", "softplus", "tanh", "sigmoid")
BOUNDED = {"tanh": (-1.0, 1.0), "sigmoid": (0.0, 1.0)}     # histograms of these use their whole range


def probe_size(node_sizes: list[int], itemsize: int, available: int) -> int:
    """How many probe samples to take: PROBE_SAMPLES, fewer when `node_sizes` (values per sample of every
    node output) x itemsize would exceed PROBE_BYTES, at least MIN_PROBE_SAMPLES, at most `available`."""
    per_sample = max(1, sum(node_sizes)) * itemsize
    return max(1, min(available, PROBE_SAMPLES, max(MIN_PROBE_SAMPLES, PROBE_BYTES // per_sample)))


def probe_rows(available: int, count: int) -> np.ndarray:
    """`count` row indices spread evenly over `available` rows (no random draw): (count,) int64."""
    return np.unique(np.linspace(0, available - 1, num=count).round().astype(np.int64))


def dead_fraction(y: np.ndarray) -> float:
    """Share of units (axis 1) whose outputs y: (N, C, ...) are never positive."""
    if y.ndim < 2 or y.shape[1] == 0:
        return float("nan")
    active = np.any(y > 0, axis=tuple(a for a in range(y.ndim) if a != 1))
    return float(1.0 - np.count_nonzero(active) / active.size)


def saturated_fraction(layer_type: str, y: np.ndarray) -> float:
    """Share of outputs of a tanh or sigmoid where its slope is below SATURATION_SLOPE of the largest."""
    if y.size == 0:
        return float("nan")
    if layer_type == "tanh":          # slope 1 - y^2, largest 1
        flat = np.count_nonzero(np.abs(y) > math.sqrt(1 - SATURATION_SLOPE))
    else:                             # sigmoid: slope y (1 - y), largest 1/4
        flat = np.count_nonzero(y * (1 - y) < SATURATION_SLOPE / 4)
    return flat / y.size


def output_stats(layer_type: str, y: np.ndarray) -> dict[str, float | None]:
    """{"mean", "std", "dead", "saturated"} of one node's output (dead and saturated None where they do not
    apply). Sums are taken in float64."""
    finite = np.isfinite(y).all()
    mean = float(np.mean(y, dtype=np.float64)) if y.size else float("nan")
    std = float(np.std(y, dtype=np.float64)) if y.size and finite else float("nan")
    return {"mean": mean, "std": std,
            "dead": dead_fraction(y) if layer_type == "relu" else None,
            "saturated": saturated_fraction(layer_type, y) if layer_type in BOUNDED else None}


def param_stats(w: np.ndarray) -> dict[str, float]:
    """{"mean", "std", "norm"} of a parameter tensor."""
    if w.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "norm": 0.0}
    return {"mean": float(np.mean(w, dtype=np.float64)), "std": float(np.std(w, dtype=np.float64)),
            "norm": norm(w)}


def norm(a: np.ndarray) -> float:
    """Frobenius norm as the square root of a dot product of the flat view: no temporary array (in the
    array's own precision, ample for a diagnostic)."""
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))


def histogram(layer_type: str, y: np.ndarray, bins: int = HISTOGRAM_BINS) -> tuple[np.ndarray, np.ndarray]:
    """(edges (bins + 1,), counts (bins,)) of the finite values of y: over the activation's whole range for
    tanh and sigmoid (so collapsed or saturated outputs show as such), else over [min, max]."""
    values = y.reshape(-1)
    if not np.isfinite(values).all():
        values = values[np.isfinite(values)]
    if layer_type in BOUNDED:
        low, high = BOUNDED[layer_type]
    elif values.size:
        low, high = float(values.min()), float(values.max())
    else:
        low, high = 0.0, 1.0
    if not high > low:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    return edges, counts

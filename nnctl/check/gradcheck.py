"""Numeric gradient checking: every analytic gradient against centered differences.

A layer is checked through the scalar f = sum(y * dy) for a random upstream gradient dy, whose gradient
with respect to the input and to each parameter is exactly what `backward(dy)` returns. To keep rounding
noise at the level of single outputs rather than of the whole sum, f is evaluated as
sum((y - y0) * dy) with y0 the unperturbed output: outputs an entry does not touch cancel exactly.
A loss is checked through its own value, a whole network through its objective (losses + penalties).

Each tensor gets one `CheckRow`: the largest relative error over its checked entries (`relative_error`)
and a `verdict`: pass up to 1e-7, warn up to 1e-4 where a derivative jumps (ReLU, max, L1), else fail.
Large tensors are checked on a random subset of entries (drawn from the given generator); the row
records how many entries were checked out of how many. Checks are meant for float64 layers and data:
float32 rounding alone exceeds the pass limit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from nnctl.layers.base import Layer
from nnctl.nn.losses import Loss

if TYPE_CHECKING:
    from nnctl.nn.network import Network
    from nnctl.nn.objective import Objective

PASS_LIMIT = 1e-7        # at most this relative error passes
WARN_LIMIT = 1e-4        # up to this it is a warning where a derivative jumps (kinks), else a failure
NOISE_SHARE = 1e-2       # relative errors are measured against at least this share of the largest entry
MAX_ENTRIES = 200        # entries per tensor checked by default; more are sampled down to this


@dataclass
class CheckRow:
    """The outcome for one tensor: `where` (layer or node name, or "loss"), `tensor` ("x", "W", ...)."""

    where: str
    tensor: str
    shape: tuple
    checked: int
    total: int
    max_rel_error: float
    verdict: str   # "pass" | "warn" | "fail"
    on_kinks: int = 0   # checked entries left out because a +-eps step crosses a kink there (see below)


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float = 0.0) -> float:
    """max over entries i of |a_i - n_i| / max(|a_i| + |n_i|, tiny), with
    tiny = max(1e-2 * max_j (|a_j| + |n_j|), floor, smallest normal float64).

    The share of the largest entry keeps rounding noise on entries near zero, which no centered
    difference resolves, from reading as a failure; an error on such an entry still fails unless it is
    below 1e-6 (passes below 1e-9) of the tensor's largest gradient. `floor` is an absolute lower bound
    for the same purpose when the whole tensor's gradient may be zero (see `noise_floor`). Two all-zero
    gradients agree (0.0); any NaN gives NaN; empty arrays give 0.0.
    """
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)
    n = np.asarray(numeric, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return 0.0
    size = np.abs(a) + np.abs(n)
    if np.isnan(size).any():
        return float("nan")
    tiny = max(NOISE_SHARE * float(size.max()), floor, np.finfo(np.float64).tiny)
    return float((np.abs(a - n) / np.maximum(size, tiny)).max())


def noise_floor(value: float, eps: float) -> float:
    """A denominator floor for checking the gradient of a scalar of size `value` by differences of step
    eps: rounding makes such a numeric gradient uncertain by about machine_eps * |value| / eps, and
    an error of that size should pass, so the floor is that uncertainty / PASS_LIMIT."""
    return float(np.finfo(np.float64).eps * abs(value) / eps / PASS_LIMIT)


def numeric_gradient(f: Callable[[], float], array: np.ndarray, eps: float,
                     indices: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Centered differences (f() with a_i + eps  -  f() with a_i - eps) / (2 eps).

    `array` is perturbed in place, one entry at a time, and each entry is restored to its exact old value;
    `f` takes no arguments and must read `array`. `indices` are flat (C-order) indices to check.
    Returns the gradient shaped like `array` when `indices` is None, else a 1-D array aligned with them.
    """
    flat = range(array.size) if indices is None else indices
    out = np.empty(len(flat), dtype=np.float64)
    for k, i in enumerate(flat):
        where = np.unravel_index(int(i), array.shape)
        old = array[where].copy()
        array[where] = old + eps
        plus = f()
        array[where] = old - eps
        minus = f()
        array[where] = old
        out[k] = (plus - minus) / (2 * eps)
    return out.reshape(array.shape) if indices is None else out


KINK_SHARE = 1e-2   # one-sided slopes differing by more than this share of their size mark a kink


def kink_mask(f: Callable[[], float], array: np.ndarray, eps: float, indices: np.ndarray) -> np.ndarray:
    """For each checked entry: does a step of +-eps cross a kink there (a ReLU at 0, a tie in a max)?

    Left and right slopes (f0 - f-)/eps and (f+ - f0)/eps agree to O(eps * f'') for a smooth f, and differ
    by O(1) across a kink, where no centered difference can agree with the one-sided analytic derivative.
    """
    base = f()
    out = np.zeros(len(indices), dtype=bool)
    noise = noise_floor(base, eps) * PASS_LIMIT
    for k, i in enumerate(indices):
        where = np.unravel_index(int(i), array.shape)
        old = array[where].copy()
        array[where] = old + eps
        right = (f() - base) / eps
        array[where] = old - eps
        left = (base - f()) / eps
        array[where] = old
        out[k] = abs(right - left) > KINK_SHARE * (abs(right) + abs(left)) + 10 * noise
    return out


def verdict(max_rel_error: float, kinks: bool) -> str:
    """pass <= 1e-7; warn <= 1e-4 only if kinks (a derivative jumps nearby), else fail; NaN fails."""
    if not max_rel_error <= WARN_LIMIT:
        return "fail"
    if max_rel_error <= PASS_LIMIT:
        return "pass"
    return "warn" if kinks else "fail"


def check_layer(layer: Layer, x: np.ndarray | list[np.ndarray], rng: np.random.Generator, eps: float = 1e-6,
                max_entries: int = MAX_ENTRIES) -> list[CheckRow]:
    """Check a built layer's input gradient(s) and every parameter gradient at input x: (N, *in_shape)
    (a list of inputs for layers with arity "many"), using training-mode forwards.

    dy is drawn from `rng`, as are the sampled entries. x and the parameters are perturbed in place and
    restored; buffers (batch-norm running statistics) are restored too, and every forward draws the same
    dropout mask (from `mask_generator()`).
    Rows: one per input ("x", or "x[0]", "x[1]", ...), then one per parameter in `layer.params` order.
    """
    many = layer.arity == "many"
    inputs = list(x) if many else [x]
    with _buffers_restored([layer]):
        def run() -> np.ndarray:
            return layer.forward(inputs if many else inputs[0], True, mask_generator())

        baseline = np.array(run(), copy=True)
        dy = rng.standard_normal(baseline.shape).astype(baseline.dtype)
        dxs = layer.backward(dy.copy(), need_input_grad=True)
        dxs = list(dxs) if many else [dxs]
        analytic = {k: np.array(g, copy=True) for k, g in layer.grads.items()}

        def f() -> float:
            return float(np.sum((run() - baseline) * dy))

        kinks = layer.kinks()
        rows = []
        for i, (xi, dxi) in enumerate(zip(inputs, dxs)):
            tensor = f"x[{i}]" if many else "x"
            rows.append(_compare(layer.name, tensor, xi, dxi, f, eps, rng, max_entries, kinks))
        for name, param in layer.params.items():
            rows.append(_compare(layer.name, name, param, analytic.get(name), f, eps, rng, max_entries, kinks))
    return rows


def check_loss(loss: Loss, scores: np.ndarray, target: np.ndarray, eps: float = 1e-6,
               where: str = "loss") -> CheckRow:
    """Check `backward()` against the numeric gradient of `forward(scores, target)` on every score entry.
    scores: (N, C) (perturbed in place and restored); target as the loss expects."""
    value = loss.forward(scores, target)
    analytic = np.array(loss.backward(), copy=True)
    return _compare(where, "scores", scores, analytic, lambda: loss.forward(scores, target), eps, None,
                    scores.size, loss.kinks(), noise_floor(value, eps))


def check_network(network: Network, objective: Objective, x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                  eps: float = 1e-6, max_entries: int = MAX_ENTRIES) -> list[CheckRow]:
    """Check the gradient of the whole objective (weighted loss terms plus L1/L2 penalties) with respect
    to every parameter tensor of the built `network` on the batch x: (N, *input_shape), y: targets, in
    training mode. Relative errors are floored by `noise_floor` of the objective's value, so a tensor
    whose true gradient is zero (a bias right before batch norm) agrees with its rounding noise.

    Rows: one per parameter tensor, `where` the node name. Every forward draws the same dropout masks;
    buffers are restored.
    The verdict allows warnings when any layer or loss has kinks, or an L1 penalty is active.
    """
    layers = network.layers()
    with _buffers_restored(layers):
        params = network.params()

        def total() -> float:
            return objective.forward(network, x, y, True, mask_generator()) + objective.penalty(params)

        floor = noise_floor(total(), eps)
        objective.backward(network)
        grads = {k: np.array(g, copy=True) for k, g in network.grads().items()}
        objective.add_penalty_grads(params, grads)
        kinks = (any(layer.kinks() for layer in layers) or any(t.loss.kinks() for t in objective.terms)
                 or any(l1 for l1, _ in objective.penalties.values()))
        rows = []
        for node in network.nodes:
            if not node.trainable:     # frozen: never updated, so its gradient is not part of training
                continue
            for name, param in node.layer.params.items():
                rows.append(_compare(node.name, name, param, grads.get(f"{node.name}.{name}"), total, eps, rng,
                                     max_entries, kinks, floor))
    return rows


# ---------------------------------------------------------------------------------------------- helpers

def _compare(where: str, tensor: str, array: np.ndarray, analytic: np.ndarray | None, f: Callable[[], float],
             eps: float, rng: np.random.Generator | None, max_entries: int, kinks: bool,
             floor: float = 0.0) -> CheckRow:
    """One row: the numeric gradient of f with respect to (a sample of) `array` against `analytic`
    (relative error with the given floor). A missing or misshapen analytic gradient fails (error inf)."""
    shape = tuple(array.shape)
    if analytic is None or tuple(np.shape(analytic)) != shape:
        return CheckRow(where, tensor, shape, 0, array.size, float("inf"), "fail")
    if array.size <= max_entries or rng is None:
        indices = np.arange(array.size)
    else:
        indices = np.sort(rng.choice(array.size, size=max_entries, replace=False))
    numeric = numeric_gradient(f, array, eps, indices)
    expected = np.asarray(analytic).reshape(-1)[indices]
    on_kinks = 0
    if kinks:
        mismatch = np.abs(expected - numeric) > PASS_LIMIT * (np.abs(expected) + np.abs(numeric) + floor)
        if mismatch.any():   # only entries that disagree need the (costlier) kink test
            crossing = np.zeros(len(indices), dtype=bool)
            crossing[mismatch] = kink_mask(f, array, eps, indices[mismatch])
            on_kinks = int(crossing.sum())
            expected, numeric = expected[~crossing], numeric[~crossing]
    error = relative_error(expected, numeric, floor)
    result = verdict(error, kinks)
    if on_kinks and result == "pass":
        result = "warn"
    return CheckRow(where, tensor, shape, len(indices), array.size, error, result, on_kinks)


MASK_SEED = 20240601


def mask_generator() -> np.random.Generator:
    """A generator in the same state at every call: layers that draw in training (dropout) then draw the
    same values at every forward, so the function being differentiated stays fixed."""
    return np.random.default_rng(MASK_SEED)


@contextlib.contextmanager
def _buffers_restored(layers: list[Layer]) -> Iterator[None]:
    """Put every buffer (batch-norm running statistics, changed by training-mode forwards) back afterwards."""
    saved = [(layer, {k: v.copy() for k, v in layer.buffers.items()}) for layer in layers]
    try:
        yield
    finally:
        for layer, buffers in saved:
            for k, v in buffers.items():
                layer.buffers[k][...] = v

"""Numeric gradient checking: every analytic gradient against centered differences, judged against the
rounding noise of the differences themselves, so correct code never fails and wrong code does.

A layer is checked through the scalar f = sum(y * dy) for a random upstream gradient dy, whose gradient
with respect to the input and to each parameter is exactly what `backward(dy)` returns. To keep rounding
noise at the level of single outputs rather than of the whole sum, f is evaluated as
sum((y - y0) * dy) with y0 the unperturbed output: outputs an entry does not touch cancel exactly.
A loss is checked through its own value, a whole network through its objective (losses + penalties).

The verdict (per checked entry i of a tensor; see nnctl.check.differences for the five evaluations):

    numeric n_i       the centered difference D(h) with h = eps; a_i is the analytic gradient
    noise             |D(h) - D(2h)|, which measures how far D(h) is off: rounding of f makes D(h) off by
                      about r/h and D(2h) by r/2h, truncation makes D(2h) off by four times D(h)'s error, so
                      either way the two steps disagree by about as much as D(h) is wrong. One entry's noise
                      can be small by chance (both rounding errors alike), so it is pooled: an entry's noise
                      is the largest of its own, the 90th percentile over its tensor and the 90th percentile
                      over every entry checked with the same f (a layer's tensors; a network's parameters)
    relative error    |a_i - n_i| / max(|a_i| + |n_i|,  1e-2 * the largest |a_j| + |n_j| of the tensor,
                                        TOLERANCE * noise_i / PASS_LIMIT)
                      so an error within TOLERANCE (10) times the noise of the numeric gradient reads as at
                      most PASS_LIMIT (1e-7), as does an error below 1e-7 of the gradient's size
    pass              relative error <= PASS_LIMIT
    at a kink         an entry above the limit whose fourth difference shows a jump of the derivative at least
                      as large as its error (a ReLU input or a tie in a max within 2h), where no centered
                      difference can judge it. It is judged one-sidedly instead: it passes if a_i lies within
                      the one-sided slopes around it (what either side's derivative says, allowing the same
                      noise), and is counted

Each tensor gets one `CheckRow`: "fail" if any entry is above the limit and not explained by a kink (or
the analytic gradient is missing, misshapen or not finite); "warn" if entries sat at kinks where nothing
declares kinks; else "pass". The row reports the largest relative error of the entries judged by centered
differences, and the noise: the largest noise_i / max(|a_i| + |n_i|, 1e-2 * the largest), the relative
uncertainty of the numeric gradient. A wrong backward moves a_i but not the noise, which comes from
forward passes alone: an error of 1e-3 of the gradient fails wherever the noise is below 1e-5.

Large tensors are checked on a random subset of entries (drawn from the given generator); the row
records how many entries were checked out of how many. Checks are meant for float64 layers and data.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import numpy as np

from nnctl.check.differences import Differences, differences
from nnctl.layers.base import Layer
from nnctl.nn.losses import Loss

if TYPE_CHECKING:
    from nnctl.nn.network import Network
    from nnctl.nn.objective import Objective

PASS_LIMIT = 1e-7        # relative errors up to this pass
TOLERANCE = 10.0         # errors up to this many times the noise of the numeric gradient pass
NOISE_QUANTILE = 0.9     # the pooled noise of a tensor and of a group: this quantile of its entries' noise
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
    on_kinks: int = 0      # checked entries at a kink, judged by their one-sided slopes
    noise: float = 0.0     # the relative uncertainty of the numeric gradient (largest over the entries)


def relative_error(analytic: np.ndarray, numeric: np.ndarray, floor: float | np.ndarray = 0.0) -> float:
    """max over entries i of |a_i - n_i| / max(|a_i| + |n_i|, 1e-2 * max_j (|a_j| + |n_j|), floor_i, tiny).

    `floor` (a number, or one per entry) is the noise-derived lower bound of the module docstring. Two
    all-zero gradients agree (0.0); any NaN gives NaN; empty arrays give 0.0.
    """
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)
    n = np.asarray(numeric, dtype=np.float64).reshape(-1)
    if a.size == 0:
        return 0.0
    size = np.abs(a) + np.abs(n)
    if np.isnan(size).any():
        return float("nan")
    return float((np.abs(a - n) / _scale(size, floor)).max())


def _scale(size: np.ndarray, floor: float | np.ndarray = 0.0) -> np.ndarray:
    return np.maximum(np.maximum(size, floor), max(NOISE_SHARE * float(size.max()), np.finfo(np.float64).tiny))


@dataclass
class Probe:
    """One tensor's finite differences before judgement: the analytic gradient at the checked entries."""

    where: str
    tensor: str
    shape: tuple
    total: int
    analytic: np.ndarray | None      # (n,) at the checked entries, None when missing or misshapen
    diffs: Differences | None


def judge(probes: list[Probe], kinks: bool) -> list[CheckRow]:
    """Rows for tensors checked with the same function (see the module docstring for the rule)."""
    spreads = [p.diffs.spread for p in probes if p.diffs is not None and p.diffs.values.size]
    group_noise = float(np.quantile(np.concatenate(spreads), NOISE_QUANTILE)) if spreads else 0.0
    return [_row(p, group_noise, kinks) for p in probes]


def _row(p: Probe, group_noise: float, kinks: bool) -> CheckRow:
    if p.analytic is None or p.diffs is None:
        return CheckRow(p.where, p.tensor, p.shape, 0, p.total, float("inf"), "fail")
    checked = p.analytic.size
    if checked == 0:
        return CheckRow(p.where, p.tensor, p.shape, 0, p.total, 0.0, "pass")
    a, n = p.analytic.astype(np.float64), p.diffs.gradient
    if not (np.isfinite(a).all() and np.isfinite(n).all()):
        return CheckRow(p.where, p.tensor, p.shape, checked, p.total, float("nan"), "fail")
    error, size = np.abs(a - n), np.abs(a) + np.abs(n)
    spread = p.diffs.spread
    noise = np.maximum(np.maximum(spread, float(np.quantile(spread, NOISE_QUANTILE))), group_noise)
    scale = _scale(size, TOLERANCE * noise / PASS_LIMIT)
    rel = error / scale
    over = rel > PASS_LIMIT
    low, high = p.diffs.one_sided
    allowed = PASS_LIMIT * scale
    on_kink = over & (p.diffs.slope_jump >= error) & (a >= low - allowed) & (a <= high + allowed)
    judged = ~on_kink
    at_kinks = int(on_kink.sum())
    verdict = "fail" if (over & judged).any() else "warn" if at_kinks and not kinks else "pass"
    return CheckRow(p.where, p.tensor, p.shape, checked, p.total, float(rel[judged].max()) if judged.any() else 0.0,
                    verdict, at_kinks, float((noise / _scale(size)).max()))


def _probe(where: str, tensor: str, array: np.ndarray, analytic: np.ndarray | None, f: Callable[[], float],
           eps: float, rng: np.random.Generator | None, max_entries: int) -> Probe:
    """Differences of f around (a sample of) `array`, beside the analytic gradient at the same entries."""
    shape = tuple(array.shape)
    if analytic is None or tuple(np.shape(analytic)) != shape:
        return Probe(where, tensor, shape, array.size, None, None)
    if array.size <= max_entries or rng is None:
        indices = np.arange(array.size)
    else:
        indices = np.sort(rng.choice(array.size, size=max_entries, replace=False))
    diffs = differences(f, array, eps, indices)
    return Probe(where, tensor, shape, array.size, np.asarray(analytic).reshape(-1)[indices], diffs)


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

        probes = [_probe(layer.name, f"x[{i}]" if many else "x", xi, dxi, f, eps, rng, max_entries)
                  for i, (xi, dxi) in enumerate(zip(inputs, dxs))]
        probes += [_probe(layer.name, name, param, analytic.get(name), f, eps, rng, max_entries)
                   for name, param in layer.params.items()]
    return judge(probes, layer.kinks())


def check_loss(loss: Loss, scores: np.ndarray, target: np.ndarray, eps: float = 1e-6,
               where: str = "loss") -> CheckRow:
    """Check `backward()` against the numeric gradient of `forward(scores, target)` on every score entry.
    scores: (N, C) (perturbed in place and restored); target as the loss expects."""
    loss.forward(scores, target)
    analytic = np.array(loss.backward(), copy=True)
    probe = _probe(where, "scores", scores, analytic, lambda: loss.forward(scores, target), eps, None, scores.size)
    return judge([probe], loss.kinks())[0]


def check_network(network: Network, objective: Objective, x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                  eps: float = 1e-6, max_entries: int = MAX_ENTRIES) -> list[CheckRow]:
    """Check the gradient of the whole objective (weighted loss terms plus L1/L2 penalties) with respect
    to every parameter tensor of the built `network` on the batch x: (N, *input_shape), y: targets, in
    training mode. A tensor whose true gradient is zero (a bias right before batch norm) agrees with
    its rounding noise.

    Rows: one per parameter tensor, `where` the node name. Every forward draws the same dropout masks;
    buffers are restored. Kinks are expected when any layer or loss has them, or an L1 penalty is active.
    """
    layers = network.layers()
    with _buffers_restored(layers):
        params = network.params()

        def total() -> float:
            return objective.forward(network, x, y, True, mask_generator()) + objective.penalty(params)

        total()
        objective.backward(network)
        grads = {k: np.array(g, copy=True) for k, g in network.grads().items()}
        objective.add_penalty_grads(params, grads)
        kinks = (any(layer.kinks() for layer in layers) or any(t.loss.kinks() for t in objective.terms)
                 or any(l1 for l1, _ in objective.penalties.values()))
        probes = [_probe(node.name, name, param, grads.get(f"{node.name}.{name}"), total, eps, rng, max_entries)
                  for node in network.nodes if node.trainable     # frozen: never updated, not checked
                  for name, param in node.layer.params.items()]
    return judge(probes, kinks)


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

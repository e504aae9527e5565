"""Where an nnctl training epoch's time goes: timers wrapped around the stages of one Trainer, for the
benchmarks only (nothing in nnctl is timed, so the normal path pays nothing).

`profile(trainer)` replaces methods on that trainer's own objects (instance attributes: the classes are
untouched) and `numpy.matmul` in this process by timed wrappers. Time is exclusive: a stage nested in
another (the GEMM inside a conv layer, im2col inside the conv) is subtracted from the outer one. Only calls
on the main thread are timed; work a layer hands to the helper threads counts to the layer that waits.

Stages:
    gemm           numpy.matmul calls (the dense and conv products; a `x @ W` written with the operator
                   instead is not seen and stays in "gemm layers, rest")
    gemm layers, rest  the rest of dense and conv layers: bias, layout transposes, gradient sums
    im2col/col2im  building the conv columns and folding their gradient back
    pooling        max/average pooling, forward and backward
    element-wise   every other layer: activations, batch norm, dropout, flatten, ...
    loss           the loss terms (softmax cross-entropy) outside the network
    optimizer      the optimizer step (gradient norm and update)
    data           gathering (and augmenting) the batch
    other          the rest of the step: predictions, bookkeeping, Python
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict

import numpy as np

STAGES = ("gemm", "gemm layers, rest", "im2col/col2im", "pooling", "element-wise", "loss", "optimizer", "data",
          "other")


class StageTimer:
    """Exclusive seconds per stage for timed callables (main thread only)."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.stack: list[float] = []
        self.main = threading.get_ident()

    def timed(self, stage: str, function):
        def wrapper(*args, **kwargs):
            if threading.get_ident() != self.main:
                return function(*args, **kwargs)
            self.stack.append(0.0)
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.seconds[stage] += elapsed - self.stack.pop()
                if self.stack:
                    self.stack[-1] += elapsed
        return wrapper

    def wrap(self, owner, name: str, stage: str) -> None:
        setattr(owner, name, self.timed(stage, getattr(owner, name)))


def layer_stage(layer) -> str:
    kind = type(layer).__name__
    if kind in ("Dense", "Conv2D"):
        return "gemm layers, rest"
    if "Pool" in kind and kind != "GlobalAvgPool":
        return "pooling"
    return "element-wise"


def profile(trainer) -> StageTimer:
    """Wrap the stages of `trainer` (and numpy.matmul) in timers; returns the timer they report to."""
    timer = StageTimer()
    np.matmul = timer.timed("gemm", np.matmul)
    for node in trainer.network.nodes:
        layer = node.layer
        timer.wrap(layer, "forward", layer_stage(layer))
        timer.wrap(layer, "backward", layer_stage(layer))
        im2col = getattr(layer, "im2col", None)
        if im2col is not None:
            timer.wrap(im2col, "columns", "im2col/col2im")
            timer.wrap(im2col, "image", "im2col/col2im")
    timer.wrap(trainer.objective, "forward", "loss")
    timer.wrap(trainer.objective, "backward", "loss")
    timer.wrap(trainer.network, "forward", "loss")       # the network's own dict work; layers nest inside
    timer.wrap(trainer.network, "backward", "loss")
    timer.wrap(trainer.optimizer, "step", "optimizer")
    timer.wrap(trainer, "batch", "data")
    return timer


def breakdown(timer: StageTimer, epoch_seconds: float) -> dict[str, float]:
    """Seconds per stage for an epoch that took `epoch_seconds` (what no timer saw is "other")."""
    seconds = {stage: timer.seconds.get(stage, 0.0) for stage in STAGES}
    seconds["other"] = max(0.0, epoch_seconds - sum(v for k, v in seconds.items() if k != "other"))
    return seconds

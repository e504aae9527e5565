"""ReLU followed by max pooling, computed the other way round: pool first, then ReLU on 1/k of the values.

For every window, max(relu(x)) = relu(max(x)) exactly (both are the largest value of the window, or 0
when none is positive), so the forward values are the same. So are the gradients:
  - when the window's maximum is positive, the positive values of relu(x) are those of x and every other
    value of relu(x) is 0 < max, so the first maximal element of relu(x) is the first maximal element of x,
    and relu passes the gradient through there: both orders send dy to that element;
  - when it is not, the unfused relu(x) window is all zeros and relu's gradient is 0 everywhere in it,
    while the fused order multiplies dy by [relu(max x) > 0] = 0 before the pool's backward.
A 2x2 pool after a conv layer's ReLU thus runs ReLU's forward and backward on a quarter of the elements,
without the full-size output and gradient arrays ReLU would allocate.

`ReluPoolFusion` finds the pairs in a network (a ReLU node whose one and only consumer is a MaxPool2D node)
and does the bookkeeping; Network.forward and backward call it. A pass that returns the ReLU's own output
(`keep` or `until` names it) leaves that pair unfused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection

import numpy as np

from nnctl.kernels import activations as fused
from nnctl.kernels import backend
from nnctl.layers.activations import ReLU
from nnctl.layers.pool import MaxPool2D


class ReluPoolFusion:
    """The ReLU -> MaxPool2D pairs of a list of nodes, and which of them the last forward pass fused."""

    def __init__(self, nodes: list):
        consumers = Counter(name for node in nodes for name in node.inputs)
        relus = {node.name for node in nodes if type(node.layer) is ReLU}
        self.pool_of = {node.inputs[0]: node.name for node in nodes
                        if type(node.layer) is MaxPool2D and node.inputs[0] in relus and consumers[node.inputs[0]] == 1}
        self.deferred: set[str] = set()                  # ReLU nodes passed through in the last forward
        self.masks: dict[str, np.ndarray] = {}           # fused pool node -> [pooled > 0], after training passes

    def begin(self, keep: Collection[str], last: str) -> None:
        """Start a forward pass that returns `keep` and `last`: fuse every pair whose ReLU is not returned."""
        self.deferred = {relu for relu in self.pool_of if relu not in keep and relu != last}
        self.masks = {}

    def passes_through(self, name: str) -> bool:
        """True for a ReLU node this pass leaves to its pool (forward: output = input; backward: dx = dy)."""
        return name in self.deferred

    def after_pool(self, pool_input: str, pool: str, pooled: np.ndarray, training: bool) -> None:
        """Apply the deferred ReLU to the output of `pool` (fed by `pool_input`) in place, when fused."""
        if pool_input not in self.deferred:
            return
        zero = pooled.dtype.type(0)
        if backend.active() and pooled.flags.c_contiguous:       # the same in one pass (nnctl.kernels)
            mask = np.empty(pooled.shape, bool)
            fused.relu_with_mask(pooled.reshape(-1), zero, mask.reshape(-1))
            if training:
                self.masks[pool] = mask
            return
        np.maximum(pooled, zero, out=pooled)
        if training:                          # only a training pass keeps what backward needs (as the pool)
            self.masks[pool] = pooled > 0

    def before_pool_backward(self, pool: str, dy: np.ndarray) -> np.ndarray:
        """The gradient the pool's backward receives: dy * [pooled > 0] when fused, else dy itself."""
        mask = self.masks.pop(pool, None)
        if mask is None:
            return dy
        if backend.active() and dy.flags.c_contiguous:
            dx, real = np.empty_like(dy), dy.dtype.type
            fused.masked(dy.reshape(-1), mask.reshape(-1), real(0), real(1), dx.reshape(-1))
            return dx
        return np.multiply(dy, mask)

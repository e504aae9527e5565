"""Test-time batch-norm statistics recomputed over the training set, layer by layer (`test_stats: recompute`).

After training, the running averages describe activations of weights that kept changing. The course's
third choice recomputes each batch-norm layer's mean and variance over the whole training set with the
final weights. Layers are done in order: layer k's inputs depend on layers 1..k-1 already using their own
recomputed statistics, so each layer gets its own eval-mode pass over the data (exact population
statistics, accumulated in float64 by the layer).
"""

from __future__ import annotations

import numpy as np

from nnctl.nn.network import Network


def layers_to_recompute(network: Network) -> list:
    return [n.layer for n in network.nodes if getattr(n.layer, "needs_recompute", False)]


def recompute_batchnorm(network: Network, x: np.ndarray, batch_size: int) -> int:
    """Recompute the statistics of every `test_stats: recompute` layer over x: (N, *input_shape).
    Returns the number of layers recomputed."""
    layers = layers_to_recompute(network)
    for layer in layers:
        layer.begin_recompute()
        for start in range(0, len(x), batch_size):
            network.forward(x[start:start + batch_size], training=False)
        layer.end_recompute()
    network.outputs = {}
    return len(layers)

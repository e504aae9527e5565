"""Test-time batch-norm statistics recomputed over the training set, layer by layer (`test_stats: recompute`).

After training, the running averages describe activations of weights that kept changing. The course's
third choice recomputes each batch-norm layer's mean and variance over the whole training set with the
current weights. Layers are done in order: layer k's inputs depend on layers 1..k-1 already using their own
recomputed statistics, so each layer gets its own evaluation-mode pass over the data, stopping at the
node that feeds it (exact population statistics, accumulated in float64).
"""

from __future__ import annotations

import numpy as np

from nnctl.layers.norm import PopulationMoments
from nnctl.nn.network import Network


def nodes_to_recompute(network: Network) -> list:
    """Nodes whose layer evaluates with recomputed population statistics, in order (frozen ones keep theirs)."""
    return [n for n in network.nodes if getattr(n.layer, "needs_recompute", False) and n.trainable]


def recompute_batchnorm(network: Network, x: np.ndarray, batch_size: int) -> int:
    """Recompute the statistics of every `test_stats: recompute` layer over x: (N, *input_shape).
    Returns the number of layers recomputed."""
    nodes = nodes_to_recompute(network)
    for node in nodes:
        source = node.inputs[0]
        moments = PopulationMoments(node.layer.in_shape[0])
        for start in range(0, len(x), batch_size):
            batch = x[start:start + batch_size]
            moments.add(batch if source == "input" else
                        network.forward(batch, training=False, until=source)[source])
        node.layer.set_recomputed(moments)
    return len(nodes)

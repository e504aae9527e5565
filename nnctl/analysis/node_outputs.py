"""A node's outputs over a whole split: the "codes" of an autoencoder, the features of a hidden layer.

The network runs in evaluation mode on clean inputs (no generator is handed to the layers, so noise
layers pass their input through), in batches, stopping at the node. The outputs are float32, one row per
sample; their size is checked before anything is allocated.
"""

from __future__ import annotations

import math

import numpy as np

from nnctl.options.spec import did_you_mean
from nnctl.errors import InputError
from nnctl.nn.network import Network

MAX_BYTES = 2 << 30     # the most an array of node outputs may take (2 GiB)


def check_node(network: Network, node: str) -> None:
    """InputError naming --node when the network has no node called `node`."""
    if node not in network.by_name:
        names = [n.name for n in network.nodes]
        raise InputError(f"--node {node!r}: the network has no such node{did_you_mean(node, names)}; its nodes "
                         f"are {', '.join(names)}")


def node_outputs(network: Network, x: np.ndarray, node: str, batch_size: int = 256) -> np.ndarray:
    """Outputs of `node` for inputs x: (N, *input_shape) in evaluation mode: (N, *node_shape)."""
    check_node(network, node)
    shape = tuple(network.by_name[node].layer.out_shape)
    needed = len(x) * math.prod(shape) * network.dtype.itemsize
    if needed > MAX_BYTES:
        raise InputError(f"--node {node!r}: its outputs for {len(x)} samples, {shape} each, would take "
                         f"{needed / 2**30:.1f} GiB (at most {MAX_BYTES / 2**30:.0f} GiB); choose a narrower node")
    out = np.empty((len(x),) + shape, dtype=network.dtype)
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        out[start:start + len(batch)] = network.forward(batch, training=False, until=node)[node]
    return out


def split_data(setup, split: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a split of the run's data; InputError naming `source` when the split is empty."""
    data = getattr(setup.splits, split)
    if data is None or len(data[0]) == 0:
        raise InputError(f"{source}: this run's data has no {split} split")
    return data

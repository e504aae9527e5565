"""How many samples an evaluation pass takes at once when `train.eval_batch_size` is auto (the default).

Forward-only passes gain from large batches in a dense network: every matrix product reads its weights once
per batch. A convolutional network loses from them once its per-batch arrays grow past 32 MiB: its feature
maps, allocated anew for every batch, then get fresh pages from glibc's allocator (which the kernel zeroes
when first touched) instead of memory the process already holds, and im2col columns that large no longer
stay in cache. Measured with benchmarks/bench_eval_batch.py, one run each: the benchmark MLP 225,410
images/s at 512 against 186,313 at 128; the benchmark CNN 8,116 at 128 against 6,525 at 512;
configs/fashion_cnn.yaml 2,177 at 64 against 1,983 at 512. Between 64 and 256 the convolutional networks'
differences stayed within this machine's run-to-run noise.

auto = the largest power of two up to AUTO_CAP whose largest single array in a pass (a layer's output or
its scratch, for that many samples) stays within ARRAY_BYTES; at least 1. It depends on shapes alone, so a
config evaluates in the same batches (and to the same numbers) on every machine.
"""

from __future__ import annotations

import math

AUTO_CAP = 512                 # the fixed default before auto; dense networks gain little beyond it
ARRAY_BYTES = 32 << 20         # glibc's largest mmap threshold: bigger arrays get fresh pages every time


def largest_array_per_sample(network) -> int:
    """Elements per sample of the largest array one evaluation pass creates: the input, a node's output,
    or a layer's scratch (work_per_sample, e.g. a convolution's im2col columns)."""
    largest = math.prod(network.input_shape)
    for node in network.nodes:
        layer = node.layer
        largest = max(largest, math.prod(layer.out_shape), layer.work_per_sample(layer.in_shape, layer.out_shape))
    return largest


def auto_eval_batch(network) -> int:
    """The batch `eval_batch_size: auto` stands for, for this built network (see the module docstring)."""
    per_sample = largest_array_per_sample(network) * network.dtype.itemsize
    batch = max(1, min(AUTO_CAP, ARRAY_BYTES // per_sample))
    return 1 << (batch.bit_length() - 1)


def eval_batch_size(requested: int | str, network) -> int:
    """`train.eval_batch_size` as a number: `requested` itself, or auto's choice for `network`."""
    return auto_eval_batch(network) if requested == "auto" else int(requested)


def eval_batch_bound(requested: int | str) -> int:
    """The most samples an evaluation pass may take, known before the network is built (memory checks)."""
    return AUTO_CAP if requested == "auto" else int(requested)

"""`nnctl predict`: a saved network on new samples, in evaluation mode and in batches, as CSV rows.

Columns by what the network's (primary) loss says its outputs are:
    softmax cross-entropy   id, class, probability, class_2, probability_2, ... up to the top k
    svm                     id, class, score, class_2, score_2, ...         (scores: no probabilities)
    sigmoid (one output)    as softmax, over the two classes: p = sigmoid(logit) and 1 - p
    sigmoid (K outputs)     id, then each output's probability, headed by its class name
    regression              id, output_0, output_1, ...
    autoencoder             id, output_0, ... (the reconstruction, flattened)
Only one batch of inputs, network activations and rows is in memory at a time; rows are written as
they are made (into a temporary file that replaces --out at the end, or to standard output).
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np
from tqdm import tqdm

from nnctl.atomic import atomic_file
from nnctl.deploy.inputs import open_samples
from nnctl.deploy.saved_model import SavedModel, load_saved_model, to_network_input
from nnctl.errors import InputError
from nnctl.limits import exceeds_budget, show_bytes
from nnctl.nn.eval_batch import eval_batch_size


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of (n, C) scores, in float64 without overflow."""
    shifted = scores.astype(np.float64) - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


def sigmoid(scores: np.ndarray) -> np.ndarray:
    z = np.exp(-np.abs(scores.astype(np.float64)))
    return np.where(scores >= 0, 1 / (1 + z), z / (1 + z))


class Table:
    """How one batch of network outputs becomes CSV rows, for a model and a top-k."""

    def __init__(self, model: SavedModel, top_k: int):
        self.model = model
        width = math.prod(model.output_shape)
        self.single_binary = model.task == "binary" and width == 1
        self.ranked = model.task == "classification" or self.single_binary
        classes = 2 if self.single_binary else width
        self.names = model.class_names or [str(i) for i in range(classes)]
        self.k = min(top_k, classes)
        self.value = "score" if model.loss_type == "svm" else "probability"

    def header(self) -> list[str]:
        if self.ranked:
            head = ["id", "class", self.value]
            for rank in range(2, self.k + 1):
                head += [f"class_{rank}", f"{self.value}_{rank}"]
            return head
        if self.model.task == "binary":
            return ["id"] + list(self.names)
        return ["id"] + [f"output_{i}" for i in range(math.prod(self.model.output_shape))]

    def rows(self, ids: list[str], scores: np.ndarray) -> Iterator[list[str]]:
        scores = scores.reshape(len(scores), -1)
        if self.single_binary:
            p = sigmoid(scores[:, 0])
            values = np.stack([1 - p, p], axis=1)
        elif self.ranked:
            values = scores.astype(np.float64) if self.value == "score" else softmax(scores)
        else:
            values = sigmoid(scores) if self.model.task == "binary" else scores
            for sample, row in zip(ids, values):
                yield [sample] + [format(float(v), ".7g") for v in row]
            return
        order = np.argsort(-values, axis=1, kind="stable")[:, :self.k]
        for sample, ranks, row in zip(ids, order, values):
            cells = [sample]
            for c in ranks:
                cells += [self.names[c], format(float(row[c]), ".6g")]
            yield cells


@contextlib.contextmanager
def csv_output(out: Path | None) -> Iterator[TextIO]:
    """A text stream for the rows: standard output, or a temporary file that becomes `out` when the block
    ends without error (nothing half-written is left behind)."""
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with atomic_file(out, "predictions") as handle:
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        try:
            yield text
            text.flush()
        finally:
            text.detach()


def predict(target: str | Path, inputs: str | Path, out: Path | None = None, top_k: int = 3,
            batch_size: int | None = None, progress: bool = True) -> int:
    """Write the predictions of the run's best.npz (or a checkpoint) for INPUTS as CSV to `out` (or to
    standard output), `batch_size` samples per forward pass (None: as `eval_batch_size: auto` would choose
    for this network, nnctl.nn.eval_batch); returns the number of samples."""
    model = load_saved_model(target)
    samples = open_samples(Path(inputs), model)
    table = Table(model, top_k)
    node, n = model.output_node, len(samples)
    given = "auto" if batch_size is None else batch_size
    batch_size = max(1, min(eval_batch_size(given, model.network), n))
    needed = model.network.memory_needed(batch_size)
    budget = exceeds_budget(needed)
    if budget is not None:
        raise InputError(f"--batch-size {given}: a batch of {batch_size} samples needs about "
                         f"{show_bytes(needed)} of memory in this network, more than the {show_bytes(budget)} "
                         f"available; give a smaller --batch-size")
    # a bar only on a terminal: redirected, stderr gets no carriage-return frames (as `nnctl train` prints)
    bar = tqdm(total=n, unit="sample", desc="predict", disable=not progress or n <= batch_size or not sys.stderr.isatty(),
               dynamic_ncols=True, mininterval=0.25, file=sys.stderr)
    with bar, csv_output(out) as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(table.header())
        for start in range(0, n, batch_size):
            stop = min(n, start + batch_size)
            x = to_network_input(samples.read(start, stop), model)
            scores = model.network.forward(x, training=False, until=node)[node]
            writer.writerows(table.rows(samples.ids[start:stop], scores))
            bar.update(stop - start)
    return n

"""A trained network as a checkpoint describes it, for prediction and export, without any training data.

From the checkpoint's metadata only these are taken, each checked as if a stranger wrote it:
    config.model    the resolved model section, validated like any config and built
    config.loss     the loss terms: which node gives the scores and what they mean (the task)
    input_shape     one sample's shape as the network takes it, e.g. (784,) or (1, 28, 28)
    image_shape     (C, H, W) of an image before flattening, or null when the data is not images
    normalization   what turns a raw sample into the network's input (nnctl.data.normalize)
    class_names     one name per class
    config.data     only, when the run trained on a CSV file, how its rows were read (label column,
                    delimiter, header), to read CSV INPUTS the same way
No path, dataset or other setting in it is followed. Checkpoints written before input_shape was stored
get it from the first dense layer's weights, or (28x28 grey images) from the MNIST-family dataset name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.data import normalize
from nnctl.nn.network import Network
from nnctl.nn.registry import LOSSES
from nnctl.runs.loader import invalid, load_model

CSV_DEFAULTS = {"label_column": -1, "delimiter": ",", "header": "auto"}


@dataclass
class SavedModel:
    """A network with trained weights and what it needs around it.

    task: "classification" (softmax or SVM scores over classes), "binary" (sigmoid outputs),
    "regression" (real-valued outputs) or "reconstruction" (outputs shaped like the input).
    """

    path: Path
    network: Network
    input_shape: tuple[int, ...]
    image_shape: tuple[int, int, int] | None
    normalization: dict
    class_names: list[str] | None
    loss_type: str
    task: str
    output_node: str
    version: str | None
    csv_options: dict = field(default_factory=lambda: dict(CSV_DEFAULTS))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(self.network.by_name[self.output_node].layer.out_shape)

    @property
    def groups(self) -> int:
        """How many statistics the normalization has: one per channel, or one per input value."""
        if self.normalization["per"] == "channel":
            return self.image_shape[0] if self.image_shape else 1
        return math.prod(self.input_shape)


def csv_options(data: Any) -> dict:
    """How the run read CSV rows (label column, delimiter, header), when it trained on a CSV file and the
    stored values make sense; otherwise the defaults. Used only to read CSV INPUTS the same way."""
    out = dict(CSV_DEFAULTS)
    if not isinstance(data, dict) or data.get("dataset") != "csv":
        return out
    label, delimiter, header = data.get("label_column"), data.get("delimiter"), data.get("header")
    if (isinstance(label, int) and not isinstance(label, bool)) or (isinstance(label, str) and label):
        out["label_column"] = label
    if isinstance(delimiter, str) and len(delimiter) == 1:
        out["delimiter"] = delimiter
    if header in (True, False, "auto"):
        out["header"] = header
    return out


def load_saved_model(target: str | Path) -> SavedModel:
    """The network of a run folder's best.npz (or of a checkpoint file), ready for evaluation-mode passes,
    read by nnctl.runs.loader.load_model (every check of a checkpoint from a stranger), plus what predict
    and export need: the task and output node of the first loss term, class names that fit the outputs,
    the input normalization (required here), and how CSV rows were read."""
    model = load_model(target)
    path = model.path
    normalization = model.normalization
    if normalization is None:
        raise invalid(path, "its input normalization is missing")
    if normalization["per"] == "channel" and model.image_shape is None:
        raise invalid(path, "its input normalization is per channel, but it holds no image shape")
    primary = model.loss[0]
    output_node = primary["input"] or model.network.output_name
    if output_node not in model.network.by_name:
        raise invalid(path, f"its loss reads node {output_node!r}, which the model does not have")
    task = "reconstruction" if primary["target"] == "input" else LOSSES.table[primary["type"]].task
    names = model.class_names
    if names is not None:
        outputs = model.network.by_name[output_node].layer.out_shape
        wanted = 2 if task == "binary" and tuple(outputs) == (1,) else outputs[0]
        if task in ("classification", "binary") and len(names) != wanted:
            raise invalid(path, f"it names {len(names)} classes, but its network gives {wanted}")
    return SavedModel(path, model.network, model.input_shape, model.image_shape, normalization, names,
                      primary["type"], task, output_node, model.version, csv_options(model.stored_data))


def to_network_input(raw: np.ndarray, model: SavedModel) -> np.ndarray:
    """Raw samples (n, ...) of any real dtype holding prod(input_shape) values each -> the float32 input
    (n, *model.input_shape) the network saw in training: divided by the raw divisor, then normalized with
    the run's own statistics (per feature, or per channel of the images), exactly as nnctl.data does."""
    n = len(raw)
    per_channel = model.normalization["per"] == "channel"
    x = np.array(raw.reshape((n, model.groups, -1) if per_channel else (n, -1)), dtype=np.float32, order="C")   # a copy
    if model.normalization["raw_divisor"] != 1.0:
        x /= np.float32(model.normalization["raw_divisor"])
    normalize.apply(x, model.normalization, images=per_channel)
    return x.reshape((n,) + model.input_shape)

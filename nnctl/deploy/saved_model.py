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

from nnctl.config.load import errors_name
from nnctl.data import normalize
from nnctl.errors import InputError
from nnctl.nn.network import Network, build_network
from nnctl.nn.registry import LOSSES
from nnctl.runs.checkpoints import expected_shapes, open_checkpoint, read_checkpoint
from nnctl.runs.run_dir import find_checkpoint
from nnctl.runs.trusted import stored_class_names, stored_sections

MAX_SAMPLE_VALUES = 1 << 24          # values in one input sample (16M: far beyond any image nnctl trains on)
MNIST_FAMILY = ("mnist", "fashion-mnist")
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


def invalid(path: Path, what: str) -> InputError:
    return InputError(f"{path}: {what}; nothing was loaded")


def shape_entry(value: Any, path: Path, key: str, rank: tuple[int, ...]) -> tuple[int, ...] | None:
    """A stored shape: a list of positive integers of an allowed rank, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) not in rank or any(
            isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value):
        raise invalid(path, f"'{key}' in its metadata is not a shape (found {str(value)[:60]})")
    if math.prod(value) > MAX_SAMPLE_VALUES:
        raise invalid(path, f"'{key}' {tuple(value)} has more than {MAX_SAMPLE_VALUES} values per sample")
    return tuple(value)


def old_shapes(meta: dict, params: dict[str, tuple[int, ...]], model: dict, path: Path) -> tuple[tuple, tuple | None]:
    """(input shape, image shape) of a checkpoint written before they were stored: a first dense layer's
    input width (square grey or RGB images when the normalization was per channel), else 28x28 grey
    images for a convolutional net trained on the MNIST family. `params`: the stored parameters' shapes."""
    first = model["layers"][0]
    weights = params.get(f"{first['name']}.W")           # a shape
    normalization = meta.get("normalization") if isinstance(meta.get("normalization"), dict) else {}
    if first["type"] == "dense" and "input" not in first and weights is not None and len(weights) == 2:
        width = int(weights[0])
        channels = len(normalization.get("mean") or normalization.get("min") or [1])
        side = math.isqrt(width // channels) if width % channels == 0 else 0
        square = normalization.get("per") == "channel" and side * side * channels == width
        return (width,), ((channels, side, side) if square else None)
    data = meta["config"].get("data")
    if isinstance(data, dict) and data.get("dataset") in MNIST_FAMILY and data.get("flatten") is False:
        return (1, 28, 28), (1, 28, 28)
    raise invalid(path, "its metadata has no input_shape (written by an older nnctl); retrain it")


def checked_normalization(value: Any, input_shape: tuple[int, ...], image_shape: tuple | None,
                          path: Path) -> dict:
    """The stored normalization, checked: a known method, per feature or channel, a positive raw divisor,
    and one finite shift and positive scale per feature (or per channel of the images)."""
    if not isinstance(value, dict) or value.get("method") not in normalize.METHODS or \
            value.get("per") not in ("feature", "channel"):
        raise invalid(path, "its input normalization is missing or damaged")
    divisor = value.get("raw_divisor", 1.0)
    if isinstance(divisor, bool) or not isinstance(divisor, (int, float)) or not 0 < divisor < math.inf:
        raise invalid(path, f"its input normalization has raw_divisor {divisor!r}, not a positive number")
    out = {"method": value["method"], "per": value["per"], "raw_divisor": float(divisor)}
    if value["method"] == "none":
        return out
    if value["per"] == "channel" and image_shape is None:
        raise invalid(path, "its input normalization is per channel, but it holds no image shape")
    groups = image_shape[0] if value["per"] == "channel" else math.prod(input_shape)
    keys = ("mean", "std") if value["method"] == "standard" else ("min", "range")
    for i, key in enumerate(keys):
        numbers = value.get(key)
        if not isinstance(numbers, list) or len(numbers) != groups or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and (i == 0 or v > 0)
                for v in numbers):
            raise invalid(path, f"its input normalization needs {groups} {'positive ' if i else ''}numbers in "
                                f"'{key}'")
        out[key] = [float(v) for v in numbers]
    return out


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
    """The network of a run folder's best.npz (or of a checkpoint file), ready for evaluation-mode passes.
    Read as nnctl.runs.trusted reads any checkpoint: the archive checked before any array is read, the
    stored model and loss resolved like a config from a stranger, the network built within the memory
    budget, and only then the arrays of exactly its names and shapes (finite float32/float64). Anything
    missing or damaged is one InputError naming the file."""
    path = find_checkpoint(target)
    entries, meta = open_checkpoint(path)
    source = f"{path} (stored config)"
    sections = stored_sections(meta, source)
    model = sections["model"]
    input_shape = shape_entry(meta.get("input_shape"), path, "input_shape", (1, 2, 3))
    if input_shape is None:
        held = {name.partition("/")[2]: entry.shape for name, entry in entries.items() if name.startswith("param/")}
        input_shape, image_shape = old_shapes(meta, held, model, path)
    else:
        image_shape = shape_entry(meta.get("image_shape"), path, "image_shape", (3,))
    if image_shape is not None and math.prod(image_shape) != math.prod(input_shape):
        raise invalid(path, f"its image_shape {image_shape} does not fit its input_shape {input_shape}")
    normalization = checked_normalization(meta.get("normalization"), input_shape, image_shape, path)
    with errors_name(source):
        network = build_network(model, input_shape, np.random.default_rng(0), node_paths=sections["paths"])
    ckpt = read_checkpoint(path, entries, meta, expected_shapes(network.params(), network.buffers()),
                           groups=("param", "buffer"))
    network.load_arrays(ckpt.params, ckpt.buffers, str(path))
    primary = sections["loss"][0]
    output_node = primary["input"] or network.output_name
    if output_node not in network.by_name:
        raise invalid(path, f"its loss reads node {output_node!r}, which the model does not have")
    task = "reconstruction" if primary["target"] == "input" else LOSSES.table[primary["type"]].task
    names = stored_class_names(meta, path)
    if names is not None:
        outputs = network.by_name[output_node].layer.out_shape
        wanted = 2 if task == "binary" and tuple(outputs) == (1,) else outputs[0]
        if task in ("classification", "binary") and len(names) != wanted:
            raise invalid(path, f"it names {len(names)} classes, but its network gives {wanted}")
    version = (meta.get("versions") or {}).get("nnctl") if isinstance(meta.get("versions"), dict) else None
    return SavedModel(path, network, input_shape, image_shape, normalization, names, primary["type"], task,
                      output_node, version if isinstance(version, str) and len(version) <= 40 else None,
                      csv_options(meta["config"].get("data")))


def to_network_input(raw: np.ndarray, model: SavedModel) -> np.ndarray:
    """Raw samples (n, ...) of any real dtype holding prod(input_shape) values each -> the float32 input
    (n, *model.input_shape) the network saw in training: divided by the raw divisor, then normalized with
    the run's own statistics (per feature, or per channel of the images), exactly as nnctl.data does."""
    n = len(raw)
    per_channel = model.normalization["per"] == "channel"
    x = np.array(raw.reshape((n, model.groups, -1) if per_channel else (n, -1)), dtype=np.float32)   # a copy
    if model.normalization["raw_divisor"] != 1.0:
        x /= np.float32(model.normalization["raw_divisor"])
    normalize.apply(x, model.normalization, images=per_channel)
    return x.reshape((n,) + model.input_shape)

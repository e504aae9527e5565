"""A checkpoint from anywhere, read as data and never as instructions: the one function that turns a
checkpoint into a network, for eval, predict, export, embed and plot.

`load_model(path)` gives the network a checkpoint holds, built from nothing but what its metadata says
about the network itself, each part checked like a config from an untrusted file:

    model, loss, regularization   the stored config's sections, resolved as `nnctl train` resolves a config
                                  (so every limit applies: layer counts, sizes against memory, ...)
    input_shape, image_shape      1 to 3 positive integers, and (C, H, W) of the images before flattening;
                                  for checkpoints written before they were stored, given by the caller from
                                  its own data, else inferred from the first layer (see `old_shapes`)
    normalization                 the form nnctl.data.normalize writes, every number finite
    class_names                   at most MAX_CLASSES strings of at most MAX_NAME_CHARS characters
    epoch, step                   non-negative integers, for display
    versions.nnctl, config.data   the version that wrote it, and the stored data section as plain values,
                                  from which nnctl.deploy takes only how CSV rows were read

Nothing in the metadata decides which files are read, downloaded or written: the stored data section's
paths, dataset names and download flags are never followed. Arrays are read only after their names and
shapes match the network built from the checked architecture (nnctl.runs.checkpoints), so a stored config
cannot make nnctl allocate more than the memory check of that build allows. `init.from`
(nnctl.runs.init_from) and `--resume` (nnctl.training.snapshots) restore training state instead, with the
same checkpoint reader.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.config.load import errors_name
from nnctl.config.sections import REGULARIZATION_OPTIONS
from nnctl.data.normalize import check_description
from nnctl.errors import InputError
from nnctl.limits import MAX_CLASSES, MAX_NAME_CHARS
from nnctl.nn.model_config import resolve_model_config
from nnctl.nn.network import Network, build_network
from nnctl.nn.objective import Objective, build_objective, resolve_loss_config
from nnctl.options.spec import validate
from nnctl.options.yamlio import check_plain
from nnctl.runs.checkpoints import expected_shapes, open_checkpoint, read_checkpoint
from nnctl.runs.meta import CheckpointMeta
from nnctl.runs.run_dir import find_checkpoint

MAX_INPUT_SIDE = 1 << 31
MAX_SAMPLE_VALUES = 1 << 24          # values in one input sample (16M: far beyond any image nnctl trains on)
MNIST_FAMILY = ("mnist", "fashion-mnist")
DEFAULT_LOSS = {"type": "softmax_cross_entropy"}


@dataclass(frozen=True)
class LoadedModel:
    """What a checkpoint may tell: the network with its weights, and the checked facts about its inputs
    and outputs. There is deliberately no path to data, dataset or config file here."""

    path: Path                             # the checkpoint file read
    network: Network
    objective: Objective                   # heads decided without data; see nn.objective.with_heads_for
    model: dict                            # the resolved model section (as `nnctl train` resolves it)
    loss: list                             # the resolved loss terms
    input_shape: tuple[int, ...]           # one sample, e.g. (784,) or (1, 28, 28)
    image_shape: tuple[int, int, int] | None   # (C, H, W) before flattening; None when not images
    normalization: dict | None             # nnctl.data.normalize's description, or None if not stored
    class_names: list[str] | None
    epoch: int | None
    step: int | None
    version: str | None                    # the nnctl that wrote it, when stated (at most 40 characters)
    stored_data: dict | None               # the stored data section, plain values, never followed


def load_model(target: str | Path, input_shape: tuple[int, ...] | None = None, dtype: Any = np.float32,
               batch_size: int = 1) -> LoadedModel:
    """Read the checkpoint `target` stands for (a file, a run folder's best.npz, or the newest run's in a
    folder of runs) as the module docstring says. `input_shape` (from the caller's own data) is used when
    the checkpoint stores none and must agree with it otherwise; `batch_size` sizes the memory check of the
    build. InputError (exit 2) naming the file for anything wrong, before any array is read."""
    path = find_checkpoint(target)
    entries, meta = open_checkpoint(path)
    source = f"{path} (stored config)"
    sections = stored_sections(meta, source)
    held = {name.partition("/")[2]: entry.shape for name, entry in entries.items() if name.startswith("param/")}
    shape, image_shape = stored_shapes(meta, path, input_shape, held, sections["model"])
    normalization = meta.normalization
    if normalization is not None:
        groups = {"feature": math.prod(shape), "channel": image_shape[0] if image_shape else None}
        normalization = check_description(normalization, f"{path}: normalization", groups)
    with errors_name(source):
        network = build_network(sections["model"], shape, np.random.default_rng(0), dtype, sections["paths"],
                                batch_size)
        objective = build_objective(sections["loss"], sections["regularization"], network)
    ckpt = read_checkpoint(path, entries, meta, expected_shapes(network.params(), network.buffers()),
                           groups=("param", "buffer"))
    network.load_arrays(ckpt.params, ckpt.buffers, str(path))
    versions = meta.versions
    version = versions.get("nnctl") if isinstance(versions, dict) else None
    data = meta.config.get("data")
    return LoadedModel(path, network, objective, sections["model"], sections["loss"], shape, image_shape,
                       normalization, stored_class_names(meta, path), counter(meta, "epoch"), counter(meta, "step"),
                       version if isinstance(version, str) and len(version) <= 40 else None,
                       data if isinstance(data, dict) else None)


def stored_sections(meta: CheckpointMeta, source: str) -> dict:
    """The stored config's model, loss and regularization sections, resolved and checked (ConfigError
    naming `source`); every other section is ignored."""
    config = meta.config
    if not isinstance(config, dict) or "model" not in config:
        raise InputError(f"{source}: no model section; this is not a checkpoint nnctl can rebuild")
    parts = {key: config.get(key) for key in ("model", "loss", "regularization")}
    check_plain(parts, source)
    with errors_name(source):
        model, paths = resolve_model_config(config["model"], "model")
        loss = resolve_loss_config(config.get("loss", DEFAULT_LOSS), "loss")
        regularization = validate(REGULARIZATION_OPTIONS, config.get("regularization"), "regularization")
    return {"model": model, "paths": paths, "loss": loss, "regularization": regularization}


def stored_shapes(meta: CheckpointMeta, path: Path, given: tuple[int, ...] | None, params: dict[str, tuple[int, ...]],
                  model: dict) -> tuple[tuple[int, ...], tuple[int, int, int] | None]:
    """(input shape, image shape) as the checkpoint states them, checked against `given` (the caller's
    data); for a checkpoint that states none, `given`, else what `old_shapes` infers."""
    shape = shape_entry(meta.input_shape, path, "input_shape", (1, 2, 3))
    if shape is None:
        if given is not None:
            return tuple(given), None
        return old_shapes(meta, params, model, path)
    if given is not None and tuple(given) != shape:
        raise InputError(f"{path}: the network takes inputs of shape {shape}, but the data gives {tuple(given)}")
    image_shape = shape_entry(meta.image_shape, path, "image_shape", (3,))
    if image_shape is not None and math.prod(image_shape) != math.prod(shape):
        raise invalid(path, f"its image_shape {image_shape} does not fit its input_shape {shape}")
    return shape, image_shape


def invalid(path: Path, what: str) -> InputError:
    return InputError(f"{path}: {what}; nothing was loaded")


def shape_entry(value: Any, path: Path, key: str, rank: tuple[int, ...]) -> tuple[int, ...] | None:
    """A stored shape: a list of positive integers of an allowed rank, or None when absent."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) not in rank or any(
            isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_INPUT_SIDE for v in value):
        raise invalid(path, f"'{key}' in its metadata is not a shape (found {str(value)[:60]})")
    if math.prod(value) > MAX_SAMPLE_VALUES:
        raise invalid(path, f"'{key}' {tuple(value)} has more than {MAX_SAMPLE_VALUES} values per sample")
    return tuple(value)


def old_shapes(meta: CheckpointMeta, params: dict[str, tuple[int, ...]], model: dict, path: Path) -> tuple[tuple, tuple | None]:
    """(input shape, image shape) of a checkpoint written before they were stored: a first dense layer's
    input width (square grey or RGB images when the normalization was per channel), else 28x28 grey
    images for a convolutional net trained on the MNIST family. `params`: the stored parameters' shapes."""
    first = model["layers"][0]
    weights = params.get(f"{first['name']}.W")
    normalization = meta.normalization if isinstance(meta.normalization, dict) else {}
    if first["type"] == "dense" and "input" not in first and weights is not None and len(weights) == 2:
        width = int(weights[0])
        statistics = normalization.get("mean") or normalization.get("min") or [1]
        channels = len(statistics) if isinstance(statistics, list) and statistics else 1
        side = math.isqrt(width // channels) if width % channels == 0 else 0
        square = normalization.get("per") == "channel" and side * side * channels == width
        return (width,), ((channels, side, side) if square else None)
    data = meta.config.get("data")
    if isinstance(data, dict) and data.get("dataset") in MNIST_FAMILY and data.get("flatten") is False:
        return (1, 28, 28), (1, 28, 28)
    raise invalid(path, "its metadata has no input_shape (written by an older nnctl); evaluate it with the "
                        "run's data (nnctl eval RUN, or --config CONFIG), or retrain it")


def stored_class_names(meta: CheckpointMeta, path: Path) -> list[str] | None:
    names = meta.class_names
    if names is None:
        return None
    if not isinstance(names, list) or len(names) > MAX_CLASSES or not all(
            isinstance(n, str) and len(n) <= MAX_NAME_CHARS for n in names):
        raise InputError(f"{path}: class_names: expected at most {MAX_CLASSES} strings of at most "
                         f"{MAX_NAME_CHARS} characters; nothing was loaded")
    return names


def counter(meta: CheckpointMeta, key: str) -> int | None:
    """A non-negative integer from the metadata (epoch, step), or None when absent or not one."""
    value = getattr(meta, key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


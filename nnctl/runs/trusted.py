"""A checkpoint from anywhere, read as data and never as instructions.

`load_trusted(path)` gives the network a checkpoint holds, built from nothing but what its metadata says
about the network itself, each part checked like a config from an untrusted file:

    model, loss, regularization   the stored config's sections, resolved as `nnctl train` resolves a config
                                  (so every limit applies: layer counts, sizes against memory, ...)
    input_shape                   1 to 3 positive integers (or given by the caller, from its own data)
    normalization                 the form nnctl.data.normalize writes, every number finite
    class_names                   at most MAX_CLASSES strings of at most MAX_NAME_CHARS characters
    epoch, step                   non-negative integers, for display

Everything else in the metadata (the stored data section with its paths, dataset names, download flags,
the config file's folder, the training state) is ignored: a checkpoint never decides which files are
read, downloaded or written. Arrays are read only after their names and shapes match the network built
from the checked architecture (nnctl.runs.checkpoints), so a stored config cannot make nnctl
allocate more than the memory check of that build allows.

Used by `nnctl eval` and `nnctl plot`; `nnctl predict` and `nnctl export` (nnctl.deploy.saved_model) use
its checks the same way (stored_sections, stored_class_names, then the build before the arrays), and
`init.from` (nnctl.runs.init_from) takes only tensors, planned from the declared entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.config.load import errors_name
from nnctl.config.sections import REGULARIZATION_OPTIONS
from nnctl.options.spec import validate
from nnctl.options.yamlio import check_plain
from nnctl.data.normalize import check_description
from nnctl.errors import InputError
from nnctl.limits import MAX_CLASSES, MAX_NAME_CHARS
from nnctl.nn.model_config import resolve_model_config
from nnctl.nn.network import Network, build_network
from nnctl.nn.objective import Objective, build_objective, resolve_loss_config
from nnctl.runs.checkpoints import expected_shapes, open_checkpoint, read_checkpoint

MAX_INPUT_SIDE = 1 << 31
DEFAULT_LOSS = {"type": "softmax_cross_entropy"}


@dataclass
class TrustedModel:
    """What a checkpoint may tell: the network with its weights, and the checked facts about its inputs
    and outputs. There is deliberately no path, dataset or config file here."""

    path: Path
    network: Network
    objective: Objective
    model: dict                          # the resolved model section (as `nnctl train` resolves it)
    input_shape: tuple[int, ...]         # one sample, e.g. (784,) or (1, 28, 28)
    normalization: dict | None           # nnctl.data.normalize's description, or None if not stored
    class_names: list[str] | None
    epoch: int | None
    step: int | None


def load_trusted(path: str | Path, input_shape: tuple[int, ...] | None = None, dtype: Any = np.float32,
                 batch_size: int = 1) -> TrustedModel:
    """Read the checkpoint at `path` as described in the module docstring. `input_shape` (from the
    caller's own data) is used when the checkpoint stores none (written by an older nnctl) and must
    agree with it otherwise; `batch_size` sizes the memory check of the build. InputError (exit 2) for
    anything wrong, before any array is read."""
    path = Path(path)
    entries, meta = open_checkpoint(path)
    source = f"{path} (stored config)"
    sections = stored_sections(meta, source)
    shape = stored_input_shape(meta, path, input_shape)
    normalization = meta.get("normalization")
    if normalization is not None:
        groups = {"feature": math.prod(shape), "channel": shape[0] if len(shape) == 3 else None}
        normalization = check_description(normalization, f"{path}: normalization", groups)
    with errors_name(source):
        network = build_network(sections["model"], shape, np.random.default_rng(0), dtype, sections["paths"],
                                batch_size)
        objective = build_objective(sections["loss"], sections["regularization"], network)
    ckpt = read_checkpoint(path, entries, meta, expected_shapes(network.params(), network.buffers()),
                           groups=("param", "buffer"))
    network.load_arrays(ckpt.params, ckpt.buffers, str(path))
    return TrustedModel(path, network, objective, sections["model"], shape, normalization,
                        stored_class_names(meta, path), counter(meta, "epoch"), counter(meta, "step"))


def stored_sections(meta: dict, source: str) -> dict:
    """The stored config's model, loss and regularization sections, resolved and checked (ConfigError
    naming `source`); every other section is ignored."""
    config = meta.get("config")
    if not isinstance(config, dict) or "model" not in config:
        raise InputError(f"{source}: no model section; this is not a checkpoint nnctl can rebuild")
    parts = {key: config.get(key) for key in ("model", "loss", "regularization")}
    check_plain(parts, source)
    with errors_name(source):
        model, paths = resolve_model_config(config["model"], "model")
        loss = resolve_loss_config(config.get("loss", DEFAULT_LOSS), "loss")
        regularization = validate(REGULARIZATION_OPTIONS, config.get("regularization"), "regularization")
    return {"model": model, "paths": paths, "loss": loss, "regularization": regularization}


def stored_input_shape(meta: dict, path: Path, given: tuple[int, ...] | None) -> tuple[int, ...]:
    """The input shape the checkpoint states (1 to 3 positive integers), checked against `given`."""
    stored = meta.get("input_shape")
    if stored is None:
        if given is None:
            raise InputError(f"{path}: stores no input shape (written by an older nnctl); evaluate it with "
                             f"the run's data (nnctl eval RUN, or --config CONFIG)")
        return tuple(given)
    if not isinstance(stored, list) or not 1 <= len(stored) <= 3 or not all(
            isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= MAX_INPUT_SIDE for d in stored):
        raise InputError(f"{path}: input_shape: expected 1 to 3 positive integers; nothing was loaded")
    if given is not None and tuple(given) != tuple(stored):
        raise InputError(f"{path}: the network takes inputs of shape {tuple(stored)}, but the data gives "
                         f"{tuple(given)}")
    return tuple(stored)


def stored_class_names(meta: dict, path: Path) -> list[str] | None:
    names = meta.get("class_names")
    if names is None:
        return None
    if not isinstance(names, list) or len(names) > MAX_CLASSES or not all(
            isinstance(n, str) and len(n) <= MAX_NAME_CHARS for n in names):
        raise InputError(f"{path}: class_names: expected at most {MAX_CLASSES} strings of at most "
                         f"{MAX_NAME_CHARS} characters; nothing was loaded")
    return names


def counter(meta: dict, key: str) -> int | None:
    """A non-negative integer from the metadata (epoch, step), or None when absent or not one."""
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


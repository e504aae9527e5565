"""`init:` a new run that starts from another run's weights (fine-tuning).

    init:
      from: runs/pretrain/20261201-101500   # a run folder (its checkpoints/best.npz), a folder of runs (the
                                            # newest), or a checkpoint file; relative to the config file
      layers: [dense1, batchnorm1, dense2]  # or {new_name: old_name}; null: every node whose tensors match
      freeze: [dense1, batchnorm1]          # trainable: false (`resolve` has already set it in the model)

Parameters and buffers are copied node by node, by name. Every pair is checked before anything is copied
(and before the run folder exists): a node the source does not have, a tensor one side lacks, or two shapes
that differ is one ConfigError at `init.layers` naming the node, the tensor and both shapes. A new head
(10 classes to 5) works by leaving it out.

Only tensors (and its epoch, for the record) are taken from the source checkpoint: the config, paths and
data it mentions are never looked at. It is read in bounded memory: its declarations (names, float32 or
float64 dtypes, shapes, sizes against the file and memory) are checked and the plan is made from them
before any array data is read, and then only the copied tensors are read (NaN or infinity refused).
`--resume` does not come here when the run has a checkpoint of its own (its weights are that).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nnctl.data.mnist import sha256_of
from nnctl.errors import ConfigError, InputError
from nnctl.nn.network import Network
from nnctl.npzfile import Entry
from nnctl.runs.checkpoints import open_checkpoint, read_checkpoint
from nnctl.build.prepare import config_dir
from nnctl.runs.run_dir import find_checkpoint


def shown(path: Path) -> str:
    """A path as messages show it: relative to the working folder when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def init_source(config: dict) -> Path:
    """init.from as an absolute path: relative paths are taken from the config file's folder."""
    given = Path(config.init["from"]).expanduser()
    return given if given.is_absolute() else (config_dir(config) / given).resolve()


def source_checkpoint(target: Path) -> Path:
    """The checkpoint init.from stands for (see run_dir.find_checkpoint), errors at the key init.from."""
    try:
        return find_checkpoint(target)
    except InputError as exc:
        raise ConfigError("init.from", str(exc).replace(str(target), shown(target), 1)) from None


def tensors_by_node(entries: dict[str, Entry]) -> dict[str, dict[str, Entry]]:
    """{node: {tensor: entry}} from a checkpoint's declared param/ and buffer/ entries ("param/dense1.W" ->
    dense1, W); each entry's shape is known before its data is read."""
    nodes: dict[str, dict[str, Entry]] = {}
    for name, entry in entries.items():
        group, _, key = name.partition("/")
        if group in ("param", "buffer"):
            node, _, tensor = key.partition(".")
            nodes.setdefault(node, {})[tensor] = entry
    return nodes


def node_tensors(network: Network, name: str) -> dict[str, np.ndarray]:
    layer = network.by_name[name].layer
    return {**layer.params, **layer.buffers}


def pair_label(new: str, old: str, tensor: str | None = None) -> str:
    """'dense3.W', or 'head.W (from dense3.W)' when the node is renamed."""
    suffix = f".{tensor}" if tensor else ""
    return f"{new}{suffix}" if new == old else f"{new}{suffix} (from {old}{suffix})"


def mismatch(new_tensors: dict[str, np.ndarray], old_tensors: dict[str, Entry]) -> tuple[str, str] | None:
    """(tensor, what differs) for the first tensor whose presence or shape differs, or None if all fit."""
    for tensor in list(new_tensors) + [t for t in old_tensors if t not in new_tensors]:
        here, there = new_tensors.get(tensor), old_tensors.get(tensor)
        if here is None:
            return tensor, f"missing in this model but shape {tuple(there.shape)} in"
        if there is None:
            return tensor, f"shape {tuple(here.shape)} in this model but missing in"
        if here.shape != there.shape:
            return tensor, f"shape {tuple(here.shape)} in this model but {tuple(there.shape)} in"
    return None


def plan_copy(network: Network, source: dict[str, dict[str, Entry]], layers, where: str) -> list[tuple[str, str]]:
    """The (new node, old node) pairs to copy. With `layers` given every pair must fit exactly (else a
    ConfigError); with `layers` null, every node with tensors whose name and tensors match is taken."""
    if layers is None:
        return [(n.name, n.name) for n in network.nodes
                if node_tensors(network, n.name) and n.name in source
                and mismatch(node_tensors(network, n.name), source[n.name]) is None]
    pairs = [(name, name) for name in layers] if isinstance(layers, list) else list(layers.items())
    for new, old in pairs:
        mine = node_tensors(network, new)
        if not mine:
            raise ConfigError("init.layers", f"{new}: this node has no parameters or buffers, nothing to copy")
        if old not in source:
            raise ConfigError("init.layers", f"{pair_label(new, old)}: no such node in {where} (its nodes with "
                                             f"tensors: {', '.join(source) or 'none'})")
        problem = mismatch(mine, source[old])
        if problem is not None:
            tensor, what = problem
            raise ConfigError("init.layers", f"{pair_label(new, old, tensor)}: {what} {where}")
    return pairs


def initialize_from(network: Network, config: dict) -> dict:
    """Copy the tensors `config.init` selects into `network` (frozen nodes are already marked by the
    config). Returns the record of where the weights came from, for the report and the checkpoints:
    {"from": checkpoint, "sha256", "epoch", "copied": {new: old}, "frozen": [...], "not_copied": [...]}.
    Raises ConfigError (key path init.*) before changing anything when something does not fit."""
    init = config.init
    path = source_checkpoint(init_source(config))
    where = shown(path)
    entries, meta = open_checkpoint(Path(where))    # declarations checked, no array data read yet
    source = tensors_by_node(entries)
    pairs = plan_copy(network, source, init["layers"], where)
    if not pairs:
        raise ConfigError("init.from", f"no node of this model matches a node of {where} by name and tensor "
                                       f"shapes; name the nodes to copy in init.layers")
    copied = {new for new, _ in pairs}
    for name in init["freeze"]:
        if node_tensors(network, name) and name not in copied:
            raise ConfigError("init.freeze", f"{name} is not copied from {where}, so freezing it would keep its "
                                             f"random initial weights")
    chosen = {entry.name: entry for _, old in pairs for entry in source[old].values()}
    ckpt = read_checkpoint(Path(where), chosen, meta, groups=("param", "buffer"))     # finite floats only
    arrays = {**ckpt.params, **ckpt.buffers}
    for new, old in pairs:
        mine = node_tensors(network, new)
        for tensor in source[old]:
            mine[tensor][...] = arrays[f"{old}.{tensor}"]
    epoch = meta.epoch
    return {"from": os.path.abspath(path), "sha256": sha256_of(path),
            "epoch": epoch if isinstance(epoch, int) and not isinstance(epoch, bool) else None,
            "copied": {new: old for new, old in pairs}, "frozen": list(init["freeze"]),
            "not_copied": [n.name for n in network.nodes if node_tensors(network, n.name) and n.name not in copied]}

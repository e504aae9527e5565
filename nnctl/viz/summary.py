"""`nnctl summary`: a table of the network's layers with output shapes, parameters and multiply-adds."""

from __future__ import annotations

import math

from nnctl.nn.network import Network, build_network
from nnctl.viz.tables import align


def input_shape_without_data(config: dict) -> tuple[int, ...] | None:
    """One sample's shape as the network sees it (flattened when data.flatten is on), from the dataset's
    own description, without reading the data; None when only loading the data tells."""
    from nnctl.data.catalog import DATASETS
    from nnctl.training.prepare import config_dir

    cfg = config["data"]
    cls = DATASETS[cfg["dataset"]]
    described = cls(**{key: cfg[key] for key in cls.options}).sample_shape(config_dir(config))
    if described is None:
        return None
    shape, images = described
    return (int(math.prod(shape)),) if images and cfg["flatten"] else tuple(shape)


def network_of(config: dict) -> Network:
    """The config's network built as training would build it (same seed), loading data only when its
    shape cannot be known otherwise."""
    from nnctl.config.load import errors_name
    from nnctl.training.prepare import prepare, seed_streams

    shape = input_shape_without_data(config)
    if shape is None:
        return prepare(config, progress=False).network
    with errors_name(config):
        return build_network(config["model"], shape, seed_streams(config["seed"])[1], node_paths=config.node_paths)


def summary_rows(network: Network) -> list[dict]:
    """One dict per node: name, type, inputs, output shape, parameter count, MACs per sample, details."""
    rows = []
    for node in network.nodes:
        layer = node.layer
        rows.append({"name": node.name, "type": node.type,
                     "inputs": node.inputs, "output": tuple(layer.out_shape),
                     "params": int(sum(p.size for p in layer.params.values())), "macs": int(layer.macs()),
                     "details": layer.describe()})
    return rows


def _count(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def is_chain(network: Network) -> bool:
    """True when every node takes exactly the previous node's output (no branches to show)."""
    previous = "input"
    for node in network.nodes:
        if node.inputs != [previous]:
            return False
        previous = node.name
    return True


def format_summary(network: Network) -> str:
    """The summary table; an `inputs` column appears when the network is not a plain chain."""
    show_inputs = not is_chain(network)
    rows = summary_rows(network)
    header = ["layer", "type", "output shape", "params", "MACs", "details"]
    if show_inputs:
        header.insert(2, "inputs")
    table = [header]
    table.append(["input", "", *([""] if show_inputs else []), str(network.input_shape), "", "", ""])
    for r in rows:
        line = [r["name"], r["type"], str(r["output"]), f"{r['params']:,}", _count(r["macs"]), r["details"]]
        if show_inputs:
            line.insert(2, ", ".join(r["inputs"]))
        table.append(line)
    lines = align(table, rule=True)
    total_params = sum(r["params"] for r in rows)
    frozen = sum(r["params"] for r, node in zip(rows, network.nodes) if not node.trainable)
    total_macs = sum(r["macs"] for r in rows)
    lines.append("")
    lines.append(f"total: {total_params:,} parameters ({total_params - frozen:,} trainable, {frozen:,} frozen; "
                 f"{4 * total_params / 1e6:.2f} MB as float32), {_count(total_macs)} multiply-adds per sample "
                 f"(forward)")
    return "\n".join(lines)

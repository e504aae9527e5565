"""`nnctl summary`: a table of the network's layers with output shapes, parameters and multiply-adds."""

from __future__ import annotations


from nnctl.nn.network import Network
from nnctl.viz.tables import align


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

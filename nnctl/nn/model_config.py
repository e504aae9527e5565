"""The `model:` section of a config: a list of layers (a chain) or named nodes that name their inputs.

In YAML a plain list of layers is a chain; a node may instead name its input (`input: stem`) or inputs
(`inputs: [left, right]` for concat/add). `repeat: N` blocks expand a sub-list N times. Nodes without a
`name` are named by type and count: dense1, relu1, dense2, ...

Bounded: the expanded list is counted before anything is expanded, and more than MAX_LAYERS nodes (or
MAX_VALUES config values, for repeated `weights:`) is an error at the repeat (or list) that goes over.
`weights:` values must be finite numbers within float32's range, in rectangular nested lists.
"""

from __future__ import annotations

import re
from typing import Any

from nnctl.errors import ConfigError
from nnctl.limits import MAX_LAYERS, MAX_VALUES
from nnctl.nn.registry import LAYERS
from nnctl.options.spec import (
    Bool,
    Float,
    Int,
    Mismatch,
    Option,
    did_you_mean,
    join_path,
    require_mapping,
    show,
    validate,
)

INPUT = "input"   # the name under which nodes refer to the network's input
FLOAT32_MAX = 3.4028234663852886e38


def _weights(value: Any) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, (list, int, float))
                                              and not isinstance(v, bool) for k, v in value.items()):
        raise Mismatch("a mapping of parameter names to (nested lists of) numbers, e.g. {W: [[1, 0], [0, 1]]}")
    return value


NODE_OPTIONS = {
    "l1": Option(Float(0), None, "this layer's L1 penalty (overrides regularization.l1)"),
    "l2": Option(Float(0), None, "this layer's L2 penalty (overrides regularization.l2)"),
    "weights": Option(_weights, None, "fixed starting values for parameters, e.g. {W: [...]} (shapes must match)"),
    "trainable": Option(Bool(), True, "false freezes the layer: parameters never updated (still saved); a frozen "
                                      "batchnorm also keeps its statistics and normalizes with them in training"),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def check_weight_values(value: Any, path: str) -> tuple[int, ...]:
    """The shape of a `weights:` entry (a number or rectangular nested lists of numbers), each number
    finite and within float32's range; anything else is a ConfigError at the offending item."""
    if isinstance(value, list):
        shapes = [check_weight_values(item, join_path(path, i)) for i, item in enumerate(value)]
        for i, shape in enumerate(shapes[1:], start=1):
            if shape != shapes[0]:
                raise ConfigError(join_path(path, i), f"expected {_shape_words(shapes[0])} like "
                                                      f"{path.rsplit('.', 1)[-1]}[0], got {_shape_words(shape)}")
        return (len(value), *(shapes[0] if shapes else ()))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not abs(value) <= FLOAT32_MAX:
        raise ConfigError(path, f"expected a finite number within float32's range (|v| <= 3.4e+38), "
                                f"got {show(value)}")
    return ()


def _shape_words(shape: tuple[int, ...]) -> str:
    return "a number" if not shape else f"a list of shape {shape}"


# ------------------------------------------------------------------------------------------ config side

def _block(item: dict, where: str) -> dict:
    return validate({"repeat": Option(Int(1)), "layers": Option(lambda v: v)}, item, where)


def _values_in(value: Any, counted: dict[int, int]) -> int:
    """Config values in `value` (each list, mapping and scalar counts one), each list or mapping once."""
    if not isinstance(value, (list, dict)):
        return 1
    if id(value) not in counted:
        items = value.values() if isinstance(value, dict) else value
        counted[id(value)] = 1 + sum(_values_in(item, counted) for item in items)
    return counted[id(value)]


def count_layers(raw: Any, path: str, counted: dict[int, int] | None = None) -> tuple[int, int]:
    """(nodes, config values) the layer list `raw` expands to, computed without expanding it; a ConfigError
    at the repeat block (or the list) where either goes over MAX_LAYERS or MAX_VALUES."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, f"expected a non-empty list of layers, got {show(raw)}")
    counted = {} if counted is None else counted
    nodes = values = 0
    for i, item in enumerate(raw):
        where = join_path(path, i)
        item = require_mapping(item, where)
        if "repeat" in item:
            block = _block(item, where)
            inner_nodes, inner_values = count_layers(block["layers"], join_path(where, "layers"), counted)
            nodes += block["repeat"] * inner_nodes
            values += block["repeat"] * inner_values
            blame = join_path(where, "repeat")
        else:
            nodes += 1
            values += _values_in(item, counted)
            blame = path
        if nodes > MAX_LAYERS:
            raise ConfigError(blame, f"expands to more than {MAX_LAYERS} layers, the limit")
        if values > MAX_VALUES:
            raise ConfigError(blame, f"expands to more than {MAX_VALUES} config values, the limit")
    return nodes, values


def expand_layers(raw: Any, path: str) -> list[tuple[str, dict]]:
    """Flatten a YAML layer list, expanding `{repeat: N, layers: [...]}` blocks (after `count_layers` has
    checked the size). Returns (path, node) pairs."""
    count_layers(raw, path)
    out: list[tuple[str, dict]] = []
    for i, item in enumerate(raw):
        where = join_path(path, i)
        if "repeat" in item:
            block = _block(item, where)
            inner = expand_layers(block["layers"], join_path(where, "layers"))
            for _ in range(block["repeat"]):
                out.extend(inner)
        else:
            out.append((where, item))
    return out


def resolve_model_config(raw: Any, path: str) -> tuple[dict, dict[str, str]]:
    """Validate the `model` section. Returns ({"layers": [resolved nodes]}, {node name: key path}).

    Each resolved node carries its name, type, options with defaults filled, and `input`/`inputs` only
    where the user gave them (the default input is the previous node).
    """
    if isinstance(raw, list):
        raw = {"layers": raw}
    raw = require_mapping(raw, path)
    sections = validate({"layers": Option(lambda v: v)}, raw, path)
    nodes, paths, counts = [], {}, {}
    expanded = expand_layers(sections["layers"], join_path(path, "layers"))
    declared = {n["name"] for _, n in expanded if "name" in n}
    for where, node in expanded:
        if "type" not in node:
            raise ConfigError(join_path(where, "type"), "required key is missing (a layer type, e.g. "
                                                        "dense, relu)")
        layer_cls = LAYERS.lookup(node["type"], join_path(where, "type"))
        name = node.get("name")
        if name is None:
            counts[node["type"]] = counts.get(node["type"], 0)
            while True:
                counts[node["type"]] += 1
                name = f"{node['type']}{counts[node['type']]}"
                if name not in declared and name not in paths:
                    break
        elif not isinstance(name, str) or not _NAME.match(name) or name == INPUT:
            raise ConfigError(join_path(where, "name"), f"expected a name of letters, digits, _ or - "
                                                        f"(not 'input'), got {show(name)}")
        if name in paths:
            raise ConfigError(join_path(where, "name"), f"duplicate node name {name!r} (first at {paths[name]})")
        options = validate({**layer_cls.options, **NODE_OPTIONS}, node, where,
                           ignore=("type", "name", "input", "inputs"))
        for key, values in (options["weights"] or {}).items():
            check_weight_values(values, join_path(join_path(where, "weights"), key))
        resolved = {"name": name, "type": node["type"]}
        resolved.update({k: v for k, v in options.items() if k not in NODE_OPTIONS})
        resolved.update({k: options[k] for k in NODE_OPTIONS
                         if options[k] is not None and options[k] != NODE_OPTIONS[k].default})
        resolved.update(_resolve_inputs(node, layer_cls, where, set(paths)))
        paths[name] = where
        nodes.append(resolved)
    return {"layers": nodes}, paths


def _resolve_inputs(node: dict, layer_cls: type, where: str, earlier: set[str]) -> dict:
    if "input" in node and "inputs" in node:
        raise ConfigError(join_path(where, "inputs"), "give either input or inputs, not both")
    if "input" in node:
        given, key = [node["input"]], "input"
    elif "inputs" in node:
        given, key = node["inputs"], "inputs"
        if not isinstance(given, list) or not given:
            raise ConfigError(join_path(where, key), f"expected a list of node names, got {show(given)}")
    else:
        if layer_cls.arity == "many":
            raise ConfigError(join_path(where, "inputs"), "required key is missing (the node names to combine)")
        return {}
    for name in given:
        if not isinstance(name, str):
            raise ConfigError(join_path(where, key), f"expected node names, got {show(given if key == 'inputs' else name)}")
        if name != INPUT and name not in earlier:
            raise ConfigError(join_path(where, key), f"unknown node {show(name)}: inputs must name an earlier "
                                                     f"node or 'input'{did_you_mean(str(name), earlier)}")
    if layer_cls.arity == "many" and len(given) < 2:
        raise ConfigError(join_path(where, key), f"expected at least 2 inputs, got {show(given)}")
    if layer_cls.arity == "one" and len(given) != 1:
        raise ConfigError(join_path(where, key), f"this layer takes one input, got {show(given)}")
    return {key: given[0] if key == "input" else list(given)}

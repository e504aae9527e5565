"""The network: named nodes in topological order, each a layer fed by earlier nodes.

In YAML a plain list of layers is a chain; a node may instead name its input (`input: stem`) or inputs
(`inputs: [left, right]` for concat/add). `repeat: N` blocks expand a sub-list N times. Nodes without a
`name` are named by type and count: dense1, relu1, dense2, ...

Parameters are seen by optimizers as one flat dict {"dense1.W": array, ...} holding the layers' own
arrays, so in-place updates reach the layers directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.errors import ConfigError
from nnctl.layers.base import Layer, Shape
from nnctl.config.spec import (Bool, Float, Int, Mismatch, Option, did_you_mean, join_path, require_mapping, show,
                        validate)

INPUT = "input"
def _weights(value: Any) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, (list, int, float))
                                              and not isinstance(v, bool) for k, v in value.items()):
        raise Mismatch("a mapping of parameter names to (nested lists of) numbers, e.g. {W: [[1, 0], [0, 1]]}")
    return value


NODE_OPTIONS = {
    "l1": Option(Float(0), None, "this layer's L1 penalty (overrides regularization.l1)"),
    "l2": Option(Float(0), None, "this layer's L2 penalty (overrides regularization.l2)"),
    "weights": Option(_weights, None, "fixed starting values for parameters, e.g. {W: [...]} (shapes must match)"),
    "trainable": Option(Bool(), True, "false freezes the layer's parameters (never updated, still saved)"),
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


# ------------------------------------------------------------------------------------------ config side

def expand_layers(raw: Any, path: str) -> list[tuple[str, dict]]:
    """Flatten a YAML layer list, expanding `{repeat: N, layers: [...]}` blocks. Returns (path, node) pairs."""
    if not isinstance(raw, list) or not raw:
        raise ConfigError(path, f"expected a non-empty list of layers, got {show(raw)}")
    out: list[tuple[str, dict]] = []
    for i, item in enumerate(raw):
        where = join_path(path, i)
        item = require_mapping(item, where)
        if "repeat" in item:
            block = validate({"repeat": Option(Int(1)), "layers": Option(lambda v: v)}, item, where)
            for _ in range(block["repeat"]):
                out.extend(expand_layers(block["layers"], join_path(where, "layers")))
        else:
            out.append((where, item))
    return out


def resolve_model_config(raw: Any, path: str) -> tuple[dict, dict[str, str]]:
    """Validate the `model` section. Returns ({"layers": [resolved nodes]}, {node name: key path}).

    Each resolved node carries its name, type, options with defaults filled, and `input`/`inputs` only
    where the user gave them (the default input is the previous node).
    """
    from nnctl.nn.registry import LAYERS

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


# ------------------------------------------------------------------------------------------ the network

@dataclass
class Node:
    name: str
    type: str
    layer: Layer
    inputs: list[str]
    penalty: dict[str, float] = field(default_factory=dict)   # per-layer l1/l2 overrides
    weights: dict[str, Any] | None = None                     # fixed starting values from the config
    trainable: bool = True


class Network:
    """A built graph of layers. forward(x) -> output of the last node; backward(seeds) fills grads."""

    def __init__(self, nodes: list[Node]):
        self.nodes = nodes
        self.by_name = {n.name: n for n in nodes}
        self.keep: set[str] = {nodes[-1].name}
        self.outputs: dict[str, np.ndarray] = {}
        self.input_grad: np.ndarray | None = None
        self.dtype = np.dtype(np.float32)

    @property
    def output_name(self) -> str:
        return self.nodes[-1].name

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: Any = np.float32,
              node_paths: dict[str, str] | None = None) -> None:
        """Create every layer's parameters, in order, from `rng`. Shape problems become ConfigErrors."""
        self.dtype = np.dtype(dtype)
        self.input_shape = tuple(input_shape)
        shapes = {INPUT: self.input_shape}
        for node in self.nodes:
            in_shapes = [shapes[i] for i in node.inputs]
            try:
                shapes[node.name] = node.layer.build(in_shapes if node.layer.arity == "many" else in_shapes[0],
                                                     rng, self.dtype)
            except ValueError as exc:
                raise ConfigError(self.where(node, node_paths), str(exc)) from None
            if node.weights:
                self.set_weights(node, node_paths)
        self.output_shape = shapes[self.output_name]
        self._last_use = {}
        for i, node in enumerate(self.nodes):
            for name in node.inputs:
                self._last_use[name] = i

    @staticmethod
    def where(node: Node, node_paths: dict[str, str] | None, key: str | None = None) -> str:
        path = (node_paths or {}).get(node.name, f"model.layers ({node.name})")
        return join_path(path, key) if key else path

    def set_weights(self, node: Node, node_paths: dict[str, str] | None) -> None:
        """Copy the config's fixed values into the layer's parameters (shapes checked)."""
        params = node.layer.params
        for name, values in node.weights.items():
            where = self.where(node, node_paths, "weights")
            if name not in params:
                raise ConfigError(join_path(where, name), f"this layer has no parameter {name!r}; it has "
                                                          f"{', '.join(params) or 'none'}")
            try:
                array = np.asarray(values, dtype=np.float64)
            except ValueError:
                raise ConfigError(join_path(where, name), "expected a rectangular nested list of numbers") from None
            if array.shape != params[name].shape:
                raise ConfigError(join_path(where, name), f"expected shape {params[name].shape}, got {array.shape}")
            params[name][...] = array

    def forward(self, x: np.ndarray, training: bool) -> np.ndarray:
        """x: (N, *input_shape) -> output of the last node. Outputs of nodes in `keep` stay in `outputs`."""
        values = {INPUT: x}
        for i, node in enumerate(self.nodes):
            layer = node.layer
            if layer.arity == "many":
                values[node.name] = layer.forward([values[n] for n in node.inputs], training)
            else:
                values[node.name] = layer.forward(values[node.inputs[0]], training)
            for name in node.inputs:   # free activations nobody needs any more
                if self._last_use.get(name) == i and name not in self.keep:
                    del values[name]
        self.outputs = {k: values[k] for k in self.keep}
        return values[self.output_name]

    def backward(self, seeds: dict[str, np.ndarray], need_input_grad: bool = False) -> None:
        """Backpropagate gradients given for some node outputs; fills every layer's `grads`.

        Layers that no gradient reaches get zero grads. With `need_input_grad`, the gradient with respect
        to the network input ends in `self.input_grad`.
        """
        pending = dict(seeds)
        self.input_grad = None
        for node in self.nodes:
            if node.inputs == [INPUT]:
                node.layer.need_input_grad = need_input_grad
        for node in reversed(self.nodes):
            dy = pending.pop(node.name, None)
            if dy is not None and not node.trainable and node.inputs == [INPUT] and not need_input_grad:
                continue            # frozen and first: neither its weight nor its input gradient is needed
            if dy is None:
                node.layer.grads = node.layer.zero_like_params()
                continue
            dxs = node.layer.backward(dy)
            if node.layer.arity == "one":
                dxs = [dxs]
            for name, dx in zip(node.inputs, dxs):
                if name == INPUT and not need_input_grad:
                    continue
                pending[name] = dx if name not in pending else pending[name] + dx
        self.input_grad = pending.get(INPUT)
        self.outputs = {}

    # -------------------------------------------------------------------------------- flat views
    def params(self) -> dict[str, np.ndarray]:
        return {f"{n.name}.{k}": v for n in self.nodes for k, v in n.layer.params.items()}

    def grads(self) -> dict[str, np.ndarray]:
        """Gradients of the trainable parameters (frozen layers left out)."""
        return {f"{n.name}.{k}": v for n in self.nodes if n.trainable for k, v in n.layer.grads.items()}

    def trainable_params(self) -> dict[str, np.ndarray]:
        return {f"{n.name}.{k}": v for n in self.nodes if n.trainable for k, v in n.layer.params.items()}

    def buffers(self) -> dict[str, np.ndarray]:
        return {f"{n.name}.{k}": v for n in self.nodes for k, v in n.layer.buffers.items()}

    def penalized_keys(self) -> set[str]:
        return {f"{n.name}.{k}" for n in self.nodes if n.trainable for k in n.layer.penalized
                if k in n.layer.params}

    def layers(self) -> list[Layer]:
        return [n.layer for n in self.nodes]

    def parameter_count(self) -> int:
        return int(sum(v.size for v in self.params().values()))

    def load_arrays(self, params: dict[str, np.ndarray], buffers: dict[str, np.ndarray], source: str) -> None:
        """Copy saved arrays into the layers; any missing, extra or misshapen array is an InputError."""
        from nnctl.errors import InputError
        for kind, mine, theirs in (("parameter", self.params(), params), ("buffer", self.buffers(), buffers)):
            missing = sorted(set(mine) - set(theirs))
            extra = sorted(set(theirs) - set(mine))
            if missing or extra:
                what = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
                raise InputError(f"{source}: {kind}s do not match the network ({what}); nothing was loaded")
            for key, array in theirs.items():
                if array.dtype.kind not in "fiu":
                    raise InputError(f"{source}: {kind} {key} holds {array.dtype} values, not real numbers; "
                                     f"nothing was loaded")
                if array.shape != mine[key].shape:
                    raise InputError(f"{source}: {kind} {key} has shape {array.shape}, the network expects "
                                     f"{mine[key].shape}; nothing was loaded")
        for mine, theirs in ((self.params(), params), (self.buffers(), buffers)):
            for key, array in theirs.items():
                mine[key][...] = array


def build_network(model_cfg: dict, input_shape: Shape, rng: np.random.Generator, dtype: Any = np.float32,
                  node_paths: dict[str, str] | None = None) -> Network:
    """Instantiate and build the resolved `model` section for inputs of `input_shape` (no batch axis)."""
    from nnctl.nn.registry import LAYERS

    nodes: list[Node] = []
    previous = INPUT
    for spec in model_cfg["layers"]:
        layer_cls = LAYERS.table[spec["type"]]
        options = {k: v for k, v in spec.items() if k in layer_cls.options}
        if "inputs" in spec:
            inputs = list(spec["inputs"])
        elif "input" in spec:
            inputs = [spec["input"]]
        else:
            inputs = [previous]
        penalty = {k: spec[k] for k in ("l1", "l2") if k in spec}
        nodes.append(Node(spec["name"], spec["type"], layer_cls(spec["name"], **options), inputs, penalty,
                          spec.get("weights"), spec.get("trainable", True)))
        previous = spec["name"]
    network = Network(nodes)
    network.build(input_shape, rng, dtype, node_paths)
    return network

"""The network: named nodes in topological order, each a layer fed by earlier nodes (or the input).

Parameters are seen by optimizers as one flat dict {"dense1.W": array, ...} holding the layers' own
arrays, so in-place updates reach the layers directly. Buffers (batch-norm running statistics) are a
second flat dict, saved with the parameters but never trained.

The trainable parameters live in one contiguous buffer (`flat_params`), their gradients in another
(`flat_grads`), and each layer's params and grads are views into them (nnctl.optim.flat), so an optimizer
updates the whole network with a few ufunc calls over one array.

Building is bounded: before each layer allocates anything, the memory of the network so far is
estimated from shapes (parameters x PARAM_COPIES for their gradients and optimizer state, plus one
batch's activations x ACTIVATION_COPIES and scratch) and compared with nnctl.limits.memory_budget().
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.errors import ConfigError, InputError
from nnctl.layers.base import Layer, Shape
from nnctl.limits import memory_budget, show_bytes
from nnctl.nn.fusion import ReluPoolFusion
from nnctl.nn.model_config import INPUT
from nnctl.nn.registry import LAYERS
from nnctl.optim.flat import pack
from nnctl.options.spec import join_path

PARAM_COPIES = 4         # the parameters, their gradients, and up to two optimizer slots (Adam's m and v)
ACTIVATION_COPIES = 3    # a node's output kept for backward, its gradient, and one temporary of that size


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
    """A built graph of layers: forward(x) gives node outputs; backward(seeds) fills every layer's grads."""

    def __init__(self, nodes: list[Node]):
        self.nodes = nodes
        self.by_name = {n.name: n for n in nodes}
        self.dtype = np.dtype(np.float32)

    @property
    def output_name(self) -> str:
        return self.nodes[-1].name

    def build(self, input_shape: Shape, rng: np.random.Generator, dtype: Any = np.float32,
              node_paths: dict[str, str] | None = None, batch_size: int = 1) -> None:
        """Create every layer's parameters, in order, from `rng`. Shape problems, and a network whose
        parameters and `batch_size` samples' activations would not fit in memory, become ConfigErrors
        (raised before that layer allocates anything)."""
        self.dtype = np.dtype(dtype)
        self.input_shape = tuple(input_shape)
        shapes = {INPUT: self.input_shape}
        budget = memory_budget()
        needed = batch_size * math.prod(self.input_shape) * self.dtype.itemsize
        for node in self.nodes:
            in_shapes = [shapes[i] for i in node.inputs]
            in_shape = in_shapes if node.layer.arity == "many" else in_shapes[0]
            try:
                needed += self.layer_bytes(node.layer, in_shape, batch_size)
                if needed > budget:
                    key = node.layer.size_key
                    raise ConfigError(self.where(node, node_paths, key),
                                      f"the network up to this layer needs about {show_bytes(needed)} of memory "
                                      f"(parameters with gradients and optimizer state, and the activations of "
                                      f"a batch of {batch_size}), more than the {show_bytes(budget)} available")
                shapes[node.name] = node.layer.build(in_shape, rng, self.dtype)
            except ValueError as exc:
                where = self.where(node, node_paths, getattr(exc, "key", None))
                raise ConfigError(where, str(exc)) from None
            if node.weights:
                self.set_weights(node, node_paths)
        self.output_shape = shapes[self.output_name]
        self.pack_trainable()
        self._last_use = {}
        for i, node in enumerate(self.nodes):
            for name in node.inputs:
                self._last_use[name] = i
        self.fusion = ReluPoolFusion(self.nodes)

    def pack_trainable(self) -> None:
        """Move the trainable parameters into one flat buffer and give them a flat gradient buffer of the
        same layout (node order, then each layer's key order: the order of `trainable_params()`)."""
        trainable = [n for n in self.nodes if n.trainable]
        self.flat_params, params = pack(self.trainable_params(), self.dtype)
        self.flat_grads, grads = pack(params, self.dtype, copy=False)
        for node in trainable:
            for key in node.layer.params:
                node.layer.params[key] = params[f"{node.name}.{key}"]
                node.layer.grads[key] = grads[f"{node.name}.{key}"]
        self._grad_views = grads

    def layer_bytes(self, layer: Layer, in_shape: Any, batch_size: int) -> int:
        """Estimated bytes one layer adds: its parameters x PARAM_COPIES, and per sample of the batch its
        output x ACTIVATION_COPIES plus its scratch. Shapes only: nothing is allocated."""
        out_shape = layer.output_shape(in_shape)
        params = sum(math.prod(shape) for shape in layer.param_shapes(in_shape).values())
        per_sample = ACTIVATION_COPIES * math.prod(out_shape) + layer.work_per_sample(in_shape, out_shape)
        return (PARAM_COPIES * params + batch_size * per_sample) * self.dtype.itemsize

    def memory_needed(self, batch_size: int) -> int:
        """The estimate `build` checked, for the built network and batches of `batch_size`: bytes."""
        return batch_size * math.prod(self.input_shape) * self.dtype.itemsize + sum(
            self.layer_bytes(node.layer, node.layer.in_shape, batch_size) for node in self.nodes)

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

    # ---------------------------------------------------------------------------------- passes
    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None,
                keep: Collection[str] = (), until: str | None = None) -> dict[str, np.ndarray]:
        """Run the nodes on x: (N, *input_shape) and return {name: output} for the last node (or `until`,
        where the pass stops) and every node named in `keep` ("input" names x itself).

        `rng` is handed to every layer (those that draw in training, such as dropout, use it). A frozen
        node whose layer `evaluates_when_frozen` (batch norm) runs in evaluation mode. Outputs nobody needs
        any more are freed as the pass goes.
        """
        keep = set(keep)
        last = until or self.output_name
        keep.add(last)
        values = {INPUT: x}
        self.fusion.begin(keep, last)
        for i, node in enumerate(self.nodes):
            layer = node.layer
            mode = training and (node.trainable or not layer.evaluates_when_frozen)
            if layer.arity == "many":
                values[node.name] = layer.forward([values[n] for n in node.inputs], mode, rng)
            elif self.fusion.passes_through(node.name):
                values[node.name] = values[node.inputs[0]]
            else:
                values[node.name] = layer.forward(values[node.inputs[0]], mode, rng)
                self.fusion.after_pool(node.inputs[0], node.name, values[node.name], mode)
            if node.name == last:
                break
            for name in node.inputs:
                if self._last_use.get(name) == i and name not in keep:
                    del values[name]
        return {k: values[k] for k in keep}

    def backward(self, seeds: dict[str, np.ndarray], need_input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate gradients given for some node outputs; fills every layer's `grads`.

        Layers that no gradient reaches get zero grads. Returns the gradient with respect to the network
        input when `need_input_grad`, else None (layers fed by the input then skip computing it).
        """
        pending = dict(seeds)
        for node in reversed(self.nodes):
            dy = pending.pop(node.name, None)
            feeds_on_input = node.inputs == [INPUT]
            if dy is not None and not node.trainable and feeds_on_input and not need_input_grad:
                continue            # frozen and first: neither its weight nor its input gradient is needed
            if dy is None:
                self.zero_grads(node)
                continue
            if self.fusion.passes_through(node.name):
                dxs = dy
            else:
                dy = self.fusion.before_pool_backward(node.name, dy)
                dxs = node.layer.backward(dy, need_input_grad=need_input_grad or not feeds_on_input)
            if node.layer.arity == "one":
                dxs = [dxs]
            for name, dx in zip(node.inputs, dxs):
                if name == INPUT and not need_input_grad:
                    continue
                pending[name] = dx if name not in pending else pending[name] + dx
        return pending.get(INPUT)

    # -------------------------------------------------------------------------------- flat views
    def params(self) -> dict[str, np.ndarray]:
        return {f"{n.name}.{k}": v for n in self.nodes for k, v in n.layer.params.items()}

    @staticmethod
    def zero_grads(node: Node) -> None:
        """Zero gradients for a layer that no gradient reaches (in place where the layer has them)."""
        layer = node.layer
        for key, param in layer.params.items():
            grad = layer.grads.get(key)
            if grad is not None and grad.shape == param.shape and grad.dtype == param.dtype:
                grad.fill(0)
            else:
                layer.grads[key] = np.zeros_like(param)

    def grads(self) -> dict[str, np.ndarray]:
        """Gradients of the trainable parameters (frozen layers left out), as views of `flat_grads`: a layer
        that stored a gradient in an array of its own has it copied into its view here."""
        views = {}
        for node in self.nodes:
            if not node.trainable:
                continue
            for key, grad in node.layer.grads.items():
                name = f"{node.name}.{key}"
                view = self._grad_views.get(name)
                if view is not None and grad is not view:
                    np.copyto(view, grad)
                    node.layer.grads[key] = grad = view
                views[name] = grad
        return views

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
                  node_paths: dict[str, str] | None = None, batch_size: int = 1) -> Network:
    """Instantiate and build the resolved `model` section for inputs of `input_shape` (no batch axis),
    checking first that it fits in memory with batches of `batch_size` (see Network.build)."""
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
    network.build(input_shape, rng, dtype, node_paths, batch_size)
    return network

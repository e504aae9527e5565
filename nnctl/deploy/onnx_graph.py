"""The network's nodes as ONNX operators (opset 17), one small converter per layer type.

A converter gets the graph being built, the network node and the names of its input values, and returns
the name of its output value. Tensors (weights, statistics) become float32 initializers. Where nnctl
computes in a particular order (GELU, batch statistics), the converter spells the same order out, so
the exported graph rounds like nnctl does:

    dense            Gemm (MatMul without a bias)        conv2d       Conv (strides, pads, dilations)
    maxpool2d        MaxPool                              avgpool2d    AveragePool, padded zeros counted
    global_avgpool   GlobalAveragePool, Flatten           flatten      Flatten(axis 1)
    batchnorm        BatchNormalization with the statistics evaluation uses (running, or recomputed once
                     computed); test_stats: batch becomes ReduceMean/Sub/Mul/Sqrt over the batch
    layernorm        LayerNormalization(axis 1)           concat       Concat(axis 1)
    add              Add, left to right                   dropout, identity   nothing (the value passes)
    reshape          Reshape to (-1, *shape)              noise        nothing (no damage at inference)
    relu, leaky_relu, sigmoid, tanh, elu, prelu           the ONNX operator of the same name
    gelu             0.5 x (1 + tanh(c x (1 + k x^2)))    softplus     relu(x) + log(1 + exp(-|x|))
A layer type missing from CONVERTERS has no ONNX form: `onnx_nodes` says so naming the node.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from nnctl.errors import InputError
from nnctl.nn.network import Node

OPSET = 17


class Graph:
    """ONNX nodes and initializers under construction, with unique value names derived from node names."""

    def __init__(self):
        # optional (the onnx extra): loaded when exporting
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes: list = []
        self.initializers: list = []
        self.names: set[str] = set()

    def fresh(self, hint: str) -> str:
        name, i = hint, 1
        while name in self.names:
            i += 1
            name = f"{hint}_{i}"
        self.names.add(name)
        return name

    def constant(self, hint: str, value) -> str:
        """A float32 initializer holding `value`; returns its name."""
        name = self.fresh(hint)
        array = np.ascontiguousarray(np.asarray(value, dtype=np.float32))
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, **attributes) -> str:
        """Append one operator with a single output; returns the output's name."""
        output = self.fresh(hint)
        self.nodes.append(self.helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output


Converter = Callable[[Graph, Node, list[str]], str]


def channel_shape(node: Node) -> tuple[int, ...]:
    """Shape that broadcasts a per-channel (C,) vector over the layer input (C, ...): (C, 1, 1) or (C,)."""
    in_shape = node.layer.in_shape
    return (in_shape[0],) + (1,) * (len(in_shape) - 1)


def dense(g: Graph, node: Node, inputs: list[str]) -> str:
    p = node.layer.params
    weights = g.constant(f"{node.name}.W", p["W"])
    if "b" in p:
        return g.op("Gemm", [inputs[0], weights, g.constant(f"{node.name}.b", p["b"])], node.name)
    return g.op("MatMul", [inputs[0], weights], node.name)


def conv2d(g: Graph, node: Node, inputs: list[str]) -> str:
    geometry, p = node.layer.geometry, node.layer.params
    args = [inputs[0], g.constant(f"{node.name}.W", p["W"])]
    if "b" in p:
        args.append(g.constant(f"{node.name}.b", p["b"]))
    (kh, kw), (ph, pw) = geometry.kernel, geometry.padding
    return g.op("Conv", args, node.name, kernel_shape=[kh, kw], strides=list(geometry.stride),
                pads=[ph, pw, ph, pw], dilations=list(geometry.dilation))


def pooling(op_type: str, **extra) -> Converter:
    def convert(g: Graph, node: Node, inputs: list[str]) -> str:
        geometry = node.layer.geometry
        (ph, pw) = geometry.padding
        return g.op(op_type, [inputs[0]], node.name, kernel_shape=list(geometry.kernel),
                    strides=list(geometry.stride), pads=[ph, pw, ph, pw], **extra)

    return convert


def global_avgpool(g: Graph, node: Node, inputs: list[str]) -> str:
    pooled = g.op("GlobalAveragePool", inputs, f"{node.name}_pool")
    return g.op("Flatten", [pooled], node.name, axis=1)


def batchnorm(g: Graph, node: Node, inputs: list[str]) -> str:
    layer = node.layer
    gamma, beta, eps = layer.params["gamma"], layer.params["beta"], layer.config["eps"]
    if layer.config["test_stats"] == "batch":
        return batch_statistics(g, node, inputs[0], gamma, beta, eps)
    use_recomputed = layer.needs_recompute and layer.buffers["recomputed_samples"][0] > 0
    prefix = "recomputed" if use_recomputed else "running"
    mean, var = layer.buffers[f"{prefix}_mean"], layer.buffers[f"{prefix}_var"]
    return g.op("BatchNormalization", [inputs[0], g.constant(f"{node.name}.gamma", gamma),
                                       g.constant(f"{node.name}.beta", beta), g.constant(f"{node.name}.mean", mean),
                                       g.constant(f"{node.name}.var", var)], node.name, epsilon=float(eps))


def batch_statistics(g: Graph, node: Node, x: str, gamma: np.ndarray, beta: np.ndarray, eps: float) -> str:
    """Normalization with the batch's own mean and (biased) variance per channel, as nnctl evaluates
    `test_stats: batch`: xhat = (x - mean) * (1 / sqrt(var + eps)), y = gamma * xhat + beta."""
    axes = [0] + list(range(2, len(node.layer.in_shape) + 1))
    shape = channel_shape(node)
    mean = g.op("ReduceMean", [x], f"{node.name}_mean", axes=axes, keepdims=1)
    centred = g.op("Sub", [x, mean], f"{node.name}_centred")
    var = g.op("ReduceMean", [g.op("Mul", [centred, centred], f"{node.name}_squares")], f"{node.name}_var",
               axes=axes, keepdims=1)
    std = g.op("Sqrt", [g.op("Add", [var, g.constant(f"{node.name}.eps", eps)], f"{node.name}_var_eps")],
               f"{node.name}_std")
    xhat = g.op("Mul", [centred, g.op("Reciprocal", [std], f"{node.name}_inv_std")], f"{node.name}_xhat")
    scaled = g.op("Mul", [xhat, g.constant(f"{node.name}.gamma", gamma.reshape(shape))], f"{node.name}_scaled")
    return g.op("Add", [scaled, g.constant(f"{node.name}.beta", beta.reshape(shape))], node.name)


def layernorm(g: Graph, node: Node, inputs: list[str]) -> str:
    p = node.layer.params
    return g.op("LayerNormalization", [inputs[0], g.constant(f"{node.name}.gain", p["gain"]),
                                       g.constant(f"{node.name}.bias", p["bias"])], node.name,
                axis=1, epsilon=float(node.layer.config["eps"]))


def elementwise(op_type: str, **attributes_from_config: str) -> Converter:
    """An ONNX operator of one input; attributes named ONNX-side, taken from the layer's config keys."""
    def convert(g: Graph, node: Node, inputs: list[str]) -> str:
        attributes = {onnx_key: float(node.layer.config[key]) for onnx_key, key in attributes_from_config.items()}
        return g.op(op_type, inputs, node.name, **attributes)

    return convert


def prelu(g: Graph, node: Node, inputs: list[str]) -> str:
    alpha = node.layer.params["alpha"]
    return g.op("PRelu", [inputs[0], g.constant(f"{node.name}.alpha", alpha.reshape(node.layer.broadcast))], node.name)


def gelu(g: Graph, node: Node, inputs: list[str]) -> str:
    """nnctl's order: u = ((x*x) * k + 1) * x * c; y = (tanh(u) + 1) * x * 0.5."""
    layer, x, n = node.layer, inputs[0], node.name
    u = g.op("Mul", [x, x], f"{n}_square")
    u = g.op("Mul", [u, g.constant(f"{n}.k", layer.K)], f"{n}_kx2")
    u = g.op("Add", [u, g.constant(f"{n}.one", 1.0)], f"{n}_1_kx2")
    u = g.op("Mul", [u, x], f"{n}_cubic")
    u = g.op("Mul", [u, g.constant(f"{n}.c", layer.C)], f"{n}_inner")
    y = g.op("Add", [g.op("Tanh", [u], f"{n}_tanh"), g.constant(f"{n}.one", 1.0)], f"{n}_1_tanh")
    y = g.op("Mul", [y, x], f"{n}_x")
    return g.op("Mul", [y, g.constant(f"{n}.half", 0.5)], n)


def softplus(g: Graph, node: Node, inputs: list[str]) -> str:
    """max(x, 0) + log(1 + exp(-|x|)): never overflows, like nnctl's log1p form."""
    x, n = inputs[0], node.name
    decay = g.op("Exp", [g.op("Neg", [g.op("Abs", [x], f"{n}_abs")], f"{n}_neg")], f"{n}_exp")
    log = g.op("Log", [g.op("Add", [decay, g.constant(f"{n}.one", 1.0)], f"{n}_1_exp")], f"{n}_log")
    return g.op("Add", [log, g.op("Relu", [x], f"{n}_relu")], n)


def passthrough(g: Graph, node: Node, inputs: list[str]) -> str:
    """Dropout and noise (the identity in evaluation) and identity: no operator, the input value passes on."""
    return inputs[0]


def reshape(g: Graph, node: Node, inputs: list[str]) -> str:
    """Reshape to (batch, *out_shape): the shape is an int64 initializer with -1 for the batch axis."""
    shape = g.fresh(f"{node.name}.shape")
    g.initializers.append(g.numpy_helper.from_array(np.array((-1, *node.layer.out_shape), dtype=np.int64), shape))
    return g.op("Reshape", [inputs[0], shape], node.name)


def add(g: Graph, node: Node, inputs: list[str]) -> str:
    total = inputs[0]
    for i, other in enumerate(inputs[1:], start=1):
        total = g.op("Add", [total, other], node.name if i == len(inputs) - 1 else f"{node.name}_{i}")
    return total


CONVERTERS: dict[str, Converter] = {
    "dense": dense,
    "conv2d": conv2d,
    "maxpool2d": pooling("MaxPool"),
    "avgpool2d": pooling("AveragePool", count_include_pad=1),
    "global_avgpool": global_avgpool,
    "batchnorm": batchnorm,
    "layernorm": layernorm,
    "flatten": lambda g, node, inputs: g.op("Flatten", inputs, node.name, axis=1),
    "concat": lambda g, node, inputs: g.op("Concat", inputs, node.name, axis=1),
    "add": add,
    "dropout": passthrough,
    "identity": passthrough,
    "noise": passthrough,
    "reshape": reshape,
    "relu": elementwise("Relu"),
    "leaky_relu": elementwise("LeakyRelu", alpha="slope"),
    "sigmoid": elementwise("Sigmoid"),
    "tanh": elementwise("Tanh"),
    "elu": elementwise("Elu", alpha="alpha"),
    "prelu": prelu,
    "gelu": gelu,
    "softplus": softplus,
}


def needed_nodes(nodes: list[Node], output: str) -> list[Node]:
    """The nodes `output` depends on (itself included), in network order."""
    wanted, by_name = {output}, {n.name: n for n in nodes}
    for node in reversed(nodes):
        if node.name in wanted:
            wanted.update(i for i in node.inputs if i in by_name)
    return [n for n in nodes if n.name in wanted]


def onnx_nodes(g: Graph, nodes: list[Node], first: str, output: str, source: str) -> str:
    """Convert the nodes `output` needs, fed by the value `first` (the normalized input); returns the name
    of `output`'s value. A layer type without a converter is an InputError naming the node."""
    chosen = needed_nodes(nodes, output)
    for node in chosen:
        if node.type not in CONVERTERS:
            raise InputError(f"{source}: node {node.name!r} is a {node.type} layer, which has no ONNX form; "
                             f"nothing was written")
    values = {"input": first}
    for node in chosen:
        values[node.name] = CONVERTERS[node.type](g, node, [values[i] for i in node.inputs])
    return values[output]

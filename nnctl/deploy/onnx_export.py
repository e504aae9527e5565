"""`nnctl export --format onnx`: a saved network as an ONNX model other runtimes can run.

The graph (opset 17, IR version 8, built node by node in onnx_graph.py):

    input      float32 (N, *input shape): raw samples, as the training files hold them (0-255 pixels for
               MNIST-style images, the numbers of an .npz or CSV file)
    first      the run's input normalization: / raw divisor, then - mean, / std (or - min, / range), with
               the run's own statistics (per feature, or per channel)
    then       the network's nodes up to the one the (primary) loss reads; dropout is left out
    logits     float32 (N, ...): that node's output ("outputs" for regression and autoencoders)
    probabilities   softmax (softmax cross-entropy) or sigmoid (sigmoid_bce) of the logits

Metadata (metadata_props): class_names (JSON list), nnctl_version (the exporting nnctl), trained_with
(the nnctl that wrote the checkpoint), task, loss, normalization (JSON). After writing, the file is run
with onnxruntime, when installed, on random raw inputs and compared with nnctl's own outputs.
onnx and onnxruntime come with the optional extra `nnctl[onnx]`.
"""

from __future__ import annotations

import importlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import nnctl
from nnctl.atomic import write_bytes_atomic
from nnctl.deploy.onnx_graph import OPSET, Graph, onnx_nodes
from nnctl.deploy.saved_model import SavedModel, load_saved_model, to_network_input
from nnctl.errors import WorkError
from nnctl.runs.run_dir import find_checkpoint

INSTALL_HINT = "pip install 'nnctl[onnx]'"
IR_VERSION = 8           # the IR version that goes with opset 17: runtimes from 2022 on read it
CHECK_SAMPLES = 16
TOLERANCE = 1e-3         # relative to the largest output: float32 rounding stays far below


def require(module: str):
    """Import an optional package, or fail in one line saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise WorkError(f"nnctl export --format onnx needs the {module} package: {INSTALL_HINT}") from None


def statistic(model: SavedModel, values: list[float]) -> np.ndarray:
    """One normalization statistic shaped to broadcast over a sample (*input_shape): per feature, the
    sample's shape; per channel, (C, 1, 1) for image inputs or each channel's value repeated over its
    pixels for flattened images."""
    array = np.asarray(values, dtype=np.float32)
    if model.normalization["per"] == "feature":
        return array.reshape(model.input_shape)
    if len(model.input_shape) == 3:
        return array.reshape(-1, 1, 1)
    return np.repeat(array, math.prod(model.input_shape) // len(array)).reshape(model.input_shape)


def normalization_nodes(g: Graph, model: SavedModel, raw: str) -> str:
    """The input normalization as the graph's first operators; returns the normalized value's name."""
    norm, x = model.normalization, raw
    if norm["raw_divisor"] != 1.0:
        x = g.op("Div", [x, g.constant("raw_divisor", norm["raw_divisor"])], "scaled_input")
    if norm["method"] != "none":
        shift, scale = ("mean", "std") if norm["method"] == "standard" else ("min", "range")
        x = g.op("Sub", [x, g.constant(f"input_{shift}", statistic(model, norm[shift]))], "centred_input")
        x = g.op("Div", [x, g.constant(f"input_{scale}", statistic(model, norm[scale]))], "normalized_input")
    return x


def build_onnx(model: SavedModel):
    """The ONNX ModelProto of `model` (raises InputError naming a node that has no ONNX form)."""
    onnx = require("onnx")
    helper = onnx.helper
    g = Graph()
    g.names.add("input")
    normalized = normalization_nodes(g, model, "input")
    scores = onnx_nodes(g, model.network.nodes, normalized, model.output_node, str(model.path))
    output_name = "logits" if model.task in ("classification", "binary") else "outputs"
    g.nodes.append(helper.make_node("Identity", [scores], [output_name], name=output_name))
    outputs = [helper.make_tensor_value_info(output_name, onnx.TensorProto.FLOAT, ["N", *model.output_shape])]
    probability_op = {"softmax_cross_entropy": "Softmax", "sigmoid_bce": "Sigmoid"}.get(model.loss_type)
    if probability_op is not None and model.task != "reconstruction":
        extra = {"axis": -1} if probability_op == "Softmax" else {}
        g.nodes.append(helper.make_node(probability_op, [output_name], ["probabilities"], name="probabilities",
                                        **extra))
        outputs.append(helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT,
                                                     ["N", *model.output_shape]))
    graph = helper.make_graph(g.nodes, "nnctl", [helper.make_tensor_value_info(
        "input", onnx.TensorProto.FLOAT, ["N", *model.input_shape])], outputs, initializer=g.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nnctl",
                              producer_version=nnctl.__version__, ir_version=IR_VERSION,
                              doc_string="nnctl network; input: raw samples (normalization is the first node)")
    properties = {"nnctl_version": nnctl.__version__, "task": model.task, "loss": model.loss_type,
                  "normalization": json.dumps(model.normalization)}
    if model.class_names is not None:
        properties["class_names"] = json.dumps(model.class_names)
    if model.version is not None:
        properties["trained_with"] = model.version
    helper.set_model_props(proto, properties)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def random_raw_inputs(model: SavedModel, samples: int) -> np.ndarray:
    """Raw inputs that the run's normalization maps to standard normal values (to [0, 1) for minmax): like
    training data in scale, so the comparison is not dominated by rounding amplified far outside it."""
    rng = np.random.default_rng(0)
    norm = model.normalization
    z = rng.standard_normal((samples, *model.input_shape)) if norm["method"] != "minmax" else \
        rng.random((samples, *model.input_shape))
    if norm["method"] != "none":
        shift, scale = ("mean", "std") if norm["method"] == "standard" else ("min", "range")
        z = z * statistic(model, norm[scale]) + statistic(model, norm[shift])
    return (z * norm["raw_divisor"]).astype(np.float32)


def largest_difference(model: SavedModel, data: bytes, samples: int = CHECK_SAMPLES) -> float | None:
    """Largest absolute difference between onnxruntime's outputs for the exported `data` and nnctl's own,
    on `samples` random raw inputs (see random_raw_inputs); None when onnxruntime is not installed. A
    difference beyond float32 rounding (TOLERANCE of the outputs' size) is a WorkError."""
    try:
        # optional (the onnx extra): loaded when checking an export
        import onnxruntime
    except ImportError:
        return None
    raw = random_raw_inputs(model, samples)
    node = model.output_node
    mine = model.network.forward(to_network_input(raw, model), training=False, until=node)[node]
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    theirs = session.run(None, {"input": raw})[0]
    difference = float(np.max(np.abs(theirs.astype(np.float64) - mine)))
    if not difference <= TOLERANCE * max(1.0, float(np.max(np.abs(mine)))):
        raise WorkError(f"{model.path}: onnxruntime's outputs differ from nnctl's by {difference:.3g} on random "
                        f"inputs; nothing was written (a bug in the exporter: please report it)")
    return difference


@dataclass
class Exported:
    path: Path
    operators: int
    difference: float | None      # largest |onnxruntime - nnctl| on random inputs, None when not checked


def default_out(target: str | Path) -> Path:
    """The checkpoint's own name with .onnx, beside it: RUN/checkpoints/best.onnx for a run folder."""
    return find_checkpoint(target).with_suffix(".onnx")


def export_onnx(target: str | Path, out: Path | None = None, check: bool = True) -> Exported:
    """Write the ONNX form of a run's best.npz (or a checkpoint) to `out` (default: see default_out)."""
    require("onnx")
    model = load_saved_model(target)
    proto = build_onnx(model)
    data = proto.SerializeToString()
    difference = largest_difference(model, data) if check else None
    out = out or default_out(target)
    write_bytes_atomic(out, data, "ONNX model")
    return Exported(out, len(proto.graph.node), difference)

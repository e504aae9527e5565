"""`nnctl gradcheck CONFIG`: prove every backward pass of a config's own network numerically.

The network is built in float64 from the config (same seed, same initialization as training would use),
a small batch of the configured data is drawn, and then:

1. each layer on its own: input gradient(s) and every parameter gradient against centered differences,
   at the inputs that layer really sees inside the network;
2. each loss term on the network's scores;
3. the whole network: the gradient of the objective (loss terms plus L1/L2 penalties) for every
   parameter tensor.

The initial loss is shown next to what theory expects for small weights (ln C for softmax).

Every random choice has its own generator, derived from the config's seed and what it is for (the batch,
each node's upstream gradient and sampled entries, the network's sampled entries, each reference
comparison), so no option changes what another part checks: `--reference`, `--layer` and `--json` leave
the checked entries as they are.
"""

from __future__ import annotations

import zlib
from dataclasses import asdict
from typing import Any

import numpy as np

from nnctl.build.prepare import prepare
from nnctl.check.gradcheck import (
    MAX_ENTRIES,
    PASS_LIMIT,
    TOLERANCE,
    CheckRow,
    check_layer,
    check_loss,
    check_network,
    mask_generator,
)
from nnctl.check.reference import compare_with_reference, has_reference
from nnctl.errors import InputError
from nnctl.nn.model_config import INPUT
from nnctl.viz.tables import align

REFERENCE_LIMIT = 1e-9   # largest |fast - loop| accepted in float64


def stream(seed: int, *purpose: str) -> np.random.Generator:
    """A generator for one purpose, e.g. stream(0, "layer", "dense1"): the same for the same seed and
    purpose, independent of every other purpose."""
    return np.random.default_rng([seed, *(zlib.crc32(word.encode()) for word in purpose)])


def sample_batch(splits, samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """`samples` training examples (drawn without replacement) as float64 inputs and their targets."""
    x, y = splits.train
    pick = np.sort(rng.choice(len(x), size=min(samples, len(x)), replace=False))
    targets = y[pick].astype(np.float64) if np.issubdtype(y.dtype, np.floating) else y[pick]
    return x[pick].astype(np.float64), targets


def node_inputs(network, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every node's output on x (training mode, dropout masks from `mask_generator()`), plus the network
    input under 'input'."""
    values = network.forward(x, training=True, rng=mask_generator(), keep=[INPUT, *network.by_name])
    return {k: np.array(v, copy=True) for k, v in values.items()}


def run_gradcheck(config: dict, samples: int = 8, eps: float = 1e-6, layer: str | None = None,
                  max_entries: int = MAX_ENTRIES, reference: bool = False) -> dict[str, Any]:
    """Check the config's network. Returns {"layers": rows, "losses": rows, "network": rows, "initial_loss",
    "expected_initial_loss", "samples", "eps", "counts", "largest_smooth_error"}, and with `reference`
    also "reference": rows of fast-versus-loop differences for conv and pooling nodes."""
    setup = prepare(config, dtype=np.float64, progress=False)
    network, objective = setup.network, setup.objective
    if layer is not None and layer not in network.by_name:
        raise InputError(f"--layer {layer!r}: no such node; nodes are {', '.join(network.by_name)}")
    seed = config.seed
    x, y = sample_batch(setup.splits, samples, stream(seed, "batch"))

    objective.forward(network, x, y, training=False)
    scores = objective.primary_scores()
    primary = objective.primary
    initial = primary.loss.forward(scores, objective.target_for(primary, x, y, scores))   # the first term alone
    expected = objective.primary.loss.expected_initial(scores.shape[1])
    values = node_inputs(network, x)

    reference_rows = []
    if reference:
        for node in network.nodes:
            if has_reference(node.layer) and (layer is None or node.name == layer):
                reference_rows += compare_with_reference(node.layer, values[node.inputs[0]],
                                                         stream(seed, "reference", node.name))

    layer_rows: list[tuple[CheckRow, bool]] = []
    for node in network.nodes:
        if layer is not None and node.name != layer:
            continue
        inputs = [values[name] for name in node.inputs]
        x_in = inputs if node.layer.arity == "many" else inputs[0]
        for row in check_layer(node.layer, x_in, stream(seed, "layer", node.name), eps, max_entries):
            layer_rows.append((row, node.layer.kinks()))

    loss_rows = []
    if layer is None:
        for i, term in enumerate(objective.terms):
            term_scores = np.array(values[term.node], copy=True)
            target = objective.target_for(term, x, y, term_scores)
            where = f"loss[{i}] {term.loss.__class__.__name__}" if len(objective.terms) > 1 else "loss"
            loss_rows.append((check_loss(term.loss, term_scores, target, eps, where), term.loss.kinks()))

    network_rows = [r for r in check_network(network, objective, x, y, stream(seed, "network"), eps, max_entries)
                    if layer is None or r.where == layer]
    all_rows = [r for r, _ in layer_rows] + [r for r, _ in loss_rows] + network_rows
    smooth = [r.max_rel_error for r, kinked in layer_rows + loss_rows if not kinked]
    counts = {v: sum(r.verdict == v for r in all_rows) for v in ("pass", "warn", "fail")}
    for row in reference_rows:   # fast and loop kernels agree to float64 rounding, or something is wrong
        row["verdict"] = "pass" if row["max_abs_diff"] <= REFERENCE_LIMIT else "fail"
        counts[row["verdict"]] += 1
    return {"reference": reference_rows, "layers": [asdict(r) for r, _ in layer_rows], "losses": [asdict(r) for r, _ in loss_rows],
            "network": [asdict(r) for r in network_rows], "initial_loss": initial,
            "expected_initial_loss": expected, "samples": len(x), "eps": eps, "counts": counts,
            "largest_smooth_error": max(smooth) if smooth else None,
            "largest_error": max((r.max_rel_error for r in all_rows), default=None),
            "largest_noise": max((r.noise for r in all_rows if r.noise < 1), default=None)}


def _table(rows: list[dict]) -> list[str]:
    header = ["where", "tensor", "shape", "checked", "max rel error", "noise", "verdict"]
    body = [[r["where"], r["tensor"], str(tuple(r["shape"])), f"{r['checked']}/{r['total']}",
             f"{r['max_rel_error']:.2e}", f"{r['noise']:.1e}" if r["noise"] < 1 else "grad ~ 0",
             r["verdict"] + (f" ({r['on_kinks']} at a kink, checked one-sidedly)" if r["on_kinks"] else "")]
            for r in rows]
    return align([header] + body, indent="  ")


def format_gradcheck(result: dict, source: str) -> str:
    lines = [f"gradcheck {source}: float64, {result['samples']} training samples, eps {result['eps']:g} and "
             f"{2 * result['eps']:g}; relative errors count against at least {TOLERANCE:g}x the rounding noise of "
             f"the numeric gradient (noise: its relative size); pass <= {PASS_LIMIT:g}, else fail; entries at a kink "
             f"(relu, max, L1) pass within their one-sided slopes"]
    if result.get("reference"):
        rows = [[r["where"], r["tensor"], str(tuple(r["shape"])), f"{r['max_abs_diff']:.2e}", r["verdict"]]
                for r in result["reference"]]
        header = ["where", "tensor", "shape", "max |fast - loop reference|", "verdict"]
        lines += ["", f"fast kernels against the loop reference (float64; pass <= {REFERENCE_LIMIT:g})"]
        lines += align([header] + rows, indent="  ")
        lines.append(f"  largest difference {max(r['max_abs_diff'] for r in result['reference']):.2e}")
    sampled = any(r["checked"] < r["total"] for part in ("layers", "network") for r in result[part])
    for title, part in (("each layer on its own (input and parameter gradients)", "layers"),
                        ("each loss term (gradient with respect to the scores)", "losses"),
                        ("the whole network (objective incl. penalties, every parameter tensor)", "network")):
        if result[part]:
            lines += ["", title] + _table(result[part])
    if sampled:
        lines += ["", "large tensors are checked on a random subset of entries (checked/total)"]
    expected = result["expected_initial_loss"]
    lines += ["", f"initial loss of the first term {result['initial_loss']:.4f}"
              + (f" (expected {expected:.4f} for small weights)" if expected is not None else "")]
    c = result["counts"]
    smooth, noise = result["largest_smooth_error"], result["largest_noise"]
    lines.append(f"result: {c['pass']} pass, {c['warn']} warn, {c['fail']} fail; largest relative error "
                 f"{result['largest_error']:.2e}" + (f", on smooth operations {smooth:.2e}" if smooth is not None else "")
                 + (f"; largest noise {noise:.1e}" if noise is not None else ""))
    return "\n".join(lines)

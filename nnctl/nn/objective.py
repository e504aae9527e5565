"""What training minimizes: one or more weighted loss terms plus L1/L2 weight penalties.

    total = sum_t weight_t * loss_t(scores of node_t, target_t)
          + sum_W [ 0.5 * l2_W * sum(W^2) + l1_W * sum(|W|) ]

`loss:` in YAML is one mapping (a single term on the last node against the labels) or a list of terms,
each with `type`, optional `weight` (1.0), `input` (node name; default the last node) and `target`
(`labels`, or `input` to reconstruct the network input as an autoencoder does). Penalties apply to weight
tensors only (a layer's `penalized` params, not biases or norm gains), with `regularization.l1/l2` as the
global coefficients and a node's own `l1`/`l2` overriding them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnctl.errors import ConfigError
from nnctl.nn.losses import Loss
from nnctl.nn.network import Network
from nnctl.config.spec import Choice, Float, Option, Str, join_path, require_mapping, validate

TERM_OPTIONS = {
    "weight": Option(Float(0, low_open=True), 1.0, "factor on this term in the total loss"),
    "input": Option(Str(), None, "node whose output is scored (default: the last node)"),
    "target": Option(Choice("labels", "input"), "labels", "labels, or the network input (autoencoders)"),
}


def resolve_loss_config(raw: Any, path: str) -> list[dict]:
    """Validate the `loss` section; always returns a list of resolved terms."""
    from nnctl.nn.registry import LOSSES

    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ConfigError(path, "expected a loss mapping or a non-empty list of them, got []")
    terms = []
    for i, item in enumerate(items):
        where = join_path(path, i) if isinstance(raw, list) else path
        item = require_mapping(item, where)
        if "type" not in item:
            raise ConfigError(join_path(where, "type"), f"required key is missing (one of "
                                                        f"{', '.join(LOSSES.names())})")
        loss_cls = LOSSES.lookup(item["type"], join_path(where, "type"))
        options = validate({**TERM_OPTIONS, **loss_cls.options}, item, where, ignore=("type",))
        terms.append({"type": item["type"], **options})
    return terms


@dataclass
class Term:
    loss: Loss
    weight: float
    node: str
    target: str


class Objective:
    """Weighted loss terms over a network's node outputs, plus weight penalties."""

    def __init__(self, terms: list[Term], penalties: dict[str, tuple[float, float]]):
        self.terms = terms
        self.penalties = penalties            # param key -> (l1, l2), only nonzero entries
        self.primary = terms[0]               # the term whose scores define accuracy
        self.nodes = {term.node for term in terms}
        self.scores: dict[str, np.ndarray] = {}

    @property
    def task(self) -> str:
        return self.primary.loss.task

    def target_for(self, term: Term, x: np.ndarray, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if term.target == "labels":
            return y
        return x.reshape(scores.shape)

    def forward(self, network: Network, x: np.ndarray, y: np.ndarray, training: bool,
                rng: np.random.Generator | None = None) -> float:
        """Run the network on x (`rng` for layers that draw in training) and return the weighted data loss
        (penalties not included). The scored node outputs stay in `self.scores` until `backward`."""
        self.scores = network.forward(x, training, rng, keep=self.nodes)
        total = 0.0
        for term in self.terms:
            scores = self.scores[term.node]
            total += term.weight * term.loss.forward(scores, self.target_for(term, x, y, scores))
        return total

    def backward(self, network: Network, need_input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate the weighted data loss into every layer's grads (penalties not included); returns
        the gradient with respect to the network input when `need_input_grad`."""
        seeds: dict[str, np.ndarray] = {}
        for term in self.terms:
            d = term.loss.backward()
            if term.weight != 1.0:
                d *= d.dtype.type(term.weight)
            seeds[term.node] = d if term.node not in seeds else seeds[term.node] + d
        self.scores = {}
        return network.backward(seeds, need_input_grad)

    def primary_scores(self) -> np.ndarray:
        """Scores of the primary term's node from the last `forward`: (N, C)."""
        return self.scores[self.primary.node]

    def penalty(self, params: dict[str, np.ndarray]) -> float:
        """0.5*l2*sum(W^2) + l1*sum(|W|) over penalized params (accumulated in float64)."""
        total = 0.0
        for key, (l1, l2) in self.penalties.items():
            w = params[key]
            if l2:
                total += 0.5 * l2 * float(np.vdot(w, w))
            if l1:
                total += l1 * float(np.abs(w).sum(dtype=np.float64))
        return total

    def add_penalty_grads(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """grads[W] += l2*W + l1*sign(W), in place."""
        for key, (l1, l2) in self.penalties.items():
            w, g = params[key], grads[key]
            if l2:
                g += w.dtype.type(l2) * w
            if l1:
                g += w.dtype.type(l1) * np.sign(w)


def build_objective(loss_cfg: list[dict], regularization: dict, network: Network) -> Objective:
    """Instantiate the resolved loss terms for `network`; node names are checked here."""
    from nnctl.nn.registry import LOSSES

    terms = []
    for i, spec in enumerate(loss_cfg):
        where = f"loss[{i}]" if len(loss_cfg) > 1 else "loss"
        loss_cls = LOSSES.table[spec["type"]]
        node = spec["input"] or network.output_name
        if node not in network.by_name:
            raise ConfigError(join_path(where, "input"), f"unknown node {node!r}")
        loss = loss_cls(**{k: v for k, v in spec.items() if k in loss_cls.options})
        terms.append(Term(loss, spec["weight"], node, spec["target"]))
    penalties = {}
    for n in network.nodes:
        if not n.trainable:
            continue
        l1 = n.penalty.get("l1", regularization.get("l1", 0.0))
        l2 = n.penalty.get("l2", regularization.get("l2", 0.0))
        if l1 or l2:
            for k in n.layer.penalized:
                if k in n.layer.params:
                    penalties[f"{n.name}.{k}"] = (l1, l2)
    return Objective(terms, penalties)


def check_fits_data(objective: Objective, network: Network, splits, node_paths: dict[str, str] | None) -> None:
    """Before any training: every loss term's scores and targets must fit the data (number of classes,
    labels versus real-valued targets, shapes). Raises ConfigError naming the key to change."""
    from nnctl.errors import InputError

    for i, term in enumerate(objective.terms):
        where = f"loss[{i}]" if len(objective.terms) > 1 else "loss"
        if term.target != "labels" or term.loss.task != "classification":
            continue
        classes, shape = splits.num_classes, network.by_name[term.node].layer.out_shape
        if classes is None:
            raise ConfigError(join_path(where, "type"), f"{term.loss.__class__.__name__} needs integer class "
                                                        f"labels, but the data has real-valued targets; use "
                                                        f"mse, l1 or huber")
        if tuple(shape) != (classes,):
            node = (node_paths or {}).get(term.node, f"model.layers ({term.node})")
            raise ConfigError(node, f"gives scores of shape {tuple(shape)} per sample, but the data has {classes} "
                                    f"classes: the last layer needs units: {classes}")
    x, y = splits.train[0][:2], splits.train[1][:2]
    try:
        objective.forward(network, x, y, training=False)
    except (InputError, ValueError, IndexError) as exc:
        message = str(exc).split(": ", 1)[-1] if isinstance(exc, InputError) else str(exc)
        raise ConfigError("loss", f"does not fit the data: {message}") from None
    finally:
        objective.scores = {}

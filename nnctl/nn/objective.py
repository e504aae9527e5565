"""What training minimizes: one or more weighted loss terms plus L1/L2 weight penalties.

    total = sum_t weight_t * loss_t(scores of node_t, target_t)
          + sum_W [ 0.5 * l2_W * sum(W^2) + l1_W * sum(|W|) ]

`loss:` in YAML is one mapping (a single term on the last node against the labels) or a list of terms,
each with `type`, optional `weight` (1.0), `input` (node name; default the last node), `name` (how its
metrics are called, e.g. `val_loss.aux`; default the node's name, or node_type such as
`reconstruction_mse` when several terms score one node) and `target`:
    labels   the class labels (or real targets) of the data
    onehot   the class labels as one-hot rows (N, C): lets mse, l1, huber and sigmoid_bce score classes
    input    the network input itself (autoencoders; with a noise layer, the clean input)
Penalties apply to weight tensors only (a layer's `penalized` params, not biases or norm gains), with
`regularization.l1/l2` as the global coefficients and a node's own `l1`/`l2` overriding them.

A term is a *head* when it gives one predicted class per sample (classification against labels or
one-hot rows, or a single-logit binary net): its accuracy is measured.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from nnctl.errors import ConfigError, InputError
from nnctl.nn.losses import Loss
from nnctl.nn.network import Network
from nnctl.nn.registry import LOSSES
from nnctl.options.spec import Choice, Float, Mismatch, Option, Str, join_path, require_mapping, validate

TERM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _term_name(value: Any) -> str:
    if not isinstance(value, str) or not TERM_NAME.match(value):
        raise Mismatch("a name of letters, digits, _ or - (not starting with a digit or -)")
    return value


TERM_OPTIONS = {
    "weight": Option(Float(0, low_open=True), 1.0, "factor on this term in the total loss"),
    "input": Option(Str(), None, "node whose output is scored (default: the last node)"),
    "target": Option(Choice("labels", "onehot", "input"), "labels",
                     "labels; onehot (class labels as one-hot rows, for mse, l1, huber, sigmoid_bce); or "
                     "input (reconstruct the network input, as autoencoders do)"),
    "name": Option(_term_name, None, "the term's name in metrics, e.g. val_loss.NAME (default: its node's name, "
                                     "or NODE_TYPE when several terms score one node)"),
}


def resolve_loss_config(raw: Any, path: str) -> list[dict]:
    """Validate the `loss` section; always returns a list of resolved terms."""
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


def predictions(scores: np.ndarray, task: str) -> np.ndarray | None:
    """Predicted labels (N,) from scores (N, C): argmax over classes, or logit > 0 for a single-logit
    binary net. None where a single label per sample makes no sense (regression, multi-label)."""
    if task == "regression":
        return None
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.int64)
    if task == "binary":
        return None
    return scores.argmax(axis=1)


def onehot(y: np.ndarray, classes: int, dtype: Any) -> np.ndarray:
    """(N, classes) rows of zeros with a 1 at each label; y: (N,) integer labels in [0, classes)."""
    out = np.zeros((len(y), classes), dtype=dtype)
    out[np.arange(len(y)), np.asarray(y, dtype=np.int64).reshape(len(y))] = 1
    return out


@dataclass
class Term:
    """One loss term: its loss, weight, the node it scores, its target (labels, onehot, input), its name in
    metrics, and whether it is a head (one predicted class per sample, so accuracy is measured)."""

    loss: Loss
    weight: float
    node: str
    target: str
    name: str = ""
    head: bool = False

    def predict(self, scores: np.ndarray) -> np.ndarray | None:
        """Predicted labels (N,) from this term's scores, or None when it is not a head."""
        if not self.head:
            return None
        return predictions(scores, "classification" if self.target == "onehot" else self.loss.task)


class Objective:
    """Weighted loss terms over a network's node outputs, plus weight penalties.

    After `forward`: `scores` holds the scored node outputs (until `backward`) and `values` each term's
    own (unweighted) loss on the batch, in term order."""

    def __init__(self, terms: list[Term], penalties: dict[str, tuple[float, float]]):
        self.terms = terms
        self.penalties = penalties            # param key -> (l1, l2), only nonzero entries
        self.primary = terms[0]               # the term whose scores define train_acc / val_acc
        self.heads = [term for term in terms if term.head]
        self.nodes = {term.node for term in terms}
        self.scores: dict[str, np.ndarray] = {}
        self.values: list[float] = []

    @property
    def task(self) -> str:
        return self.primary.loss.task

    def target_for(self, term: Term, x: np.ndarray, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
        if term.target == "labels":
            return y
        if term.target == "onehot":
            return onehot(y, scores.shape[1], scores.dtype)
        return x.reshape(scores.shape)

    def forward(self, network: Network, x: np.ndarray, y: np.ndarray, training: bool,
                rng: np.random.Generator | None = None, clean: np.ndarray | None = None) -> float:
        """Run the network on x (`rng` for layers that draw random numbers) and return the weighted data
        loss (penalties not included). `target: input` terms reconstruct `clean` when given (x corrupted
        outside the network, as `nnctl eval --corrupt` does), else x. The scored node outputs stay in
        `self.scores` until `backward`; each term's own loss is in `self.values`."""
        self.scores = network.forward(x, training, rng, keep=self.nodes)
        source = x if clean is None else clean
        total = 0.0
        self.values = []
        for term in self.terms:
            scores = self.scores[term.node]
            value = term.loss.forward(scores, self.target_for(term, source, y, scores))
            self.values.append(value)
            total += term.weight * value
        return total

    def correct(self, y: np.ndarray) -> list[int]:
        """For each head (in `heads` order): how many of the last forward's samples it labelled right."""
        true = (y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y).astype(np.int64)
        return [int(np.count_nonzero(term.predict(self.scores[term.node]) == true)) for term in self.heads]

    def backward(self, network: Network, need_input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate the weighted data loss into every layer's grads (penalties not included); returns
        the gradient with respect to the network input when `need_input_grad`."""
        seeds: dict[str, np.ndarray] = {}
        for term in self.terms:
            d = term.loss.backward()
            if term.weight != 1.0:
                d *= d.dtype.type(term.weight)
            seeds[term.node] = d if term.node not in seeds else seeds[term.node] + d
        self.release()
        return network.backward(seeds, need_input_grad)

    def release(self) -> None:
        """Let go of the last forward's scores (an evaluation's last batch, a check) so they can be freed."""
        self.scores = {}

    def scores_of(self, node: str) -> np.ndarray:
        """The last forward's output of the scored node `node`."""
        return self.scores[node]

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


def is_head(loss: Loss, target: str, out_shape: tuple, num_classes: int | None) -> bool:
    """Does a term give one predicted class per sample? Classification losses and one-hot targets on
    class labels do, and so does a single-logit binary net; reconstructions and regressions do not."""
    if num_classes is None or target == "input":
        return False
    return target == "onehot" or loss.task == "classification" or tuple(out_shape) == (1,)


def build_objective(loss_cfg: list[dict], regularization: dict, network: Network,
                    num_classes: int | None = None) -> Objective:
    """Instantiate the resolved loss terms for `network` (node names and term names are checked here);
    `num_classes` (None for real-valued targets) decides which terms are heads."""
    terms: list[Term] = []
    named: dict[str, str] = {}
    nodes = [spec["input"] or network.output_name for spec in loss_cfg]
    for i, spec in enumerate(loss_cfg):
        where = f"loss[{i}]" if len(loss_cfg) > 1 else "loss"
        loss_cls = LOSSES.table[spec["type"]]
        node = nodes[i]
        if node not in network.by_name:
            raise ConfigError(join_path(where, "input"), f"unknown node {node!r}")
        name = spec.get("name") or (node if nodes.count(node) == 1 else f"{node}_{spec['type']}")
        if name in named:
            raise ConfigError(join_path(where, "name"), f"{named[name]} is also named {name!r} (a term is named "
                                                        f"after its node, or node_type when several terms score "
                                                        f"that node); give each a different name")
        named[name] = where
        loss = loss_cls(**{k: v for k, v in spec.items() if k in loss_cls.options})
        head = is_head(loss, spec["target"], network.by_name[node].layer.out_shape, num_classes)
        terms.append(Term(loss, spec["weight"], node, spec["target"], name, head))
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


def with_heads_for(objective: Objective, network: Network, num_classes: int | None) -> Objective:
    """The same terms and penalties with heads decided for `num_classes`: for an objective built before
    its data was known (a checkpoint read as data, nnctl.runs.loader)."""
    terms = [replace(term, head=is_head(term.loss, term.target, network.by_name[term.node].layer.out_shape,
                                        num_classes)) for term in objective.terms]
    return Objective(terms, objective.penalties)


def check_fits_data(objective: Objective, network: Network, splits, node_paths: dict[str, str] | None) -> None:
    """Before any training: every loss term's scores and targets must fit the data (number of classes,
    labels versus real-valued targets, shapes). Raises ConfigError naming the key to change."""
    for i, term in enumerate(objective.terms):
        where = f"loss[{i}]" if len(objective.terms) > 1 else "loss"
        classes, shape = splits.num_classes, network.by_name[term.node].layer.out_shape
        if term.target == "onehot":
            if term.loss.task == "classification":
                raise ConfigError(join_path(where, "target"), f"onehot is for mse, l1, huber and sigmoid_bce; "
                                                              f"{term.loss.__class__.__name__} takes the labels "
                                                              f"themselves (target: labels)")
            if classes is None:
                raise ConfigError(join_path(where, "target"), "onehot needs integer class labels, but the data "
                                                              "has real-valued targets; use target: labels")
        elif (term.target == "labels" and term.loss.task in ("regression", "binary") and classes is not None
              and len(shape) == 1 and shape[0] == classes > 1):
            name = next(n for n, cls in LOSSES.items() if isinstance(term.loss, cls))
            raise ConfigError(join_path(where, "target"), f"{name} compares each sample's {classes} scores with a "
                                                          f"target of the same shape, but the data has class "
                                                          f"labels; use target: onehot (one-hot vectors of the "
                                                          f"labels), or loss type softmax_cross_entropy")
        elif term.target != "labels" or term.loss.task != "classification":
            continue
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
        objective.release()

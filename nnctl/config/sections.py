"""The sections of a config, their keys, and `resolve`: a raw mapping in, the resolved config out.

Sections: name, seed, data, model, loss, regularization, optimizer, schedule, train, init, loggers. Each section's keys
are declared next to the thing they configure (layers, losses, optimizers, ...) and checked here; an
error is a ConfigError with the key path (`nnctl.config.load` adds the file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from nnctl.config.loggers import resolve_loggers
from nnctl.config.values import Every, HealthEvery, RunName, SanityMode
from nnctl.data import validate_data_config
from nnctl.data.augment import AUGMENT_OPTIONS
from nnctl.errors import ConfigError
from nnctl.nn.class_metrics import MetricList
from nnctl.nn.model_config import resolve_model_config
from nnctl.nn.objective import resolve_loss_config
from nnctl.nn.registry import OPTIMIZERS, SCHEDULES
from nnctl.options.spec import (
    Bool,
    Float,
    Int,
    ListOf,
    Mismatch,
    Option,
    Optional,
    OrWord,
    Str,
    did_you_mean,
    join_path,
    require_mapping,
    show,
    validate,
)

SECTIONS = ("name", "seed", "data", "model", "loss", "regularization", "optimizer", "schedule", "train", "init",
            "loggers")


TOP_OPTIONS = {
    "name": Option(RunName(), None, "run name (default: the config file's stem); runs go to runs/<name>/"),
    "seed": Option(Int(0), 0, "seed of the run's random generator: same config + seed = same numbers (it also "
                              "draws the validation split and synthetic data); nnctl train --seeds 0-4: one run per seed"),
}

METRICS = ("val_acc", "val_loss", "train_acc", "train_loss")
CLASS_METRICS = ("val_macro_f1", "val_weighted_f1", "val_balanced_acc", "val_topK")      # see train.metrics
_METRIC = re.compile(r"^(train|val)_(loss|acc)(\.[A-Za-z_][A-Za-z0-9_-]*)?$"
                     r"|^val_(macro_f1|weighted_f1|balanced_acc|top([2-9]|[1-9][0-9]+))$")


def MetricName():
    """`auto`, or an epoch metric: val_acc, val_loss, train_acc, train_loss, one of train.metrics' on the
    validation split (val_macro_f1, val_top5, ...), or one of a loss term's own, such as val_loss.aux or
    val_acc.main (whether this run has it is checked when the run is built)."""
    what = (f"auto, {', '.join(METRICS + CLASS_METRICS)}, or a loss term's metric such as val_acc.NAME or "
            f"val_loss.NAME")

    def check(value: Any) -> str:
        if value == "auto" or (isinstance(value, str) and _METRIC.match(value)):
            return value
        hint = did_you_mean(value, ("auto",) + METRICS + CLASS_METRICS[:-1]) if isinstance(value, str) else ""
        raise Mismatch(what + hint)

    return check


TRAIN_OPTIONS = {
    "epochs": Option(Int(1), 10, "passes over the training set"),
    "batch_size": Option(Int(1), 128, "samples per gradient step"),
    "eval_batch_size": Option(OrWord("auto", Int(1)), "auto",
                              "samples per forward pass when evaluating; auto: the largest power of two up to 512 "
                              "whose biggest array in a pass stays within 32 MiB (large batches pay in dense "
                              "networks, small ones in convolutional networks)"),
    "shuffle": Option(Bool(), True, "reshuffle the training set every epoch (seeded)"),
    "metrics": Option(MetricList(), ["acc"],
                      "what a classifier is measured by: acc, macro_f1, weighted_f1, balanced_acc (mean recall "
                      "over classes), topK (K >= 2, e.g. top5); each beyond acc is a val_ column of "
                      "metrics.csv every epoch (train_acc and val_acc are always there); report.json and "
                      "nnctl eval also give per-class precision, recall, F1 and support"),
    "monitor": Option(MetricName(), "auto",
                      "metric that picks best.npz; auto = val_acc (val_loss for regression), "
                      "or train_loss without a validation split; also val_macro_f1, val_top5 and the others "
                      "of train.metrics (measured even when not listed there); with several loss terms also "
                      "val_loss.NAME or val_acc.NAME"),
    "early_stopping": Option(lambda v: v, None, "null (off), true (the defaults) or a mapping (see train.early_stopping below, or nnctl docs train)"),
    "progress": Option(Bool(), True, "show a tqdm progress bar"),
    "augment": Option(lambda v: v, None, "null (off) or a mapping of image augmentations (see train.augment below, or nnctl docs train)"),
    "steps_every": Option(Optional(Int(1)), None,
                          "write every k-th step's training loss and learning rate to steps.csv (default: "
                          "every step, or every k-th so that an epoch writes at most 1,000 rows)"),
    "divergence_ratio": Option(Optional(Float(1, low_open=True)), 1000.0,
                               "the run stops as diverged when a batch loss exceeds this many times the first "
                               "batch's loss (taken as at least 1); null: only when it is NaN or infinite"),
    "checkpoint_every": Option(Optional(Every()), None,
                               "also write checkpoints/last.npz inside epochs: every N steps (an integer) or "
                               "after a duration such as 30s, 10min or 2h"),
    "sanity": Option(SanityMode(), "warn",
                     "check the first batch's loss against the expected loss at random initialization (ln C for "
                     "softmax cross-entropy, (C - 1) x margin for svm): warn in one line, stop the run (error), "
                     "or off"),
    "health_every": Option(Optional(HealthEvery()), "auto",
                           "record per-layer health (health.csv, health.png, findings in report.md) at each "
                           "epoch's first step and every N steps after it; auto = 4 times per epoch; null = off"),
}

EARLY_STOPPING_OPTIONS = {
    "metric": Option(MetricName(), "auto", "metric to watch (auto = train.monitor), e.g. val_acc.NAME for "
                                           "the head of the loss term named NAME"),
    "patience": Option(Int(1), 5, "epochs without improvement before stopping"),
    "min_delta": Option(Float(0), 0.0, "smallest change that counts as an improvement"),
}

REGULARIZATION_OPTIONS = {
    "l2": Option(Float(0), 0.0, "L2 penalty 0.5*l2*sum(W^2) on every weight tensor (not biases)"),
    "l1": Option(Float(0), 0.0, "L1 penalty l1*sum(|W|) on every weight tensor (not biases)"),
}


def NodeSelection():
    """Node names to copy: a list of names (each copied from the node of the same name) or a mapping
    {new_name: old_name}."""
    what = "a list of node names, or a mapping {new_name: old_name}"

    def check(value: Any) -> list[str] | dict[str, str]:
        if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            return list(value)
        if isinstance(value, dict) and value and all(isinstance(k, str) and k and isinstance(v, str) and v
                                                     for k, v in value.items()):
            return dict(value)
        raise Mismatch(what)

    return check


INIT_OPTIONS = {
    "from": Option(Str(), doc="where the weights come from: a run folder (its checkpoints/best.npz), a folder of "
                              "runs (the newest), or a checkpoint file; relative to the config file"),
    "layers": Option(Optional(NodeSelection()), None,
                     "nodes to copy: a list of names, or a mapping {new_name: old_name}; null copies every node "
                     "whose name and tensor shapes match"),
    "freeze": Option(ListOf(Str(), what="a list of node names"), [],
                     "nodes to freeze after copying (trainable: false for each)"),
}


@dataclass(frozen=True)
class ResolvedConfig:
    """The resolved config: its eleven sections, every default filled in and every check passed, plus where it
    came from. Sections are plain data as `nnctl docs` describes them (a section's keys are declared next to
    what they configure); `sections()` gives them as one mapping in file order, which config.yaml holds.

    `source` is the config file; `node_paths` maps each model node's name to the key path it was declared
    at in that file (so an error found while building the network can point at the right line);
    `overrides` maps each key path given with --set to the --set item, so an error at or under one of them
    names --set rather than the file.
    """

    name: str
    seed: int
    data: dict
    model: dict
    loss: list[dict]
    regularization: dict
    optimizer: dict
    schedule: dict
    train: dict
    init: dict | None
    loggers: list[dict] = field(default_factory=list)
    source: str = ""
    node_paths: dict[str, str] = field(default_factory=dict, compare=False)
    overrides: dict[str, str] = field(default_factory=dict, compare=False)

    def sections(self) -> dict[str, Any]:
        """The eleven sections as one mapping, in file order (the values themselves, not copies)."""
        return {section: getattr(self, section) for section in SECTIONS}

    def with_sections(self, **changed: Any) -> ResolvedConfig:
        """The same config with some sections replaced (same source, node paths and overrides)."""
        return replace(self, **changed)


def resolve(raw: dict) -> ResolvedConfig:
    """Validate a raw config mapping and return the resolved config (defaults filled, repeats expanded).

    Raises ConfigError with a key path (no source file: `load_config` adds it).
    """
    for key in raw:
        if key not in SECTIONS:
            raise ConfigError(str(key), f"unknown section{did_you_mean(key, SECTIONS)}; "
                                        f"sections are {', '.join(SECTIONS)}")
    top = validate(TOP_OPTIONS, {k: raw[k] for k in TOP_OPTIONS if k in raw}, "")
    if "data" not in raw:
        raise ConfigError("data", "required section is missing")
    data = validate_data_config(raw["data"], "data")
    if "model" not in raw:
        raise ConfigError("model", "required section is missing")
    model, node_paths = resolve_model_config(raw["model"], "model")
    loss = resolve_loss_config(raw.get("loss", {"type": "softmax_cross_entropy"}), "loss")
    regularization = validate(REGULARIZATION_OPTIONS, raw.get("regularization"), "regularization")
    optimizer = resolve_component(raw.get("optimizer"), "optimizer", OPTIMIZERS, default="adam")
    schedule = resolve_component(raw.get("schedule"), "schedule", SCHEDULES, default="constant")
    train = resolve_train(raw.get("train"), "train")
    init = resolve_init(raw.get("init"), model, "init")
    return ResolvedConfig(top["name"], top["seed"], data, model, loss, regularization, optimizer, schedule, train,
                          init, resolve_loggers(raw.get("loggers")), node_paths=node_paths)


def resolve_init(raw: Any, model: dict, path: str) -> dict | None:
    """The `init` section (null: weights start from their initializers). Node names are checked against
    `model` here; the source checkpoint is only opened when training starts (nnctl.runs.init_from).
    Frozen nodes get `trainable: false` in `model` itself, so everything that builds the network sees it."""
    if raw is None:
        return None
    out = validate(INIT_OPTIONS, raw, path)
    names = [node["name"] for node in model["layers"]]
    wanted = out["layers"] if isinstance(out["layers"], list) else list(out["layers"] or {})
    for key, listed in (("layers", wanted), ("freeze", out["freeze"])):
        for name in listed:
            if name not in names:
                hint = did_you_mean(name, names)
                raise ConfigError(join_path(path, key), f"this model has no node {name!r}{hint}" if hint else
                                  f"this model has no node {name!r}; its nodes are {', '.join(names)}")
    for node in model["layers"]:
        if node["name"] in out["freeze"]:
            node["trainable"] = False
    return out


def resolve_component(raw: Any, path: str, table: dict[str, type], default: str) -> dict:
    """A `{type: NAME, ...options}` section checked against the named class's option table; a missing
    section or `type` means `default`."""
    raw = require_mapping({} if raw is None else raw, path)
    name = raw.get("type", default)
    if not isinstance(name, str) or name not in table:
        hint = did_you_mean(name, table) if isinstance(name, str) else ""
        raise ConfigError(join_path(path, "type"), f"unknown {path} {show(name)}{hint}")
    return {"type": name, **validate(table[name].options, raw, path, ignore=("type",))}


def resolve_train(raw: Any, path: str) -> dict:
    out = validate(TRAIN_OPTIONS, raw, path)
    if out["early_stopping"] is True:
        out["early_stopping"] = {}
    if out["early_stopping"] is False:
        out["early_stopping"] = None
    if out["early_stopping"] is not None:
        out["early_stopping"] = validate(EARLY_STOPPING_OPTIONS, out["early_stopping"],
                                         join_path(path, "early_stopping"))
    if out["augment"] is not None:
        out["augment"] = validate(AUGMENT_OPTIONS, out["augment"], join_path(path, "augment"))
    return out

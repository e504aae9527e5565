"""Load a YAML config, apply `--set` overrides, validate every key and fill defaults.

The result is a plain dict (the *resolved config*) that `nnctl train` writes into the run directory and
every checkpoint carries, so a run can always be rebuilt from its own files.

Sections: name, seed, data, model, loss, regularization, optimizer, schedule, train. Each section's keys
are declared next to the thing they configure (layers, losses, optimizers, ...) and checked here; an
error is one line: `FILE: KEY.PATH: what was expected, got what was found`.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from nnctl.errors import ConfigError, InputError
from nnctl.config.spec import (Bool, Choice, Float, Int, Mismatch, Option, did_you_mean, join_path, require_mapping,
                        show, validate)
from nnctl.config.yamlio import parse_value, parse_yaml

SECTIONS = ("name", "seed", "data", "model", "loss", "regularization", "optimizer", "schedule", "train")

def RunName():
    """A folder name: letters, digits, '.', '_', '-' (not starting with '.'), or null for the default."""
    pattern = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")

    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            raise Mismatch("a folder name of letters, digits, '.', '_' or '-'")
        return value

    return check


TOP_OPTIONS = {
    "name": Option(RunName(), None, "run name (default: the config file's stem); runs go to runs/<name>/"),
    "seed": Option(Int(0), 0, "seed of the run's random generator: same config + seed = same numbers"),
}

METRICS = ("val_acc", "val_loss", "train_acc", "train_loss")

TRAIN_OPTIONS = {
    "epochs": Option(Int(1), 10, "passes over the training set"),
    "batch_size": Option(Int(1), 128, "samples per gradient step"),
    "eval_batch_size": Option(Int(1), 256, "samples per forward pass when evaluating"),
    "shuffle": Option(Bool(), True, "reshuffle the training set every epoch (seeded)"),
    "monitor": Option(Choice("auto", *METRICS), "auto",
                      "metric that picks best.npz; auto = val_acc (val_loss for regression), "
                      "or train_loss without a validation split"),
    "early_stopping": Option(lambda v: v, None, "null, or a mapping (see EARLY_STOPPING_OPTIONS)"),
    "progress": Option(Bool(), True, "show a tqdm progress bar"),
    "augment": Option(lambda v: v, None, "null, or a mapping of image augmentations (see train.augment)"),
}

EARLY_STOPPING_OPTIONS = {
    "metric": Option(Choice("auto", *METRICS), "auto", "metric to watch (auto = train.monitor)"),
    "patience": Option(Int(1), 5, "epochs without improvement before stopping"),
    "min_delta": Option(Float(0), 0.0, "smallest change that counts as an improvement"),
}

REGULARIZATION_OPTIONS = {
    "l2": Option(Float(0), 0.0, "L2 penalty 0.5*l2*sum(W^2) on every weight tensor (not biases)"),
    "l1": Option(Float(0), 0.0, "L1 penalty l1*sum(|W|) on every weight tensor (not biases)"),
}


class ResolvedConfig(dict):
    """The resolved config (a plain dict of sections) plus where it came from.

    `source` is the config file; `node_paths` maps each model node's name to the key path it was declared
    at in that file (so an error found while building the network can point at the right line).
    """

    source: str = ""
    node_paths: dict[str, str] = {}


def load_config(path: str | Path, overrides: list[str] = ()) -> ResolvedConfig:
    """Read, override and resolve the config at `path`. Raises ConfigError/InputError naming the file."""
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read config ({exc})") from None
    raw = parse_yaml(text, source)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("", f"expected a mapping of sections at the top level, got {show(raw)}", source)
    if isinstance(raw.get("model"), list):      # a plain list is a chain: same key paths as model.layers
        raw = {**raw, "model": {"layers": raw["model"]}}
    raw = apply_overrides(raw, overrides)
    if raw.get("name") is None:
        raw["name"] = path.stem
    try:
        config = resolve(raw)
    except ConfigError as exc:
        raise exc.with_source(source) from None
    config.source = source
    return config


_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_key_path(key_path: str) -> list[str | int]:
    """'model.layers[0].units' or 'model.layers.0.units' -> ['model', 'layers', 0, 'units']."""
    parts: list[str | int] = []
    for name, index in _SEGMENT.findall(key_path):
        if index:
            parts.append(int(index))
        elif name.isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
    return parts


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply `KEY.PATH=VALUE` overrides (values parsed as YAML) to a copy of `raw`."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        key_path, sep, text = item.partition("=")
        parts = split_key_path(key_path.strip())
        if not sep or not parts or not isinstance(parts[0], str):
            raise InputError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. optimizer.lr=3e-4")
        node: Any = raw
        where = ""
        for key, following in zip(parts, parts[1:] + [None]):
            last = following is None
            if isinstance(key, int):
                if not isinstance(node, list) or key >= len(node):
                    raise InputError(f"--set {item!r}: {where} has no item [{key}]")
                if last:
                    node[key] = parse_value(text)
                else:
                    node = node[key]
            else:
                if not isinstance(node, dict):
                    raise InputError(f"--set {item!r}: {where} is not a mapping")
                if last:
                    node[key] = parse_value(text)
                else:
                    node = node.setdefault(key, {} if isinstance(following, str) else [])
            where = join_path(where, key)
    return raw


def resolve(raw: dict) -> ResolvedConfig:
    """Validate a raw config mapping and return the resolved config (defaults filled, repeats expanded).

    Raises ConfigError with a key path (no source file: `load_config` adds it).
    """
    from nnctl.data import validate_data_config
    from nnctl.nn.model_config import resolve_model_config
    from nnctl.nn.objective import resolve_loss_config
    from nnctl.optim.optimizers import OPTIMIZERS
    from nnctl.optim.schedules import SCHEDULES

    for key in raw:
        if key not in SECTIONS:
            raise ConfigError(str(key), f"unknown section{did_you_mean(key, SECTIONS)}; "
                                        f"sections are {', '.join(SECTIONS)}")
    out = ResolvedConfig(validate(TOP_OPTIONS, {k: raw[k] for k in TOP_OPTIONS if k in raw}, ""))
    if "data" not in raw:
        raise ConfigError("data", "required section is missing")
    out["data"] = validate_data_config(raw["data"], "data")
    if "model" not in raw:
        raise ConfigError("model", "required section is missing")
    out["model"], out.node_paths = resolve_model_config(raw["model"], "model")
    out["loss"] = resolve_loss_config(raw.get("loss", {"type": "softmax_cross_entropy"}), "loss")
    out["regularization"] = validate(REGULARIZATION_OPTIONS, raw.get("regularization"), "regularization")
    out["optimizer"] = resolve_component(raw.get("optimizer"), "optimizer", OPTIMIZERS, default="adam")
    out["schedule"] = resolve_component(raw.get("schedule"), "schedule", SCHEDULES, default="constant")
    out["train"] = resolve_train(raw.get("train"), "train")
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
        from nnctl.data.augment import AUGMENT_OPTIONS
        out["augment"] = validate(AUGMENT_OPTIONS, out["augment"], join_path(path, "augment"))
    return out

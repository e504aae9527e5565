"""A sweep file: what to train (`base` + `set`), what to vary (`space`), how to search (`sampler`,
`pruner`, `seed`), what to maximize or minimize (`metric`) and how many trials.

    name: fashion_mlp_lr
    base: ../fashion_mlp.yaml           # a config file (relative to this file) or an inline config
    set: {train.epochs: 8}              # fixed overrides, the same key paths as --set
    space:
      optimizer.lr: {loguniform: [1.0e-5, 1.0e-1]}
      train.batch_size: {int: [32, 512], log: true}
    sampler: tpe                        # random | grid | tpe, or {type: tpe, startup_trials: 5}
    metric: val_acc                     # direction derived, as for early stopping
    trials: 40
    pruner: median                      # none | median | hyperband, or {type: median, warmup_epochs: 2}
    seed: 0

`read_sweep` checks everything that can be checked without building a network (keys, the base config,
`set`, the distributions, that every swept key path exists); nnctl.sweep.check tries the corners.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nnctl.config.load import errors_name, read_raw_config, read_yaml_file
from nnctl.config.sections import CLASS_METRICS, METRICS, ResolvedConfig, resolve
from nnctl.config.values import RunName
from nnctl.errors import ConfigError
from nnctl.nn.class_metrics import is_metric_word
from nnctl.options.overrides import PathMissing, assign, canonical_path, split_key_path
from nnctl.options.spec import (
    REQUIRED,
    Int,
    Mismatch,
    Option,
    Optional,
    did_you_mean,
    join_path,
    require_mapping,
    show,
    validate,
)
from nnctl.sweep.paths import blame, check_exists, overlap
from nnctl.sweep.space import KEY_PATH, Param, grid_points, parse_param

MAX_TRIALS = 100_000


def _anything(value: Any) -> Any:
    return value


def SweepMetric():
    """auto, one of METRICS, or a class metric of train.metrics on the validation split (val_macro_f1, ...)."""
    words = ("auto",) + METRICS + CLASS_METRICS

    def check(value: Any) -> str:
        if value in ("auto",) + METRICS or (isinstance(value, str) and value.startswith("val_")
                                            and is_metric_word(value[4:]) and value != "val_acc"):
            return value
        hint = did_you_mean(value, words[:-1]) if isinstance(value, str) else ""
        raise Mismatch(f"one of {', '.join(words)}{hint}")

    check.choices = words
    return check


SWEEP_OPTIONS = {
    "name": Option(Optional(RunName()), None, "the sweep's name: its folder (--out/NAME) and study name "
                                              "(default: the file's stem)"),
    "base": Option(_anything, REQUIRED, "the config every trial starts from: a file (relative to the sweep file) "
                                        "or an inline config mapping"),
    "set": Option(_anything, None, "fixed overrides of the base config: {KEY.PATH: value}, paths as for --set"),
    "space": Option(_anything, REQUIRED, "{KEY.PATH: distribution}: uniform, loguniform, int or choice"),
    "sampler": Option(_anything, "tpe", "random, grid or tpe, or a mapping {type: NAME, ...options}"),
    "metric": Option(SweepMetric(), "auto", "what a trial scores, measured at its run's best checkpoint; "
                                            "accuracies and F1 scores are maximized, losses minimized (auto = the "
                                            "base config's train.monitor; val_macro_f1 and the other class "
                                            "metrics need them in the base's train.metrics or train.monitor)"),
    "trials": Option(Optional(Int(1, MAX_TRIALS)), None, "trials in the study (default 20; for grid: every point)"),
    "pruner": Option(_anything, "none", "none, median or hyperband, or a mapping {type: NAME, ...options}; fed "
                                        "the metric after every epoch"),
    "seed": Option(Int(0), 0, "seed of the sampler (each trial's draw also depends on its number)"),
}

SAMPLERS = {
    "random": {},
    "grid": {},
    "tpe": {"startup_trials": Option(Int(0), 10, "trials drawn at random before TPE models the results")},
}

PRUNERS = {
    "none": {},
    "median": {
        "startup_trials": Option(Int(0), 5, "trials that must finish before any trial is pruned"),
        "warmup_epochs": Option(Int(0), 1, "epochs every trial runs before it can be pruned"),
    },
    "hyperband": {
        "min_epochs": Option(Int(1), 1, "epochs a trial runs before its first chance to be pruned"),
        "reduction_factor": Option(Int(2), 3, "at each rung, 1 in reduction_factor trials goes on"),
    },
}

DEFAULT_TRIALS = 20


@dataclass
class SweepSpec:
    """A checked sweep file. `raw` is the base config with `set` applied (YAML as written, so the space's
    key paths index it); `config` is that resolved; `base` is the `base:` value as given."""

    source: str
    name: str
    base: str | dict
    base_source: str
    raw: dict
    config: ResolvedConfig
    set_values: dict
    params: list[Param]
    sampler: dict
    pruner: dict
    metric: str
    trials: int
    seed: int

    def config_for(self, values: dict[str, Any], name: str | None = None) -> ResolvedConfig:
        """The resolved config of a trial: the base with `set`, then `values` ({canonical path: value}).
        Raises ConfigError with the config's key path (no file named)."""
        raw = copy.deepcopy(self.raw)
        for param in self.params:
            if param.path in values:
                assign(raw, list(param.parts), values[param.path])
        if name is not None:
            raw["name"] = name
        return replace(resolve(raw), source=self.base_source)

    def grid(self) -> list[dict[str, Any]]:
        return grid_points(self.params, "space")


def read_sweep(path: str | Path, changes: dict[str, Any] | None = None) -> SweepSpec:
    """Read and check the sweep file at `path`; `changes` replace top-level keys (from the command line).
    Raises ConfigError/InputError naming the file (or the base config file, for mistakes inside it)."""
    path = Path(path)
    source = str(path)
    raw = read_yaml_file(path, "sweep")
    if not isinstance(raw, dict):
        raise ConfigError("", f"expected a mapping of sweep keys (base, space, sampler, ...), got {show(raw)}", source)
    with errors_name(source):
        top = validate(SWEEP_OPTIONS, {**raw, **(changes or {})}, "")
        sampler = component(top["sampler"], "sampler", SAMPLERS)
        pruner = component(top["pruner"], "pruner", PRUNERS)
        base_raw, base_source = read_base(top["base"], path)
        set_values = require_mapping({} if top["set"] is None else top["set"], "set")
        config_raw = apply_set(base_raw, set_values)
        params = read_space(top["space"], set_values)
        config = resolve_base(config_raw, set_values, base_source, inline=isinstance(top["base"], dict))
        for param in params:
            check_exists(param, config_raw, config.sections(), join_path("space", param.key))
        spec = SweepSpec(source=source, name=top["name"] or path.stem, base=top["base"], base_source=base_source,
                         raw=config_raw, config=config, set_values=set_values, params=params, sampler=sampler,
                         pruner=pruner, metric=top["metric"], trials=top["trials"] or DEFAULT_TRIALS,
                         seed=top["seed"])
        if sampler["type"] == "grid":
            spec.trials = min(top["trials"] or MAX_TRIALS, len(spec.grid()))
    return spec


def component(value: Any, path: str, table: dict[str, dict[str, Option]]) -> dict:
    """`NAME` or `{type: NAME, ...options}` checked against the named entry's options."""
    given = {"type": value} if isinstance(value, str) else require_mapping(value, path)
    name = given.get("type")
    where = path if isinstance(value, str) else join_path(path, "type")
    if name not in table:
        hint = did_you_mean(name, table) if isinstance(name, str) else ""
        raise ConfigError(where, f"unknown {path} {show(name)}{hint}; {path}s are {', '.join(table)}")
    return {"type": name, **validate(table[name], given, path, ignore=("type",))}


def read_base(value: Any, sweep_file: Path) -> tuple[dict, str]:
    """(the base config's raw mapping, the file its relative paths and errors belong to)."""
    if isinstance(value, dict):
        raw = dict(value)
        if isinstance(raw.get("model"), list):
            raw["model"] = {"layers": raw["model"]}
        return raw, str(sweep_file)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError("base", f"expected a config file (a path relative to this file) or an inline config "
                                  f"mapping, got {show(value)}")
    base = Path(value).expanduser()
    if not base.is_absolute():
        base = sweep_file.parent / base
    if not base.is_file():
        raise ConfigError("base", f"no such config file {base} (a relative base is taken from the sweep "
                                  f"file's folder)")
    raw = read_raw_config(base)
    raw.setdefault("name", base.stem)
    return raw, str(base)


def apply_set(base_raw: dict, set_values: dict) -> dict:
    """The base config with every `set` value assigned (as --set does: missing mappings are created)."""
    raw = copy.deepcopy(base_raw)
    for key, value in set_values.items():
        where = join_path("set", key)
        if not isinstance(key, str) or not KEY_PATH.match(key) or not isinstance(split_key_path(key)[0], str):
            raise ConfigError(where, f"expected a key path such as train.epochs, got {show(key)}")
        try:
            assign(raw, split_key_path(key), value)
        except PathMissing as exc:
            raise ConfigError(where, f"cannot be set: {exc.problem}") from None
    return raw


def read_space(value: Any, set_values: dict) -> list[Param]:
    """The `space:` entries, each a valid distribution, no two on the same or nested key paths, none that
    `set` also fixes (a space path may lie inside a mapping `set` gives, which it then varies)."""
    space = require_mapping(value, "space")
    if not space:
        raise ConfigError("space", "expected at least one key path to vary, got an empty mapping")
    params: list[Param] = []
    fixed = {canonical_path(split_key_path(k)): k for k in set_values}
    for key, raw in space.items():
        param = parse_param(key, raw, join_path("space", key))
        where = join_path("space", param.key)
        for other in params:
            relation = overlap(param.path, other.path)
            if relation == "same":
                raise ConfigError(where, f"the same key path as space.{other.key}")
            if relation:
                raise ConfigError(where, f"overlaps space.{other.key} (one lies inside the other)")
        for path, set_key in fixed.items():
            if overlap(param.path, path) in ("same", "contains"):
                raise ConfigError(where, f"also given in set (set.{set_key}); give it in one place")
        params.append(param)
    return params


def resolve_base(raw: dict, set_values: dict, base_source: str, inline: bool) -> ResolvedConfig:
    """The base config with `set` applied, resolved; a mistake is blamed on the `set` entry that made it,
    else on the base config (its file, or `base.` inside the sweep file)."""
    try:
        config = resolve(raw)
    except ConfigError as exc:
        raise blame(exc, set_values, base_source, inline) from None
    return replace(config, source=base_source)

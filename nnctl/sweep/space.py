"""The search space of a sweep: one `Param` per key path, each drawn through an Optuna distribution.

    optimizer.lr:      {loguniform: [1.0e-5, 1.0e-1]}    log(value) uniform: every decade equally likely
    model...p:         {uniform: [0.0, 0.6]}             uniform; `step: 0.1` allows only 0.0, 0.1, ... 0.6
    train.batch_size:  {int: [32, 512], log: true}       integers; `log: true` (low >= 1) or `step: 32`
    model...units:     {choice: [128, 256, 512, 1024]}   one of the values (numbers, words, true/false, null)

Ranges include both ends. The parameter's name in the study is its canonical key path
(`model.layers[0].units`), whichever spelling the sweep file used.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from nnctl.errors import ConfigError
from nnctl.options.overrides import canonical_path, split_key_path
from nnctl.options.spec import Bool, Mismatch, did_you_mean, join_path, show

KINDS = ("uniform", "loguniform", "int", "choice")
MODIFIERS = {"uniform": ("step",), "loguniform": (), "int": ("log", "step"), "choice": ()}
EXAMPLE = "{loguniform: [1.0e-5, 1.0e-1]}, {uniform: [0, 1]}, {int: [32, 512]} or {choice: [a, b]}"
KEY_PATH = re.compile(r"^[^.\[\]\s]+(?:\.[^.\[\]\s]+|\[\d+\])*$")
MAX_GRID = 10_000      # grid points a sweep may hold (each one becomes a queued trial)


@dataclass(frozen=True)
class Param:
    """One swept key path. `key` is the path as the sweep file wrote it (for messages), `path` the
    canonical one (the Optuna parameter name), `parts` its segments for `assign`."""

    key: str
    path: str
    parts: tuple
    kind: str
    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    step: float | int | None = None
    choices: tuple = field(default=())

    def distribution(self):
        """The optuna.distributions object this parameter is drawn from."""
        # optional (the sweep extra): loaded when a sweep runs
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        if self.kind == "choice":
            return CategoricalDistribution(list(self.choices))
        if self.kind == "int":
            return IntDistribution(self.low, self.high, log=self.log, step=self.step or 1)
        return FloatDistribution(self.low, self.high, log=self.log, step=self.step)

    def suggest(self, trial) -> Any:
        """Draw (or, for a queued trial, read back) this parameter's value in an optuna Trial."""
        if self.kind == "choice":
            return trial.suggest_categorical(self.path, list(self.choices))
        if self.kind == "int":
            return trial.suggest_int(self.path, self.low, self.high, step=self.step or 1, log=self.log)
        return trial.suggest_float(self.path, self.low, self.high, step=self.step, log=self.log)

    def ends(self) -> list[tuple[str, Any]]:
        """The values at the edges of the space, named: the two ends of a range, or every choice."""
        if self.kind == "choice":
            return [("the choice", value) for value in self.choices]
        return [("the low end", self.low), ("the high end", self.high)]

    def grid_size(self) -> int | None:
        """How many values a grid takes from this parameter; None when it is continuous."""
        if self.kind == "choice":
            return len(self.choices)
        if self.kind == "int":
            return (self.high - self.low) // (self.step or 1) + 1
        if self.step is not None:
            return round((self.high - self.low) / self.step) + 1
        return None

    def grid(self) -> list[Any]:
        """Every value of a finite parameter, in order (call only when grid_size() is not None)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return list(range(self.low, self.high + 1, self.step or 1))
        return [self.low + i * self.step if i < self.grid_size() - 1 else self.high for i in range(self.grid_size())]

    def as_yaml(self) -> dict:
        """The sweep-file form: {loguniform: [a, b]}, {int: [a, b], log: true}, ..."""
        if self.kind == "choice":
            return {"choice": list(self.choices)}
        if self.kind == "uniform" and self.log:
            return {"loguniform": [self.low, self.high]}
        out: dict[str, Any] = {self.kind: [self.low, self.high]}
        if self.kind == "int" and self.log:
            out["log"] = True
        if self.step is not None and not (self.kind == "int" and self.step == 1):
            out["step"] = self.step
        return out

    def describe(self) -> str:
        """'loguniform [1e-05, 0.1]', 'int [32, 512] log', 'choice 128, 256'."""
        if self.kind == "choice":
            return "choice " + ", ".join(show(v) for v in self.choices)
        kind = "loguniform" if self.kind == "uniform" and self.log else self.kind
        extra = " log" if self.kind == "int" and self.log else ""
        extra += f" step {self.step:g}" if self.step is not None and self.step != 1 else ""
        return f"{kind} [{self.low:g}, {self.high:g}]{extra}"


# ---------------------------------------------------------------------------------------------- parsing

def parse_param(key: Any, raw: Any, where: str) -> Param:
    """One `space:` entry (`where` is its key path in the sweep file, e.g. space.optimizer.lr)."""
    if not isinstance(key, str) or not KEY_PATH.match(key) or not isinstance(split_key_path(key)[0], str):
        raise ConfigError(where, f"expected a key path such as optimizer.lr or model.layers[0].units, "
                                 f"got {show(key)}")
    if not isinstance(raw, dict):
        raise ConfigError(where, f"expected a distribution such as {EXAMPLE}, got {show(raw)}")
    for name in raw:
        if name not in KINDS and name not in ("log", "step"):
            raise ConfigError(join_path(where, name), f"unknown key{did_you_mean(name, KINDS + ('log', 'step'))}")
    kinds = [name for name in raw if name in KINDS]
    if len(kinds) != 1:
        found = " and ".join(kinds) if kinds else "only " + ", ".join(raw) if raw else "an empty mapping"
        raise ConfigError(where, f"expected one of {', '.join(KINDS)} (e.g. {EXAMPLE}), got {found}")
    kind = kinds[0]
    for name in raw:
        if name != kind and name not in MODIFIERS[kind]:
            takes = " or ".join(MODIFIERS[kind]) or "no other key"
            raise ConfigError(join_path(where, name), f"not an option of {kind} (it takes {takes})")
    parts = split_key_path(key)
    common = dict(key=key, path=canonical_path(parts), parts=tuple(parts))
    if kind == "choice":
        return Param(kind="choice", choices=_choices(raw["choice"], join_path(where, "choice")), **common)
    log = _flag(raw.get("log", False), join_path(where, "log"))
    if kind == "int":
        low, high = _int_range(raw["int"], join_path(where, "int"), log)
        step = raw.get("step")
        if step is not None:
            if log:
                raise ConfigError(join_path(where, "step"), "cannot be combined with log: true")
            if isinstance(step, bool) or not isinstance(step, int) or step < 1 or (high - low) % step:
                raise ConfigError(join_path(where, "step"), f"expected a positive integer that divides high - low "
                                                            f"({high - low}), got {show(step)}")
        return Param(kind="int", low=low, high=high, log=log, step=step, **common)
    low, high = _float_range(raw[kind], join_path(where, kind), positive=kind == "loguniform")
    step = raw.get("step")
    if step is not None:
        span = high - low
        if isinstance(step, bool) or not isinstance(step, (int, float)) or not 0 < step <= span or \
                abs(span / step - round(span / step)) > 1e-9 * max(1.0, span / step):
            raise ConfigError(join_path(where, "step"), f"expected a positive number that divides high - low "
                                                        f"({span:g}), got {show(step)}")
        step = float(step)
    return Param(kind="uniform", low=low, high=high, log=kind == "loguniform", step=step, **common)


def _flag(value: Any, where: str) -> bool:
    try:
        return Bool()(value)
    except Mismatch as exc:
        raise ConfigError(where, f"expected {exc.expected}, got {show(value)}") from None


def _float_range(value: Any, where: str, positive: bool) -> tuple[float, float]:
    what = "0 < low < high" if positive else "low < high"
    ok = isinstance(value, list) and len(value) == 2 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    if not ok or not value[0] < value[1] or (positive and value[0] <= 0):
        raise ConfigError(where, f"expected [low, high], two numbers with {what}, got {show(value)}")
    return float(value[0]), float(value[1])


def _int_range(value: Any, where: str, log: bool) -> tuple[int, int]:
    what = "1 <= low < high (log: true)" if log else "low < high"
    ok = isinstance(value, list) and len(value) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) for v in value)
    if not ok or not value[0] < value[1] or (log and value[0] < 1):
        raise ConfigError(where, f"expected [low, high], two integers with {what}, got {show(value)}")
    return int(value[0]), int(value[1])


def _choices(value: Any, where: str) -> tuple:
    if not isinstance(value, list) or len(value) < 2:
        raise ConfigError(where, f"expected a list of at least 2 different values, got {show(value)}")
    for i, item in enumerate(value):
        if item is not None and not isinstance(item, (bool, int, float, str)):
            raise ConfigError(join_path(where, i), f"expected a number, a string, true, false or null, "
                                                   f"got {show(item)}")
        for j in range(i):
            if value[j] == item:
                raise ConfigError(join_path(where, i), f"{show(item)} is already listed as item [{j}]")
    return tuple(value)


# ---------------------------------------------------------------------------------------------- grids

def grid_points(params: list[Param], where: str) -> list[dict[str, Any]]:
    """Every combination of the parameters' values ({path: value}), first parameter slowest. Raises
    ConfigError naming the first continuous parameter, or the grid's size when it is too large."""
    sizes = []
    for param in params:
        size = param.grid_size()
        if size is None:
            kind = "loguniform" if param.log else "uniform without a step"
            raise ConfigError(join_path(where, param.key), f"sampler grid needs a finite space, and {kind} is "
                                                           f"continuous (use {{choice: [...]}}, or uniform or int "
                                                           f"with a step)")
        sizes.append(size)
    total = math.prod(sizes)
    if total > MAX_GRID:
        raise ConfigError(where, f"the grid has {' x '.join(map(str, sizes))} = {total} points, more than "
                                 f"{MAX_GRID}; use sampler random or tpe, or fewer values")
    points: list[dict[str, Any]] = [{}]
    for param in params:
        points = [{**point, param.path: value} for point in points for value in param.grid()]
    return points

"""Comparing configs key by key: where two configs differ, and the value at a key path.

Key paths are written as in error messages and `--set`: `optimizer.lr`, `model.layers[2].units`.
"""

from __future__ import annotations

import re
from typing import Any

_PART = re.compile(r"^([^.\[\]]+)((?:\[\d+\])*)$")


def differing_keys(a: object, b: object, path: str = "") -> list[str]:
    """Key paths (model.layers[2].units style) where two plain config values differ."""
    if a == b:                          # compared in C first: equal sections cost no walk
        return []
    if isinstance(a, dict) and isinstance(b, dict):
        keys = list(a) + [k for k in b if k not in a]
        return [d for k in keys for d in differing_keys(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differing_keys(x, y, f"{path}[{i}]")]
    return [] if a == b else [path]


def differing_among(configs: list[dict]) -> list[str]:
    """Key paths in which any of `configs` differs from the first, in the order they are first found."""
    found: list[str] = []
    for other in configs[1:]:
        found += [k for k in differing_keys(configs[0], other) if k not in found]
    return found


def path_steps(path: str) -> list[str | int]:
    """'model.layers[2].units' -> ['model', 'layers', 2, 'units']; ValueError when it is not a key path."""
    steps: list[str | int] = []
    for part in path.split("."):
        match = _PART.match(part)
        if match is None:
            raise ValueError(f"not a key path: {path!r}")
        steps.append(match.group(1))
        steps += [int(i) for i in re.findall(r"\[(\d+)\]", match.group(2))]
    return steps


def value_at(config: Any, path: str) -> Any:
    """The value at key path `path` (`optimizer.lr`, `model.layers[2].units`); KeyError when absent
    (or when `path` is not a key path)."""
    try:
        steps = path_steps(path)
    except ValueError:
        raise KeyError(path) from None
    value = config
    for step in steps:
        if isinstance(step, str) and isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(step, int) and isinstance(value, list) and step < len(value):
            value = value[step]
        else:
            raise KeyError(path)
    return value


def show_value(value: Any, width: int = 24) -> str:
    """A config value in a few characters, for legends: YAML spelling, long lists and mappings shortened."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        text = "[" + ", ".join(show_value(v, width) for v in value) + "]"
        return text if len(text) <= width else f"[{len(value)} items]"
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{k}: {show_value(v, width)}" for k, v in value.items()) + "}"
        return text if len(text) <= width else "{...}"
    return str(value)

"""`--set KEY.PATH=VALUE` overrides, applied to a raw config mapping before it is resolved.

The same key paths address a config everywhere (`--set`, a sweep's `set:` and `space:`): dots between
keys and `[i]` (or `.i`) for list items, indexing the YAML as written, so `model.layers[0].layers[3].p`
reaches into a `repeat:` block and changes every copy of it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from nnctl.options.spec import join_path, show
from nnctl.options.yamlio import parse_value
from nnctl.errors import ConfigError, InputError
from nnctl.limits import MAX_DEPTH

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


def canonical_path(parts: list[str | int]) -> str:
    """['model', 'layers', 0, 'units'] -> 'model.layers[0].units'."""
    path = ""
    for part in parts:
        path = join_path(path, part)
    return path


class PathMissing(Exception):
    """A key path cannot be set: `where` (a key path) has no such item, or is not a mapping."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem


def assign(raw: dict, parts: list[str | int], value: Any) -> None:
    """Set the item at `parts` of `raw` to `value`, in place; missing mapping keys on the way are created
    (as --set does). Raises PathMissing when a list has no such item or a step is not a mapping."""
    node: Any = raw
    where = ""
    for key, following in zip(parts, parts[1:] + [None]):
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                raise PathMissing(f"{where} has no item [{key}]")
        elif not isinstance(node, dict):
            raise PathMissing(f"{where} is not a mapping")
        elif "repeat" in node and key not in ("repeat", "layers"):
            raise PathMissing(f"{where} is a repeat block ({show(node['repeat'])} times a list of layers); --set "
                              f"addresses the YAML as written, so its layers are {where}.layers[0], "
                              f"{where}.layers[1], ... (--print-config shows the expanded list)")
        if following is None:
            node[key] = value
        elif isinstance(key, int):
            node = node[key]
        else:
            node = node.setdefault(key, {} if isinstance(following, str) else [])
        where = join_path(where, key)


def override_paths(overrides: list[str]) -> dict[str, str]:
    """{key path as errors spell it ('model.layers[0].units'): the --set item} for well-formed items."""
    paths = {}
    for item in overrides:
        key_path, sep, _ = item.partition("=")
        parts = split_key_path(key_path.strip())
        if sep and parts:
            paths[canonical_path(parts)] = item
    return paths


def blamed_item(path: str, paths: dict[str, str]) -> str | None:
    """The --set item that set `path` or a key above it, if any."""
    for where, item in paths.items():
        if path == where or path.startswith((where + ".", where + "[")):
            return item
    return None


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Apply `KEY.PATH=VALUE` overrides (values parsed as YAML) to a copy of `raw`.

    Paths address the YAML as written: a `repeat` block in model.layers is one item, whose layers are
    model.layers[i].layers[j] (`--print-config` shows the expanded list instead)."""
    raw = copy.deepcopy(raw)
    for item in overrides:
        key_path, sep, text = item.partition("=")
        parts = split_key_path(key_path.strip())
        if not sep or not parts or not isinstance(parts[0], str):
            raise InputError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. optimizer.lr=3e-4")
        if len(parts) > MAX_DEPTH:
            raise InputError(f"--set {shorten(item)!r}: a key path of {len(parts)} parts, more than the limit "
                             f"of {MAX_DEPTH}")
        try:
            value = parse_value(text)
        except ConfigError as exc:
            raise InputError(f"--set {shorten(item)!r}: {exc.message}") from None
        try:
            assign(raw, parts, value)
        except PathMissing as exc:
            raise InputError(f"--set {item!r}: {exc.problem}") from None
    return raw


def shorten(text: str, keep: int = 60) -> str:
    """`text`, or its first `keep` characters and '...' (a --set value may be a whole megabyte)."""
    return text if len(text) <= keep else text[:keep] + "..."

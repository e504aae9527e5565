"""The config keys in which several runs differ, as columns a person can read: one per key, named by its
shortest unambiguous path, and a `repeat` block's key once.

    configs = [{"optimizer": {"lr": 0.1}, "model": {"layers": [{"units": 8}, {}, {"units": 8}]}}, ...]
    key_columns(configs) -> [KeyColumn("lr", ("optimizer.lr",)),
                             KeyColumn("layers[0,2].units", ("model.layers[0].units", "model.layers[2].units"))]

A run's config.yaml holds the resolved config, in which a repeat block is already expanded: its copies'
keys (model.layers[0].units, model.layers[2].units) differ together, always with the same values. Keys
that differ only in list indices and hold equal values in every run are one column, named with the
indices merged. A name is the shortest tail of the key path (`lr`, `layers[0].units`, `optimizer.type`)
that no other key of the configs ends with. `name` is left out: the config name is a column of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nnctl.options.compare import differing_among, value_at

_INDEX = re.compile(r"\[(\d+)\]")
MISSING = object()


@dataclass(frozen=True)
class KeyColumn:
    """A column: its display name and the key paths it stands for (several for a repeat block's copies)."""
    name: str
    paths: tuple[str, ...]

    def value(self, config: dict) -> Any:
        """The value in `config` (the first path's; MISSING when the config has no such key)."""
        try:
            return value_at(config, self.paths[0])
        except KeyError:
            return MISSING


def leaf_paths(value: Any, path: str = "") -> list[str]:
    """Every key path of a plain config value down to its scalars (and its empty mappings and lists)."""
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in leaf_paths(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value) for p in leaf_paths(v, f"{path}[{i}]")]
    return [path]


def union(a: Any, b: Any) -> Any:
    """`a` with what only `b` has added beside its siblings (mappings merged, lists item by item), so that
    keys of several configs come in one natural order (optimizer.momentum right after optimizer.lr)."""
    if a == b:                          # compared in C: most of a thousand configs' sections are equal
        return a
    if isinstance(a, dict) and isinstance(b, dict):
        return {**{k: union(v, b[k]) if k in b else v for k, v in a.items()},
                **{k: v for k, v in b.items() if k not in a}}
    if isinstance(a, list) and isinstance(b, list):
        return [union(x, y) for x, y in zip(a, b)] + (a[len(b):] if len(a) > len(b) else b[len(a):])
    return a


def segments(path: str) -> list[str]:
    """'model.layers[2].units' -> ['model', 'layers[2]', 'units']."""
    return path.split(".")


def shortest_name(path: str, others: set[str]) -> int:
    """How many trailing segments of `path` it takes so that no other path in `others` ends with them."""
    parts = segments(path)
    for n in range(1, len(parts) + 1):
        tail = ".".join(parts[-n:])
        if not any(o != path and (o == tail or o.endswith("." + tail)) for o in others):
            return n
    return len(parts)


def _vector(configs: list[dict], path: str) -> list[str]:
    out = []
    for config in configs:
        try:
            out.append(repr(value_at(config, path)))
        except KeyError:
            out.append("<missing>")
    return out


def _merged(paths: list[str], n: int) -> str:
    """The last `n` segments of several paths that differ only in indices, indices merged: layers[0,2].units."""
    tails = [segments(p)[-n:] for p in paths]
    out = []
    for i, first in enumerate(tails[0]):
        versions = [t[i] for t in tails]
        if len(set(versions)) == 1:
            out.append(first)
            continue
        indices = [_INDEX.findall(v) for v in versions]
        merged = iter([",".join(dict.fromkeys(ix[j] for ix in indices)) for j in range(len(indices[0]))])
        out.append(_INDEX.sub(lambda _: f"[{next(merged)}]", first))
    return ".".join(out)


def key_columns(configs: list[dict], skip: tuple[str, ...] = ("name",), reserved: tuple[str, ...] = ()) -> list[KeyColumn]:
    """One KeyColumn per key (or repeat block's key) in which `configs` differ, in the configs' key order; no
    column is named like one of `reserved` (the names of other columns: `epochs` is train.epochs then)."""
    if len(configs) < 2:
        return []
    keys = [k for k in differing_among(configs) if k and k not in skip]
    whole = set(keys)                   # a list that differs in length in some configs is one column, whole
    keys = [k for k in keys if not any(k[:i] in whole for i, c in enumerate(k) if c in ".[")]
    groups: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for key in keys:
        groups.setdefault((_INDEX.sub("[]", key), tuple(_vector(configs, key))), []).append(key)
    merged: dict = {}
    for config in configs:
        merged = union(merged, config)
    order = {p: i for i, p in enumerate(leaf_paths(merged))}
    others = set(order) | set(keys) | set(reserved)

    def place(paths: list[str]) -> int:
        """Where the key first appears in the configs (their own key order), so columns read like a config."""
        return min((i for leaf, i in order.items() for p in paths
                    if leaf == p or leaf.startswith(p + ".") or leaf.startswith(p + "[")), default=len(order))

    columns = []
    for (_, _), paths in sorted(groups.items(), key=lambda item: place(item[1])):
        n = max(shortest_name(p, others - set(paths)) for p in paths)
        columns.append(KeyColumn(_merged(paths, n) if len(paths) > 1 else ".".join(segments(paths[0])[-n:]),
                                 tuple(paths)))
    return columns


def find_column(columns: list[KeyColumn], key: str) -> KeyColumn | None:
    """The column `key` names: its display name, or one of its full key paths."""
    for column in columns:
        if key == column.name or key in column.paths:
            return column
    return None

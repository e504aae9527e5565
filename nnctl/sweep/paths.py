"""Key paths of a sweep against its base config: does a swept path exist, do two paths overlap, and which
sweep-file entry a config error is to be blamed on.

A swept path must exist in the base config: in its YAML as written (after `set`), or, for a key left at
its default, in the resolved config (`regularization.l2` without a `regularization:` section) or among
the options of the layer it names (`model.layers[0].l2`). A path that would switch something on, such as
`train.early_stopping.patience` when early stopping is off, does not exist.
"""

from __future__ import annotations

from typing import Any

from nnctl.errors import ConfigError
from nnctl.nn.model_config import NODE_OPTIONS
from nnctl.nn.registry import LAYERS
from nnctl.options.overrides import canonical_path, split_key_path
from nnctl.options.spec import did_you_mean, join_path, show


def check_exists(param, raw: dict, config: dict, where: str) -> None:
    """Raise ConfigError at `where` when `param.parts` is not a key path of the base config."""
    parts = list(param.parts)
    depth, node = walk(raw, parts)
    if depth == len(parts):
        return
    choices = set(node) if isinstance(node, dict) else set()
    if parts[0] == "model":
        if depth == len(parts) - 1 and parts[-1] in layer_keys(node):
            return
        choices |= layer_keys(node)
    else:
        resolved_depth, resolved_node = walk(config, parts)
        if resolved_depth == len(parts):
            return
        if resolved_depth > depth:
            depth, node, choices = resolved_depth, resolved_node, set()
        choices |= set(resolved_node) if isinstance(resolved_node, dict) and resolved_depth == depth else set()
    if isinstance(node, dict) and "repeat" in node and parts[0] == "model":
        block = canonical_path(parts[:depth])
        raise ConfigError(where, f"the base config has no {param.path}: {block} is a repeat block ({show(node['repeat'])} "
                                 f"times a list of layers), whose layers are {block}.layers[0], {block}.layers[1], ...")
    if node is None and depth > 0:
        raise ConfigError(where, f"the base config has no {param.path}: {canonical_path(parts[:depth])} is null "
                                 f"there (give it a value in set to vary what lies inside)")
    key = parts[depth]
    hint = did_you_mean(key, sorted(str(c) for c in choices)) if isinstance(key, str) else ""
    raise ConfigError(where, f"the base config has no {canonical_path(parts[:depth + 1])}{hint}")


def walk(node: Any, parts: list) -> tuple[int, Any]:
    """(how many leading segments of `parts` exist in a plain config value, the item they lead to)."""
    for depth, key in enumerate(parts):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            node = node[key]
        else:
            return depth, node
    return len(parts), node


def layer_keys(node: Any) -> set[str]:
    """The keys a layer mapping may hold (its type's options and the per-node ones); none for other nodes."""
    if not isinstance(node, dict) or node.get("type") not in LAYERS:
        return set()
    return set(LAYERS[node["type"]].options) | set(NODE_OPTIONS)


def overlap(a: str, b: str) -> str:
    """How two canonical key paths relate: 'same' (equal), 'inside' (a lies inside b), 'contains' (b lies
    inside a), or '' when neither lies inside the other."""
    pa, pb = split_key_path(a), split_key_path(b)
    if pa == pb:
        return "same"
    if pa[:len(pb)] == pb:
        return "inside"
    return "contains" if pb[:len(pa)] == pa else ""


def blame(exc: ConfigError, set_values: dict, base_source: str, inline: bool) -> ConfigError:
    """A ConfigError from resolving base + `set`, pointed at the `set` entry whose path it lies in, else at
    the base config (its own file, or `base.` in the sweep file for an inline base)."""
    for key in set_values:
        path = canonical_path(split_key_path(key))
        if exc.path == path or exc.path.startswith(path + ".") or exc.path.startswith(path + "["):
            return ConfigError(join_path("set", key) + exc.path[len(path):], exc.message)
    if inline:
        return ConfigError(join_path("base", exc.path) if exc.path else "base", exc.message)
    return ConfigError(exc.path, exc.message, base_source)

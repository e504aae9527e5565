"""Safe YAML reading and writing for configs.

- Only plain data (PyYAML's safe loader): no tags that build Python objects.
- `1e-3` is a number (PyYAML's YAML 1.1 rules would read it as a string).
- A key given twice in one mapping is an error naming its key path, not a silent overwrite.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from nnctl.errors import ConfigError
from nnctl.config.spec import join_path


class ConfigLoader(yaml.SafeLoader):
    """SafeLoader plus exponent-only floats. Resolvers are copied per class, so SafeLoader is untouched."""


ConfigLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _find_duplicates(node: yaml.Node, path: str) -> None:
    """Walk a composed YAML tree; raise ConfigError at the first key that repeats within a mapping."""
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(path, f"line {key_node.start_mark.line + 1}: a mapping key must be a plain word "
                                        f"or number, not a list or mapping")
            key = key_node.value
            if key in seen:
                raise ConfigError(join_path(path, key), f"duplicate key (line {key_node.start_mark.line + 1})")
            seen.add(key)
            _find_duplicates(value_node, join_path(path, key))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _find_duplicates(item, join_path(path, i))


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely. Syntax errors and duplicate keys raise ConfigError naming `source`."""
    try:
        loader = ConfigLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _find_duplicates(node, "")
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError("", f"{where}invalid YAML: {problem}", source) from None
    except ConfigError as exc:
        raise exc.with_source(source) from None


def parse_value(text: str) -> Any:
    """A `--set` value: parsed as a YAML scalar or flow collection (`3`, `1e-3`, `[1, 2]`, `adam`)."""
    try:
        return yaml.load(text, Loader=ConfigLoader) if text.strip() else ""
    except yaml.YAMLError:
        return text


def plain(value: Any) -> Any:
    """Tuples become lists, recursively, so a resolved config dumps as ordinary YAML."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(plain(data), sort_keys=False, default_flow_style=None, width=100)

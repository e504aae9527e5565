"""Safe YAML reading and writing for configs.

- Only plain data (PyYAML's safe loader): no tags that build Python objects.
- `1e-3` is a number (PyYAML's YAML 1.1 rules would read it as a string).
- A key given twice in one mapping is an error naming its key path, not a silent overwrite.
- Bounded (nnctl.limits): at most MAX_CONFIG_BYTES of text, MAX_DEPTH levels of nesting and MAX_VALUES
  values once aliases are followed; an alias inside what it names (a recursive alias) is refused. These
  are checked on the composed node graph, each node once, before any Python value is built, so neither
  an alias bomb nor deep nesting costs more than reading the text.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

try:
    from yaml._yaml import CParser
except ImportError:          # PyYAML without libyaml: the pure-Python parser does the same, slower
    CParser = None

from nnctl.options.spec import join_path
from nnctl.errors import ConfigError
from nnctl.limits import MAX_CONFIG_BYTES, MAX_DEPTH, MAX_VALUES, show_bytes


class BoundedComposer(Composer):
    """PyYAML's composer with two limits checked as it goes: nesting (it recurses once per level, so deep
    nesting would otherwise end in a RecursionError) and the number of nodes (so a long text stops early)."""

    def compose_node(self, parent, index):
        self.depth = getattr(self, "depth", 0) + 1
        self.composed = getattr(self, "composed", 0) + 1
        try:
            if self.depth > MAX_DEPTH or self.composed > MAX_VALUES:
                mark = self.peek_event().start_mark
                what = f"nested more than {MAX_DEPTH} levels deep" if self.depth > MAX_DEPTH else \
                    f"more than {MAX_VALUES} values"
                raise ConfigError("", f"line {mark.line + 1}, column {mark.column + 1}: {what}")
            return Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1


class ConfigLoader(BoundedComposer, yaml.SafeLoader):
    """SafeLoader with the bounded composer and exponent-only floats. Resolvers are copied per class, so
    SafeLoader is untouched."""


LOADERS: list[type] = [ConfigLoader]
if CParser is not None:
    class FastConfigLoader(CParser, SafeConstructor, Resolver):
        """The same loader over libyaml's event parser (several times faster than PyYAML's own scanner and
        parser); composing, the limits and constructing stay in Python."""

        def __init__(self, stream):
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)

        get_single_node = Composer.get_single_node
        compose_document = Composer.compose_document
        compose_node = BoundedComposer.compose_node
        compose_scalar_node = Composer.compose_scalar_node
        compose_sequence_node = Composer.compose_sequence_node
        compose_mapping_node = Composer.compose_mapping_node

    LOADERS.insert(0, FastConfigLoader)

for _loader in LOADERS:
    _loader.add_implicit_resolver("tag:yaml.org,2002:float",
                                  re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
                                  list("-+0123456789"))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _line(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}"


def check_graph(root: yaml.Node) -> None:
    """Refuse recursive aliases, and more than MAX_DEPTH levels or MAX_VALUES values once aliases are
    followed. Iterative and each node measured once, so an alias bomb costs its text, not its expansion."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        key = id(node)
        kids = _children(node)
        if closing:
            open_nodes.discard(key)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            if size[key] > MAX_VALUES:
                raise ConfigError("", f"{_line(node)}: more than {MAX_VALUES} values once aliases (*name) are "
                                      f"expanded")
            if depth[key] > MAX_DEPTH:
                raise ConfigError("", f"{_line(node)}: nested more than {MAX_DEPTH} levels deep once aliases "
                                      f"(*name) are followed")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise ConfigError("", f"{_line(node)}: an alias (*name) inside the very list or mapping it names "
                                  f"(a recursive alias)")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in reversed(kids) if id(kid) not in size)


def check_plain(value: Any, source: str) -> None:
    """The same limits for a value that did not come from YAML text (a checkpoint's JSON, a config after
    --set overrides): at most MAX_DEPTH levels and MAX_VALUES values, each list or mapping counted once per
    place it appears, no cycles. Iterative; ConfigError naming `source`."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_values: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, closing = stack.pop()
        if not isinstance(item, (dict, list)):
            continue
        key = id(item)
        kids = [k for k in (item.values() if isinstance(item, dict) else item) if isinstance(k, (dict, list))]
        leaves = (len(item) if isinstance(item, list) else len(item)) - len(kids)
        if closing:
            open_values.discard(key)
            size[key] = 1 + leaves + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=1 if leaves else 0)
            if size[key] > MAX_VALUES:
                raise ConfigError("", f"more than {MAX_VALUES} values", source)
            if depth[key] > MAX_DEPTH:
                raise ConfigError("", f"nested more than {MAX_DEPTH} levels deep", source)
            continue
        if key in size:
            continue
        if key in open_values:
            raise ConfigError("", "a list or mapping that contains itself", source)
        open_values.add(key)
        stack.append((item, True))
        stack.extend((kid, False) for kid in kids if id(kid) not in size)


def _find_duplicates(node: yaml.Node, path: str, checked: set[int]) -> None:
    """Walk a composed YAML graph (each node once: aliases share nodes); raise ConfigError at the first key
    that repeats within a mapping."""
    if id(node) in checked:
        return
    checked.add(id(node))
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
            _find_duplicates(value_node, join_path(path, key), checked)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _find_duplicates(item, join_path(path, i), checked)


def _compose_and_construct(text: str) -> Any:
    """The Python value of YAML text, within the limits above (ConfigError) or yaml.YAMLError."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError("", f"{show_bytes(len(text))} of YAML, more than the limit of "
                              f"{show_bytes(MAX_CONFIG_BYTES)}")
    loader = LOADERS[0](text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        check_graph(node)
        _find_duplicates(node, "", set())
        return loader.construct_document(node)
    finally:
        getattr(loader, "dispose", lambda: None)()


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text safely and within the limits above. Syntax errors, duplicate keys and limits raise
    ConfigError naming `source`."""
    try:
        return _compose_and_construct(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError("", f"{where}invalid YAML: {problem}", source) from None
    except ConfigError as exc:
        raise exc.with_source(source) from None


def parse_value(text: str) -> Any:
    """A `--set` value: parsed as a YAML scalar or flow collection (`3`, `1e-3`, `[1, 2]`, `adam`); text
    that is not YAML stays text. Within the same limits as a config (ConfigError without a source)."""
    if not text.strip():
        return ""
    try:
        return _compose_and_construct(text)
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
    """Plain data as YAML text (libyaml's emitter when present: the same text, several times faster)."""
    return yaml.dump(plain(data), Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                     default_flow_style=None, width=100)

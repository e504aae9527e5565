"""Read a config file, apply `--set` overrides, resolve it, and name the file in every error.

The result is a `ResolvedConfig`: a plain dict of sections (defaults filled, repeats expanded) that
`nnctl train` writes into the run directory as config.yaml, plus the file it came from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from nnctl.config.overrides import apply_overrides, blamed_item, override_paths
from nnctl.config.sections import ResolvedConfig, resolve
from nnctl.config.spec import show
from nnctl.config.yamlio import parse_yaml
from nnctl.errors import ConfigError, InputError


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
    blame = override_paths(list(overrides))
    with errors_name(source, blame):
        config = resolve(raw)
    config.source, config.overrides = source, blame
    return config




@contextlib.contextmanager
def errors_name(source: str | Path | dict, overrides: dict[str, str] | None = None) -> Iterator[None]:
    """The one place that attaches where a config value came from to errors: a ConfigError raised inside
    the block leaves naming the --set item that gave the value (`overrides`: key path -> item), else
    `source`, the file (a path, or a ResolvedConfig whose `source` and `overrides` are used), unless it
    already names one."""
    if isinstance(source, dict):
        name, overrides = getattr(source, "source", ""), getattr(source, "overrides", {})
    else:
        name = str(source)
    try:
        yield
    except ConfigError as exc:
        item = blamed_item(exc.path, overrides or {}) if exc.source is None else None
        if item is not None:
            raise InputError(f"--set {item!r}: {exc.path}: {exc.message}") from None
        raise (exc.with_source(name) if name else exc) from None

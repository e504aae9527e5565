"""Read a config file, apply `--set` overrides, resolve it, and name the file in every error.

The result is a `ResolvedConfig`: a plain dict of sections (defaults filled, repeats expanded) that
`nnctl train` writes into the run directory as config.yaml, plus the file it came from.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from nnctl.config.sections import ResolvedConfig, resolve
from nnctl.errors import ConfigError, InputError
from nnctl.limits import MAX_CONFIG_BYTES, show_bytes
from nnctl.options.overrides import apply_overrides, blamed_item, override_paths, shorten
from nnctl.options.spec import show
from nnctl.options.yamlio import check_plain, parse_yaml


def load_config(path: str | Path, overrides: list[str] = ()) -> ResolvedConfig:
    """Read, override and resolve the config at `path`. Raises ConfigError/InputError naming the file."""
    source = str(path)
    raw = apply_overrides(read_raw_config(path), overrides)
    check_plain(raw, source)
    if raw.get("name") is None:
        raw["name"] = Path(path).stem
    blame = override_paths(list(overrides))
    with errors_name(source, blame):
        config = resolve(raw)
    return replace(config, source=source, overrides=blame)


def read_raw_config(path: str | Path) -> dict:
    """The config file at `path` as YAML gives it, with a plain `model:` list turned into `model.layers`
    (same key paths either way); not yet checked."""
    source = str(path)
    raw = read_yaml_file(path, "config")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError("", f"expected a mapping of sections at the top level, got {show(raw)}", source)
    if "base" in raw and "space" in raw:
        raise InputError(f"{source}: is a sweep file (it has base: and space:), not a config; run it with "
                         f"nnctl sweep {source}")
    if isinstance(raw.get("model"), list):      # a plain list is a chain: same key paths as model.layers
        raw = {**raw, "model": {"layers": raw["model"]}}
    return raw


def read_yaml_file(path: str | Path, what: str) -> object:
    """The YAML document in the file at `path` (bounded, safe loader, duplicate keys refused); a missing or
    unreadable file is an InputError naming it as a `what` file ("config", "sweep")."""
    return parse_yaml(read_yaml_text(Path(path), what), str(path))


def read_yaml_text(path: Path, what: str) -> str:
    """The text of a `what` file ("config", "sweep"), read no further than MAX_CONFIG_BYTES + 1 bytes (so an
    endless stream such as /dev/zero or a pipe is refused instead of read forever)."""
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a {what} file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what} file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise InputError(f"{path}: more than {show_bytes(MAX_CONFIG_BYTES)} of YAML, the limit for a {what} "
                         f"file; nothing was read further")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: cannot read {what} (not UTF-8 text: byte {exc.start} is "
                         f"0x{data[exc.start]:02x})") from None


@contextlib.contextmanager
def errors_name(source: str | Path | ResolvedConfig, overrides: dict[str, str] | None = None) -> Iterator[None]:
    """The one place that attaches where a config value came from to errors: a ConfigError raised inside
    the block leaves naming the --set item that gave the value (`overrides`: key path -> item), else
    `source`, the file (a path, or a ResolvedConfig whose `source` and `overrides` are used), unless it
    already names one."""
    if isinstance(source, ResolvedConfig):
        name, overrides = source.source, source.overrides
    else:
        name = str(source)
    try:
        yield
    except ConfigError as exc:
        item = blamed_item(exc.path, overrides or {}) if exc.source is None else None
        if item is not None:
            raise InputError(f"--set {shorten(item)!r}: {exc.path}: {exc.message}") from None
        raise (exc.with_source(name) if name else exc) from None

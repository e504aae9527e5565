"""A named table of one kind of component ("layer", "loss", "dataset", ...): name -> class (or rule), read-only
like a dict, with a lookup that explains a typo. The tables themselves live with what they name
(nnctl.nn.registry for the network's parts, nnctl.data.catalog for datasets)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from nnctl.errors import ConfigError
from nnctl.options.spec import did_you_mean, show


class Registry(Mapping):
    """A named table of one kind of component ("layer", "loss", ...)."""

    def __init__(self, kind: str, table: dict[str, Any], hints: dict[str, str] | None = None):
        self.kind = kind
        self.table = table
        self.hints = hints or {}

    def lookup(self, name: object, path: str) -> Any:
        """The entry registered as `name`, or a ConfigError at `path` with a hint (a name that belongs
        elsewhere) or a did-you-mean, else the list of names."""
        if not isinstance(name, str):
            raise ConfigError(path, f"expected a {self.kind} name, got {show(name)}")
        if name not in self.table:
            hint = self.hints.get(name) or did_you_mean(name, self.table) or \
                f"; known {self.kind}{'es' if self.kind.endswith('s') else 's'}: {', '.join(self.table)}"
            raise ConfigError(path, f"unknown {self.kind} {name!r}{hint}")
        return self.table[name]

    def names(self) -> list[str]:
        return list(self.table)

    def __getitem__(self, name: str) -> Any:
        return self.table[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

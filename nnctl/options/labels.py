"""Legend labels that tell runs apart by their configs: `lr=0.1, clip_norm=1, type=sgd`.

Every key in which the configs differ is shown (named as in nnctl.options.key_columns) while the longest
label stays within MAX_CHARS; beyond that, the most distinguishing keys are chosen (the keys listed in
`first`, such as a sweep's swept keys, then those with the most distinct values) until every label is
different, then more while they fit, and the label ends with `+N more`. Runs of differently named configs
are labelled by their config names first (`course-bn_on, layers=[13 items], ...`). Two runs never share a
label: runs whose shown values agree (identical configs) get their folder names added.
"""

from __future__ import annotations

from collections.abc import Sequence

from nnctl.options.compare import show_value
from nnctl.options.key_columns import MISSING, KeyColumn, find_column, key_columns

MAX_CHARS = 60


def _text(config: dict, columns: Sequence[KeyColumn]) -> str:
    """`name, key=value, ...`: the config name (when it is a column) bare, other keys with their names."""
    return ", ".join(show_value(v) if c.name == "name" else f"{c.name}={show_value(v)}"
                     for c in columns if (v := c.value(config)) is not MISSING)


def _unique(labels: list[str]) -> bool:
    return len(set(labels)) == len(labels)


def choose(configs: list[dict], columns: list[KeyColumn], first: Sequence[str], max_chars: int) -> list[KeyColumn]:
    """The columns to show: all if they fit, else the most distinguishing ones (see the module's docstring)."""
    if max(len(_text(c, columns)) for c in configs) <= max_chars:
        return columns
    wanted = [col for key in first if (col := find_column(columns, key)) is not None]

    def spread(column: KeyColumn) -> int:
        return len({repr(column.value(c)) for c in configs})

    ranked = list(dict.fromkeys(wanted + sorted(columns, key=spread, reverse=True)))
    chosen: list[KeyColumn] = []
    for column in ranked:
        shown = [c for c in columns if c in chosen + [column]]
        labels = [_text(c, shown) for c in configs]
        must = column in wanted or not _unique([_text(c, [x for x in columns if x in chosen]) for c in configs])
        if must or max(len(label) for label in labels) <= max_chars:
            chosen.append(column)
    return [c for c in columns if c in chosen]


def distinct_labels(configs: list[dict], names: list[str], keys: Sequence[str] = (), first: Sequence[str] = (),
                    max_chars: int = MAX_CHARS) -> list[str]:
    """One label per run: the values of `keys` when given, else of the keys in which `configs` differ (the
    config names when nothing else differs; `names` (e.g. run folder paths) when not even they do);
    `names` are appended wherever two labels would be equal."""
    if keys:
        columns = [KeyColumn(key, (key,)) for key in keys]
    else:
        columns = key_columns(configs)
        if len({repr(config.get("name")) for config in configs}) > 1:
            columns, first = [KeyColumn("name", ("name",))] + columns, ["name", *first]
    labels = [""] * len(configs)
    if columns:
        shown = choose(configs, columns, first, max_chars)
        hidden = len(columns) - len(shown)
        labels = [_text(c, shown) + (f", +{hidden} more" if hidden else "") for c in configs]
    if not any(labels):
        return list(names)
    return [f"{label} ({name})" if labels.count(label) > 1 else label for label, name in zip(labels, names)]

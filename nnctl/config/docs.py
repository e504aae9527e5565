"""The config reference, generated from the option tables themselves so it can never drift from the code.

    python -m nnctl.config.docs                  # print it
    python -m nnctl.config.docs docs/config.md   # write the reference file

docs/config.md holds this text; a test checks that the two agree. `nnctl docs [TOPIC]` prints it.
"""

from __future__ import annotations

import inspect

from nnctl.atomic import write_text_atomic
from nnctl.config.loggers import LOGGER_DOCS, LOGGER_TYPES
from nnctl.config.sections import (
    EARLY_STOPPING_OPTIONS,
    INIT_OPTIONS,
    REGULARIZATION_OPTIONS,
    TOP_OPTIONS,
    TRAIN_OPTIONS,
)
from nnctl.data import DATA_OPTIONS, DATASETS
from nnctl.data.augment import AUGMENT_OPTIONS
from nnctl.nn.model_config import NODE_OPTIONS
from nnctl.nn.objective import TERM_OPTIONS
from nnctl.nn.registry import LAYERS, LOSSES, OPTIMIZERS, SCHEDULES
from nnctl.options.compare import show_value
from nnctl.options.spec import Option
from nnctl.options.yamlio import plain


def _default(option: Option) -> str:
    if option.required:
        return "**required**"
    return show_value(plain(option.default), width=1 << 20)


def option_table(options: dict[str, Option]) -> list[str]:
    if not options:
        return ["(no options)"]
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, option in options.items():
        doc = with_choices(option).replace("|", "\\|")
        lines.append(f"| `{key}` | {_default(option)} | {doc} |")
    return lines


def with_choices(option: Option) -> str:
    """The option's meaning, followed by its choices when it has a fixed set and the meaning does not
    already name every one of them."""
    choices = [show_value(c) for c in getattr(option.check, "choices", ())]
    if not choices or all(f"{c}" in option.doc for c in choices):
        return option.doc
    return f"{option.doc}; one of {', '.join(choices)}"


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def catalogue(title: str, table: dict[str, type], extra_keys: str = "") -> list[str]:
    lines = [f"### {title}", ""]
    if extra_keys:
        lines += [extra_keys, ""]
    for name, cls in table.items():
        lines += [f"#### `{name}`", "", _summary(cls), ""]
        lines += option_table(cls.options) + [""]
    return lines


def reference_sections() -> dict[str, list[str]]:
    """The reference as named sections (top, data, model, loss, regularization, optimizer, schedule, train,
    init, loggers), each a list of markdown lines starting with its `###` heading."""
    data = ["### `data`", "", "Keys every dataset accepts:", ""] + option_table(DATA_OPTIONS) + [""]
    for name, cls in DATASETS.items():
        data += [f"#### `dataset: {name}`", "", _summary(cls), ""] + option_table(cls.options) + [""]
    train = ["### `train`", ""] + option_table(TRAIN_OPTIONS) + [""]
    train += ["#### `train.early_stopping`", "", "`null` (off), `true` (defaults) or a mapping:", ""]
    train += option_table(EARLY_STOPPING_OPTIONS) + [""]
    train += ["#### `train.augment`", "", "`null` (off) or a mapping; image-shaped data only (`data.flatten: false`):",
              ""] + option_table(AUGMENT_OPTIONS) + [""]
    return {
        "top": ["### Top level", ""] + option_table(TOP_OPTIONS) + [""],
        "data": data,
        "model": catalogue("`model.layers`: layer types", LAYERS.table,
                           "Every node also accepts `name`, `input` (one earlier node, or `input`), `inputs` (a list, "
                           "for layers that combine several) and these:\n\n"
                           + "\n".join(option_table(NODE_OPTIONS))),
        "loss": catalogue("`loss`: loss types", LOSSES.table,
                          "A mapping, or a list of mappings for several weighted terms (default: "
                          "`{type: softmax_cross_entropy}`). Every term also accepts:\n\n"
                          + "\n".join(option_table(TERM_OPTIONS))),
        "regularization": ["### `regularization`", ""] + option_table(REGULARIZATION_OPTIONS) + [""],
        "optimizer": catalogue("`optimizer`", OPTIMIZERS, "`type` is one of the names below (default `adam`). The "
                               "schedule scales `lr`; weight decay applies to weights, not biases."),
        "schedule": catalogue("`schedule`", SCHEDULES, "`type` is one of the names below (default `constant`). t "
                              "counts epochs from 0 and advances within an epoch step by step."),
        "train": train,
        "init": ["### `init`", "", "`null` (weights drawn by each layer's initializer) or a mapping: start a new run "
                 "from another run's weights (see docs/finetune.md):", ""] + option_table(INIT_OPTIONS) + [""],
        "loggers": logger_section(),
    }


def logger_section() -> list[str]:
    """The `loggers` section: a list of `{type: ...}` entries, one table per type (see docs/loggers.md)."""
    lines = ["### `loggers`", "", "A list (default empty) of places that also receive the run's numbers, each "
             "`{type: NAME, ...}`, each type at most once; a logger that fails prints one warning line and the "
             "run goes on (see docs/loggers.md).", ""]
    for name, options in LOGGER_TYPES.items():
        lines += [f"#### `logger: {name}`", "", LOGGER_DOCS[name], ""] + option_table(options) + [""]
    return lines


def reference_markdown() -> str:
    """The whole config reference, every section in order."""
    lines = [line for section in reference_sections().values() for line in section]
    return "\n".join(lines).rstrip() + "\n"


def _entries(lines: list[str]) -> dict[str, list[str]]:
    """The `####` entries of one section by name (`dense`, `adam`, `mnist`, `early_stopping`, ...)."""
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        if line.startswith("#### "):
            name = line[5:].strip("`").split(": ")[-1].split(".")[-1]
            current = entries.setdefault(name, [])
        if current is not None:
            current.append(line)
    return entries


def reference_topic(topic: str) -> str:
    """One section (`optimizer`) or one entry (`conv2d`, `adam`, `fashion-mnist`) of the reference as text.
    Raises KeyError with the accepted names when the topic is unknown."""
    sections = reference_sections()
    if topic in sections:
        return "\n".join(sections[topic]).rstrip() + "\n"
    for lines in sections.values():
        entry = _entries(lines).get(topic)
        if entry is not None:
            return "\n".join(entry).rstrip() + "\n"
    raise KeyError(topic)


def topic_names() -> tuple[list[str], list[str]]:
    """(section names, entry names) that `reference_topic` accepts."""
    sections = reference_sections()
    return list(sections), [name for lines in sections.values() for name in _entries(lines)]


HEADER = """# Config reference

Every key a config file accepts, with its default and meaning. Generated from the option tables in the code
(`python -m nnctl.config.docs docs/config.md`; a test checks the two agree). On the command line,
`nnctl docs` prints it, `nnctl docs optimizer` one section, `nnctl docs conv2d` one entry.

"""


def write_reference(path: str) -> None:
    """Write the whole reference file (header and every section) to `path`."""
    write_text_atomic(path, HEADER + reference_markdown())


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        write_reference(sys.argv[1])
    else:
        print(reference_markdown(), end="")

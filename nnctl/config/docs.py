"""The config reference, generated from the option tables themselves so it can never drift from the code.

    python -m nnctl.config.docs                  # print it
    python -m nnctl.config.docs README.md        # replace the section between the markers in README.md

README.md embeds this text between `<!-- reference:start -->` and `<!-- reference:end -->`; a test checks
that the two agree.
"""

from __future__ import annotations

import inspect

from nnctl.config.spec import Option
from nnctl.config.compare import show_value
from nnctl.config.yamlio import plain


def _default(option: Option) -> str:
    if option.required:
        return "**required**"
    return show_value(plain(option.default), width=1 << 20)


def option_table(options: dict[str, Option]) -> list[str]:
    if not options:
        return ["(no options)"]
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for key, option in options.items():
        doc = option.doc.replace("|", "\\|")
        lines.append(f"| `{key}` | {_default(option)} | {doc} |")
    return lines


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


def reference_markdown() -> str:
    from nnctl.config.sections import (EARLY_STOPPING_OPTIONS, INIT_OPTIONS, REGULARIZATION_OPTIONS, TOP_OPTIONS,
                                       TRAIN_OPTIONS)
    from nnctl.data import DATA_OPTIONS, DATASETS
    from nnctl.data.augment import AUGMENT_OPTIONS
    from nnctl.nn.model_config import NODE_OPTIONS
    from nnctl.nn.objective import TERM_OPTIONS
    from nnctl.nn.registry import OPTIMIZERS
    from nnctl.nn.registry import LAYERS, LOSSES
    from nnctl.nn.registry import SCHEDULES

    lines = ["### Top level", ""] + option_table(TOP_OPTIONS) + [""]
    lines += ["### `data`", "", "Keys every dataset accepts:", ""] + option_table(DATA_OPTIONS) + [""]
    for name, cls in DATASETS.items():
        lines += [f"#### `dataset: {name}`", "", _summary(cls), ""] + option_table(cls.options) + [""]
    lines += catalogue("`model.layers`: layer types", LAYERS.table,
                       "Every node also accepts `name`, `input` (one earlier node, or `input`), `inputs` (a list, "
                       "for layers that combine several) and these:\n\n"
                       + "\n".join(option_table(NODE_OPTIONS)))
    lines += catalogue("`loss`: loss types", LOSSES.table,
                       "A mapping, or a list of mappings for several weighted terms (default: `{type: softmax_cross_entropy}`). "
                       "Every term also accepts:\n\n"
                       + "\n".join(option_table(TERM_OPTIONS)))
    lines += ["### `regularization`", ""] + option_table(REGULARIZATION_OPTIONS) + [""]
    lines += catalogue("`optimizer`", OPTIMIZERS, "`type` is one of the names below (default `adam`). The schedule "
                                                  "scales `lr`; weight decay applies to weights, not biases.")
    lines += catalogue("`schedule`", SCHEDULES, "`type` is one of the names below (default `constant`). t counts "
                                                "epochs from 0 and advances within an epoch step by step.")
    lines += ["### `train`", ""] + option_table(TRAIN_OPTIONS) + [""]
    lines += ["#### `train.early_stopping`", "", "`null` (off), `true` (defaults) or a mapping:", ""]
    lines += option_table(EARLY_STOPPING_OPTIONS) + [""]
    lines += ["#### `train.augment`", "", "`null` (off) or a mapping; image-shaped data only (`data.flatten: false`):",
              ""] + option_table(AUGMENT_OPTIONS) + [""]
    lines += ["### `init`", "", "`null` (weights drawn by each layer's initializer) or a mapping: start a new run from "
              "another run's weights (see docs/finetune.md):", ""] + option_table(INIT_OPTIONS)
    return "\n".join(lines).rstrip() + "\n"


START, END = "<!-- reference:start -->\n", "<!-- reference:end -->"


def update_readme(path: str) -> None:
    """Replace the text between the reference markers of the file at `path` with the generated reference."""
    from pathlib import Path

    text = Path(path).read_text(encoding="utf-8")
    begin, end = text.index(START) + len(START), text.index(END)
    Path(path).write_text(text[:begin] + reference_markdown() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        update_readme(sys.argv[1])
    else:
        print(reference_markdown(), end="")

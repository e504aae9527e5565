"""The sweep file reference in docs/sweeps.md, generated from the option tables (as the config reference is).

    python -m nnctl.sweep.docs                   # print it
    python -m nnctl.sweep.docs docs/sweeps.md    # replace the text between the markers in docs/sweeps.md
"""

from __future__ import annotations

from nnctl.config.docs import option_table
from nnctl.sweep.spec import PRUNERS, SAMPLERS, SWEEP_OPTIONS

START, END = "<!-- sweep-reference:start -->\n", "<!-- sweep-reference:end -->"


def sweep_reference() -> str:
    lines = ["#### Keys of a sweep file", ""] + option_table(SWEEP_OPTIONS) + [""]
    for title, table in (("sampler", SAMPLERS), ("pruner", PRUNERS)):
        for name, options in table.items():
            lines += [f"#### `{title}: {name}`", ""] + option_table(options) + [""]
    return "\n".join(lines).rstrip() + "\n"


def update(path: str) -> None:
    from pathlib import Path

    text = Path(path).read_text(encoding="utf-8")
    begin, end = text.index(START) + len(START), text.index(END)
    Path(path).write_text(text[:begin] + sweep_reference() + text[end:], encoding="utf-8")


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        update(sys.argv[1])
    else:
        print(sweep_reference(), end="")

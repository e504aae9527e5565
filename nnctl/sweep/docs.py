"""The sweep file reference in docs/sweeps.md, generated from the option tables (as the config reference is).

    python -m nnctl.sweep.docs                   # print it
    python -m nnctl.sweep.docs docs/sweeps.md    # replace the text between the markers in docs/sweeps.md
"""

from __future__ import annotations

from pathlib import Path

from nnctl.atomic import write_text_atomic
from nnctl.config.docs import option_table
from nnctl.sweep.spec import PRUNERS, SAMPLERS, SWEEP_OPTIONS

START, END = "<!-- sweep-reference:start -->\n", "<!-- sweep-reference:end -->"


def sweep_reference() -> str:
    lines = ["#### Keys of a sweep file", ""] + option_table(SWEEP_OPTIONS) + [""]
    for title, table in (("sampler", SAMPLERS), ("pruner", PRUNERS)):
        for name, options in table.items():
            lines += [f"#### `{title}: {name}`", ""] + option_table(options) + [""]
    return "\n".join(lines).rstrip() + "\n"


def replace_between(path: str, start: str, end: str, text: str) -> None:
    """Put `text` between the markers `start` and `end` of the file at `path`, in place of what was there."""
    old = Path(path).read_text(encoding="utf-8")
    begin, stop = old.index(start) + len(start), old.index(end)
    write_text_atomic(path, old[:begin] + text + old[stop:])


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        replace_between(sys.argv[1], START, END, sweep_reference())
    else:
        print(sweep_reference(), end="")

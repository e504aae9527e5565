"""Figures quoted in the sentences and tables of README.md and docs/, each tied to the output that printed it.

docs_excerpts.py checks quoted blocks of output. The figures inside prose and table rows ("91.05% test
accuracy, 55 epochs") come from the same kept outputs (docs/excerpts/NAME.txt, rewritten by
`python tools/docs_excerpts.py --regenerate NAME`): each Figure here names its doc, its kept excerpt and
the doc's words with `{field}` where a figure goes, and says where in the output each field is printed.
tests/test_docs_figures.py fills every Figure from its kept output and finds the text in the doc
(line breaks and runs of spaces count as one space), so a figure changed by hand, or a regenerated output
that prints another figure, fails until the doc says what the output says.

The figures are listed in tools/docs_figures_*.py, one module per doc family, gathered by
tools/docs_figure_list.py; this module holds the machinery and the patterns of what nnctl prints.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
Field = Callable[["Output"], str]


class Output:
    """A kept excerpt's output: the commands' outputs one after the other, each after its `$ command` line."""

    def __init__(self, text: str):
        self.text = text
        self.sections: list[tuple[str, str]] = []
        for chunk in re.split(r"^\$ ", text, flags=re.M)[1:]:
            command, _, printed = chunk.partition("\n")
            self.sections.append((command, printed))

    def of(self, command_part: str | None) -> str:
        """What the command `command_part` printed, or else the one command whose line contains it (None: the
        whole output)."""
        if command_part is None:
            return self.text
        found = ([printed for command, printed in self.sections if command == command_part]
                 or [printed for command, printed in self.sections if command_part in command])
        if len(found) != 1:
            raise LookupError(f"{len(found)} commands contain {command_part!r}")
        return found[0]

    def number(self, pattern: str, command: str | None = None, line: str | None = None) -> float:
        """The figure of the first match of `pattern` (its group 1) in a command's output, or in its first
        line that contains `line`."""
        text = self.of(command)
        if line is not None:
            text = next((row for row in text.splitlines() if line in row), "")
        match = re.search(pattern, text, re.M)
        if match is None:
            raise LookupError(f"{pattern!r} is not in the output of {command or 'the commands'}"
                              + (f" on a line with {line!r}" if line else ""))
        return float(match.group(1).replace(",", ""))

    def csv_rows(self, command: str) -> list[dict[str, str]]:
        """The CSV a command printed (from its first line that looks like a header up to the first non-CSV
        line)."""
        lines = self.of(command).splitlines()
        start = next(i for i, row in enumerate(lines) if row.startswith(("epoch,", "trial,", "step,")))
        end = next((i for i in range(start + 1, len(lines)) if lines[i].count(",") != lines[start].count(",")),
                   len(lines))
        return list(csv.DictReader(io.StringIO("\n".join(lines[start:end]))))

    def csv_cell(self, command: str, column: str, **where: object) -> str:
        """The cell of `column` in the one row of the command's CSV whose cells equal `where`'s."""
        rows = [row for row in self.csv_rows(command) if all(row[k] == str(v) for k, v in where.items())]
        if len(rows) != 1:
            raise LookupError(f"{len(rows)} rows of {command!r} have {where}")
        return rows[0][column]

    def csv_value(self, command: str, column: str, **where: object) -> float:
        return float(self.csv_cell(command, column, **where))


def printed(pattern: str, fmt: str = "", command: str | None = None, line: str | None = None,
            scale: float = 1.0) -> Field:
    """A field that is a figure the output prints (times `scale`, formatted with `fmt`)."""
    return lambda out: format(out.number(pattern, command, line) * scale, fmt)


def column(command: str, name: str, fmt: str = ".2f", scale: float = 100.0, **where: object) -> Field:
    """A field that is one cell of a CSV the output prints (a fraction, shown as a percentage by default)."""
    return lambda out: format(out.csv_value(command, name, **where) * scale, fmt)


@dataclass(frozen=True)
class Figure:
    doc: str                        # "README.md" or "docs/NAME.md"
    excerpt: str                    # a kept excerpt of tools/docs_excerpts.py
    text: str                       # the doc's words, with {field} where a figure goes
    fields: dict[str, Field] = field(default_factory=dict)

    def render(self, output: Output) -> str:
        return self.text.format(**{name: get(output) for name, get in self.fields.items()})


def plain(text: str) -> str:
    """Text with every run of white space (line breaks included) as one space."""
    return " ".join(text.split())


def missing(figure: Figure, output: Output) -> str | None:
    """None when the doc holds the figure's text filled from `output`; else what it should hold."""
    expected = figure.render(output)
    doc = (ROOT / figure.doc).read_text(encoding="utf-8")
    return None if plain(expected) in plain(doc) else expected


# What nnctl prints, as the figure lists look for it
TEST_ACC = r"test accuracy ([0-9.]+)%"
VAL_ACC = r"val accuracy ([0-9.]+)%"
EPOCHS = r"after ([0-9]+) epochs"
BEST = r"best epoch ([0-9]+) by"
MINUTES = r"\(total ([0-9.]+) s\)"
LOSS = r"loss ([0-9.]+)"


def split_accuracy(split: str) -> str:
    """A split's accuracy (%) in report.md's table: `| SPLIT | loss | acc% | macro F1 | weighted F1 |`."""
    return rf"^[|] {split} [|] [0-9.]+ [|] ([0-9.]+)%"


TEST_MACRO_F1 = r"^[|] test [|] [0-9.]+ [|] [0-9.]+% [|] ([0-9.]+)"


def class_recall(class_name: str) -> str:
    """A class's recall in report.md's per-class table: `| CLASS | precision | recall | F1 | support |`."""
    return rf"^[|] {class_name} [|] [0-9.]+ [|] ([0-9.]+)"


def pick(fields: dict, *names: str) -> dict:
    """The named fields only (a Figure's text must use every field it has)."""
    return {name: fields[name] for name in names}


def sci(value: float) -> str:
    """1.8e-4, as the docs write small figures."""
    return f"{value:.1e}".replace("e-0", "e-")

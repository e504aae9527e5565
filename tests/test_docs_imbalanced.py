"""docs/imbalanced.md: its config resolves, its commands use options the commands have, README points at
it, and the three trainings' kept output bears out its claims."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

from nnctl.cli import cli
from nnctl.config.load import load_config

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "imbalanced.md").read_text(encoding="utf-8")
COMMANDS = [line.strip().split("#")[0].strip() for line in DOC.splitlines() if line.startswith("    nnctl ")]


def test_the_config_resolves_and_the_commands_have_their_options():
    config = load_config(ROOT / "configs" / "fashion_imbalanced.yaml")
    assert config.data["per_class"]["T-shirt/top"] == 5000 and config.train["monitor"] == "val_macro_f1"
    assert len(COMMANDS) == 4
    for line in COMMANDS:
        words = shlex.split(line)
        known = {opt for param in cli.commands[words[1]].params for opt in param.opts}
        assert {word for word in words[2:] if word.startswith("--")} <= known, line


def test_the_readme_points_at_the_doc_and_quotes_its_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/imbalanced.md)" in readme.split("## Read more", 1)[1].split("## ", 1)[0]
    row = next(line for line in readme.splitlines() if line.startswith("| Fashion-MNIST, T-shirt/top 5,000"))
    assert [float(f) for f in re.findall(r"0\.[0-9]{4}", row)] == [macro for macro, *_ in table().values()]


def table() -> dict[str, list[float]]:
    """The doc's table: first cell -> [macro F1, accuracy, Shirt recall, T-shirt/top recall]."""
    rows = {}
    for line in DOC.splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 5 and re.fullmatch(r"[0-9.]+", cells[1]):
            rows[cells[0]] = [float(cells[1]), float(cells[2].rstrip("%")) / 100, float(cells[3]), float(cells[4])]
    return rows


def test_the_kept_trainings_bear_out_what_the_doc_says_of_them():
    """The three trainings' output is kept in docs/excerpts/imbalanced.txt (tests/test_docs_figures.py checks
    the table's figures against it, and tests/test_docs_excerpts.py that it is current); here the claims:
    both corrections raise the macro F1 and the Shirt recall, and lower the T-shirt/top recall."""
    sys.path.insert(0, str(ROOT / "tools"))
    from docs_excerpts import read_register
    from docs_figures import TEST_MACRO_F1, Output, class_recall
    from docs_figures_guides import IMBALANCED_RUNS

    output = Output(read_register("imbalanced")[1])
    measured = [[output.number(pattern, command) for pattern in
                 (TEST_MACRO_F1, class_recall("Shirt"), class_recall("T-shirt/top"))]
                for command in IMBALANCED_RUNS.values()]
    plain, weighted, sampled = measured
    for corrected in (weighted, sampled):
        assert corrected[0] > plain[0] and corrected[1] > plain[1] and corrected[2] < plain[2]
    assert [macro for macro, *_ in table().values()] == [f1 for f1, *_ in measured]

"""Docs can't go stale, prose and tables: every figure listed in tools/docs_figure_list.py is what its kept
output (docs/excerpts/NAME.txt) prints, and that output is current (tests/test_docs_excerpts.py checks its
inputs' hashes and its quoted blocks)."""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import docs_excerpts as excerpts  # noqa: E402
import docs_figures as figures  # noqa: E402
from docs_figure_list import FIGURES  # noqa: E402


def kept(name: str) -> figures.Output:
    return figures.Output(excerpts.read_register(name)[1])


@pytest.mark.parametrize("figure", FIGURES, ids=[f"{f.doc}:{f.excerpt}:{f.text[:40]}" for f in FIGURES])
def test_the_doc_states_what_the_kept_output_prints(figure):
    assert figures.missing(figure, kept(figure.excerpt)) is None, \
        f"{figure.doc} should say: {figures.missing(figure, kept(figure.excerpt))}"


def test_every_figure_comes_from_a_kept_excerpt_and_every_doc_exists():
    for figure in FIGURES:
        assert excerpts.EXCERPTS[figure.excerpt].long, figure.excerpt
        assert (ROOT / figure.doc).is_file(), figure.doc
        assert figure.fields, f"{figure.text!r} has no figure to check"
        named = {name for _, name, _, _ in string.Formatter().parse(figure.text) if name}
        assert named == set(figure.fields), f"{figure.text!r}: a field unused is a check that cannot fail"


def test_a_changed_figure_in_the_output_or_in_the_doc_is_caught(tmp_path, monkeypatch):
    figure = next(f for f in FIGURES if f.doc == "README.md" and f.excerpt == "fashion-cnn")
    output = kept("fashion-cnn")
    assert figures.missing(figure, output) is None
    accuracy = f"{output.number(r'test accuracy ([0-9.]+)%'):.2f}%"
    changed = figures.Output(output.text.replace(f"test accuracy {accuracy}",
                                                 f"test accuracy {float(accuracy[:-1]) + 0.01:.2f}%"))
    assert figures.missing(figure, changed) is not None
    doc = tmp_path / "README.md"
    doc.write_text((ROOT / "README.md").read_text(encoding="utf-8").replace(accuracy, "94.99%", 1))
    monkeypatch.setattr(figures, "ROOT", tmp_path)
    assert figures.missing(figure, output) is not None


def test_the_output_helpers():
    output = figures.Output("$ one\nloss 0.5\nepoch,val_acc\n1,0.25\n2,0.5\ndone\n$ two\nloss 0.75\n")
    assert output.number(r"loss ([0-9.]+)") == 0.5
    assert output.number(r"loss ([0-9.]+)", command="two") == 0.75
    assert output.csv_value("one", "val_acc", epoch=2) == 0.5
    assert figures.printed(r"loss ([0-9.]+)", ".1f", command="two", scale=10)(output) == "7.5"
    assert figures.column("one", "val_acc", epoch=1)(output) == "25.00"
    with pytest.raises(LookupError):
        output.number(r"accuracy ([0-9.]+)")
    assert figures.plain("a\n  b c") == "a b c"

"""Docs can't go stale: every output quoted in README.md and docs/ is produced by a command named in
tools/docs_excerpts.py, and still matches what that command prints (see that module for the rules)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests" / "golden"))

import docs_excerpts as docs  # noqa: E402
from docs_figure_list import FIGURES  # noqa: E402
from machine import fingerprint  # noqa: E402

QUICK = sorted(name for name, excerpt in docs.EXCERPTS.items() if not excerpt.long)
KEPT = sorted(name for name, excerpt in docs.EXCERPTS.items() if excerpt.long)
CHECKED_ELSEWHERE = {   # quoted outputs that the test of their feature produces and compares with the docs
    "runs-schedule-note": "tests/test_resume_advice.py runs the resume and finds the line in docs/runs.md",
    "runs-table": "tests/test_runs_list.py runs docs/runs.md's commands and compares the table cell for cell",
    "loggers-missing-package": "tests/test_loggers.py hides the package and finds the line in docs/loggers.md",
    "loggers-failed-warning": "tests/test_loggers_mlflow.py kills the server mid-run and matches docs/loggers.md",
    "repeats-summary-header": "tests/test_docs_repeats.py trains a seeds group and matches the summary's header",
    "repeats-interrupted": "tests/test_repeats_cli.py signals a real group and matches the line",
    "repeats-errors": "tests/test_docs_repeats.py gives each quoted option and compares the line",
    "repeats-folds-error": "tests/test_docs_repeats.py gives --folds 200 and compares the line",
    "lr-find-lines": "tests/test_docs_repeats.py runs nnctl lr-find and matches each line (figures free)",
}


def test_every_output_block_in_the_docs_is_marked_and_every_excerpt_is_known():
    unmarked = [(path.name, text.splitlines()[0]) for path in docs.DOCS for kind, _, text in docs.quoted_blocks(path)
                if not kind and path.name != "config.md"]
    assert unmarked == []
    quoted = docs.excerpts_in_docs()
    figure_sources = {figure.excerpt for figure in FIGURES}       # tests/test_docs_figures.py checks those
    assert set(quoted) <= {*docs.EXCERPTS, *CHECKED_ELSEWHERE}
    assert set(docs.EXCERPTS) == {*(set(quoted) & set(docs.EXCERPTS)), *figure_sources}
    assert sorted(figure_sources) == ["autoencoder", "bench-mlp", "course", "denoising", "fashion-cnn", "fashion-mlp",
                                      "finetune", "gradcheck-all", "health-init_lr_high", "imbalanced", "multi-loss", "pruner",
                                      "tpe-random"]
    assert sorted(quoted) == ["finetune-errors", "gradcheck-all", "health-init_good", "health-init_large",
                              "health-init_lr_high", "health-init_small", "loggers-failed-warning",
                              "loggers-missing-package", "lr-find-lines", "readme-errors", "repeats-errors",
                              "repeats-folds-error", "repeats-interrupted", "repeats-summary-header",
                              "runs-schedule-note", "runs-table", "sweeps-errors"]


@pytest.mark.parametrize("name", [n for n in QUICK if not docs.EXCERPTS[n].data])
def test_a_quick_excerpt_matches_a_fresh_run_exactly(name):
    output = docs.run(docs.EXCERPTS[name])
    for path, quote in docs.excerpts_in_docs()[name]:
        assert docs.mismatches(quote, output) == [], path


@pytest.mark.data
@pytest.mark.parametrize("name", [n for n in QUICK if docs.EXCERPTS[n].data])
def test_a_quick_excerpt_on_fashion_mnist_matches_a_fresh_run_exactly(name):
    from conftest import require_fashion

    require_fashion()
    output = docs.run(docs.EXCERPTS[name])
    for path, quote in docs.excerpts_in_docs()[name]:
        assert docs.mismatches(quote, output) == [], path


@pytest.mark.parametrize("name", KEPT)
def test_a_kept_excerpt_matches_its_file_and_the_file_is_current(name):
    header, output = docs.read_register(name)
    assert header[0] == f"# written by: python tools/docs_excerpts.py --regenerate {name}"
    assert header[2:] == docs.input_hashes(docs.EXCERPTS[name]), \
        f"a config changed since docs/excerpts/{name}.txt was written: python tools/docs_excerpts.py --regenerate {name}"
    for path, quote in docs.excerpts_in_docs().get(name, []):         # or its figures: tests/test_docs_figures.py
        assert docs.mismatches(quote, output) == [], path


@pytest.mark.data
def test_the_kept_gradcheck_output_is_what_gradcheck_prints_now():
    """Exactly on the machine that wrote it (float64, but BLAS sums round per processor); elsewhere every word,
    name, shape layout and verdict, with the figures free."""
    from conftest import require_fashion

    require_fashion()
    header, kept = docs.read_register("gradcheck-all")
    same_machine = header[1] == f"# machine: {fingerprint()}"
    assert docs.mismatches(kept, docs.run(docs.EXCERPTS["gradcheck-all"]), numbers=same_machine) == []


def test_the_readme_gradcheck_row_states_the_kept_result():
    _, kept = docs.read_register("gradcheck-all")
    result = re.search(r"result: (\d+) pass, 0 warn, 0 fail; largest relative error (\S+),", kept)
    readme = (ROOT / "README.md").read_text()
    row = f"| {result.group(1)} pass, 0 fail; largest relative error {float(result.group(2)):.1e} |".replace("e-0", "e-")
    assert row in readme


def test_a_changed_figure_a_changed_word_and_an_unmarked_cut_are_caught():
    _, kept = docs.read_register("health-init_large")
    quote = docs.excerpts_in_docs()["health-init_large"][0][1]
    assert docs.mismatches(quote, kept) == []
    figure = re.search(r"\d+\.\d\d%", quote).group(0)
    changed = quote.replace(figure, f"{float(figure[:-1]) + 0.01:.2f}%", 1)
    assert docs.mismatches(changed, kept) != []
    assert docs.mismatches(changed, kept, numbers=False) == []          # only the figure differs
    assert docs.mismatches(quote.replace("saturated", "saturate", 1), kept, numbers=False) != []
    lines = [line for line in quote.splitlines() if line.strip() != docs.CUT]
    cut_silently = "\n".join(lines[:1] + lines[2:])
    assert lines[1] in kept and docs.mismatches(cut_silently, kept) != []


def test_the_matching_rules():
    output = "a 1.50\nb\nc run 20261207-020235\nd\n"
    assert docs.mismatches("a 1.50\nb", output) == []
    assert docs.mismatches("a 1.50\n...\nd", output) == []
    assert docs.mismatches("a 1.50\nd", output) != []                 # a cut must be marked
    assert docs.mismatches("c run 20240101-000000", output) == []     # any run folder's timestamp
    assert docs.mismatches("a 1.5", output) != []
    assert docs.mismatches("a 1.5", output, numbers=False) == []
    assert docs.mismatches("b\na 1.50", output) != []                 # order counts

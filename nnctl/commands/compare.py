"""`nnctl compare RUN... [--out FILE.html]`: runs side by side: the config keys in which they differ, their
results, and their curves overlaid.

In the terminal: one column per run, one row per figure and per differing key. With `--out`: one HTML page
(nnctl.viz.compare_page) with a row per run, sortable by clicking a column header, and the curves
(train_loss, val_loss, train_acc, val_acc: those the runs have) as inline pictures whose legends tell every
run apart (nnctl.options.labels). RUN is a run folder, or a folder of runs (runs/NAME: its newest run).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nnctl.atomic import write_text_atomic
from nnctl.commands.plot_runs import epoch_series, run_names, swept_keys
from nnctl.commands.runs_format import extra_test_names, table_rows
from nnctl.commands.runs_list import FIGURES, RunsView
from nnctl.errors import InputError
from nnctl.options.compare import show_value
from nnctl.options.key_columns import MISSING, key_columns
from nnctl.options.labels import distinct_labels
from nnctl.runs.records import read_run
from nnctl.runs.run_dir import newest_run
from nnctl.viz.compare_page import page
from nnctl.viz.curves import metric_label
from nnctl.viz.overlay import Series, overlay_png
from nnctl.viz.tables import align

CURVES = ("train_loss", "val_loss", "train_acc", "val_acc")


def resolve(paths: Sequence[Path]) -> list[Path]:
    """The run folder each RUN stands for; InputError for one that is none, or for fewer than two runs."""
    runs = []
    for path in paths:
        run = newest_run(path)
        if not (Path(run) / "config.yaml").is_file():
            raise InputError(f"{path}: not a run folder (no config.yaml in it or in a run folder inside it)")
        runs.append(Path(run))
    if len(runs) < 2:
        raise InputError("nnctl compare needs at least two runs (nnctl runs lists them)")
    return runs


def compare_view(paths: Sequence[Path]) -> tuple[RunsView, list[str]]:
    """The runs as records with their differing key columns, and a legend label per run."""
    records = [read_run(run) for run in resolve(paths)]
    configs = [r.config for r in records]
    paths = [r.path for r in records]
    labels = distinct_labels(configs, run_names(paths), first=swept_keys(paths, configs))
    return RunsView(records, key_columns(configs, reserved=FIGURES)), labels


def compare_text(view: RunsView) -> str:
    """The terminal table: a column per run, a row per figure and per differing key."""
    rows = table_rows(view)
    transposed = [[name] + [row[i] for row in rows[1:]] for i, name in enumerate(rows[0])]
    return "\n".join(align(transposed, rule=True))


def sort_values(view: RunsView, record, label: str) -> list[object]:
    """The raw value behind each cell of a page row (numbers stay numbers), in table_rows' column order."""
    values = [label, str(record.path), record.name, record.status, record.epochs, record.best_epoch,
              record.best_value, record.test.get("test_loss"), record.test.get("test_acc")]
    values += [record.test.get(name) for name in extra_test_names(view)]
    values.append(record.seconds)
    for column in view.columns:
        value = column.value(record.config)
        values.append(None if value is MISSING else value if isinstance(value, (int, float, str)) and
                      not isinstance(value, bool) else show_value(value))
    return values


def curve_pictures(view: RunsView, labels: list[str]) -> tuple[list[tuple[str, bytes]], list[str]]:
    """(caption, PNG) per metric some run has, and a note per run left out of a picture."""
    pictures, notes = [], []
    for metric in CURVES:
        series, missing = [], []
        for record, label in zip(view.records, labels):
            try:
                x, y = epoch_series(record.path, metric)
                series.append(Series(label, x, y))
            except InputError:
                missing.append(label)
        if series:
            pictures.append((metric, overlay_png(series, metric_label(metric), "epoch", title=metric)))
            if missing:
                notes.append(f"{metric}: not drawn for {'; '.join(missing)} (no such metric or no completed epoch)")
    return pictures, notes


def compare_runs(paths: Sequence[Path], out: Path | None = None) -> str:
    """The terminal table; with `out`, the HTML page is written there (whole or not at all) and the line
    saying so is returned instead."""
    view, labels = compare_view(paths)
    if out is None:
        return compare_text(view)
    rows = table_rows(view)
    header = ["label"] + rows[0]
    cells = [list(zip([label] + row, sort_values(view, record, label)))
             for label, row, record in zip(labels, rows[1:], view.records)]
    pictures, notes = curve_pictures(view, labels)
    text = page(f"nnctl compare: {len(view.records)} runs", header, cells, pictures, notes)
    write_text_atomic(out, text, "comparison page")
    return f"wrote {out} ({len(text.encode('utf-8'))} bytes, {len(view.records)} runs, {len(pictures)} pictures)"

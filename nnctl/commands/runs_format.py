"""`nnctl runs` and `nnctl compare` output: a table for people (rounded figures), CSV and JSON for programs
(every figure unrounded, one object or line per run).

Table columns: run (its folder), config, status, epochs (run/planned), best (the best epoch), monitored
(the monitored metric's name and value at the best epoch), test loss, test acc (and one column per loss
term and head where runs have several), time (the training's seconds), then one column per differing key.
"""

from __future__ import annotations

import csv
import io
import json
import math

from nnctl.commands.runs_list import RunsView, figures
from nnctl.options.compare import show_value
from nnctl.options.key_columns import MISSING
from nnctl.viz.tables import align


def number(value, percent: bool = False) -> str:
    """A figure for the table: 4 decimals, accuracies as percentages, '—' for none."""
    if value is None or isinstance(value, str):
        return "—" if value is None else value
    if not math.isfinite(value):
        return str(value)
    return f"{100 * value:.2f}%" if percent else f"{value:.4f}"


def extra_test_names(view: RunsView) -> list[str]:
    """test_loss.NAME, test_acc.NAME, test_reconstruction_mse of any listed run, in first-found order."""
    names: list[str] = []
    for record in view.records:
        names += [k for k in record.test if k not in ("test_loss", "test_acc") and k not in names]
    return names


def key_values(view: RunsView, record) -> dict:
    """{column name: value} of the differing keys (None where the run's config has no such key)."""
    out = {}
    for column in view.columns:
        value = column.value(record.config)
        out[column.name] = None if value is MISSING else value
    return out


def table_rows(view: RunsView) -> list[list[str]]:
    """The header and one row of cells per run, as `nnctl runs` prints them."""
    extra = extra_test_names(view)
    header = ["run", "config", "status", "epochs", "best", "monitored", "test loss", "test acc"]
    header += [name.replace("test_", "test ").replace("_", " ") for name in extra]
    header += ["time"] + [c.name for c in view.columns]
    rows = [header]
    for record in view.records:
        planned = f"/{record.epochs_planned}" if record.epochs_planned else ""
        monitored = "—" if record.best_value is None or record.monitor is None else \
            f"{record.monitor} {number(record.best_value, record.monitor.partition('.')[0].endswith('acc'))}"
        row = [str(record.path), record.name, record.status + (f" ({record.note})" if record.note else ""),
               f"{record.epochs}{planned}", "—" if record.best_epoch is None else str(record.best_epoch),
               monitored, number(record.test.get("test_loss")), number(record.test.get("test_acc"), True)]
        row += [number(record.test.get(name), ".acc" in name or name.startswith("test_acc")) for name in extra]
        row.append("—" if record.seconds is None else f"{record.seconds:.1f} s")
        row += ["—" if (v := column.value(record.config)) is MISSING else show_value(v)
                for column in view.columns]
        rows.append(row)
    return rows


def as_table(view: RunsView) -> str:
    if not view.records:
        return "no run matches"
    return "\n".join(align(table_rows(view), rule=True))


def as_objects(view: RunsView) -> list[dict]:
    """One object per run: its figures and, under `keys`, the differing keys' values (unrounded)."""
    return [{**figures(record), "keys": key_values(view, record)} for record in view.records]


def as_json(view: RunsView) -> str:
    return json.dumps(as_objects(view), indent=2)


def as_csv(view: RunsView) -> str:
    """A header and one line per run; figures unrounded (repr), key columns prefixed with `key:`."""
    objects = as_objects(view)
    names: list[str] = []
    for obj in objects:
        names += [k for k in obj if k != "keys" and k not in names]
    keys = [c.name for c in view.columns]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(names + [f"key:{k}" for k in keys])
    for obj in objects:
        cells = [cell(obj.get(n)) for n in names] + [cell(obj["keys"][k]) for k in keys]
        writer.writerow(cells)
    return text.getvalue().rstrip("\n")


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, dict, bool)):
        return json.dumps(value)
    return str(value)


FORMATS = {"table": as_table, "csv": as_csv, "json": as_json}

"""health.csv and health_histograms.csv: the records of a run's health, kept consistent under --resume.

health.csv has one row per record and node output or parameter tensor:

    global_step   the optimizer step the record belongs to (1 = the first, measured before its update)
    epoch         epochs done when it was taken (0.25 = a quarter into the first epoch)
    node, layer   the node's name and layer type ("input" for the probe sample itself)
    tensor        "output" for the node's output on the probe sample, else the parameter's name (W, b,
                  gamma, ...)
    weight        1 for the weights of a layer (the tensors L2 penalties apply to: dense and conv W), 0 for
                  other parameters (biases, batch-norm gamma and beta, ...), empty for outputs
    mean, std, dead, saturated, norm, grad_norm, update_ratio    see nnctl.health.measure; empty where
                  they do not apply

health_histograms.csv holds the activation histograms of the first record and of the latest one
(global_step, node, layer, left, right, count: one row per bin).

Both start from what is on disk up to the position a run continues from (rows of later steps are
dropped, there is never a second header), so a resumed run's files equal an uninterrupted run's. Rows are
appended and flushed as they come; a last line cut short by a killed process is ignored when read.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from nnctl.atomic import WriteFailed, describe_os_error, write_text_atomic
from nnctl.errors import InputError

HEALTH_FILE = "health.csv"
HISTOGRAM_FILE = "health_histograms.csv"
COLUMNS = ("global_step", "epoch", "node", "layer", "tensor", "weight", "mean", "std", "dead", "saturated",
           "norm", "grad_norm", "update_ratio")
HISTOGRAM_COLUMNS = ("global_step", "node", "layer", "left", "right", "count")
TEXT_COLUMNS = ("node", "layer", "tensor")
INT_COLUMNS = ("global_step", "weight", "count")

Histograms = dict[str, tuple[str, np.ndarray, np.ndarray]]     # node -> (layer type, edges, counts)


def _cell(value) -> str:
    if value is None:
        return ""
    return repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)


def _csv_text(columns: tuple[str, ...], rows: list[dict], header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _parse(path: Path, columns: tuple[str, ...]) -> list[dict]:
    """Rows of a health CSV: text columns as str, counts and steps as int, other numbers as float (None for
    empty cells), so that writing them again gives the same text; a final line without its newline (cut by
    a killed writer) and rows of the wrong width are left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read it ({exc})") from None
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    reader = csv.reader(io.StringIO(text))
    if next(reader, None) != list(columns):
        raise InputError(f"{path}: not an nnctl {path.name} (unexpected header)")
    rows = []
    for cells in reader:
        if len(cells) != len(columns):
            continue
        try:
            rows.append({c: (v if c in TEXT_COLUMNS else None if v == "" else int(v) if c in INT_COLUMNS
                             else float(v)) for c, v in zip(columns, cells)})
        except ValueError:
            continue
    return rows


def read_health(run_dir: Path) -> list[dict]:
    """The rows of RUN/health.csv (see the module docstring)."""
    return _parse(Path(run_dir) / HEALTH_FILE, COLUMNS)


def read_histograms(run_dir: Path) -> tuple[Histograms, Histograms]:
    """(histograms of the first record, of the latest record) from RUN/health_histograms.csv; empty dicts
    when there is no such file."""
    path = Path(run_dir) / HISTOGRAM_FILE
    if not path.is_file():
        return {}, {}
    return _split_histograms(_parse(path, HISTOGRAM_COLUMNS))


def _split_histograms(rows: list[dict]) -> tuple[Histograms, Histograms]:
    steps = sorted({r["global_step"] for r in rows})
    if not steps:
        return {}, {}
    return _histograms_at(rows, steps[0]), _histograms_at(rows, steps[-1])


def _histograms_at(rows: list[dict], step: float) -> Histograms:
    out: Histograms = {}
    by_node: dict[str, list[dict]] = {}
    for r in rows:
        if r["global_step"] == step:
            by_node.setdefault(r["node"], []).append(r)
    for node, bins in by_node.items():
        edges = np.array([b["left"] for b in bins] + [bins[-1]["right"]])
        out[node] = (bins[0]["layer"], edges, np.array([b["count"] for b in bins], dtype=np.int64))
    return out


class HealthLog:
    """The two health files of a run folder, continued from `position` (the global step a run resumes
    after; 0 for a new run)."""

    def __init__(self, run_dir: Path, position: int):
        self.path = Path(run_dir) / HEALTH_FILE
        self.histogram_path = Path(run_dir) / HISTOGRAM_FILE
        kept = [r for r in read_health(run_dir) if r["global_step"] <= position] if self.path.is_file() else []
        write_text_atomic(self.path, _csv_text(COLUMNS, kept), "health log")
        self.start: tuple[int, Histograms] | None = None
        if self.histogram_path.is_file():
            rows = [r for r in _parse(self.histogram_path, HISTOGRAM_COLUMNS) if r["global_step"] <= position]
            if rows:
                self.start = (int(min(r["global_step"] for r in rows)), _split_histograms(rows)[0])

    def append(self, rows: list[dict]) -> None:
        """Append one record's rows and flush them."""
        try:
            with open(self.path, "a", newline="", encoding="utf-8") as handle:
                handle.write(_csv_text(COLUMNS, rows, header=False))
        except OSError as exc:
            raise WriteFailed(f"{self.path}: cannot write the health log ({describe_os_error(exc)})") from None

    def set_histograms(self, global_step: int, histograms: Histograms) -> None:
        """Record the histograms of a record: the first ones stay as the start, the newest replace the end."""
        if self.start is None:
            self.start = (global_step, histograms)
        rows = []
        for step, hists in ([self.start] if self.start[0] == global_step else [self.start, (global_step, histograms)]):
            for node, (layer, edges, counts) in hists.items():
                rows += [{"global_step": step, "node": node, "layer": layer, "left": float(edges[i]),
                          "right": float(edges[i + 1]), "count": int(counts[i])} for i in range(len(counts))]
        write_text_atomic(self.histogram_path, _csv_text(HISTOGRAM_COLUMNS, rows), "health histograms")

"""report.json and report.md: what a finished (or stopped) run achieved, in numbers and in words."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

import nnctl
from nnctl.atomic import WriteFailed, write_text_atomic
from nnctl.cpus import ThreadChoice
from nnctl.health.summary import NO_FINDINGS
from nnctl.kernels import backend
from nnctl.viz.tables import confusion_markdown, markdown_table, per_class_rows


def versions() -> dict[str, str]:
    return {"nnctl": nnctl.__version__, "python": sys.version.split()[0], "numpy": np.__version__,
            "kernels": backend.name(), "platform": platform.platform()}


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.2f}%"


def _num(value) -> str:
    return "—" if value is None else f"{value:.4f}"


def health_markdown(health: dict) -> list[str]:
    """The findings as a list, or the line saying there are none (details: health.png, `nnctl health RUN`)."""
    lines = [f"- {finding}" for finding in health["findings"]] or [NO_FINDINGS[0].upper() + NO_FINDINGS[1:] + "."]
    return lines + ["", f"From {health['records']} health records: health.csv, health.png, `nnctl health RUN`."]


def weights_line(init: dict | None) -> str:
    """Where a run's starting weights came from, in words."""
    if not init:
        return "drawn by each layer's initializer (no init.from)"
    copied = ", ".join(new if new == old else f"{new} (from {old})" for new, old in init["copied"].items())
    epoch = f" (epoch {init['epoch']})" if init.get("epoch") is not None else ""
    text = f"copied from `{init['from']}`{epoch}, sha256 {init['sha256'][:16]}…: {copied}"
    if init.get("frozen"):
        text += f"; frozen: {', '.join(init['frozen'])}"
    if init.get("not_copied"):
        text += f"; initialized afresh: {', '.join(init['not_copied'])}"
    return text


def thread_line(threads: dict) -> str:
    """`2 (auto: 2 CPUs available, 1.97 free in a 0.15 s calibration)` from report.json's `threads`."""
    return ThreadChoice(**threads).describe()


def render_markdown(report: dict) -> str:
    lines = [f"# {report['name']}: {report['status']}", ""]
    lines += [f"- run: `{report['run_dir']}`",
              f"- epochs run: {report['epochs_run']} of {report['epochs_planned']}; best epoch "
              f"{report['best_epoch']} by {report['monitor']} = {_num(report['best_value'])}",
              f"- parameters: {report['parameters']:,}",
              f"- seconds per epoch: {_num(report['seconds_per_epoch_mean'])} "
              f"(total {report['total_seconds']:.1f} s)"]
    lines.append(f"- starting weights: {weights_line(report.get('init'))}")
    if report.get("threads"):
        lines.append(f"- threads: {thread_line(report['threads'])}")
    if report.get("resumes"):
        lines.append(f"- resumed {report['resumes']} time{'s' if report['resumes'] > 1 else ''} (--resume)")
    if report.get("evaluated"):
        lines.append(f"- evaluated: {report['evaluated']}")
    if (report.get("data") or {}).get("skipped_files"):
        data = report["data"]
        lines.append(f"- data: {data['skipped_files']} unreadable pictures skipped (data.skip_bad_files), e.g. "
                     f"{', '.join(data['skipped_examples'][:3])}")
    for finding in report.get("sanity") or []:
        lines.append(f"- sanity check: {finding}")
    best = report.get("best_metrics")
    if best and not any(report.get(split) for split in ("train", "val", "test")):
        shown = [f"{k.replace('_', ' ')} {_num(best[k])}" for k in ("train_loss", "train_acc", "val_loss", "val_acc")
                 if best.get(k) is not None]
        lines.append(f"- at the best epoch: {', '.join(shown)}")
    lines.append("")
    if any(report.get(split) for split in ("train", "val", "test")):
        lines += split_table(report)
    test = report.get("test") or {}
    if test.get("confusion"):
        names = report.get("class_names")
        lines += ["", "## Test confusion matrix", ""] + confusion_markdown(test["confusion"], names)
        if test.get("f1"):
            lines += ["", "## Test precision, recall and F1 per class", ""] + markdown_table(
                per_class_rows(test, names))
        else:
            lines += ["", "## Test accuracy per class", ""] + markdown_table(
                [["class", "accuracy"]] + [[str(names[i] if names else i), _pct(acc)]
                                           for i, acc in enumerate(test["per_class_acc"])])
    if report.get("health"):
        lines += ["", "## Health", ""] + health_markdown(report["health"])
    if report.get("message"):
        lines += ["", f"> {report['message']}"]
    v = report["versions"]
    kernels = f", kernels {v['kernels']}" if "kernels" in v else ""
    lines += ["", f"nnctl {v['nnctl']}, Python {v['python']}, NumPy {v['numpy']}{kernels}, {v['platform']}", ""]
    return "\n".join(lines)


def split_table(report: dict) -> list[str]:
    """Markdown lines: one row per evaluated split with its loss and accuracy, each loss term's own loss
    and each head's accuracy (several terms), macro and weighted F1 and top-k accuracies (classifiers), and
    the reconstruction error (autoencoders)."""
    results = [(split, report[split]) for split in ("train", "val", "test") if report.get(split)]
    first = results[0][1]
    terms, heads = list(first.get("term_loss", {})), list(first.get("head_acc", {}))
    rebuilds = "reconstruction_mse" in first
    tops = [key for key in first if key.startswith("top") and key[3:].isdigit()]
    classes = ["macro_f1", "weighted_f1"] if "macro_f1" in first else []
    header = ["split", "loss", "accuracy"] + [f"loss {t}" for t in terms] + [f"accuracy {h}" for h in heads]
    header += [name.replace("_", " ").replace("f1", "F1") for name in classes] + [f"top-{k[3:]}" for k in tops]
    rows = [header + (["reconstruction MSE"] if rebuilds else [])]
    for split, r in results:
        row = [split, _num(r.get("loss")), _pct(r.get("acc"))]
        row += [_num(r.get("term_loss", {}).get(t)) for t in terms]
        row += [_pct(r.get("head_acc", {}).get(h)) for h in heads]
        row += [_num(r.get(name)) for name in classes] + [_pct(r.get(k)) for k in tops]
        rows.append(row + ([_num(r.get("reconstruction_mse"))] if rebuilds else []))
    return markdown_table(rows)


def write_report(run_dir: Path, report: dict) -> None:
    """report.json and report.md, each whole or not at all; both are attempted, and the first failure
    (WriteFailed naming its file) is raised afterwards."""
    failures = []
    for name, text in (("report.json", json.dumps(report, indent=2) + "\n"), ("report.md", render_markdown(report))):
        try:
            write_text_atomic(run_dir / name, text, "report")
        except WriteFailed as exc:
            failures.append(exc)
    if failures:
        raise failures[0]

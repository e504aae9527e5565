"""A run's health in words: the findings for report.json/report.md, and the table `nnctl health RUN` prints."""

from __future__ import annotations

from pathlib import Path

from nnctl.config.sections import ResolvedConfig
from nnctl.health.findings import Records, find, median_ratio, short
from nnctl.health.log import HEALTH_FILE, read_health
from nnctl.viz.tables import align

NO_FINDINGS = "no problems found (thresholds: docs/health.md)"


def health_summary(run_dir: Path, config: ResolvedConfig | None) -> dict | None:
    """{"records": number of records, "findings": [one line each]} from RUN/health.csv; None without one."""
    if not (Path(run_dir) / HEALTH_FILE).is_file():
        return None
    rows = read_health(run_dir)
    return {"records": len({r["global_step"] for r in rows}), "findings": [f.text() for f in find(rows, config)]}


def _g(value) -> str:
    return "—" if value is None else short(value)


def _share(value) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def layer_table(rows: list[dict]) -> list[str]:
    """One line per node: output std and dead/saturated share at the first and the latest record, and for
    its weights the latest gradient norm and the median update/weight ratio."""
    records = Records(rows)
    header = ["node", "layer", "output std (start -> end)", "dead or saturated", "weights", "grad norm (end)",
              "update/weight (median)"]
    body = []
    for node in records.order:
        outputs = records.series.get((node, "output"))
        if not outputs:
            continue
        first, last = outputs[0], outputs[-1]
        share = "dead" if first["dead"] is not None else "saturated" if first["saturated"] is not None else None
        weights = [(t, rs) for (n, t), rs in records.series.items() if n == node and t != "output"
                   and rs[0].get("weight") == 1]
        body.append([node, first["layer"], f"{_g(first['std'])} -> {_g(last['std'])}",
                     f"{share} {_share(first[share])} -> {_share(last[share])}" if share else "—",
                     ", ".join(t for t, _ in weights) or "—",
                     ", ".join(_g(rs[-1]["grad_norm"]) for _, rs in weights) or "—",
                     ", ".join(_g(median_ratio(rs)) for _, rs in weights) or "—"])
    return align([header] + body, indent="  ")


def format_health(run_dir: Path, config: ResolvedConfig | None, sanity: list[str] | tuple = ()) -> str:
    """What `nnctl health RUN` prints: the records' span, the layer table, the findings (the run's
    sanity-check findings, train.sanity, first)."""
    rows = read_health(run_dir)
    if not rows:
        return f"{run_dir}: no health records yet"
    steps = sorted({r["global_step"] for r in rows})
    epochs = sorted({r["epoch"] for r in rows})
    lines = [f"health of {run_dir}: {len(steps)} records, steps {steps[0]:.0f} to {steps[-1]:.0f} "
             f"(epochs {epochs[0]:g} to {epochs[-1]:.3g}); outputs on the probe sample in evaluation mode", ""]
    lines += layer_table(rows)
    findings = [f"sanity check: {finding}" for finding in sanity] + [f.text() for f in find(rows, config)]
    lines += ["", "findings:" if findings else NO_FINDINGS]
    lines += [f"- {finding}" for finding in findings]
    return "\n".join(lines)

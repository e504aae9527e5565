"""The group folder: one folder per run of a group, and what describes the group.

    runs/<name>/<YYYYmmdd-HHMMSS>-seeds/     (or -folds)
      group.json          kind, the seeds or the number of folds, each run's folder, the command
      base-config.yaml    the config every run starts from (before its seed or fold is set)
      seed-0/ seed-1/ ... ordinary run folders (fold-0/ ... for folds), made as each run starts
      summary.csv, summary.md   each metric's mean, standard deviation and per-run values

The folder appears whole (made under a hidden name, then renamed). Which runs are done is read from the run
folders themselves (a report.json saying completed or stopped early), never stored twice. A group is
unfinished while some run is not done; `unfinished_group` finds the newest unfinished group of the same
config and plan, which is what running the same command again continues.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from nnctl.atomic import write_text_atomic
from nnctl.config.load import load_config
from nnctl.config.sections import ResolvedConfig
from nnctl.errors import InputError
from nnctl.limits import MAX_META_BYTES
from nnctl.options.compare import differing_keys
from nnctl.options.yamlio import dump_yaml, plain
from nnctl.repeats.plan import KINDS, MAX_RUNS, Plan
from nnctl.runs.run_dir import staged_folder
from nnctl.training.resume import finished_report
from nnctl.training.runner import self_contained

GROUP_FILE = "group.json"
BASE_CONFIG = "base-config.yaml"
FORMAT = 1


@dataclass(frozen=True)
class Group:
    """A group folder as read back: its folder, plan and base config."""

    folder: Path
    plan: Plan
    base: ResolvedConfig


def describe(plan: Plan, base: ResolvedConfig, command: str) -> dict:
    """group.json's content."""
    record = {"format": FORMAT, "kind": plan.kind, "name": base.name}
    record["seeds" if plan.kind == "seeds" else "folds"] = list(plan.values) if plan.kind == "seeds" \
        else plan.values[0]
    record["runs"] = [{"label": m.label, "folder": m.label,
                       **({"seed": m.seed} if m.seed is not None else {"fold": list(m.fold)})}
                      for m in plan.members()]
    record.update({"base_config": BASE_CONFIG, "command": command, "created": time.strftime("%Y-%m-%d %H:%M:%S")})
    return record


def create_group(out: str | Path, base: ResolvedConfig, plan: Plan, command: str) -> Path:
    """A new group folder out/<name>/<stamp>-<kind>/ holding group.json and base-config.yaml."""
    def fill(staging: Path) -> None:
        write_text_atomic(staging / BASE_CONFIG, dump_yaml(self_contained(base)), "config")
        write_text_atomic(staging / GROUP_FILE, json.dumps(describe(plan, base, command), indent=2) + "\n",
                          "group record")

    return staged_folder(Path(out) / base.name, "group", f"-{plan.kind}", fill)


def is_group(path: Path) -> bool:
    return (Path(path) / GROUP_FILE).is_file()


def read_group(folder: Path) -> Group:
    """The group in `folder`; an unreadable or foreign group.json is an InputError naming it."""
    path = Path(folder) / GROUP_FILE
    try:
        if path.stat().st_size > MAX_META_BYTES:
            raise InputError(f"{path}: too large for a group record")
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise InputError(f"{path}: not a readable group record ({exc})") from None
    kind = record.get("kind") if isinstance(record, dict) else None
    values = record.get(kind) if kind in KINDS else None
    if kind == "folds" and isinstance(values, int) and not isinstance(values, bool) and values >= 2:
        plan = Plan("folds", (values,))
    elif kind == "seeds" and isinstance(values, list) and 0 < len(values) <= MAX_RUNS and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
        plan = Plan("seeds", tuple(values))
    else:
        raise InputError(f"{path}: not an nnctl group record (kind and seeds or folds missing)")
    return Group(Path(folder), plan, load_config(Path(folder) / BASE_CONFIG))


def done(folder: Path, plan: Plan) -> list[str]:
    """Labels of the group's runs that are done (completed or stopped early), in plan order."""
    return [m.label for m in plan.members() if finished_report(Path(folder) / m.label) is not None]


def same_config(a: ResolvedConfig, b: ResolvedConfig) -> bool:
    """Do two configs train the same runs (paths compared as the run folder records them)?"""
    as_json = [json.loads(json.dumps(plain(self_contained(c)), default=str)) for c in (a, b)]
    return not differing_keys(*as_json)


def unfinished_group(out: str | Path, base: ResolvedConfig, plan: Plan) -> Path | None:
    """The newest group folder in out/<name>/ with this plan and config that still has runs to do."""
    parent = Path(out) / base.name
    if not parent.is_dir():
        return None
    for folder in sorted(parent.glob(f"*-{plan.kind}"), reverse=True):
        if not is_group(folder):
            continue
        try:
            group = read_group(folder)
        except InputError:
            continue
        if group.plan == plan and same_config(group.base, base) and len(done(folder, plan)) < len(plan.members()):
            return folder
    return None

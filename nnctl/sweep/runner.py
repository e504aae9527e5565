"""`nnctl sweep SWEEP.yaml`: check the sweep, open (or continue) its study, run the queued trials, write the
sweep's outputs.

    run_sweep(...)        everything, from the checks to the outputs, said line by line
    sweep_status(...)     --status: progress from the study's storage
    write_report(...)     --report: the outputs from the storage, no trial run

The sweep folder is OUT/NAME. It holds the trials' run folders (trial-0000, ...), the SQLite study.db
unless --storage names another database, and the outputs (see report.py), rewritten at the end of every
`nnctl sweep` (also after Ctrl-C) from the storage, so they cover the trials of every machine.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from nnctl.errors import InputError, Interrupted, WorkError
from nnctl.loggers.choose import require_packages
from nnctl.loggers.sweep import close_parent, open_parent
from nnctl.sweep.check import check_sweep
from nnctl.sweep.report import write_outputs
from nnctl.sweep.spec import read_sweep
from nnctl.sweep.status import best_trial, counts_text, status_text
from nnctl.sweep.storage import storage_url
from nnctl.sweep.study import Plan, StudyHandle, StudyMissing, identity_problem, open_study
from nnctl.sweep.supervisor import Supervisor, fail_dead_local_trials, worker_threads
from nnctl.sweep.tickets import issue, waiting
from nnctl.sweep.worker import work
from nnctl.training.runner import to_stderr
from nnctl.training.signals import StopSignals


@dataclass
class Request:
    """What the command line asked for. `changes` replace keys of the sweep file (sampler, seed, pruner)."""

    path: Path
    changes: dict
    trials: int | None = None
    workers: int = 1
    storage: str | None = None
    study: str | None = None
    out: Path = Path("sweeps")
    debug: bool = False


def make_plan(request: Request, check: bool) -> Plan:
    """Read the sweep file (and with `check`, try its corners and resolve its metric)."""
    spec = read_sweep(request.path, request.changes)
    if request.trials is not None:
        spec.trials = min(request.trials, len(spec.grid())) if spec.sampler["type"] == "grid" else request.trials
    metric = check_sweep(spec) if check else spec.metric
    sweep_dir = request.out / spec.name
    return Plan(spec, metric, sweep_dir, storage_url(request.storage, sweep_dir), request.study or spec.name)


def run_sweep(request: Request, say) -> None:
    """Run the sweep, saying what happens line by line, the last line a summary. Raises Interrupted after
    Ctrl-C and WorkError when a worker failed, in both cases after the outputs are written."""
    # optional (the sweep extra): loaded when a sweep runs
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    plan = make_plan(request, check=True)
    require_packages(plan.spec.config.loggers, str(request.path))
    handle = open_or_create(plan)
    for line in fail_dead_local_trials(handle):
        say(line)
    spec = plan.spec
    queued = issue(handle.study, spec.trials, spec.grid() if spec.sampler["type"] == "grid" else None, spec.seed)
    planned = handle.study.user_attrs["trials"]
    if planned > spec.trials:
        say(f"note: the study already plans {planned} trials; asking for {spec.trials} removes none")
    threads = f", {worker_threads(request.workers)} BLAS thread(s) each" if request.workers > 1 else ""
    say(f"sweep {spec.name}: {plan.where}; {planned} trials planned, {waiting(handle.study)} to run "
        f"({queued} new); {request.workers} worker(s){threads}; run folders in {plan.sweep_dir}")
    loggers = plan.spec.config.loggers
    open_parent(loggers, plan.sweep_dir, spec.name, parent_params(plan), say)
    code = 0
    try:
        if request.workers == 1:
            with StopSignals() as stop:
                work(plan, handle, stop, say, to_stderr)
        else:
            code = Supervisor(plan, handle, request.workers, request.changes, say, request.debug).run()
    except Interrupted as exc:
        code = exc.exit_code
    say(summary_line(plan, handle, write_outputs(plan, handle)))
    best = best_trial(handle.study, plan.maximize)
    close_parent(loggers, plan.sweep_dir, "interrupted" if code >= 128 else "failed" if code else "completed",
                 None if best is None else (best.number, best.value), say)
    if code >= 128:
        raise Interrupted("interrupted: trials in flight saved their position and are queued again; continue "
                          "with the same command", exit_code=code)
    if code:
        raise WorkError("a worker failed (its message is above); run the same command to continue")


def parent_params(plan: Plan) -> dict[str, str]:
    """The sweep as the params of its MLflow parent run: each space key's distribution, and the metric."""
    params = {f"space.{p.path}": json.dumps(p.as_yaml()) for p in plan.spec.params}
    return {**params, "metric": plan.metric, "trials": str(plan.spec.trials)}


def open_or_create(plan: Plan) -> StudyHandle:
    """The plan's study, created when absent. A new study refuses a sweep folder that already holds trial
    folders (of another study), and leaves no folder behind when its storage cannot be opened."""
    if not fresh_default_storage(plan):
        try:
            return open_study(plan, create=False)
        except StudyMissing:
            pass
    leftovers = sorted(p.name for p in plan.sweep_dir.glob("trial-*"))
    if leftovers:
        raise InputError(f"{plan.sweep_dir}: holds trial folders ({', '.join(leftovers[:3])}"
                         f"{', ...' if len(leftovers) > 3 else ''}) but the {plan.where} does not exist; move "
                         f"them away, or give another --out")
    created = not plan.sweep_dir.exists()
    plan.sweep_dir.mkdir(parents=True, exist_ok=True)
    try:
        return open_study(plan, create=True)
    except BaseException:
        if created:
            shutil.rmtree(plan.sweep_dir, ignore_errors=True)
        raise


def fresh_default_storage(plan: Plan) -> bool:
    """The storage is the default SQLite file, and it does not exist yet."""
    return plan.storage_url == storage_url(None, plan.sweep_dir) and not (plan.sweep_dir / "study.db").is_file()


def open_existing(request: Request, verify: bool = True) -> tuple[Plan, StudyHandle]:
    """The plan and its study, which must exist; its metric is the study's own (no data is loaded)."""
    plan = make_plan(request, check=False)
    if fresh_default_storage(plan):
        raise StudyMissing(f"{plan.spec.source}: no {plan.where} yet (start it with nnctl sweep "
                           f"{plan.spec.source})")
    return plan, open_study(plan, create=False, adopt_metric=True, verify=verify)


def summary_line(plan: Plan, handle: StudyHandle, written: list[str]) -> str:
    best = best_trial(handle.study, plan.maximize)
    best_text = f"best trial {best.number}: {plan.metric} {best.value:.4f}" if best else "no trial completed"
    return f"sweep {plan.spec.name}: {counts_text(handle.study)}; {best_text}; wrote {', '.join(written)} in " \
           f"{plan.sweep_dir}"


def sweep_status(request: Request) -> str:
    """--status: the study's progress, read from its storage (nothing is created or written); a study started
    from another version of the sweep file is shown too, with a note saying how it differs."""
    plan, handle = open_existing(request, verify=False)
    problem = identity_problem(plan, handle.study)
    note = f"\nnote: the {plan.where} {problem}, so running this sweep file would not continue it" \
        if problem else ""
    return status_text(plan, handle) + note


def write_report(request: Request) -> str:
    """--report: write the sweep's outputs from its storage, run nothing; returns a line naming them."""
    plan, handle = open_existing(request)
    return summary_line(plan, handle, write_outputs(plan, handle))

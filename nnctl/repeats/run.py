"""Train a group of runs one after the other, and continue a group that was stopped.

    start_group(base, plan, out, command)   the newest unfinished group of the same config and plan is
                                            continued; else a new group folder (after the first run's
                                            config, data and network were checked: nothing is written
                                            for a config that cannot train)
    continue_group(folder)                  `nnctl train --resume GROUP`

Each run is an ordinary run folder inside the group, trained by the ordinary runner. A run that is done
(its report says completed or stopped early) is never trained again; a run that was stopped is resumed
exactly from its own checkpoint (nnctl.training.resume); a run never started is trained from the base
config with its seed or fold. A stop signal during a run ends that run as `nnctl train` does (a checkpoint
at the exact step) and then the group, with the line saying how to continue; one between runs ends the
group before the next run starts. After every run, and at any ending, summary.csv and summary.md are
rewritten over the runs done so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nnctl.atomic import remove_leftovers, write_text_atomic
from nnctl.build.prepare import config_dir, seed_streams
from nnctl.config.load import errors_name
from nnctl.config.sections import ResolvedConfig
from nnctl.cpus import ThreadChoice, choose_threads
from nnctl.data import load_splits
from nnctl.errors import ConfigError, InputError, Interrupted
from nnctl.repeats.group import create_group, done, read_group, unfinished_group
from nnctl.repeats.plan import Member, Plan, member_config
from nnctl.repeats.summary import MetricRow, summary_csv, summary_markdown, summary_rows, summary_table
from nnctl.runs.init_from import init_source, source_checkpoint
from nnctl.training.resume import finished_report, resume
from nnctl.training.runner import build_trainer, to_stderr, train
from nnctl.training.signals import Terminated


@dataclass
class GroupResult:
    folder: Path
    rows: list[MetricRow]
    labels: list[str]

    def table(self) -> str:
        return "\n".join(summary_table(self.rows, self.labels))


def pinned(base: ResolvedConfig) -> ResolvedConfig:
    """`base` with init.from pinned to the checkpoint it stands for now (a folder of runs means its newest
    run), so that every run of the group starts from the same weights."""
    if not base.init:
        return base
    with errors_name(base):
        checkpoint = source_checkpoint(init_source(base))
    return base.with_sections(init={**base.init, "from": str(checkpoint)})


def check_first(base: ResolvedConfig, plan: Plan) -> None:
    """Build the first run (data, network, init.from) so that a config that cannot train fails before any
    folder is made; a fold count the data cannot fill is named as the --folds option."""
    config = member_config(base, plan.members()[0])
    if plan.kind == "folds":
        try:
            load_splits(config.data, seed_streams(config.seed)[0], config_dir(config), progress=False)
        except ConfigError as exc:
            if exc.path != "data.fold":
                raise
            raise InputError(f"{plan.option()}: {exc.message}") from None
    build_trainer(config, progress=False)


def start_group(base: ResolvedConfig, plan: Plan, out: str | Path, command: str, progress: bool = True,
                say: Callable[[str], None] = to_stderr, threads: int | None = None) -> GroupResult:
    """Continue the unfinished group of this config and plan in out/<name>/, or start a new one."""
    base = pinned(base)
    folder = unfinished_group(out, base, plan)
    if folder is not None:
        say(f"continuing {folder}: {len(done(folder, plan))} of {len(plan.members())} runs done")
    else:
        check_first(base, plan)
        folder = create_group(out, base, plan, command)
        say(f"group folder: {folder} ({plan.describe()})")
    return run_members(folder, base, plan, progress, say, threads)


def continue_group(folder: Path, progress: bool = True, say: Callable[[str], None] = to_stderr,
                   threads: int | None = None) -> GroupResult:
    """`nnctl train --resume GROUP`: the runs of the group not yet done."""
    group = read_group(folder)
    say(f"continuing {folder}: {len(done(folder, group.plan))} of {len(group.plan.members())} runs done")
    return run_members(Path(folder), group.base, group.plan, progress, say, threads)


def run_members(folder: Path, base: ResolvedConfig, plan: Plan, progress: bool,
                say: Callable[[str], None], threads: int | None = None) -> GroupResult:
    """Train the runs not yet done, in plan order. New runs share one thread choice (made before the first
    of them; `threads` is --threads), a started run resumes with the count its checkpoint recorded."""
    members = plan.members()
    chosen: list[ThreadChoice] = []
    for number, member in enumerate(members, 1):
        if finished_report(folder / member.label) is not None:
            continue
        say(f"[{number}/{len(members)}] {member.label}: {folder / member.label}")
        try:
            run_member(folder, base, member, progress, threads, chosen)
        except Interrupted as exc:
            write_summary(folder, plan, base.name)
            raise Interrupted(f"{member.label}: {exc}; to continue the group: nnctl train --resume {folder}",
                              exc.exit_code) from None
        except (KeyboardInterrupt, Terminated) as exc:
            write_summary(folder, plan, base.name)
            code = 143 if isinstance(exc, Terminated) else 130
            raise Interrupted(f"interrupted before {member.label} started training; to continue the group: "
                              f"nnctl train --resume {folder}", code) from None
        except BaseException:
            write_summary(folder, plan, base.name)
            raise
        write_summary(folder, plan, base.name)
    return write_summary(folder, plan, base.name)


def run_member(folder: Path, base: ResolvedConfig, member: Member, progress: bool, threads: int | None = None,
               chosen: list[ThreadChoice] | None = None) -> None:
    """Train one run of the group into folder/<label>: resumed if it was started, else from the start (with
    the group's thread choice, made on the first call and kept in `chosen`)."""
    run_dir = folder / member.label
    if (run_dir / "config.yaml").is_file():
        resume(run_dir, progress=progress, threads=threads)
        return
    if run_dir.is_dir():                      # made, but stopped before its config was written
        remove_leftovers(run_dir)
        if any(run_dir.iterdir()):
            raise InputError(f"{run_dir}: a run folder without config.yaml that is not empty; move it away to "
                             f"train this run again")
    chosen = [] if chosen is None else chosen
    if not chosen:
        chosen.append(choose_threads(threads))
    train(member_config(base, member), run_dir=run_dir, progress=progress, threads=chosen[0])


def write_summary(folder: Path, plan: Plan, name: str) -> GroupResult:
    """summary.csv and summary.md over the runs done so far (in plan order)."""
    labels = done(folder, plan)
    reports = [finished_report(folder / label) for label in labels]
    rows = summary_rows(reports)
    total = len(plan.members())
    note = f"{len(labels)} of {total} runs done" + ("" if len(labels) == total else
                                                     f"; continue with nnctl train --resume {folder}")
    write_text_atomic(folder / "summary.csv", summary_csv(rows, labels), "summary")
    write_text_atomic(folder / "summary.md", summary_markdown(f"{name}: {plan.describe()}", rows, labels, note),
                      "summary")
    return GroupResult(folder, rows, labels)

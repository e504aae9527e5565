"""`nnctl train --resume RUN`: continue a run in its own folder, exactly where its last checkpoint stands.

RUN is a run folder (its checkpoints/last.npz is used) or a checkpoint inside one. The run's own
config.yaml is the config; with `--set` only `train.epochs` and `train.early_stopping.patience` may
change (and a CONFIG given beside --resume must resolve to the same config). Leftover temporary files of
a killed process are removed first; metrics.csv is rewritten from the checkpoint's own rows, so rows of
epochs after the checkpoint are dropped and the resumed rows follow without a second header.

Exactness: on the same machine with the same number of BLAS threads, a run resumed from any checkpoint
ends with the same weights, optimizer state and metrics (apart from seconds) as one never interrupted.
A resume under another thread count works but says that the numbers will differ by rounding.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from nnctl.atomic import remove_leftovers, write_text_atomic
from nnctl.config.load import load_config
from nnctl.config.sections import ResolvedConfig, resolve
from nnctl.cpus import ThreadChoice, choose_threads, threads_for_run
from nnctl.errors import ConfigError, InputError
from nnctl.limits import MAX_META_BYTES
from nnctl.nn.registry import SCHEDULES
from nnctl.options.compare import differing_keys, show_value, value_at
from nnctl.options.yamlio import dump_yaml, plain
from nnctl.runs.checkpoints import expected_shapes, load_checkpoint, open_checkpoint
from nnctl.runs.run_dir import newest_run
from nnctl.threads import blas_threads
from nnctl.training.callbacks import Callback
from nnctl.training.runner import (TrainResult, build_trainer, execute, self_contained, to_stderr, use_thread_choice,
                                   watchers)
from nnctl.training.signals import StopSignals
from nnctl.training.snapshots import restore_snapshot
from nnctl.training.trainer import Trainer

CHANGEABLE = ("train.epochs", "train.early_stopping.patience")
DONE = ("completed", "stopped early")


def locate(target: Path) -> tuple[Path, Path | None]:
    """(run folder, checkpoint to continue from, or None when the run was stopped before its first one)."""
    if target.is_file():
        if target.suffix != ".npz" or target.parent.name != "checkpoints":
            raise InputError(f"{target}: --resume takes a run folder or a checkpoint inside one "
                             f"(RUN/checkpoints/last.npz)")
        run_dir, checkpoint = target.parent.parent, target
    elif target.is_dir():
        run_dir = newest_run(target)            # a folder of runs stands for its newest, as for eval and plot
        checkpoint = run_dir / "checkpoints" / "last.npz"
        checkpoint = checkpoint if checkpoint.is_file() else None
    else:
        raise InputError(f"{target}: no such run folder")
    if not (run_dir / "config.yaml").is_file():
        raise InputError(f"{run_dir}: not a run folder (no config.yaml), nothing to resume")
    return run_dir, checkpoint


def resumed_config(run_dir: Path, overrides: Sequence[str], config_path: Path | None) -> ResolvedConfig:
    """The run's config with the allowed overrides; any other difference is one InputError listing the keys."""
    original = load_config(run_dir / "config.yaml")
    wanted = load_config(config_path or run_dir / "config.yaml", list(overrides))
    changed = [k for k in differing_keys(plain(original.sections()), plain(self_contained(wanted)))
               if k not in CHANGEABLE]
    if changed:
        shown = ", ".join(changed[:6]) + (f" and {len(changed) - 6} more" if len(changed) > 6 else "")
        raise InputError(f"{config_path or '--set'}: --resume continues {run_dir} with its own config; only "
                         f"{' and '.join(CHANGEABLE)} may change, but {shown} differ{'s' if len(changed) == 1 else ''}")
    if config_path is not None:
        wanted = load_config(run_dir / "config.yaml", list(overrides))
    return wanted


def shown_at(config: dict, key: str, absent: object = "(absent)") -> object:
    """The value at `key` as an error message shows it; `absent` when the config has no such key."""
    try:
        value = value_at(config, key)
    except KeyError:
        return absent
    return value if absent is None else show_value(value)


def made_absolute(key: str, was: dict, now: dict) -> bool:
    """A file path the checkpoint stores as written (relative to a config file it does not name) and
    config.yaml holds made absolute: the same file as far as can be told."""
    before, after = shown_at(was, key, None), shown_at(now, key, None)
    return (key in ("data.path", "init.from") and isinstance(before, str) and isinstance(after, str)
            and not Path(before).is_absolute() and Path(after).parts[-len(Path(before).parts):] == Path(before).parts)


def refuse_edited_config(run_dir: Path, checkpoint: Path) -> None:
    """RUN/config.yaml must still say what the checkpoint was trained with (both resolved with today's
    defaults), apart from the keys --set may change: a resume continues exactly, so a value edited by hand is
    refused in one line naming each key with both values, before anything is loaded or written."""
    _, meta = open_checkpoint(checkpoint)
    if not isinstance(meta.config, dict):
        return
    current = load_config(run_dir / "config.yaml")
    try:
        trained = resolve({**meta.config, "name": current.name})
    except ConfigError:           # a stored config this nnctl cannot read: the checkpoint's own checks say why
        return
    was, now = plain(trained.sections()), plain(current.sections())
    changed = [k for k in differing_keys(was, now) if k not in CHANGEABLE and not made_absolute(k, was, now)]
    if changed:
        shown = "; ".join(f"{k}: {shown_at(was, k)} there, {shown_at(now, k)} here"
                          for k in changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise InputError(f"{run_dir / 'config.yaml'}: differs from the config {checkpoint.name} was trained with "
                         f"({shown}); --resume continues exactly what the checkpoint holds: put the file back, or "
                         f"start a new run with nnctl train")


def finished_report(run_dir: Path) -> dict | None:
    """The run's report when it says the run ended normally (completed or stopped early), else None."""
    path = run_dir / "report.json"
    try:
        if path.stat().st_size > MAX_META_BYTES:
            return None
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return report if isinstance(report, dict) and report.get("status") in DONE else None


def nothing_to_resume(trainer: Trainer, run_dir: Path, status: str) -> str:
    """Why a finished run has nothing left to do, and the --set that would train it longer (more epochs,
    and more patience when early stopping ended it)."""
    epochs = f"{trainer.epoch} epoch{'' if trainer.epoch == 1 else 's'}"
    more = []
    if trainer.epoch >= trainer.train_cfg["epochs"]:
        more.append(f"--set train.epochs={trainer.epoch + 10}")
    if trainer.stop_early():
        patience = trainer.train_cfg["early_stopping"]["patience"]
        more.append(f"--set train.early_stopping.patience={trainer.early.since_best + patience}")
    why = "" if not trainer.stop_early() else \
        f" ({trainer.early.metric} did not improve for {trainer.early.since_best} epochs)"
    return (f"nothing to resume: {run_dir} already {status} after {epochs}{why}; to train longer: "
            f"nnctl train --resume {run_dir} {' '.join(more)}")


def schedule_change(before: ResolvedConfig, after: ResolvedConfig, epoch: int) -> str | None:
    """One line when a new train.epochs changes the learning rate the schedule gives from here on (a cosine
    stretched over more epochs; see docs/runs.md), else None."""
    old, new = before.train["epochs"], after.train["epochs"]
    if old == new:
        return None
    kind, lr = after.schedule["type"], after.optimizer["lr"]
    options = {k: v for k, v in after.schedule.items() if k != "type"}
    was, now = (SCHEDULES[kind](lr, total, **options).lr(epoch) for total in (old, new))
    if was == now:
        return None
    return (f"note: train.epochs {old} -> {new} changes the {kind} schedule from here on: the learning rate at "
            f"epoch {epoch} becomes {now:.6g} instead of {was:.6g} (see docs/runs.md, 'Training longer')")


def thread_warning(checkpoint: Path, saved: int, choice: ThreadChoice, now: int) -> str:
    """The one line for a resume whose BLAS thread count (`now`) differs from the checkpoint's."""
    if choice.how == "the checkpoint":
        cause = f"this machine's BLAS runs at most {now}"
        advice = f"resume on a machine with {saved} CPUs for identical numbers"
    else:
        cause = f"this run uses {now} ({choice.how})"
        advice = f"resume without {choice.how} (or with --threads {saved}) for identical numbers"
    return (f"warning: {checkpoint} was written with {saved} BLAS thread{'s' if saved != 1 else ''} and {cause}; "
            f"the resumed run will "
            f"differ from an uninterrupted one by float rounding ({advice})")


def resume(target: str | Path, overrides: Sequence[str] = (), config_path: Path | None = None,
           progress: bool = True, callbacks: Sequence[Callback] = (),
           notify: Callable[[str], None] = to_stderr, threads: int | None = None) -> TrainResult:
    """Continue the run at `target` (see the module docstring); returns its final report.

    Threads: `threads` (--threads), else NNCTL_THREADS, else the count the checkpoint recorded, so that the
    resumed run computes what the uninterrupted one would have; a different count is named in a warning."""
    run_dir, checkpoint = locate(Path(target))
    if checkpoint is not None:
        refuse_edited_config(run_dir, checkpoint)
    config = resumed_config(run_dir, overrides, config_path)
    for folder in (run_dir, run_dir / "checkpoints"):
        if folder.is_dir():
            remove_leftovers(folder)
    trainer = build_trainer(config, progress, initialize=checkpoint is None)   # else its weights are the run's own
    trainer.use_folder(run_dir)
    saved_threads = None
    if checkpoint is not None:
        net = trainer.network
        ckpt = load_checkpoint(checkpoint, expected_shapes(net.params(), net.buffers()))
        restore_snapshot(trainer, ckpt, str(checkpoint))
        saved_threads = ckpt.meta.blas_threads
    choice = choose_threads(threads, recorded=saved_threads)
    use_thread_choice(trainer, choice)
    with threads_for_run(choice):
        now = blas_threads()                 # what BLAS makes of the count (it cannot exceed its own pool)
    if saved_threads is not None and saved_threads != now:
        notify(thread_warning(checkpoint, saved_threads, choice, now))
    report = finished_report(run_dir)
    if report is not None and trainer.finished():
        notify(nothing_to_resume(trainer, run_dir, report["status"]))
        return TrainResult(run_dir, report)
    before = load_config(run_dir / "config.yaml")
    note = schedule_change(before, config, trainer.epoch)
    if note is not None:
        notify(note)
    with StopSignals() as signals:
        if config != before:
            write_text_atomic(run_dir / "config.yaml", dump_yaml(self_contained(config)), "config")
        if progress:
            notify(f"resuming {run_dir} at {trainer.position()}")
            notify(f"threads: {trainer.threads.describe()}")
        return TrainResult(run_dir, execute(trainer, watchers(trainer, progress, callbacks), signals,
                                            trainer.history))

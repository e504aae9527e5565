"""The end of a run, however it ended: best weights back in, final evaluation, curves, confusion matrix,
report.

Finishing never gives up half-way: every file is attempted even when an earlier one fails (a full disk,
a read-only folder), the failures are returned in order for the caller to report the first, and a stop
signal only cuts the final evaluation short; the report still gets written and says so.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from nnctl.atomic import WriteFailed
from nnctl.errors import InputError
from nnctl.health.summary import health_summary
from nnctl.runs.checkpoints import expected_shapes, load_checkpoint
from nnctl.runs.records import stored_config
from nnctl.training.report import versions, write_report
from nnctl.training.signals import StopRequested
from nnctl.training.trainer import Trainer
from nnctl.viz.confusion import plot_confusion
from nnctl.viz.curves import plot_curves


@dataclass
class Ending:
    """What finishing produced: the report, the writes that failed (in order), and the stop signal that
    cut the final evaluation short (None when it ran to its end or was not asked for)."""

    report: dict
    failures: list[WriteFailed] = field(default_factory=list)
    cut_short_by: int | None = None


def restore_best(trainer: Trainer) -> bool:
    """Load best.npz's parameters and buffers into the network; False when there is none yet."""
    best = trainer.run_dir / "checkpoints" / "best.npz"
    if not best.is_file():
        return False
    net = trainer.network
    ckpt = load_checkpoint(best, expected_shapes(net.params(), net.buffers()), groups=("param", "buffer"))
    net.load_arrays(ckpt.params, ckpt.buffers, str(best))
    return True


def finish(trainer: Trainer, status: str, message: str = "", evaluate: bool = True,
           stop: Callable[[], int | None] | None = None) -> Ending:
    """Write curves.png, report.json and report.md for the run (and confusion.png for a classifier; the
    health findings when there are health records); returns the Ending.

    With `evaluate`, the best checkpoint's weights are restored and measured on every split (train, val,
    test), confusion.png shows the test split (val, or train, when there is no test split), and the report
    names the checkpoint it measured; `stop` (a pending signal's number) ends that evaluation between
    batches. The report always holds the best epoch's own metrics row."""
    seconds = [row["seconds"] for row in trainer.history]
    best_epoch = trainer.best.best_epoch
    report = {"name": trainer.config.name, "run_dir": str(trainer.run_dir), "status": status,
              "message": message, "epochs_planned": trainer.train_cfg["epochs"], "epochs_run": trainer.epoch,
              "steps_into_next_epoch": trainer.progress.step, "best_epoch": best_epoch,
              "monitor": trainer.monitor, "best_value": trainer.best.best,
              "best_metrics": trainer.history[best_epoch - 1] if 0 < best_epoch <= len(trainer.history) else None,
              "evaluated": None,
              "parameters": trainer.network.parameter_count(), "seconds_per_epoch": seconds,
              "seconds_per_epoch_mean": sum(seconds) / len(seconds) if seconds else None,
              "total_seconds": float(sum(seconds)), "resumes": trainer.resumes,
              "class_names": trainer.setup.splits.class_names, "init": trainer.weights_from,
              "versions": versions()}
    if trainer.threads is not None:
        report["threads"] = trainer.threads.to_json()
    if trainer.findings:
        report["sanity"] = list(trainer.findings)
    report["config"] = stored_config(trainer.run_dir)      # `nnctl runs` reads it as JSON, 20x faster than YAML
    if trainer.setup.splits.notes:
        report["data"] = dict(trainer.setup.splits.notes)
    ending = Ending(report)
    health = health_summary(trainer.run_dir, trainer.config)
    if health is not None:
        report["health"] = health
    if evaluate:
        evaluate_best(trainer, ending, stop)
    if trainer.history:
        attempt(ending, lambda: plot_curves(trainer.history, trainer.run_dir / "curves.png",
                                            title=trainer.config.name, best_epoch=best_epoch,
                                            monitor=trainer.monitor))
    shown = next((split for split in ("test", "val", "train") if (report.get(split) or {}).get("confusion")), None)
    if shown is not None:
        attempt(ending, lambda: plot_confusion(
            report[shown]["confusion"], report["class_names"], trainer.run_dir / "confusion.png",
            title=f"{trainer.config.name}: {shown} split, best epoch ({best_epoch})"))
    attempt(ending, lambda: write_report(trainer.run_dir, report))
    return ending


def evaluate_best(trainer: Trainer, ending: Ending, stop: Callable[[], int | None] | None) -> None:
    """Measure the best checkpoint on every split into the report (see `finish`)."""
    report = ending.report
    try:
        if not restore_best(trainer):
            report["evaluated"] = "nothing: no epoch ended with a checkpoint"
            return
    except InputError as exc:
        report["evaluated"] = f"nothing: the best checkpoint could not be read ({exc})"
        return
    report["evaluated"] = f"the best checkpoint (epoch {trainer.best.best_epoch})"
    for split in ("train", "val", "test"):
        try:
            result = trainer.evaluate_split(split, stop, f"final evaluation: {split}"
                                            if trainer.show_progress else None)
            report[split] = None if result is None else result.to_json()
        except StopRequested as exc:
            ending.cut_short_by = exc.signum
            name = signal.Signals(exc.signum).name
            report["evaluated"] += f", cut short by {name} before the {split} split"
            report["status"] = "interrupted"
            report["message"] = "; ".join(filter(None, [
                report["message"], f"{name} arrived during the final evaluation (training had ended); "
                                   f"nnctl train --resume {trainer.run_dir} finishes the evaluation"]))
            return


def attempt(ending: Ending, write: Callable[[], None]) -> None:
    """Run one write; a failure is recorded in `ending` instead of stopping the others."""
    try:
        write()
    except WriteFailed as exc:
        ending.failures.append(exc)

"""The end of a run, however it ended: best weights back in, final evaluation, curves, confusion matrix,
report."""

from __future__ import annotations

from nnctl.training.checkpoints import load_checkpoint
from nnctl.training.report import versions, write_report
from nnctl.training.trainer import Trainer
from nnctl.viz.confusion import plot_confusion
from nnctl.viz.curves import plot_curves


def restore_best(trainer: Trainer) -> bool:
    """Load best.npz's parameters and buffers into the network; False when there is none yet."""
    best = trainer.run_dir / "checkpoints" / "best.npz"
    if not best.is_file():
        return False
    ckpt = load_checkpoint(best)
    trainer.network.load_arrays(ckpt.params, ckpt.buffers, str(best))
    return True


def finish(trainer: Trainer, status: str, message: str = "", evaluate: bool = True) -> dict:
    """Write curves.png, report.json and report.md for the run (and confusion.png for a classifier);
    returns the report.

    With `evaluate`, the best checkpoint's weights are restored and measured on every split (train, val,
    test), and confusion.png shows the test split (val, or train, when there is no test split); otherwise
    the report holds what the metrics rows say."""
    seconds = [row["seconds"] for row in trainer.history]
    report = {"name": trainer.config["name"], "run_dir": str(trainer.run_dir), "status": status,
              "message": message, "epochs_planned": trainer.train_cfg["epochs"], "epochs_run": trainer.epoch,
              "steps_into_next_epoch": trainer.progress.step, "best_epoch": trainer.best.best_epoch,
              "monitor": trainer.monitor, "best_value": trainer.best.best,
              "parameters": trainer.network.parameter_count(), "seconds_per_epoch": seconds,
              "seconds_per_epoch_mean": sum(seconds) / len(seconds) if seconds else None,
              "total_seconds": float(sum(seconds)), "resumes": trainer.resumes,
              "class_names": trainer.setup.splits.class_names, "init": trainer.weights_from,
              "versions": versions()}
    if evaluate and restore_best(trainer):
        for split in ("train", "val", "test"):
            report[split] = trainer.evaluate_split(split, f"final evaluation: {split}" if trainer.show_progress
                                                   else None)
    if trainer.history:
        plot_curves(trainer.history, trainer.run_dir / "curves.png", title=trainer.config["name"],
                    best_epoch=trainer.best.best_epoch, monitor=trainer.monitor)
    shown = next((split for split in ("test", "val", "train") if (report.get(split) or {}).get("confusion")), None)
    if shown is not None:
        plot_confusion(report[shown]["confusion"], report["class_names"], trainer.run_dir / "confusion.png",
                       title=f"{trainer.config['name']}: {shown} split, best epoch ({report['best_epoch']})")
    write_report(trainer.run_dir, report)
    return report

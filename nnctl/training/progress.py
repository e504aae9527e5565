"""What a person watching a run sees: a tqdm bar per epoch with the running loss and accuracy."""

from __future__ import annotations

from tqdm import tqdm

from nnctl.training.callbacks import Callback, StepInfo


class ProgressBar(Callback):
    """One bar per epoch on stderr: steps done, running train loss (and accuracy); at the epoch's end
    the bar shows the epoch's row (train and validation metrics) and is closed."""

    def __init__(self):
        self.bar: tqdm | None = None

    def on_epoch_start(self, trainer) -> None:
        epochs = trainer.train_cfg["epochs"]
        self.bar = tqdm(total=trainer.steps_per_epoch, initial=trainer.progress.step,
                        desc=f"epoch {trainer.epoch + 1}/{epochs}", unit="batch", leave=True,
                        dynamic_ncols=True, mininterval=0.25)

    def on_step_end(self, trainer, step: StepInfo) -> None:
        p = trainer.progress
        shown = {"loss": f"{p.loss_sum / p.seen:.4f}"}
        if step.correct is not None:
            shown["acc"] = f"{p.correct / p.seen:.4f}"
        self.bar.set_postfix(shown, refresh=False)
        self.bar.update()

    def on_epoch_end(self, trainer, row: dict) -> None:
        shown = {k: f"{row[k]:.4f}" for k in ("train_loss", "train_acc", "val_loss", "val_acc") if row[k] is not None}
        self.bar.set_postfix(shown, refresh=True)
        self.close()

    def on_fit_end(self, trainer, status: str) -> None:
        self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

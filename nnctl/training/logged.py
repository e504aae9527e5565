"""Feeding a run's loggers (nnctl.loggers) from the training loop; a logger never costs the run.

    on_fit_start    each logger started; a resumed run's logger first gets the epochs (metrics rows) and the
                    steps (steps.csv rows up to the checkpoint) it does not hold yet
    on_step_end     every k-th step's (global step, loss, lr) kept, k as in steps.csv (train.steps_every)
    on_epoch_end    the kept steps, then the epoch's metrics row, sent; a step or epoch a logger already
                    holds (re-run after a kill) is not sent again
    on_fit_end      the kept steps sent
    on_report       the report (written by then, pictures too), then the logger is closed

Any exception from a logger (a server gone, a full disk) drops that logger and prints ONE warning line
naming it and the point it failed at; training goes on, and every other logger too.
"""

from __future__ import annotations

from collections.abc import Callable

from nnctl.build.prepare import config_dir
from nnctl.loggers.base import Already, Logger, RunStart, first_line
from nnctl.loggers.choose import make_loggers
from nnctl.options.yamlio import plain
from nnctl.training.callbacks import Callback, StepInfo
from nnctl.training.step_log import default_every, rows_up_to

class SendToLoggers(Callback):
    """Feeds `loggers` (see the module docstring); `say` prints the warning line."""

    def __init__(self, loggers: list[Logger], say: Callable[[str], None]):
        self.loggers = list(loggers)
        self.say = say
        self.already: dict[int, Already] = {}
        self.kept: list[tuple[int, float, float]] = []
        self.every = 1

    def guard(self, logger: Logger, where: str, call: Callable[[], object]) -> object:
        """`call()`, or on any exception: drop the logger, say so in one line, return None."""
        try:
            return call()
        except Exception as exc:       # whatever a logger's library raises, the run goes on without it
            self.loggers.remove(logger)
            self.say(f"warning: the {logger.kind} logger failed {where} ({first_line(exc)}); training goes on "
                     f"without it (the run folder has everything)")
            try:
                logger.close()
            except Exception:          # it failed already; its close may fail too
                pass
            return None

    def on_fit_start(self, trainer) -> None:
        self.every = trainer.train_cfg["steps_every"] or default_every(trainer.steps_per_epoch)
        resumed = trainer.global_step > 0 or trainer.epoch > 0
        run = RunStart(trainer.run_dir, trainer.config.name, plain(trainer.config.sections()), resumed)
        where = "when resuming" if resumed else "at the start"
        for logger in list(self.loggers):
            already = self.guard(logger, where, lambda: logger.start(run))
            if already is None:
                continue
            self.already[id(logger)] = already
            steps = [(int(r[0]), float(r[2]), float(r[3])) for r in rows_up_to(trainer.run_dir / "steps.csv",
                                                                                trainer.global_step)
                     if int(r[0]) > already.step] if resumed else []
            rows = [row for row in trainer.history if row["epoch"] > already.epoch]
            self.guard(logger, where, lambda: self.send(logger, steps, rows))

    def send(self, logger: Logger, steps: list[tuple[int, float, float]], rows: list[dict]) -> None:
        already = self.already[id(logger)]
        steps = [s for s in steps if s[0] > already.step]
        if steps:
            logger.steps(steps)
        for row in rows:
            if row["epoch"] > already.epoch:
                logger.epoch(row)

    def on_step_end(self, trainer, step: StepInfo) -> None:
        if self.loggers and step.global_step % self.every == 0:
            self.kept.append((step.global_step, float(step.loss), float(step.lr)))

    def on_epoch_end(self, trainer, row: dict) -> None:
        steps, self.kept = self.kept, []
        for logger in list(self.loggers):
            self.guard(logger, f"at epoch {row['epoch']}", lambda: self.send(logger, steps, [row]))

    def on_fit_end(self, trainer, status: str) -> None:
        steps, self.kept = self.kept, []
        for logger in list(self.loggers):
            self.guard(logger, "at the end of training", lambda: self.send(logger, steps, []))

    def on_report(self, trainer, report: dict) -> None:
        for logger in list(self.loggers):
            if self.guard(logger, "with the report", lambda: (logger.end(report), True)[1]):
                self.guard(logger, "when closing", lambda: (logger.close(), True)[1])
        self.loggers = []


def logger_callbacks(trainer, say: Callable[[str], None]) -> list[Callback]:
    """The callback that feeds the loggers of the trainer's config (none when it lists none)."""
    entries = trainer.config.loggers
    return [SendToLoggers(make_loggers(entries, config_dir(trainer.config)), say)] if entries else []

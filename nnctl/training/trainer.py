"""Everything one training run changes as it goes, and the operations that change it.

A `Trainer` holds the prepared network, the optimizer, the schedule, the run's generator, the two
monitors (best checkpoint, early stopping), the metrics rows so far and the position: `epoch` completed
epochs plus `progress.step` steps into the next one. The loop (loop.py) drives it step by step;
snapshots.py saves and restores all of it, which is what makes a resume exact.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nnctl.build.metric_names import (
    check_metric_names,
    class_columns,
    measures_accuracy,
    metric_columns,
    monitored_metric,
    split_metrics,
    top_ks,
)
from nnctl.build.prepare import Setup, evaluation_generator
from nnctl.cpus import ThreadChoice
from nnctl.data.augment import augment_batch
from nnctl.data.loader import RowGatherer
from nnctl.data.sampler import epoch_order
from nnctl.errors import ConfigError, WorkError
from nnctl.nn.evaluation import Evaluation
from nnctl.nn.registry import OPTIMIZERS, SCHEDULES
from nnctl.optim.monitor import Monitor
from nnctl.runs.run_dir import MetricsLog
from nnctl.training.bn_recompute import recompute_batchnorm
from nnctl.training.callbacks import StepInfo
from nnctl.training.metrics import evaluate


class Diverged(WorkError):
    """The training loss became NaN or infinite, or exceeded train.divergence_ratio times the first batch's
    loss (taken as at least 1), or the weights became NaN or infinite."""


def options_of(section: dict) -> dict:
    return {k: v for k, v in section.items() if k != "type"}


@dataclass
class EpochProgress:
    """Where the current epoch stands: steps done, the sums its train_loss and train_acc come from (and,
    with several loss terms, each term's loss sum and each head's correct count), the seconds spent in it
    so far, and the generator state its permutation was drawn from."""

    step: int = 0
    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0
    order_state: dict | None = field(default=None, repr=False)
    term_sums: list[float] = field(default_factory=list)
    head_correct: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class RestoredState:
    """A run's position and history as a checkpoint holds them (see snapshots.restore_snapshot)."""

    epoch: int
    progress: EpochProgress
    history: list[dict]
    global_step: int
    weights_from: dict | None
    resumes: int
    first_loss: float | None
    findings: tuple[str, ...] = ()            # the sanity check's, made when the run began


class Trainer:
    """One run of a prepared network. Raises ConfigError (before anything is written) when metrics named
    by the config do not exist for this run.

    `weights_from` says where the starting weights came from (init.from), for the report; `show_progress`
    draws bars for long evaluations too. The run folder is given once it exists (`use_folder`), and its
    metrics.csv opened by `open_log`."""

    def __init__(self, setup: Setup, weights_from: dict | None = None, show_progress: bool = False):
        self.setup = setup
        self.config = cfg = setup.config
        self.train_cfg = cfg.train
        self.network, self.objective, self.rng = setup.network, setup.objective, setup.rng
        self.params = self.network.trainable_params()
        self.optimizer = OPTIMIZERS[cfg.optimizer["type"]](
            self.params, self.network.penalized_keys(), **options_of(cfg.optimizer))
        self.schedule = SCHEDULES[cfg.schedule["type"]](
            cfg.optimizer["lr"], self.train_cfg["epochs"], **options_of(cfg.schedule))
        check_metric_names(cfg, setup)
        self.counts_accuracy = measures_accuracy(setup)
        self.columns = metric_columns(setup)
        self.class_words = [column[4:] for column in class_columns(setup)]    # val_WORD columns' words
        self.top_k = top_ks(cfg) if self.class_words else ()
        self.monitor = monitored_metric(cfg, setup)
        self.best = Monitor(self.monitor)
        stop = self.train_cfg["early_stopping"]
        self.early = None if stop is None else Monitor(
            self.monitor if stop["metric"] == "auto" else stop["metric"], min_delta=stop["min_delta"])
        self.epoch = 0
        self.progress = EpochProgress()
        self.history: list[dict] = []
        self.global_step = 0
        self.resumes = 0
        self.first_loss: float | None = None      # the run's first batch loss: the divergence bound's base
        self.saved: dict[str, str] = {}             # checkpoint name -> position of its last good write
        self.weights_from = weights_from
        self.run_dir: Path | None = None
        self.log: MetricsLog | None = None
        self.improved = False                 # did the last epoch improve the monitored metric?
        self.findings: list[str] = []         # what the sanity check found when the run began (see sanity.py)
        self.threads: ThreadChoice | None = None     # set by the runner before the first step (nnctl.cpus)
        self.show_progress = show_progress
        x = setup.splits.train[0]
        self.steps_per_epoch = math.ceil(len(x) / self.train_cfg["batch_size"])
        self.order: np.ndarray | None = None
        self.gather = RowGatherer()            # batch work arrays, reused from step to step
        self.sampler = cfg.data.get("sampler")
        if self.sampler and setup.splits.num_classes is None:
            raise ConfigError("data.sampler", "balanced needs class labels, but this data has real-valued targets")

    # -------------------------------------------------------------------------------------- the run's place
    def use_folder(self, run_dir: Path) -> None:
        """The run folder everything is written into, once it exists."""
        self.run_dir = run_dir

    def open_log(self, rows: list[dict]) -> None:
        """Start metrics.csv with `rows` (a resumed run's rows so far)."""
        self.log = MetricsLog(self.run_dir / "metrics.csv", rows, self.columns)

    def restore(self, state: RestoredState) -> None:
        """Take up the position and history a checkpoint holds (the network, optimizer, schedule, monitors
        and generator are loaded through their own methods first)."""
        self.epoch, self.progress, self.history = state.epoch, state.progress, state.history
        self.global_step, self.weights_from = state.global_step, state.weights_from
        self.resumes, self.first_loss = state.resumes, state.first_loss
        self.findings = list(state.findings)

    def note(self, finding: str) -> None:
        """Keep a sanity finding for the report."""
        self.findings.append(finding)

    def take_progress(self) -> EpochProgress:
        """The current epoch's progress, leaving a fresh one in its place (the position back at the
        epoch's start)."""
        progress, self.progress = self.progress, EpochProgress()
        return progress

    # -------------------------------------------------------------------------------------- epochs
    def open_epoch(self) -> None:
        """Draw this epoch's sample order (a permutation, or data.sampler's draw, which ignores
        train.shuffle); re-entering an epoch mid-way (after a resume) redraws the same order from the
        generator state saved at its start, then puts the generator back where it was."""
        if not self.train_cfg["shuffle"] and not self.sampler:
            self.order = None
            return
        labels = self.setup.splits.train[1]
        if self.progress.step == 0:
            self.progress.order_state = copy.deepcopy(self.rng.bit_generator.state)
            self.order = epoch_order(labels, self.sampler, self.rng)
            return
        current = self.rng.bit_generator.state
        self.rng.bit_generator.state = self.progress.order_state
        self.order = epoch_order(labels, self.sampler, self.rng)
        self.rng.bit_generator.state = current

    def batch(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Batch i of the epoch: (x, y), gathered in the epoch's order and augmented when asked. Gathered
        batches are work arrays, overwritten by the next call."""
        x, y = self.setup.splits.train
        size = self.train_cfg["batch_size"]
        if self.order is None:
            xb, yb = x[i * size:(i + 1) * size], y[i * size:(i + 1) * size]
        else:
            rows = self.order[i * size:(i + 1) * size]
            xb, yb = self.gather("x", x, rows), self.gather("y", y, rows)
        if self.train_cfg["augment"]:
            xb = augment_batch(xb, self.rng, **self.train_cfg["augment"])
        return xb, yb

    # -------------------------------------------------------------------------------------- steps
    def compute_gradients(self, i: int) -> StepInfo:
        """Forward and backward on batch i (penalties included); the weights are not changed yet."""
        xb, yb = self.batch(i)
        lr = self.schedule.lr(self.epoch + i / self.steps_per_epoch)
        net, objective = self.network, self.objective
        loss = objective.forward(net, xb, yb, training=True, rng=self.rng)
        term_losses = list(objective.values)
        head_correct = objective.correct(yb)
        objective.backward(net)
        grads = net.grads()
        if objective.penalties:
            loss += objective.penalty(self.params)
            objective.add_penalty_grads(self.params, grads)
        self.check_loss(loss, i)
        correct = head_correct[0] if self.counts_accuracy else None      # the first term is then the first head
        return StepInfo(self.epoch, i, self.steps_per_epoch, self.global_step + 1, lr, loss, len(xb), correct,
                        grads, term_losses, head_correct)

    def check_loss(self, loss: float, i: int) -> None:
        """Raise Diverged for a NaN or infinite loss, or one above train.divergence_ratio times the run's
        first batch loss (taken as at least 1)."""
        where = f"epoch {self.epoch + 1}, step {i + 1}"
        if not math.isfinite(loss):
            raise Diverged(f"loss became {loss} at {where}")
        if self.first_loss is None:
            self.first_loss = float(loss)
        ratio = self.train_cfg["divergence_ratio"]
        if ratio is not None and loss > ratio * max(self.first_loss, 1.0):
            raise Diverged(f"loss became {loss:.4g} at {where}, more than train.divergence_ratio = {ratio:g} "
                           f"times the first batch's loss ({self.first_loss:.4g}, taken as at least 1)")

    def position(self) -> str:
        """Where the run stands, in words: 'end of epoch 2' or 'epoch 3, step 4 of 15' (steps done)."""
        if self.progress.step == 0:
            return f"end of epoch {self.epoch}" if self.epoch else "before the first step"
        return f"epoch {self.epoch + 1}, step {self.progress.step} of {self.steps_per_epoch}"

    def apply_update(self, step: StepInfo) -> None:
        """The optimizer step, then the epoch's running sums; afterwards the position is one step further."""
        self.optimizer.step(step.grads, step.lr)
        step.grads = {}
        p = self.progress
        p.loss_sum += step.loss * step.samples
        p.seen += step.samples
        if step.correct is not None:
            p.correct += step.correct
        if len(self.objective.terms) > 1:
            p.term_sums = [total + value * step.samples for total, value in
                           zip(p.term_sums or [0.0] * len(step.term_losses), step.term_losses)]
            p.head_correct = [total + count for total, count in
                              zip(p.head_correct or [0] * len(step.head_correct), step.head_correct)]
        p.step = step.step + 1
        self.global_step = step.global_step

    def close_epoch(self, seconds: float) -> dict:
        """End the epoch: recompute batch-norm statistics where asked, validate, append the metrics row,
        feed the schedule and the monitors, and move the position to the next epoch. Returns the row."""
        recompute_batchnorm(self.network, self.setup.splits.train[0], self.setup.eval_batch)
        p = self.progress
        row = {"epoch": self.epoch + 1, "lr": self.schedule.lr(self.epoch), **self.train_metrics(p)}
        row.update(split_metrics("val", self.evaluate_split("val"), self.class_words))
        row["seconds"] = p.seconds + seconds
        self.schedule.observe(self.epoch, row)
        self.history.append(row)
        self.epoch += 1
        self.progress = EpochProgress()
        self.improved = self.best.update(row[self.monitor], self.epoch)
        if self.early is not None:
            self.early.update(row[self.early.metric], self.epoch)
        return row

    def train_metrics(self, p: EpochProgress) -> dict:
        """The epoch's train_* entries from its running sums."""
        row = {"train_loss": p.loss_sum / p.seen, "train_acc": p.correct / p.seen if self.counts_accuracy else None}
        if len(self.objective.terms) > 1:
            row.update({f"train_loss.{term.name}": total / p.seen
                        for term, total in zip(self.objective.terms, p.term_sums)})
            row.update({f"train_acc.{term.name}": count / p.seen
                        for term, count in zip(self.objective.heads, p.head_correct)})
        return row

    def stop_early(self) -> bool:
        """Has the early-stopping metric gone `patience` epochs without improving?"""
        return self.early is not None and self.epoch > 0 and \
            self.early.since_best >= self.train_cfg["early_stopping"]["patience"]

    def finished(self) -> bool:
        return self.epoch >= self.train_cfg["epochs"] or self.stop_early()

    # -------------------------------------------------------------------------------------- evaluation
    def evaluate_split(self, split: str, stop: Callable[[], int | None] | None = None,
                       bar: str | None = None) -> Evaluation | None:
        """Loss, accuracy and confusion matrix on a split in evaluation mode (with a progress bar titled
        `bar`, if given); None when the split is empty. `stop` may end it between batches (see
        metrics.evaluate)."""
        data = getattr(self.setup.splits, split)
        if data is None or len(data[0]) == 0:
            return None
        return evaluate(self.network, self.objective, data[0], data[1], self.setup.eval_batch,
                        self.setup.splits.num_classes, evaluation_generator(self.config.seed), stop=stop,
                        bar=bar, top_k=self.top_k)

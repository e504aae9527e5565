"""The training loop: epochs of shuffled minibatches, validation, checkpoints, early stopping, reports.

`train(config, out)` validates and builds everything before it creates the run directory, so a bad
config leaves nothing behind. It then trains, writing metrics.csv as it goes, last.npz every epoch and
best.npz whenever the monitored metric improves; at the end it restores the best weights, evaluates the
test split and writes curves.png, report.json and report.md.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from nnctl.training.bn_recompute import nodes_to_recompute, recompute_batchnorm
from nnctl.training.checkpoints import load_checkpoint, save_checkpoint
from nnctl.data import iterate_batches
from nnctl.data.augment import augment_batch
from nnctl.errors import ConfigError, Interrupted, WorkError
from nnctl.training.metrics import evaluate, predictions
from nnctl.nn.registry import OPTIMIZERS
from nnctl.training.report import versions, write_report
from nnctl.training.run_dir import MetricsLog, create_run_dir, write_text_atomic
from nnctl.nn.registry import SCHEDULES
from nnctl.training.prepare import Setup, config_dir, prepare
from nnctl.config.yamlio import dump_yaml, plain


def options_of(section: dict) -> dict:
    return {k: v for k, v in section.items() if k != "type"}


def measures_accuracy(setup: Setup) -> bool:
    """True when each sample gets one predicted label to compare with its true label (as `predictions`
    decides): classification against labels, or a single-logit binary net."""
    primary = setup.objective.primary
    if primary.target != "labels" or setup.splits.num_classes is None:
        return False
    return primary.loss.task == "classification" or setup.network.by_name[primary.node].layer.out_shape == (1,)


def produced_metrics(setup: Setup) -> set[str]:
    has_val = setup.splits.val is not None and len(setup.splits.val[0]) > 0
    kinds = ("loss", "acc") if measures_accuracy(setup) else ("loss",)
    return {f"{split}_{kind}" for split in (("train", "val") if has_val else ("train",)) for kind in kinds}


def monitored_metric(config: dict, setup: Setup) -> str:
    """The metric that decides which epoch is best: val_acc, val_loss, train_acc or train_loss."""
    metric = config["train"]["monitor"]
    if metric == "auto":
        produced = produced_metrics(setup)
        metric = next(m for m in ("val_acc", "val_loss", "train_acc", "train_loss") if m in produced)
    return metric


def direction(metric: str) -> str:
    """'max' for accuracies, 'min' for losses."""
    return "max" if metric.endswith("acc") else "min"


def improved(value: float | None, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Is `value` better than `best` by more than min_delta? Missing or non-finite values never are."""
    if value is None or not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best + min_delta if mode == "max" else value < best - min_delta


class Diverged(Exception):
    pass


@dataclass
class TrainResult:
    run_dir: Path
    report: dict


class Trainer:
    """One training run of a prepared network into `run_dir`."""

    def __init__(self, setup: Setup, progress: bool):
        self.setup, self.progress = setup, progress
        cfg = setup.config
        self.train_cfg = cfg["train"]
        self.params = setup.network.trainable_params()
        self.optimizer = OPTIMIZERS[cfg["optimizer"]["type"]](
            self.params, setup.network.penalized_keys(), **options_of(cfg["optimizer"]))
        self.schedule = SCHEDULES[cfg["schedule"]["type"]](
            cfg["optimizer"]["lr"], self.train_cfg["epochs"], **options_of(cfg["schedule"]))
        self.monitor = monitored_metric(cfg, setup)
        self.check_metric_names(cfg)
        stop = self.train_cfg["early_stopping"]
        self.early = None if stop is None else {
            **stop, "metric": self.monitor if stop["metric"] == "auto" else stop["metric"]}
        self.best_value: float | None = None
        self.best_epoch = 0
        self.seconds: list[float] = []
        self.epoch = 0

    def check_metric_names(self, cfg: dict) -> None:
        """Metrics named by the config must be ones this run produces (no val_* without a validation split,
        no *_acc where no accuracy is measured)."""
        splits = self.setup.splits
        produced = produced_metrics(self.setup)
        named = [("train.monitor", cfg["train"]["monitor"]), ("schedule.metric", cfg["schedule"].get("metric"))]
        if cfg["train"]["early_stopping"]:
            named.append(("train.early_stopping.metric", cfg["train"]["early_stopping"]["metric"]))
        augment = cfg["train"]["augment"]
        if augment and (augment["flip"] or augment["shift"]) and len(splits.input_shape) != 3:
            raise ConfigError("train.augment", f"augmentation needs image-shaped inputs (C, H, W), got "
                                               f"{tuple(splits.input_shape)}; set data.flatten: false")
        for path, metric in named:
            if metric not in (None, "auto") and metric not in produced:
                why = ("no validation split: data.val_size is 0" if metric.startswith("val_")
                       and not any(m.startswith("val_") for m in produced) else "no accuracy is measured for this "
                       "loss and target")
                raise ConfigError(path, f"this run has no {metric!r} ({why}); use one of {', '.join(sorted(produced))}")

    # ---------------------------------------------------------------------------------------- steps
    def train_epoch(self, epoch: int) -> dict:
        s, net, objective = self.setup, self.setup.network, self.setup.objective
        x, y = s.splits.train
        batch = self.train_cfg["batch_size"]
        steps = math.ceil(len(x) / batch)
        loss_sum, correct, seen = 0.0, 0, 0
        bar = tqdm(total=steps, desc=f"epoch {epoch + 1}/{self.train_cfg['epochs']}", unit="batch",
                   disable=not self.progress, leave=True, dynamic_ncols=True, mininterval=0.25)
        batches = iterate_batches(x, y, batch, s.rng if self.train_cfg["shuffle"] else None)
        augment = self.train_cfg["augment"]
        for i, (xb, yb) in enumerate(batches):
            if augment:
                xb = augment_batch(xb, s.rng, **augment)
            lr = self.schedule.lr(epoch + i / steps)
            loss = objective.forward(net, xb, yb, training=True, rng=s.rng)
            pred = predictions(objective.primary_scores(), objective.task)
            objective.backward(net)
            grads = net.grads()
            if objective.penalties:
                loss += objective.penalty(self.params)
                objective.add_penalty_grads(self.params, grads)
            if not math.isfinite(loss):
                bar.close()
                raise Diverged(f"loss became {loss} at epoch {epoch + 1}, step {i + 1}")
            self.optimizer.step(grads, lr)
            loss_sum += loss * len(xb)
            seen += len(xb)
            if pred is not None:
                correct += int(np.count_nonzero(pred == yb))
            bar.update()
            if i % 20 == 0 or i == steps - 1:
                bar.set_postfix(loss=f"{loss_sum / seen:.4f}",
                                **({"acc": f"{correct / seen:.4f}"} if pred is not None else {}), refresh=False)
        self.bar = bar
        return {"lr": self.schedule.lr(epoch), "train_loss": loss_sum / seen,
                "train_acc": correct / seen if pred is not None else None}

    def evaluate_split(self, split: str) -> dict | None:
        data = getattr(self.setup.splits, split)
        if data is None or len(data[0]) == 0:
            return None
        return evaluate(self.setup.network, self.setup.objective, data[0], data[1],
                        self.train_cfg["eval_batch_size"], self.setup.splits.num_classes)

    # ---------------------------------------------------------------------------------------- files
    def meta(self, row: dict | None) -> dict:
        cfg = self.setup.config
        return {"config": plain(dict(cfg)), "config_dir": str(config_dir(cfg).resolve()),
                "epoch": self.epoch, "metrics": row, "best_epoch": self.best_epoch, "monitor": self.monitor,
                "rng_state": self.setup.rng.bit_generator.state, "schedule_state": self.schedule.state(),
                "normalization": self.setup.splits.normalization, "versions": versions()}

    def save(self, name: str, row: dict | None) -> Path:
        path = self.run_dir / "checkpoints" / f"{name}.npz"
        net = self.setup.network
        save_checkpoint(path, net.params(), net.buffers(), self.optimizer.state_arrays(), self.meta(row))
        return path

    def restore_best(self) -> None:
        """Load best.npz back into the network; recompute batch-norm statistics into it where asked."""
        best = self.run_dir / "checkpoints" / "best.npz"
        if not best.is_file():
            return
        ckpt = load_checkpoint(best)
        self.setup.network.load_arrays(ckpt.params, ckpt.buffers, str(best))
        if nodes_to_recompute(self.setup.network):
            recompute_batchnorm(self.setup.network, self.setup.splits.train[0], self.train_cfg["eval_batch_size"])
            net = self.setup.network
            meta = {k: v for k, v in ckpt.meta.items() if k != "format"}
            save_checkpoint(best, net.params(), net.buffers(), ckpt.optim, meta)

    # ---------------------------------------------------------------------------------------- the loop
    def run(self, run_dir: Path) -> dict:
        """Train into `run_dir`; returns the report. Overflow warnings are silenced: the loss guard reports
        a diverging run in one line instead."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self.run_guarded(run_dir)

    def run_guarded(self, run_dir: Path) -> dict:
        self.run_dir = run_dir
        self.log = MetricsLog(run_dir / "metrics.csv")
        status, message = "completed", ""
        try:
            if self.fit_all():
                status = "stopped early"
                message = (f"early stopping: {self.early['metric']} did not improve for "
                           f"{self.early['patience']} epochs")
        except Diverged as exc:
            kept = (f"kept the best checkpoint (epoch {self.best_epoch})" if self.best_epoch
                    else "no epoch finished, so there is no best checkpoint")
            return self.finish("diverged", f"{exc}; {kept}", error=WorkError(
                f"training diverged: {exc}; {kept} in {self.run_dir}. Try a smaller optimizer.lr or "
                f"gradient clipping (optimizer.clip_norm)"))
        except (Exception, MemoryError) as exc:     # anything else: say so in the report, then fail in one line
            return self.finish("failed", f"{type(exc).__name__}: {exc}", error=WorkError(
                f"training failed at epoch {self.epoch + 1}: {type(exc).__name__}: {exc} (report in {self.run_dir}; "
                f"run with --debug for the traceback)"), evaluate_test=False)
        except KeyboardInterrupt:
            if self.progress and getattr(self, "bar", None) is not None:
                self.bar.close()
            last = self.save("last", self.log.rows[-1] if self.log.rows else None)
            return self.finish("interrupted", f"interrupted during epoch {self.epoch + 1}", error=Interrupted(
                f"interrupted: saved {last} and the report in {self.run_dir}"), evaluate_test=False)
        return self.finish(status, message)

    def fit_all(self) -> bool:
        """Train epoch after epoch; True if early stopping ended the run."""
        return any(self.fit_one_epoch(epoch) for epoch in range(self.train_cfg["epochs"]))

    def fit_one_epoch(self, epoch: int) -> bool:
        """Train and validate one epoch, log and checkpoint it. Returns True when early stopping fires."""
        start = time.perf_counter()
        row = {"epoch": epoch + 1, **self.train_epoch(epoch)}
        val = self.evaluate_split("val")
        row["val_loss"] = val["loss"] if val else None
        row["val_acc"] = val.get("acc") if val else None
        row["seconds"] = time.perf_counter() - start
        self.epoch = epoch + 1
        self.seconds.append(row["seconds"])
        self.log.append(row)
        if self.progress:
            extra = {k: f"{row[k]:.4f}" for k in ("train_loss", "train_acc", "val_loss", "val_acc")
                     if row[k] is not None}
            self.bar.set_postfix(extra, refresh=True)
            self.bar.close()
        self.schedule.observe(epoch, row)
        self.save("last", row)
        if improved(row[self.monitor], self.best_value, direction(self.monitor)):
            self.best_value, self.best_epoch = row[self.monitor], epoch + 1
            self.save("best", row)
        if self.early is not None:
            history = [r[self.early["metric"]] for r in self.log.rows]
            best_i = self.best_index(history)
            return len(history) - 1 - best_i >= self.early["patience"]
        return False

    def best_index(self, history: list) -> int:
        best_i, mode = 0, direction(self.early["metric"])
        for i, value in enumerate(history):
            if improved(value, history[best_i], mode, self.early["min_delta"]):
                best_i = i
        return best_i

    def finish(self, status: str, message: str, error: Exception | None = None, evaluate_test: bool = True) -> dict:
        from nnctl.viz.curves import plot_curves

        if status != "interrupted":
            self.restore_best()
        report = {"name": self.setup.config["name"], "run_dir": str(self.run_dir), "status": status,
                  "message": message, "epochs_planned": self.train_cfg["epochs"], "epochs_run": self.epoch,
                  "best_epoch": self.best_epoch, "monitor": self.monitor, "best_value": self.best_value,
                  "parameters": self.setup.network.parameter_count(),
                  "seconds_per_epoch": self.seconds,
                  "seconds_per_epoch_mean": float(np.mean(self.seconds)) if self.seconds else None,
                  "total_seconds": float(sum(self.seconds)),
                  "class_names": self.setup.splits.class_names, "versions": versions()}
        if evaluate_test:
            for split in ("train", "val", "test"):
                report[split] = self.evaluate_split(split)
        if self.log.rows:
            plot_curves(self.log.rows, self.run_dir / "curves.png", title=self.setup.config["name"])
        write_report(self.run_dir, report)
        if error is not None:
            raise error
        return report


def train(config: dict, out: str | Path = "runs", progress: bool = True) -> TrainResult:
    """Train the resolved `config`; results go to a new folder under `out/<name>/`."""
    setup = prepare(config, progress=progress)
    try:
        trainer = Trainer(setup, progress)
    except ConfigError as exc:
        source = getattr(config, "source", "")
        raise (exc.with_source(source) if source else exc) from None
    run_dir = create_run_dir(out, config["name"])
    write_text_atomic(run_dir / "config.yaml", dump_yaml(dict(config)))
    report = trainer.run(run_dir)
    return TrainResult(run_dir, report)

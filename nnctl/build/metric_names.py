"""Which epoch metrics a run produces, which one picks its best checkpoint, and the check that every metric
a config names is one of them.

Every run has `train_loss` (the weighted total plus penalties) and, with a validation split, `val_loss`;
`train_acc` and `val_acc` when the first loss term is a head (one predicted class per sample). A run with
several loss terms also has each term's own loss, `train_loss.NAME` and `val_loss.NAME`, and each head's
accuracy, `train_acc.NAME` and `val_acc.NAME`, NAME being the term's name.
"""

from __future__ import annotations

from nnctl.options.spec import did_you_mean
from nnctl.data.augment import check_augment
from nnctl.errors import ConfigError
from nnctl.nn.evaluation import Evaluation
from nnctl.nn.objective import Objective
from nnctl.build.prepare import Setup

PREFERENCE = ("val_acc", "val_loss", "train_acc", "train_loss")


def measures_accuracy(setup: Setup) -> bool:
    """True when the first loss term gives each sample one predicted label to compare with its true label."""
    return setup.objective.primary.head


def has_validation(setup: Setup) -> bool:
    return setup.splits.val is not None and len(setup.splits.val[0]) > 0


def split_metric_names(objective: Objective, split: str, every: bool = False) -> list[str]:
    """The metric names of one split ("train" or "val") in column order; with `every`, also the
    unsuffixed accuracy of a run whose first term is not a head (a column that stays empty)."""
    names = [f"{split}_loss"]
    several = len(objective.terms) > 1
    if several:
        names += [f"{split}_loss.{term.name}" for term in objective.terms]
    if objective.primary.head or every:
        names.append(f"{split}_acc")
    if several:
        names += [f"{split}_acc.{term.name}" for term in objective.heads]
    return names


def metric_columns(setup: Setup) -> list[str]:
    """The columns of this run's metrics.csv: epoch, lr, train metrics, validation metrics, seconds.
    train_acc, val_acc and the validation columns are there in every run (empty where not measured), so
    a one-term run has the classic columns epoch, lr, train_loss, train_acc, val_loss, val_acc, seconds."""
    return (["epoch", "lr"] + split_metric_names(setup.objective, "train", every=True)
            + split_metric_names(setup.objective, "val", every=True) + ["seconds"])


def produced_metrics(setup: Setup) -> set[str]:
    """The metrics this run has values for."""
    splits = ("train", "val") if has_validation(setup) else ("train",)
    return {name for split in splits for name in split_metric_names(setup.objective, split)}


def split_metrics(split: str, result: Evaluation | None) -> dict:
    """A metrics row's entries for one split from an evaluation (None: the split is empty)."""
    if result is None:
        return {f"{split}_loss": None, f"{split}_acc": None}
    row = {f"{split}_loss": result.loss, f"{split}_acc": result.acc}
    row.update({f"{split}_loss.{name}": value for name, value in (result.term_loss or {}).items()})
    row.update({f"{split}_acc.{name}": value for name, value in (result.head_acc or {}).items()})
    return row


def monitored_metric(config: dict, setup: Setup) -> str:
    """The metric that decides which epoch is best: train.monitor, or for `auto` the first of val_acc,
    val_loss, train_acc, train_loss that this run produces."""
    metric = config.train["monitor"]
    if metric == "auto":
        produced = produced_metrics(setup)
        metric = next(m for m in PREFERENCE if m in produced)
    return metric


def check_metric_names(config: dict, setup: Setup) -> None:
    """Metrics named by the config must be ones this run produces (no val_* without a validation split,
    no *_acc where no accuracy is measured, no .NAME that is not a term); augmentation needs image-shaped
    inputs. Raises ConfigError."""
    produced = produced_metrics(setup)
    named = [("train.monitor", config.train["monitor"]), ("schedule.metric", config.schedule.get("metric"))]
    if config.train["early_stopping"]:
        named.append(("train.early_stopping.metric", config.train["early_stopping"]["metric"]))
    check_augment(config.train["augment"], setup.splits.input_shape, "train.augment")
    for path, metric in named:
        if metric not in (None, "auto") and metric.partition(".")[0] not in PREFERENCE:
            raise ConfigError(path, f"unknown metric {metric!r}{did_you_mean(metric, PREFERENCE)}; this run "
                                    f"measures {', '.join(sorted(produced))}")
        if metric not in (None, "auto") and metric not in produced:
            raise ConfigError(path, f"this run has no {metric!r} ({missing_reason(metric, setup, produced)}); "
                                    f"use one of {', '.join(sorted(produced))}")


def missing_reason(metric: str, setup: Setup, produced: set[str]) -> str:
    """Why `metric` is not among this run's metrics, in a few words."""
    base, _, name = metric.partition(".")
    if base.startswith("val_") and not any(m.startswith("val_") for m in produced):
        return "no validation split: data.val_size is 0"
    if name:
        terms = setup.objective.terms
        if len(terms) == 1:
            return "per-term metrics exist only with several loss terms"
        if name not in [term.name for term in terms]:
            return f"no loss term is named {name!r}"
        return f"loss term {name!r} gives no class per sample, so it has no accuracy"
    return "no accuracy is measured for this loss and target"

"""Which epoch metrics a run produces, which one picks its best checkpoint, and the check that every metric
a config names is one of them.

Every run has `train_loss` (the weighted total plus penalties) and, with a validation split, `val_loss`;
`train_acc` and `val_acc` when the first loss term is a head (one predicted class per sample). A run with
several loss terms also has each term's own loss, `train_loss.NAME` and `val_loss.NAME`, and each head's
accuracy, `train_acc.NAME` and `val_acc.NAME`, NAME being the term's name. A classifier also has
`val_WORD` for each WORD of `train.metrics` beyond acc (val_macro_f1, val_top5, ...) and for each such
metric the config monitors (train.monitor, early stopping, schedule.metric), measured on the validation
split at every epoch's end.
"""

from __future__ import annotations

from nnctl.options.spec import did_you_mean
from nnctl.data.augment import check_augment
from nnctl.errors import ConfigError
from nnctl.nn.class_metrics import is_metric_word, top_k_of
from nnctl.nn.evaluation import Evaluation
from nnctl.nn.objective import Objective
from nnctl.build.prepare import Setup

PREFERENCE = ("val_acc", "val_loss", "train_acc", "train_loss")


def measures_accuracy(setup: Setup) -> bool:
    """True when the first loss term gives each sample one predicted label to compare with its true label."""
    return setup.objective.primary.head


def has_validation(setup: Setup) -> bool:
    return setup.splits.val is not None and len(setup.splits.val[0]) > 0


def watched_metrics(config) -> list[tuple[str, str | None]]:
    """(key path, metric) of every metric the config watches: train.monitor, early stopping, schedule."""
    named = [("train.monitor", config.train["monitor"]), ("schedule.metric", config.schedule.get("metric"))]
    if config.train["early_stopping"]:
        named.append(("train.early_stopping.metric", config.train["early_stopping"]["metric"]))
    return named


def class_metric_words(config) -> list[str]:
    """The words beyond acc whose val_WORD columns this run has: train.metrics in order, then those only
    monitored (val_macro_f1 as monitor without macro_f1 listed)."""
    words = [word for word in config.train["metrics"] if word != "acc"]
    for _, metric in watched_metrics(config):
        if metric and is_class_metric(metric) and metric[4:] not in words:
            words.append(metric[4:])
    return words


def top_ks(config) -> tuple[int, ...]:
    """The k of every topK among the run's class metrics."""
    return tuple(k for k in map(top_k_of, class_metric_words(config)) if k is not None)


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
            + split_metric_names(setup.objective, "val", every=True) + class_columns(setup) + ["seconds"])


def class_columns(setup: Setup) -> list[str]:
    """val_WORD for the run's class metrics (a classifier's only)."""
    if not (measures_accuracy(setup) and setup.splits.num_classes):
        return []
    return [f"val_{word}" for word in class_metric_words(setup.config)]


def produced_metrics(setup: Setup) -> set[str]:
    """The metrics this run has values for."""
    splits = ("train", "val") if has_validation(setup) else ("train",)
    names = {name for split in splits for name in split_metric_names(setup.objective, split)}
    return names | (set(class_columns(setup)) if has_validation(setup) else set())


def split_metrics(split: str, result: Evaluation | None, words: list[str] = ()) -> dict:
    """A metrics row's entries for one split from an evaluation (None: the split is empty), with
    `{split}_WORD` for each of `words` (class metrics, nnctl.nn.class_metrics)."""
    if result is None:
        return {f"{split}_loss": None, f"{split}_acc": None, **{f"{split}_{word}": None for word in words}}
    row = {f"{split}_loss": result.loss, f"{split}_acc": result.acc}
    row.update({f"{split}_{word}": result.figure(word) for word in words})
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
    check_augment(config.train["augment"], setup.splits.input_shape, "train.augment")
    check_class_metrics(config, setup)
    for path, metric in watched_metrics(config):
        base = (metric or "").partition(".")[0]
        if metric not in (None, "auto") and base not in PREFERENCE and not is_class_metric(base):
            raise ConfigError(path, f"unknown metric {metric!r}{did_you_mean(metric, PREFERENCE)}; this run "
                                    f"measures {', '.join(sorted(produced))}")
        if metric not in (None, "auto") and metric not in produced:
            raise ConfigError(path, f"this run has no {metric!r} ({missing_reason(metric, setup, produced)}); "
                                    f"use one of {', '.join(sorted(produced))}")


def is_class_metric(metric: str) -> bool:
    """val_WORD for a WORD train.metrics accepts beyond acc (val_macro_f1, val_top5, ...)."""
    return metric.startswith("val_") and metric != "val_acc" and is_metric_word(metric[4:])


def check_class_metrics(config, setup: Setup) -> None:
    """train.metrics beyond acc need a classifier (the first loss term a head on class labels), and topK
    a K below the number of classes. Raises ConfigError at train.metrics."""
    words = [word for word in config.train["metrics"] if word != "acc"]
    if words and not (measures_accuracy(setup) and setup.splits.num_classes):
        raise ConfigError("train.metrics", f"{words[0]} needs a classifier: the first loss term must give one "
                                           f"class per sample on class labels")
    classes = setup.splits.num_classes or 0
    for word in class_metric_words(config):
        k = top_k_of(word)
        if k is not None and k >= classes:
            raise ConfigError("train.metrics", f"{word} needs more than {k} classes (this data has {classes}), "
                                               f"else every sample counts as right")


def missing_reason(metric: str, setup: Setup, produced: set[str]) -> str:
    """Why `metric` is not among this run's metrics, in a few words."""
    base, _, name = metric.partition(".")
    if base.startswith("val_") and not any(m.startswith("val_") for m in produced):
        return "no validation split: data.val_size is 0"
    if base not in PREFERENCE:
        return "class metrics need a classifier: the first loss term giving one class per sample"
    if name:
        terms = setup.objective.terms
        if len(terms) == 1:
            return "per-term metrics exist only with several loss terms"
        if name not in [term.name for term in terms]:
            return f"no loss term is named {name!r}"
        return f"loss term {name!r} gives no class per sample, so it has no accuracy"
    return "no accuracy is measured for this loss and target"

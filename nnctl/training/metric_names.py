"""Which epoch metrics a run produces, which one picks its best checkpoint, and the check that every metric
a config names is one of them."""

from __future__ import annotations

from nnctl.config.spec import did_you_mean
from nnctl.data.augment import check_augment
from nnctl.errors import ConfigError
from nnctl.training.prepare import Setup

PREFERENCE = ("val_acc", "val_loss", "train_acc", "train_loss")


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
    """The metric that decides which epoch is best: train.monitor, or for `auto` the first of val_acc,
    val_loss, train_acc, train_loss that this run produces."""
    metric = config["train"]["monitor"]
    if metric == "auto":
        produced = produced_metrics(setup)
        metric = next(m for m in PREFERENCE if m in produced)
    return metric


def check_metric_names(config: dict, setup: Setup) -> None:
    """Metrics named by the config must be ones this run produces (no val_* without a validation split,
    no *_acc where no accuracy is measured); augmentation needs image-shaped inputs. Raises ConfigError."""
    produced = produced_metrics(setup)
    named = [("train.monitor", config["train"]["monitor"]), ("schedule.metric", config["schedule"].get("metric"))]
    if config["train"]["early_stopping"]:
        named.append(("train.early_stopping.metric", config["train"]["early_stopping"]["metric"]))
    check_augment(config["train"]["augment"], setup.splits.input_shape, "train.augment")
    for path, metric in named:
        if metric not in (None, "auto") and metric not in PREFERENCE:
            raise ConfigError(path, f"unknown metric {metric!r}{did_you_mean(metric, PREFERENCE)}; this run "
                                    f"measures {', '.join(sorted(produced))}")
        if metric not in (None, "auto") and metric not in produced:
            why = ("no validation split: data.val_size is 0" if metric.startswith("val_")
                   and not any(m.startswith("val_") for m in produced) else "no accuracy is measured for this "
                   "loss and target")
            raise ConfigError(path, f"this run has no {metric!r} ({why}); use one of {', '.join(sorted(produced))}")

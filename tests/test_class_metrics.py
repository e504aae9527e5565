"""Per-class precision, recall, F1, support; macro and weighted F1; balanced accuracy; top-k accuracy: exact
against hand-computed confusion matrices and rankings; the metric names and their direction."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from nnctl.config.sections import resolve
from nnctl.errors import ConfigError
from nnctl.nn.class_metrics import class_scores, top_k_hits
from nnctl.optim.monitor import direction
from nnctl.training.metrics import confusion_matrix

# rows: true class, columns: predicted. Class 2 is never predicted; class 3 has no samples but is predicted once.
CONFUSION = [[5, 1, 0, 0],
             [2, 3, 0, 1],
             [1, 1, 0, 0],
             [0, 0, 0, 0]]


def test_per_class_figures_by_hand():
    scores = class_scores(np.array(CONFUSION))
    assert scores["support"] == [6, 6, 2, 0]
    # precision: tp / predicted (5/8, 3/5, nothing predicted as 2 -> 0, 0/1)
    assert scores["precision"] == [float(F(5, 8)), float(F(3, 5)), 0.0, 0.0]
    assert scores["recall"] == [float(F(5, 6)), float(F(3, 6)), 0.0, None]
    # F1 = 2 tp / (support + predicted)
    assert scores["f1"] == [float(F(10, 14)), float(F(6, 11)), 0.0, None]
    macro = (F(10, 14) + F(6, 11) + 0) / 3                          # the three classes with samples
    weighted = (F(10, 14) * 6 + F(6, 11) * 6) / 14
    assert scores["macro_f1"] == pytest.approx(float(macro), rel=1e-15, abs=0)
    assert scores["weighted_f1"] == pytest.approx(float(weighted), rel=1e-15, abs=0)
    assert scores["balanced_acc"] == pytest.approx(float((F(5, 6) + F(1, 2)) / 3), rel=1e-15, abs=0)


def test_confusion_from_labels_is_a_bincount():
    true = np.array([0, 0, 1, 1, 1, 2])
    pred = np.array([0, 1, 1, 1, 0, 0])
    assert confusion_matrix(true, pred, 3).tolist() == [[1, 1, 0], [1, 2, 0], [1, 0, 0]]


def test_a_perfect_and_an_empty_split():
    perfect = class_scores(np.diag([3, 4]))
    assert perfect["macro_f1"] == perfect["weighted_f1"] == perfect["balanced_acc"] == 1.0
    empty = class_scores(np.zeros((2, 2), dtype=int))
    assert (empty["macro_f1"], empty["weighted_f1"], empty["recall"]) == (None, None, [None, None])


def test_top_k_by_hand_with_argmax_ties():
    scores = np.array([[0.1, 0.5, 0.4, 0.0],      # true 2: rank 1 (0.5 ahead)
                       [0.3, 0.3, 0.3, 0.3],      # true 3: all tied, lower indices rank ahead: rank 3
                       [0.9, 0.1, 0.2, 0.3],      # true 0: rank 0
                       [0.2, 0.2, 0.1, 0.0]])     # true 1: tied with class 0, which ranks ahead: rank 1
    true = np.array([2, 3, 0, 1])
    assert top_k_hits(scores, true, (1, 2, 3, 4)).tolist() == [1, 3, 3, 4]
    # top-1 agrees with argmax exactly, ties included
    assert top_k_hits(scores, true, (1,))[0] == int((scores.argmax(axis=1) == true).sum())


@pytest.mark.parametrize("metric, mode", [("val_macro_f1", "max"), ("val_weighted_f1", "max"), ("val_top5", "max"),
                                          ("val_balanced_acc", "max"), ("val_acc.main", "max"), ("val_loss", "min"),
                                          ("train_loss", "min"), ("val_loss.aux", "min")])
def test_direction_per_metric(metric, mode):
    assert direction(metric) == mode


BASE = {"data": {"dataset": "spiral"}, "model": [{"type": "dense", "units": 3}]}


def test_metric_names_in_config():
    config = resolve({**BASE, "train": {"metrics": ["acc", "macro_f1", "top2"], "monitor": "val_weighted_f1"}})
    assert config.train["metrics"] == ["acc", "macro_f1", "top2"]
    assert resolve(BASE).train["metrics"] == ["acc"]
    for bad in (["top1"], ["acc", "acc"], [], ["f1"], "macro_f1"):
        with pytest.raises(ConfigError) as error:
            resolve({**BASE, "train": {"metrics": bad}})
        assert str(error.value).startswith("train.metrics: expected a list of metric names (acc, macro_f1, "
                                           "weighted_f1, balanced_acc, or topK with K >= 2 such as top5), got ")
    with pytest.raises(ConfigError) as error:
        resolve({**BASE, "train": {"monitor": "val_macro_f"}})
    assert "did you mean 'val_macro_f1'?" in str(error.value)

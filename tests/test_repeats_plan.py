"""--seeds and --folds parsed exactly; stratified folds partition the non-test samples evenly per class and
leave the test split as it is; the summary's statistics are the mean and sample std of the per-run values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnctl.build.prepare import prepare, seed_streams
from nnctl.config.sections import resolve
from nnctl.data import load_splits
from nnctl.data.folds import fold_indices, fold_numbers
from nnctl.errors import ConfigError, InputError
from nnctl.repeats.plan import Plan, member_config, parse_folds, parse_seeds, plan_from_options, show_seeds
from nnctl.repeats.summary import metrics_of, summary_csv, summary_rows, summary_table

SPIRAL = {"name": "s", "data": {"dataset": "spiral", "samples": 300, "classes": 3, "normalize": "none"},
          "model": {"layers": [{"type": "dense", "units": 8}, {"type": "relu"}, {"type": "dense", "units": 3}]}}


@pytest.mark.parametrize("text, seeds", [("0-4", (0, 1, 2, 3, 4)), ("0,3,7", (0, 3, 7)), ("7", (7,)),
                                         ("0-2,9", (0, 1, 2, 9)), ("3-3", (3,)), (" 1, 2 ", (1, 2))])
def test_seed_lists(text, seeds):
    assert parse_seeds(text) == seeds
    assert parse_seeds(show_seeds(seeds)) == seeds


@pytest.mark.parametrize("text, message", [
    ("4-1", "--seeds 4-1: the range 4-1 goes down; write 1-4"),
    ("x", "--seeds x: expected seeds such as 0-4 or 0,3,7 (non-negative integers), got 'x'"),
    ("-1", "--seeds -1: expected seeds such as 0-4 or 0,3,7 (non-negative integers), got '-1'"),
    ("0,,1", "--seeds 0,,1: expected seeds such as 0-4 or 0,3,7 (non-negative integers), got ''"),
    ("1,0-2", "--seeds 1,0-2: seed 1 is given twice (the same seed gives the same run)"),
    ("0-5000", "--seeds 0-5000: more than 1000 runs in one group"),
])
def test_bad_seed_lists(text, message):
    with pytest.raises(InputError) as caught:
        parse_seeds(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("text", ["1", "0", "x", "2.5", "-3", "1001"])
def test_bad_fold_counts(text):
    with pytest.raises(InputError, match=rf"^--folds {text}: expected a number of folds from 2 to 1000$"):
        parse_folds(text)


def test_one_kind_of_group_at_a_time():
    assert plan_from_options(None, None) is None
    assert plan_from_options("0-1", None) == Plan("seeds", (0, 1))
    assert plan_from_options(None, "3").members()[2].fold == (2, 3)
    with pytest.raises(InputError, match=r"^--seeds 0-1 and --folds 3: give one of them"):
        plan_from_options("0-1", "3")


def test_member_configs_change_only_the_seed_or_the_fold():
    base = resolve(dict(SPIRAL))
    seeded = member_config(base, Plan("seeds", (5,)).members()[0])
    assert seeded.seed == 5 and seeded.with_sections(seed=base.seed) == base
    folded = member_config(base, Plan("folds", (4,)).members()[3])
    assert folded.data["fold"] == [3, 4] and base.data["fold"] is None
    assert folded.with_sections(data=base.data) == base


def test_fold_numbers_spread_every_class_evenly():
    rng = np.random.default_rng(0)
    labels = rng.choice(3, size=103, p=[0.6, 0.3, 0.1])
    numbers = fold_numbers(labels, len(labels), 5)
    for c in range(3):
        counts = np.bincount(numbers[labels == c], minlength=5)
        assert counts.max() - counts.min() <= 1, (c, counts)
    sizes = np.bincount(numbers, minlength=5)
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == 103


def test_folds_partition_the_non_test_samples_and_keep_the_test_split():
    base = resolve(dict(SPIRAL))
    plain = prepare(base, progress=False).splits
    seen = []
    for k in range(4):
        splits = prepare(member_config(base, Plan("folds", (4,)).members()[k]), progress=False).splits
        np.testing.assert_array_equal(splits.test[0], plain.test[0])
        np.testing.assert_array_equal(splits.test[1], plain.test[1])
        assert len(splits.train[1]) + len(splits.val[1]) == 300 - 60        # test_size 0.2 of 300
        per_class = np.bincount(np.concatenate([plain.train[1], plain.val[1]]))   # outside the test split
        assert np.all(np.abs(np.bincount(splits.val[1]) - per_class / 4) < 1)    # stratified: within one


def test_folds_are_a_partition_of_the_pool():
    labels = np.random.default_rng(3).integers(0, 4, size=500)
    parts = [fold_indices(500, 100, labels, [k, 6], None, np.random.default_rng(9)) for k in range(6)]
    test = parts[0][0]
    assert all(np.array_equal(p[0], test) for p in parts) and len(test) == 100
    for _, val, train in parts:
        assert len(np.intersect1d(val, train)) == 0 and len(np.union1d(val, train)) == 400
        assert len(np.intersect1d(val, test)) == 0 and len(np.intersect1d(train, test)) == 0
    every_val = np.concatenate([p[1] for p in parts])
    assert len(every_val) == len(np.unique(every_val)) == 400            # each sample validated once


def test_fold_limit_cuts_the_training_split_only():
    order = fold_indices(50, 10, np.repeat(np.arange(2), 25), [1, 5], 7, np.random.default_rng(1))
    assert [len(part) for part in order] == [10, 8, 7]


def test_more_folds_than_the_smallest_class_is_named():
    plain = prepare(resolve(dict(SPIRAL)), progress=False).splits
    per_class = np.bincount(np.concatenate([plain.train[1], plain.val[1]]))
    smallest = int(per_class.min())
    fits = resolve({**SPIRAL, "data": {**SPIRAL["data"], "fold": [0, smallest]}})
    assert set(load_splits(fits.data, seed_streams(0)[0], ".", progress=False).val[1]) == {0, 1, 2}
    base = resolve({**SPIRAL, "data": {**SPIRAL["data"], "fold": [0, smallest + 1]}})
    with pytest.raises(ConfigError) as caught:
        load_splits(base.data, seed_streams(0)[0], ".", progress=False)
    assert str(caught.value) == (f"data.fold: {smallest + 1} folds but class '{int(per_class.argmin())}' has only "
                                 f"{smallest} samples outside the test split (at most {smallest} folds)")


@pytest.mark.parametrize("value", [[2, 2], [0, 1], [-1, 3], [0], "0/3", [0, 1001], [True, 3]])
def test_bad_fold_values(value):
    with pytest.raises(ConfigError, match=r"^data.fold: expected null or \[k, K\]"):
        resolve({**SPIRAL, "data": {**SPIRAL["data"], "fold": value}})


def test_summary_statistics_are_mean_and_sample_std():
    reports = [{"val": {"acc": a, "loss": 1 - a, "samples": 10, "correct": 3}, "test": {"acc": a / 2},
                "best_epoch": e, "epochs_run": 5} for a, e in ((0.5, 2), (0.75, 3), (1.0, 5))]
    rows = {row.name: row for row in summary_rows(reports)}
    assert list(rows) == ["val_acc", "val_loss", "test_acc", "best_epoch", "epochs_run"]
    assert rows["val_acc"].mean == 0.75 and rows["val_acc"].std == 0.25
    assert rows["test_acc"].values == (0.25, 0.375, 0.5) and rows["epochs_run"].std == 0.0
    assert math.isclose(rows["best_epoch"].std, math.sqrt(7 / 3), rel_tol=1e-15)
    table = summary_table(list(rows.values()), ["seed-0", "seed-1", "seed-2"])
    assert table[2] == "| val_acc | 75.00% | 25.00 | 50.00% | 75.00% | 100.00% |"
    assert table[5] == "| best_epoch | 3.333 | 1.528 | 2 | 3 | 5 |"
    csv = summary_csv(list(rows.values()), ["seed-0", "seed-1", "seed-2"]).splitlines()
    assert csv[:2] == ["metric,mean,std,seed-0,seed-1,seed-2", "val_acc,0.75,0.25,0.5,0.75,1.0"]
    assert summary_rows(reports[:1])[0].std is None
    assert metrics_of({"val": None, "test": {"acc": float("nan")}}) == {}

"""Learning-rate schedules: values at chosen t against hand arithmetic, warmup, plateau logic, state."""

from __future__ import annotations

import json
import math

import pytest

from nnctl.errors import ConfigError, InputError
from nnctl.nn.registry import SCHEDULES
from nnctl.optim.schedules import Cosine, ReduceOnPlateau, Schedule
from nnctl.options.spec import validate


def make(name: str, base_lr: float = 0.1, total_epochs: int = 10, **config) -> Schedule:
    return SCHEDULES[name](base_lr, total_epochs, **config)


def assert_values(schedule: Schedule, expected: dict[float, float]) -> None:
    for t, want in expected.items():
        assert schedule.lr(t) == pytest.approx(want, rel=1e-12, abs=0), f"t={t}"


def test_constant():
    assert_values(make("constant"), {0: 0.1, 0.5: 0.1, 7.25: 0.1, 30: 0.1})


def test_step_decays_every_few_epochs_and_holds_within_an_epoch():
    # 0.1 * 0.5^floor(floor(t) / 3)
    assert_values(make("step", every=3, gamma=0.5),
                  {0: 0.1, 2.99: 0.1, 3: 0.05, 5.5: 0.05, 6: 0.025, 8.75: 0.025, 9: 0.0125})


def test_multistep():
    # 0.1 * 0.1^(number of milestones <= floor(t))
    assert_values(make("multistep", milestones=[2, 5]),
                  {0: 0.1, 1.9: 0.1, 2: 0.01, 4.99: 0.01, 5: 0.001, 100: 0.001})


def test_exponential_is_per_epoch():
    assert_values(make("exponential", gamma=0.5), {0: 0.1, 0.5: 0.1, 1: 0.05, 3.2: 0.0125})
    assert make("exponential").lr(2) == pytest.approx(0.1 * 0.95 * 0.95, rel=1e-12)


def test_inverse_time():
    # 0.1 / (1 + 0.5 floor(t))
    assert_values(make("inverse_time", k=0.5), {0: 0.1, 0.9: 0.1, 1.5: 0.1 / 1.5, 4: 0.1 / 3})


def test_cosine_is_continuous_and_ends_at_min_lr():
    s = make("cosine", min_lr=0.01)                  # T = 10
    # 0.01 + 0.09 * (1 + cos(pi t / 10)) / 2
    assert_values(s, {0: 0.1, 5: 0.055, 10: 0.01, 12: 0.01,
                      2.5: 0.01 + 0.09 * (1 + math.sqrt(0.5)) / 2,
                      7.5: 0.01 + 0.09 * (1 - math.sqrt(0.5)) / 2})
    assert s.lr(5.25) < s.lr(5.0) < s.lr(4.75)      # changes within an epoch


def test_warmup_with_step():
    # factor 0.1 + 0.9 min(1, t/2), times 0.1 * 0.5^floor(floor(t)/3)
    s = make("step", every=3, gamma=0.5, warmup_epochs=2)
    assert_values(s, {0: 0.1 * 0.1, 0.5: 0.1 * (0.1 + 0.9 * 0.25), 1: 0.1 * 0.55, 2: 0.1, 2.5: 0.1,
                      3: 0.05})


def test_warmup_with_cosine():
    # factor 0.5 + 0.5 min(1, t/1), times 0.1 (1 + cos(pi t / 4)) / 2
    s = make("cosine", total_epochs=4, warmup_epochs=1, warmup_start=0.5)
    assert_values(s, {0: 0.5 * 0.1, 0.5: 0.75 * 0.1 * (1 + math.cos(math.pi / 8)) / 2,
                      1: 0.1 * (1 + math.sqrt(0.5)) / 2, 2: 0.05})


def test_fractional_warmup_reaches_full_rate_mid_epoch():
    s = make("constant", warmup_epochs=0.5, warmup_start=0.2)
    assert_values(s, {0: 0.02, 0.25: 0.1 * 0.6, 0.5: 0.1, 3: 0.1})


def test_negative_progress_is_refused():
    with pytest.raises(ValueError):
        make("constant").lr(-0.5)


# ---------------------------------------------------------------------------------------------- plateau

def feed(schedule: Schedule, values: list[float], metric: str = "val_loss") -> list[float]:
    """The lr after each epoch's observation."""
    out = []
    for epoch, value in enumerate(values):
        schedule.observe(epoch, {metric: value, "train_loss": 0.0})
        out.append(schedule.lr(epoch + 1))
    return out


def test_plateau_patience_and_threshold():
    s = make("reduce_on_plateau", base_lr=1.0, patience=1, factor=0.5)
    # 1.0, 0.9 improve; two bad epochs (> patience 1) halve; 0.89 improves; 0.88995 is within the
    # relative threshold 1e-4 of 0.89 (needs < 0.889911), so bad; 0.9 bad again: halve.
    assert feed(s, [1.0, 0.9, 0.95, 0.95, 0.89, 0.88995, 0.9]) == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert s.monitor.best == 0.89 and s.monitor.best_epoch == 5


def test_plateau_cooldown():
    s = make("reduce_on_plateau", base_lr=1.0, patience=0, factor=0.5, cooldown=2)
    # every epoch after the first is bad; after a reduction two epochs are not counted
    assert feed(s, [1.0] * 8) == [1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125]


def test_plateau_min_lr():
    s = make("reduce_on_plateau", base_lr=1.0, patience=0, factor=0.5, min_lr=0.3)
    assert feed(s, [1.0, 2.0, 2.0, 2.0]) == [1.0, 0.5, 0.3, 0.3]


def test_plateau_mode_auto_maximizes_accuracy():
    s = make("reduce_on_plateau", base_lr=1.0, metric="val_acc", patience=1, factor=0.5)
    assert s.mode == "max"
    assert feed(s, [0.5, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7], "val_acc") == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_plateau_explicit_mode_wins():
    s = make("reduce_on_plateau", base_lr=1.0, metric="val_acc", mode="min", patience=0, factor=0.5)
    assert feed(s, [0.5, 0.6], "val_acc") == [1.0, 0.5]
    s = make("reduce_on_plateau", base_lr=1.0, metric="score", mode="max", patience=0, factor=0.5)
    assert feed(s, [-3.0, -2.0, -2.0], "score") == [1.0, 1.0, 0.5]


def test_plateau_nan_never_improves():
    s = make("reduce_on_plateau", base_lr=1.0, patience=0, factor=0.5)
    assert feed(s, [float("nan"), 1.0, float("nan")]) == [0.5, 0.5, 0.25]


def test_plateau_with_warmup():
    s = make("reduce_on_plateau", base_lr=1.0, patience=0, factor=0.5, warmup_epochs=4)
    s.observe(0, {"val_loss": 1.0})
    s.observe(1, {"val_loss": 1.0})
    assert s.lr(2) == pytest.approx(0.5 * (0.1 + 0.9 * 0.5), rel=1e-12)


def test_plateau_missing_metric_names_the_key():
    s = make("reduce_on_plateau", metric="val_los")
    with pytest.raises(ConfigError, match=r"schedule.metric: expected a metric this run measures "
                                          r"\(train_loss, val_loss\), got 'val_los'"):
        s.observe(0, {"val_loss": 1.0, "train_loss": 1.0})
    s = make("reduce_on_plateau")                      # no validation split: val_loss is None
    with pytest.raises(ConfigError, match=r"measures \(epoch, train_loss\), got 'val_loss'"):
        s.observe(0, {"epoch": 1, "train_loss": 1.0, "val_loss": None})


# ---------------------------------------------------------------------------------------------- state

def test_plateau_state_round_trip_continues_identically():
    config = {"base_lr": 1.0, "patience": 1, "factor": 0.5, "cooldown": 1}
    s = make("reduce_on_plateau", **config)
    assert json.loads(json.dumps(s.state())) == {"lr": 1.0, "monitor": {"best": None, "best_epoch": 0, "since_best": 0},
                                                 "bad_epochs": 0, "cooldown_left": 0}
    feed(s, [1.0, 0.9, 0.95, 0.95, 0.97, 0.98])      # reduced after 0.95, cooldown over, one bad epoch
    saved = json.loads(json.dumps(s.state()))
    assert saved == {"lr": 0.5, "monitor": {"best": 0.9, "best_epoch": 2, "since_best": 4}, "bad_epochs": 1,
                     "cooldown_left": 0}
    resumed = make("reduce_on_plateau", **config)
    resumed.load_state(saved)
    later = [0.96, 0.99, 0.85, 0.9, 0.9, 0.9]
    assert feed(resumed, later) == feed(s, later) == [0.25, 0.25, 0.25, 0.25, 0.125, 0.125]
    assert resumed.state() == s.state()


def test_plateau_cooldown_survives_a_resume():
    s = make("reduce_on_plateau", base_lr=1.0, patience=0, factor=0.5, cooldown=2)
    feed(s, [1.0, 1.0])
    assert s.state()["cooldown_left"] == 2
    resumed = make("reduce_on_plateau", base_lr=1.0, patience=0, factor=0.5, cooldown=2)
    resumed.load_state(json.loads(json.dumps(s.state())))
    assert feed(resumed, [1.0] * 3) == [0.5, 0.5, 0.25]


@pytest.mark.parametrize("name, config", [("constant", {}), ("step", {"every": 2}),
                                          ("multistep", {"milestones": [3]}), ("exponential", {}),
                                          ("inverse_time", {"k": 1}), ("cosine", {})])
def test_stateless_schedules_round_trip(name, config):
    s = make(name, **config)
    assert s.state() == {}
    fresh = make(name, **config)
    fresh.load_state(json.loads(json.dumps(s.state())))
    assert [fresh.lr(t / 4) for t in range(48)] == [s.lr(t / 4) for t in range(48)]


@pytest.mark.parametrize("name, state, message", [
    ("constant", {"lr": 0.1}, r"does not fit a Constant schedule: expected keys \[\], got \['lr'\]"),
    ("reduce_on_plateau", {"lr": 0.1}, "does not fit a ReduceOnPlateau schedule"),
    ("reduce_on_plateau", {"lr": "x", "monitor": {}, "bad_epochs": 0, "cooldown_left": 0}, "wrong type"),
    ("reduce_on_plateau", {"lr": 0.1, "monitor": {"best": "x"}, "bad_epochs": 0, "cooldown_left": 0},
     "monitor state for 'val_loss' is damaged"),
    ("reduce_on_plateau", [1, 2], "got list"),
])
def test_bad_state_is_refused_and_changes_nothing(name, state, message):
    s = make(name)
    before = s.state()
    with pytest.raises(InputError, match=message):
        s.load_state(state)
    assert s.state() == before


# ---------------------------------------------------------------------------------------------- options

@pytest.mark.parametrize("name, given, message", [
    ("step", {"gamma": 0.5}, "schedule.every: required key is missing"),
    ("step", {"every": 0}, "schedule.every: expected a positive integer, got 0"),
    ("step", {"every": 2, "gama": 0.5}, "schedule.gama: unknown key [(]did you mean 'gamma'[?][)]"),
    ("multistep", {"milestones": [5, 3]},
     r"schedule.milestones: expected a strictly increasing list of positive integers, got \[5, 3\]"),
    ("multistep", {"milestones": []}, "schedule.milestones: expected a strictly increasing list"),
    ("exponential", {"gamma": 1.5}, r"schedule.gamma: expected a number in \(0, 1\], got 1.5"),
    ("cosine", {"warmup_start": 0}, r"schedule.warmup_start: expected a number in \(0, 1\], got 0"),
    ("constant", {"warmup_epochs": -1}, "schedule.warmup_epochs: expected a non-negative number, got -1"),
    ("reduce_on_plateau", {"mode": "maximum"}, "schedule.mode: expected one of auto, min, max"),
    ("reduce_on_plateau", {"factor": 1}, r"schedule.factor: expected a number in \(0, 1\), got 1"),
])
def test_bad_options_name_the_key(name, given, message):
    with pytest.raises(ConfigError, match=message):
        validate(SCHEDULES[name].options, given, "schedule")


def test_cosine_min_lr_above_the_learning_rate_is_refused():
    with pytest.raises(ConfigError, match=r"schedule.min_lr: expected a number <= the learning rate 0.1, got 0.5"):
        Cosine(0.1, 10, min_lr=0.5)


def test_defaults():
    s = make("reduce_on_plateau")
    assert (s.config["metric"], s.mode, s.config["factor"], s.config["patience"]) == ("val_loss", "min", 0.1, 2)
    assert make("step", every=1).config["gamma"] == 0.1
    assert make("exponential").config["gamma"] == 0.95
    assert (make("constant").config["warmup_epochs"], make("constant").config["warmup_start"]) == (0.0, 0.1)
    assert isinstance(make("reduce_on_plateau"), ReduceOnPlateau)

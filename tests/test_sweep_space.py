"""The space's distributions as Optuna draws them through nnctl's parameters: log-uniform draws are uniform in
log(value) (checked statistically, with a check that tells a linear-uniform draw apart), log-scale integers,
steps, choices, and the grid's points."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from nnctl.errors import ConfigError
from nnctl.sweep.space import grid_points, parse_param
from nnctl.sweep.study import sampler_for
from nnctl.sweep.spec import SweepSpec

optuna.logging.set_verbosity(optuna.logging.ERROR)
DRAWS = 3000


def draw(param, n: int = DRAWS, seed: int = 11) -> np.ndarray:
    """n values of `param` from a random sampler (one real in-memory study, trials asked and told)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    values = []
    for _ in range(n):
        trial = study.ask()
        values.append(param.suggest(trial))
        study.tell(trial, 0.0)
    return np.array(values)


def ks_uniform(u: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the sample u (in [0, 1]) and the uniform distribution."""
    u = np.sort(u)
    n = len(u)
    return float(max(np.max(np.arange(1, n + 1) / n - u), np.max(u - np.arange(n) / n)))


def looks_log_uniform(values: np.ndarray, low: float, high: float) -> bool:
    """KS test of log(values) against uniform on [log low, log high] at the 1% level (critical 1.63/sqrt(n)),
    and every decade holding its share of the draws within 5 standard errors."""
    u = (np.log(values) - math.log(low)) / (math.log(high) - math.log(low))
    decades = np.floor(np.log10(values / low)).astype(int)
    share = 1 / round(math.log10(high / low))
    counts = np.bincount(decades, minlength=round(math.log10(high / low)))
    error = math.sqrt(len(values) * share * (1 - share))
    return ks_uniform(u) < 1.63 / math.sqrt(len(values)) and bool(np.all(np.abs(counts - len(values) * share)
                                                                          < 5 * error))


def test_loguniform_draws_are_uniform_in_log_scale():
    param = parse_param("optimizer.lr", {"loguniform": [1.0e-5, 1.0e-1]}, "space.optimizer.lr")
    values = draw(param)
    assert values.min() >= 1e-5 and values.max() <= 1e-1
    assert looks_log_uniform(values, 1e-5, 1e-1)
    # each decade holds about a quarter: a linear-uniform draw would put 90% in the top decade
    assert np.mean(values < 1e-2) == pytest.approx(0.75, abs=0.03)
    assert np.median(values) == pytest.approx(1e-3, rel=0.15)


def test_the_check_rejects_a_linear_uniform_draw():
    values = draw(parse_param("optimizer.lr", {"uniform": [1.0e-5, 1.0e-1]}, "space.optimizer.lr"))
    assert not looks_log_uniform(values, 1e-5, 1e-1)


def test_log_scale_integers_spread_by_ratio():
    param = parse_param("train.batch_size", {"int": [32, 512], "log": True}, "space.train.batch_size")
    values = draw(param, 3000)
    assert values.dtype.kind == "i" and values.min() >= 32 and values.max() <= 512
    assert np.median(values) == pytest.approx(128, rel=0.1)      # sqrt(32 * 512): the geometric middle
    assert np.mean(values < 64) == pytest.approx(0.25, abs=0.04)  # [32, 64) is a quarter of the log range


def test_steps_and_choices_take_only_their_values():
    steps = draw(parse_param("p", {"uniform": [0.0, 0.6], "step": 0.2}, "space.p"), 400)
    assert sorted(set(np.round(steps, 12))) == [0.0, 0.2, 0.4, 0.6]
    ints = draw(parse_param("u", {"int": [32, 128], "step": 32}, "space.u"), 400)
    assert sorted(set(ints.tolist())) == [32, 64, 96, 128]
    choices = draw(parse_param("t", {"choice": ["adam", "sgd", None]}, "space.t"), 600)
    counts = {value: int(np.sum(choices == value)) for value in ("adam", "sgd", None)}
    assert all(150 < count < 250 for count in counts.values()), counts


def test_the_grid_is_every_combination_in_order():
    params = [parse_param("a", {"choice": ["x", "y"]}, "space.a"), parse_param("b", {"int": [1, 3]}, "space.b"),
              parse_param("c", {"uniform": [0.0, 1.0], "step": 0.5}, "space.c")]
    points = grid_points(params, "space")
    assert len(points) == 2 * 3 * 3
    assert points[:4] == [{"a": "x", "b": 1, "c": 0.0}, {"a": "x", "b": 1, "c": 0.5}, {"a": "x", "b": 1, "c": 1.0},
                          {"a": "x", "b": 2, "c": 0.0}]
    assert len({tuple(p.values()) for p in points}) == len(points)
    with pytest.raises(ConfigError, match="space.lr: sampler grid needs a finite space, and uniform without a step "
                                          "is continuous"):
        grid_points([parse_param("lr", {"uniform": [0.1, 0.2]}, "space.lr")], "space")


def test_a_trials_draw_depends_on_the_seed_and_its_number_not_on_the_worker():
    spec = SweepSpec(source="", name="s", base="", base_source="", raw={}, config={}, set_values={}, params=[],
                     sampler={"type": "random"}, pruner={"type": "none"}, metric="val_acc", trials=1, seed=3)
    param = parse_param("optimizer.lr", {"loguniform": [1.0e-5, 1.0e-1]}, "space.optimizer.lr")

    def value(number: int, seed: int = 3) -> float:
        spec.seed = seed
        study = optuna.create_study(sampler=sampler_for(spec, number))
        return param.suggest(study.ask())

    assert value(5) == value(5)
    assert len({value(n) for n in range(6)}) == 6
    assert value(5, seed=4) != value(5, seed=3)

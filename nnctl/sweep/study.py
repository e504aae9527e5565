"""The Optuna study of a sweep: where it lives, what it measures, and the sampler and pruner it uses.

A study remembers what it was started from (the resolved base config with `set`, the space and the
metric). Running the sweep again continues it; a sweep file whose base, space or metric changed meanwhile
is refused, since its old and new trials would not be comparable. The sampler, pruner, seed and number of
trials may change between runs.

Each trial gets a sampler seeded by the sweep's seed and the trial's number, so a trial's draw does not
depend on which worker took it, and workers never repeat each other's random streams.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.config.sections import resolve
from nnctl.errors import ConfigError, InputError
from nnctl.optim.monitor import direction
from nnctl.options.compare import differing_keys
from nnctl.options.yamlio import plain
from nnctl.sweep import quiet
from nnctl.sweep.spec import SweepSpec
from nnctl.sweep.storage import masked, open_storage

IDENTITY = "nnctl_sweep"
NOT_COMPARED = ("name", "loggers")       # keys of the base config that may change as a sweep continues


class StudyMissing(InputError):
    """The storage has no study of that name (exit code 2)."""


@dataclass
class Plan:
    """A checked sweep and where it runs: its metric (auto resolved), its folder, storage and study name."""

    spec: SweepSpec
    metric: str
    sweep_dir: Path
    storage_url: str
    study_name: str

    @property
    def maximize(self) -> bool:
        return direction(self.metric) == "max"

    @property
    def where(self) -> str:
        return f"study {self.study_name!r} in {masked(self.storage_url)}"

    def identity(self) -> dict:
        """What the study must keep: the resolved base config with `set` (its name aside), space, metric."""
        config = {k: v for k, v in plain(self.spec.config.sections()).items() if k not in NOT_COMPARED}
        return {"config": config, "space": {p.path: p.as_yaml() for p in self.spec.params}, "metric": self.metric}


class StudyHandle:
    """An optuna Study together with its storage, for what the Study object does not offer: a trial's state
    read afresh from the database, and heartbeats."""

    def __init__(self, study, storage):
        self.study, self.storage = study, storage
        self.study_id = storage.get_study_id_from_name(study.study_name)

    def trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    def running(self, number: int) -> bool:
        """Is trial `number` still running, as the database says now?"""
        # optional (the sweep extra): loaded when a sweep runs
        from optuna.trial import TrialState

        return self.storage.get_trial(self.trial_id(number)).state == TrialState.RUNNING

    def heartbeat(self, number: int) -> None:
        self.storage.record_heartbeat(self.trial_id(number))


def open_study(plan: Plan, create: bool, adopt_metric: bool = False, verify: bool = True) -> StudyHandle:
    """The plan's optuna Study, created if `create` and absent (another process may create it at the same
    moment: then it is loaded). Raises StudyMissing when it is absent and not to be created, InputError when
    it was started from another sweep. With `adopt_metric`, the plan takes the study's metric (for --status
    and --report, which do not resolve `metric: auto`); without `verify`, a study started from another sweep
    is opened too (--status only reads it)."""
    # optional (the sweep extra): loaded when a sweep runs
    import optuna

    storage = open_storage(plan.storage_url)
    sampler = optuna.samplers.RandomSampler()
    with quiet():
        try:
            study = optuna.load_study(study_name=plan.study_name, storage=storage, sampler=sampler)
        except KeyError:
            if not create:
                raise StudyMissing(f"{plan.spec.source}: no {plan.where} yet (start it with nnctl sweep "
                                   f"{plan.spec.source}, with the same --storage and --study)") from None
            try:
                study = optuna.create_study(study_name=plan.study_name, storage=storage, sampler=sampler,
                                            direction="maximize" if plan.maximize else "minimize")
                study.set_user_attr(IDENTITY, plan.identity())
            except optuna.exceptions.DuplicatedStudyError:
                study = optuna.load_study(study_name=plan.study_name, storage=storage, sampler=sampler)
    if adopt_metric:
        plan.metric = (wait_for_identity(study) or {}).get("metric", plan.metric)
    if verify:
        check_identity(plan, study)
    study.pruner = pruner_for(plan.spec)
    return StudyHandle(study, storage)


def check_identity(plan: Plan, study) -> None:
    """Refuse a study that was started from another base config, space or metric."""
    problem = identity_problem(plan, study)
    if problem is not None:
        raise InputError(f"{plan.spec.source}: the {plan.where} {problem}; continue it with the sweep it was "
                         f"started from, or give another --study name")


def identity_problem(plan: Plan, study) -> str | None:
    """How the study differs from the plan's sweep ('was started with another space (...)'), or None."""
    stored = wait_for_identity(study)
    if stored is None:
        return "was not made by nnctl sweep"
    mine = plan.identity()
    if stored["metric"] != mine["metric"]:
        problem = f"measures {stored['metric']}, but this sweep's metric is {mine['metric']}"
    elif stored["space"] != mine["space"]:
        keys = differing_keys(stored["space"], mine["space"])
        problem = f"was started with another space ({', '.join(keys)} differ{'s' if len(keys) == 1 else ''})"
    elif (before := with_current_defaults(stored["config"])) != mine["config"]:
        keys = differing_keys(before, mine["config"])
        shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        problem = f"was started from another base config ({shown} differ{'s' if len(keys) == 1 else ''})"
    else:
        return None
    return problem


def with_current_defaults(config: dict) -> dict:
    """A base config as stored by the study (perhaps by an older nnctl), resolved again: keys added to nnctl
    since then take their defaults, as they do for `nnctl train --resume`, so only real changes count."""
    try:
        again = resolve({**config, "name": "stored"})
    except ConfigError:          # no longer valid: compared as stored, and refused as different
        return config
    return {k: v for k, v in plain(again.sections()).items() if k not in NOT_COMPARED}


def wait_for_identity(study, seconds: float = 30.0) -> dict | None:
    """The study's stored identity; a study created a moment ago by another process may not have it yet."""
    deadline = time.monotonic() + seconds
    while True:
        stored = study.user_attrs.get(IDENTITY)
        if stored is not None or time.monotonic() > deadline or len(study.get_trials(deepcopy=False)) > 0:
            return stored
        time.sleep(0.5)


def sampler_for(spec: SweepSpec, number: int):
    """The sampler that draws trial `number`'s parameters, seeded by the sweep's seed and that number."""
    # optional (the sweep extra): loaded when a sweep runs
    import optuna

    seed = int(np.random.SeedSequence([spec.seed, number]).generate_state(1)[0])
    if spec.sampler["type"] == "tpe":
        with quiet():
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=spec.sampler["startup_trials"],
                                              constant_liar=True)
    return optuna.samplers.RandomSampler(seed=seed)    # grid trials carry their parameters: nothing is drawn


def pruner_for(spec: SweepSpec):
    """The study's pruner. Steps are epochs (1, 2, ...); median prunes from epoch warmup_epochs + 1 on,
    below the median of the trials that reached that epoch; hyperband runs up to the most epochs a trial
    can have."""
    # optional (the sweep extra): loaded when a sweep runs
    import optuna

    kind = spec.pruner
    if kind["type"] == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=kind["startup_trials"],
                                           n_warmup_steps=kind["warmup_epochs"] + 1)
    if kind["type"] == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=kind["min_epochs"], max_resource=most_epochs(spec),
                                              reduction_factor=kind["reduction_factor"])
    return optuna.pruners.NopPruner()


def most_epochs(spec: SweepSpec) -> int:
    """The largest train.epochs any trial can have."""
    for param in spec.params:
        if param.path == "train.epochs":
            return int(max(param.choices) if param.kind == "choice" else param.high)
    return int(spec.config.train["epochs"])

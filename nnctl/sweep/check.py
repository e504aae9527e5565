"""Before the first trial: every corner of the space must make a valid run, and the metric must exist.

A corner is a config where swept parameters sit at the ends of their ranges (or on one of their
choices). Each parameter is tried at each of its ends with the others at the base config's values, which
names the parameter at fault; then every parameter low together and every parameter high together, and,
when there are at most 64 of them, all combinations of ends. Each corner is resolved and then built as a
run is (data, network, loss, optimizer, schedule, metric names, and the weights `init` copies from another
run), without training; the data is loaded once per distinct `data:` section and seed.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from nnctl.build.metric_names import produced_metrics
from nnctl.build.prepare import prepare
from nnctl.config.load import errors_name
from nnctl.errors import ConfigError
from nnctl.options.spec import join_path, show
from nnctl.runs.init_from import initialize_from
from nnctl.sweep.spec import SweepSpec
from nnctl.training.trainer import Trainer

MAX_COMBINATIONS = 64


class Builder:
    """Builds the run a config describes, reusing loaded data between configs that share it."""

    def __init__(self):
        self.splits: dict[str, Any] = {}

    def build(self, config):
        """The Trainer for `config` (nothing trained, nothing written), its `init` weights copied in as a new
        run's are. Raises ConfigError."""
        key = json.dumps([config.data, config.seed, getattr(config, "source", "")], sort_keys=True,
                         default=str)
        setup = prepare(config, progress=False, splits=self.splits.get(key))
        self.splits[key] = setup.splits
        if config.init:
            with errors_name(config):
                initialize_from(setup.network, config)
        return Trainer(setup)


def check_sweep(spec: SweepSpec) -> str:
    """Try the base and every corner; return the metric (`auto` resolved to the base's train.monitor).
    Raises ConfigError naming the sweep file and the parameter (or corner) that makes an invalid run."""
    builder = Builder()
    base = builder.build(spec.config)
    metric = resolve_metric(spec, base)
    del base
    for param in spec.params:
        for which, value in param.ends():
            try_corner(spec, builder, {param.path: value},
                       lambda inner: ConfigError(join_path("space", param.key),
                                                 f"at {which} {show(value)} the config is invalid: {inner}",
                                                 spec.source))
    if len(spec.params) > 1:
        for corner in corners(spec):
            where = ", ".join(f"{p.key}={show(corner[p.path])}" for p in spec.params)
            try_corner(spec, builder, corner,
                       lambda inner: ConfigError("space", f"at the corner {where} the config is invalid: {inner}",
                                                 spec.source))
    return metric


def corners(spec: SweepSpec) -> list[dict[str, Any]]:
    """All low, all high, and every combination of ends when there are at most MAX_COMBINATIONS."""
    ends = [[value for _, value in p.ends()] for p in spec.params]
    count = 1
    for values in ends:
        count *= len(values)
    if count <= MAX_COMBINATIONS:
        combos = list(itertools.product(*ends))
    else:
        combos = [tuple(v[0] for v in ends), tuple(v[-1] for v in ends)]
    return [{p.path: value for p, value in zip(spec.params, combo)} for combo in combos]


def try_corner(spec: SweepSpec, builder: Builder, values: dict[str, Any], error) -> None:
    try:
        builder.build(spec.config_for(values))
    except ConfigError as exc:
        inner = f"{exc.path}: {exc.message}" if exc.path else exc.message
        raise error(inner) from None


def resolve_metric(spec: SweepSpec, trainer) -> str:
    """The sweep's metric: `auto` is the base run's monitored metric; a named one must be produced."""
    if spec.metric == "auto":
        return trainer.monitor
    produced = produced_metrics(trainer.setup)
    if spec.metric not in produced:
        raise ConfigError("metric", f"the runs of this sweep have no {spec.metric!r}; they produce "
                                    f"{', '.join(sorted(produced))}", spec.source)
    return spec.metric

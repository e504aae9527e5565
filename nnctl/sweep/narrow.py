"""narrowed.yaml: the coarse-to-fine step as a new sweep file.

Each parameter's range shrinks to the values the best fifth of the complete trials took (at least
MIN_COMPLETE complete trials are needed): [min, max] for numbers, keeping the log scale and step; the
choices they used, in the original order; continuous ends are rounded outward to 3 significant digits.
A parameter on which they all agree is fixed in `set`. The rest
of the sweep (base, sampler, metric, trials, pruner, seed) is kept; a relative base is rewritten to be
relative to the sweep folder, where narrowed.yaml is written.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace

MIN_COMPLETE = 5


def best_fifth(complete: list, maximize: bool) -> list:
    """The best ceil(n / 5) of the complete trials (FrozenTrials with a value)."""
    ranked = sorted(complete, key=lambda t: (-t.value if maximize else t.value, t.number))
    return ranked[:math.ceil(len(ranked) / 5)]


def outward(param, low, high) -> tuple:
    """A continuous range's ends rounded outward to 3 significant digits (within the original range), so
    narrowed.yaml reads 0.00489 rather than 0.004897135316634731; integer and stepped ranges stay exact."""
    if param.kind == "int" or param.step is not None:
        return low, high
    return max(significant(low, math.floor), param.low), min(significant(high, math.ceil), param.high)


def significant(value: float, rounding, digits: int = 3) -> float:
    if value == 0:
        return 0.0
    exponent = math.floor(math.log10(abs(value))) - digits + 1
    return float(f"{rounding(value / 10 ** exponent):.0f}e{exponent}")


def narrowed_sweep(plan, complete: list) -> tuple[dict, int] | None:
    """(the narrowed sweep as a mapping, how many trials it was drawn from), or None when there are fewer
    than MIN_COMPLETE complete trials or the best fifth agree on every parameter."""
    spec = plan.spec
    if len(complete) < MIN_COMPLETE:
        return None
    top = best_fifth(complete, plan.maximize)
    space, fixed = {}, {}
    for param in spec.params:
        values = [t.params[param.path] for t in top if param.path in t.params]
        if not values:
            space[param.key] = param.as_yaml()
        elif param.kind == "choice":
            kept = [choice for choice in param.choices if choice in values]
            if len(kept) > 1:
                space[param.key] = {"choice": kept}
            else:
                fixed[param.key] = kept[0]
        elif min(values) == max(values):
            fixed[param.key] = values[0]
        else:
            low, high = outward(param, min(values), max(values))
            space[param.key] = replace(param, low=low, high=high).as_yaml()
    if not space:
        return None
    base = spec.base
    if isinstance(base, str) and not os.path.isabs(base):
        base = os.path.relpath(os.path.abspath(spec.base_source), os.path.abspath(plan.sweep_dir))
    sweep = {"name": f"{spec.name}_narrowed", "base": base, "set": {**spec.set_values, **fixed}, "space": space,
             "sampler": spec.sampler, "metric": plan.metric, "trials": spec.trials, "pruner": spec.pruner,
             "seed": spec.seed}
    return sweep, len(top)

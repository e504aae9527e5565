"""Where a study stands, in words: `nnctl sweep SWEEP.yaml --status`, and the sweep's closing line.

Trials are counted by the tickets they hold (see tickets.py): a trial interrupted or killed and queued
again counts once, as its retry; voided trials (that never ran) are not counted.
"""

from __future__ import annotations

from collections import Counter

from nnctl.options.spec import show
from nnctl.sweep.tickets import holds_ticket


def tally(study) -> Counter:
    """Counts of complete, pruned, failed, running and queued trials, and of those given back (retried)."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    words = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed",
             TrialState.RUNNING: "running", TrialState.WAITING: "queued"}
    counts: Counter = Counter()
    for trial in study.get_trials(deepcopy=False):
        if "ticket" not in trial.user_attrs and trial.state == TrialState.FAIL:
            continue
        if holds_ticket(trial):
            counts[words[trial.state]] += 1
        elif trial.user_attrs.get("status") != "void":
            counts["retried"] += 1
    return counts


def counts_text(study) -> str:
    """'12 of 40 trials finished (9 complete, 2 pruned, 1 failed), 2 running, 26 queued'."""
    counts = tally(study)
    finished = counts["complete"] + counts["pruned"] + counts["failed"]
    planned = study.user_attrs.get("trials", finished)
    parts = [f"{counts[w]} {w}" for w in ("complete", "pruned", "failed") if counts[w]]
    text = f"{finished} of {planned} trials finished" + (f" ({', '.join(parts)})" if parts else "")
    for word in ("running", "queued"):
        if counts[word]:
            text += f", {counts[word]} {word}"
    if counts["retried"]:
        text += f"; {counts['retried']} interrupted or killed and queued again"
    return text


def best_trial(study, maximize: bool):
    """The complete trial with the best value (the lowest number among equals), or None."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    complete = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.value is not None]
    if not complete:
        return None
    return sorted(complete, key=lambda t: (-t.value if maximize else t.value, t.number))[0]


def params_text(params: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={show(v)}" for k, v in params.items())


def status_text(plan, handle) -> str:
    """Several lines: the study, its search, the counts, the best trial and the trials running now."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    spec, study = plan.spec, handle.study
    lines = [f"sweep {spec.name}: {plan.where}",
             f"metric {plan.metric} ({'maximized' if plan.maximize else 'minimized'}); sampler "
             f"{spec.sampler['type']}, pruner {spec.pruner['type']}",
             counts_text(study)]
    best = best_trial(study, plan.maximize)
    if best is not None:
        lines.append(f"best: trial {best.number}, {plan.metric} {best.value:.4f} ({params_text(best.params)}); "
                     f"run {best.user_attrs.get('run')}")
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        steps = trial.intermediate_values
        where = f"after epoch {max(steps)} ({plan.metric} {steps[max(steps)]:.4f})" if steps else "starting"
        lines.append(f"running: trial {trial.number} {where} on {trial.user_attrs.get('worker', '?')}")
    return "\n".join(lines)

"""The sweep's outputs, written into its folder from the study's storage (so they cover every machine):

    trials.csv     one row per trial that ran: number, state, status, the metric, epochs, seconds, run
                   folder, every parameter, the trial it retries, its worker, and its message
    best.yaml      the best trial's resolved config: `nnctl train best.yaml` trains it again, and gives the
                   same numbers under the same BLAS thread count (noted in the file's first lines)
    narrowed.yaml  the coarse-to-fine suggestion (narrow.py)
    report.md      the search, the counts, trial-epochs run against planned, the best trials, parameter
                   importances and the pictures (plots.py)
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from nnctl.atomic import write_text_atomic
from nnctl.options.yamlio import dump_yaml
from nnctl.sweep import quiet
from nnctl.sweep.narrow import narrowed_sweep
from nnctl.sweep.plots import plot_history, plot_importance, plot_parallel, plot_params
from nnctl.sweep.space import parse_param
from nnctl.sweep.status import best_trial, counts_text, params_text
from nnctl.training.runner import self_contained
from nnctl.viz.tables import markdown_table

MIN_FOR_IMPORTANCE = 4


def trial_rows(plan, trials: list) -> list[dict]:
    """A dict per trial that ran (queued and voided trials left out), with the columns of trials.csv."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    rows = []
    for trial in trials:
        attrs = trial.user_attrs
        if trial.state == TrialState.WAITING or attrs.get("status") == "void":
            continue
        state = trial.state.name.lower()
        status = attrs.get("status") or {"running": "running", "fail": "killed"}.get(state, state)
        value = attrs.get("value", trial.value)
        row = {"trial": trial.number, "state": state, "status": status, plan.metric: value,
               "epochs": attrs.get("epochs"), "epochs_planned": attrs.get("epochs_planned"),
               "seconds": attrs.get("seconds"), "run": attrs.get("run")}
        row.update({p.path: trial.params.get(p.path) for p in plan.spec.params})
        row.update({"retry_of": attrs.get("retry_of"), "worker": attrs.get("worker"),
                    "message": attrs.get("message", "")})
        rows.append(row)
    return rows


def csv_text(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else repr(row[c]) if isinstance(row[c], float) else row[c]
                         for c in columns])
    return out.getvalue()


def best_yaml(plan, best) -> str:
    """The best trial's resolved config, headed by where it came from and how to repeat it exactly."""
    run = best.user_attrs.get("run", f"trial-{best.number:04d}")
    config = plan.spec.config_for(best.params, name=f"{plan.spec.name}-{run}")
    threads = best.user_attrs.get("threads")
    repeat = f"nnctl train best.yaml --threads {threads}" if threads else "nnctl train best.yaml"
    head = (f"# The best trial of sweep {plan.spec.name} ({plan.where}): trial {best.number}, {plan.metric} "
            f"{best.value!r}\n# after {best.user_attrs.get('epochs')} epochs; its run folder is {run}.\n"
            f"# It trained with {threads or 'an unrecorded number of'} BLAS thread(s): `{repeat}` repeats it "
            f"exactly.\n")
    return head + dump_yaml(self_contained(config))


def importances(study, params: list) -> dict[str, float] | None:
    """PED-ANOVA importances of the parameters (summing to 1), or None with too few complete trials."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances
    from optuna.trial import TrialState

    if len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < MIN_FOR_IMPORTANCE:
        return None
    if len(params) == 1:
        return {params[0].path: 1.0}
    try:
        with quiet():
            found = get_param_importances(study, evaluator=PedAnovaImportanceEvaluator(),
                                          params=[p.path for p in params], normalize=True)
    except (ValueError, RuntimeError, ZeroDivisionError):
        return None
    return {name: float(value) for name, value in found.items() if math.isfinite(value)} or None


def write_outputs(plan, handle) -> list[str]:
    """Write every output into the sweep folder; returns the names of the files written."""
    # optional (the sweep extra): loaded when a sweep runs
    from optuna.trial import TrialState

    folder, study, spec = plan.sweep_dir, handle.study, plan.spec
    folder.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=True)
    rows = trial_rows(plan, trials)
    columns = ["trial", "state", "status", plan.metric, "epochs", "epochs_planned", "seconds", "run",
               *[p.path for p in spec.params], "retry_of", "worker", "message"]
    write_text_atomic(folder / "trials.csv", csv_text(rows, columns), "trials table")
    written = ["trials.csv"]
    best = best_trial(study, plan.maximize)
    if best is not None:
        write_text_atomic(folder / "best.yaml", best_yaml(plan, best), "best config")
        written.append("best.yaml")
    complete = [t for t in trials if t.state == TrialState.COMPLETE and t.value is not None]
    narrowed = narrowed_sweep(plan, complete)
    if narrowed is not None:
        head = (f"# Coarse to fine: sweep {spec.name} with each range narrowed to the values of its best fifth "
                f"(the best {narrowed[1]} of {len(complete)} complete trials by {plan.metric}); values they all "
                f"share are fixed in `set`.\n# Run it: nnctl sweep {folder / 'narrowed.yaml'}\n")
        write_text_atomic(folder / "narrowed.yaml", head + dump_yaml(narrowed[0]), "narrowed sweep")
        written.append("narrowed.yaml")
    pictures = []
    if any(r["state"] in ("complete", "pruned") for r in rows):
        plot_history(rows, plan.metric, plan.maximize, folder / "history.png")
        plot_params(rows, spec.params, plan.metric, folder / "params.png")
        plot_parallel(rows, spec.params, plan.metric, plan.maximize, folder / "parallel.png")
        pictures = ["history.png", "params.png", "parallel.png"]
    found = importances(study, spec.params)
    if found:
        plot_importance(found, folder / "importance.png")
        pictures.append("importance.png")
    report = render_report(plan, study, rows, best, found, pictures, narrowed)
    write_text_atomic(folder / "report.md", report, "sweep report")
    return written + ["report.md"] + pictures


def render_report(plan, study, rows, best, found, pictures, narrowed) -> str:
    spec = plan.spec
    planned = sum(r["epochs_planned"] or 0 for r in rows if r["state"] in ("complete", "pruned"))
    run = sum(r["epochs"] or 0 for r in rows if r["state"] in ("complete", "pruned"))
    lines = [f"# Sweep {spec.name}", "",
             f"- {plan.where}; metric {plan.metric} ({'higher' if plan.maximize else 'lower'} is better, measured "
             f"at each run's best checkpoint)",
             f"- sampler {spec.sampler['type']} (seed {spec.seed}), pruner {spec.pruner['type']}; base "
             f"`{spec.base_source}`",
             f"- {counts_text(study)}"]
    if planned:
        saved = 1 - run / planned
        lines.append(f"- trial-epochs of the complete and pruned trials: {run} run of {planned} planned "
                     f"({100 * saved:.1f}% saved by pruning)")
    if best is not None:
        lines.append(f"- best: trial {best.number}, {plan.metric} {best.value:.4f} ({params_text(best.params)}); "
                     f"run folder `{best.user_attrs.get('run')}`, its config `best.yaml`")
    lines += ["", "## Space", ""] + markdown_table(
        [["key path", "distribution"]] + [[p.path, p.describe()] for p in spec.params])
    ranked = sorted((r for r in rows if r["state"] == "complete" and r[plan.metric] is not None),
                    key=lambda r: (-r[plan.metric] if plan.maximize else r[plan.metric], r["trial"]))[:10]
    if ranked:
        lines += ["", "## Best trials", ""] + markdown_table(
            [["trial", plan.metric, "epochs", "run"] + [p.path for p in spec.params]] +
            [[str(r["trial"]), f"{r[plan.metric]:.4f}", str(r["epochs"]), str(r["run"])] +
             [shown(r[p.path]) for p in spec.params] for r in ranked])
    if found:
        lines += ["", "## Parameter importances (PED-ANOVA)", ""] + markdown_table(
            [["key path", "importance"]] + [[name, f"{value:.3f}"] for name, value in found.items()])
    if narrowed is not None:
        lines += ["", f"## Narrowed space (best {narrowed[1]} trials): narrowed.yaml", ""] + markdown_table(
            [["key path", "was", "narrowed to"]] +
            [[p.path, p.describe(), narrowed_entry(p, narrowed[0])] for p in spec.params])
    if pictures:
        lines += ["", "## Pictures", ""] + [f"![{Path(p).stem}]({p})" for p in pictures]
    return "\n".join(lines) + "\n"


def narrowed_entry(param, sweep: dict) -> str:
    """How narrowed.yaml gives a parameter: its new distribution, or the value it is fixed at."""
    if param.key in sweep["space"]:
        return parse_param(param.key, sweep["space"][param.key], "").describe()
    return f"fixed at {shown(sweep['set'][param.key])}"


def shown(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)

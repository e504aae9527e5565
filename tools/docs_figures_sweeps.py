"""docs/sweeps.md's figures: the median pruner against no pruning, and TPE against random search (kept outputs
`pruner` and `tpe-random` of tools/docs_excerpts.py)."""

from __future__ import annotations

import re

from docs_figures import TEST_ACC, VAL_ACC, Figure, pick, printed

SAVED = r"\(([0-9.]+)% saved by pruning\)"
SWEEP_BEST = r"^- best: trial ([0-9]+), val_acc ([0-9.]+)"
SWEEP_END = r"trials finished \(([^)]*)\)"


def sweep_part(sweep: str) -> str:
    """The command that printed a pruning sweep's report lines and trials.csv."""
    return f"grep -E '^- (trial-epochs|best)' sweeps/{sweep}/"


def best_trial(sweep: str) -> object:
    return lambda out: f"{out.number(SWEEP_BEST, sweep_part(sweep)):.0f}"


def trial_value(sweep: str, trial: int, column_name: str, fmt: str = "") -> object:
    """A cell of a sweep's trials.csv (a figure formatted with `fmt`, or the text as it is when no `fmt`)."""
    def field(out) -> str:
        cell = out.csv_cell(sweep_part(sweep), column_name, trial=trial)
        return format(float(cell), fmt) if fmt else cell
    return field


def rank_unpruned(trial: int) -> object:
    """'second' when `trial` has the second best val_acc of the unpruned sweep (else its rank, as a number)."""
    def field(out) -> str:
        values = sorted((float(r["val_acc"]) for r in out.csv_rows(sweep_part("unpruned"))), reverse=True)
        rank = values.index(out.csv_value(sweep_part("unpruned"), "val_acc", trial=trial)) + 1
        return {1: "first", 2: "second", 3: "third"}.get(rank, str(rank))
    return field


PRUNER_FIELDS = {
    "saved": printed(SAVED, ".1f", command=sweep_part("pruned")),
    "saved_none": printed(SAVED, ".1f", command=sweep_part("unpruned")),
    "run": printed(r"trial-epochs of the complete and pruned trials: ([0-9]+) run", ".0f", command=sweep_part("pruned")),
    "run_none": printed(r"trial-epochs of the complete and pruned trials: ([0-9]+) run", ".0f",
                        command=sweep_part("unpruned")),
    "counts": lambda out: re.search(SWEEP_END, out.of("--out sweeps/pruned")).group(1),
    "counts_none": lambda out: re.search(SWEEP_END, out.of("--out sweeps/unpruned")).group(1),
    "best": printed(r"^- best: trial [0-9]+, val_acc ([0-9.]+)", ".4f", command=sweep_part("pruned")),
    "best_none": printed(r"^- best: trial [0-9]+, val_acc ([0-9.]+)", ".4f", command=sweep_part("unpruned")),
    "trial": best_trial("pruned"), "trial_none": best_trial("unpruned"),
    "same": lambda out: "same" if best_trial("pruned")(out) == best_trial("unpruned")(out) else "another",
    "t8_unpruned": trial_value("unpruned", 8, "val_acc", ".4f"), "t8_rank": rank_unpruned(8),
    "t8_epochs": trial_value("pruned", 8, "epochs", ".0f"), "t8_pruned": trial_value("pruned", 8, "val_acc", ".4f"),
    "t8_state": trial_value("pruned", 8, "state"),
    "repro_val": printed(VAL_ACC, ".2f", command="best.yaml"), "repro_test": printed(TEST_ACC, ".2f", command="best.yaml"),
}

DOCS_SWEEPS = [
    Figure("docs/sweeps.md", "pruner", "| unpruned | {counts_none} | {run_none} | {saved_none}% | {best_none} (trial "
           "{trial_none}) |", pick(PRUNER_FIELDS, "counts_none", "run_none", "saved_none", "best_none", "trial_none")),
    Figure("docs/sweeps.md", "pruner", "| median pruner | {counts} | {run} | {saved}% | {best} (trial {trial}) |",
           pick(PRUNER_FIELDS, "counts", "run", "saved", "best", "trial")),
    Figure("docs/sweeps.md", "pruner", "Pruning saved {saved}% of the trial-epochs and found the {same} best trial. It "
           "did stop a good one: trial 8 ({t8_unpruned} after 6 epochs unpruned, the {t8_rank} best) was {t8_state} "
           "after epoch {t8_epochs} at {t8_pruned},",
           pick(PRUNER_FIELDS, "saved", "same", "t8_unpruned", "t8_rank", "t8_state", "t8_epochs", "t8_pruned")),
    Figure("docs/sweeps.md", "pruner", "gives val accuracy {repro_val}% (and test accuracy {repro_test}%), equal to the "
           "last bit to trial {trial_none}'s report", pick(PRUNER_FIELDS, "repro_val", "repro_test", "trial_none")),
]


def sweep_best(kind: str, seed: int, group: int) -> object:
    """A TPE or random sweep's best trial (group 1) or its val_acc (group 2), from its report's `- best:` line."""
    return lambda out: float(re.search(SWEEP_BEST, out.of(f"sweeps/{kind}{seed}/fashion_mlp_lr/report.md"),
                                       re.M).group(group))


def bests(out, kind: str) -> list[float]:
    return [sweep_best(kind, seed, 2)(out) for seed in (0, 1, 2)]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def tally(out) -> dict[str, str]:
    """At how many seeds TPE's best was better than, equal to and worse than random search's, in words."""
    words = {0: "none", 1: "one", 2: "two", 3: "three"}
    pairs = list(zip(bests(out, "tpe"), bests(out, "random")))
    return {"better": words[sum(t > r for t, r in pairs)], "equal": words[sum(t == r for t, r in pairs)],
            "worse": words[sum(t < r for t, r in pairs)]}


def tpe_row(seed: int) -> Figure:
    return Figure("docs/sweeps.md", "tpe-random", f"| {seed} | {{tpe}} ({{tpe_trial}}) | {{rnd}} ({{rnd_trial}}) |", {
        "tpe": lambda out: f"{sweep_best('tpe', seed, 2)(out):.4f}",
        "tpe_trial": lambda out: f"{sweep_best('tpe', seed, 1)(out):.0f}",
        "rnd": lambda out: f"{sweep_best('random', seed, 2)(out):.4f}",
        "rnd_trial": lambda out: f"{sweep_best('random', seed, 1)(out):.0f}"})


DOCS_SWEEPS += [
    *(tpe_row(seed) for seed in (0, 1, 2)),
    Figure("docs/sweeps.md", "tpe-random", "| mean | **{tpe}** | **{rnd}** |",
           {"tpe": lambda out: f"{mean(bests(out, 'tpe')):.4f}", "rnd": lambda out: f"{mean(bests(out, 'random')):.4f}"}),
    Figure("docs/sweeps.md", "tpe-random", "At this budget TPE did not beat random search: {points} points lower on "
           "the mean of three seeds, better at {better} seed, equal at {equal}, worse at {worse}. The spread between "
           "seeds ({low} to {high} for random alone) is larger than the difference.", {
               "points": lambda out: f"{100 * (mean(bests(out, 'random')) - mean(bests(out, 'tpe'))):.2f}",
               "better": lambda out: tally(out)["better"], "equal": lambda out: tally(out)["equal"],
               "worse": lambda out: tally(out)["worse"],
               "low": lambda out: f"{min(bests(out, 'random')):.4f}", "high": lambda out: f"{max(bests(out, 'random')):.4f}"}),
    Figure("docs/sweeps.md", "tpe-random", "so at seed 1 both found their best in the {same} trial {trial}.", {
        "same": lambda out: "same" if sweep_best("tpe", 1, 1)(out) == sweep_best("random", 1, 1)(out) else "NOT the same",
        "trial": lambda out: f"{sweep_best('tpe', 1, 1)(out):.0f}"}),
    Figure("docs/sweeps.md", "tpe-random", '# "best: trial {trial}, val_acc {value} ..."', {
        "trial": lambda out: f"{sweep_best('tpe', 0, 1)(out):.0f}",
        "value": lambda out: f"{sweep_best('tpe', 0, 2)(out):.4f}"}),
]

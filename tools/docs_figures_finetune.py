"""docs/finetune.md's figures (kept output `finetune`: configs/finetune/run_all.sh, then the 100-image runs)."""

from __future__ import annotations

from docs_figures import BEST, Figure, column, printed, split_accuracy

FINETUNE = "docs/finetune.md"
VAL_ROW, TEST_ROW = split_accuracy("val"), split_accuracy("test")


def run_report(run: str) -> dict:
    """Fields of one fine-tuning run's block (`echo RUN; cat metrics.csv; grep report.md`): its best validation
    and test accuracy, its best epoch, and its validation accuracy after epochs 1, 3, 5 and 30."""
    block = f"echo {run};"
    fields = {f"{run}_best": printed(VAL_ROW, ".2f", command=block), f"{run}_test": printed(TEST_ROW, ".2f", command=block),
              f"{run}_epoch": printed(BEST, ".0f", command=block)}
    fields.update({f"{run}_e{epoch}": column(block, "val_acc", epoch=epoch) for epoch in (1, 3, 5, 30)})
    return fields


def finetune_fields(*names: str, **more) -> dict:
    """The named fields of run_report (a name ending in _1: the same figure to one decimal), and `more`."""
    everything = {key: value for run in ("pretrain", "frozen", "all", "scratch", "frozen-100", "scratch-100")
                  for key, value in run_report(run).items()}
    rounded = {f"{key}_1": (lambda get: lambda out: f"{float(get(out)):.1f}")(everything[key]) for key in everything}
    return {**{name: {**everything, **rounded}[name] for name in names}, **more}


def not_behind_after_five(out) -> str:
    """The epochs from the sixth on where the frozen 100-image run's validation accuracy is not below the
    run from scratch's."""
    frozen, scratch = (out.csv_rows(f"echo {run}-100;") for run in ("frozen", "scratch"))
    return ", ".join(a["epoch"] for a, b in zip(frozen, scratch) if int(a["epoch"]) >= 6 and float(a["val_acc"]) >= float(b["val_acc"]))


def finetune_row(label: str, run: str) -> Figure:
    text = f"| {label} | {{{run}_e1}}% | {{{run}_e5}}% | {{{run}_e30}}% | {{{run}_best}}% ({{{run}_epoch}}) | {{{run}_test}}% |"
    return Figure(FINETUNE, "finetune", text, finetune_fields(*(f"{run}_{k}" for k in ("e1", "e5", "e30", "best", "epoch",
                                                                                      "test"))))


DOCS_FINETUNE = [
    Figure(FINETUNE, "finetune", "The pretrained run: {pretrain_best}% validation, {pretrain_test}% test accuracy on "
           "classes 0-4.", finetune_fields("pretrain_best", "pretrain_test")),
    finetune_row("fine-tuned, conv blocks frozen (`frozen.yaml`)", "frozen"),
    finetune_row("fine-tuned, all layers train (`all.yaml`)", "all"),
    finetune_row("from scratch (`scratch.yaml`)", "scratch"),
    Figure(FINETUNE, "finetune", "a head start ({frozen_e1_1}% and {all_e1_1}% against {scratch_e1_1}% after one "
           "epoch), and the frozen run reaches the best validation accuracy, but only {lead} points above the run "
           "from scratch", {**finetune_fields("frozen_e1_1", "all_e1_1", "scratch_e1_1"),
                            "lead": lambda out: f"{out.number(VAL_ROW, 'echo frozen;') - out.number(VAL_ROW, 'echo scratch;'):.1f}"}),
    Figure(FINETUNE, "finetune", "on the test images the order is not the same (all layers {all_test}%, from "
           "scratch {scratch_test}%, frozen {frozen_test}%)", finetune_fields("all_test", "scratch_test", "frozen_test")),
    Figure(FINETUNE, "finetune", "leads at the start ({frozen-100_e1_1}% against {scratch-100_e1_1}% after one epoch, "
           "{frozen-100_e3_1}% against {scratch-100_e3_1}% after three), is behind at every epoch from the sixth on "
           "except epoch {not_behind}, "
           "and reaches a best validation accuracy of {frozen-100_best}% (epoch {frozen-100_epoch}; test "
           "{frozen-100_test}%), the run from scratch {scratch-100_best}% (epoch {scratch-100_epoch}; test "
           "{scratch-100_test}%)",
           finetune_fields("frozen-100_e1_1", "scratch-100_e1_1", "frozen-100_e3_1", "scratch-100_e3_1", "frozen-100_best",
                           "frozen-100_epoch", "frozen-100_test", "scratch-100_best", "scratch-100_epoch",
                           "scratch-100_test", not_behind=not_behind_after_five)),
]

"""Every figure quoted in the prose and tables of README.md and docs/ that a training measured, with the kept
output it comes from (the rules: tools/docs_figures.py; the outputs: tools/docs_excerpts.py)."""

from __future__ import annotations

import re

from docs_figures import Figure, column, printed

NUMBER = r"([0-9][0-9,]*\.?[0-9]*(?:e-?[0-9]+)?)"
TEST_ACC = r"test accuracy ([0-9.]+)%"
VAL_ACC = r"val accuracy ([0-9.]+)%"
EPOCHS = r"after ([0-9]+) epochs"
BEST = r"best epoch ([0-9]+) by"
MINUTES = r"\(total ([0-9.]+) s\)"
CODES = r"2-D codes of 'code': 5-NN test accuracy ([0-9.]+)%"
PCA = r"PCA of the 784-D inputs: 5-NN test accuracy ([0-9.]+)%"
LOSS = r"loss ([0-9.]+)"
DENOISING, PLAIN = "eval runs/denoising_autoencoder", "eval runs/plain_autoencoder"


def pick(fields: dict, *names: str) -> dict:
    return {name: fields[name] for name in names}


def trained(pattern: str, run: str, fmt: str = ".1f") -> object:
    """A figure of a course run's closing line (`... run: runs/course-NAME/<time>`)."""
    return printed(pattern, fmt, line=f"runs/course-{run}/")


def corrupted(eval_command: str) -> object:
    return printed(LOSS, ".4f", command=eval_command + " --corrupt")


def best_val(run: str) -> object:
    return printed(r"^[|] val [|] [0-9.]+ [|] ([0-9.]+)%", ".2f", command=f"echo {run};")


SAVED = r"\(([0-9.]+)% saved by pruning\)"
SWEEP_BEST = r"^- best: trial ([0-9]+), val_acc ([0-9.]+)"
SWEEP_END = r"trials finished \(([^)]*)\)"


def sweep_part(sweep: str) -> str:
    """The command that printed a pruning sweep's report lines and trials.csv."""
    return f"grep -E '^- (trial-epochs|best)' sweeps/{sweep}/"


def best_trial(sweep: str) -> str:
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

README = [
    Figure("README.md", "fashion-mlp",
           "| {acc}% test accuracy, {epochs} epochs, {minutes} minutes |",
           {"acc": printed(TEST_ACC, ".2f"), "epochs": printed(EPOCHS, ".0f"),
            "minutes": printed(MINUTES, ".1f", scale=1 / 60)}),
    Figure("README.md", "fashion-cnn",
           "| {acc}% test accuracy (best epoch {best} by validation), {epochs} epochs, {minutes} minutes |",
           {"acc": printed(TEST_ACC, ".2f"), "best": printed(BEST, ".0f"), "epochs": printed(EPOCHS, ".0f"),
            "minutes": printed(MINUTES, ".1f", scale=1 / 60)}),
    Figure("README.md", "autoencoder", "| autoencoder {codes}%, PCA {pca}% |",
           {"codes": printed(CODES, ".2f"), "pca": printed(PCA, ".2f")}),
    Figure("README.md", "denoising", "| denoising {denoising}, plain autoencoder {plain} |",
           {"denoising": corrupted(DENOISING), "plain": corrupted(PLAIN)}),
    Figure("README.md", "finetune", "| best val. {frozen}% (frozen convolutions) against {scratch}% from scratch |",
           {"frozen": best_val("frozen"), "scratch": best_val("scratch")}),
    Figure("README.md", "pruner", "| {saved}% of trial-epochs saved, {same} best trial |",
           pick(PRUNER_FIELDS, "saved", "same")),
    Figure("README.md", "bench-mlp",
           "(float32 GEMM peak {peak} GFLOP/s, measured in the same run) an MLP epoch takes {ratio} of PyTorch's "
           "time (ratio of the medians of 3 rounds, with the `fast` extra;",
           {"peak": printed(r"float32 GEMM peak: ([0-9]+) GFLOP/s", ".0f"),
            "ratio": printed(r"ratio nnctl/PyTorch seconds per epoch: ([0-9.]+)", ".2f")}),
    Figure("README.md", "course",
           "batch norm at weight scale 0.02 gives {bn_on}% validation accuracy against {bn_off}% without; weight "
           "scales 1e-3 / 5e-2 / 1 give {small}% (vanishing) / {good}% / {large}% (saturated tanh); dropout 0.5 on "
           "1000 images: training accuracy {train_off}% and validation {val_off}% without, {train_on}% and "
           "{val_on}% with it; 50 samples are memorized by 3 layers ({three}%) but not by 5 ({five}%) at the same "
           "init; softmax {softmax}% against SVM {svm}%.",
           {"bn_on": trained(VAL_ACC, "bn_on"), "bn_off": trained(VAL_ACC, "bn_off"),
            "small": trained(VAL_ACC, "init_small"), "good": trained(VAL_ACC, "init_good"),
            "large": trained(VAL_ACC, "init_large"),
            "train_off": printed(r"^[|] train [|] [0-9.]+ [|] ([0-9.]+)%", ".1f", command="course-dropout_off/"),
            "val_off": printed(r"^[|] val [|] [0-9.]+ [|] ([0-9.]+)%", ".1f", command="course-dropout_off/"),
            "train_on": printed(r"^[|] train [|] [0-9.]+ [|] ([0-9.]+)%", ".1f", command="course-dropout_on/"),
            "val_on": printed(r"^[|] val [|] [0-9.]+ [|] ([0-9.]+)%", ".1f", command="course-dropout_on/"),
            "three": printed(r"overfit check: training accuracy ([0-9.]+)%", ".0f", line="on 50 samples (50/50)"),
            "five": printed(r"overfit check: training accuracy ([0-9.]+)%", ".0f", line="did NOT reach"),
            "softmax": trained(VAL_ACC, "softmax"), "svm": trained(VAL_ACC, "svm")}),
]

AUTOENCODERS = "docs/autoencoders.md"
CODES_AND_PCA = {"codes": printed(CODES, ".2f"), "pca": printed(PCA, ".2f")}
EVAL_DENOISING = "nnctl eval runs/denoising_autoencoder"
EVAL_PLAIN = "nnctl eval runs/plain_autoencoder"
MASKED = " --corrupt mask=0.3"
DENOISING_LOSSES = {"dc": printed(LOSS, ".6f", command=EVAL_DENOISING + MASKED),
                    "dn": printed(LOSS, ".6f", command=EVAL_DENOISING),
                    "pc": printed(LOSS, ".6f", command=EVAL_PLAIN + MASKED),
                    "pn": printed(LOSS, ".6f", command=EVAL_PLAIN)}

DOCS_AUTOENCODERS = [
    Figure(AUTOENCODERS, "autoencoder", "| the autoencoder's codes (node `code`) | **{codes}%** |",
           pick(CODES_AND_PCA, "codes")),
    Figure(AUTOENCODERS, "autoencoder", "| PCA's projection of the 784 pixels onto its first two axes | {pca}% |",
           pick(CODES_AND_PCA, "pca")),
    Figure(AUTOENCODERS, "autoencoder", "# 2-D codes of 'code': 5-NN test accuracy {codes}%\n"
           "# PCA of the 784-D inputs: 5-NN test accuracy {pca}%", CODES_AND_PCA),
    Figure(AUTOENCODERS, "autoencoder", "(mean squared error {whole} on the whole test split, from "
           "`nnctl eval runs/autoencoder`; {drawn} on the ten drawn)",
           {"whole": printed(r"reconstruction mean squared error ([0-9.]+)", ".5f", command="nnctl eval runs/autoencoder"),
            "drawn": printed(r"mean squared error to the clean images ([0-9.]+)", ".4f", command="--reconstructions 10")}),
    Figure(AUTOENCODERS, "denoising",
           "| masked inputs (denoising, `configs/denoising_autoencoder.yaml`) | **{dc}** | {dn} |",
           pick(DENOISING_LOSSES, "dc", "dn")),
    Figure(AUTOENCODERS, "denoising", "| clean inputs (plain, `--set model.layers[0].p=0`) | {pc} | {pn} |",
           pick(DENOISING_LOSSES, "pc", "pn")),
    Figure(AUTOENCODERS, "denoising", "# test: 10000 samples, loss {dc} (inputs corrupted: mask p 0.3)\n"
           "nnctl eval runs/plain_autoencoder --corrupt mask=0.3\n"
           "# test: 10000 samples, loss {pc} (inputs corrupted: mask p 0.3)", pick(DENOISING_LOSSES, "dc", "pc")),
]

MULTI_LOSS_CSV = "cat runs/multi_loss"
MULTI_LOSS_EVAL = "nnctl eval runs/multi_loss"
MULTI_LOSS_COLUMNS = ("train_loss", "val_loss", "val_loss.main", "val_loss.aux", "val_acc.main", "val_acc.aux")


def multi_loss_row(epoch: int, bold: str = "") -> Figure:
    """A row of docs/autoencoders.md's table of configs/multi_loss.yaml's metrics.csv (`bold`: a column in **)."""
    cells = " | ".join(f"**{{c{i}}}**" if name == bold else f"{{c{i}}}" for i, name in enumerate(MULTI_LOSS_COLUMNS))
    return Figure(AUTOENCODERS, "multi-loss", f"| {epoch} | {cells} |",
                  {f"c{i}": column(MULTI_LOSS_CSV, name, ".4f", 1.0, epoch=epoch)
                   for i, name in enumerate(MULTI_LOSS_COLUMNS)})


DOCS_AUTOENCODERS += [
    Figure(AUTOENCODERS, "multi-loss", "early stopping ended the run after {epochs} epochs, `val_acc.main` having "
           "not improved for 3 epochs since epoch {best} (report.json: `status: stopped early`, `message: early "
           "stopping: val_acc.main did not improve for 3 epochs`, `best_epoch: {best}`); best.npz is epoch {best}'s.",
           {"epochs": printed(EPOCHS, ".0f"), "best": printed(BEST, ".0f")}),
    multi_loss_row(1), multi_loss_row(6, bold="val_acc.main"), multi_loss_row(9),
    Figure(AUTOENCODERS, "multi-loss", "Test split, epoch {best}'s weights: main head {main}%, auxiliary head "
           "{aux}%, term losses main {loss_main} and aux {loss_aux}",
           {"best": printed(BEST, ".0f"),
            "main": printed(r"accuracy of each head: main ([0-9.]+)%", ".2f", command=MULTI_LOSS_EVAL),
            "aux": printed(r"accuracy of each head: .*aux ([0-9.]+)%", ".2f", command=MULTI_LOSS_EVAL),
            "loss_main": printed(r"loss of each term: main ([0-9.]+)", ".4f", command=MULTI_LOSS_EVAL),
            "loss_aux": printed(r"loss of each term: .*aux ([0-9.]+)", ".4f", command=MULTI_LOSS_EVAL)}),
]


def steps_row(label: str, run: str) -> Figure:
    """A row of docs/autoencoders.md's SGD-against-momentum table (steps.csv means, the run's best val. accuracy)."""
    means = rf"{run}: mean loss of steps 1-100 ([0-9.]+), of steps 401-500 ([0-9.]+)"
    return Figure(AUTOENCODERS, "course", f"| {label} | {{early}} | {{late}} | {{acc}}% |",
                  {"early": printed(means, ".4f"), "late": printed(means.replace("([0-9.]+),", "[0-9.]+,"), ".4f"),
                   "acc": trained(VAL_ACC, run, ".2f")})


DOCS_AUTOENCODERS += [
    steps_row("sgd", "sgd_steps"), steps_row("momentum 0.9", "momentum_steps"),
    Figure(AUTOENCODERS, "course", "(SGD's was at epoch 4{check}; its epoch 5 gave {last}%)",
           {"last": column("cat runs/course-sgd_steps", "val_acc", ".2f", epoch=5),
            "check": lambda out: "" if out.csv_value("cat runs/course-sgd_steps", "val_acc", epoch=4) == max(
                float(row["val_acc"]) for row in out.csv_rows("cat runs/course-sgd_steps")) else "(not epoch 4)"}),
]


FINETUNE = "docs/finetune.md"
VAL_ROW = r"^[|] val [|] [0-9.]+ [|] ([0-9.]+)%"
TEST_ROW = r"^[|] test [|] [0-9.]+ [|] ([0-9.]+)%"


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


def update_ratios(out) -> list[float]:
    """The update/weight medians of dense1 ... dense4 in `nnctl health`'s table (its last column)."""
    rows = [row.split() for row in out.of("nnctl health").splitlines()]
    return [float(row[-1]) for row in rows if row and row[0] in ("dense1", "dense2", "dense3", "dense4")]


DOCS_HEALTH = [
    Figure("docs/health.md", "health-init_lr_high", "(dense1 to dense4 move by {low} to {high} of their size per "
           "step: {low_x} to {high_x} times the rule of thumb, but below the 0.1 threshold.)",
           {"low": lambda out: f"{min(update_ratios(out)):.2f}", "high": lambda out: f"{max(update_ratios(out)):.2f}",
            "low_x": lambda out: f"{min(update_ratios(out)) / 0.001:.0f}",
            "high_x": lambda out: f"{max(update_ratios(out)) / 0.001:.0f}"}),
]

def sci(value: float) -> str:
    """1.8e-4, as the docs write small figures."""
    return f"{value:.1e}".replace("e-0", "e-")


LARGEST_NOISE = r"largest noise ([0-9.e+-]+)"
DOCS_GRADCHECK = [
    Figure("docs/gradcheck.md", "gradcheck-all", "There a 1e-3 error of the gradient would read as about 1e-3 / "
           "(2 x 10 x {noise} / 1e-7) = {reads_as} and pass", {
               "noise": lambda out: sci(out.number(LARGEST_NOISE)),
               "reads_as": lambda out: sci(1e-3 / (2 * 10 * float(sci(out.number(LARGEST_NOISE))) / 1e-7))}),
    Figure("docs/gradcheck.md", "gradcheck-all", "layer by layer (decoder b: noise {noise})",
           {"noise": lambda out: sci(out.number(r"^ +decoder +b +[(]784,[)] +\S+ +\S+ +([0-9.e+-]+) +pass"))}),
]

FIGURES = [*README, *DOCS_AUTOENCODERS, *DOCS_FINETUNE, *DOCS_HEALTH, *DOCS_SWEEPS, *DOCS_GRADCHECK]

"""The figures of docs/autoencoders.md, docs/health.md and docs/gradcheck.md."""

from __future__ import annotations

from docs_figures import (
    BEST,
    EPOCHS,
    LOSS,
    TEST_MACRO_F1,
    VAL_ACC,
    Figure,
    class_recall,
    column,
    pick,
    printed,
    sci,
    split_accuracy,
)

CODES = r"2-D codes of 'code': 5-NN test accuracy ([0-9.]+)%"
PCA = r"PCA of the 784-D inputs: 5-NN test accuracy ([0-9.]+)%"


def trained(pattern: str, run: str, fmt: str = ".1f") -> object:
    """A figure of a course run's closing line (`... run: runs/course-NAME/<time>`)."""
    return printed(pattern, fmt, line=f"runs/course-{run}/")


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


LARGEST_NOISE = r"largest noise ([0-9.e+-]+)"
DOCS_GRADCHECK = [
    Figure("docs/gradcheck.md", "gradcheck-all", "There a 1e-3 error of the gradient would read as about 1e-3 / "
           "(2 x 10 x {noise} / 1e-7) = {reads_as} and pass", {
               "noise": lambda out: sci(out.number(LARGEST_NOISE)),
               "reads_as": lambda out: sci(1e-3 / (2 * 10 * float(sci(out.number(LARGEST_NOISE))) / 1e-7))}),
    Figure("docs/gradcheck.md", "gradcheck-all", "layer by layer (decoder b: noise {noise})",
           {"noise": lambda out: sci(out.number(r"^ +decoder +b +[(]784,[)] +\S+ +\S+ +([0-9.e+-]+) +pass"))}),
]


IMBALANCED_RUNS = {"as it is": "fashion_imbalanced.yaml --quiet",
                   "`loss.class_weights: balanced`": "class_weights=balanced",
                   "`data.sampler: balanced`": "sampler=balanced"}


def recall(class_name: str, command: str) -> object:
    """A class's test recall in report.md's per-class table, as the doc writes it (3 decimals)."""
    return printed(class_recall(class_name), ".3f", command=command)


def imbalanced_row(label: str, command: str) -> Figure:
    return Figure("docs/imbalanced.md", "imbalanced", f"| {label} | {{f1}} | {{acc}}% | {{shirt}} | {{tshirt}} |",
                  {"f1": printed(TEST_MACRO_F1, ".4f", command=command),
                   "acc": printed(split_accuracy("test"), ".2f", command=command),
                   "shirt": recall("Shirt", command), "tshirt": recall("T-shirt/top", command)})


DOCS_IMBALANCED = [
    *(imbalanced_row(label, command) for label, command in IMBALANCED_RUNS.items()),
    Figure("docs/imbalanced.md", "imbalanced", "(its recall on T-shirt/top is {tshirt}, on Shirt {shirt})",
           {"tshirt": recall("T-shirt/top", IMBALANCED_RUNS["as it is"]),
            "shirt": recall("Shirt", IMBALANCED_RUNS["as it is"])}),
]

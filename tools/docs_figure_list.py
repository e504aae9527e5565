"""Every figure quoted in the prose and tables of README.md and docs/ that a command measured, with the kept
output it comes from (the rules: tools/docs_figures.py; the outputs: tools/docs_excerpts.py). The README's
figures are here; the guides' in docs_figures_guides.py, docs_figures_finetune.py and docs_figures_sweeps.py."""

from __future__ import annotations

from docs_figures import (
    BEST,
    EPOCHS,
    LOSS,
    MINUTES,
    TEST_ACC,
    TEST_MACRO_F1,
    VAL_ACC,
    Figure,
    pick,
    printed,
    split_accuracy,
)
from docs_figures_finetune import DOCS_FINETUNE, finetune_fields
from docs_figures_guides import (
    CODES,
    DOCS_AUTOENCODERS,
    DOCS_GRADCHECK,
    DOCS_HEALTH,
    DOCS_IMBALANCED,
    EVAL_DENOISING,
    EVAL_PLAIN,
    IMBALANCED_RUNS,
    MASKED,
    PCA,
    trained,
)
from docs_figures_sweeps import DOCS_SWEEPS, PRUNER_FIELDS


def dropout_accuracy(split: str, run: str) -> object:
    """A dropout course run's train or validation accuracy, from its report.md row (one decimal)."""
    return printed(split_accuracy(split), ".1f", command=f"course-{run}/")


README = [
    Figure("README.md", "imbalanced", "| test macro F1 {plain} as it is, {weights} with `class_weights: balanced`, "
           "{sampler} with `sampler: balanced` |",
           {name: printed(TEST_MACRO_F1, ".4f", command=IMBALANCED_RUNS[label]) for name, label in
            (("plain", "as it is"), ("weights", "`loss.class_weights: balanced`"),
             ("sampler", "`data.sampler: balanced`"))}),
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
           {"denoising": printed(LOSS, ".4f", command=EVAL_DENOISING + MASKED),
            "plain": printed(LOSS, ".4f", command=EVAL_PLAIN + MASKED)}),
    Figure("README.md", "finetune", "| best val. {frozen}% (frozen convolutions) against {scratch}% from scratch |",
           {"frozen": finetune_fields("frozen_best")["frozen_best"],
            "scratch": finetune_fields("scratch_best")["scratch_best"]}),
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
            "train_off": dropout_accuracy("train", "dropout_off"),
            "val_off": dropout_accuracy("val", "dropout_off"),
            "train_on": dropout_accuracy("train", "dropout_on"),
            "val_on": dropout_accuracy("val", "dropout_on"),
            "three": printed(r"overfit check: training accuracy ([0-9.]+)%", ".0f", line="on 50 samples (50/50)"),
            "five": printed(r"overfit check: training accuracy ([0-9.]+)%", ".0f", line="did NOT reach"),
            "softmax": trained(VAL_ACC, "softmax"), "svm": trained(VAL_ACC, "svm")}),
]

FIGURES = [*README, *DOCS_AUTOENCODERS, *DOCS_FINETUNE, *DOCS_HEALTH, *DOCS_SWEEPS, *DOCS_GRADCHECK,
           *DOCS_IMBALANCED]

"""What evaluating a network on one split gives (nnctl.training.metrics.evaluate): a record, written into
metrics rows, report.json, `nnctl eval`'s JSON and sweeps."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Evaluation:
    """loss: the data loss averaged over the samples plus the weight penalty. The rest is there when it
    applies (None otherwise):

        correct, acc, confusion (C x C, row = true class), per_class_acc    the first loss term is a head
        precision, recall, f1, support (per class), macro_f1, weighted_f1,   the same, from the confusion
        balanced_acc                                           matrix (nnctl.nn.class_metrics)
        top_k {k: accuracy}                                    the k asked for (train.metrics: topK)
        term_loss {name: loss}, head_acc {name: accuracy}      several loss terms (each term's own,
                                                               unweighted loss; each head's accuracy)
        reconstruction_mse                                     a term reconstructs the input: the mean
                                                               squared error of its output to the clean input
    """

    loss: float
    samples: int
    correct: int | None = None
    acc: float | None = None
    confusion: list[list[int]] | None = None
    per_class_acc: list[float | None] | None = None
    term_loss: dict[str, float] | None = None
    head_acc: dict[str, float] | None = None
    reconstruction_mse: float | None = None
    precision: list[float] | None = None
    recall: list[float | None] | None = None
    f1: list[float | None] | None = None
    support: list[int] | None = None
    macro_f1: float | None = None
    weighted_f1: float | None = None
    balanced_acc: float | None = None
    top_k: dict[int, float] | None = None

    def figure(self, word: str) -> float | None:
        """A metric of train.metrics by its name: acc, macro_f1, weighted_f1, balanced_acc or topK."""
        if word.startswith("top") and word[3:].isdigit():
            return (self.top_k or {}).get(int(word[3:]))
        return getattr(self, word)

    def to_json(self) -> dict[str, Any]:
        """The figures that apply, under the names report.json and `nnctl eval` use (top_k as topK keys)."""
        out = {key: value for key, value in asdict(self).items() if value is not None and key != "top_k"}
        out.update({f"top{k}": value for k, value in (self.top_k or {}).items()})
        return out

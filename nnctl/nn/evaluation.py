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

    def to_json(self) -> dict[str, Any]:
        """The figures that apply, under the names report.json and `nnctl eval` use."""
        return {key: value for key, value in asdict(self).items() if value is not None}

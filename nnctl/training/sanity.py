"""`train.sanity`: the course's first check, made on every new run: does the first batch's loss look like a
freshly initialized network's?

With small random weights every class gets about the same score, so softmax cross-entropy starts near ln C
and the multiclass SVM near (C - 1) x margin (C classes). A first loss FACTOR times above (or below) that
means the initialization (or the data's scale) is off: `configs/course/init_large.yaml` starts at about 15
times ln 10, `init_good.yaml` within 6% of it, and Fashion-MNIST's MLP and CNN, with batch norm, within
about 10%. The check reads the first step's own loss (the first loss term, before any update), so it costs
nothing and draws nothing. Losses without such an expectation (regression, reconstruction) are not checked.

    warn   one line on stderr, and the finding in report.json and report.md (the default)
    error  the run stops at its first step, as failed, with that line
    off    no check
"""

from __future__ import annotations

from nnctl.errors import WorkError
from nnctl.nn.registry import LOSSES
from nnctl.training.callbacks import Callback, StepInfo

FACTOR = 3.0


class InitialLossOff(WorkError):
    """train.sanity: error, and the first loss is off."""


def initial_loss_finding(trainer, loss: float) -> str | None:
    """The one-line finding for a first-batch loss of the first term, or None when it looks as expected."""
    term = trainer.objective.primary
    classes = trainer.setup.splits.num_classes
    if classes is None or term.target != "labels":
        return None
    expected = term.loss.expected_initial(classes)
    if not expected or expected / FACTOR <= loss <= expected * FACTOR:
        return None
    name = next(n for n, cls in LOSSES.items() if isinstance(term.loss, cls))
    rule = "ln C" if name == "softmax_cross_entropy" else "(C - 1) x margin" if name == "svm" else "theory"
    ratio = loss / expected
    return (f"initial loss {loss:.4g} is {ratio:.3g} times the {expected:.4g} expected for {name} at random "
            f"initialization ({rule}, C = {classes}); the weights start too "
            f"{'large' if ratio > 1 else 'small or biased'}: check model init and weight_scale, or the data's "
            f"scale (train.sanity: off silences this)")


class InitialLossCheck(Callback):
    """Compares the first step of a new run (not of a resumed one) with the expected initial loss."""

    def __init__(self, mode: str, notify):
        self.mode, self.notify = mode, notify
        self.finding: str | None = None

    def on_before_update(self, trainer, step: StepInfo) -> None:
        if step.global_step != 1 or trainer.resumes:
            return
        self.finding = initial_loss_finding(trainer, step.term_losses[0])
        if self.finding is None:
            return
        if self.mode == "error":
            raise InitialLossOff(f"{self.finding.replace(' (train.sanity: off silences this)', '')} "
                                 f"(train.sanity: error)")
        trainer.note(self.finding)
        self.notify(f"warning: {self.finding}")

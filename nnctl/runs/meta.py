"""What a checkpoint says about itself (its `meta` entry) as a record, and the formats it has had.

    nnctl-checkpoint/1   milestones 1 and 2; the BLAS thread count as `blas_threads: N`
    nnctl-checkpoint/2   milestone 3; `threads: {blas: N, workers: M}`: nnctl's own worker threads beside
                         BLAS's (results are bit-identical for a BLAS thread count; the worker count is
                         recorded so that a resume elsewhere can say what differs)

Both load; checkpoints are written as format 2. Values are kept as the JSON gave them, typed below as nnctl
writes them: a checkpoint may come from anywhere, so each reader checks the part it uses and names the file
(nnctl.runs.loader for the network, nnctl.training.snapshots for the training state).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

FORMAT = "nnctl-checkpoint/2"
VERSIONS = {"nnctl-checkpoint/1": 1, FORMAT: 2}


@dataclass(frozen=True)
class CheckpointMeta:
    """The metadata of one checkpoint. Position: `epoch` completed epochs plus `step` steps into the next
    (the label of the weights); the rest is what `--resume` needs to continue exactly, and what `eval`,
    `predict` and `export` may take about the network (config's model and loss sections, shapes,
    normalization, class names)."""

    version: int = 2
    config: dict | None = None                # the resolved config's sections, as config.yaml holds them
    epoch: int | None = None
    step: int | None = None
    global_step: int = 0
    metrics: dict | None = None               # the last completed epoch's row, at an epoch boundary
    history: list[dict] | None = None         # every metrics row so far
    progress: dict | None = None              # a partly done epoch's running sums and generator state
    rng_state: dict | None = None
    schedule_state: dict | None = None
    monitor: str | None = None
    best_epoch: int | None = None
    best: dict | None = None                  # the best-checkpoint monitor's state
    early: dict | None = None                 # the early-stopping monitor's state
    normalization: dict | None = None
    class_names: list[str] | None = None
    input_shape: list[int] | None = None
    image_shape: list[int] | None = None
    init: dict | None = None                  # where the starting weights came from (init.from)
    resumes: int = 0
    versions: dict | None = None              # nnctl, numpy, python, platform
    first_loss: float | None = None
    findings: list[str] | None = None         # the sanity check's findings (train.sanity), kept across resumes
    blas_threads: int | None = None
    worker_threads: int | None = None         # None in format 1

    def to_json(self) -> dict[str, Any]:
        """The format 2 JSON object (with the format tag)."""
        out = {key: value for key, value in asdict(self).items()
               if key not in ("version", "blas_threads", "worker_threads")}
        out["threads"] = {"blas": self.blas_threads, "workers": self.worker_threads}
        return {"format": FORMAT, **out}


KNOWN = {f.name for f in fields(CheckpointMeta)} - {"version", "blas_threads", "worker_threads"}


def meta_from_json(raw: dict[str, Any], version: int) -> CheckpointMeta:
    """The record of a metadata object whose format tag said `version` (1 or 2); keys it does not know are
    left out."""
    values = {key: raw[key] for key in KNOWN if key in raw}
    if version == 1:
        blas, workers = raw.get("blas_threads"), None
    else:
        threads = raw.get("threads") if isinstance(raw.get("threads"), dict) else {}
        blas, workers = threads.get("blas"), threads.get("workers")
    return CheckpointMeta(version=version, blas_threads=blas, worker_threads=workers, **values)

"""The MLflow logger: one MLflow run per run folder.

A new run gets an MLflow run in the experiment (default: the run's name) tagged with the run folder
(`nnctl.run_dir`) and its status (`nnctl.status`), the resolved config as flattened params
(`model.layers.0.units`, ...), then each epoch's metrics, the per-step loss and learning rate, and at the
end the report's figures and, as artifacts, the run folder's pictures (pictures/), report.json, report.md,
config.yaml, metrics.csv and checkpoints/best.npz. Its id is kept in the run folder's loggers.json, so a
resumed run continues the same MLflow run, from the epoch and step that run's metrics reach.

A sweep trial (its folder's parent holds the sweep's loggers.json, see sweep.py) is a child run of the
sweep's parent run, in the parent's experiment.
"""

from __future__ import annotations

import time
from pathlib import Path

from nnctl.loggers.base import (
    EPOCH_TAG,
    Already,
    Logger,
    RunStart,
    epoch_figures,
    flatten,
    read_state,
    report_figures,
    shown,
    write_state,
)
from nnctl.loggers.mlflow_setup import client_for, default_uri, experiment_id, mlflow_status

PARAMS_PER_CALL, METRICS_PER_CALL, PARAM_CHARS = 100, 1000, 6000       # MLflow's limits for one log_batch
ARTIFACTS = {"report.json": None, "report.md": None, "config.yaml": None, "metrics.csv": None,
             "checkpoints/best.npz": "checkpoints"}


class MlflowLogger(Logger):
    kind = "mlflow"

    def __init__(self, options: dict):
        self.uri, self.experiment = options.get("tracking_uri"), options.get("experiment")
        self.client = None
        self.run_id: str | None = None
        self.run_dir: Path | None = None

    def start(self, run: RunStart) -> Already:
        self.run_dir = run.run_dir
        kept = read_state(run.run_dir).get("mlflow")
        if isinstance(kept, dict) and isinstance(kept.get("run_id"), str):
            self.client = client_for(kept["tracking_uri"])
            self.run_id = kept["run_id"]
            self.client.update_run(self.run_id, status="RUNNING")
            self.client.set_tag(self.run_id, "nnctl.status", "running")
            return Already(self.last_step(EPOCH_TAG), self.last_step("step/loss"))
        parent = read_state(run.run_dir.parent).get("mlflow")
        parent = parent if isinstance(parent, dict) and parent.get("sweep") else None
        uri = parent["tracking_uri"] if parent else self.uri or default_uri(run.run_dir)
        self.client = client_for(uri)
        tags = {"nnctl.run_dir": str(run.run_dir.resolve()), "nnctl.status": "running", "nnctl.config": run.name}
        if parent:
            tags["mlflow.parentRunId"] = parent["run_id"]
            experiment = parent["experiment_id"]
        else:
            experiment = experiment_id(self.client, self.experiment or run.name, uri)
        created = self.client.create_run(experiment, tags=tags,
                                         run_name=f"{run.run_dir.parent.name}/{run.run_dir.name}")
        self.run_id = created.info.run_id
        write_state(run.run_dir, "mlflow", {"tracking_uri": uri, "experiment_id": experiment, "run_id": self.run_id})
        self.log_params(flatten(run.config))
        return Already()

    def last_step(self, key: str, default: int = 0) -> int:
        """The largest step of metric `key` in the run (`default` when it has none)."""
        return max((m.step for m in self.client.get_metric_history(self.run_id, key)), default=default)

    def log_params(self, values: dict) -> None:
        # optional (the mlflow extra): loaded when a run has an mlflow logger
        from mlflow.entities import Param

        params = [Param(key, str(shown(value))[:PARAM_CHARS]) for key, value in values.items()]
        for i in range(0, len(params), PARAMS_PER_CALL):
            self.client.log_batch(self.run_id, params=params[i:i + PARAMS_PER_CALL])

    def log_metrics(self, values: list[tuple[str, float, int]]) -> None:
        # optional (the mlflow extra): loaded when a run has an mlflow logger
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for key, value, step in values]
        for i in range(0, len(metrics), METRICS_PER_CALL):
            self.client.log_batch(self.run_id, metrics=metrics[i:i + METRICS_PER_CALL])

    def epoch(self, row: dict) -> None:
        self.log_metrics([(key, value, int(row["epoch"])) for key, value in epoch_figures(row).items()])

    def steps(self, rows: list[tuple[int, float, float]]) -> None:
        self.log_metrics([item for step, loss, lr in rows for item in (("step/loss", loss, step),
                                                                        ("step/lr", lr, step))])

    def end(self, report: dict) -> None:
        step = int(report.get("epochs_run") or 0)
        figures = report_figures(report)
        if not figures or self.last_step(next(iter(figures)), default=-1) < step:    # a re-run has them already
            self.log_metrics([(key, value, step) for key, value in figures.items()])
        for picture in sorted(self.run_dir.glob("*.png")):
            self.client.log_artifact(self.run_id, str(picture), "pictures")
        for name, folder in ARTIFACTS.items():
            if (self.run_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(self.run_dir / name), folder)
        status = report.get("status", "failed")
        self.client.set_tag(self.run_id, "nnctl.status", status)
        self.client.set_terminated(self.run_id, mlflow_status(status))

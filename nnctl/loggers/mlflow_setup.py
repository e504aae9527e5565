"""The MLflow client as nnctl uses it: requests that give up in seconds, no log output of its own, the
default tracking URI, and experiments found or made.

A dead tracking server must not hold a run up: unless the environment already sets them, the client makes
2 retries of a failed request, backing off about 1 s and 2 s, and waits at most 5 s for an answer
(MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, MLFLOW_HTTP_REQUEST_BACKOFF_JITTER,
MLFLOW_HTTP_REQUEST_TIMEOUT). After its first failure a logger is dropped (nnctl.training.logged), so a
run waits for a dead server once at most. MLflow's own lines (its log, the run's URL on stdout) are kept
out of nnctl's output.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from nnctl.loggers.base import INSTALL, MissingPackage

HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
                 "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true"}      # nnctl's stdout is its own
QUIET = {"mlflow": logging.ERROR, "alembic": logging.WARNING, "urllib3": logging.ERROR}
SQLITE = "sqlite:///"


def client_for(uri: str):
    """An MlflowClient for `uri` with the bounded retries above; MissingPackage when mlflow is not installed."""
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    try:
        # optional (the mlflow extra) and slow to import: loaded when a run has an mlflow logger
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingPackage(f"the mlflow logger needs the mlflow package, which is not installed: "
                             f"{INSTALL['mlflow']}") from None
    for name, level in QUIET.items():
        logging.getLogger(name).setLevel(level)
    return MlflowClient(tracking_uri=uri)


def default_uri(run_dir: Path) -> str:
    """sqlite:///.../mlflow.db beside the folder of runs: runs/NAME/STAMP -> ./mlflow.db next to runs/ (a
    sweep trial, sweeps/SWEEP/trial-NNNN: next to sweeps/)."""
    return SQLITE + str(run_dir.resolve().parent.parent.parent / "mlflow.db")


def artifact_root(uri: str) -> str | None:
    """Where a new experiment keeps its artifacts: mlartifacts/ beside a SQLite file (otherwise MLflow would
    use the current folder); None for a server, which decides itself."""
    if not uri.startswith(SQLITE):
        return None
    return (Path(uri[len(SQLITE):]).resolve().parent / "mlartifacts").as_uri()


def experiment_id(client, name: str, uri: str) -> str:
    """The id of the experiment `name`, made when missing (another process making it meanwhile is fine)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_root(uri))
    except Exception:              # made by another process since: take that one, else the error stands
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


def mlflow_status(status: str) -> str:
    """A run's ending as an MLflow run status."""
    if status in ("completed", "stopped early", "pruned"):
        return "FINISHED"
    return "KILLED" if status in ("interrupted", "abandoned") else "FAILED"

"""The parent MLflow run of a sweep: one per sweep folder, its trials' runs its children.

`open_parent` makes it (or takes it up again when the sweep continues) before the first trial and keeps its
id in the sweep folder's loggers.json, marked `"sweep": true`; each trial's MLflow logger finds it there
(mlflow_run.py). It carries the sweep's space and metric as params and the tags `nnctl.sweep_dir` and
`nnctl.status`; `close_parent` adds the best value so far (best/value, best/trial) and ends it.
A parent that cannot be made or closed is one warning line; the sweep goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nnctl.loggers.base import first_line, read_state, write_state
from nnctl.loggers.mlflow_run import PARAM_CHARS
from nnctl.loggers.mlflow_setup import client_for, default_uri, experiment_id, mlflow_status


def mlflow_entry(entries: list[dict]) -> dict | None:
    return next((entry for entry in entries if entry["type"] == "mlflow"), None)


def open_parent(entries: list[dict], sweep_dir: Path, name: str, params: dict[str, str],
                say: Callable[[str], None]) -> None:
    """Make or reopen the sweep's parent run when `entries` (the base config's loggers) list mlflow."""
    entry = mlflow_entry(entries)
    if entry is None:
        return
    try:
        kept = read_state(sweep_dir).get("mlflow")
        if isinstance(kept, dict) and kept.get("sweep") and isinstance(kept.get("run_id"), str):
            client = client_for(kept["tracking_uri"])
            client.update_run(kept["run_id"], status="RUNNING")
            client.set_tag(kept["run_id"], "nnctl.status", "running")
            return
        uri = entry["tracking_uri"] or default_uri(sweep_dir / "trial")
        client = client_for(uri)
        experiment = experiment_id(client, entry["experiment"] or name, uri)
        run = client.create_run(experiment, run_name=name, tags={"nnctl.sweep_dir": str(sweep_dir.resolve()),
                                                                  "nnctl.status": "running"})
        write_state(sweep_dir, "mlflow", {"tracking_uri": uri, "experiment_id": experiment,
                                          "run_id": run.info.run_id, "sweep": True})
        for key, value in params.items():
            client.log_param(run.info.run_id, key, value[:PARAM_CHARS])
    except Exception as exc:           # whatever the server or the package raises: the sweep goes on
        say(f"warning: the mlflow logger could not open the sweep's parent run ({first_line(exc)}); the sweep "
            f"goes on, its trials log as runs of their own")


def close_parent(entries: list[dict], sweep_dir: Path, status: str, best: tuple[int, float] | None,
                 say: Callable[[str], None]) -> None:
    """Record the best trial so far and end the parent run with `status` (completed, interrupted, failed)."""
    kept = read_state(sweep_dir).get("mlflow")
    if mlflow_entry(entries) is None or not isinstance(kept, dict) or not kept.get("sweep"):
        return
    try:
        client = client_for(kept["tracking_uri"])
        if best is not None:
            client.log_metric(kept["run_id"], "best/value", best[1])
            client.log_metric(kept["run_id"], "best/trial", best[0])
        client.set_tag(kept["run_id"], "nnctl.status", status)
        client.set_terminated(kept["run_id"], mlflow_status(status))
    except Exception as exc:           # whatever the server or the package raises: the sweep's outputs stand
        say(f"warning: the mlflow logger could not close the sweep's parent run ({first_line(exc)})")

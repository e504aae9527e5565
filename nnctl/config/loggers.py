"""The `loggers:` section: a list of places that also receive a run's numbers (TensorBoard event files, an
MLflow tracking server), each `{type: NAME, ...options}`, checked here against its option table.

    loggers:
      - {type: tensorboard}                                   # event files in RUN/tensorboard/
      - {type: mlflow, tracking_uri: http://127.0.0.1:5000, experiment: spiral}

What each logger writes, and how a failing one is handled, is in nnctl/loggers/ and docs/loggers.md.
"""

from __future__ import annotations

from typing import Any

from nnctl.errors import ConfigError
from nnctl.options.spec import Option, Optional, Str, did_you_mean, join_path, require_mapping, show, validate

TENSORBOARD_OPTIONS = {
    "dir": Option(Optional(Str()), None,
                  "a folder of TensorBoard runs (relative to the config file); the run writes into "
                  "DIR/NAME/STAMP (a sweep trial: DIR/SWEEP/trial-NNNN). null: the run folder's tensorboard/"),
}

MLFLOW_OPTIONS = {
    "tracking_uri": Option(Optional(Str()), None,
                           "where the runs go: http://HOST:PORT of an `mlflow server`, or sqlite:///FILE; "
                           "null: sqlite:///.../mlflow.db, a file beside the folder of runs (for runs/NAME/STAMP: "
                           "mlflow.db next to runs/)"),
    "experiment": Option(Optional(Str()), None, "the MLflow experiment (made when missing); null: the run's name"),
}

LOGGER_TYPES = {"tensorboard": TENSORBOARD_OPTIONS, "mlflow": MLFLOW_OPTIONS}

# What `nnctl docs loggers` says of each type, first line.
LOGGER_DOCS = {
    "tensorboard": "TensorBoard event files: every metrics.csv column per epoch, the per-step loss and learning "
                   "rate, the config as text and as hparams, and at the end the report's figures and pictures. "
                   "Needs `pip install 'nnctl[tensorboard]'`.",
    "mlflow": "An MLflow run: the same metrics, the config as flattened params, the report's figures, the run "
              "folder's pictures, report and best checkpoint as artifacts, tags for the run folder and status; "
              "a sweep's trials are child runs of one parent run. Needs `pip install 'nnctl[mlflow]'`.",
}


def resolve_loggers(raw: Any, path: str = "loggers") -> list[dict]:
    """The checked list of loggers (null or missing: none). Each entry comes back as {type, ...options} with
    its defaults filled in; one logger type may appear once only."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(path, f"expected a list of loggers such as [{{type: tensorboard}}], got {show(raw)}")
    out, seen = [], {}
    for i, entry in enumerate(raw):
        where = join_path(path, i)
        entry = require_mapping(entry, where)
        name = entry.get("type")
        if name not in LOGGER_TYPES:
            hint = did_you_mean(name, LOGGER_TYPES) if isinstance(name, str) else ""
            missing = "required key is missing" if name is None else f"unknown logger {show(name)}"
            raise ConfigError(join_path(where, "type"), f"{missing}{hint or '; loggers are tensorboard, mlflow'}")
        if name in seen:
            raise ConfigError(where, f"a second {name} logger (the first is {join_path(path, seen[name])}); "
                                     f"each type may be listed once")
        seen[name] = i
        out.append({"type": name, **validate(LOGGER_TYPES[name], entry, where, ignore=("type",))})
    return out

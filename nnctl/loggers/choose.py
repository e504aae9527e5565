"""The loggers a config's `loggers:` list asks for, and the check that their packages are installed."""

from __future__ import annotations

from pathlib import Path

from nnctl.loggers.base import INSTALL, Logger, MissingPackage
from nnctl.loggers.mlflow_run import MlflowLogger
from nnctl.loggers.tensorboard import TensorBoardLogger

KINDS = {"tensorboard": TensorBoardLogger, "mlflow": MlflowLogger}


def require_packages(entries: list[dict], source: str = "") -> None:
    """MissingPackage (one line: what to install) for the first logger whose package cannot be imported."""
    for i, entry in enumerate(entries):
        try:
            if entry["type"] == "tensorboard":
                # optional (the tensorboard extra): only checked when a config asks for it
                import tensorboard  # noqa: F401
            else:
                # optional (the mlflow extra) and slow to import: only when a config asks for it
                import mlflow  # noqa: F401
        except ImportError:
            where = f"{source}: loggers[{i}]" if source else f"loggers[{i}]"
            raise MissingPackage(f"{where}: the {entry['type']} logger needs the {entry['type']} package, which "
                                 f"is not installed: {INSTALL[entry['type']]}") from None


def make_loggers(entries: list[dict], config_dir: Path) -> list[Logger]:
    """One logger per entry; a relative tensorboard `dir` is taken from the config file's folder."""
    made = []
    for entry in entries:
        options = dict(entry)
        if options.get("dir") is not None:
            options["dir"] = str((config_dir / Path(options["dir"]).expanduser()).resolve())
        made.append(KINDS[entry["type"]](options))
    return made

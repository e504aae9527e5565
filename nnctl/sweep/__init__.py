"""Hyperparameter sweeps: many runs of one base config, searched by an Optuna study.

    spec.py, space.py, paths.py   the sweep file: keys, base config and `set`, the space's distributions
    check.py                      corners of the space tried before the first trial
    storage.py, study.py          the database (SQLite or PostgreSQL), the study, its samplers and pruner
    tickets.py                    the trial budget: exactly N trials, none twice, retries
    trial.py, worker.py           one trial as an ordinary run folder; the loop a worker process runs
    supervisor.py                 --workers W processes on this machine, dead workers, Ctrl-C
    runner.py, status.py          `nnctl sweep` from start to end; --status
    report.py, narrow.py, plots.py   trials.csv, best.yaml, narrowed.yaml, report.md and the pictures
    docs.py                       the sweep-file reference in docs/sweeps.md

Optuna is an optional extra: `pip install 'nnctl[sweep]'`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

from nnctl.errors import WorkError

INSTALL = "pip install 'nnctl[sweep]'"


class MissingPackage(WorkError):
    """An optional package is not installed (exit code 1)."""


def require_optuna() -> None:
    """Raise MissingPackage (one line saying what to install) when Optuna cannot be imported."""
    try:
        # optional (the sweep extra): loaded when a sweep runs
        import optuna  # noqa: F401
    except ImportError:
        raise MissingPackage(f"nnctl sweep needs Optuna, which is not installed: {INSTALL}") from None


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Optuna's warnings about experimental features nnctl relies on knowingly (heartbeats, the
    constant liar, PED-ANOVA importances) and its advice to use Study.optimize."""
    with warnings.catch_warnings():
        # optional (the sweep extra): loaded when a sweep runs
        from optuna.exceptions import ExperimentalWarning

        warnings.simplefilter("ignore", ExperimentalWarning)
        warnings.filterwarnings("ignore", message=".*[Hh]eartbeat.*")
        warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
        yield

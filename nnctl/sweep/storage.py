"""The database a study lives in: a SQLite file in the sweep folder by default, or a PostgreSQL server that
several machines share (`--storage postgresql://USER@HOST:PORT/DATABASE`).

Three things are added to Optuna's RDBStorage:
- SQLite transactions start with BEGIN IMMEDIATE. Python's sqlite3 otherwise runs a transaction's reads
  before it takes the write lock, so two processes can both see a queued trial as free and both take it
  (measured: 4 processes taking 150 queued trials took 32 of them twice); an immediate transaction makes
  read-then-write atomic, as PostgreSQL's row lock does.
- Two processes creating Optuna's tables in an empty PostgreSQL database at the same moment collide
  (a duplicate key in the catalog); the one that loses tries again, and finds the tables made.
- Heartbeats: a running trial records one every 10 s; one silent for 60 s (its worker was killed, or its
  machine lost) is marked failed and retried by the next process that looks. NNCTL_SWEEP_GRACE_SECONDS
  sets the 60 (the interval becomes a third of it, at most 10 s): longer for machines with slow links to
  the database, a few seconds in the tests.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import random
import time
from pathlib import Path

from nnctl.errors import InputError, WorkError
from nnctl.sweep import INSTALL, MissingPackage, quiet
from nnctl.sweep.tickets import on_stale

GRACE_SECONDS = 60
MAX_HEARTBEAT_SECONDS = 10
SCHEMES = ("sqlite", "postgresql")
SCHEMA_ATTEMPTS = 5


def storage_url(given: str | None, sweep_dir: Path) -> str:
    """The storage URL: `given` (checked), or a SQLite file study.db in the sweep folder."""
    if given is None:
        return f"sqlite:///{(sweep_dir / 'study.db').resolve()}"
    scheme = given.split(":", 1)[0].split("+", 1)[0]
    if scheme not in SCHEMES or "://" not in given:
        raise InputError(f"--storage: expected sqlite:///FILE or postgresql://USER@HOST:PORT/DATABASE, got "
                         f"{masked(given)!r}")
    return given


def masked(url: str) -> str:
    """The URL with its password (if any) replaced by ***."""
    try:
        # optional (comes with the sweep extra's Optuna): loaded when a sweep opens its storage
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:           # not a URL sqlalchemy can read: show only its scheme
        return url.split("://", 1)[0] + "://..." if "://" in url else url


def heartbeat_seconds() -> tuple[int, int]:
    """(seconds between a running trial's heartbeats, seconds of silence after which it is taken as dead)."""
    given = os.environ.get("NNCTL_SWEEP_GRACE_SECONDS", "").strip()
    grace = int(given) if given.isdigit() and int(given) >= 3 else GRACE_SECONDS
    return min(MAX_HEARTBEAT_SECONDS, grace // 3), grace


def open_storage(url: str):
    """An optuna RDBStorage on `url` with heartbeats (and immediate transactions for SQLite). A database that
    cannot be reached is one WorkError line; a missing driver names what to install."""
    # optional (the sweep extra): loaded when a sweep runs
    import optuna
    import sqlalchemy

    sqlite = url.startswith("sqlite")
    engine_kwargs = {"connect_args": {"timeout": 600}} if sqlite else {"pool_pre_ping": True}
    parameters = inspect.signature(optuna.storages.RDBStorage).parameters
    callback = "heartbeat_stale_trial_callback" if "heartbeat_stale_trial_callback" in parameters \
        else "failed_trial_callback"
    interval, grace = heartbeat_seconds()
    for attempt in range(SCHEMA_ATTEMPTS):
        try:
            with quiet():
                storage = optuna.storages.RDBStorage(with_driver(url), engine_kwargs=engine_kwargs,
                                                     heartbeat_interval=interval, grace_period=grace,
                                                     **{callback: on_stale})
            break
        except ImportError:
            raise MissingPackage(f"--storage {masked(url)}: the database driver is not installed: "
                                 f"{INSTALL}") from None
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.ProgrammingError) as exc:
            if attempt + 1 == SCHEMA_ATTEMPTS:     # another process was creating the tables at the same moment
                raise WorkError(f"--storage {masked(url)}: cannot create the study tables ({reason(exc)})") from None
            time.sleep(0.5 + random.random())
        except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError) as exc:
            raise WorkError(f"--storage {masked(url)}: cannot open the study database ({reason(exc)})") from None
    if sqlite:
        immediate_transactions(storage.engine)
    return storage


def with_driver(url: str) -> str:
    """A postgresql:// URL made to name the driver that is installed (psycopg2, else psycopg 3): SQLAlchemy
    2.1 assumes psycopg 3 where older versions assumed psycopg2."""
    if not url.startswith("postgresql://"):
        return url
    for module, driver in (("psycopg2", "psycopg2"), ("psycopg", "psycopg")):
        if importlib.util.find_spec(module) is not None:
            return f"postgresql+{driver}://" + url[len("postgresql://"):]
    return url


def immediate_transactions(engine) -> None:
    """Make every transaction on a SQLite engine take the write lock when it begins (BEGIN IMMEDIATE)."""
    # optional (comes with the sweep extra's Optuna): loaded when a sweep opens its storage
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _manual_transactions(dbapi_connection, _record):
        dbapi_connection.isolation_level = None          # sqlite3 leaves BEGIN to us

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()        # connections made before the listeners existed are not reused


def reason(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's background-link boilerplate."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0] if text else type(exc).__name__

"""A real PostgreSQL server for the tests and the sweep benchmark: initdb and pg_ctl in a temporary folder,
listening on 127.0.0.1 at a free port (and a Unix socket in that folder), run as the unprivileged user
`nobody` when this process is root (PostgreSQL refuses to run as root); stopped and removed afterwards.

    with PostgresServer() as server:
        url = server.create_database("sweeps")     # postgresql://nnctl@127.0.0.1:PORT/sweeps
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "nnctl"          # the database superuser initdb creates (trust authentication, local only)
RUN_AS = "nobody"       # the operating-system user the server runs as when we are root


class Unavailable(Exception):
    """PostgreSQL's server programs are not installed here."""


def bin_dir(path: str | None = None, pattern: str = "/usr/lib/postgresql/*/bin/pg_ctl") -> Path:
    """The folder holding initdb and pg_ctl: on `path` (default: PATH), else the newest match of `pattern`
    (Debian's /usr/lib/postgresql/VERSION/bin)."""
    on_path = shutil.which("pg_ctl", path=path)
    if on_path and shutil.which("initdb", path=path):
        return Path(os.path.realpath(on_path)).parent
    found = sorted(glob.glob(pattern), key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not found:
        raise Unavailable("PostgreSQL is not installed (no initdb and pg_ctl on PATH or in "
                          "/usr/lib/postgresql/*/bin; Debian: apt-get install postgresql)")
    return Path(found[-1]).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """Context manager: a PostgreSQL server of its own, up between __enter__ and __exit__."""

    def __init__(self):
        self.bin = bin_dir()
        self.folder = Path(tempfile.mkdtemp(prefix="nnctl-pg-"))
        self.data = self.folder / "data"
        self.port = 0
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam(RUN_AS)
            os.chown(self.folder, account.pw_uid, account.pw_gid)
            self.prefix = ["runuser", "-u", RUN_AS, "--"]

    def command(self, program: str, *args: str) -> None:
        result = subprocess.run(self.prefix + [str(self.bin / program), *args], capture_output=True, text=True,
                                timeout=120, cwd=self.folder)
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed ({result.returncode}): {result.stderr.strip()}")

    def __enter__(self) -> "PostgresServer":
        try:
            self.command("initdb", "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8", "--no-sync",
                         "--no-instructions")
            for _ in range(3):          # a port found free may be taken before the server binds it
                self.port = free_port()
                try:
                    self.command("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
                                 "-o", f"-h 127.0.0.1 -p {self.port} -k {self.folder} -F", "start")
                    break
                except RuntimeError:
                    if self.port_taken():
                        continue
                    raise
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def port_taken(self) -> bool:
        log = self.folder / "server.log"
        return log.is_file() and "could not bind" in log.read_text(errors="replace")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """CREATE DATABASE name; returns its URL."""
        import psycopg2

        connection = psycopg2.connect(self.url())
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url(name)

    def __exit__(self, *exc) -> None:
        if (self.data / "postmaster.pid").is_file():
            try:
                self.command("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            except RuntimeError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)

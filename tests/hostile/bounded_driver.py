"""Runs many `nnctl` invocations in one process whose address space is capped (RLIMIT_AS), so that an
attack that allocated what it asked for would fail with MemoryError instead of passing.

Reads JSON from stdin: {"headroom": bytes above the start-up address space, "cases": [{"id", "dir",
"args", "env", "alarm"}]}. Each case runs through click's test runner with `dir` as the working
directory and `env` added to the environment; a SIGALRM after `alarm` seconds turns a hang into a
failure. Writes JSON to stdout: {id: {"code", "stdout", "stderr", "written", "peak_rss"}} where `written`
lists the paths under `dir` that the case created or changed, and `peak_rss` is the process's peak
resident memory (bytes) after the case.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import signal
import stat
import sys
from pathlib import Path


def listing(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under `folder` (hidden ones too) with its size and modification time (folders and named
    pipes: only that they exist, since a file made inside or a read touches their times)."""
    found = {}
    for path in folder.rglob("*"):
        info = path.lstat()
        found[str(path.relative_to(folder))] = (0, 0) if stat.S_ISFIFO(info.st_mode) or \
            stat.S_ISDIR(info.st_mode) else (info.st_size, info.st_mtime_ns)
    return found


def address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmSize:"))


class Hung(Exception):
    pass


def on_alarm(signum, frame):
    raise Hung("the case did not finish within its alarm")


def main() -> None:
    spec = json.load(sys.stdin)
    import numpy as np
    from click.testing import CliRunner

    from nnctl.cli import cli

    np.ones((256, 256), dtype=np.float32) @ np.ones((256, 256), dtype=np.float32)   # start BLAS's threads
    limit = address_space() + spec["headroom"]
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, on_alarm)
    results = {}
    for case in spec["cases"]:
        folder = Path(case["dir"])
        os.chdir(folder)
        before = listing(folder)
        saved = {key: os.environ.get(key) for key in case["env"]}
        os.environ.update(case["env"])
        signal.alarm(case["alarm"])
        try:
            result = CliRunner().invoke(cli, case["args"])
            code, out, err = result.exit_code, result.stdout, result.stderr
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                err += f"[driver] {type(result.exception).__name__}: {result.exception}"
        except Hung as exc:
            code, out, err = -1, "", f"[driver] {exc}"
        finally:
            signal.alarm(0)
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        gc.collect()
        after = listing(folder)
        written = sorted(p for p in after if before.get(p) != after[p])
        results[case["id"]] = {"code": code, "stdout": out, "stderr": err, "written": written,
                               "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()

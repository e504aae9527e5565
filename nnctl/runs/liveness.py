"""Is a run being written right now? The marker file RUN/.running says which process writes it.

    RUN/.running      "PID HOST START" (START: the process's start time in clock ticks from /proc, or -)

The training process writes the marker when its loop starts (a new run or a resumed one) and removes it
when the run has ended, however it ended (completed, stopped, interrupted, diverged, failed). A run whose
marker names a live process on this host (same PID and same start time, so a recycled PID does not count)
is running. A marker left behind by a killed process (SIGKILL, power loss) names a dead process: that run
was interrupted. A folder without report.json and without a marker (written by an nnctl before the
marker, or copied from another host) is judged by its files' age instead: written to within the last
RECENT_SECONDS, running; otherwise interrupted.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

MARKER = ".running"
RECENT_SECONDS = 600.0
WATCHED = ("metrics.csv", "steps.csv", "health.csv", "config.yaml", "checkpoints/last.npz")


def process_start(pid: int) -> str:
    """The start time of process `pid` in clock ticks since boot (field 22 of /proc/PID/stat), '-' when
    there is no /proc; raises ProcessLookupError when there is /proc but no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            raise ProcessLookupError(pid) from None
        return "-"
    except OSError:
        return "-"
    return text.rpartition(")")[2].split()[19]


@contextlib.contextmanager
def running_marker(run_dir: Path) -> Iterator[None]:
    """RUN/.running for as long as the block runs; a marker that cannot be written is no reason to stop a
    run (the listing then judges the run by its files' age)."""
    marker = Path(run_dir) / MARKER
    pid = os.getpid()
    try:
        marker.write_text(f"{pid} {socket.gethostname()} {process_start(pid)}\n", encoding="utf-8")
    except OSError:
        pass
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            marker.unlink()


def marker_alive(run_dir: Path) -> bool | None:
    """True: the marker's process is alive; False: it is dead; None: no readable marker, or one written on
    another host (nothing can be said from here)."""
    try:
        pid_text, host, start = (Path(run_dir) / MARKER).read_text(encoding="utf-8").split()[:3]
        pid = int(pid_text)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if host != socket.gethostname():
        return None
    try:
        os.kill(pid, 0)
        now_start = process_start(pid)
    except ProcessLookupError:
        return False
    except PermissionError:             # alive, another user's process
        now_start = start
    except OSError:
        return None
    return start == "-" or now_start == "-" or now_start == start


def recently_written(run_dir: Path, now: float | None = None) -> bool:
    """Was any of the files a training run keeps writing modified in the last RECENT_SECONDS?"""
    now = time.time() if now is None else now
    for name in WATCHED:
        try:
            if now - (Path(run_dir) / name).stat().st_mtime < RECENT_SECONDS:
                return True
        except OSError:
            continue
    return False


def live_status(run_dir: Path, has_report: bool) -> str | None:
    """'running' or 'interrupted' when the files say so, None when the report's own status stands: a live
    marker means running (a resumed run has an older report), a report without one is the run's ending."""
    alive = marker_alive(run_dir)
    if alive:
        return "running"
    if has_report:
        return None
    if alive is None and recently_written(run_dir):
        return "running"
    return "interrupted"

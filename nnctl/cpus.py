"""How many threads a training run uses: given by hand, or chosen from the CPUs this process can really get.

Results are bit-identical for one thread count, not across counts (OpenBLAS gives a matrix product's
elements a different summation order depending on how it splits the product), so the count is chosen once,
before the first step, and kept for the whole run; a checkpoint records it and a resume uses it again.

    given       `nnctl train --threads N`, else NNCTL_THREADS=N
    available   the CPUs this process may run on (its affinity mask), limited by a cgroup CPU quota
                (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us), at least 1
    obtained    a 0.15 s calibration: one busy thread per available CPU, each doing GIL-free NumPy work;
                the CPU time they got, divided by the wall time, counts the CPUs nobody else is using.
                Another process that holds a core takes its share (beside one CPU-bound process on 2
                CPUs, two threads get about 1.33 CPUs between them); so does another nnctl calibrating
                or training at the same moment.

The automatic count is the obtained CPUs rounded down (with 0.3 of slack for short blips), between 1 and
the available CPUs: when the machine is busy, fewer threads that never wait for a descheduled partner
beat more threads that do (every matrix product waits for its slowest thread).
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nnctl.errors import InputError
from nnctl.threads import blas_threads, set_blas_threads
from nnctl.workers import chosen_threads, use_threads

CALIBRATION_SECONDS = 0.15
SLACK = 0.3                    # obtained CPUs within 0.3 of the next whole count round up to it
CGROUP = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class ThreadChoice:
    """The thread count of a run and how it was decided (printed in the report and at the start)."""
    count: int
    how: str              # "--threads", "NNCTL_THREADS", "auto" or "the checkpoint"
    available: int
    obtained: float | None = None

    def describe(self) -> str:
        if self.how == "auto":
            free = f"{self.obtained:.2f} free in a {CALIBRATION_SECONDS:g} s calibration"
            return f"{self.count} (auto: {self.available} CPU{'s' if self.available != 1 else ''} available, {free})"
        return f"{self.count} (from {self.how})"

    def to_json(self) -> dict:
        out = {"count": self.count, "how": self.how, "available": self.available}
        if self.obtained is not None:
            out["obtained"] = round(self.obtained, 3)
        return out


def affinity_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def cgroup_quota(root: Path = CGROUP) -> float | None:
    """CPUs' worth of time the cgroup quota allows (1.5 for `150000 100000`), or None when unlimited."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def available_cpus(root: Path = CGROUP) -> int:
    """The affinity mask's CPUs, at most the cgroup quota rounded down, at least 1."""
    cpus = affinity_cpus()
    quota = cgroup_quota(root)
    if quota is not None:
        cpus = min(cpus, math.floor(quota))
    return max(1, cpus)


def calibrate(threads: int, seconds: float = CALIBRATION_SECONDS) -> float:
    """CPUs obtained by `threads` busy threads over `seconds` of wall time: the sum of their CPU times over
    the wall time (at most `threads`). The work is NumPy exponentials on 256 KB (cache-resident, GIL
    released), so the threads do not queue on the GIL."""
    barrier = threading.Barrier(threads)
    got = [0.0] * threads

    def spin(index: int) -> None:
        source = np.linspace(1.0, 2.0, 1 << 16, dtype=np.float32)
        target = np.empty_like(source)
        barrier.wait()
        cpu, start = time.thread_time(), time.perf_counter()
        while time.perf_counter() - start < seconds:
            np.exp(source, out=target)
        got[index] = (time.thread_time() - cpu) / (time.perf_counter() - start)

    helpers = [threading.Thread(target=spin, args=(i,), daemon=True) for i in range(1, threads)]
    for helper in helpers:
        helper.start()
    spin(0)
    for helper in helpers:
        helper.join()
    return min(float(threads), sum(got))


def count_from(obtained: float, available: int) -> int:
    """The automatic count: obtained CPUs rounded down (0.3 of slack), between 1 and `available`."""
    return max(1, min(available, math.floor(obtained + SLACK)))


def environment_threads() -> int | None:
    """NNCTL_THREADS as a positive integer, None when unset; anything else is refused in one line."""
    raw = os.environ.get("NNCTL_THREADS", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InputError(f"NNCTL_THREADS={raw!r}: expected a positive whole number of threads")
    return int(raw)


def choose_threads(given: int | None = None, recorded: int | None = None) -> ThreadChoice:
    """--threads (`given`), else NNCTL_THREADS, else the count a checkpoint recorded (a resume continues
    with the numbers it started with), else the automatic count."""
    available = available_cpus()
    if given is not None:
        return ThreadChoice(given, "--threads", available)
    from_environment = environment_threads()
    if from_environment is not None:
        return ThreadChoice(from_environment, "NNCTL_THREADS", available)
    if recorded is not None:
        return ThreadChoice(recorded, "the checkpoint", available)
    if available == 1:
        return ThreadChoice(1, "auto", 1, 1.0)
    obtained = calibrate(available)
    return ThreadChoice(count_from(obtained, available), "auto", available, obtained)


def apply_threads(choice: ThreadChoice) -> ThreadChoice:
    """Make BLAS and nnctl's own worker threads use `choice.count` from now on; returns the choice."""
    set_blas_threads(choice.count)
    use_threads(choice.count)
    return choice


@contextmanager
def threads_for_run(choice: ThreadChoice) -> Iterator[ThreadChoice]:
    """`choice` applied while a run trains; afterwards BLAS and the workers are as they were (a process
    that trains several runs, or a test suite, keeps its own counts)."""
    blas_before, workers_before = blas_threads(), chosen_threads()
    apply_threads(choice)
    try:
        yield choice
    finally:
        set_blas_threads(blas_before)
        use_threads(workers_before)

"""Split NumPy work over the batch axis between threads.

NumPy releases the GIL inside its loops, so the copies and elementwise passes of im2col, col2im and
pooling run on several cores at once when each thread takes a contiguous chunk of samples, as BLAS already
does for the matrix products. Every chunk writes only its own samples with the same arithmetic, so the
results are identical whatever the split.

Threads: all CPUs this process may run on (at most 8), or `NNCTL_THREADS` when set. The helper threads
are created on first use and shared by all layers; a forked child starts without them. A split started
while another one runs (from a second Python thread) runs its chunks one after another instead.

Caveat: OpenBLAS (NumPy's BLAS) keeps its worker threads spinning for about 0.1 s after every matrix
product, occupying the other cores exactly when these chunks would run; the split then gains little.
OPENBLAS_THREAD_TIMEOUT=14 in the environment (set before NumPy loads) makes them sleep almost at once.
"""

from __future__ import annotations

import os
import threading
from typing import Callable

MIN_CHUNK = 1 << 17      # elements per chunk below which a thread hand-off costs more than it saves
MAX_THREADS = 8


class Helper:
    """One daemon thread that runs a job when started and reports when it is done.

    Two plain locks make the hand-off (about 50 us a round trip here, against about 80 us through a
    concurrent.futures pool): `start` releases `go`, which the thread waits on; the thread releases
    `done` when the job returns or raises."""

    def __init__(self, name: str):
        self.go, self.done = threading.Lock(), threading.Lock()
        self.go.acquire()
        self.done.acquire()
        self.job: Callable[[], None] | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self.serve, name=name, daemon=True).start()

    def serve(self) -> None:
        while True:
            self.go.acquire()
            try:
                self.job()
            except BaseException as exc:          # handed to the caller by join()
                self.error = exc
            self.job = None
            self.done.release()

    def start(self, job: Callable[[], None]) -> None:
        self.job = job
        self.go.release()

    def join(self) -> BaseException | None:
        """Wait for the job; return what it raised, or None."""
        self.done.acquire()
        error, self.error = self.error, None
        return error


_helpers: list[Helper] = []
_busy = threading.Lock()          # held while a split runs: a second caller meanwhile runs unsplit


_chosen: list[int] = []           # the count a run chose (nnctl.cpus), set by use_threads


def use_threads(count: int | None) -> None:
    """Split over `count` threads from now on (None: back to NNCTL_THREADS or the available CPUs). A
    training run calls it with the count it chose; the results are the same whatever the count."""
    _chosen[:] = [] if count is None else [max(1, int(count))]


def chosen_threads() -> int | None:
    """The count set by use_threads, or None."""
    return _chosen[0] if _chosen else None


def thread_count() -> int:
    """The count a run chose (use_threads), else NNCTL_THREADS if set (a positive integer), else the CPUs
    available to this process, at most 8."""
    if _chosen:
        return _chosen[0]
    given = os.environ.get("NNCTL_THREADS", "").strip()
    if given.isdigit() and int(given) > 0:
        return int(given)
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(MAX_THREADS, available))


def chunks(n: int, size: int, threads: int) -> list[slice]:
    """Contiguous slices covering range(n): one per thread, fewer when `size` elements of work would give
    chunks under MIN_CHUNK, never more than n."""
    count = max(1, min(threads, n, size // MIN_CHUNK))
    bounds = [n * i // count for i in range(count + 1)]
    return [slice(a, b) for a, b in zip(bounds, bounds[1:])]


def over_batch(work: Callable[[slice], None], n: int, size: int) -> None:
    """Call `work(samples)` for slices of range(n) that together cover it, in parallel when the job is large.

    `size` is the number of array elements the whole job touches (it decides how many chunks pay off).
    The calling thread takes the first chunk; an exception in any chunk is raised here, after every
    chunk has finished (they share output arrays).
    """
    parts = chunks(n, size, thread_count())
    if len(parts) == 1 or not _busy.acquire(blocking=False):
        for part in parts:
            work(part)
        return
    try:
        while len(_helpers) < len(parts) - 1:
            _helpers.append(Helper(f"nnctl-worker-{len(_helpers) + 1}"))
        helpers = _helpers[:len(parts) - 1]
        for helper, part in zip(helpers, parts[1:]):
            helper.start(lambda part=part: work(part))
        try:
            work(parts[0])
        finally:
            errors = [helper.join() for helper in helpers]
        for error in errors:
            if error is not None:
                raise error
    finally:
        _busy.release()


def _forget_helpers() -> None:
    global _busy
    _helpers.clear()              # their threads do not exist in a forked child
    _busy = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helpers)

"""Split NumPy work over the batch axis between threads.

NumPy releases the GIL inside its loops, so the copies and elementwise passes of im2col, col2im and
pooling run on several cores at once when each thread takes a contiguous chunk of samples, as BLAS already
does for the matrix products. Every chunk writes only its own samples with the same arithmetic, so the
results are identical whatever the split.

Threads: all CPUs this process may run on (at most 8), or `NNCTL_THREADS` when set. The pool is created
on first use and shared by all layers; a forked child starts without one.

Caveat: OpenBLAS (NumPy's BLAS) keeps its worker threads spinning for about 0.1 s after every matrix
product, occupying the other cores exactly when these chunks would run; the split then gains little.
OPENBLAS_THREAD_TIMEOUT=14 in the environment (set before NumPy loads) makes them sleep almost at once.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Callable

MIN_CHUNK = 1 << 17      # elements per chunk below which a thread hand-off costs more than it saves
MAX_THREADS = 8

_pool: ThreadPoolExecutor | None = None
_pool_threads = 0


def thread_count() -> int:
    """NNCTL_THREADS if set (a positive integer), else the CPUs available to this process, at most 8."""
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
    The calling thread takes the first chunk; an exception in any chunk is raised here.
    """
    global _pool, _pool_threads
    parts = chunks(n, size, thread_count())
    if len(parts) == 1:
        work(parts[0])
        return
    if _pool is None or _pool_threads < len(parts) - 1:
        _pool, _pool_threads = ThreadPoolExecutor(len(parts) - 1, thread_name_prefix="nnctl-worker"), len(parts) - 1
    pending = [_pool.submit(work, part) for part in parts[1:]]
    try:
        work(parts[0])
    finally:
        wait(pending)           # the chunks share output arrays: never return while one still runs
    for future in pending:
        future.result()


def _forget_pool() -> None:
    global _pool, _pool_threads
    _pool, _pool_threads = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)

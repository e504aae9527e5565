"""How many threads NumPy's BLAS uses: results are bit-identical for a fixed count, not across counts,
so checkpoints record it and a resume with another count says so.

threadpoolctl (installed with the `dev` extra) answers exactly when present. Without it, the count comes
from OpenBLAS itself through its C entry point when NumPy's OpenBLAS can be found in this process, else
from the variables OpenBLAS reads (OPENBLAS_NUM_THREADS, then OMP_NUM_THREADS) and the usable CPUs.
"""

from __future__ import annotations

import ctypes
import os

import numpy  # noqa: F401  (loads the BLAS library whose thread count is asked for)


def _from_threadpoolctl() -> int | None:
    try:
        # optional (the dev extra): asked first when it is installed
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    found = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    # NumPy's own BLAS when several are loaded (numba's first compile loads SciPy's OpenBLAS too)
    numpy_own = [info for info in found if os.sep + "numpy" in info.get("filepath", "")]
    counts = [info["num_threads"] for info in numpy_own or found]
    return max(counts) if counts else None


def _openblas_function(name: str):
    """OpenBLAS's C function `openblas_<name>` (under any of the names NumPy's builds give it) from the
    library loaded in this process, or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and "/" in line}
    except OSError:
        return None
    for path in sorted(paths, key=lambda p: (os.sep + "numpy" not in p, p)):     # NumPy's own first
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in (f"openblas_{name}64_", f"scipy_openblas_{name}64_", f"scipy_openblas_{name}",
                       f"openblas_{name}"):
            function = getattr(library, symbol, None)
            if function is not None:
                return function
    return None


def _from_openblas() -> int | None:
    """openblas_get_num_threads() from the loaded library."""
    function = _openblas_function("get_num_threads")
    if function is None:
        return None
    function.restype = ctypes.c_int
    return int(function())


def _from_environment() -> int:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(variable, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def blas_threads() -> int:
    """The number of threads BLAS matrix products run on in this process."""
    return _from_threadpoolctl() or _from_openblas() or _from_environment()


def set_blas_threads(count: int) -> int:
    """Make BLAS use `count` threads from now on (OpenBLAS cannot go above the count it started with);
    returns the count it then reports."""
    try:
        # optional (the dev extra): exact for every BLAS it knows, OpenBLAS's or not
        from threadpoolctl import threadpool_limits
    except ImportError:
        function = _openblas_function("set_num_threads")
        if function is not None:
            function.argtypes = [ctypes.c_int]
            function(int(count))
    else:
        threadpool_limits(limits=int(count), user_api="blas")
    return blas_threads()

"""Which kernels run: compiled ones (Numba, the optional `fast` extra) or NumPy's, chosen once per process.

    NNCTL_KERNELS=auto    (the default) compiled kernels when numba can be imported, else NumPy, silently
    NNCTL_KERNELS=numba   compiled kernels; without numba a one-line InputError says what to install
    NNCTL_KERNELS=numpy   NumPy only (the extra installed or not)

Nothing here imports numba or compiles anything when nnctl is imported: a kernel module defines its loops
as plain Python functions and wraps each in `Kernel`, which compiles it (`numba.njit(cache=True,
nogil=True, error_model="numpy")`: no fastmath, no parallel, so results are the same run to run; nogil
lets nnctl's own worker threads run chunks side by side; NumPy's error model makes x / 0 give inf or nan
as NumPy does instead of raising, which also lets the loops vectorize) on its first call.

Compiled code is cached on disk, in NUMBA_CACHE_DIR when set, else in a folder of the user's cache
(`$XDG_CACHE_HOME/nnctl/numba` or `~/.cache/nnctl/numba`), set before numba is first imported so that an
nnctl installed in a read-only site-packages still caches. Numba keys the cache on each kernel module's
file, not on the options above: whoever changes them must clear the cache folder.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, Callable

from nnctl.errors import InputError

VARIABLE = "NNCTL_KERNELS"
CHOICES = ("auto", "numba", "numpy")
INSTALL = "pip install 'nnctl[fast]'"

_lock = threading.RLock()
_numba: Any = None                 # the numba module once imported, False when the NumPy path is chosen


def requested() -> str:
    """NNCTL_KERNELS checked: 'auto', 'numba' or 'numpy'; any other value is a one-line InputError."""
    value = os.environ.get(VARIABLE, "auto").strip().lower() or "auto"
    if value not in CHOICES:
        raise InputError(f"{VARIABLE}: expected one of {', '.join(CHOICES)}, got "
                         f"{os.environ.get(VARIABLE)!r}")
    return value


def _installed() -> bool:
    try:
        return importlib.util.find_spec("numba") is not None
    except (ImportError, ValueError):          # ValueError: sys.modules holds None for it (blocked)
        return False


def check_environment() -> None:
    """What a command checks before any work (cheap: numba is not imported): NNCTL_KERNELS is valid, and
    numba is installed when it asks for numba. Raises InputError otherwise."""
    if requested() == "numba" and not _installed():
        raise InputError(f"{VARIABLE}=numba needs numba, which is not installed: {INSTALL}")


def cache_dir() -> Path:
    """Where compiled kernels are cached: NUMBA_CACHE_DIR, else $XDG_CACHE_HOME/nnctl/numba, else
    ~/.cache/nnctl/numba."""
    given = os.environ.get("NUMBA_CACHE_DIR", "").strip()
    if given:
        return Path(given)
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "nnctl" / "numba"


def numba_module():
    """The numba module when compiled kernels are on, else None. The first call decides, for the process."""
    global _numba
    if _numba is None:
        with _lock:
            if _numba is None:
                _numba = _load(requested())
    return _numba or None


def _load(choice: str):
    if choice == "numpy" or (choice == "auto" and not _installed()):
        return False
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir()))
    try:
        # optional (the `fast` extra) and slow to import (about 0.3 s): loaded on the first kernel use only
        import numba
    except ImportError as exc:
        if choice == "numba":
            raise InputError(f"{VARIABLE}=numba: numba cannot be imported ({exc}): {INSTALL}") from None
        return False
    return numba


def active() -> bool:
    """True when compiled kernels run in this process (imports numba the first time, if chosen)."""
    return numba_module() is not None


def name() -> str:
    """'numba <version>' or 'numpy': what runs, for reports and benchmarks."""
    numba = numba_module()
    return f"numba {numba.__version__}" if numba else "numpy"


class Kernel:
    """A loop written in Python for Numba, compiled on its first call for each new signature (dtypes and
    dimensions of the arguments), or up front by nnctl.kernels.warmup."""

    def __init__(self, function: Callable):
        self.function = function
        self.compiled: Callable | None = None

    def __call__(self, *args):
        compiled = self.compiled
        if compiled is None:
            compiled = self.compile()
        return compiled(*args)

    def compile(self) -> Callable:
        numba = numba_module()
        if numba is None:
            raise RuntimeError(f"kernel {self.function.__name__} called while compiled kernels are off")
        with _lock:
            if self.compiled is None:
                self.compiled = numba.njit(cache=True, nogil=True, error_model="numpy")(self.function)
        return self.compiled

    @property
    def name(self) -> str:
        return self.function.__name__


def reset() -> None:
    """Forget the choice, so the next kernel use reads NNCTL_KERNELS again (for tests that compare both
    paths in one process; compiled kernels stay compiled)."""
    global _numba
    with _lock:
        _numba = None

"""Compile every kernel up front and say how long it took: the first-run cost a user pays once, which the
benchmarks report (cold cache: compiled now; warm cache: loaded from the disk cache, nnctl.kernels.backend).

Training does not need this (each kernel compiles on its first call); it keeps the compile time out of
a timed epoch.
"""

from __future__ import annotations

import time

import numpy as np

from nnctl.kernels import activations, backend, batchnorm, optimizers, pooling, softmax_ce

FAMILIES = {"optimizer updates": optimizers, "relu": activations, "softmax cross-entropy": softmax_ce,
            "max pooling 2x2": pooling, "batch norm on images": batchnorm}
DTYPES = (np.float32, np.float64)       # training, and gradcheck


def compile_all(dtypes=DTYPES) -> float:
    """Compile (or load from the cache) every kernel for arrays of `dtypes`; return the seconds it took,
    numba's import included (0.0 when compiled kernels are off)."""
    start = time.perf_counter()
    if not backend.active():
        return 0.0
    for module in FAMILIES.values():
        for dtype in dtypes:
            module.warm(dtype)
    return time.perf_counter() - start


def describe() -> str:
    """One line: which kernels run in this process."""
    if not backend.active():
        return f"kernels: numpy ({backend.VARIABLE}={backend.requested()})"
    return f"kernels: {backend.name()} ({', '.join(FAMILIES)}); cache {backend.cache_dir()}"

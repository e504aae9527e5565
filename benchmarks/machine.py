"""What the machine can do and what ran: float32 GEMM peak, the BLAS library and threads, the epoch's
GEMM FLOPs counted from layer shapes, and peak resident memory over a stretch of work.
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np

BLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                  "OPENBLAS_THREAD_TIMEOUT")


def gemm_gflops(m: int, k: int, n: int, repeat: int = 7, min_seconds: float = 0.2) -> float:
    """Best GFLOP/s of a float32 (m, k) @ (k, n) product over `repeat` timings, each of enough products
    to last `min_seconds` (2*m*k*n FLOPs per product)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    np.matmul(a, b, out=out)                                   # warm: threads started, pages touched
    start, count = time.perf_counter(), 0
    while time.perf_counter() - start < min_seconds / 4:
        np.matmul(a, b, out=out)
        count += 1
    per_call = (time.perf_counter() - start) / count
    calls = max(1, int(min_seconds / per_call))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            np.matmul(a, b, out=out)
        best = min(best, (time.perf_counter() - start) / calls)
    return 2.0 * m * k * n / best / 1e9


def blas_description() -> list[str]:
    """One line per BLAS/OpenMP library loaded in this process (threadpoolctl), and the variables that
    steer OpenBLAS as this process sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl is not installed (pip install threadpoolctl): BLAS library unknown"]
    lines = [f"{i['user_api']}: {i['internal_api']} {i.get('version')} kernel {i.get('architecture')} "
             f"threads {i['num_threads']} ({os.path.basename(i['filepath'])})" for i in threadpool_info()]
    lines.append("environment: " + ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in BLAS_VARIABLES))
    return lines


def epoch_gemm_flops(network, samples: int) -> float:
    """FLOPs of the matrix products in one training epoch: per sample, every dense/conv layer does
    2*macs in the forward product, as many for its weight gradient and, unless it reads the network
    input (whose gradient nobody needs), as many again for its input gradient."""
    total = 0
    for node in network.nodes:
        macs = node.layer.macs()
        if macs:
            total += 2 * macs * (2 if node.inputs == ["input"] else 3)
    return float(total) * samples


class PeakMemory:
    """Peak resident memory of this process during a stretch of work, in MB.

    On Linux the kernel's high-water mark (VmHWM) is reset at `start` (writing 5 to /proc/self/clear_refs),
    so `peak_mb` is the peak of that stretch alone, and `growth_mb` its increase over the resident size at
    the start. Elsewhere `peak_mb` falls back to the lifetime maximum (ru_maxrss)."""

    def start(self) -> None:
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            self.reset = True
        except OSError:
            self.reset = False
        self.before_mb = _status_mb("VmRSS")

    @property
    def peak_mb(self) -> float:
        peak = _status_mb("VmHWM") if self.reset else None
        return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - (self.before_mb or 0.0)


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None

"""Whether this machine rounds float32 arithmetic as the machine that wrote the golden files did.

Float32 training is bit-identical for one config, seed and thread count on one machine, but another processor
(another OpenBLAS kernel, another SIMD width in NumPy's loops) rounds products, sums and exponentials
differently. The fingerprint below runs one matrix product, one long sum and a few transcendental functions
in float32 and hashes the results, together with NumPy's version and the BLAS thread count: two machines with
the same fingerprint run the same kernels on the same data and must agree bit for bit.
"""

from __future__ import annotations

import hashlib

import numpy as np

from nnctl.threads import blas_threads


def fingerprint() -> str:
    rng = np.random.default_rng(12345)
    a = rng.standard_normal((257, 300), dtype=np.float32)
    b = rng.standard_normal((300, 129), dtype=np.float32)
    c = rng.standard_normal((3, 64, 15, 15), dtype=np.float32)
    probes = [a @ b, (a.T @ a)[::7], np.sum(a), a.sum(axis=0), np.exp(a), np.tanh(a), np.log1p(np.abs(a)),
              np.einsum("nchw,nchw->nc", c, c), np.sqrt(np.abs(b))]
    digest = hashlib.sha256()
    for probe in probes:
        digest.update(np.ascontiguousarray(probe).tobytes())
    return f"numpy {np.__version__}, {blas_threads()} BLAS threads, float32 probe {digest.hexdigest()[:16]}"

"""Per-channel sums over (N, C, P) for batch norm on images (nnctl.layers.channels)."""

from __future__ import annotations

import numpy as np

from nnctl.layers.channels import channel_dots, channel_sums
from nnctl.workers import MIN_CHUNK


def test_sums_and_dots_are_exact_on_integers():
    rng = np.random.default_rng(0)
    a = rng.integers(-50, 50, size=(16, 3, 49)).astype(np.float64)
    b = rng.integers(-50, 50, size=(16, 3, 49)).astype(np.float64)
    assert channel_sums(a).tolist() == a.sum(axis=(0, 2)).tolist()
    assert channel_dots(a, b).tolist() == (a * b).sum(axis=(0, 2)).tolist()
    assert channel_sums(a).shape == (3,) and channel_dots(a, a).min() > 0


def test_results_do_not_depend_on_the_thread_count(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 8, 2 * MIN_CHUNK // 64 // 8 + 64)).astype(np.float32)   # large enough to split
    results = {}
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("NNCTL_THREADS", threads)
        results[threads] = (channel_sums(x), channel_dots(x, x[::-1].copy()))
    for threads in ("2", "3"):
        assert np.array_equal(results[threads][0], results["1"][0])
        assert np.array_equal(results[threads][1], results["1"][1])
    np.testing.assert_allclose(results["1"][0], x.astype(np.float64).sum(axis=(0, 2)), rtol=1e-4, atol=1e-2)

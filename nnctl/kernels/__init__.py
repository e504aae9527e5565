"""Compiled kernels (the optional `fast` extra, Numba): fused loops that replace several NumPy passes over
memory with one. Which path runs is chosen once per process by NNCTL_KERNELS (nnctl.kernels.backend);
nothing here imports numba until a kernel is first used. One module per family of kernels; the callers
(optimizers, layers, losses) keep their NumPy code as the path without the extra."""

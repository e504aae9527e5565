"""Each compiled kernel against the NumPy code it replaces, through nnctl's own classes, on the shapes of
benchmarks/bench_mlp.py and bench_cnn.py (batch 128): microseconds per call, best of several repeats.

    python benchmarks/bench_kernels.py [--threads 1]

A kernel is kept in nnctl only where it wins here (see docs/kernels.md). Needs the `fast` extra
(pip install -e '.[fast]'); the NumPy side runs with NNCTL_KERNELS=numpy in the same process.
"""

from __future__ import annotations

import argparse
import os
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import nnctl  # noqa: E402,F401  (first: it tunes OpenBLAS before NumPy loads)
import numpy as np  # noqa: E402

from nnctl.kernels import backend, warmup  # noqa: E402
from nnctl.layers.activations import ReLU  # noqa: E402
from nnctl.layers.norm import BatchNorm  # noqa: E402
from nnctl.layers.pool import MaxPool2D  # noqa: E402
from nnctl.nn.losses import SoftmaxCrossEntropy  # noqa: E402
from nnctl.optim import optimizers  # noqa: E402
from nnctl.optim.flat import pack  # noqa: E402

MLP_PARAMS = {"d1.W": (784, 256), "d1.b": (256,), "d2.W": (256, 256), "d2.b": (256,), "d3.W": (256, 10),
              "d3.b": (10,)}
CNN_PARAMS = {"c1.W": (32, 9), "c1.b": (32,), "c2.W": (64, 288), "c2.b": (64,), "d1.W": (3136, 128),
              "d1.b": (128,), "d2.W": (128, 10), "d2.b": (10,)}


def optimizer_case(name: str, shapes: dict, **config):
    rng = np.random.default_rng(0)
    flat, params = pack({k: rng.standard_normal(s) for k, s in shapes.items()}, np.float32)
    flat_grads, grads = pack(params, np.float32, copy=False)
    flat_grads[...] = rng.standard_normal(flat_grads.size)
    cls = {"sgd": optimizers.SGD, "momentum": optimizers.Momentum, "nesterov": optimizers.Nesterov,
           "rmsprop": optimizers.RMSProp, "adagrad": optimizers.Adagrad, "adam": optimizers.Adam,
           "adamw": optimizers.AdamW}[name]
    optimizer = cls(params, {k for k in shapes if k.endswith(".W")}, **config)
    return lambda: optimizer.step(grads, 1e-3)


def relu_case(shape: tuple):
    rng = np.random.default_rng(1)
    layer = ReLU("relu")
    layer.build(shape[1:], rng)
    x, dy = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    return lambda: (layer.forward(x, True), layer.backward(dy))


def layer_case(layer, shape: tuple):
    """Forward (training) and backward of a layer on float32 data of `shape`."""
    rng = np.random.default_rng(3)
    layer.build(shape[1:], rng)
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal(layer.forward(x, True).shape).astype(np.float32)
    layer.backward(dy)
    return lambda: (layer.forward(x, True), layer.backward(dy))


def softmax_case(shape: tuple):
    rng = np.random.default_rng(2)
    loss = SoftmaxCrossEntropy()
    scores, target = rng.standard_normal(shape).astype(np.float32), rng.integers(0, shape[1], shape[0])
    return lambda: (loss.forward(scores, target), loss.backward())


CASES = {
    **{f"{name} step, MLP params (269k)": (optimizer_case, (name, MLP_PARAMS))
       for name in ("sgd", "momentum", "nesterov", "rmsprop", "adagrad", "adam")},
    "adamw step (wd 0.01), MLP params": (lambda: optimizer_case("adamw", MLP_PARAMS, weight_decay=0.01), ()),
    "adam step (wd 1e-4, clip 1), CNN params (422k)":
        (lambda: optimizer_case("adam", CNN_PARAMS, weight_decay=1e-4, clip_norm=1.0), ()),
    "relu fwd+bwd (128, 256)": (relu_case, ((128, 256),)),
    "relu fwd+bwd (128, 32, 28, 28)": (relu_case, ((128, 32, 28, 28),)),
    "softmax-CE fwd+bwd (128, 10)": (softmax_case, ((128, 10),)),
    "maxpool 2x2 fwd+bwd (128, 32, 28, 28)": (lambda: layer_case(MaxPool2D("pool", kernel=2), (128, 32, 28, 28)), ()),
    "maxpool 2x2 fwd+bwd (128, 64, 14, 14)": (lambda: layer_case(MaxPool2D("pool", kernel=2), (128, 64, 14, 14)), ()),
    "batchnorm fwd+bwd (128, 32, 28, 28)": (lambda: layer_case(BatchNorm("bn"), (128, 32, 28, 28)), ()),
    "batchnorm fwd+bwd (128, 64, 14, 14)": (lambda: layer_case(BatchNorm("bn"), (128, 64, 14, 14)), ()),
}


def best_microseconds(function, budget: float = 0.3) -> float:
    function()
    number = max(1, int(budget / max(timeit.timeit(function, number=1), 1e-6)))
    return min(timeit.repeat(function, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="NNCTL_THREADS for the run (default: as set, else auto)")
    args = parser.parse_args()
    if args.threads:
        os.environ["NNCTL_THREADS"] = str(args.threads)
    os.environ["NNCTL_KERNELS"] = "numba"
    backend.reset()
    print(f"compile (or load from the cache): {warmup.compile_all():.2f} s; {warmup.describe()}")
    print(f"{'case':48s} {'numpy us':>10s} {'kernel us':>10s} {'speed-up':>9s}")
    for label, (make, make_args) in CASES.items():
        times = {}
        for choice in ("numpy", "numba"):
            os.environ["NNCTL_KERNELS"] = choice
            backend.reset()
            times[choice] = best_microseconds(make(*make_args))
        print(f"{label:48s} {times['numpy']:10.1f} {times['numba']:10.1f} {times['numpy'] / times['numba']:8.2f}x",
              flush=True)


if __name__ == "__main__":
    main()

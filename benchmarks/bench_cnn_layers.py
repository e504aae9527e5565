"""Micro-benchmark: one training step of the benchmark CNN, nnctl layers against PyTorch CPU.

    OPENBLAS_THREAD_TIMEOUT=14 python benchmarks/bench_cnn_layers.py [--batch 128] [--steps 10] [--rounds 7]
        [--memory] [--first-layer-dx]

The net (input (1, 28, 28), Fashion-MNIST sized):
    conv 32 3x3 pad 1 - relu - maxpool 2 - conv 64 3x3 pad 1 - relu - maxpool 2 - flatten
    - dense 128 - relu - dense 10, softmax cross-entropy, Adam (lr 1e-3)
A step is forward + loss + backward + Adam update on one float32 batch of random data. Both nets start
from the same weights, and the first step's losses are compared as a check that they compute the same
thing. Rounds alternate nnctl and torch blocks of `--steps` steps (with a pause between blocks, so the
other library's idle worker threads have stopped spinning); the report gives ms/batch for each (median
and range over rounds), the per-round ratio nnctl/torch, an epoch estimate (60000 samples) and where
nnctl's time goes, layer by layer. `--memory` runs each library alone in a subprocess and reports its
peak resident memory above the process's footprint before the first step.

As in nnctl's Network (and in torch), the first conv does not compute the gradient of the data unless
`--first-layer-dx` is given. OPENBLAS_THREAD_TIMEOUT (read when NumPy loads) decides how long OpenBLAS's
threads spin after each product; left unset they hold the second core for ~0.1 s, and nnctl's threaded
im2col/col2im/pooling then runs on one core (see nnctl/workers.py). The header shows the value.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import nnctl  # noqa: F401  (first: the package may configure the BLAS before NumPy loads it)
import numpy as np

from nnctl.layers.activations import ReLU
from nnctl.layers.conv import Conv2D
from nnctl.layers.dense import Dense
from nnctl.layers.pool import MaxPool2D
from nnctl.layers.shape import Flatten
from nnctl.nn.losses import SoftmaxCrossEntropy
from nnctl.options.spec import validate

IN_SHAPE, CLASSES, LR, EPOCH_SAMPLES = (1, 28, 28), 10, 1e-3, 60000
NET = [
    ("conv1", Conv2D, {"filters": 32, "kernel": 3, "padding": 1}),
    ("relu1", ReLU, {}),
    ("pool1", MaxPool2D, {"kernel": 2}),
    ("conv2", Conv2D, {"filters": 64, "kernel": 3, "padding": 1}),
    ("relu2", ReLU, {}),
    ("pool2", MaxPool2D, {"kernel": 2}),
    ("flatten", Flatten, {}),
    ("dense1", Dense, {"units": 128}),
    ("relu3", ReLU, {}),
    ("dense2", Dense, {"units": CLASSES}),
]


class NnctlNet:
    """The benchmark CNN from nnctl layers, with a plain in-place Adam and per-layer timers."""

    def __init__(self, rng: np.random.Generator, first_layer_dx: bool = False):
        self.layers, shape = [], IN_SHAPE
        for name, cls, given in NET:
            layer = cls(name, **validate(cls.options, given, name))
            shape = layer.build(shape, rng, np.float32)
            self.layers.append(layer)
        self.first_layer_dx = first_layer_dx   # False as in nnctl's Network and in torch
        self.loss = SoftmaxCrossEntropy()
        self.moments = {(layer.name, key): (np.zeros_like(p), np.zeros_like(p))
                        for layer in self.layers for key, p in layer.params.items()}
        self.t = 0
        self.seconds = {(layer.name, way): 0.0 for layer in self.layers for way in ("forward", "backward")}
        self.seconds.update({("loss", "both"): 0.0, ("adam", "update"): 0.0})

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        clock, seconds = time.perf_counter, self.seconds
        for layer in self.layers:
            start = clock()
            x = layer.forward(x, True)
            seconds[layer.name, "forward"] += clock() - start
        start = clock()
        loss = self.loss.forward(x, y)
        d = self.loss.backward()
        seconds["loss", "both"] += clock() - start
        for layer in reversed(self.layers):
            start = clock()
            d = layer.backward(d, need_input_grad=layer is not self.layers[0] or self.first_layer_dx)
            seconds[layer.name, "backward"] += clock() - start
        start = clock()
        self.adam()
        seconds["adam", "update"] += clock() - start
        return loss

    def adam(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> None:
        self.t += 1
        step = LR * np.sqrt(1 - beta2 ** self.t) / (1 - beta1 ** self.t)
        for layer in self.layers:
            for key, p in layer.params.items():
                g, (m, v) = layer.grads[key], self.moments[layer.name, key]
                m *= beta1
                m += (1 - beta1) * g
                v *= beta2
                v += (1 - beta2) * g * g
                p -= step * m / (np.sqrt(v) + eps)


def torch_net(nnctl_net: NnctlNet):
    """The same network in torch, starting from the nnctl net's weights."""
    import torch

    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 7 * 7, 128), torch.nn.ReLU(), torch.nn.Linear(128, CLASSES))
    ours = [layer for layer in nnctl_net.layers if layer.params]
    theirs = [m for m in net if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        for mine, module in zip(ours, theirs):
            w = mine.params["W"]
            module.weight.copy_(torch.from_numpy(w.T.copy() if w.ndim == 2 else w))
            module.bias.copy_(torch.from_numpy(mine.params["b"]))
    optimizer = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y) -> float:
        optimizer.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def make_data(batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.standard_normal((batch, *IN_SHAPE), dtype=np.float32), rng.integers(0, CLASSES, batch)


def time_block(step, x, y, steps: int) -> float:
    """Milliseconds per step over `steps` consecutive steps."""
    start = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    return (time.perf_counter() - start) / steps * 1e3


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f}  [{min(values):6.2f} .. {max(values):6.2f}]"


def compare(batch: int, steps: int, rounds: int, pause: float, first_layer_dx: bool) -> None:
    import torch

    net = NnctlNet(np.random.default_rng(0), first_layer_dx)
    torch_step = torch_net(net)
    x, y = make_data(batch)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    first_nnctl, first_torch = net.step(x, y), torch_step(tx, ty)
    print(f"first-step loss: nnctl {first_nnctl:.6f}  torch {first_torch:.6f}  "
          f"(|diff| {abs(first_nnctl - first_torch):.1e})")
    for _ in range(2):                                            # warm up: work arrays, thread pools
        net.step(x, y), torch_step(tx, ty)
    net.seconds = dict.fromkeys(net.seconds, 0.0)
    ours, theirs = [], []
    for _ in range(rounds):
        time.sleep(pause)
        ours.append(time_block(net.step, x, y, steps))
        time.sleep(pause)
        theirs.append(time_block(torch_step, tx, ty, steps))
    ratios = [a / b for a, b in zip(ours, theirs)]
    batches = EPOCH_SAMPLES / batch
    print(f"batch {batch}, {rounds} rounds x {steps} steps, torch threads {torch.get_num_threads()}, "
          f"OPENBLAS_THREAD_TIMEOUT={os.environ.get('OPENBLAS_THREAD_TIMEOUT', 'unset')}, "
          f"first conv computes dx: {'yes' if first_layer_dx else 'no'}")
    print(f"nnctl  ms/batch {spread(ours)}   epoch ~{statistics.median(ours) * batches / 1e3:5.1f} s")
    print(f"torch  ms/batch {spread(theirs)}   epoch ~{statistics.median(theirs) * batches / 1e3:5.1f} s")
    print(f"ratio nnctl/torch {spread(ratios)}")
    total = sum(net.seconds.values())
    print("\nnnctl time by layer (share of its step time):")
    for (name, way), seconds in sorted(net.seconds.items(), key=lambda item: -item[1]):
        per_step = seconds / (rounds * steps) * 1e3
        print(f"  {name:8s} {way:8s} {per_step:7.2f} ms  {100 * seconds / total:5.1f}%")


def peak_memory_child(library: str, batch: int, steps: int) -> None:
    """Run `steps` steps of one library and print its peak RSS above the RSS before the first step."""
    import torch  # noqa: F401  (both children load both libraries, so their baselines match)

    net = NnctlNet(np.random.default_rng(0))
    x, y = make_data(batch)
    step = net.step if library == "nnctl" else torch_net(net)
    if library == "torch":
        x, y = torch.from_numpy(x), torch.from_numpy(y)
    before = _status_kb("VmRSS")
    for _ in range(steps):
        step(x, y)
    print(json.dumps({"peak_mb": (_status_kb("VmHWM") - before) / 1024}))


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def memory(batch: int, steps: int) -> None:
    peaks = {}
    for library in ("nnctl", "torch"):
        out = subprocess.run([sys.executable, __file__, "--memory-child", library, "--batch", str(batch),
                              "--steps", str(steps)], check=True, capture_output=True, text=True).stdout
        peaks[library] = json.loads(out.splitlines()[-1])["peak_mb"]
    print(f"\npeak memory above baseline: nnctl {peaks['nnctl']:.1f} MB, torch {peaks['torch']:.1f} MB "
          f"(ratio {peaks['nnctl'] / peaks['torch']:.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10, help="steps per timed block")
    parser.add_argument("--rounds", type=int, default=7, help="alternating nnctl/torch blocks")
    parser.add_argument("--pause", type=float, default=0.3, help="seconds between blocks")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory (subprocesses)")
    parser.add_argument("--first-layer-dx", action="store_true",
                        help="let the first conv compute its input gradient (which nobody needs)")
    parser.add_argument("--memory-child", choices=("nnctl", "torch"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        peak_memory_child(args.memory_child, args.batch, args.steps)
        return
    compare(args.batch, args.steps, args.rounds, args.pause, args.first_layer_dx)
    if args.memory:
        memory(args.batch, args.steps)


if __name__ == "__main__":
    main()

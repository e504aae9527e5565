"""One epoch of Fashion-MNIST with the issue's CNN, Adam, batch 128: nnctl vs PyTorch CPU.

conv 32 3x3 pad 1 - relu - maxpool 2 - conv 64 3x3 pad 1 - relu - maxpool 2 - dense 128 - relu - dense 10

    python benchmarks/bench_cnn.py [--repeat 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import main  # noqa: E402

CONFIG = {
    "name": "bench_cnn", "seed": 0,
    "data": {"dataset": "fashion-mnist", "val_size": 0, "normalize": "standard", "flatten": False},
    "model": {"layers": [
        {"type": "conv2d", "filters": 32, "kernel": 3, "padding": 1}, {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "conv2d", "filters": 64, "kernel": 3, "padding": 1}, {"type": "relu"},
        {"type": "maxpool2d", "kernel": 2},
        {"type": "flatten"}, {"type": "dense", "units": 128}, {"type": "relu"}, {"type": "dense", "units": 10}]},
    "loss": {"type": "softmax_cross_entropy"},
    "optimizer": {"type": "adam", "lr": 1e-3},
    "train": {"epochs": 1, "batch_size": 128, "progress": False},
}


def torch_model(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


if __name__ == "__main__":
    main(Path(__file__), "CNN conv32-pool-conv64-pool-dense128, Adam, batch 128, one epoch of Fashion-MNIST "
                         "(60000 samples)", CONFIG, torch_model)

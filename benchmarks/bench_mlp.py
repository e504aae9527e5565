"""One epoch of Fashion-MNIST with a 784-256-256-10 ReLU MLP, Adam, batch 128: nnctl vs PyTorch CPU.

    python benchmarks/bench_mlp.py [--repeat 3]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import main  # noqa: E402

CONFIG = {
    "name": "bench_mlp", "seed": 0,
    "data": {"dataset": "fashion-mnist", "val_size": 0, "normalize": "standard", "flatten": True},
    "model": {"layers": [{"type": "dense", "units": 256}, {"type": "relu"},
                         {"type": "dense", "units": 256}, {"type": "relu"},
                         {"type": "dense", "units": 10}]},
    "loss": {"type": "softmax_cross_entropy"},
    "optimizer": {"type": "adam", "lr": 1e-3},
    "train": {"epochs": 1, "batch_size": 128, "progress": False},
}


def torch_model(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


if __name__ == "__main__":
    main(Path(__file__), "MLP 784-256-256-10, Adam, batch 128, one epoch of Fashion-MNIST (60000 samples)",
         CONFIG, torch_model)

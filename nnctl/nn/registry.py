"""Every name a config can use, in one place: name -> class (or rule) tables, and the lookup that explains
a typo.

Reading this file tells you every layer, loss, optimizer, schedule, initializer and dataset nnctl knows.
Each table is a read-only mapping, so `OPTIMIZERS["adam"]`, `"adam" in OPTIMIZERS` and `list(OPTIMIZERS)`
work as on a dict.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from nnctl.config.spec import did_you_mean, show
from nnctl.data import arrays, mnist, synthetic
from nnctl.errors import ConfigError
from nnctl.layers import activations, conv, dense, dropout, init, merge, noise, norm, pool, shape
from nnctl.nn import losses
from nnctl.optim import optimizers, schedules


class Registry(Mapping):
    """A named table of one kind of component ("layer", "loss", ...)."""

    def __init__(self, kind: str, table: dict[str, Any]):
        self.kind = kind
        self.table = table

    def lookup(self, name: object, path: str) -> Any:
        """The entry registered as `name`, or a ConfigError at `path` with a did-you-mean."""
        if not isinstance(name, str):
            raise ConfigError(path, f"expected a {self.kind} name, got {show(name)}")
        if name not in self.table:
            raise ConfigError(path, f"unknown {self.kind} {name!r}{did_you_mean(name, self.table)}")
        return self.table[name]

    def names(self) -> list[str]:
        return list(self.table)

    def __getitem__(self, name: str) -> Any:
        return self.table[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)


LAYERS = Registry("layer", {
    "dense": dense.Dense,
    "relu": activations.ReLU,
    "leaky_relu": activations.LeakyReLU,
    "sigmoid": activations.Sigmoid,
    "tanh": activations.Tanh,
    "prelu": activations.PReLU,
    "elu": activations.ELU,
    "gelu": activations.GELU,
    "softplus": activations.Softplus,
    "identity": activations.Identity,
    "batchnorm": norm.BatchNorm,
    "layernorm": norm.LayerNorm,
    "dropout": dropout.Dropout,
    "noise": noise.Noise,
    "flatten": shape.Flatten,
    "reshape": shape.Reshape,
    "conv2d": conv.Conv2D,
    "maxpool2d": pool.MaxPool2D,
    "avgpool2d": pool.AvgPool2D,
    "global_avgpool": pool.GlobalAvgPool,
    "concat": merge.Concat,
    "add": merge.Add,
})

LOSSES = Registry("loss", {
    "softmax_cross_entropy": losses.SoftmaxCrossEntropy,
    "svm": losses.MulticlassHinge,
    "sigmoid_bce": losses.SigmoidBCE,
    "mse": losses.MeanSquaredError,
    "l1": losses.MeanAbsoluteError,
    "huber": losses.Huber,
})

OPTIMIZERS = Registry("optimizer", {
    "sgd": optimizers.SGD,
    "momentum": optimizers.Momentum,
    "nesterov": optimizers.Nesterov,
    "rmsprop": optimizers.RMSProp,
    "adagrad": optimizers.Adagrad,
    "adam": optimizers.Adam,
    "adamw": optimizers.AdamW,
})

SCHEDULES = Registry("schedule", {
    "constant": schedules.Constant,
    "step": schedules.Step,
    "multistep": schedules.MultiStep,
    "exponential": schedules.Exponential,
    "inverse_time": schedules.InverseTime,
    "cosine": schedules.Cosine,
    "reduce_on_plateau": schedules.ReduceOnPlateau,
})

INITIALIZERS = Registry("initializer", init.STD_RULES)

DATASETS = Registry("dataset", {
    "mnist": mnist.Mnist,
    "fashion-mnist": mnist.FashionMnist,
    "spiral": synthetic.Spiral,
    "blobs": synthetic.Blobs,
    "circles": synthetic.Circles,
    "xor": synthetic.Xor,
    "npz": arrays.Npz,
    "csv": arrays.Csv,
})

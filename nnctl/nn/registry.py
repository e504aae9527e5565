"""Name -> class tables for everything a config can name, and the lookup that explains a typo.

Reading this file tells you every layer, loss, optimizer, schedule and dataset nnctl knows.
"""

from __future__ import annotations

from nnctl.nn import losses
from nnctl.errors import ConfigError
from nnctl.layers import activations, conv, dense, dropout, merge, norm, pool, shape
from nnctl.config.spec import did_you_mean, show


class Registry:
    """A named table of classes of one kind ("layer", "loss", ...)."""

    def __init__(self, kind: str, table: dict[str, type]):
        self.kind = kind
        self.table = table

    def lookup(self, name: object, path: str) -> type:
        """The class registered as `name`, or a ConfigError at `path` with a did-you-mean."""
        if not isinstance(name, str):
            raise ConfigError(path, f"expected a {self.kind} name, got {show(name)}")
        if name not in self.table:
            raise ConfigError(path, f"unknown {self.kind} {name!r}{did_you_mean(name, self.table)}")
        return self.table[name]

    def names(self) -> list[str]:
        return list(self.table)

    def __contains__(self, name: object) -> bool:
        return name in self.table


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
    "flatten": shape.Flatten,
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

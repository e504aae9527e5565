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

    def __init__(self, kind: str, table: dict[str, Any], hints: dict[str, str] | None = None):
        self.kind = kind
        self.table = table
        self.hints = hints or {}

    def lookup(self, name: object, path: str) -> Any:
        """The entry registered as `name`, or a ConfigError at `path` with a hint (a name that belongs
        elsewhere) or a did-you-mean, else the list of names."""
        if not isinstance(name, str):
            raise ConfigError(path, f"expected a {self.kind} name, got {show(name)}")
        if name not in self.table:
            hint = self.hints.get(name) or did_you_mean(name, self.table) or \
                f"; known {self.kind}{'es' if self.kind.endswith('s') else 's'}: {', '.join(self.table)}"
            raise ConfigError(path, f"unknown {self.kind} {name!r}{hint}")
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

SOFTMAX_HINT = ("; softmax belongs to the loss: end the model with a dense layer of one unit per class and "
                "use loss: {type: softmax_cross_entropy}, which applies softmax itself")
LOSSES = Registry("loss", {
    "softmax_cross_entropy": losses.SoftmaxCrossEntropy,
    "svm": losses.MulticlassHinge,
    "sigmoid_bce": losses.SigmoidBCE,
    "mse": losses.MeanSquaredError,
    "l1": losses.MeanAbsoluteError,
    "huber": losses.Huber,
})

LAYERS.hints.update({"softmax": SOFTMAX_HINT, "log_softmax": SOFTMAX_HINT,
                     **{name: f"; {name!r} is a loss, not a layer: use loss: {{type: {name}}}" for name in LOSSES}})
LOSSES.hints.update({"softmax": " (did you mean 'softmax_cross_entropy'? It applies softmax and the "
                                "cross-entropy in one step)",
                     "cross_entropy": " (did you mean 'softmax_cross_entropy'?)",
                     "relu": "; 'relu' is a layer, not a loss", "tanh": "; 'tanh' is a layer, not a loss",
                     "sigmoid": " (did you mean 'sigmoid_bce'? It applies the sigmoid and the binary "
                                "cross-entropy in one step)"})

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

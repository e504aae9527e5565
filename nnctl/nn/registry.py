"""Every name a config can use, in one place: name -> class (or rule) tables, and the lookup that explains
a typo.

Reading this file tells you every layer, loss, optimizer, schedule, initializer and dataset nnctl knows.
Each table is a read-only mapping, so `OPTIMIZERS["adam"]`, `"adam" in OPTIMIZERS` and `list(OPTIMIZERS)`
work as on a dict.
"""

from __future__ import annotations

from nnctl.data.catalog import DATASETS
from nnctl.layers import activations, conv, dense, dropout, init, merge, noise, norm, pool, shape
from nnctl.nn import losses
from nnctl.optim import optimizers, schedules
from nnctl.options.named import Registry

__all__ = ["DATASETS", "INITIALIZERS", "LAYERS", "LOSSES", "OPTIMIZERS", "Registry", "SCHEDULES"]


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

"""The one interface every layer follows.

Shapes exclude the batch axis: a dense layer on flat MNIST has `in_shape == (784,)`, and its forward
takes `x` of shape (N, 784). Each layer owns:

- `params`:  trainable arrays by name, e.g. {"W": (D, M), "b": (M,)}; optimizers update them in place.
- `grads`:   same keys and shapes as `params`, filled by `backward`. A layer may rebind the arrays, but
             writing into `grad_buffer(key)` saves a copy: in a network that is a view of one flat buffer.
- `buffers`: arrays that are saved in checkpoints but not trained (batch-norm running statistics).
- `penalized`: names of params that L1/L2 penalties and weight decay apply to (weights, not biases).

A layer with `arity == "many"` (concat, add) takes a list of inputs: `build(in_shapes)`,
`forward(xs)`, and `backward(dy)` returns one gradient per input.

Everything a pass depends on arrives as an argument, never as a flag set from outside:
`forward(x, training, rng)` takes the generator that layers drawing random numbers in training
(dropout, noise) use, and `backward(dy, need_input_grad)` may skip computing dx (returning None) when
the caller says nobody needs it, which saves a whole matrix product in a first dense or conv layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnctl.options.spec import Option, validate

Shape = tuple[int, ...]


class BuildError(ValueError):
    """A layer cannot be built as configured for its input; `key` names the option to change, if one does."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.key = key


class Layer:
    """Base class. Subclasses set `options` (the YAML keys they accept) and implement the three methods.

    `size_key` names the option that sets the layer's size ("units", "filters"): a network too large for
    memory is reported at that key of the layer where the estimate goes over (see Network.build).
    """

    options: dict[str, Option] = {}
    arity = "one"
    penalized: tuple[str, ...] = ()
    size_key: str | None = None
    # True for layers whose buffers follow the data in training (batch norm): frozen (trainable: false),
    # such a layer runs as in evaluation even while the network trains, so none of its tensors change
    evaluates_when_frozen = False

    def __init__(self, name: str, **config: Any):
        """`config`: the layer's own options (see `options`), checked here with the same one-line errors as
        a config file's, the key path starting at the layer's name (e.g. "d.units: expected a positive
        integer, got -3"); defaults are filled in."""
        self.name = name
        self.config = validate(self.options, config, name)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.in_shape: Any = None
        self.out_shape: Shape | None = None
        self.dtype = np.dtype(np.float32)

    def build(self, in_shape: Any, rng: np.random.Generator, dtype: Any = np.float32) -> Shape:
        """Create params for inputs of `in_shape` (no batch axis); return the output shape.

        `rng` draws the initial weights (it is not kept: random draws in training come with each forward).
        """
        self.in_shape = in_shape
        self.dtype = np.dtype(dtype)
        self.out_shape = self.output_shape(in_shape)
        self.create_params(rng)
        return self.out_shape

    def output_shape(self, in_shape: Any) -> Shape:
        """Output shape for the given input shape. Default: unchanged."""
        return tuple(in_shape)

    def create_params(self, rng: np.random.Generator) -> None:
        """Fill `self.params` (and `self.buffers`). Default: no parameters."""

    def param_shapes(self, in_shape: Any) -> dict[str, Shape]:
        """The shapes `create_params` will give `params` for inputs of `in_shape`, computed without
        allocating anything (so a size can be checked first). Default: no parameters."""
        return {}

    def work_per_sample(self, in_shape: Any, out_shape: Shape) -> int:
        """Elements of scratch memory one sample needs in a pass besides its input and output (e.g. a
        convolution's im2col columns). Default: none."""
        return 0

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        raise NotImplementedError

    def macs(self) -> int:
        """Multiply-adds per sample in the forward pass (for `nnctl summary`)."""
        return 0

    def describe(self) -> str:
        """A short word on the configuration, shown in `nnctl summary`."""
        return ""

    def kinks(self) -> bool:
        """True if this layer has points where its derivative jumps (ReLU, max): gradcheck may warn there."""
        return False

    def grad_buffer(self, key: str) -> np.ndarray:
        """The array to write the gradient of params[key] into: grads[key] when it has the parameter's
        shape and dtype (contiguous), else a new one stored there."""
        param, grad = self.params[key], self.grads.get(key)
        if grad is None or grad.shape != param.shape or grad.dtype != param.dtype or not grad.flags.c_contiguous:
            grad = self.grads[key] = np.empty_like(param)
        return grad

    def zero_like_params(self) -> dict[str, np.ndarray]:
        return {k: np.zeros_like(v) for k, v in self.params.items()}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

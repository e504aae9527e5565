"""Input corruption for denoising autoencoders: a layer that damages its input in training, so the network
learns to undo the damage (the loss still compares with the clean input: `target: input`).

Three kinds of damage, each drawn from the generator handed to `forward`:

    mask         each value is set to 0 with probability p, independently; the kept values are NOT
                 rescaled (unlike dropout), as in the denoising autoencoder of Vincent et al. (2008)
    gaussian     y = x + std * e with e ~ N(0, 1) per value
    salt_pepper  each value is replaced with probability p, half of the time by `high` (salt) and half
                 of the time by `low` (pepper)

`corrupt` is the same damage as a plain function; `nnctl eval --corrupt` and the reconstruction pictures
use it to corrupt inputs of any network, including autoencoders trained without noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnctl.options.spec import Bool, Choice, Float, Option
from nnctl.errors import InputError
from nnctl.layers.base import Layer

MODES = ("mask", "gaussian", "salt_pepper")


@dataclass(frozen=True)
class Corruption:
    """One kind of damage and its strength: `p` for mask and salt_pepper, `std` for gaussian."""

    mode: str = "mask"
    p: float = 0.25
    std: float = 0.1
    low: float = 0.0
    high: float = 1.0

    def describe(self) -> str:
        if self.mode == "gaussian":
            return f"gaussian std {self.std:g}"
        if self.mode == "salt_pepper":
            return f"salt_pepper p {self.p:g} ({self.low:g}/{self.high:g})"
        return f"mask p {self.p:g}"


def corrupt(x: np.ndarray, how: Corruption, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
    """(damaged copy of x, the mask of values that still depend on x or None when all do). x: (N, ...),
    any float dtype; the draws use that dtype, so float32 and float64 inputs get the same kind of noise."""
    dtype = x.dtype
    if how.mode == "gaussian":
        return x + dtype.type(how.std) * rng.standard_normal(x.shape, dtype=dtype), None
    u = rng.random(x.shape, dtype=dtype)
    p = dtype.type(how.p)
    if how.mode == "mask":
        keep = u >= p
        return x * keep, keep
    keep = u >= p
    salt = u < p / dtype.type(2)
    replaced = np.where(salt, dtype.type(how.high), dtype.type(how.low))
    return np.where(keep, x, replaced), keep


def parse_corruption(text: str, option: str = "--corrupt") -> Corruption:
    """'mask=0.3', 'gaussian=0.5' (the std) or 'salt_pepper=0.1' -> a Corruption; InputError otherwise."""
    mode, sep, amount = text.partition("=")
    usage = f"{option} {text!r}: expected MODE=AMOUNT with MODE one of {', '.join(MODES)} (e.g. mask=0.3)"
    if not sep or mode not in MODES:
        raise InputError(usage)
    try:
        value = float(amount)
    except ValueError:
        raise InputError(usage) from None
    if mode == "gaussian":
        if not 0 <= value < float("inf"):
            raise InputError(f"{option} {text!r}: the gaussian std must be a non-negative number")
        return Corruption("gaussian", std=value)
    if not 0 <= value < 1:
        raise InputError(f"{option} {text!r}: the {mode} fraction must be in [0, 1)")
    return Corruption(mode, p=value)


class Noise(Layer):
    """Damages its input in training (zero a fraction p without rescaling, add gaussian noise, or salt and
    pepper) so that a denoising autoencoder learns to undo it; the loss compares with the clean input.

    x: (N, ...) -> y of the same shape: x damaged in training, x itself at
    evaluation unless `at_eval` is true (then it is damaged too, whenever the caller hands `forward` a
    generator: the trainer's validation and `nnctl eval` do, with a generator of their own seeded from
    the config, so the same inputs are damaged the same way every epoch; pictures and `nnctl embed` hand
    none and see clean inputs).

    Backward: dx = dy * keep for mask and salt_pepper (replaced values do not depend on x), dx = dy for
    gaussian. Two forwards given generators in the same state draw the same damage. With p = 0 (std = 0
    for gaussian) the layer is the identity and draws nothing, so a run with it trains exactly as the same
    network without it (the plain autoencoder to compare a denoising one with).
    """

    options = {
        "mode": Option(Choice(*MODES), "mask", "mask (zero a fraction p, no rescaling), gaussian (add std * "
                                               "N(0, 1)) or salt_pepper (a fraction p set to low or high)"),
        "p": Option(Float(0, 1, high_open=True), 0.25, "fraction of values damaged (mask, salt_pepper)"),
        "std": Option(Float(0), 0.1, "standard deviation of the added noise (gaussian)"),
        "low": Option(Float(), 0.0, "the pepper value (salt_pepper)"),
        "high": Option(Float(), 1.0, "the salt value (salt_pepper)"),
        "at_eval": Option(Bool(), False, "damage inputs at evaluation too (validation loss on damaged inputs)"),
    }

    def __init__(self, name: str, **config):
        super().__init__(name, **config)
        how = self.config
        self.how = Corruption(how["mode"], how["p"], how["std"], how["low"], how["high"])
        self.keep: np.ndarray | None = None
        self.active = False

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        harmless = (self.how.std if self.how.mode == "gaussian" else self.how.p) == 0
        self.active = not harmless and (training or (self.config["at_eval"] and rng is not None))
        if not self.active:
            return x
        if rng is None:
            raise ValueError(f"{self.name}: noise in training needs a random generator")
        y, self.keep = corrupt(x, self.how, rng)
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        if not self.active or self.keep is None:
            return dy
        dx = dy * self.keep
        self.keep = None
        return dx

    def describe(self) -> str:
        return self.how.describe() + (", also at evaluation" if self.config["at_eval"] else "")

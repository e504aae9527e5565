"""The optimizer base: how one step of gradients changes the parameters, in place (the rules are in
nctl.optim.optimizers).

Every optimizer sees the model as flat dicts keyed like "dense1.W": `params` (the very arrays the layers
hold, so each update writes into them), `grads` (same keys and shapes) and its own state ("m/dense1.W").
The learning rate is not the optimizer's: the schedule computes it and `step(grads, lr)` receives it;
the `lr` option is only the base value the schedule starts from.

Every step follows the same three stages, with g the caller's gradient (never modified):

1. norm = ||g||_2 over all parameters together; with `clip_norm` c and norm > c, g <- g * c / norm.
2. weight decay, for the keys in `decay_keys` only: g <- g + wd * p (L2 penalty), except adamw, whose
   decay is decoupled from the gradient (p <- p - lr * wd * p, before the Adam update).
3. the update rule of the class (formulas in each docstring).

Speed: all arithmetic is in-place NumPy ufuncs with `out=` on preallocated buffers, in the dtype of the
parameters (float32 state for float32 params); Python scalars never upcast (NEP 50). When the parameters
tile one flat buffer (a Network's `flat_params`, see nnctl.optim.flat) and the gradients one too, the state
and scratch arrays are flat as well and the rule runs once over the whole buffer, in chunks split over
the worker threads (nnctl.workers); otherwise it runs key by key. The arithmetic per element is
the same either way, so both give identical numbers. With compiled kernels on (nnctl.kernels.backend),
stages 2 and 3 of the flat layout run as one fused pass per chunk instead, again with identical numbers.
The clipping
factor is never applied as a pass of its own: each rule receives it as `scale` and folds it into the
scalar factors it multiplies by anyway (scale * g enters the rule wherever g does). Only L2 decay keys
need a buffer: it holds g + (wd / scale) * p, which the rule's `scale` turns into scale * g + wd * p.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from nnctl.errors import InputError
from nnctl.kernels import backend
from nnctl.optim.flat import pack, span
from nnctl.options.spec import Float, Option, Optional, validate
from nnctl.workers import over_batch

STEP_KEY = "t"


def common_options(lr: float) -> dict[str, Option]:
    """The keys every optimizer accepts; `lr` is the default base learning rate."""
    return {
        "lr": Option(Float(0, low_open=True), lr, "base learning rate (the schedule scales it)"),
        "weight_decay": Option(Float(0), 0.0, "L2 penalty on weights (decoupled for adamw)"),
        "clip_norm": Option(Optional(Float(0, low_open=True)), None,
                            "clip all gradients together to this global L2 norm"),
    }


class Optimizer:
    """Base class: gradient norm, clipping and L2 decay, step counting, state save/load.

    params: {name: array} updated in place; decay_keys: the names weight decay applies to (weights,
    not biases or norm gains); config: the options below (validated here, defaults filled in).
    Subclasses set `slots` (names of per-parameter state arrays) and implement `update`.
    """

    passes = 4        # whole-buffer passes per step, roughly (how much work decides the thread split)
    kernel: backend.Kernel | None = None      # the rule fused into one pass (nnctl.kernels.optimizers)

    options: dict[str, Option] = common_options(1e-2)
    slots: tuple[str, ...] = ()
    decoupled_decay = False

    def __init__(self, params: dict[str, np.ndarray], decay_keys: set[str], **config: Any):
        unknown = set(decay_keys) - set(params)
        if unknown:
            raise ValueError(f"decay_keys name no parameter: {sorted(unknown)}")
        self.config = validate(self.options, config, "optimizer")
        self.params = params
        self.decay_keys = set(decay_keys)
        self.weight_decay = self.config["weight_decay"]
        self.clip_norm = self.config["clip_norm"]
        self.t = 0
        self.flat = span(params.values())
        self.state, self.flat_state = {}, {}
        if self.flat is None:
            self.state = {slot: {k: np.zeros_like(p) for k, p in params.items()} for slot in self.slots}
            self.scratch = {k: np.empty_like(p) for k, p in params.items()}
        else:                    # flat state and scratch laid out like the parameters, with per-key views
            for slot in self.slots:
                self.flat_state[slot], self.state[slot] = pack(params, self.flat.dtype, copy=False)
            self.flat_scratch, self.scratch = pack(params, self.flat.dtype, copy=False)
        decaying = self.decay_keys if self.weight_decay > 0 else set()
        self.l2_keys = set() if self.decoupled_decay else decaying
        self.decoupled_keys = decaying if self.decoupled_decay else set()
        self.decayed_grad = {k: np.empty_like(params[k]) for k in self.l2_keys}
        self.flat_decayed = None
        if self.flat is not None and self.l2_keys:
            self.flat_decayed, self.decayed_grad = pack(params, self.flat.dtype, copy=False)
        self.decays = None
        if self.flat is not None:        # for the fused kernels: 1 where an element's key takes weight decay
            self.decays = np.zeros(self.flat.size, np.uint8)
            start = 0
            for key, param in params.items():
                self.decays[start:start + param.size] = key in decaying
                start += param.size

    # ------------------------------------------------------------------------------------------ stepping

    def step(self, grads: dict[str, np.ndarray], lr: float) -> float:
        """Apply one update with learning rate `lr`; return the global gradient norm before clipping.

        grads: same keys and shapes as params; left unchanged. A non-finite norm (inf or NaN gradients)
        is returned as is and disables clipping for the step: the caller decides what divergence means.
        """
        norm = self.global_norm(grads)
        scale = 1.0
        if self.clip_norm is not None and math.isfinite(norm) and norm > self.clip_norm:
            scale = self.clip_norm / norm
        self.t += 1
        lr = float(lr)
        flat_grad = None if self.flat is None else span(grads[k] for k in self.params)
        if flat_grad is None:
            for key, param in self.params.items():
                state = {slot: table[key] for slot, table in self.state.items()}
                self.update(param, self.decayed(key, grads, lr, scale), state, self.scratch[key], lr, scale)
            return norm
        if self.kernel is not None and backend.active():
            self.step_fused(flat_grad, lr, scale)
            return norm
        if self.l2_keys or self.decoupled_keys:
            for key in self.params:
                self.decayed(key, grads, lr, scale)
        if self.l2_keys:
            flat_grad = self.flat_decayed

        def chunk(part: slice) -> None:
            state = {slot: array[part] for slot, array in self.flat_state.items()}
            self.update(self.flat[part], flat_grad[part], state, self.flat_scratch[part], lr, scale)

        over_batch(chunk, self.flat.size, self.passes * self.flat.size)
        return norm

    def step_fused(self, flat_grad: np.ndarray, lr: float, scale: float) -> None:
        """Stages 2 and 3 in one compiled pass over the flat buffers (split over the worker threads), with
        the same numbers as the NumPy passes (nnctl.kernels.optimizers)."""
        real = self.flat.dtype.type
        decay = (real(self.weight_decay / scale) if self.l2_keys else real(0),
                 real(1.0 - lr * self.weight_decay) if self.decoupled_keys else real(1), bool(self.decoupled_keys))
        scalars = decay + self.fused_scalars(lr, scale, real)
        slots = [self.flat_state[slot] for slot in self.slots]

        def chunk(part: slice) -> None:
            self.kernel(self.flat[part], flat_grad[part], *(slot[part] for slot in slots), self.decays[part],
                        *scalars)

        over_batch(chunk, self.flat.size, 4 * self.flat.size)

    def fused_scalars(self, lr: float, scale: float, real: type) -> tuple:
        """The rule's factors for `kernel`, in the parameters' dtype `real`, as `update` computes them."""
        raise NotImplementedError

    def decayed(self, key: str, grads: dict[str, np.ndarray], lr: float, scale: float) -> np.ndarray:
        """Stage 2 for one key: the gradient the rule receives, g + (wd / scale) * p for L2 decay keys
        (written to `decayed_grad[key]`), else g itself (in the flat layout `decayed_grad[key]` then gets a
        copy, as the rule reads the whole flat buffer); decoupled decay shrinks the parameter here."""
        param, grad = self.params[key], grads[key]
        if key in self.l2_keys:
            grad = np.multiply(param, self.weight_decay / scale, out=self.decayed_grad[key])
            grad += grads[key]
        elif key in self.decoupled_keys:
            param *= 1.0 - lr * self.weight_decay
        if self.flat_decayed is not None and key not in self.l2_keys:
            np.copyto(self.decayed_grad[key], grad)
        return grad

    def global_norm(self, grads: dict[str, np.ndarray]) -> float:
        """sqrt(sum of g^2 over every gradient), after checking keys and shapes against params."""
        if grads.keys() != self.params.keys():
            missing = sorted(set(self.params) - set(grads))
            extra = sorted(set(grads) - set(self.params))
            raise ValueError(f"gradients do not match parameters: missing {missing}, unexpected {extra}")
        for key, g in grads.items():
            if g.shape != self.params[key].shape:
                raise ValueError(f"gradient {key!r} has shape {g.shape}, parameter {self.params[key].shape}")
        with np.errstate(over="ignore"):
            total = sum(float(np.dot(g.reshape(-1), g.reshape(-1))) for g in grads.values())
        if not math.isfinite(total):
            # float32 squares overflow from |g| ~ 1e19 on: redo in float64 so clipping still sees a number.
            total = sum(float(np.dot(f, f)) for f in (g.reshape(-1).astype(np.float64) for g in grads.values()))
        return math.sqrt(total)

    def update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, np.ndarray], scratch: np.ndarray,
               lr: float, scale: float) -> None:
        """Change `param` in place from the gradient g = scale * grad. `state` holds the slots' arrays for
        the same elements, `scratch` is free to use; all have the param's shape (one key, or a chunk of the
        flat buffer)."""
        raise NotImplementedError

    # ------------------------------------------------------------------------------------------ state

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Everything an exact resume needs: "t" (steps taken) and "<slot>/<param name>" arrays (copies)."""
        arrays = {STEP_KEY: np.array(self.t, dtype=np.int64)}
        for slot, table in self.state.items():
            for key, value in table.items():
                arrays[f"{slot}/{key}"] = value.copy()
        return arrays

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore from `state_arrays()` output. Strict: every key present, nothing extra, same shapes and
        dtypes; on any mismatch raises InputError and changes nothing."""
        expected = {STEP_KEY: ((), None)}
        for slot, table in self.state.items():
            for key, value in table.items():
                expected[f"{slot}/{key}"] = (value.shape, value.dtype)
        missing = [k for k in expected if k not in arrays]
        extra = sorted(k for k in arrays if k not in expected)
        if missing or extra:
            what = f"missing {_names(missing)}" if missing else f"unexpected {_names(extra)}"
            raise InputError(f"optimizer state does not fit this {type(self).__name__.lower()} optimizer and "
                             f"model: {what}")
        for name, (shape, dtype) in expected.items():
            found = np.asarray(arrays[name])
            if name == STEP_KEY:
                if found.shape != () or found.dtype.kind not in "iu" or found < 0:
                    raise InputError(f"optimizer state {name!r}: expected a non-negative integer step count, "
                                     f"got {found.dtype} array of shape {found.shape}")
            elif found.shape != shape or found.dtype != dtype:
                raise InputError(f"optimizer state {name!r}: expected {dtype} array of shape {shape}, "
                                 f"got {found.dtype} array of shape {found.shape}")
        self.t = int(arrays[STEP_KEY])
        for slot, table in self.state.items():
            for key, value in table.items():
                np.copyto(value, arrays[f"{slot}/{key}"])


def _names(keys: list[str]) -> str:
    shown = ", ".join(repr(k) for k in keys[:3])
    return shown + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")

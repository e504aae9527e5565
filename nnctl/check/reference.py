"""`nnctl gradcheck CONFIG --reference`: the fast conv/pool kernels against plain loop implementations.

For every convolution and pooling node of the config's network (built in float64), at the inputs that
node really sees, the fast layer's output and gradients (dx, and dW, db for convolutions, for a random
upstream gradient) are compared with `nnctl.check.reference_kernels`, written with one loop per index. The
largest absolute difference of each is reported.
"""

from __future__ import annotations

import numpy as np

from nnctl.check import reference_kernels as ref
from nnctl.layers.conv import Conv2D
from nnctl.layers.pool import AvgPool2D, GlobalAvgPool, MaxPool2D


def reference_outputs(layer, x: np.ndarray, dy: np.ndarray) -> dict[str, np.ndarray]:
    """{"y", "dx", and for convolutions "dW", "db"} computed by the loop reference for `layer` at x, dy."""
    g = getattr(layer, "geometry", None)
    if isinstance(layer, Conv2D):
        w, b = layer.params["W"], layer.params.get("b")
        y = ref.conv2d_forward(x, w, b, g.stride, g.padding, g.dilation)
        dx, dw, db = ref.conv2d_backward(x, w, dy, g.stride, g.padding, g.dilation)
        return {"y": y, "dx": dx, "dW": dw, **({"db": db} if b is not None else {})}
    if isinstance(layer, MaxPool2D):
        return {"y": ref.maxpool2d_forward(x, g.kernel, g.stride, g.padding),
                "dx": ref.maxpool2d_backward(x, dy, g.kernel, g.stride, g.padding)}
    if isinstance(layer, AvgPool2D):
        return {"y": ref.avgpool2d_forward(x, g.kernel, g.stride, g.padding),
                "dx": ref.avgpool2d_backward(x, dy, g.kernel, g.stride, g.padding)}
    if isinstance(layer, GlobalAvgPool):
        return {"y": ref.global_avgpool_forward(x), "dx": ref.global_avgpool_backward(x, dy)}
    raise TypeError(f"no loop reference for {type(layer).__name__}")


def has_reference(layer) -> bool:
    return isinstance(layer, (Conv2D, MaxPool2D, AvgPool2D, GlobalAvgPool))


def compare_with_reference(layer, x: np.ndarray, rng: np.random.Generator) -> list[dict]:
    """Rows {where, tensor, shape, max_abs_diff} for y, dx (and dW, db) of `layer` at input x: (N, C, H, W)."""
    y = np.array(layer.forward(x, training=True), copy=True)
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(dy.copy(), need_input_grad=True)
    fast = {"y": y, "dx": dx, **{k: layer.grads[k] for k in ("W", "b") if k in layer.grads}}
    fast = {("dW" if k == "W" else "db" if k == "b" else k): v for k, v in fast.items()}
    slow = reference_outputs(layer, x, dy)
    return [{"where": layer.name, "tensor": key, "shape": list(slow[key].shape),
             "max_abs_diff": float(np.max(np.abs(fast[key] - slow[key]))) if slow[key].size else 0.0}
            for key in slow]

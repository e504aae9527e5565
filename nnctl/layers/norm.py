"""Normalization layers: batch norm (statistics over the batch) and layer norm (over each sample)."""

from __future__ import annotations

import numpy as np

from nnctl.errors import WorkError
from nnctl.kernels import backend
from nnctl.kernels import batchnorm as fused
from nnctl.layers.base import Layer, Shape
from nnctl.layers.channels import channel_dots, channel_sums
from nnctl.workers import over_batch
from nnctl.options.spec import Choice, Float, Option


class BatchNorm(Layer):
    """Batch normalization, per feature on (N, D) and per channel on (N, C, H, W).

    Statistics are taken for each index of axis 1 (a feature or a channel) over the batch axis and every
    trailing axis, so (N, C, L) inputs work per channel too. gamma, beta: (C,), starting at ones and zeros.

        training:  xhat = (x - mu_B) / sqrt(var_B + eps),  y = gamma * xhat + beta
    with mu_B and var_B the batch mean and the *biased* batch variance (divided by m, the number of values
    per channel: N for (N, D), N*H*W for (N, C, H, W)). The same biased var_B feeds the running average,
    as in the course material:

        running_mean = momentum * running_mean + (1 - momentum) * mu_B
        running_var  = momentum * running_var  + (1 - momentum) * var_B

    (`momentum` is the weight kept by the old value; 0.9 by default.) At evaluation `test_stats` says
    which statistics normalize (a frozen layer, `trainable: false`, normalizes that way in training too, and
    its running statistics stay as they are):

    - running:   running_mean / running_var (buffers; start at 0 and 1).
    - batch:     the evaluated batch's own statistics (nothing is updated).
    - recompute: population statistics recomputed over the training set after training (see
      nnctl.training.bn_recompute): the caller feeds this layer's inputs batch by batch to a
      `PopulationMoments` and hands the result to `set_recomputed`. They live in the buffers
      recomputed_mean / recomputed_var (biased population variance) and recomputed_samples (the count,
      shape (1,)); until a recompute has run (count 0) evaluation falls back to the running stats.

    Backward with batch statistics uses the simplified closed form (one pass, no per-sample loops):
        dx = gamma / sqrt(var_B + eps) * (dy - mean(dy) - xhat * mean(dy * xhat))
    with means per channel; dgamma = sum(dy * xhat), dbeta = sum(dy). After a forward with fixed
    statistics the layer is affine and dx = dy * gamma / sqrt(var + eps).
    """

    evaluates_when_frozen = True
    options = {
        "momentum": Option(Float(0, 1, high_open=True), 0.9, "weight of the old running value per update"),
        "eps": Option(Float(0, low_open=True), 1e-5, "added to the variance before the square root"),
        "test_stats": Option(Choice("running", "batch", "recompute"), "running",
                             "statistics used at evaluation"),
    }

    def output_shape(self, in_shape: Shape) -> Shape:
        if len(in_shape) < 1:
            raise ValueError("batchnorm expects inputs with at least one feature axis")
        return tuple(in_shape)

    def param_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        return {"gamma": (in_shape[0],), "beta": (in_shape[0],)}

    def create_params(self, rng: np.random.Generator) -> None:
        channels = self.in_shape[0]
        self.axes = (0,) + tuple(range(2, len(self.in_shape) + 1))          # all but the channel axis
        self.broadcast = (channels,) + (1,) * (len(self.in_shape) - 1)       # (C,) -> (C, 1, 1)
        self.params["gamma"] = np.ones(channels, dtype=self.dtype)
        self.params["beta"] = np.zeros(channels, dtype=self.dtype)
        self.buffers["running_mean"] = np.zeros(channels, dtype=self.dtype)
        self.buffers["running_var"] = np.ones(channels, dtype=self.dtype)
        if self.config["test_stats"] == "recompute":
            self.buffers["recomputed_mean"] = np.zeros(channels, dtype=self.dtype)
            self.buffers["recomputed_var"] = np.ones(channels, dtype=self.dtype)
            self.buffers["recomputed_samples"] = np.zeros(1, dtype=np.float64)

    @property
    def needs_recompute(self) -> bool:
        """True when evaluation uses population statistics that a recompute pass must provide."""
        return self.config["test_stats"] == "recompute"

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        """x: (N, C, ...) -> y of the same shape."""
        self.batch_stats = training or self.config["test_stats"] == "batch"
        if x.ndim > 2:
            return self.forward_channels(x, training)
        if self.batch_stats:
            mean = x.mean(axis=self.axes, keepdims=True)
            xhat = x - mean
            var = np.square(xhat).mean(axis=self.axes, keepdims=True)
            if training:
                self._update_running(mean.reshape(-1), var.reshape(-1))
        else:
            mean, var = self._fixed_stats()
            xhat = x - mean
        self.inv_std = 1 / np.sqrt(var + self.config["eps"])
        xhat *= self.inv_std
        self.xhat = xhat
        y = xhat * self.params["gamma"].reshape(self.broadcast)
        y += self.params["beta"].reshape(self.broadcast)
        return y

    def forward_channels(self, x: np.ndarray, training: bool) -> np.ndarray:
        """`forward` for x: (N, C, *S) with spatial axes S, as (N, C, P) arrays with threaded passes
        (nnctl.layers.channels); the same formulas, summed in another order. With compiled kernels on, the
        element-wise passes of forward and backward are one loop each (nnctl.kernels.batchnorm), same numbers."""
        n, c = x.shape[:2]
        x3 = x.reshape(n, c, -1)
        count = x3.shape[0] * x3.shape[2]
        if self.batch_stats:
            mean = channel_sums(x3) / x.dtype.type(count)
        else:
            mean, var = (stat.reshape(-1) for stat in self._fixed_stats())
        xhat = np.empty_like(x3)
        over_batch(lambda s: np.subtract(x3[s], mean[:, None], out=xhat[s]), n, x3.size)
        if self.batch_stats:
            var = channel_dots(xhat, xhat) / x.dtype.type(count)
            if training:
                self._update_running(mean, var)
        inv_std = (1 / np.sqrt(var + self.config["eps"])).astype(x.dtype, copy=False)
        gamma, beta = self.params["gamma"][:, None], self.params["beta"][:, None]
        y = np.empty_like(x3)
        if backend.active():
            vectors = [np.ascontiguousarray(v, x.dtype) for v in (inv_std, gamma[:, 0], beta[:, 0])]
            over_batch(lambda s: fused.normalize(xhat[s], *vectors, y[s]), n, 3 * x3.size)
            self.xhat, self.inv_std = xhat.reshape(x.shape), inv_std.reshape(self.broadcast)
            return y.reshape(x.shape)

        def affine(s: slice) -> None:
            xhat[s] *= inv_std[:, None]
            np.multiply(xhat[s], gamma, out=y[s])
            y[s] += beta

        over_batch(affine, n, 3 * x3.size)
        self.xhat, self.inv_std = xhat.reshape(x.shape), inv_std.reshape(self.broadcast)
        return y.reshape(x.shape)

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        if dy.ndim > 2:
            return self.backward_channels(dy)
        xhat, scale = self.xhat, self.params["gamma"].reshape(self.broadcast) * self.inv_std
        dbeta = dy.sum(axis=self.axes)
        dgamma = (dy * xhat).sum(axis=self.axes)
        self.grads["gamma"], self.grads["beta"] = dgamma, dbeta
        self.xhat = self.inv_std = None
        if not self.batch_stats:
            return dy * scale
        per_channel = dy.size // dbeta.size
        xhat *= (dgamma / per_channel).reshape(self.broadcast)     # xhat is ours and no longer needed
        dx = dy - (dbeta / per_channel).reshape(self.broadcast)
        dx -= xhat
        dx *= scale
        return dx

    def backward_channels(self, dy: np.ndarray) -> np.ndarray:
        """`backward` for dy: (N, C, *S), the counterpart of `forward_channels`."""
        n, c = dy.shape[:2]
        dy3, xhat = dy.reshape(n, c, -1), self.xhat.reshape(n, c, -1)
        dbeta, dgamma = channel_sums(dy3), channel_dots(dy3, xhat)
        self.grads["gamma"], self.grads["beta"] = dgamma, dbeta
        scale = (self.params["gamma"] * self.inv_std.reshape(-1))[:, None]
        self.xhat = self.inv_std = None
        dx = np.empty_like(dy3)
        if not self.batch_stats:
            over_batch(lambda s: np.multiply(dy3[s], scale, out=dx[s]), n, dy3.size)
            return dx.reshape(dy.shape)
        per_channel = dy3.shape[0] * dy3.shape[2]
        mean_dy, mean_dy_xhat = (dbeta / per_channel)[:, None], (dgamma / per_channel)[:, None]
        if backend.active() and dy3.flags.c_contiguous:
            vectors = [np.ascontiguousarray(v[:, 0], dy.dtype) for v in (mean_dy, mean_dy_xhat, scale)]
            over_batch(lambda s: fused.backward(dy3[s], xhat[s], *vectors, dx[s]), n, 4 * dy3.size)
            return dx.reshape(dy.shape)

        def chunk(s: slice) -> None:
            xhat[s] *= mean_dy_xhat                          # xhat is ours and no longer needed
            np.subtract(dy3[s], mean_dy, out=dx[s])
            dx[s] -= xhat[s]
            dx[s] *= scale

        over_batch(chunk, n, 4 * dy3.size)
        return dx.reshape(dy.shape)

    # ------------------------------------------------------------------------------ statistics
    def _update_running(self, mean: np.ndarray, var: np.ndarray) -> None:
        keep = self.config["momentum"]
        for name, batch in (("running_mean", mean), ("running_var", var)):
            running = self.buffers[name]
            running *= keep
            running += (1 - keep) * batch

    def _fixed_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, var) shaped for broadcasting: recomputed when available, else running."""
        use_recomputed = self.needs_recompute and self.buffers["recomputed_samples"][0] > 0
        prefix = "recomputed" if use_recomputed else "running"
        return (self.buffers[f"{prefix}_mean"].reshape(self.broadcast),
                self.buffers[f"{prefix}_var"].reshape(self.broadcast))

    def set_recomputed(self, moments: "PopulationMoments") -> None:
        """Store the population mean and biased variance that `moments` accumulated from this layer's inputs."""
        if not self.needs_recompute:
            raise ValueError(f"{self.name}: set_recomputed() needs test_stats: recompute")
        if moments.count == 0:
            raise WorkError(f"{self.name}: no batches were seen while recomputing batch-norm statistics")
        self.buffers["recomputed_mean"][...] = moments.mean
        self.buffers["recomputed_var"][...] = moments.variance()
        self.buffers["recomputed_samples"][0] = moments.count

    def describe(self) -> str:
        return f"momentum {self.config['momentum']:g}, test stats {self.config['test_stats']}"


class PopulationMoments:
    """Per-channel mean and biased variance over many batches (N, C, ...), accumulated in float64 with
    Chan et al.'s pairwise update, so the result equals a two-pass mean/variance over all samples up to
    float64 rounding. Statistics are over every axis but axis 1, as batch norm takes them."""

    def __init__(self, channels: int):
        self.count = 0
        self.mean = np.zeros(channels, dtype=np.float64)
        self.squares = np.zeros(channels, dtype=np.float64)    # squared deviations from `mean`, summed

    def add(self, x: np.ndarray) -> None:
        axes = (0,) + tuple(range(2, x.ndim))
        wide = x.astype(np.float64)
        batch_count = x.size // x.shape[1]
        batch_mean = wide.mean(axis=axes, keepdims=True)
        wide -= batch_mean
        batch_squares = np.square(wide, out=wide).sum(axis=axes)
        batch_mean = batch_mean.reshape(-1)
        total = self.count + batch_count
        delta = batch_mean - self.mean
        self.mean += delta * (batch_count / total)
        self.squares += batch_squares + delta * delta * (self.count * batch_count / total)
        self.count = total

    def variance(self) -> np.ndarray:
        return self.squares / self.count


class LayerNorm(Layer):
    """Layer normalization: each sample is normalized over all of its feature values.

    x: (N, *F) -> y: (N, *F), with F the feature shape of any rank and per sample n
        xhat_n = (x_n - mean(x_n)) / sqrt(var(x_n) + eps)   (biased variance over the prod(F) values)
        y_n = gain * xhat_n + bias                          (gain, bias: F; ones and zeros at start)
    Identical at training and evaluation. Backward per sample, with g = dy * gain and means over F:
        dx = (g - mean(g) - xhat * mean(g * xhat)) / sqrt(var + eps)
    """

    options = {"eps": Option(Float(0, low_open=True), 1e-5, "added to the variance before the square root")}

    def param_shapes(self, in_shape: Shape) -> dict[str, Shape]:
        return {"gain": tuple(in_shape), "bias": tuple(in_shape)}

    def create_params(self, rng: np.random.Generator) -> None:
        self.params["gain"] = np.ones(self.in_shape, dtype=self.dtype)
        self.params["bias"] = np.zeros(self.in_shape, dtype=self.dtype)

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None) -> np.ndarray:
        flat = x.reshape(x.shape[0], -1)
        xhat = flat - flat.mean(axis=1, keepdims=True)
        var = np.square(xhat).mean(axis=1, keepdims=True)
        self.inv_std = 1 / np.sqrt(var + self.config["eps"])
        xhat *= self.inv_std
        self.xhat = xhat
        y = xhat.reshape(x.shape) * self.params["gain"]
        y += self.params["bias"]
        return y

    def backward(self, dy: np.ndarray, need_input_grad: bool = True) -> np.ndarray:
        xhat = self.xhat
        flat_dy = dy.reshape(xhat.shape)
        self.grads["gain"] = (flat_dy * xhat).sum(axis=0).reshape(self.in_shape)
        self.grads["bias"] = flat_dy.sum(axis=0).reshape(self.in_shape)
        g = flat_dy * self.params["gain"].reshape(-1)
        projection = (g * xhat).mean(axis=1, keepdims=True)
        xhat *= projection                                            # xhat is ours and no longer needed
        g -= g.mean(axis=1, keepdims=True)
        g -= xhat
        g *= self.inv_std
        self.xhat = self.inv_std = None
        return g.reshape(dy.shape)

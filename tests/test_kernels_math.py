"""Each compiled kernel against the NumPy code it replaces, on float32 inputs (and float64 where gradcheck
runs): every one gives NumPy's numbers bit for bit (NaN, infinities and -0.0 included where they can occur);
the gradient checker passes with the kernels on and fails a kernel with a wrong gradient."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl import workers
from nnctl.check.gradcheck import check_layer, check_loss
from nnctl.kernels import backend, pooling, softmax_ce
from nnctl.layers.activations import ReLU
from nnctl.layers.norm import BatchNorm
from nnctl.layers.pool import MaxPool2D
from nnctl.nn.losses import SoftmaxCrossEntropy
from nnctl.nn.model_config import resolve_model_config
from nnctl.nn.network import build_network
from nnctl.optim.flat import pack
from nnctl.optim.optimizers import SGD, Adagrad, Adam, AdamW, Momentum, Nesterov, RMSProp

pytest.importorskip("numba", reason="numba is not installed (pip install 'nnctl[fast]')")


@pytest.fixture
def kernels(monkeypatch):
    """use(choice): switch this process between the compiled and the NumPy path."""
    def use(choice: str) -> None:
        monkeypatch.setenv("NNCTL_KERNELS", choice)
        backend.reset()
    yield use
    monkeypatch.delenv("NNCTL_KERNELS")
    backend.reset()


@pytest.fixture
def threaded(monkeypatch):
    """Three worker threads that split even tiny arrays, so the kernels run on chunks."""
    monkeypatch.setenv("NNCTL_THREADS", "3")
    monkeypatch.setattr(workers, "MIN_CHUNK", 1)


# --------------------------------------------------------------------------------------- optimizers

RULES = [SGD, Momentum, Nesterov, RMSProp, Adagrad, Adam, AdamW]
SETTINGS = [{}, {"weight_decay": 0.1}, {"weight_decay": 0.05, "clip_norm": 0.5}]


def optimizer_run(cls, config: dict) -> dict[str, np.ndarray]:
    """Six steps (rising learning rate, clipping active with clip_norm) on three parameter tensors of one
    flat buffer, two of them decaying; returns the parameters and the state afterwards."""
    rng = np.random.default_rng(0)
    raw = {"a.W": rng.standard_normal((30, 20)), "a.b": rng.standard_normal(20), "c.W": rng.standard_normal((5, 7))}
    flat, params = pack(raw, np.float32)
    flat_grads, grads = pack(raw, np.float32, copy=False)
    optimizer = cls(params, {"a.W", "c.W"}, **config)
    assert optimizer.flat is not None
    for step in range(6):
        flat_grads[...] = rng.standard_normal(flat_grads.size) * (1 + step)
        optimizer.step(grads, 0.01 * (step + 1))
    return {"params": flat.copy(), **optimizer.state_arrays()}


@pytest.mark.parametrize("config", SETTINGS, ids=["plain", "decay", "decay+clip"])
@pytest.mark.parametrize("cls", RULES, ids=lambda cls: cls.__name__)
def test_every_fused_update_equals_the_numpy_passes_bit_for_bit(kernels, threaded, cls, config):
    kernels("numpy")
    expected = optimizer_run(cls, config)
    kernels("numba")
    found = optimizer_run(cls, config)
    assert cls.kernel.compiled is not None           # the kernel ran
    assert found.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(found[key], expected[key], err_msg=key)


def test_a_wrong_fused_update_is_caught(kernels, monkeypatch):
    """The comparison above can fail: an Adam kernel with beta2 off by one ulp differs from the NumPy path."""
    kernels("numpy")
    expected = optimizer_run(Adam, {})
    kernels("numba")
    scalars = Adam.fused_scalars

    def off(self, lr, scale, real):
        values = list(scalars(self, lr, scale, real))
        values[2] = np.nextafter(values[2], real(0))
        return tuple(values)

    monkeypatch.setattr(Adam, "fused_scalars", off)
    assert not np.array_equal(optimizer_run(Adam, {})["params"], expected["params"])


# --------------------------------------------------------------------------------------------- relu

@pytest.mark.parametrize("shape", [(5, 7), (4, 3, 6, 5)])
def test_relu_forward_and_backward_equal_numpy_bit_for_bit(kernels, threaded, shape):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape).astype(np.float32)
    x.flat[:5] = [np.nan, -0.0, 0.0, np.inf, -np.inf]
    dy = rng.standard_normal(shape).astype(np.float32)
    dy.flat[5:8] = [np.inf, np.nan, -0.0]
    results = {}
    for choice in ("numpy", "numba"):
        kernels(choice)
        layer = ReLU("relu")
        layer.build(shape[1:], rng)
        y = layer.forward(x, True)
        results[choice] = (y, layer.backward(dy))
    for numpy_array, kernel_array in zip(results["numpy"], results["numba"]):
        np.testing.assert_array_equal(kernel_array, numpy_array)
        np.testing.assert_array_equal(np.signbit(kernel_array), np.signbit(numpy_array))     # -0.0 too


def test_relu_gradcheck_passes_with_kernels_on(kernels):
    kernels("numba")
    rng = np.random.default_rng(2)
    layer = ReLU("relu")
    layer.build((4, 3, 3), rng, np.float64)
    x = rng.standard_normal((2, 4, 3, 3))
    x[np.abs(x) < 0.05] = 0.5                       # away from the kink
    assert [row.verdict for row in check_layer(layer, x, rng)] == ["pass"]


# ------------------------------------------------------------------------------------ max pooling

@pytest.mark.filterwarnings("ignore:invalid value encountered in multiply")     # NumPy's inf * 0, on purpose
@pytest.mark.parametrize("training", [True, False])
def test_max_pooling_2x2_equals_numpy_bit_for_bit_ties_included(kernels, threaded, training):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 3, 8, 6)).astype(np.float32)
    x[0, 0, :2, :2] = 1.5                                     # a four-way tie: the first tap wins
    x[0, 1, 2:4, :2] = [[-2.0, 0.5], [0.5, -1.0]]             # a tie between taps 1 and 2
    x[1, 0, :2, 2:4] = -np.inf
    x[1, 1, :2, 2:4] = [[-0.0, 0.0], [0.0, -0.0]]
    dy = rng.standard_normal((5, 3, 4, 3)).astype(np.float32)
    dy[2, 0, 0, :3] = [np.inf, np.nan, -np.inf]
    results = {}
    for choice in ("numpy", "numba"):
        kernels(choice)
        layer = MaxPool2D("pool", kernel=2)
        layer.build((3, 8, 6), rng)
        y = layer.forward(x, training)
        results[choice] = (y, layer.argmax, layer.backward(dy) if training else None)
    (y0, arg0, dx0), (y1, arg1, dx1) = results["numpy"], results["numba"]
    np.testing.assert_array_equal(y1, y0)
    np.testing.assert_array_equal(np.signbit(y1), np.signbit(y0))
    if training:
        assert arg1.dtype == np.uint8 and arg0[0, 0, 0, 0] == 0 and arg0[0, 1, 1, 0] == 1
        np.testing.assert_array_equal(arg1, arg0)
        np.testing.assert_array_equal(dx1, dx0)                  # NaN where NumPy has NaN
        np.testing.assert_array_equal(np.signbit(dx1), np.signbit(dx0))     # dy * 0 = -0.0 for dy < 0
        assert pooling.max_pool_2x2_backward.compiled is not None
    assert pooling.max_pool_2x2.compiled is not None


def test_max_pooling_gradcheck_passes_with_kernels_on(kernels):
    kernels("numba")
    rng = np.random.default_rng(7)
    layer = MaxPool2D("pool", kernel=2)
    layer.build((2, 4, 4), rng, np.float64)
    x = rng.permutation(64).reshape(2, 2, 4, 4) * 0.1        # distinct values: no ties within 2 eps
    assert [row.verdict for row in check_layer(layer, x, rng)] == ["pass"]


# ------------------------------------------------------------------------------------- batch norm

@pytest.mark.parametrize("test_stats", ["running", "batch"])
def test_batch_norm_on_images_equals_numpy_bit_for_bit(kernels, threaded, test_stats):
    rng = np.random.default_rng(8)
    x = (rng.standard_normal((6, 4, 5, 3)) * 3 + 1).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    results = {}
    for choice in ("numpy", "numba"):
        kernels(choice)
        layer = BatchNorm("bn", test_stats=test_stats)
        layer.build((4, 5, 3), np.random.default_rng(0))
        layer.params["gamma"][...] = [0.5, 2.0, -1.0, 1.5]
        layer.params["beta"][...] = [0.1, -0.2, 0.0, 3.0]
        y = layer.forward(x, True)
        dx = layer.backward(dy)
        evaluated = layer.forward(x, False)
        results[choice] = [y, dx, layer.grads["gamma"], layer.grads["beta"], evaluated,
                           *layer.buffers.values()]
    for numpy_array, kernel_array in zip(results["numpy"], results["numba"]):
        np.testing.assert_array_equal(kernel_array, numpy_array)


def test_batch_norm_gradcheck_passes_with_kernels_on(kernels):
    kernels("numba")
    rng = np.random.default_rng(9)
    layer = BatchNorm("bn")
    layer.build((3, 4, 4), rng, np.float64)
    layer.params["gamma"][...] = [0.5, 2.0, -1.0]
    rows = check_layer(layer, rng.standard_normal((4, 3, 4, 4)), rng)
    assert [row.verdict for row in rows] == ["pass", "pass", "pass"]


# ---------------------------------------------------------------------------------- softmax-CE

def loss_and_grad(choice: str, kernels, scores, target, weights=None, **config):
    kernels(choice)
    loss = SoftmaxCrossEntropy(**config)
    loss.use_class_weights(weights)
    value = loss.forward(scores, target)
    return value, loss.backward().copy()


@pytest.mark.parametrize("config, weights", [({}, None), ({"label_smoothing": 0.1}, None),
                                             ({"label_smoothing": 0.2}, np.array([0.5, 2.0, 1.0, 3.0]))])
def test_softmax_cross_entropy_equals_numpy_bit_for_bit(kernels, config, weights):
    rng = np.random.default_rng(3)
    scores = (rng.standard_normal((64, 4)) * 8).astype(np.float32)
    scores[0] = [100.0, -100.0, 50.0, 0.0]            # the max subtracted: no overflow on either path
    scores[2] = [1.0, -np.inf, 0.5, 1.0]
    target = rng.integers(0, 4, 64)
    target[1] = -1                                   # NumPy's indexing reads -1 as the last class
    expected = loss_and_grad("numpy", kernels, scores, target, weights, **config)
    found = loss_and_grad("numba", kernels, scores, target, weights, **config)
    assert found[1].dtype == np.float32
    assert found[0] == expected[0]
    np.testing.assert_array_equal(found[1], expected[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_cross_entropy_row_sums_round_as_numpys_pairwise_sums_for_every_width(kernels, dtype):
    """Widths 1 to 128 cover each branch of NumPy's pairwise summation (under 8, blocks of 8 with a
    remainder); wider rows go to the NumPy code."""
    rng = np.random.default_rng(4)
    for classes in range(1, 131):
        scores = (rng.standard_normal((32, classes)) * 6).astype(dtype)
        target = rng.integers(0, classes, 32)
        expected = loss_and_grad("numpy", kernels, scores, target, label_smoothing=0.1)
        found = loss_and_grad("numba", kernels, scores, target, label_smoothing=0.1)
        assert found[0] == expected[0], classes
        np.testing.assert_array_equal(found[1], expected[1], err_msg=str(classes))
    assert softmax_ce.forward(np.zeros((2, 129), dtype), np.array([0, 1]), 0.0, None) is None


def test_a_label_out_of_range_raises_as_numpy_does(kernels):
    kernels("numba")
    with pytest.raises(IndexError):
        SoftmaxCrossEntropy().forward(np.zeros((2, 3), np.float32), np.array([0, 3]))


def test_softmax_cross_entropy_gradcheck_passes_with_the_kernel_and_fails_a_wrong_one(kernels, monkeypatch):
    kernels("numba")
    rng = np.random.default_rng(5)
    scores, target = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss = SoftmaxCrossEntropy(label_smoothing=0.1)
    assert check_loss(loss, scores, target).verdict == "pass"
    assert softmax_ce.gradient.compiled is not None
    backward = softmax_ce.backward

    def wrong(*args):
        grad = backward(*args)
        grad[:, 0] *= 1.01                           # a gradient 1% off in one class
        return grad

    monkeypatch.setattr(softmax_ce, "backward", wrong)
    assert check_loss(SoftmaxCrossEntropy(label_smoothing=0.1), scores, target).verdict == "fail"


# ------------------------------------------------------------------------------- a whole network

CNN = {"layers": [
    {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1}, {"type": "batchnorm"}, {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2},                                # relu -> pool: fused by the network
    {"type": "conv2d", "filters": 6, "kernel": 3, "padding": 1}, {"type": "relu"},
    {"type": "maxpool2d", "kernel": 2}, {"type": "flatten"},
    {"type": "dense", "units": 8}, {"type": "relu"}, {"type": "dense", "units": 3}]}


def test_a_cnn_forward_and_backward_equal_numpy_bit_for_bit(kernels, threaded):
    """Every kernel but softmax-CE on one path through a network, the ReLU deferred past a pool included:
    outputs and every parameter gradient identical."""
    x = np.random.default_rng(10).standard_normal((6, 2, 8, 8)).astype(np.float32)
    results = {}
    for choice in ("numpy", "numba"):
        kernels(choice)
        model, paths = resolve_model_config(CNN, "model")
        network = build_network(model, (2, 8, 8), np.random.default_rng(0), np.float32, paths)
        out = network.forward(x, True)[network.output_name]
        network.backward({network.output_name: np.linspace(-1, 1, out.size, dtype=np.float32).reshape(out.shape)})
        results[choice] = {"out": out.copy(), **{k: v.copy() for k, v in network.grads().items()}}
    assert results["numba"].keys() == results["numpy"].keys() and len(results["numpy"]) == 11
    for key, expected in results["numpy"].items():
        np.testing.assert_array_equal(results["numba"][key], expected, err_msg=key)
    assert np.abs(results["numba"]["conv2d1.W"]).max() > 0

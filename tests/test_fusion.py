"""ReLU before max pooling, computed after it (nnctl.nn.fusion): the same numbers, bit for bit, as unfused."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.config.sections import resolve
from nnctl.nn.network import build_network

LAYERS = [
    {"type": "conv2d", "name": "conv1", "filters": 3, "kernel": 3, "padding": 1},
    {"type": "relu", "name": "relu1"},
    {"type": "maxpool2d", "name": "pool1", "kernel": 2},
    {"type": "conv2d", "name": "conv2", "filters": 4, "kernel": 3, "padding": 1},
    {"type": "relu", "name": "relu2"},
    {"type": "maxpool2d", "name": "pool2", "kernel": 3, "stride": 2, "padding": 1},   # overlapping, padded
    {"type": "flatten", "name": "flat"},
    {"type": "dense", "name": "dense1", "units": 5}]


def network(layers=LAYERS, dtype=np.float64, fused=True):
    config = resolve({"data": {"dataset": "spiral"}, "model": {"layers": layers},
                      "loss": {"type": "softmax_cross_entropy"}})
    net = build_network(config.model, (2, 8, 8), np.random.default_rng(0), dtype)
    if not fused:
        net.fusion.pool_of = {}
    return net


def inputs(dtype):
    """Inputs with many ties: values from a few levels, so windows hold equal maxima, all-negative windows
    (ReLU gives all zeros) and exact zeros."""
    rng = np.random.default_rng(1)
    return rng.integers(-2, 3, size=(6, 2, 8, 8)).astype(dtype)


def pass_through(net, x, training=True, keep=()):
    outputs = net.forward(x, training=training, keep=keep)
    dy = np.random.default_rng(2).standard_normal(outputs[net.output_name].shape).astype(x.dtype)
    dx = net.backward({net.output_name: dy}, need_input_grad=True)
    grads = {k: g.copy() for k, g in net.grads().items()}
    return outputs, dx, grads


def test_pairs_found_only_for_a_relu_whose_sole_consumer_is_a_max_pool():
    assert network().fusion.pool_of == {"relu1": "pool1", "relu2": "pool2"}
    branching = LAYERS[:3] + [{"type": "add", "name": "sum", "inputs": ["relu1", "relu1"]}]
    assert network(branching + LAYERS[3:]).fusion.pool_of == {"relu2": "pool2"}      # relu1 feeds two nodes
    leaky = [dict(layer, type="leaky_relu") if layer["name"] == "relu1" else layer for layer in LAYERS]
    assert network(leaky).fusion.pool_of == {"relu2": "pool2"}
    average = [dict(layer, type="avgpool2d") if layer["name"] == "pool2" else layer for layer in LAYERS]
    assert network(average).fusion.pool_of == {"relu1": "pool1"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_forward_and_backward_equal_unfused_exactly(dtype):
    x = inputs(dtype)
    fused, plain = network(dtype=dtype), network(dtype=dtype, fused=False)
    (out_f, dx_f, grads_f), (out_p, dx_p, grads_p) = (pass_through(n, x) for n in (fused, plain))
    assert fused.fusion.deferred == {"relu1", "relu2"} and plain.fusion.deferred == set()
    assert np.array_equal(out_f["dense1"], out_p["dense1"])
    assert np.array_equal(dx_f, dx_p)
    assert grads_f.keys() == grads_p.keys()
    for key in grads_p:
        assert np.array_equal(grads_f[key], grads_p[key]), key
    assert np.count_nonzero(grads_p["conv1.W"]) > 0 and np.count_nonzero(dx_p) > 0


def test_evaluation_forward_equals_unfused_and_keeps_nothing():
    x = inputs(np.float32)
    fused = network(dtype=np.float32)
    outputs = fused.forward(x, training=False, keep=["pool1"])
    plain = network(dtype=np.float32, fused=False).forward(x, training=False, keep=["pool1"])
    assert np.array_equal(outputs["pool1"], plain["pool1"]) and np.array_equal(outputs["dense1"], plain["dense1"])
    assert outputs["pool1"].min() == 0.0 and fused.fusion.masks == {}


def test_a_pass_that_returns_the_relu_output_leaves_that_pair_unfused():
    x = inputs(np.float64)
    net = network()
    outputs, dx, grads = pass_through(net, x, keep=["relu1"])
    assert net.fusion.deferred == {"relu2"}
    assert outputs["relu1"].min() == 0.0 and np.array_equal(outputs["relu1"], np.maximum(
        network(fused=False).forward(x, training=True, until="conv1")["conv1"], 0))
    _, dx_plain, grads_plain = pass_through(network(fused=False), x)
    assert np.array_equal(dx, dx_plain)
    assert all(np.array_equal(grads[k], grads_plain[k]) for k in grads)
    assert network().forward(x, training=False, until="relu2")["relu2"].min() == 0.0


def test_a_wrong_mask_would_be_seen():
    """The fused backward must zero the gradient of windows whose maximum is not positive: without the mask
    the input gradient differs (the check above can fail)."""
    x = inputs(np.float64)
    net = network()
    net.forward(x, training=True)
    net.fusion.masks = {}                      # as if the pool's backward forgot the ReLU
    dy = np.random.default_rng(2).standard_normal((6, 5))
    wrong = net.backward({"dense1": dy}, need_input_grad=True)
    _, right, _ = pass_through(network(fused=False), x)
    assert not np.array_equal(wrong, right)

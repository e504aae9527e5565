"""One flat parameter buffer: layers hold views, optimizers update it whole, with the same numbers as key by key."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.optim.flat import pack, span
from nnctl.nn.network import build_network
from nnctl.nn.registry import OPTIMIZERS

MODEL = {"layers": [
    {"type": "conv2d", "name": "conv1", "filters": 4, "kernel": 3, "padding": 1},
    {"type": "relu", "name": "relu1"},
    {"type": "flatten", "name": "flat"},
    {"type": "dense", "name": "dense1", "units": 5, "trainable": False},
    {"type": "batchnorm", "name": "bn1"},
    {"type": "dense", "name": "dense2", "units": 3}]}


def network():
    from nnctl.config.sections import resolve
    config = resolve({"data": {"dataset": "spiral"}, "model": MODEL, "loss": {"type": "softmax_cross_entropy"}})
    return build_network(config.model, (1, 6, 6), np.random.default_rng(0))


def test_pack_copies_in_order_and_span_finds_the_whole_buffer():
    arrays = {"a": np.arange(6.0).reshape(2, 3), "b": np.array([7.0]), "c": np.zeros((0, 4)), "d": np.ones(2)}
    flat, views = pack(arrays, np.float32)
    assert flat.tolist() == [0, 1, 2, 3, 4, 5, 7, 1, 1]
    assert all(views[k].shape == arrays[k].shape for k in arrays)
    assert span(views.values()) is not None and span(views.values()).tolist() == flat.tolist()
    assert span([views["a"], views["d"]]) is None                  # a gap (b)
    assert span([views["b"], views["d"]]).tolist() == [7, 1, 1]    # c is empty: no gap
    assert span([views["d"], views["a"]]) is None                  # out of order
    assert span([views["a"], views["b"]]).tolist() == [0, 1, 2, 3, 4, 5, 7]
    assert span([np.zeros(3), np.zeros(2)]) is None                # separate arrays
    assert pack(arrays, np.float32, copy=False)[0].tolist() == [0.0] * 9


def test_trainable_parameters_and_gradients_are_views_of_the_flat_buffers():
    net = network()
    params = net.trainable_params()
    assert list(params) == ["conv1.W", "conv1.b", "bn1.gamma", "bn1.beta", "dense2.W", "dense2.b"]
    assert span(params.values()) is not None and span(params.values()).size == net.flat_params.size
    assert np.shares_memory(span(params.values()), net.flat_params)
    assert "dense1.W" not in params and not np.shares_memory(net.by_name["dense1"].layer.params["W"],
                                                             net.flat_params)
    x = np.random.default_rng(1).standard_normal((4, 1, 6, 6)).astype(np.float32)
    scores = net.forward(x, training=True)["dense2"]
    net.backward({"dense2": np.ones_like(scores)})
    grads = net.grads()
    assert list(grads) == list(params)
    assert span(grads.values()) is not None and np.shares_memory(span(grads.values()), net.flat_grads)
    assert np.count_nonzero(net.flat_grads) > 0
    # batch norm stores gradients in arrays of its own: they are copied into the views
    assert net.by_name["bn1"].layer.grads["gamma"] is grads["bn1.gamma"]


@pytest.mark.parametrize("name,config", [
    ("sgd", {}), ("momentum", {}), ("nesterov", {"weight_decay": 0.1}), ("rmsprop", {"clip_norm": 0.5}),
    ("adagrad", {"clip_norm": 0.5, "weight_decay": 0.01}), ("adam", {"weight_decay": 0.05}),
    ("adamw", {"weight_decay": 0.05, "clip_norm": 1.0})])
def test_the_flat_update_gives_the_numbers_of_the_key_by_key_update(name, config):
    rng = np.random.default_rng(2)
    shapes = {"w1": (300, 500), "b1": (500,), "w2": (500, 7), "b2": (7,)}
    start = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
    flat_params, flat_views = pack(start, np.float32)
    flat_grad_buffer, flat_grads = pack(start, np.float32, copy=False)
    apart = {k: v.copy() for k, v in start.items()}
    decay = {"w1", "w2"}
    flat_opt = OPTIMIZERS[name](flat_views, decay, lr=0.01, **config)
    apart_opt = OPTIMIZERS[name](apart, decay, lr=0.01, **config)
    assert flat_opt.flat is not None and apart_opt.flat is None
    for _ in range(3):
        grads = {k: rng.standard_normal(s).astype(np.float32) for k, s in shapes.items()}
        for k in shapes:
            flat_grads[k][...] = grads[k]
        assert flat_opt.step(flat_grads, 0.01) == apart_opt.step(grads, 0.01)
    for k in shapes:
        np.testing.assert_array_equal(flat_views[k], apart[k])
        assert not np.array_equal(flat_views[k], start[k])
    for slot in flat_opt.state:
        for k in shapes:
            np.testing.assert_array_equal(flat_opt.state[slot][k], apart_opt.state[slot][k])
    saved = flat_opt.state_arrays()
    assert set(saved) == set(apart_opt.state_arrays())

"""Every layer, loss, optimizer and schedule checks its own options when built directly (not only through a
config file), with the same one-line messages as the config path: unknown keys, missing required keys and
wrong values are ConfigErrors naming the key."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.errors import ConfigError
from nnctl.layers.dense import Dense
from nnctl.nn.registry import LAYERS, LOSSES, OPTIMIZERS, SCHEDULES


@pytest.mark.parametrize("name", LAYERS.names())
def test_every_layer_refuses_an_unknown_option(name):
    with pytest.raises(ConfigError) as caught:
        LAYERS[name]("node", colour="red")
    assert str(caught.value).startswith("node.colour: unknown key")


@pytest.mark.parametrize("name", LOSSES.names())
def test_every_loss_refuses_an_unknown_option(name):
    with pytest.raises(ConfigError, match=r"^loss\.colour: unknown key"):
        LOSSES[name](colour="red")


@pytest.mark.parametrize("name", OPTIMIZERS.names())
def test_every_optimizer_refuses_an_unknown_option(name):
    params = {"d.W": np.zeros((2, 2), np.float32)}
    with pytest.raises(ConfigError, match=r"^optimizer\.colour: unknown key"):
        OPTIMIZERS[name](params, {"d.W"}, colour="red")


@pytest.mark.parametrize("name", SCHEDULES.names())
def test_every_schedule_refuses_an_unknown_option(name):
    with pytest.raises(ConfigError, match=r"^schedule\.colour: unknown key"):
        SCHEDULES[name](0.1, 10, colour="red")


@pytest.mark.parametrize("options, message", [
    ({"units": -3}, "d.units: expected a positive integer, got -3"),
    ({}, "d.units: required key is missing"),
    ({"units": 3, "init": "hee"}, "d.init: expected one of"),
])
def test_dense_built_directly_says_what_is_wrong(options, message):
    with pytest.raises(ConfigError) as caught:
        Dense("d", **options)
    assert str(caught.value).startswith(message)


def test_a_layer_built_directly_gets_its_defaults():
    assert Dense("d", units=3).config == {"units": 3, "init": "he", "weight_scale": 0.01, "bias": True}

"""Mutation test of the gradient checker: for every registered layer and loss, a backward pass whose gradient
is off by 1e-3 relative (the whole tensor scaled by 1.001, or only its largest entry) is reported as a
failure, while the correct backward passes.

The layers and losses come from the registry, so layers added later are covered too: a type without an
entry in CASES is built with its defaults, or with the options of the first node of that type in a shipped
config (configs/**/*.yaml) at the input shape it has there; a type neither way can build fails this test
with a message asking for a case.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnctl.check.gradcheck import check_layer, check_loss
from nnctl.options.spec import validate
from nnctl.errors import ConfigError
from nnctl.nn.registry import LAYERS, LOSSES
from tests.conftest import require_fashion

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
OFF = 1.001

# type: (options, input shape per sample, number of inputs for layers taking several)
CASES = {
    "dense": ({"units": 3}, (5,)),
    "conv2d": ({"filters": 2, "kernel": 3, "padding": 1}, (2, 4, 4)),
    "maxpool2d": ({"kernel": 2}, (2, 4, 4)),
    "avgpool2d": ({"kernel": 3, "stride": 2, "padding": 1}, (2, 5, 5)),
    "global_avgpool": ({}, (3, 3, 3)),
    "batchnorm": ({}, (4,)),
    "layernorm": ({}, (5,)),
    "prelu": ({}, (2, 3, 3)),
    "concat": ({}, (4,)),
    "add": ({}, (4,)),
    "reshape": ({"shape": [2, 3]}, (6,)),
}
DEFAULT_SHAPES = ((6,), (2, 4, 4))


def example_from_configs(kind: str) -> tuple[dict, tuple] | None:
    """(options, input shape) of the first node of type `kind` in a shipped config whose data is on this
    machine, or None."""
    from nnctl.config.load import load_config
    from nnctl.errors import NnctlError
    from nnctl.build.prepare import prepare

    for path in sorted(CONFIGS.rglob("*.yaml")):
        if f"type: {kind}" not in path.read_text(encoding="utf-8"):
            continue
        config = load_config(path)
        nodes = [node for node in config.model["layers"] if node["type"] == kind]
        try:
            network = prepare(config, dtype=np.float64, progress=False).network
        except NnctlError:           # e.g. MNIST not downloaded here
            continue
        cls = LAYERS[kind]
        in_shape = network.by_name[nodes[0]["name"]].layer.in_shape
        return ({k: v for k, v in nodes[0].items() if k in cls.options},
                tuple(in_shape[0] if cls.arity == "many" else in_shape))
    return None


def build(kind: str, seed: int = 0):
    """A float64 layer of type `kind` and inputs for it (kept away from kinks at 0 and from ties)."""
    cls = LAYERS[kind]
    candidates = [CASES[kind]] if kind in CASES else []
    try:
        validate(cls.options, {}, kind)
        candidates += [({}, shape) for shape in DEFAULT_SHAPES]
    except ConfigError:
        pass
    if not candidates:
        found = example_from_configs(kind)
        assert found is not None, f"layer {kind!r}: add a case to CASES in {__file__} (its options have no defaults " \
                                  f"and no shipped config uses it)"
        candidates = [found]
    rng = np.random.default_rng(seed)
    for options, shape in candidates:
        layer = cls(kind, **validate(cls.options, options, kind))
        inputs = 2 if cls.arity == "many" else 1
        try:
            layer.build([shape] * inputs if cls.arity == "many" else shape, np.random.default_rng(seed), np.float64)
        except ValueError:
            continue
        for key in ("gamma", "gain"):            # a non-trivial affine part for the norm layers
            if key in layer.params:
                layer.params[key][...] = 1 + 0.5 * rng.standard_normal(layer.params[key].shape)
        xs = []
        for _ in range(inputs):
            x = rng.standard_normal((3,) + tuple(shape))
            xs.append(x + np.where(x >= 0, 0.1, -0.1))
        return layer, (xs if cls.arity == "many" else xs[0])
    raise AssertionError(f"layer {kind!r}: none of {candidates} builds; add a case to CASES in {__file__}")


def tensors_of(layer) -> list[str]:
    many = layer.arity == "many"
    return ([f"x[{i}]" for i in range(2)] if many else ["x"]) + list(layer.params)


def mutated_backward(cls, tensor: str, largest_only: bool):
    """cls.backward with the gradient of `tensor` off by 1e-3 relative (all of it, or its largest entry)."""
    original = cls.backward

    def off(g: np.ndarray) -> np.ndarray:
        g = np.array(g, copy=True)
        if largest_only:
            i = np.unravel_index(np.argmax(np.abs(g)), g.shape)
            g[i] *= OFF
            return g
        return g * OFF

    def backward(self, dy, need_input_grad=True):
        dx = original(self, dy, need_input_grad)
        if tensor in self.grads:
            self.grads[tensor] = off(self.grads[tensor])
        elif tensor == "x":
            dx = off(dx)
        else:
            dx = list(dx)
            i = int(tensor[2:-1])
            dx[i] = off(dx[i])
        return dx

    return backward


@pytest.mark.parametrize("kind", LAYERS.names())
def test_every_layer_passes_and_a_gradient_off_by_1e3_fails(monkeypatch, kind):
    layer, x = build(kind)
    rows = check_layer(layer, x, np.random.default_rng(1), max_entries=10_000)
    assert [r.verdict for r in rows] == ["pass"] * len(rows), rows
    for tensor in tensors_of(layer):
        for largest_only in (False, True):
            monkeypatch.setattr(LAYERS[kind], "backward", mutated_backward(LAYERS[kind], tensor, largest_only))
            layer, x = build(kind)
            rows = {r.tensor: r for r in check_layer(layer, x, np.random.default_rng(1), max_entries=10_000)}
            assert rows[tensor].verdict == "fail", (kind, tensor, largest_only, rows[tensor])
            assert all(r.verdict == "pass" for t, r in rows.items() if t != tensor), (kind, tensor, rows)
            monkeypatch.undo()


def scores_and_target(loss, rng: np.random.Generator, n: int = 4, k: int = 3):
    scores = 2 * rng.standard_normal((n, k))
    if loss.task == "classification":
        return scores, rng.integers(0, k, size=n)
    if loss.task == "binary":
        return scores, rng.integers(0, 2, size=(n, k)).astype(np.float64)
    return scores, scores + rng.uniform(0.3, 2.0, size=(n, k)) * rng.choice([-1, 1], size=(n, k))


@pytest.mark.parametrize("kind", LOSSES.names())
def test_every_loss_passes_and_a_gradient_off_by_1e3_fails(monkeypatch, kind):
    cls = LOSSES[kind]
    rng = np.random.default_rng(2)
    scores, target = scores_and_target(cls(), rng)
    assert check_loss(cls(), scores, target).verdict == "pass"
    original = cls.backward
    for largest_only in (False, True):
        def backward(self, largest_only=largest_only):
            g = np.array(original(self), copy=True)
            if largest_only:
                g[np.unravel_index(np.argmax(np.abs(g)), g.shape)] *= OFF
                return g
            return g * OFF

        monkeypatch.setattr(cls, "backward", backward)
        assert check_loss(cls(), scores, target).verdict == "fail", (kind, largest_only)
        monkeypatch.undo()


@pytest.mark.data
def test_a_layer_without_a_case_or_defaults_is_built_from_a_shipped_config(monkeypatch):
    require_fashion()                         # configs/autoencoder.yaml's data must be at hand
    monkeypatch.delitem(CASES, "dense")       # as for a layer added after this test was written
    layer, x = build("dense")                 # the first dense node on data at hand: configs/autoencoder.yaml
    assert (layer.config["units"], layer.config["init"], layer.config["weight_scale"]) == (256, "he", 0.01)
    assert x.shape == (3, 784)
    assert all(r.verdict == "pass" for r in check_layer(layer, x, np.random.default_rng(1)))

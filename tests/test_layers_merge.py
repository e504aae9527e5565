"""concat and add: exact values, gradient checks (and a broken backward failing), and graphs from YAML."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.check.gradcheck import check_layer
from nnctl.layers.merge import Add, Concat


def built(layer, shapes):
    layer.build(shapes, np.random.default_rng(0), np.float64)
    return layer


def test_concat_values_and_split_gradient():
    layer = built(Concat("c"), [(2,), (3,)])
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 4.0, 5.0]])
    np.testing.assert_array_equal(layer.forward([a, b], True), [[1, 2, 3, 4, 5]])
    da, db = layer.backward(np.array([[10.0, 20.0, 30.0, 40.0, 50.0]]))
    np.testing.assert_array_equal(da, [[10, 20]])
    np.testing.assert_array_equal(db, [[30, 40, 50]])
    assert layer.out_shape == (5,)


def test_concat_images_along_channels_and_shape_errors():
    assert built(Concat("c"), [(2, 4, 4), (3, 4, 4)]).out_shape == (5, 4, 4)
    with pytest.raises(ValueError, match=r"concat needs inputs that differ only in their first axis"):
        built(Concat("c"), [(2, 4, 4), (3, 5, 4)])
    with pytest.raises(ValueError, match=r"add needs inputs of one shape, got \(3,\), \(4,\)"):
        built(Add("a"), [(3,), (4,)])


def test_add_values_and_gradient():
    layer = built(Add("a"), [(2,), (2,), (2,)])
    xs = [np.array([[1.0, 2.0]]), np.array([[10.0, 20.0]]), np.array([[100.0, 200.0]])]
    np.testing.assert_array_equal(layer.forward(xs, True), [[111, 222]])
    grads = layer.backward(np.array([[1.0, -1.0]]))
    assert len(grads) == 3 and all(np.array_equal(g, [[1.0, -1.0]]) for g in grads)


@pytest.mark.parametrize("layer,shapes", [(Concat("c"), [(3,), (4,)]), (Concat("c"), [(2, 3, 3), (1, 3, 3)]),
                                          (Add("a"), [(5,), (5,)]), (Add("a"), [(2, 3, 3)] * 3)])
@pytest.mark.parametrize("batch", [1, 3])
def test_gradients_check(layer, shapes, batch):
    rng = np.random.default_rng(4)
    built(layer, shapes)
    xs = [rng.standard_normal((batch,) + s) for s in shapes]
    rows = check_layer(layer, xs, rng)
    assert [r.tensor for r in rows] == [f"x[{i}]" for i in range(len(shapes))]
    assert all(r.verdict == "pass" and r.max_rel_error <= 1e-7 for r in rows), rows


@pytest.mark.parametrize("cls,shapes", [(Concat, [(3,), (4,)]), (Add, [(5,), (5,)])])
def test_a_wrong_backward_fails_the_check(cls, shapes, monkeypatch):
    original = cls.backward
    monkeypatch.setattr(cls, "backward", lambda self, dy, need_input_grad=True: [g * 1.01 for g in original(self, dy, need_input_grad)])
    rng = np.random.default_rng(5)
    layer = built(cls("m"), shapes)
    rows = check_layer(layer, [rng.standard_normal((2,) + s) for s in shapes], rng)
    assert all(r.verdict == "fail" for r in rows)


def test_a_branching_graph_trains_and_passes_gradcheck(tmp_path):
    config = tmp_path / "graph.yaml"
    config.write_text("""\
data: {dataset: spiral, samples: 150}
model:
  layers:
    - {type: dense, units: 16, name: stem}
    - {type: relu, name: act}
    - {type: dense, units: 16, input: act, name: left}
    - {type: tanh, name: left_out}
    - {type: dense, units: 16, input: act, name: right}
    - {type: add, inputs: [left_out, right, stem], name: residual}
    - {type: concat, inputs: [residual, act]}
    - {type: dense, units: 3}
train: {epochs: 2, batch_size: 32}
""")
    checked = CliRunner().invoke(cli, ["gradcheck", str(config)])
    assert checked.exit_code == 0, checked.output
    summary = CliRunner().invoke(cli, ["summary", str(config)])
    assert "inputs" in summary.stdout.splitlines()[0]
    assert "left_out, right, stem" in summary.stdout
    assert "(32,)" in summary.stdout
    trained = CliRunner().invoke(cli, ["train", str(config), "--quiet", "--out", str(tmp_path / "runs")])
    assert trained.exit_code == 0, trained.output

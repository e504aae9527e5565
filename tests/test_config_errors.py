"""Bad configs: each gives exactly one line naming the file and key path, exit code 2, and no run folder."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nnctl.cli import cli

GOOD = """\
name: tiny
seed: 0
data: {dataset: spiral, normalize: none}
model:
  layers:
    - {type: dense, units: 16}
    - {type: relu}
    - {type: dense, units: 3}
loss: {type: softmax_cross_entropy}
optimizer: {type: adam, lr: 1.0e-2}
train: {epochs: 1, batch_size: 32}
"""


def replace(old: str, new: str) -> str:
    assert old in GOOD, old
    return GOOD.replace(old, new)


CASES = [
    ("negative units", replace("units: 16", "units: -5"),
     "model.layers[0].units: expected a positive integer, got -5"),
    ("fractional units", replace("units: 16", "units: 2.5"),
     "model.layers[0].units: expected a positive integer, got 2.5"),
    ("optimizer typo", replace("type: adam", "type: adamm"),
     "optimizer.type: unknown optimizer 'adamm' (did you mean 'adam'?)"),
    ("section typo", replace("optimizer:", "optimiser:"),
     "optimiser: unknown section (did you mean 'optimizer'?); sections are name, seed, data, model, loss, "
     "regularization, optimizer, schedule, train, init, loggers"),
    ("layer type typo", replace("{type: relu}", "{type: rellu}"),
     "model.layers[1].type: unknown layer 'rellu' (did you mean 'relu'?)"),
    ("layer key typo", replace("units: 16", "unit: 16"),
     "model.layers[0].unit: unknown key (did you mean 'units'?)"),
    ("missing units", replace("{type: dense, units: 16}", "{type: dense}"),
     "model.layers[0].units: required key is missing"),
    ("negative lr", replace("lr: 1.0e-2", "lr: -0.1"), "optimizer.lr: expected a positive number, got -0.1"),
    ("word lr", replace("lr: 1.0e-2", "lr: fast"), "optimizer.lr: expected a positive number, got 'fast'"),
    ("zero epochs", replace("epochs: 1", "epochs: 0"), "train.epochs: expected a positive integer, got 0"),
    ("fractional batch", replace("batch_size: 32", "batch_size: 12.5"),
     "train.batch_size: expected a positive integer, got 12.5"),
    ("bool batch", replace("batch_size: 32", "batch_size: true"),
     "train.batch_size: expected a positive integer, got true"),
    ("no data", replace("data: {dataset: spiral, normalize: none}\n", ""), "data: required section is missing"),
    ("empty layers", replace("""  layers:
    - {type: dense, units: 16}
    - {type: relu}
    - {type: dense, units: 3}""", "  layers: []"), "model.layers: expected a non-empty list of layers, got []"),
    ("zero repeat", replace("    - {type: dense, units: 16}\n    - {type: relu}\n",
                            "    - repeat: 0\n      layers: [{type: dense, units: 16}, {type: relu}]\n"),
     "model.layers[0].repeat: expected a positive integer, got 0"),
    ("bad key inside repeat", replace("    - {type: dense, units: 16}\n    - {type: relu}\n",
                                      "    - repeat: 2\n      layers: [{type: dense, units: 16}, {type: relu, x: 1}]\n"),
     "model.layers[0].layers[1].x: unknown key; accepted keys are l1, l2, weights, trainable, input, inputs, name"),
    ("unknown input node", replace("{type: dense, units: 3}", "{type: dense, units: 3, input: stem}"),
     "model.layers[2].input: unknown node 'stem': inputs must name an earlier node or 'input'"),
    ("duplicate node name", replace("{type: relu}", "{type: relu, name: act}").replace(
        "{type: dense, units: 3}", "{type: dense, units: 3, name: act}"),
     "model.layers[2].name: duplicate node name 'act' (first at model.layers[1])"),
    ("schedule typo", replace("train:", "schedule: {type: cosinee}\ntrain:"),
     "schedule.type: unknown schedule 'cosinee' (did you mean 'cosine'?)"),
    ("early stopping patience", replace("batch_size: 32}", "batch_size: 32, early_stopping: {patience: 0}}"),
     "train.early_stopping.patience: expected a positive integer, got 0"),
    ("loss typo", replace("type: softmax_cross_entropy", "type: softmax_crossentropy"),
     "loss.type: unknown loss 'softmax_crossentropy' (did you mean 'softmax_cross_entropy'?)"),
    ("negative seed", replace("seed: 0", "seed: -1"), "seed: expected a non-negative integer, got -1"),
    ("slope out of range", replace("{type: relu}", "{type: leaky_relu, slope: 2}"),
     "model.layers[1].slope: expected a number in [0, 1], got 2"),
    ("negative l2", replace("train:", "regularization: {l2: -1.0e-4}\ntrain:"),
     "regularization.l2: expected a non-negative number, got -0.0001"),
    ("loss on unknown node", replace("type: softmax_cross_entropy}", "type: softmax_cross_entropy, input: head}"),
     "loss.input: unknown node 'head'"),
    ("duplicate key", replace("optimizer: {type: adam, lr: 1.0e-2}", "optimizer:\n  type: adam\n  lr: 0.1\n  lr: 0.2"),
     "optimizer.lr: duplicate key (line 13)"),
    ("top level list", "- a\n- b\n", "expected a mapping of sections at the top level, got ['a', 'b']"),
    ("train not a mapping", replace("train: {epochs: 1, batch_size: 32}", "train: 5"),
     "train: expected a mapping of keys to values, got 5"),
    ("unknown optimizer option", replace("lr: 1.0e-2}", "lr: 1.0e-2, momentum: 0.9}"),
     "optimizer.momentum: unknown key; accepted keys are lr, weight_decay, clip_norm, beta1, beta2, eps"),
    ("too few output units", replace("{type: dense, units: 3}", "{type: dense, units: 2}"),
     "model.layers[2]: gives scores of shape (2,) per sample, but the data has 3 classes: the last layer needs "
     "units: 3"),
    ("labels into a regression loss", replace("type: softmax_cross_entropy", "type: mse"),
     "loss.target: mse compares each sample's 3 scores with a target of the same shape, but the data has class "
     "labels; use target: onehot (one-hot vectors of the labels), or loss type softmax_cross_entropy"),
    ("run name escaping --out", replace("name: tiny", "name: ../elsewhere"),
     "name: expected a folder name of letters, digits, '.', '_' or '-', got '../elsewhere'"),
    ("input given as a list", replace("{type: dense, units: 3}", "{type: dense, units: 3, input: [relu1]}"),
     "model.layers[2].input: expected node names, got ['relu1']"),
    ("list as a mapping key", replace("seed: 0", "? [a, b]\n: 1"),
     "line 2: a mapping key must be a plain word or number, not a list or mapping"),
    ("monitor without validation", replace("data: {dataset: spiral, normalize: none}",
                                           "data: {dataset: spiral, normalize: none, val_size: 0}").replace(
        "batch_size: 32}", "batch_size: 32, monitor: val_acc}"),
     "train.monitor: this run has no 'val_acc' (no validation split: data.val_size is 0); use one of train_acc, "
     "train_loss"),
]


@pytest.mark.parametrize("label,text,message", CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_one_line_with_exit_2(tmp_path, label, text, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    out = tmp_path / "runs"
    result = CliRunner().invoke(cli, ["train", str(config), "--out", str(out), "--quiet"])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"{config}: {message}\n"
    assert not out.exists()


def test_good_config_is_accepted(tmp_path):
    config = tmp_path / "good.yaml"
    config.write_text(GOOD)
    result = CliRunner().invoke(cli, ["train", str(config), "--print-config"])
    assert result.exit_code == 0, result.output
    assert "units: 16" in result.stdout


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("name: x\nmodel: [unclosed\n")
    result = CliRunner().invoke(cli, ["train", str(config)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{config}: line 3, column 1: invalid YAML: ")
    assert result.stderr.count("\n") == 1


def test_missing_config_file(tmp_path):
    result = CliRunner().invoke(cli, ["train", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'nope.yaml'}: no such config file\n"


@pytest.mark.parametrize("override,message", [
    ("optimizer.lr", "--set 'optimizer.lr': expected KEY.PATH=VALUE, e.g. optimizer.lr=3e-4"),
    ("optimizer.lr=-1", "--set 'optimizer.lr=-1': optimizer.lr: expected a positive number, got -1"),
    ("model.layers[7].units=3", "--set 'model.layers[7].units=3': model.layers has no item [7]"),
])
def test_bad_overrides(tmp_path, override, message):
    config = tmp_path / "good.yaml"
    config.write_text(GOOD)
    result = CliRunner().invoke(cli, ["train", str(config), "--set", override, "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert result.stderr == message.format(config=config) + "\n"
    assert not (tmp_path / "runs").exists()


def test_overrides_parse_yaml_values(tmp_path):
    from nnctl.config.load import load_config

    config = tmp_path / "good.yaml"
    config.write_text(GOOD)
    resolved = load_config(config, ["optimizer.lr=3e-4", "model.layers.0.units=32", "train.epochs=7",
                                    "optimizer.type=sgd"])
    assert resolved.optimizer == {"type": "sgd", "lr": 3e-4, "weight_decay": 0.0, "clip_norm": None}
    assert resolved.model["layers"][0]["units"] == 32
    assert resolved.train["epochs"] == 7


def test_exponent_floats_are_numbers_and_names_default_to_stem(tmp_path):
    from nnctl.config.load import load_config

    config = tmp_path / "expo.yaml"
    config.write_text(replace("name: tiny\n", "").replace("lr: 1.0e-2", "lr: 1e-3"))
    resolved = load_config(config)
    assert resolved.optimizer["lr"] == 0.001
    assert resolved.name == "expo"


def test_repeat_expands_and_names_nodes(tmp_path):
    from nnctl.config.load import load_config

    text = replace("    - {type: dense, units: 16}\n    - {type: relu}\n",
                   "    - repeat: 3\n      layers: [{type: dense, units: 16}, {type: relu}]\n")
    config = tmp_path / "rep.yaml"
    config.write_text(text)
    resolved = load_config(config)
    names = [n["name"] for n in resolved.model["layers"]]
    assert names == ["dense1", "relu1", "dense2", "relu2", "dense3", "relu3", "dense4"]
    assert resolved.node_paths["dense2"] == "model.layers[0].layers[0]"
    assert resolved.node_paths["dense4"] == "model.layers[1]"


@pytest.mark.parametrize("text, overrides, message", [
    (GOOD, ["optimizer.lrr=1e-3"], "--set 'optimizer.lrr=1e-3': optimizer.lrr: unknown key (did you mean 'lr'?)"),
    (GOOD, ["model.layers[0].units=-1"],
     "--set 'model.layers[0].units=-1': model.layers[0].units: expected a positive integer, got -1"),
    (replace("    - {type: dense, units: 16}\n    - {type: relu}\n",
             "    - repeat: 2\n      layers: [{type: dense, units: 16}, {type: relu}]\n"), ["model.layers[0].units=8"],
     "--set 'model.layers[0].units=8': model.layers[0] is a repeat block (2 times a list of layers); --set "
     "addresses the YAML as written, so its layers are model.layers[0].layers[0], model.layers[0].layers[1], ... "
     "(--print-config shows the expanded list)"),
    (replace("{type: dense, units: 3}", "{type: dense, units: 3}\n    - {type: softmax}"), [],
     "{config}: model.layers[3].type: unknown layer 'softmax'; softmax belongs to the loss: end the model with a "
     "dense layer of one unit per class and use loss: {{type: softmax_cross_entropy}}, which applies softmax "
     "itself"),
    (replace("{type: relu}", "{type: mse}"), [], "{config}: model.layers[1].type: unknown layer 'mse'; 'mse' is a "
                                                 "loss, not a layer: use loss: {{type: mse}}"),
    (replace("loss: {type: softmax_cross_entropy}", "loss: {type: softmax}"), [],
     "{config}: loss.type: unknown loss 'softmax' (did you mean 'softmax_cross_entropy'? It applies softmax and "
     "the cross-entropy in one step)"),
    (replace("{type: relu}", "{type: relu}\n    - {type: dropout, rate: 0.5}"), [],
     "{config}: model.layers[2].rate: unknown key; accepted keys are p, l1, l2, weights, trainable, input, "
     "inputs, name"),
    (replace("{type: relu}", "{type: swish}"), [],
     "{config}: model.layers[1].type: unknown layer 'swish'; known layers: dense, relu, leaky_relu, sigmoid, "
     "tanh, prelu, elu, gelu, softplus, identity, batchnorm, layernorm, dropout, noise, flatten, reshape, conv2d, "
     "maxpool2d, avgpool2d, global_avgpool, concat, add"),
    (GOOD + "schedule: {type: reduce_on_plateau, metric: val_accuracy}\n", [],
     "{config}: schedule.metric: unknown metric 'val_accuracy' (did you mean 'val_acc'?); this run measures "
     "train_acc, train_loss, val_acc, val_loss"),
], ids=["set-typo", "set-value", "set-repeat-block", "softmax-layer", "loss-as-layer", "softmax-loss",
        "no-close-key", "no-close-layer", "metric-name"])
def test_messages_point_at_the_fix(tmp_path, text, overrides, message):
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    args = ["train", str(config), "--out", str(tmp_path / "runs"), "--quiet"]
    for item in overrides:
        args += ["--set", item]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.stderr == message.format(config=config) + "\n"
    assert not (tmp_path / "runs").exists()


CHAIN = """\
data: {dataset: spiral}
model: [{type: dense, units: 8, name: fc}, {type: relu}, {type: dense, units: 3, name: out}]
"""


def test_a_colon_without_a_space_is_named_and_the_advice_works(tmp_path):
    """YAML reads {fc:out} as one key 'fc:out' without a value; the message says so and how to write it,
    and writing it that way is accepted."""
    (tmp_path / "c.yaml").write_text(CHAIN)
    slip = CliRunner().invoke(cli, ["train", str(tmp_path / "c.yaml"), "--print-config",
                                    "--set", "init={from: elsewhere, layers: {fc:out}}"])
    assert slip.exit_code == 2
    advice = "put a space after the colon, as in {fc: out}"
    assert slip.stderr == ("--set 'init={from: elsewhere, layers: {fc:out}}': init.layers: expected a list of node "
                           "names, or a mapping {new_name: old_name} or null, got {fc:out: null} (YAML read "
                           f"'fc:out' as one key without a value: {advice})\n")
    fixed = CliRunner().invoke(cli, ["train", str(tmp_path / "c.yaml"), "--print-config",
                                     "--set", "init={from: elsewhere, layers: {fc: out}}"])
    assert fixed.exit_code == 0, fixed.stderr
    assert "layers: {fc: out}" in fixed.stdout


def test_the_onehot_advice_for_labels_into_a_regression_loss_works(tmp_path):
    """Doing what the message says (target: onehot) trains."""
    (tmp_path / "c.yaml").write_text(CHAIN)
    done = CliRunner().invoke(cli, ["train", str(tmp_path / "c.yaml"), "-q", "--out", str(tmp_path / "runs"),
                                    "--set", "loss={type: mse, target: onehot}", "--set", "train.epochs=1"])
    assert done.exit_code == 0, done.stderr
    assert done.stdout.startswith("completed after 1 epoch")

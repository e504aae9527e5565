"""Sweep files: what is accepted, and the exact one-line message (file, key path, expected, got) for each
kind of mistake, found before any trial runs: keys, the base config, `set`, the distributions, key paths
that do not exist, overlapping paths, corners of the space that make an invalid run, grid on a
continuous space, and a metric the runs do not produce."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.errors import ConfigError, InputError
from nnctl.sweep.check import check_sweep
from nnctl.sweep.spec import read_sweep
from sweep_support import BASE, write_sweep

LR = "space:\n  optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}\n"

BAD = [
    ("unknown key", LR + "samplr: tpe\n", "samplr: unknown key (did you mean 'sampler'?)"),
    ("no space", "set: {train.epochs: 1}\n", "space: required key is missing"),
    ("empty space", "space: {}\n", "space: expected at least one key path to vary, got an empty mapping"),
    ("not a distribution", "space:\n  optimizer.lr: 0.01\n",
     "space.optimizer.lr: expected a distribution such as {loguniform: [1.0e-5, 1.0e-1]}, {uniform: [0, 1]}, "
     "{int: [32, 512]} or {choice: [a, b]}, got 0.01"),
    ("distribution typo", "space:\n  optimizer.lr: {logunifrm: [1.0e-4, 1.0e-1]}\n",
     "space.optimizer.lr.logunifrm: unknown key (did you mean 'loguniform'?)"),
    ("two distributions", "space:\n  optimizer.lr: {uniform: [0.1, 0.2], loguniform: [1.0e-4, 1.0e-1]}\n",
     "space.optimizer.lr: expected one of uniform, loguniform, int, choice (e.g. {loguniform: [1.0e-5, 1.0e-1]}, "
     "{uniform: [0, 1]}, {int: [32, 512]} or {choice: [a, b]}), got uniform and loguniform"),
    ("log range from zero", "space:\n  optimizer.lr: {loguniform: [0, 1.0e-1]}\n",
     "space.optimizer.lr.loguniform: expected [low, high], two numbers with 0 < low < high, got [0, 0.1]"),
    ("low above high", "space:\n  model.layers[0].layers[2].p: {uniform: [0.5, 0.1]}\n",
     "space.model.layers[0].layers[2].p.uniform: expected [low, high], two numbers with low < high, got [0.5, 0.1]"),
    ("int range of floats", "space:\n  train.batch_size: {int: [32.5, 512]}\n",
     "space.train.batch_size.int: expected [low, high], two integers with low < high, got [32.5, 512]"),
    ("int log from zero", "space:\n  train.batch_size: {int: [0, 512], log: true}\n",
     "space.train.batch_size.int: expected [low, high], two integers with 1 <= low < high (log: true), got [0, 512]"),
    ("step with log", "space:\n  train.batch_size: {int: [32, 512], log: true, step: 32}\n",
     "space.train.batch_size.step: cannot be combined with log: true"),
    ("step that does not divide", "space:\n  model.layers[0].layers[2].p: {uniform: [0.0, 0.6], step: 0.25}\n",
     "space.model.layers[0].layers[2].p.step: expected a positive number that divides high - low (0.6), got 0.25"),
    ("log on uniform", "space:\n  model.layers[0].layers[2].p: {uniform: [0.0, 0.6], log: true}\n",
     "space.model.layers[0].layers[2].p.log: not an option of uniform (it takes step)"),
    ("one choice", "space:\n  model.layers[0].layers[0].units: {choice: [128]}\n",
     "space.model.layers[0].layers[0].units.choice: expected a list of at least 2 different values, got [128]"),
    ("choice of a mapping", "space:\n  model.layers[0].layers[0].units: {choice: [128, {a: 1}]}\n",
     "space.model.layers[0].layers[0].units.choice[1]: expected a number, a string, true, false or null, "
     "got {a: 1}"),
    ("choice listed twice", "space:\n  model.layers[0].layers[0].units: {choice: [128, 64, 128]}\n",
     "space.model.layers[0].layers[0].units.choice[2]: 128 is already listed as item [0]"),
    ("key path typo", "space:\n  optimizer.lrr: {loguniform: [1.0e-4, 1.0e-1]}\n",
     "space.optimizer.lrr: the base config has no optimizer.lrr (did you mean 'lr'?)"),
    ("option of another optimizer", "space:\n  optimizer.momentum: {uniform: [0.5, 0.99]}\n",
     "space.optimizer.momentum: the base config has no optimizer.momentum"),
    ("no such layer", "space:\n  model.layers[5].units: {int: [4, 16]}\n",
     "space.model.layers[5].units: the base config has no model.layers[5]"),
    ("a layer key on a repeat block", "space:\n  model.layers[0].units: {int: [4, 16]}\n",
     "space.model.layers[0].units: the base config has no model.layers[0].units: model.layers[0] is a repeat block "
     "(1 times a list of layers), whose layers are model.layers[0].layers[0], model.layers[0].layers[1], ..."),
    ("inside a null section", "space:\n  train.early_stopping.patience: {int: [2, 5]}\n",
     "space.train.early_stopping.patience: the base config has no train.early_stopping.patience: "
     "train.early_stopping is null there (give it a value in set to vary what lies inside)"),
    ("same path twice", "space:\n  model.layers[0].layers[0].units: {int: [4, 16]}\n"
                        "  model.layers.0.layers.0.units: {int: [4, 8]}\n",
     "space.model.layers.0.layers.0.units: the same key path as space.model.layers[0].layers[0].units"),
    ("nested paths", "space:\n  optimizer.type: {choice: [adam, sgd]}\n  optimizer: {choice: [1, 2]}\n",
     "space.optimizer: overlaps space.optimizer.type (one lies inside the other)"),
    ("also in set", "set: {optimizer.lr: 0.01}\n" + LR,
     "space.optimizer.lr: also given in set (set.optimizer.lr); give it in one place"),
    ("bad set value", "set: {train.epochs: 0}\n" + LR, "set.train.epochs: expected a positive integer, got 0"),
    ("set on a missing item", "set:\n  model.layers[7].units: 3\n" + LR,
     "set.model.layers[7].units: cannot be set: model.layers has no item [7]"),
    ("corner out of range", "space:\n  model.layers[0].layers[2].p: {uniform: [0.0, 1.5]}\n",
     "space.model.layers[0].layers[2].p: at the high end 1.5 the config is invalid: model.layers[0].layers[2].p: "
     "expected a number in [0, 1), got 1.5"),
    ("invalid choice", "space:\n  optimizer.type: {choice: [adam, sgdd]}\n",
     "space.optimizer.type: at the choice 'sgdd' the config is invalid: optimizer.type: unknown optimizer 'sgdd' "
     "(did you mean 'sgd'?)"),
    ("invalid combination of ends", "space:\n  data.samples: {int: [6, 150]}\n  data.val_size: {int: [1, 20]}\n",
     "space: at the corner data.samples=6, data.val_size=20 the config is invalid: data.val_size: asks for 20 "
     "validation samples, leaving no training samples (of 5)"),
    ("grid on a continuous range", "sampler: grid\n" + LR,
     "space.optimizer.lr: sampler grid needs a finite space, and loguniform is continuous (use {choice: [...]}, "
     "or uniform or int with a step)"),
    ("grid too large", "sampler: grid\nspace:\n  train.batch_size: {int: [1, 200]}\n"
                       "  model.layers[0].layers[0].units: {int: [1, 100]}\n",
     "space: the grid has 200 x 100 = 20000 points, more than 10000; use sampler random or tpe, or fewer values"),
    ("sampler typo", LR + "sampler: tpee\n",
     "sampler: unknown sampler 'tpee' (did you mean 'tpe'?); samplers are random, grid, tpe"),
    ("pruner option typo", LR + "pruner: {type: median, warmup: 2}\n",
     "pruner.warmup: unknown key (did you mean 'warmup_epochs'?)"),
    ("no trials", LR + "trials: 0\n", "trials: expected an integer from 1 to 100000 or null, got 0"),
    ("metric typo", LR + "metric: val_accc\n",
     "metric: expected one of auto, val_acc, val_loss, train_acc, train_loss, val_macro_f1, val_weighted_f1, "
     "val_balanced_acc, val_topK (did you mean 'val_acc'?), "
     "got 'val_accc'"),
    ("metric the runs lack", "set: {data.val_size: 0, train.monitor: train_loss}\nmetric: val_acc\n" + LR,
     "metric: the runs of this sweep have no 'val_acc'; they produce train_acc, train_loss"),
    ("key path with a gap", "space:\n  'optimizer..lr': {loguniform: [1.0e-4, 1.0e-1]}\n",
     "space.optimizer..lr: expected a key path such as optimizer.lr or model.layers[0].units, got 'optimizer..lr'"),
]


def check(path):
    return check_sweep(read_sweep(path))


@pytest.mark.parametrize("body, message", [(b, m) for _, b, m in BAD], ids=[n for n, _, _ in BAD])
def test_bad_sweep_files_are_refused_in_one_line(tmp_path, body, message):
    path = write_sweep(tmp_path, body)
    with pytest.raises(InputError) as caught:
        check(path)
    assert str(caught.value) == f"{path}: {message}"
    assert caught.value.exit_code == 2


def test_the_base_key_is_required_and_read_from_the_sweep_files_folder(tmp_path):
    path = tmp_path / "sw.yaml"
    path.write_text(LR)
    with pytest.raises(ConfigError, match="^" + str(path) + ": base: required key is missing$"):
        read_sweep(path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.yaml").write_text(BASE)
    (tmp_path / "sub" / "sw.yaml").write_text("base: nope.yaml\n" + LR)
    with pytest.raises(ConfigError) as caught:
        read_sweep(tmp_path / "sub" / "sw.yaml")
    assert str(caught.value) == (f"{tmp_path / 'sub' / 'sw.yaml'}: base: no such config file "
                                 f"{tmp_path / 'sub' / 'nope.yaml'} (a relative base is taken from the sweep "
                                 f"file's folder)")
    (tmp_path / "sub" / "sw.yaml").write_text("base: 3\n" + LR)
    with pytest.raises(ConfigError, match=r"base: expected a config file \(a path relative to this file\) or an "
                                          r"inline config mapping, got 3$"):
        read_sweep(tmp_path / "sub" / "sw.yaml")


def test_a_mistake_inside_the_base_config_names_the_base_file(tmp_path):
    path = write_sweep(tmp_path, LR, base=BASE.replace("units: 8", "units: -8"))
    with pytest.raises(ConfigError) as caught:
        read_sweep(path)
    assert str(caught.value) == (f"{tmp_path / 'base.yaml'}: model.layers[0].layers[0].units: expected a positive "
                                 f"integer, got -8")


def test_an_inline_base_is_blamed_under_base(tmp_path):
    path = tmp_path / "sw.yaml"
    path.write_text("base: {data: {dataset: spiral}, model: [{type: dense, units: -1}]}\n" + LR)
    with pytest.raises(ConfigError) as caught:
        read_sweep(path)
    assert str(caught.value) == f"{path}: base.model.layers[0].units: expected a positive integer, got -1"


def test_a_corner_whose_init_weights_do_not_fit_is_refused_before_any_trial(tmp_path, monkeypatch):
    from nnctl.config.load import load_config
    from nnctl.training.runner import train

    (tmp_path / "pre.yaml").write_text(BASE.replace("name: tiny", "name: pre"))
    run = train(load_config(tmp_path / "pre.yaml"), tmp_path / "runs", progress=False).run_dir
    base = BASE + "init: {from: runs/pre, layers: [dense1]}\n"
    path = write_sweep(tmp_path, "space:\n  model.layers[0].layers[0].units: {choice: [8, 16]}\n", base=base)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as caught:
        check_sweep(read_sweep(path))
    assert str(caught.value) == (f"{path}: space.model.layers[0].layers[0].units: at the choice 16 the config is "
                                 f"invalid: init.layers: dense1.W: shape (2, 16) in this model but (2, 8) in "
                                 f"{run.relative_to(tmp_path) / 'checkpoints' / 'best.npz'}")


def test_yaml_errors_and_the_top_level_shape(tmp_path):
    path = tmp_path / "sw.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match=r"sw.yaml: expected a mapping of sweep keys \(base, space, sampler, "
                                          r"\.\.\.\), got \[1, 2\]$"):
        read_sweep(path)
    path.write_text("base: base.yaml\nspace: [\n")
    with pytest.raises(ConfigError, match=r"sw.yaml: line 3, column 1: invalid YAML: "):
        read_sweep(path)
    with pytest.raises(InputError, match=r"nope.yaml: no such sweep file$"):
        read_sweep(tmp_path / "nope.yaml")


def test_the_command_prints_the_line_and_exits_2_without_writing_anything(tmp_path, monkeypatch):
    path = write_sweep(tmp_path, "space:\n  optimizer.lrr: {loguniform: [1.0e-4, 1.0e-1]}\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["sweep", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output == f"{path}: space.optimizer.lrr: the base config has no optimizer.lrr (did you mean 'lr'?)\n"
    assert not (tmp_path / "out").exists()


def test_a_good_sweep_file_is_read_with_its_defaults(tmp_path):
    path = write_sweep(tmp_path, "set:\n  train.epochs: 1\nspace:\n"
                                 "  optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}\n"
                                 "  model.layers.0.layers.2.p: {uniform: [0.0, 0.5], step: 0.1}\n"
                                 "  train.batch_size: {int: [8, 64], log: true}\n"
                                 "  model.layers[0].layers[0].units: {choice: [4, 8, 16]}\n"
                                 "  regularization.l2: {loguniform: [1.0e-6, 1.0e-2]}\n"
                                 "  model.layers[0].layers[0].l1: {uniform: [0.0, 0.01]}\n")
    spec = read_sweep(path)
    assert (spec.name, spec.sampler, spec.pruner, spec.trials, spec.seed, spec.metric) == \
        ("sw", {"type": "tpe", "startup_trials": 10}, {"type": "none"}, 20, 0, "auto")
    assert [p.path for p in spec.params] == ["optimizer.lr", "model.layers[0].layers[2].p", "train.batch_size",
                                             "model.layers[0].layers[0].units", "regularization.l2",
                                             "model.layers[0].layers[0].l1"]
    assert [p.describe() for p in spec.params] == ["loguniform [0.0001, 0.1]", "uniform [0, 0.5] step 0.1",
                                                   "int [8, 64] log", "choice 4, 8, 16", "loguniform [1e-06, 0.01]",
                                                   "uniform [0, 0.01]"]
    assert check_sweep(spec) == "val_acc"        # metric auto: the base run's monitored metric
    config = spec.config_for({"optimizer.lr": 0.05, "model.layers[0].layers[0].units": 16, "train.batch_size": 9},
                             name="sw-trial-0003")
    assert config.optimizer["lr"] == 0.05 and config.train["batch_size"] == 9
    assert config.model["layers"][0]["units"] == 16 and config.train["epochs"] == 1
    assert config.name == "sw-trial-0003" and config.source == str(tmp_path / "base.yaml")


def test_a_space_path_may_vary_what_set_switches_on(tmp_path):
    path = write_sweep(tmp_path, "set:\n  train.early_stopping: {patience: 3}\n"
                                 "space:\n  train.early_stopping.patience: {int: [2, 5]}\n")
    spec = read_sweep(path)
    assert spec.config_for({"train.early_stopping.patience": 4}).train["early_stopping"]["patience"] == 4


def test_command_line_changes_replace_keys_of_the_file(tmp_path):
    path = write_sweep(tmp_path, LR + "sampler: {type: tpe, startup_trials: 3}\n")
    spec = read_sweep(path, {"sampler": "random", "seed": 7, "pruner": "median"})
    assert (spec.sampler, spec.seed) == ({"type": "random"}, 7)
    assert spec.pruner == {"type": "median", "startup_trials": 5, "warmup_epochs": 1}
    with pytest.raises(ConfigError, match="sampler grid needs a finite space"):
        read_sweep(path, {"sampler": "grid"})


def test_the_example_sweeps_are_valid():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sweeps = sorted((root / "configs" / "sweeps").glob("*.yaml"))
    assert [p.stem for p in sweeps] == ["fashion_mlp_lr", "fashion_mlp_pruning", "spiral_grid", "spiral_random"]
    for path in sweeps:
        spec = read_sweep(path)
        assert spec.name == path.stem
        if spec.config.data["dataset"] == "spiral":       # the Fashion-MNIST ones load 60,000 images
            assert check_sweep(spec) == "val_acc"


def test_the_reference_in_docs_sweeps_md_is_generated_from_the_code():
    from pathlib import Path

    from nnctl.sweep.docs import END, START, sweep_reference

    text = (Path(__file__).resolve().parent.parent / "docs" / "sweeps.md").read_text()
    assert text[text.index(START) + len(START):text.index(END)] == sweep_reference(), \
        "run: python -m nnctl.sweep.docs docs/sweeps.md"

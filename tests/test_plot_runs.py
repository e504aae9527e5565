"""`nnctl plot RUN...`: pictures go into the run folder, legends name what differs between runs (or
`--label` keys), `--title`, `--per-step`, integer epoch ticks, the best-epoch marker in curves.png, the
confusion matrix picture, and one line with exit 1 for a metric a run does not have."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.options.compare import differing_among, path_steps, show_value, value_at
from nnctl.config.load import load_config
from nnctl.training.runner import train
from nnctl.commands import plot_runs
from nnctl.viz import confusion, curves, overlay

SPIRAL = """\
name: {name}
seed: 3
data: {{dataset: spiral, samples: 150, normalize: none}}
model: [{{type: dense, units: 16}}, {{type: relu}}, {{type: dense, units: 3}}]
optimizer: {{type: {optimizer}, lr: {lr}}}
train: {{epochs: 3, batch_size: 30}}
"""


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def make_run(tmp_path, name="spiral", optimizer="sgd", lr=0.1):
    path = tmp_path / f"{name}-{optimizer}-{lr}.yaml"
    path.write_text(SPIRAL.format(name=name, optimizer=optimizer, lr=lr))
    return train(load_config(path), tmp_path / "runs", progress=False).run_dir


@pytest.fixture
def figures(monkeypatch):
    """Every figure a picture function saves, kept for inspection (and still written)."""
    kept = []
    for module in (overlay, curves, confusion):
        original = module.save_figure

        def keep(figure, path, original=original):
            kept.append(figure)
            original(figure, path)

        monkeypatch.setattr(module, "save_figure", keep)
    return kept


def legend(figure) -> list[str]:
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


def test_one_run_goes_into_its_folder_with_integer_epoch_ticks(tmp_path, figures):
    run = make_run(tmp_path)
    result = invoke("plot", run, "--title", "Spiral, SGD")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {run / 'plot_val_acc.png'}\n"
    ax = figures[-1].axes[0]
    assert ax.get_title() == "Spiral, SGD" and ax.get_ylabel() == "validation accuracy"
    figures[-1].canvas.draw()
    ticks = [t for t in ax.get_xticks() if 1 <= t <= 3]
    assert ticks == [1, 2, 3]


def test_legends_name_the_config_keys_that_differ(tmp_path, figures):
    sgd, momentum = make_run(tmp_path, "a", "sgd", 0.1), make_run(tmp_path, "b", "momentum", 0.05)
    result = invoke("plot", sgd, momentum, "--metric", "train_loss")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {tmp_path / 'runs' / 'plot_train_loss.png'}\n"     # their common folder
    assert legend(figures[-1]) == ["a, optimizer.type=sgd, lr=0.1",       # an sgd run has no momentum key
                                   "b, optimizer.type=momentum, lr=0.05, momentum=0.9"]
    result = invoke("plot", sgd, momentum, "--label", "optimizer.type", "--out", tmp_path / "x.png")
    assert result.exit_code == 0, result.output
    assert legend(figures[-1]) == ["optimizer.type=sgd", "optimizer.type=momentum"]


def test_runs_of_the_same_config_are_named_by_folder(tmp_path):
    first, second = make_run(tmp_path), make_run(tmp_path)
    assert plot_runs.run_labels([first, second]) == [f"spiral/{first.name}", f"spiral/{second.name}"]
    assert plot_runs.run_labels([first]) == ["spiral"]
    other = make_run(tmp_path, "other")
    assert plot_runs.run_labels([first, other]) == ["spiral", "other"]


def test_a_label_key_a_run_lacks_is_one_line(tmp_path):
    run = make_run(tmp_path)
    result = invoke("plot", run, "--label", "optimizer.momentum")
    assert result.exit_code == 2
    assert result.stderr == (f"--label optimizer.momentum: {run}/config.yaml has no such key (keys look like "
                             f"optimizer.lr or model.layers[0].units)\n")


def test_a_metric_the_run_lacks_is_one_line_and_no_picture(tmp_path):
    run = make_run(tmp_path)
    result = invoke("plot", run, "--metric", "val_loss.aux")
    assert result.exit_code == 2                        # a --metric the run does not have is bad input
    assert result.stderr == (f"{run}: this run has no 'val_loss.aux' (did you mean 'val_loss'?); it has lr, "
                             f"train_loss, train_acc, val_loss, val_acc, seconds\n")
    assert not list(run.glob("plot_*.png"))


def test_per_step_curves(tmp_path, figures):
    sgd, momentum = make_run(tmp_path, "a", "sgd", 0.1), make_run(tmp_path, "b", "momentum", 0.1)
    result = invoke("plot", sgd, momentum, "--per-step")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {tmp_path / 'runs' / 'steps_train_loss.png'}\n"
    ax = figures[-1].axes[0]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "train loss (smoothed 0.9)"
    steps = np.loadtxt(sgd / "steps.csv", delimiter=",", skiprows=1)
    raw = ax.get_lines()[0]
    np.testing.assert_array_equal(raw.get_xdata(), steps[:, 0])
    np.testing.assert_array_equal(raw.get_ydata(), steps[:, 2])
    assert ax.get_lines()[1].get_ydata()[0] == steps[0, 2]               # the smoothing starts unbiased
    result = invoke("plot", sgd, "--per-step", "--metric", "lr", "--smooth", "0")
    assert result.exit_code == 0 and result.stdout == f"wrote {sgd / 'steps_lr.png'}\n"


def test_per_step_messages(tmp_path):
    run = make_run(tmp_path)
    result = invoke("plot", run, "--per-step", "--metric", "val_acc")
    assert result.exit_code == 2
    assert result.stderr == ("--per-step draws the training loss (--metric train_loss, the default) or the learning "
                             "rate (--metric lr), not 'val_acc'\n")
    (run / "steps.csv").unlink()
    result = invoke("plot", run, "--per-step")
    assert result.exit_code == 1
    assert result.stderr == (f"{run}: no steps.csv (the run was trained by an nnctl that wrote no per-step log); plot "
                             f"it per epoch without --per-step\n")


def test_curves_mark_the_best_epoch_and_confusion_shows_the_test_accuracy(tmp_path, figures):
    run = make_run(tmp_path)
    report = json.loads((run / "report.json").read_text())
    curves_figure, confusion_figure = figures[-2:]
    labels = [line.get_label() for line in curves_figure.axes[0].get_lines()]
    assert f"best epoch {report['best_epoch']} (val_acc)" in labels
    stars = [line for ax in curves_figure.axes for line in ax.get_lines() if line.get_marker() == "*"]
    assert len(stars) == 1 and stars[0].get_xdata()[0] == report["best_epoch"]
    assert stars[0].get_ydata()[0] == report["best_value"]
    test = report["test"]
    assert confusion_figure.axes[0].get_title() == (
        f"spiral: test split, best epoch ({report['best_epoch']})\naccuracy {100 * test['acc']:.2f}% "
        f"({test['correct']}/{test['samples']})")


def test_filters_and_features_go_into_the_run_folder(tmp_path):
    run = make_run(tmp_path)
    result = invoke("plot", run / "checkpoints" / "best.npz", "--filters")
    assert result.exit_code == 2                               # 2 inputs are not a square image
    assert result.stderr == ("layer dense1: its 2 inputs are not a flattened square image, so its weights cannot be "
                             "drawn as pictures\n")
    images = tmp_path / "images.npz"
    rng = np.random.default_rng(0)
    np.savez(images, x=rng.random((40, 1, 6, 6)).astype(np.float32), y=np.arange(40) % 2)
    config = tmp_path / "conv.yaml"
    config.write_text(f"data: {{dataset: npz, path: {images}, flatten: false}}\nmodel: [{{type: conv2d, filters: 2, "
                      f"kernel: 3}}, {{type: flatten}}, {{type: dense, units: 2}}]\ntrain: {{epochs: 1}}\n")
    conv = train(load_config(config), tmp_path / "runs", progress=False).run_dir
    result = invoke("plot", conv, "--filters")
    assert result.exit_code == 0 and result.stdout == f"wrote {conv / 'filters.png'} (2 filters)\n"
    result = invoke("plot", conv / "checkpoints" / "last.npz", "--features", "0,1")
    assert result.exit_code == 0
    assert result.stdout == f"wrote {conv / 'features_0_1.png'} (4 rows: each image and its image-shaped layers)\n"


def test_key_paths_and_values():
    config = {"model": {"layers": [{"units": 3}, {"units": [1, 2]}]}, "optimizer": {"lr": 0.1, "type": "sgd"}}
    assert path_steps("model.layers[1].units[0]") == ["model", "layers", 1, "units", 0]
    assert value_at(config, "model.layers[1].units[1]") == 2 and value_at(config, "optimizer.lr") == 0.1
    for missing in ("model.layers[5]", "optimizer.x", "", "a..b", "model.layers[x]", "optimizer.lr.x"):
        with pytest.raises(KeyError):
            value_at(config, missing)
    other = {"model": {"layers": [{"units": 3}, {"units": [1, 3]}]}, "optimizer": {"lr": 0.1, "type": "adam"}}
    third = {"model": {"layers": [{"units": 4}]}, "optimizer": {"lr": 0.1, "type": "sgd"}}
    assert differing_among([config, other, third]) == ["model.layers[1].units[1]", "optimizer.type", "model.layers"]
    assert [show_value(v) for v in (None, True, 1e-3, [1, 2], list(range(20)), {"a": 1}, "x")] == [
        "null", "true", "0.001", "[1, 2]", "[20 items]", "{a: 1}", "x"]


def test_a_run_that_diverged_in_its_first_epoch_has_no_completed_epoch(tmp_path):
    config = tmp_path / "boom.yaml"
    config.write_text(SPIRAL.format(name="boom", optimizer="sgd", lr=1.0e+30))
    assert invoke("train", config, "--out", tmp_path / "runs", "--quiet").exit_code == 1
    (run,) = (tmp_path / "runs" / "boom").iterdir()
    assert json.loads((run / "report.json").read_text())["status"] == "diverged"
    result = invoke("plot", run)
    assert (result.exit_code, result.stderr) == (2, f"{run}: the run has no completed epoch (it ended, diverged or "
                                                    f"was stopped during its first epoch, or is still in it; its "
                                                    f"report.md says how it ended)\n")
    # in a folder of many runs it is left out, with that line, and the others are drawn
    good = make_run(tmp_path)
    result = invoke("plot", tmp_path / "runs", "--metric", "train_loss")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"left out {run}: the run has no completed epoch (it ended, diverged or was stopped " \
                            f"during its first epoch, or is still in it; its report.md says how it ended)\n"
    assert result.stdout == f"wrote {good / 'plot_train_loss.png'}\n"          # the one run drawn: its folder


def test_plot_of_a_folder_of_run_folders_draws_every_run_below_it(tmp_path, figures):
    runs = [make_run(tmp_path, "a", "sgd", 0.1), make_run(tmp_path, "b", "momentum", 0.05),
            make_run(tmp_path, "b", "sgd", 0.05)]
    result = invoke("plot", tmp_path / "runs", "--metric", "val_loss")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {tmp_path / 'runs' / 'plot_val_loss.png'}\n"
    assert legend(figures[-1]) == ["a, optimizer.type=sgd, lr=0.1", "b, optimizer.type=momentum, lr=0.05, "
                                   "momentum=0.9", "b, optimizer.type=sgd, lr=0.05"]
    assert len(runs) == 3
    # runs/NAME (run folders right inside) still stands for its newest run
    result = invoke("plot", tmp_path / "runs" / "b", "--out", tmp_path / "one.png")
    assert result.exit_code == 0, result.output
    assert legend(figures[-1]) == ["b"]


def test_a_sweeps_swept_keys_are_always_in_its_labels(tmp_path):
    """Trials of one sweep (SWEEP/trial-NNNN) differ only in what the sweep varies: however long the labels
    get, no swept key is hidden under "+N more" (elsewhere the readable length wins)."""
    trials, others = [], []
    for i in range(3):
        text = (f"name: s-trial-{i:04d}\noptimizer: {{type: sgd, lr: 0.{i + 1}}}\n"
                + "".join(f"key{k}: {'long-value-' * 3}{i}\n" for k in range(4)))
        for folder, kept in (("sweep", trials), ("other", others)):
            run = tmp_path / folder / f"trial-{i:04d}" if folder == "sweep" else tmp_path / folder / f"run-{i}"
            run.mkdir(parents=True)
            (run / "config.yaml").write_text(text)
            kept.append(run)
    for label in plot_runs.run_labels(trials):
        assert all(f"key{k}=" in label for k in range(4)) and "lr=" in label and "more" not in label
    assert all(label.endswith(" more") for label in plot_runs.run_labels(others))

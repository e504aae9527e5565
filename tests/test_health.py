"""Network health: the measures, the records a run writes (and that they change no training number), the
findings with their thresholds, small synthetic runs of the course's four cases, and `nnctl health RUN`."""

from __future__ import annotations

import csv
import json
import math
import re
import statistics

import numpy as np
import pytest
from click.testing import CliRunner

from nnctl.cli import cli
from nnctl.config.load import load_config
from nnctl.config.sections import resolve
from nnctl.errors import ConfigError, InputError, WorkError
from nnctl.health import findings, measure
from nnctl.health.findings import find
from nnctl.health.log import read_health, read_histograms
from nnctl.training.runner import train

# ------------------------------------------------------------------------------------------ measures


def test_dead_units_are_features_or_channels_never_positive():
    y = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0], [0.0, 3.0, 0.0, 0.0]])
    assert measure.dead_fraction(y) == 0.5
    images = np.ones((2, 3, 2, 2))
    images[:, 1] = 0.0
    assert measure.dead_fraction(images) == pytest.approx(1 / 3)


def test_saturated_means_a_slope_below_two_percent_of_the_largest():
    assert measure.saturated_fraction("tanh", np.array([0.995, -0.999, 0.5, 0.0, 0.989])) == 0.4
    assert measure.saturated_fraction("sigmoid", np.array([0.001, 0.999, 0.5, 0.9, 0.006])) == 0.4


def test_output_stats_say_dead_only_for_relu_and_saturated_only_for_tanh_and_sigmoid():
    y = np.array([[0.0, 2.0], [0.0, 4.0]], dtype=np.float32)
    assert measure.output_stats("relu", y) == {"mean": 1.5, "std": pytest.approx(math.sqrt(2.75)), "dead": 0.5,
                                               "saturated": None}
    assert measure.output_stats("tanh", np.array([[1.0, 0.0]]))["dead"] is None
    assert measure.output_stats("dense", y)["saturated"] is None


def test_param_stats_and_norm():
    w = np.array([[3.0, -4.0]], dtype=np.float32)
    assert measure.param_stats(w) == {"mean": -0.5, "std": 3.5, "norm": 5.0}
    assert measure.norm(np.zeros((2, 2))) == 0.0


def test_probe_size_is_bounded_by_memory_and_probe_rows_spread_evenly():
    assert measure.probe_size([1000, 1000], 4, 60000) == 256
    assert measure.probe_size([2 ** 20], 4, 60000) == 16            # 4 MiB per sample: the minimum
    assert measure.probe_size([2 ** 16], 4, 60000) == 128           # 256 KiB per sample: 32 MiB / 256 KiB
    assert measure.probe_size([10], 4, 7) == 7
    np.testing.assert_array_equal(measure.probe_rows(10, 4), [0, 3, 6, 9])


def test_histograms_span_the_whole_range_of_bounded_activations():
    edges, counts = measure.histogram("tanh", np.array([0.0, 0.0, 0.5]), bins=4)
    np.testing.assert_array_equal(edges, [-1.0, -0.5, 0.0, 0.5, 1.0])
    np.testing.assert_array_equal(counts, [0, 0, 2, 1])
    edges, counts = measure.histogram("relu", np.array([0.0, 1.0, 3.0, np.nan]), bins=3)
    np.testing.assert_array_equal(edges, [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(counts, [1, 1, 1])


# ------------------------------------------------------------------------------------------ records

SPIRAL = """\
name: {name}
seed: 1
data: {{dataset: spiral, samples: 300, normalize: standard}}
model:
  layers:
    - {{type: dense, units: 16}}
    - {{type: batchnorm}}
    - {{type: relu}}
    - {{type: dropout, p: 0.2}}
    - {{type: dense, units: 3}}
optimizer: {{type: sgd, lr: 0.1}}
train: {{epochs: 2, batch_size: 32}}
"""


def run_config(tmp_path, text, *overrides, name="spiral"):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text.format(name=name))
    config = load_config(path, list(overrides))
    return train(config, tmp_path / "runs", progress=False)


def test_recording_changes_no_training_number(tmp_path):
    quiet = run_config(tmp_path, SPIRAL, "train.health_every=null", name="quiet")
    watched = run_config(tmp_path, SPIRAL, "train.health_every=1", name="watched")
    assert not (quiet.run_dir / "health.csv").exists() and "health" not in quiet.report
    with np.load(quiet.run_dir / "checkpoints" / "last.npz") as a, \
            np.load(watched.run_dir / "checkpoints" / "last.npz") as b:
        for key in a.files:
            if key != "meta":
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    metrics = [[{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(open(run / "metrics.csv"))]
               for run in (quiet.run_dir, watched.run_dir)]
    assert metrics[0] == metrics[1] and len(metrics[0]) == 2
    assert quiet.report["train"] == watched.report["train"] and quiet.report["test"] == watched.report["test"]


def test_records_four_times_per_epoch_with_every_node_and_parameter(tmp_path):
    result = run_config(tmp_path, SPIRAL)
    rows = read_health(result.run_dir)
    # 216 training samples, batch 32: 7 steps per epoch, a record every 2 steps from each epoch's first
    assert sorted({r["global_step"] for r in rows}) == [1, 3, 5, 7, 8, 10, 12, 14]
    assert sorted({r["epoch"] for r in rows}) == pytest.approx([0, 2 / 7, 4 / 7, 6 / 7, 1, 9 / 7, 11 / 7, 13 / 7])
    first = [(r["node"], r["tensor"], r["weight"]) for r in rows if r["global_step"] == 1]
    assert first == [("input", "output", None), ("dense1", "output", None), ("batchnorm1", "output", None),
                     ("relu1", "output", None), ("dropout1", "output", None), ("dense2", "output", None),
                     ("dense1", "W", 1), ("dense1", "b", 0), ("batchnorm1", "gamma", 0), ("batchnorm1", "beta", 0),
                     ("dense2", "W", 1), ("dense2", "b", 0)]
    for r in rows:
        if r["tensor"] == "W":        # plain SGD: the update is lr * gradient
            assert r["update_ratio"] == pytest.approx(0.1 * r["grad_norm"] / r["norm"], rel=1e-5)
    relu = [r for r in rows if r["node"] == "relu1"]
    assert all(0 <= r["dead"] <= 1 and r["saturated"] is None for r in relu)
    start, end = read_histograms(result.run_dir)
    assert set(start) == set(end) == {"relu1"}
    assert start["relu1"][2].sum() == end["relu1"][2].sum() == 16 * 216     # every probe value, once
    assert (result.run_dir / "health.png").stat().st_size > 10_000
    assert result.report["health"] == {"records": 8, "findings": []}      # ratios 0.003 and 0.03 (bound 0.1)
    assert "## Health\n\nNo problems found (thresholds: docs/health.md).\n\nFrom 8 health records" in \
        (result.run_dir / "report.md").read_text()


def test_health_every_counts_steps_from_each_epoch_start(tmp_path):
    rows = read_health(run_config(tmp_path, SPIRAL, "train.health_every=4").run_dir)
    assert sorted({r["global_step"] for r in rows}) == [1, 5, 8, 12]


def test_health_every_is_checked(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SPIRAL.format(name="bad"))
    with pytest.raises(InputError) as caught:
        load_config(path, ["train.health_every=0"])
    assert str(caught.value) == ("--set 'train.health_every=0': train.health_every: expected a positive number of "
                                 "steps or 'auto' or null, got 0")
    path.write_text(SPIRAL.format(name="bad").replace("train: {", "train: {health_every: -3, "))
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == (f"{path}: train.health_every: expected a positive number of steps or 'auto' or "
                                 f"null, got -3")


# ------------------------------------------------------------------------------------------ findings

def out(step, node, layer, std, dead=None, saturated=None, epoch=None):
    return {"global_step": step, "epoch": (step - 1) / 4 if epoch is None else epoch, "node": node, "layer": layer,
            "tensor": "output", "weight": None, "mean": 0.0, "std": std, "dead": dead, "saturated": saturated,
            "norm": None, "grad_norm": None, "update_ratio": None}


def weight(step, node, ratio, grad=1.0):
    return {"global_step": step, "epoch": (step - 1) / 4, "node": node, "layer": "dense", "tensor": "W",
            "weight": 1, "mean": 0.0, "std": 0.1, "dead": None, "saturated": None, "norm": 1.0, "grad_norm": grad,
            "update_ratio": ratio}


def texts(rows, sections=None):
    """The findings' texts for `rows`, with a config resolved from `sections` (model and optimizer parts; a
    spiral dataset for the rest) or none at all."""
    config = None if sections is None else resolve({"data": {"dataset": "spiral"}, "model": {"layers": [
        {"type": "dense", "units": 3}]}, **sections})
    return [f.text() for f in find(rows, config)]


SMALL_SCALE = {"model": {"layers": [{"name": f"dense{i}", "type": "dense", "units": 3, "init": "normal",
                                     "weight_scale": 0.001} for i in range(1, 4)]}}


def test_vanishing_activations_name_the_first_layer_and_the_weight_scale():
    rows = []
    for step in (1, 5, 9):
        rows += [out(step, "input", "input", 1.0), out(step, "dense1", "dense", 2e-2), out(step, "tanh1", "tanh", 2e-2),
                 out(step, "dense2", "dense", 6e-4), out(step, "dense3", "dense", 1e-5)]
    assert texts(rows, SMALL_SCALE) == [
        "dense2: activations vanish from here on: std 6e-4 at the start and 6e-4 at the end (input std 1; smallest "
        "1e-5 at dense3); weight_scale 0.001 is too small; use init: he (ReLU) or xavier (tanh, sigmoid)"]
    # just above the threshold (1e-3 of the input's std): nothing
    assert texts([{**r, "std": max(r["std"], 1.01e-3)} for r in rows], SMALL_SCALE) == []
    # small at the start only (batch norm's evaluation statistics settle later): nothing
    recovered = [r if r["global_step"] < 9 or r["node"] in ("input", "dense1") else {**r, "std": 0.5} for r in rows]
    assert texts(recovered, SMALL_SCALE) == []


def test_exploding_activations():
    rows = [out(s, n, "dense", std) for s in (1, 5) for n, std in (("input", 1.0), ("dense1", 30.0), ("dense2", 2e3))]
    assert texts(rows) == ["dense2: activations explode from here on: std 2e3 at the start and 2e3 at the end "
                           "(input std 1); the initial weights are too large: use init: he (ReLU) or xavier (tanh), "
                           "or batch norm"]


def test_saturation_from_the_start_blames_the_scale_and_later_the_learning_rate():
    large = {"model": {"layers": [{"name": "dense1", "type": "dense", "units": 3, "init": "normal",
                                   "weight_scale": 1.0}]}}
    rows = [out(s, "dense1", "dense", 20.0) for s in (1, 5, 9)]
    rows += [out(1, "tanh1", "tanh", 0.99, saturated=0.97), out(5, "tanh1", "tanh", 0.99, saturated=0.9),
             out(9, "tanh1", "tanh", 0.99, saturated=0.6)]
    assert texts(rows, large) == [
        "tanh1: 97% of outputs saturated at the start (slope below 2% of the largest), 60% at the end; "
        "weight_scale 1 is too large; use init: he (ReLU) or xavier (tanh, sigmoid)"]
    later = [out(s, "tanh1", "tanh", 0.9, saturated=share) for s, share in ((1, 0.1), (5, 0.2), (9, 0.6), (13, 0.7))]
    assert texts(later) == ["tanh1: 70% of outputs saturated since epoch 3 (slope below 2% of the largest); "
                            "lower the learning rate, or put batch norm before the activation"]
    two = later + [{**r, "node": "tanh2", "saturated": r["saturated"] + 0.2} for r in later]
    assert texts(two) == ["tanh1 and tanh2: up to 90% (tanh2) of outputs saturated since epoch 3 (slope below 2% "
                          "of the largest); lower the learning rate, or put batch norm before the activation"]
    assert texts([{**r, "saturated": min(r["saturated"], 0.5)} for r in later]) == []     # 50% is not more than 50%


def test_dead_relus_since_an_epoch():
    shares = (0.0, 0.1, 0.6, 0.7, 0.71)
    rows = [out(1 + 4 * i, "relu3", "relu", 0.5, dead=share, epoch=i / 4) for i, share in enumerate(shares)]
    assert texts(rows) == ["relu3: 71% of ReLU units dead since epoch 1; lower the learning rate or use leaky_relu"]
    rows = [out(1 + 4 * i, "relu3", "relu", 0.5, dead=share, epoch=i) for i, share in enumerate(shares)]
    assert texts(rows) == ["relu3: 71% of ReLU units dead since epoch 3; lower the learning rate or use leaky_relu"]
    assert texts([{**r, "dead": 0.9} for r in rows]) == [
        "relu3: 90% of ReLU units dead from the start; check the initialization (a large weight scale or "
        "negative biases), or use leaky_relu"]
    assert texts([{**r, "dead": min(r["dead"], 0.5)} for r in rows]) == []


def test_update_ratio_too_high_or_too_low():
    config = {"optimizer": {"type": "sgd", "lr": 5.0}}
    rows = [weight(s, "dense1", r) for s, r in ((1, 0.4), (5, 0.3), (9, 0.01))]
    rows += [weight(s, "dense2", 1e-3) for s in (1, 5, 9)]
    assert texts(rows, config) == ["dense1: update/weight ratio 0.3 (median over training; rule of thumb 0.001); the "
                                   "learning rate 5 is likely too high"]
    assert texts([weight(s, "dense1", 0.099) for s in (1, 5)]) == []
    low = [weight(s, f"dense{i}", 1e-9 * i) for s in (1, 5) for i in (1, 2)]
    assert texts(low) == ["dense1 and dense2: update/weight ratio down to 1e-9 (dense1; median over training): the "
                          "weights barely move; the learning rate is too low, or the gradients vanish before they "
                          "reach these layers"]


def test_non_finite_outputs():
    rows = [out(1, "dense1", "dense", 1.0), out(5, "dense1", "dense", float("nan"), epoch=1.25)]
    assert texts(rows) == ["dense1: outputs became NaN or infinite at epoch 2; the learning rate is likely too high "
                           "(or clip gradients: optimizer.clip_norm)"]


def test_findings_name_many_layers_briefly():
    assert findings.name_list(["a"]) == "a"
    assert findings.name_list(["a", "b", "c"]) == "a, b and c"
    assert findings.name_list([f"d{i}" for i in range(6)]) == "d0 ... d5 (6 layers)"
    assert [findings.short(x) for x in (0.031, 6.2e-4, 2e5, 1.0, 0.0)] == ["0.031", "6.2e-4", "2e5", "1", "0"]


# ------------------------------------------------------------------------- the course's four cases, small

TANH = """\
name: {name}
seed: 0
data: {{dataset: spiral, samples: 300, normalize: standard}}
model:
  layers:
    - repeat: 3
      layers:
        - {{type: dense, units: 64, init: normal, weight_scale: 0.15}}
        - {{type: tanh}}
    - {{type: dense, units: 3, init: normal, weight_scale: 0.15}}
optimizer: {{type: sgd, lr: 0.1}}
train: {{epochs: 4, batch_size: 30}}
"""


def kinds(result) -> list[str]:
    return [f.kind for f in find(read_health(result.run_dir), result_config(result))]


def result_config(result):
    return load_config(result.run_dir / "config.yaml")


# Which kinds of finding a run gives is kept exact: each case's figures sit far from the thresholds on every
# kernel tried (OpenBLAS Haswell 1 and 2 threads, Sandybridge, Prescott): default, largest median
# update/weight ratio 0.017 (bound 0.1) and no saturation; small scale, dense2's std 1e-5 of the input's (bound
# 1e-3) and ratios 4e-7 (bound 1e-6); large scale, 79% and 86% saturated at the first record (bound 50%);
# lr 10, more than 90% saturated at the end and dense4's ratio 0.84 to 1.02 (bound 0.1).
@pytest.mark.parametrize("overrides, expected", [
    ((), []),
    (("model.layers[0].layers[0].weight_scale=1.0e-3", "model.layers[1].weight_scale=1.0e-3"),
     ["vanishing", "update_low"]),
    (("model.layers[0].layers[0].weight_scale=2.0", "model.layers[1].weight_scale=2.0"), ["saturated"]),
    (("optimizer.lr=10.0",), ["saturated", "update_high"]),        # saturated since epoch 1: lower the lr
])
def test_course_cases_on_a_small_tanh_network(tmp_path, overrides, expected):
    result = run_config(tmp_path, TANH, *overrides, name="tanh")
    assert kinds(result) == expected
    assert result.report["health"]["findings"] == [f.text() for f in find(read_health(result.run_dir),
                                                                         result_config(result))]


# ------------------------------------------------------------------------------------ nnctl health

def test_health_command_prints_the_layer_table_and_the_findings(tmp_path):
    result = run_config(tmp_path, TANH, "optimizer.lr=10.0", name="tanh")
    shown = CliRunner().invoke(cli, ["health", str(tmp_path / "runs" / "tanh")])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == (f"health of {result.run_dir}: 16 records, steps 1 to 31 (epochs 0 to 3.75); outputs on the "
                        f"probe sample in evaluation mode")
    assert lines[2].split() == ["node", "layer", "output", "std", "(start", "->", "end)", "dead", "or", "saturated",
                                "weights", "grad", "norm", "(end)", "update/weight", "(median)"]
    assert lines[4].split()[:2] == ["dense1", "dense"] and lines[5].split()[:2] == ["tanh1", "tanh"]
    assert lines[-3] == "findings:"
    # The findings are the run's own (report.json), word for word. Their numbers come from float32 training at
    # lr 10, where rounding differences grow fastest: they differ between processors (OpenBLAS kernels, NumPy's
    # SIMD loops), so what they say is checked by structure and against health.csv, not as digits.
    assert lines[-2:] == [f"- {text}" for text in result.report["health"]["findings"]]
    rows = read_health(result.run_dir)
    saturation = re.fullmatch(r"- tanh1, tanh2 and tanh3: up to (\d+)% \((tanh[123])\) of outputs saturated since "
                              r"epoch 1 \(slope below 2% of the largest\); lower the learning rate, or put batch norm "
                              r"before the activation", lines[-2])
    assert saturation, lines[-2]
    last = {node: [r["saturated"] for r in rows if r["node"] == node][-1] for node in ("tanh1", "tanh2", "tanh3")}
    worst = max(last, key=last.get)
    assert saturation.groups() == (f"{100 * last[worst]:.0f}", worst)
    # measured 0.9967 to 1.0 across kernels (the rule's bound is 0.5); tanh2 and tanh3 are over 84% saturated
    # from the second record (epoch 0.25) on with every kernel, hence "since epoch 1" above
    assert last[worst] > 0.9
    # dense4 alone, or with others and then the largest (dense3's median ratio, 0.085 on Haswell, is near 0.1)
    update = re.fullmatch(r"- (dense4: update/weight ratio |(?:dense[1-3], )*dense[1-3] and dense4: update/weight "
                          r"ratio up to )(\S+) \((dense4; )?median over training; rule of thumb 0.001\); the learning "
                          r"rate 10 is likely too high", lines[-1])
    assert update and (update.group(1).startswith("dense4:") == (update.group(3) is None)), lines[-1]
    dense4 = statistics.median(r["update_ratio"] for r in rows
                               if (r["node"], r["tensor"]) == ("dense4", "W") and r["update_ratio"] is not None)
    assert update.group(2) == findings.short(dense4)
    # dense4's median ratio measured 0.88 (OpenBLAS Haswell kernel, 1 or 2 threads), 0.84 (Sandybridge), 1.02
    # (Prescott), 0.82 (reported on AVX-512): near 1000 times the rule of thumb. The band allows twice that
    # spread; a ratio that lost the learning rate's factor 10, or counted it twice, falls outside.
    assert 0.4 < dense4 < 2.0


def test_health_command_without_records(tmp_path):
    result = run_config(tmp_path, SPIRAL, "train.health_every=null")
    shown = CliRunner().invoke(cli, ["health", str(result.run_dir)])
    assert shown.exit_code == 2
    assert shown.stderr == (f"{result.run_dir}: no health.csv (the run was trained with train.health_every: null, "
                            f"or by an nnctl without health records)\n")


DIVERGING = """\
name: {name}
seed: 0
data: {{dataset: spiral, samples: 300, normalize: standard}}
model: [{{type: dense, units: 32}}, {{type: relu}}, {{type: dense, units: 3}}]
optimizer: {{type: sgd, lr: 1.0e+6}}
train: {{epochs: 4, batch_size: 30, health_every: 1, divergence_ratio: null}}
"""


def test_a_diverged_run_still_reports_its_health(tmp_path):
    # At lr 1e6 the weights grow by orders of magnitude per step until float32 overflows: the step where NaN
    # appears does not depend on rounding (step 5 on every kernel tried), so it is kept exact.
    with pytest.raises(WorkError, match="training diverged: loss became nan at epoch 1, step 5"):
        run_config(tmp_path, DIVERGING, name="diverging")
    run = next((tmp_path / "runs" / "diverging").iterdir())
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "diverged"
    assert report["health"]["records"] == 4
    assert [f.split(":")[0] for f in report["health"]["findings"]] == ["dense1 and dense2"]
    assert report["health"]["findings"][0].endswith("the learning rate 1e6 is likely too high")
    assert (run / "health.png").is_file()

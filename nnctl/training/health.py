"""`train.health_every`: a per-layer health record a few times per epoch, as a callback.

A record is taken at the first step of every epoch and every `health_every` steps after it (auto: four
times per epoch). In `on_before_update` (the step's gradients are there, the weights not yet changed) it
runs the probe sample (fixed training inputs, see nnctl.health.measure) through the network in evaluation
mode, measures every node's output, every gradient norm, and keeps a copy of the weights; in `on_step_end`
the update's size follows from that copy. The rows go to health.csv (nnctl.health.log); at the end of the
run health.png is drawn.

Recording changes no training number: the evaluation-mode forward draws nothing from the run's generator
and updates no batch-norm statistic, and nothing the optimizer reads is touched. Between records a step
costs one modulo; the weight copies are allocated once.
"""

from __future__ import annotations

import math

import numpy as np

from nnctl.health.log import HEALTH_FILE, HealthLog, read_health, read_histograms
from nnctl.health.measure import ACTIVATIONS, histogram, norm, output_stats, param_stats, probe_rows, probe_size
from nnctl.health.plots import plot_health
from nnctl.nn.model_config import INPUT
from nnctl.training.callbacks import Callback, StepInfo

RECORDS_PER_EPOCH = 4     # health_every: auto


def record_interval(every: int | str, steps_per_epoch: int) -> int:
    """Steps between records: `every`, or for "auto" a quarter of an epoch (at least 1)."""
    return max(1, math.ceil(steps_per_epoch / RECORDS_PER_EPOCH)) if every == "auto" else int(every)


def histogram_nodes(network) -> list[str]:
    """Nodes whose output histograms are kept: the activation layers, or every node when there are none."""
    chosen = [n.name for n in network.nodes if n.type in ACTIVATIONS]
    return chosen or [n.name for n in network.nodes]


class HealthRecorder(Callback):
    """Writes health.csv, health_histograms.csv and health.png into the trainer's run folder."""

    def __init__(self, every: int | str = "auto"):
        self.every = every
        self.pending: dict | None = None

    def on_fit_start(self, trainer) -> None:
        network = trainer.network
        self.interval = record_interval(self.every, trainer.steps_per_epoch)
        x = trainer.setup.splits.train[0]
        sizes = [int(np.prod(n.layer.out_shape)) for n in network.nodes]
        count = probe_size(sizes, network.dtype.itemsize, len(x))
        self.probe = np.ascontiguousarray(x[probe_rows(len(x), count)], dtype=network.dtype)
        self.nodes = [n.name for n in network.nodes]
        self.types = {n.name: n.type for n in network.nodes}
        self.histogram_nodes = set(histogram_nodes(network))
        self.weights = {f"{n.name}.{k}" for n in network.nodes for k in n.layer.penalized}
        self.before = {k: np.empty_like(v) for k, v in trainer.params.items()}
        self.input_stats = output_stats(INPUT, self.probe)
        self.log = HealthLog(trainer.run_dir, trainer.global_step)

    def on_before_update(self, trainer, step: StepInfo) -> None:
        if step.step % self.interval:
            return
        epoch = trainer.epoch + step.step / step.steps
        where = {"global_step": step.global_step, "epoch": epoch}
        outputs = trainer.network.forward(self.probe, training=False, keep=self.nodes)
        rows, histograms = [{**where, "node": INPUT, "layer": INPUT, "tensor": "output", **self.input_stats}], {}
        for name in self.nodes:
            kind = self.types[name]
            rows.append({**where, "node": name, "layer": kind, "tensor": "output", **output_stats(kind, outputs[name])})
            if name in self.histogram_nodes:
                histograms[name] = (kind, *histogram(kind, outputs[name]))
        del outputs
        for key, w in trainer.params.items():
            node, tensor = key.rsplit(".", 1)
            grad = step.grads.get(key)
            rows.append({**where, "node": node, "layer": self.types[node], "tensor": tensor,
                         "weight": int(key in self.weights), **param_stats(w),
                         "grad_norm": None if grad is None else norm(grad)})
            np.copyto(self.before[key], w)
        self.pending = {"global_step": step.global_step, "rows": rows, "histograms": histograms}

    def on_step_end(self, trainer, step: StepInfo) -> None:
        pending, self.pending = self.pending, None
        if pending is None or pending["global_step"] != step.global_step:
            return
        by_key = {f"{r['node']}.{r['tensor']}": r for r in pending["rows"] if r["tensor"] != "output"}
        for key, w in trainer.params.items():
            change = self.before[key]
            np.subtract(w, change, out=change)           # the update, in the buffer that held the old weights
            row = by_key[key]
            row["update_ratio"] = norm(change) / row["norm"] if row["norm"] > 0 else None
        self.log.append(pending["rows"])
        self.log.set_histograms(step.global_step, pending["histograms"])

    def on_fit_end(self, trainer, status: str) -> None:
        if not (trainer.run_dir / HEALTH_FILE).is_file():
            return
        rows = read_health(trainer.run_dir)
        if rows:
            start, end = read_histograms(trainer.run_dir)
            plot_health(rows, start, end, trainer.run_dir / "health.png", title=trainer.config.name)

"""What health recording costs: epochs of a config's training steps with and without `train.health_every`.

    python benchmarks/bench_health.py [configs/fashion_mlp.yaml configs/fashion_cnn.yaml] [--repeat 3]
        [--every auto] [--set KEY=VALUE ...]

For each config one trainer is built; then, `--repeat` rounds, it trains one epoch through the real loop
(nnctl.training.loop.run_steps) without callbacks and one with the HealthRecorder the runner would add,
the order alternating between rounds (a shared machine drifts; a round's two epochs run back to back).
Printed per round: both epochs' seconds and their ratio; at the end the median ratio and the overhead in
percent of the epoch's training steps (validation and checkpoints, which recording does not touch, are
left out, so the overhead of a whole epoch is smaller still), and the one-off cost of drawing health.png.
The budget is 3% (issue 12). A tiny run to see that it works end to end:

    python benchmarks/bench_health.py configs/fashion_mlp.yaml --repeat 1 --set data.limit=2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nnctl  # noqa: F401  (first: it tunes OpenBLAS before NumPy loads, as the nnctl command does)

ROOT = Path(__file__).resolve().parent.parent


def timed_epoch(trainer, callbacks) -> float:
    """Seconds for the remaining steps of one epoch; the trainer is left at the next epoch's start."""
    from nnctl.training.loop import run_steps
    from nnctl.training.trainer import EpochProgress

    start = time.perf_counter()
    run_steps(trainer, callbacks, None)
    seconds = time.perf_counter() - start
    trainer.progress = EpochProgress()
    trainer.epoch += 1
    return seconds


def bench(config_path: Path, repeat: int, every: str, overrides: list[str]) -> float:
    from nnctl.config.load import load_config
    from nnctl.training.callbacks import Callback, CallbackList
    from nnctl.training.health import HealthRecorder, record_interval
    from nnctl.training.runner import build_trainer

    config = load_config(config_path, overrides + ["train.epochs=1000"])   # the schedule never runs out
    trainer = build_trainer(config, progress=False)
    with tempfile.TemporaryDirectory() as folder:
        trainer.run_dir = Path(folder)
        recorder = HealthRecorder(int(every) if every.isdigit() else every)
        recorder.on_fit_start(trainer)
        print(f"{config_path}: {trainer.steps_per_epoch} steps per epoch, a health record every "
              f"{record_interval(recorder.every, trainer.steps_per_epoch)} steps, probe of {len(recorder.probe)} "
              f"samples", flush=True)
        saved, steps = trainer.setup.splits.train, trainer.steps_per_epoch     # warm-up: 5 steps of each kind
        x, y = saved
        trainer.setup.splits.train = (x[: 5 * config.train["batch_size"]], y[: 5 * config.train["batch_size"]])
        trainer.steps_per_epoch = 5
        timed_epoch(trainer, Callback())
        timed_epoch(trainer, CallbackList([recorder]))
        trainer.setup.splits.train, trainer.steps_per_epoch = saved, steps
        ratios = []
        for round_ in range(repeat):
            order = ("off", "on") if round_ % 2 == 0 else ("on", "off")
            seconds = {}
            for side in order:
                seconds[side] = timed_epoch(trainer, CallbackList([recorder]) if side == "on" else Callback())
            ratios.append(seconds["on"] / seconds["off"])
            print(f"  round {round_ + 1}: without health {seconds['off']:.2f} s, with health {seconds['on']:.2f} s, "
                  f"ratio {ratios[-1]:.4f}", flush=True)
        start = time.perf_counter()
        recorder.on_fit_end(trainer, "completed")
        drawing = time.perf_counter() - start
    median = statistics.median(ratios)
    print(f"  median ratio with/without {median:.4f}: overhead {100 * (median - 1):+.2f}% of the training steps "
          f"(budget 3%); drawing health.png once at the end: {drawing:.2f} s", flush=True)
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="*", type=Path,
                        default=[ROOT / "configs" / "fashion_mlp.yaml", ROOT / "configs" / "fashion_cnn.yaml"])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of (without, with) epochs")
    parser.add_argument("--every", default="auto", help="train.health_every to measure (auto or a step count)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="config override, as for nnctl train --set")
    args = parser.parse_args()
    results = {str(path): bench(path, args.repeat, args.every, args.overrides) for path in args.configs}
    print("\nsummary (median ratio of epoch seconds with / without health recording):")
    for path, ratio in results.items():
        print(f"  {path}: {ratio:.4f} ({100 * (ratio - 1):+.2f}%)")
    sys.exit(0)


if __name__ == "__main__":
    main()

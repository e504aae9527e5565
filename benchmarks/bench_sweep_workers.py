"""Two workers against one: the wall time of `nnctl sweep` finishing the same short trials on one PostgreSQL
study, with --workers 1 and with --workers 2 (target: two workers take at most 0.6 of one worker's time).

It starts a PostgreSQL server of its own (initdb and pg_ctl in a temporary folder, as the tests do; as the
user `nobody` when run as root), makes one database per run, and times each `nnctl sweep` process from
start to exit: start-up, the corner checks, every trial and the outputs. Both runs draw the same trials
(random sampler, same seed). Run it on a quiet machine:

    python benchmarks/bench_sweep_workers.py                 # 16 trials, spiral (3,000 points), 40 epochs each
    python benchmarks/bench_sweep_workers.py --tiny          # 4 trials of 2 epochs: checks it runs end to end
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from postgres import PostgresServer  # noqa: E402  (the tests' server helper, not part of nnctl)

BASE = """\
name: bench
seed: 0
data: {{dataset: spiral, samples: {samples}, normalize: none}}
model:
  layers:
    - repeat: 2
      layers:
        - {{type: dense, units: 128}}
        - {{type: relu}}
    - {{type: dense, units: 3}}
optimizer: {{type: adam, lr: 1.0e-2}}
train: {{epochs: {epochs}, batch_size: 32}}
"""

SWEEP = """\
name: bench
base: base.yaml
space:
  optimizer.lr: {{loguniform: [1.0e-4, 1.0e-1]}}
  model.layers[0].layers[0].units: {{choice: [64, 128, 256]}}
sampler: random
trials: {trials}
seed: 0
"""


def timed_sweep(folder: Path, url: str, workers: int) -> float:
    """Seconds of wall time for `nnctl sweep --workers W` to finish the study."""
    command = [sys.executable, "-m", "nnctl", "sweep", str(folder / "sweep.yaml"), "--storage", url,
               "--workers", str(workers), "--out", str(folder / f"out{workers}")]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"nnctl sweep --workers {workers} failed ({result.returncode}):\n{result.stderr}")
    print(result.stdout.strip().splitlines()[-1])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--samples", type=int, default=3000)
    parser.add_argument("--tiny", action="store_true", help="4 trials of 2 epochs on 300 samples")
    args = parser.parse_args()
    if args.tiny:
        args.trials, args.epochs, args.samples = 4, 2, 300
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp, PostgresServer() as server:
        folder = Path(tmp)
        (folder / "base.yaml").write_text(BASE.format(samples=args.samples, epochs=args.epochs))
        (folder / "sweep.yaml").write_text(SWEEP.format(trials=args.trials))
        print(f"{args.trials} trials of {args.epochs} epochs (spiral, {args.samples} samples, two dense layers); "
              f"PostgreSQL {server.url()}; {len(os.sched_getaffinity(0))} usable CPUs")
        one = timed_sweep(folder, server.create_database("one"), 1)
        two = timed_sweep(folder, server.create_database("two"), 2)
    print(f"1 worker:  {one:.1f} s")
    print(f"2 workers: {two:.1f} s")
    print(f"ratio 2 workers / 1 worker: {two / one:.3f} (target: at most 0.6)")


if __name__ == "__main__":
    main()

"""How long `nnctl runs` takes over a folder of many runs (the issue asks for 1,000 in under 2 s).

    python benchmarks/bench_list_runs.py RUN [--copies 1000] [--repeat 3] [--keep FOLDER]

RUN is a real run folder (trained by this nnctl: its report.json carries the config). It is copied
`--copies` times into runs-bench/<name>/copy-NNNN under a temporary folder (or FOLDER), each copy with its own
learning rate in config.yaml and report.json, so that the configs really differ and `lr` becomes a column.
Then the whole command, `nnctl runs FOLDER` in a new process (Python start-up included), is timed
`--repeat` times; the best and every time are printed, with the rows listed. Nothing is timed inside tests.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SKIP = ("checkpoints", "*.png", "health_histograms.csv")        # not read by `nnctl runs`: kept small


def make_copies(run: Path, folder: Path, copies: int) -> None:
    template = folder / "template"
    shutil.copytree(run, template, ignore=shutil.ignore_patterns(*SKIP))
    config_text = (template / "config.yaml").read_text()
    report = json.loads((template / "report.json").read_text())
    for i in range(copies):
        lr = 1e-3 * (1 + i)
        target = folder / "runs-bench" / report["name"] / f"copy-{i:04d}"
        shutil.copytree(template, target)
        (target / "config.yaml").write_text(re.sub(r"(optimizer: \{type: \w+, lr: )[^,}]+", rf"\g<1>{lr!r}",
                                                   config_text))
        report["config"]["optimizer"]["lr"] = lr
        (target / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    shutil.rmtree(template)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="Make the copies here and keep them.")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-list-runs-"))
    try:
        make_copies(args.run, folder, args.copies)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "nnctl", "runs", str(folder / "runs-bench")],
                                  capture_output=True, text=True, check=True)
            times.append(time.perf_counter() - start)
        rows = len(done.stdout.splitlines()) - 2
        print(f"nnctl runs over {rows} runs: best {min(times):.2f} s; all: "
              f"{', '.join(f'{t:.2f}' for t in times)} s")
        print("\n".join(done.stdout.splitlines()[:4]))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

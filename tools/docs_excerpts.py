"""The outputs quoted in README.md and docs/, and the commands that produce them.

Every fenced block without a language in README.md and docs/*.md is either output, marked on the line above
with `<!-- excerpt: NAME -->`, or something else (a folder listing), marked `<!-- not output: WHY -->`.
Each NAME is in EXCERPTS below with the commands that print it. tests/test_docs_excerpts.py checks that
every block is marked and that every excerpt still matches what its commands print:

- quick excerpts (error messages, a few seconds of work) are produced afresh by the test;
- long ones (minutes of training) are kept whole in docs/excerpts/NAME.txt, which this script rewrites
      python tools/docs_excerpts.py --regenerate NAME [NAME ...]
  and the test checks the quote against that file, and that the file is current: it records the SHA-256 of
  every config its commands read, so editing a config fails the test until the file is regenerated (that
  the code still computes the same numbers is tests/test_golden.py's part: bit for bit on this machine).

How a quote matches an output (`mismatches`): its lines appear in the output in order and next to each other,
except where the quote has a line `...` (some lines cut there). Run folders' timestamps (20261207-020235)
match any timestamp. Figures match exactly, or, with `numbers=False` (another processor rounds float32
differently, so trained figures and rounding errors differ in their last digits), any figure matches any
figure and only the words, names and layout must agree.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
REGISTER = ROOT / "docs" / "excerpts"
CUT = "..."
TIMESTAMP = re.compile(r"\b\d{8}-\d{6}\b")
NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?")
MARK = re.compile(r"<!-- (excerpt|not output): ([^>]*?) -->\n```([a-z]*)\n(.*?)\n```", re.S)
BLOCK = re.compile(r"^```([a-z]*)\n(.*?)\n^```", re.S | re.M)


@dataclass(frozen=True)
class Excerpt:
    """Commands (bash) run in a fresh folder holding a copy of configs/ (each `(command, stream)`, stream "out"
    or "err"); their outputs, one after the other, are what the quote is taken from. `setup` commands run
    first and their output is not part of it. `long`: kept in docs/excerpts/ instead of rerun by the test."""
    commands: tuple[tuple[str, str], ...]
    setup: tuple[str, ...] = ()
    long: bool = False
    data: bool = False                      # needs the real Fashion-MNIST
    exit_codes: tuple[int, ...] = (0,)
    inputs: tuple[str, ...] = field(default=())
    env: tuple[tuple[str, str], ...] = ()   # environment variables the commands run with

    def configs(self) -> list[str]:
        """Every configs/... file the commands name, sorted."""
        named = set(self.inputs)
        for command in (*self.setup, *(command for command, _ in self.commands)):
            named.update(re.findall(r"configs/[\w/.-]+\.yaml", command))
        return sorted(named)


def _frozen_errors() -> tuple[tuple[str, str], ...]:
    train = "nnctl train configs/finetune/frozen.yaml --set 'init.freeze=[]' "
    return tuple((command, "err") for command in (
        train + "--set data.classes=null --set model.layers[12].units=10 --set 'init.layers=[conv1, head]'",
        train + "--set 'init.layers={fc: conv2}'",
        train + "--set model.layers[9].bias=false --set 'init.layers=[fc]'",
        train + "--set 'init.layers={fc: dense7}'",
        "nnctl train configs/finetune/frozen.yaml --set 'init.layers=[conv3]'",
        "nnctl train configs/finetune/frozen.yaml --set 'init.freeze=[conv1, fc]'",
    ))


def _health(config: str, epochs: str = "") -> tuple[tuple[str, str], ...]:
    return ((f"nnctl train configs/course/{config}.yaml{epochs} --quiet", "out"),
            (f"nnctl health runs/course-{config}", "out"))


def _folder(folder: str) -> tuple[str, ...]:
    """Every file of a folder (a script's inputs), as paths from the repository's root."""
    return tuple(sorted(str(path.relative_to(ROOT)) for path in (ROOT / folder).iterdir() if path.is_file()))


def _trained(config: str, timed: bool = False) -> Excerpt:
    """A training's closing line and its report's summary lines (with the time: with the `fast` extra's kernels,
    regenerated on a quiet machine)."""
    return Excerpt(((f"nnctl train configs/{config}.yaml --quiet", "out"),
                    (f"sed -n 3,9p runs/{config}/*/report.md", "out")),
                   long=True, data=True, env=(("NNCTL_KERNELS", "numba"),) if timed else ())


TINY_BASE = """name: tiny
seed: 0
data: {dataset: spiral, samples: 150, normalize: none}
model:
  layers:
    - repeat: 1
      layers: [{type: dense, units: 8}, {type: relu}, {type: dropout, p: 0.1}]
    - {type: dense, units: 3}
optimizer: {type: adam, lr: 1.0e-2}
"""


def _sweep_errors() -> tuple[tuple[str, str], ...]:
    lr = "  optimizer.lr: {loguniform: [1.0e-4, 1.0e-1]}"
    spaces = ["  optimizer.lrr: {loguniform: [1.0e-4, 1.0e-1]}",
              "  model.layers[0].layers[2].p: {uniform: [0.0, 1.5]}",
              "  data.samples: {int: [6, 150]}\n  data.val_size: {int: [1, 20]}",
              lr + "\nsampler: grid"]
    return tuple((f"printf 'base: tiny.yaml\nspace:\n{space}\n' > configs/sweeps/x.yaml && "
                  "nnctl sweep configs/sweeps/x.yaml", "err") for space in spaces)


EXCERPTS: dict[str, Excerpt] = {
    "readme-errors": Excerpt((("sed 's/units: 256/units: -5/' mlp.yaml > configs/mlp.yaml && nnctl train configs/mlp.yaml",
                               "err"),
                              ("cp mlp.yaml configs/mlp.yaml && nnctl train configs/mlp.yaml --set optimizer.lrr=1e-3",
                               "err")),
                             setup=("cp configs/mlp.yaml mlp.yaml",), exit_codes=(2,)),
    "finetune-errors": Excerpt(_frozen_errors(), data=True, exit_codes=(2,),
                               setup=("nnctl train configs/finetune/pretrain.yaml --set data.limit=200 "
                                      "--set data.val_size=100 --set train.epochs=1 --quiet",)),
    "sweeps-errors": Excerpt(_sweep_errors(), exit_codes=(2,),
                             setup=(f"printf '{TINY_BASE}' > configs/sweeps/tiny.yaml",)),
    "gradcheck-all": Excerpt((("nnctl gradcheck configs/gradcheck_all.yaml", "out"),), long=True, data=True),
    "fashion-cnn": _trained("fashion_cnn", timed=True),
    "fashion-mlp": _trained("fashion_mlp", timed=True),
    "autoencoder": Excerpt((("nnctl train configs/autoencoder.yaml --quiet", "out"),
                            ("nnctl plot runs/autoencoder --codes code", "out"),
                            ("nnctl eval runs/autoencoder", "out"),
                            ("nnctl plot runs/autoencoder --reconstructions 10", "out")), long=True, data=True),
    "denoising": Excerpt((("nnctl train configs/denoising_autoencoder.yaml --quiet", "out"),
                          ("nnctl train configs/denoising_autoencoder.yaml --set model.layers[0].p=0 "
                           "--set name=plain_autoencoder --quiet", "out"),
                          *((f"nnctl eval runs/{name}{corrupt}", "out") for corrupt in (" --corrupt mask=0.3", "")
                            for name in ("denoising_autoencoder", "plain_autoencoder"))), long=True, data=True),
    "multi-loss": Excerpt((("nnctl train configs/multi_loss.yaml --quiet", "out"),
                           ("sed -n 3,9p runs/multi_loss/*/report.md", "out"),
                           ("cat runs/multi_loss/*/metrics.csv", "out"),
                           ("nnctl eval runs/multi_loss", "out")), long=True, data=True),
    "course": Excerpt((("bash configs/course/run_all.sh", "out"),
                       *((f"grep -E '^[|] (train|val) [|]' runs/course-{name}/*/report.md", "out")
                         for name in ("dropout_off", "dropout_on")),
                       *((f"awk -F, 'NR > 1 && $1 <= 100 {{a += $3; n++}} NR > 1 && $1 > 400 {{b += $3; m++}} "
                          f"END {{printf \"{name}: mean loss of steps 1-100 %.4f, of steps 401-500 %.4f\\n\", "
                          f"a / n, b / m}}' runs/course-{name}/*/steps.csv", "out")
                         for name in ("sgd_steps", "momentum_steps")),
                       *((f"cat runs/course-{name}/*/metrics.csv", "out") for name in ("sgd_steps", "momentum_steps"))),
                      long=True, data=True, inputs=_folder("configs/course")),
    "finetune": Excerpt((("bash configs/finetune/run_all.sh", "out"),
                         *((f"echo {name}; cat runs/finetune-{name}/*/metrics.csv; "
                            f"grep -E '^- (epochs run|evaluated)|^[|] (val|test) [|]' runs/finetune-{name}/*/report.md",
                            "out") for name in ("pretrain", "frozen", "all", "scratch")),
                         *((f"nnctl train configs/finetune/{name}.yaml --set data.limit=100 "
                            f"--set name=finetune-{name}-100 --quiet", "out") for name in ("frozen", "scratch")),
                         *((f"echo {name}-100; cat runs/finetune-{name}-100/*/metrics.csv; grep -E "
                            f"'^- (epochs run|evaluated)|^[|] (val|test) [|]' runs/finetune-{name}-100/*/report.md", "out")
                           for name in ("frozen", "scratch"))), long=True, data=True, inputs=_folder("configs/finetune")),
    "pruner": Excerpt((("nnctl sweep configs/sweeps/fashion_mlp_pruning.yaml --pruner none --out sweeps/unpruned",
                        "out"),
                       ("nnctl sweep configs/sweeps/fashion_mlp_pruning.yaml --out sweeps/pruned", "out"),
                       *((f"grep -E '^- (trial-epochs|best)' sweeps/{name}/fashion_mlp_pruning/report.md; "
                          f"cut -d, -f1-5 sweeps/{name}/fashion_mlp_pruning/trials.csv", "out")
                         for name in ("unpruned", "pruned")),
                       ("nnctl train sweeps/unpruned/fashion_mlp_pruning/best.yaml --out runs/best_repro --quiet",
                        "out")), long=True, data=True, inputs=("configs/fashion_mlp_small.yaml",)),
    "tpe-random": Excerpt((*((f"nnctl sweep configs/sweeps/fashion_mlp_lr.yaml{sampler} --seed {seed} "
                              f"--out sweeps/{kind}{seed}", "out")
                             for seed in (0, 1, 2) for kind, sampler in (("tpe", ""), ("random", " --sampler random"))),
                           *((f"grep -E '^- best' sweeps/{kind}{seed}/fashion_mlp_lr/report.md", "out")
                             for seed in (0, 1, 2) for kind in ("tpe", "random"))),
                          long=True, data=True, inputs=("configs/fashion_mlp_small.yaml",)),
    "imbalanced": Excerpt(tuple((f"nnctl train configs/fashion_imbalanced.yaml{extra} --quiet && grep -E "
                                 f"'^[|] (test|T-shirt/top|Shirt) [|]' runs/fashion_imbalanced/*/report.md && "
                                 f"rm -r runs/fashion_imbalanced", "out")
                                for extra in ("", " --set loss.class_weights=balanced", " --set data.sampler=balanced")),
                          long=True, data=True),
    "bench-mlp": Excerpt(((f"env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python {ROOT}/benchmarks/bench_mlp.py --repeat 3",
                           "out"),), long=True, data=True, inputs=("benchmarks/bench_mlp.py", "benchmarks/harness.py")),
    "health-init_small": Excerpt(_health("init_small"), long=True, data=True),
    "health-init_good": Excerpt(_health("init_good", " --set train.epochs=2"), long=True, data=True),
    "health-init_large": Excerpt(_health("init_large", " --set train.epochs=2"), long=True, data=True),
    "health-init_lr_high": Excerpt(_health("init_lr_high", " --set train.epochs=2"), long=True, data=True),
}


def quoted_blocks(path: Path) -> list[tuple[str, str, str]]:
    """Every fenced block of a Markdown file without a language, as (mark kind, mark name or "", text)."""
    text = path.read_text(encoding="utf-8")
    marked = {m.start(3) - 3: (m.group(1), m.group(2)) for m in MARK.finditer(text)}
    blocks = []
    for m in BLOCK.finditer(text):
        if m.group(1):
            continue
        kind, name = marked.get(m.start(), ("", ""))
        blocks.append((kind, name, m.group(2)))
    return blocks


def excerpts_in_docs() -> dict[str, list[tuple[Path, str]]]:
    """Each excerpt name with the quotes of it (a name may be quoted in several places)."""
    found: dict[str, list[tuple[Path, str]]] = {}
    for path in DOCS:
        for kind, name, text in quoted_blocks(path):
            if kind == "excerpt":
                found.setdefault(name, []).append((path, text))
    return found


def _lines(text: str, numbers: bool) -> list[str]:
    """The lines to compare: timestamps made alike, the commands' echo lines (`$ nnctl ...`) left out."""
    lines = [TIMESTAMP.sub("<time>", line.rstrip()) for line in text.strip("\n").splitlines()
             if not line.startswith("$ ")]
    return lines if numbers else [NUMBER.sub("<n>", line) for line in lines]


def mismatches(quote: str, output: str, numbers: bool = True) -> list[str]:
    """What in `quote` the `output` does not show (empty: the quote matches). See the module docstring."""
    out = _lines(output, numbers)
    segments, current = [], []
    for line in _lines(quote, numbers):
        if line.strip() in (CUT, "…"):
            segments.append(current)
            current = []
        else:
            current.append(line)
    segments.append(current)
    problems, start = [], 0
    for segment in (s for s in segments if s):
        at = next((i for i in range(start, len(out) - len(segment) + 1) if out[i:i + len(segment)] == segment), None)
        if at is None:
            near = next((line for line in segment if line not in out[start:]), segment[0])
            problems.append(f"not in the output (after line {start + 1}): {near!r}")
            continue
        start = at + len(segment)
    return problems


def run(excerpt: Excerpt, env: dict[str, str] | None = None) -> str:
    """The commands' output, run in a fresh folder holding a copy of configs/."""
    with tempfile.TemporaryDirectory(prefix="nnctl-excerpt-") as folder:
        shutil.copytree(ROOT / "configs", Path(folder) / "configs")
        bin_folder = str(Path(sys.executable).parent)           # the nnctl of this Python's environment
        # 2 threads, the count the docs state: the automatic choice would follow how busy the machine is
        environment = {**os.environ, "NNCTL_THREADS": "2", **dict(excerpt.env), **(env or {}), "COLUMNS": "200",
                       "PATH": os.pathsep.join([bin_folder, os.environ.get("PATH", "")])}
        for command in excerpt.setup:
            done = subprocess.run(command, shell=True, cwd=folder, env=environment, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"{command}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
        printed = []
        for command, stream in excerpt.commands:
            done = subprocess.run(["bash", "-c", command], cwd=folder, env=environment, capture_output=True,
                                  text=True)
            if done.returncode not in excerpt.exit_codes:
                raise RuntimeError(f"{command}: exit {done.returncode}: {done.stderr.strip()[-500:]}")
            shown = command.replace("\n", "\\n")
            printed.append(f"$ {shown}\n" + (done.stdout if stream == "out" else done.stderr))
        return "".join(text if text.endswith("\n") else text + "\n" for text in printed)


def input_hashes(excerpt: Excerpt) -> list[str]:
    return [f"# input {name} sha256 {hashlib.sha256((ROOT / name).read_bytes()).hexdigest()}"
            for name in excerpt.configs()]


def read_register(name: str) -> tuple[list[str], str]:
    """A kept excerpt's header lines (# ...) and its output."""
    lines = (REGISTER / f"{name}.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    header = [line.rstrip("\n") for line in lines if line.startswith("# ")]
    return header, "".join(line for line in lines if not line.startswith("# "))


def regenerate(name: str, machine: str) -> Path:
    excerpt = EXCERPTS[name]
    output = run(excerpt)
    REGISTER.mkdir(exist_ok=True)
    path = REGISTER / f"{name}.txt"
    header = [f"# written by: python tools/docs_excerpts.py --regenerate {name}", f"# machine: {machine}",
              *input_hashes(excerpt)]
    path.write_text("\n".join(header) + "\n" + output, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regenerate", nargs="+", metavar="NAME", choices=sorted(EXCERPTS))
    args = parser.parse_args()
    if not args.regenerate:
        for name, excerpt in EXCERPTS.items():
            print(f"{name:22} {'kept in docs/excerpts/' if excerpt.long else 'rerun by the test'}")
        return
    sys.path.insert(0, str(ROOT / "tests" / "golden"))
    from machine import fingerprint

    for name in args.regenerate:
        print(regenerate(name, fingerprint()))


if __name__ == "__main__":
    main()

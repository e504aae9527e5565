"""docs/repeats.md stays true: every line it quotes is what the commands print (with `…` for the parts that
vary: folders, positions, float figures), its commands use options the commands have, and README.md points at
it. The interruption line is checked in tests/test_repeats_cli.py, against a real signal."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from nnctl.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "repeats.md").read_text(encoding="utf-8")
ERRORS = {   # each quoted mistake and the options that make `nnctl train configs/spiral.yaml` say it
    "--seeds 4-1": ["--seeds", "4-1"],
    "--seeds x": ["--seeds", "x"],
    "--folds 1": ["--folds", "1"],
    "--seeds 0-1 and --folds 3": ["--seeds", "0-1", "--folds", "3"],
    "--seeds, --folds and --resume GROUP train a group of runs": ["--seeds", "0-1", "--overfit", "5"],
    "--folds 200": ["--folds", "200"],
}


def blocks(language: str = "") -> list[str]:
    """The text of each fenced block of the doc opened with ```<language>."""
    found: list[str] = []
    inside: tuple[bool, list[str]] | None = None
    for line in DOC.splitlines():
        if inside is None:
            if line.startswith("```"):
                inside = (line[3:] == language, [])
        elif line == "```":
            if inside[0]:
                found.append("\n".join(inside[1]))
            inside = None
        else:
            inside[1].append(line)
    return found


def doc_pattern(line: str) -> re.Pattern:
    """The quoted line as a regular expression: `…` matches any non-empty text."""
    return re.compile(".+".join(re.escape(part) for part in line.split("…")))


def nnctl(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnctl", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


def test_quoted_mistakes_are_what_nnctl_says(tmp_path):
    quoted = [line for block in blocks() for line in block.splitlines() if line.split(":")[0] in ERRORS]
    assert sorted(line.split(":")[0] for line in quoted) == sorted(ERRORS)
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    for line in quoted:
        done = nnctl("train", "configs/spiral.yaml", *ERRORS[line.split(":")[0]], cwd=tmp_path)
        assert (done.returncode, done.stderr) == (2, line + "\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["configs"]


def test_quoted_summary_header_and_lr_find_lines(tmp_path):
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    group = nnctl("train", "configs/spiral.yaml", "--seeds", "0-4", "--set", "train.epochs=1", "--quiet", cwd=tmp_path)
    assert group.returncode == 0, group.stderr
    header = next(block for block in blocks() if block.startswith("| metric"))
    assert group.stdout.splitlines()[:2] == header.splitlines()

    found = nnctl("lr-find", "configs/spiral.yaml", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    quoted = next(block for block in blocks() if block.startswith("suggested lr")).splitlines()
    printed = found.stdout.splitlines()
    assert len(printed) == len(quoted) == 4
    for pattern, line in zip(quoted, printed):
        assert doc_pattern(pattern).fullmatch(line), (pattern, line)


def test_commands_in_the_doc_use_options_the_commands_have():
    commands = [line.split("  #")[0].strip() for block in blocks("bash") for line in block.splitlines()
                if line.startswith("nnctl ")]
    assert len(commands) >= 4
    for line in commands:
        words = shlex.split(line)
        command = cli.commands[words[1]]
        known = {opt for param in command.params for opt in param.opts}
        assert {word for word in words[2:] if word.startswith("--")} <= known, line
        assert (ROOT / words[2]).is_file(), line


def test_the_readme_points_at_the_doc():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/repeats.md)" in readme.split("## Read more", 1)[1].split("## ", 1)[0]

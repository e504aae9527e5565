"""docs/autoencoders.md: the configs it names resolve, its commands are nnctl commands with options they
have, and README.md points at it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from nnctl.cli import cli

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "autoencoders.md").read_text(encoding="utf-8")


def test_configs_named_in_the_doc_resolve():
    from nnctl.config.load import load_config

    names = sorted(set(re.findall(r"configs/[\w/]+\.yaml", DOC)))
    assert len(names) >= 5
    for name in names:
        load_config(ROOT / name)


def test_commands_in_the_doc_use_options_the_commands_have():
    commands = [line.strip().split("#")[0] for line in DOC.splitlines() if line.startswith("    nnctl ")]
    assert len(commands) >= 12
    for line in commands:
        words = shlex.split(line)
        command = cli.commands[words[1]]
        known = {opt for param in command.params for opt in param.opts}
        given = {word.split("=")[0] for word in words[2:] if word.startswith("--")}
        assert given <= known, line


def test_the_readme_points_at_the_doc():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/autoencoders.md)" in readme.split("## Read more", 1)[1].split("## ", 1)[0]

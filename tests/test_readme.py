"""README.md and docs/config.md stay true: the reference is the generated one, the commands name real files."""

from __future__ import annotations

import re
from pathlib import Path

from nnctl.config.docs import HEADER, reference_markdown

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_config_reference_is_generated_from_the_code():
    text = (ROOT / "docs" / "config.md").read_text()
    assert text == HEADER + reference_markdown(), "run: python -m nnctl.config.docs docs/config.md"


def test_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    assert blocks[0] == ("python3 -m venv .venv && . .venv/bin/activate && pip install -e . && "
                         "nnctl train configs/mlp.yaml")
    assert blocks[1] == ("python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && "
                         "python -m pytest")
    assert README.index(blocks[0]) < README.index("## ")


def test_configs_named_in_the_readme_exist_and_resolve():
    from nnctl.config.load import load_config

    for name in sorted(set(re.findall(r"configs/[\w/]+\.yaml", README)) - {"configs/sweeps/spiral_random.yaml"}):
        load_config(ROOT / name)


def test_every_config_in_the_repository_resolves():
    from nnctl.config.load import load_config

    configs = sorted(p for p in (ROOT / "configs").rglob("*.yaml") if "sweeps" not in p.parts)   # sweep files:
    assert len(configs) >= 15                                                           # test_sweep_spec.py
    for path in configs:
        load_config(path)


def test_every_sweep_file_in_the_repository_is_read():
    from nnctl.sweep.spec import read_sweep

    files = sorted((ROOT / "configs" / "sweeps").glob("*.yaml"))
    assert [path.name for path in files] == ["fashion_mlp_lr.yaml", "fashion_mlp_pruning.yaml", "spiral_grid.yaml",
                                             "spiral_random.yaml"]
    for path in files:
        read_sweep(path)


README_LINE_LIMIT = 200


def test_readme_is_short_enough_to_read():
    assert len(README.splitlines()) <= README_LINE_LIMIT


def tour_commands() -> list[str]:
    """The commands of the README's tour block, comments removed, in order."""
    section = README[README.index("## A tour"):]
    block = re.search(r"```bash\n(.*?)\n```", section, flags=re.S).group(1)
    commands = [line.split("  #")[0].strip() for line in block.splitlines()]
    return [command for command in commands if command and not command.startswith("#")]


SMALL = {"train": ["--set", "train.epochs=2"], "sweep": ["--trials", "3"]}   # small settings: runs kept short


def test_the_tour_runs_end_to_end(tmp_path, monkeypatch):
    """Every command of the tour, as written, in a fresh folder holding the repository's configs, exits 0
    (trainings shortened to two epochs, the sweep to three trials; --overfit runs as written)."""
    import shlex

    from click.testing import CliRunner

    from nnctl.cli import cli

    (tmp_path / "configs").symlink_to(ROOT / "configs")
    monkeypatch.chdir(tmp_path)
    commands = tour_commands()
    assert len(commands) >= 8
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "nnctl", command
        extra = SMALL.get(words[1], []) if not {"--resume", "--overfit"} & set(words) else []
        result = CliRunner().invoke(cli, words[1:] + extra, prog_name="nnctl")
        assert result.exit_code == 0, f"{command}: {result.output}"

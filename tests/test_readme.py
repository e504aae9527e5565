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

    for name in sorted(set(re.findall(r"configs/[\w/]+\.yaml", README))):
        load_config(ROOT / name)


def test_every_config_in_the_repository_resolves():
    from nnctl.config.load import load_config

    configs = sorted((ROOT / "configs").rglob("*.yaml"))
    assert len(configs) >= 15
    for path in configs:
        load_config(path)

"""`nnctl --help` shows whole command descriptions; `nnctl docs` prints the generated config reference."""

from __future__ import annotations

from click.testing import CliRunner

from nnctl.cli import cli, summary_line
from nnctl.config.docs import reference_markdown, reference_topic


def run(*args: str):
    return CliRunner().invoke(cli, list(args), prog_name="nnctl")


def test_help_lists_every_command_with_its_whole_first_paragraph():
    result = run("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for name, command in cli.commands.items():
        line = summary_line(command)
        assert line.endswith("."), name
        assert f"{name} {line}" in text, name
    assert "..." not in result.output.split("\n", 1)[1]  # the usage line's ARGS... is click's


def test_debug_is_accepted_after_the_command_name():
    result = run("docs", "--debug", "no_such_topic")
    assert result.exit_code == 2


def test_docs_prints_the_whole_reference():
    result = run("docs")
    assert result.exit_code == 0
    assert result.output == reference_markdown()


def test_docs_prints_one_section():
    result = run("docs", "regularization")
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "### `regularization`"
    assert "#### " not in result.output


def test_docs_prints_one_entry_of_a_section():
    result = run("docs", "conv2d")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "#### `conv2d`"
    assert sum(line.startswith("#### ") for line in lines) == 1
    assert "| `filters` |" in result.output
    assert reference_topic("fashion-mnist").splitlines()[0] == "#### `dataset: fashion-mnist`"
    assert reference_topic("early_stopping").splitlines()[0] == "#### `train.early_stopping`"


def test_docs_unknown_topic_lists_what_exists():
    result = run("docs", "optimiser")
    assert result.exit_code == 2
    message = result.output.strip()
    assert message.startswith("nnctl docs: unknown topic 'optimiser'; sections: top, data, model, loss, "
                              "regularization, optimizer, schedule, train, init; entries: mnist, fashion-mnist, ")
    assert ", adam, " in message and message.count("\n") == 0

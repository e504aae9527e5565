"""`nnctl --help` shows whole command descriptions; `nnctl docs` prints the generated config reference."""

from __future__ import annotations

import re

from click.testing import CliRunner

from nnctl.cli import cli, summary_line
from nnctl.config.docs import reference_markdown, reference_topic
from nnctl.config.sections import (EARLY_STOPPING_OPTIONS, INIT_OPTIONS, REGULARIZATION_OPTIONS, TOP_OPTIONS,
                                   TRAIN_OPTIONS)
from nnctl.data.augment import AUGMENT_OPTIONS
from nnctl.data.catalog import DATA_OPTIONS
from nnctl.nn.model_config import NODE_OPTIONS
from nnctl.nn.objective import TERM_OPTIONS
from nnctl.nn.registry import DATASETS, LAYERS, LOSSES, OPTIMIZERS, SCHEDULES


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
                              "regularization, optimizer, schedule, train, init, loggers; entries: mnist, "
                              "fashion-mnist, ")
    assert ", adam, " in message and message.count("\n") == 0


def test_docs_name_no_internal_identifier_or_source_file():
    text = CliRunner().invoke(cli, ["docs"]).stdout
    assert re.findall(r"\b[A-Z]+_[A-Z_]+\b", text) == ["NODE_TYPE"]          # a placeholder, like NAME
    assert "nnctl/" not in text and ".py" not in text


def every_option_table():
    """(key, option) of every option table the reference is made of."""
    tables = [TOP_OPTIONS, TRAIN_OPTIONS, EARLY_STOPPING_OPTIONS, INIT_OPTIONS, REGULARIZATION_OPTIONS,
              AUGMENT_OPTIONS, DATA_OPTIONS, NODE_OPTIONS, TERM_OPTIONS]
    for registry in (DATASETS, LAYERS, LOSSES, OPTIMIZERS, SCHEDULES):
        tables += [cls.options for cls in registry.table.values()]
    return [(key, option) for table in tables for key, option in table.items()]


def test_every_option_with_choices_lists_them_in_the_reference():
    text = CliRunner().invoke(cli, ["docs"]).stdout
    with_choices = [(key, option) for key, option in every_option_table() if getattr(option.check, "choices", ())]
    assert len(with_choices) >= 8
    for key, option in with_choices:
        row = next(line for line in text.splitlines() if line.startswith(f"| `{key}` |") and option.doc[:20] in line)
        for choice in option.check.choices:
            shown = "null" if choice is None else str(choice)
            assert shown in row, (key, shown, row)


def test_batchnorm_and_dense_list_their_choices():
    assert "statistics used at evaluation; one of running, batch, recompute" in CliRunner().invoke(
        cli, ["docs", "batchnorm"]).stdout
    assert "weight initializer; one of he, xavier, lecun, normal, zeros" in CliRunner().invoke(
        cli, ["docs", "dense"]).stdout

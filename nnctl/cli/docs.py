"""`nnctl docs [TOPIC]`: the config reference, whole or one part of it, in the terminal."""

from __future__ import annotations

import click

from nnctl.cli._options import debug_option


@click.command("docs")
@click.argument("topic", required=False)
@debug_option
def command(topic: str | None) -> None:
    """Print the config reference: every key, its default and meaning (also in docs/config.md).

    TOPIC narrows it to one section (top, data, model, loss, regularization, optimizer, schedule, train,
    init) or one entry of it (a layer such as conv2d, a loss, an optimizer such as adam, a schedule, a
    dataset such as fashion-mnist)."""
    # imported on use: the library loads NumPy and more, and `nnctl --help` must not wait for it
    from nnctl.config.docs import reference_markdown, reference_topic, topic_names
    from nnctl.errors import InputError

    if topic is None:
        click.echo(reference_markdown(), nl=False)
        return
    try:
        click.echo(reference_topic(topic), nl=False)
    except KeyError:
        sections, entries = topic_names()
        raise InputError(f"nnctl docs: unknown topic {topic!r}; sections: {', '.join(sections)}; "
                         f"entries: {', '.join(entries)}") from None

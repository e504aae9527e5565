"""The `nnctl` command line: one module per command, each a thin body that parses, calls the library and
prints. This module holds the group, which turns nnctl's own errors into one line and an exit code."""

from __future__ import annotations

import os
import sys
import traceback

import click

from nnctl.cli._options import debug_option, debug_requested
from nnctl.errors import NnctlError


def summary_line(command: click.Command) -> str:
    """A command's first paragraph, whole (click would cut it at 45 characters)."""
    text = command.short_help or (command.help or "")
    return " ".join(text.split("\n\n")[0].split())


class NnctlGroup(click.Group):
    """Turns nnctl's own errors into one line on stderr and their exit code (traceback with --debug), and
    lists its commands with their whole first paragraph."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, summary_line(self.get_command(ctx, name))) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except NnctlError as exc:
            if debug_requested(ctx):
                traceback.print_exc()
            click.echo(str(exc), err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except BrokenPipeError:       # the reader went away (`nnctl eval ... | head`): stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
            if debug_requested(ctx):
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                       err=True)
            ctx.exit(1)


@click.group(cls=NnctlGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@debug_option
@click.version_option(package_name="nnctl")
def cli() -> None:
    """Train NumPy neural networks described by YAML files."""


def _register() -> None:
    from nnctl.cli import eval as eval_module
    from nnctl.cli import docs, embed, export, gradcheck, plot, predict, summary, train

    for module in (train, eval_module, predict, export, embed, plot, summary, gradcheck, docs):
        cli.add_command(module.command)


_register()


def main() -> None:
    cli(prog_name="nnctl")


if __name__ == "__main__":
    sys.exit(main())

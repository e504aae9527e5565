"""The `nnctl` command line: one module per command, each a thin body that parses, calls the library and
prints. This module holds the group, which turns nnctl's own errors into one line and an exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import traceback

import click

from nnctl.cli import docs, embed, export, gradcheck, health, lr_find, plot, predict, summary, sweep, train
from nnctl.cli import compare, runs
from nnctl.cli import eval as eval_module
from nnctl.cli._options import debug_option, debug_requested
from nnctl.errors import NnctlError
from nnctl.kernels.backend import check_environment
from nnctl.training.signals import Terminated, raise_terminated


def summary_line(command: click.Command) -> str:
    """A command's first paragraph, whole (click would cut it at 45 characters)."""
    text = command.short_help or (command.help or "")
    return " ".join(text.split("\n\n")[0].split())


class NnctlGroup(click.Group):
    """Turns every failure into one line on stderr and its exit code (a traceback only with --debug): nnctl's
    own errors, click's usage errors, interrupts (130 for Ctrl-C, 143 for SIGTERM) and bugs; and lists its
    commands with their whole first paragraph."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "nnctl"
            click.echo(f"{where}: {exc.format_message()} (see {where} --help)", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"nnctl: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, summary_line(self.get_command(ctx, name))) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):
        with terminate_as_exception():
            try:
                check_environment()         # NNCTL_KERNELS, before any work (numba is not imported here)
                return super().invoke(ctx)
            except NnctlError as exc:
                if debug_requested(ctx):
                    traceback.print_exc()
                click.echo(str(exc), err=True)
                ctx.exit(exc.exit_code)
            except KeyboardInterrupt:
                click.echo("interrupted", err=True)
                ctx.exit(130)
            except Terminated:
                click.echo("terminated", err=True)
                ctx.exit(143)
            except BrokenPipeError:       # the reader went away (`nnctl eval ... | head`): stop quietly
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                ctx.exit(1)
            except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
                raise
            except MemoryError as exc:
                if debug_requested(ctx):
                    traceback.print_exc()
                click.echo(f"out of memory: {exc or 'MemoryError'} (set NNCTL_MEMORY_LIMIT to plan for less, "
                           f"see docs/trust.md)", err=True)
                ctx.exit(1)
            except Exception as exc:  # a bug: say so in one line, keep the traceback for --debug
                if debug_requested(ctx):
                    traceback.print_exc()
                click.echo(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                           err=True)
                ctx.exit(1)


@contextlib.contextmanager
def terminate_as_exception():
    """While a command runs, SIGTERM raises Terminated (like Ctrl-C's KeyboardInterrupt), so that cleanups
    run (temporary files, half-made folders) instead of the process vanishing. A training run replaces
    this with its own handler (nnctl.training.signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@click.group(name="nnctl", cls=NnctlGroup, context_settings={"help_option_names": ["-h", "--help"],
                                                             "max_content_width": 110})
@debug_option
@click.version_option(package_name="nnctl")
def cli() -> None:
    """Train NumPy neural networks described by YAML files."""


for module in (train, eval_module, predict, export, embed, plot, summary, gradcheck, health, sweep, docs, runs,
               compare, lr_find):
    cli.add_command(module.command)


def main() -> None:
    """The `nnctl` program. Once the command is done, late signals are ignored: a Ctrl-C arriving while the
    interpreter shuts down must not turn a clean exit into a traceback."""
    try:
        cli(prog_name="nnctl")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())

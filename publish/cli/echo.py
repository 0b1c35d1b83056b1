"""Printing for the commands: every text output goes through publish.termtext, so text that came
from a file (a GGUF's name, a chat template, a token, a file name, a Hub message) cannot move the
cursor, clear the screen or forge an output line. JSON output stays exact (termtext.json_dumps)."""

from __future__ import annotations

from typing import Any

import click

from publish.termtext import block, error_text, json_dumps  # noqa: F401  (error_text: the CLI's name for it)


def say(text: Any = "", *, err: bool = False, nl: bool = True) -> None:
    """Print a command's text output: file text in it is shown escaped, line feeds and tabs stay.
    Fields that must stay on one line are escaped with termtext.one_line where they are formatted."""
    click.echo(block(text), err=err, nl=nl)


def say_report(text: str, output: str | None) -> None:
    """A command's report (`--format`'s text): written atomically to `output` (`-o FILE`), ending
    in one line feed, when given; else printed with `say` (JSON text from termtext.json_dumps has
    nothing left to escape, so it prints exact)."""
    text = text.rstrip("\n")
    if output:
        from publish.fsutil import atomic_write_text

        atomic_write_text(output, text + "\n")
    else:
        say(text)


def say_json(obj: Any, **kwargs: Any) -> None:
    """Print `obj` as JSON on stdout (publish.termtext.json_dumps: control characters escaped)."""
    click.echo(json_dumps(obj, **kwargs))


def say_error(err: BaseException) -> None:
    """Print an error (message and hint, escaped for the terminal) in red on stderr."""
    click.secho(error_text(err), err=True, fg="red")

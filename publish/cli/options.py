"""The options every command spells the same way (tests/cli/test_conventions.py walks the
command tree and holds each command to them):

- `-q/--quiet` on every command, and on `publish` itself (`publish -q lint …`, the same switch):
  no progress bars or progress lines on stderr (one switch, publish.progress.set_quiet); results
  and reports are unchanged.
- `-o/--output` on every command that writes a file or folder.
- `--format` with the formats the command can print, json among them, on every command that prints
  a result; `--json` is the short form of `--format json` where a command had `--json` before
  `--format` existed.
- An option that was renamed keeps its old spelling for one release, hidden from `--help`:
  it still works and says on stderr (never stdout) what to type instead.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import click

F = Callable[..., Any]


class InputPath(click.Path):
    """click.Path for a file or folder the command reads: a path that is there but cannot be read
    (permission denied on it or on a folder on the way, a folder that cannot be listed, a broken
    symbolic link, a FIFO) raises publish's InputPathError (publish.fsutil.input_kind,
    list_folder), which the CLI prints as every command's errors, one `error:` line and a hint,
    exit status 2, where click.Path would say "does not exist" or "is not readable"."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, checked by publish.fsutil first (InputPathError), then by click.Path (exists,
        file or folder)."""
        from publish.inputpaths import input_kind, list_folder

        if not (self.allow_dash and value == "-") and input_kind(value) == "folder" and self.dir_okay:
            list_folder(value)
        return super().convert(value, param, ctx)


class Seconds(click.FloatRange):
    """A positive, finite number of seconds (`--timeout S`): 0, negatives, nan and inf are usage
    errors (exit 2), never a run in which every engine call times out at once."""
    name = "seconds"

    def __init__(self) -> None:
        super().__init__(min=0, min_open=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        """`value` as float seconds; a usage error (click's, exit 2) unless it is finite and > 0."""
        import math

        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return number


# Ollama v0.24.0 takes the seed as an int and -1 as "random" (sample/samplers.go NewSampler); the
# llama runner casts it to uint32 (runner/llamarunner/runner.go), where 0xFFFFFFFF is llama.cpp's
# "random" too. A smoke needs a repeatable seed, so the range is 0..2**32-1.
SEED = click.IntRange(0, 2**32 - 1)


def warn_deprecated(old: str, new: str) -> None:
    """`warning: OLD is deprecated; use NEW ...` on stderr, so stdout (JSON, reports) stays clean."""
    click.echo(f"warning: {old} is deprecated and will be removed after the next release; use {new}", err=True)


ROOT_QUIET = "publish.quiet"   # ctx.meta key (shared by every context of a run): `publish -q COMMAND`
QUIET_HELP = "No progress output on stderr (it is also off when stderr is not a terminal or CI is set)."


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    from publish import progress

    # set on every run, so one run's --quiet never leaks into the next; `publish -q CMD` counts too
    progress.set_quiet(value or ctx.meta.get(ROOT_QUIET, False))
    return value


def _note_root_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    ctx.meta[ROOT_QUIET] = value   # the command's own -q callback applies it (publish.progress is not imported here)
    return value


def quiet_option(f: F) -> F:
    """`-q/--quiet`: no progress output on stderr (publish.progress.set_quiet). `publish -q CMD`
    (root_quiet_option) means the same as `publish CMD -q`."""
    return click.option("-q", "--quiet", is_flag=True, expose_value=False, is_eager=True, callback=_set_quiet,
                        help=QUIET_HELP)(f)


def root_quiet_option(f: F) -> F:
    """`publish -q/--quiet COMMAND`: the group's own -q, for the command that runs (its -q callback
    reads it from ctx.meta), so it is the same switch as the command's `-q`."""
    return click.option("-q", "--quiet", is_flag=True, expose_value=False, is_eager=True,
                        callback=_note_root_quiet, help=QUIET_HELP + " Same as the command's own -q.")(f)


def output_option(help: str, *, dest: str = "output", file_okay: bool = True, dir_okay: bool = False,
                  metavar: str | None = None, path_type: type | None = None) -> Callable[[F], F]:
    """`-o/--output PATH`: where the command writes (a file or a folder, as the command says)."""
    return click.option("-o", "--output", dest, metavar=metavar or ("DIR" if not file_okay else "FILE"),
                        type=click.Path(file_okay=file_okay, dir_okay=dir_okay, path_type=path_type), help=help)


def format_option(formats: dict[str, str], *, json_short: bool = False, default: str = "text") -> Callable[[F], F]:
    """`--format NAME` (the keys of `formats`; their help text is the values) passed as `fmt`.

    With `json_short`, `--json` is the documented short form of `--format json` (the command had
    `--json` before); giving both `--json` and another `--format` is a usage error."""
    help_text = "; ".join(f"{name}: {what}" for name, what in formats.items()) + "."

    def decorator(f: F) -> F:
        if not json_short:
            return click.option("--format", "fmt", type=click.Choice(list(formats)), default=default,
                                show_default=True, help=help_text)(f)

        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            as_json = kwargs.pop("_format_json")
            fmt = kwargs.get("fmt")
            if as_json:
                if fmt not in (None, "json"):
                    raise click.UsageError(f"--json is short for --format json; it contradicts --format {fmt}")
                kwargs["fmt"] = "json"
            elif fmt is None:
                kwargs["fmt"] = default
            return f(*args, **kwargs)

        wrapper = click.option("--json", "_format_json", is_flag=True, help="Short for --format json.")(wrapper)
        return click.option("--format", "fmt", type=click.Choice(list(formats)), default=None,
                            help=help_text + f"  [default: {default}]")(wrapper)

    return decorator


def renamed_option(old: str, new: str, dest: str, *, is_flag: bool = False, **kwargs: Any) -> Callable[[F], F]:
    """The old spelling `old` of the option now called `new` (whose value lands in `dest`): hidden,
    still accepted, with a deprecation warning on stderr. Both given with different values: usage error."""
    key = f"_renamed_{dest}_{old.lstrip('-').replace('-', '_')}"

    def decorator(f: F) -> F:
        @functools.wraps(f)
        def wrapper(*args: Any, **kw: Any) -> Any:
            value = kw.pop(key)
            if value is not None and value is not False:
                warn_deprecated(old, new)
                current = kw.get(dest)
                if current not in (None, False, value):
                    raise click.UsageError(f"{old} (the old spelling of {new}) and {new} disagree; give only {new}")
                kw[dest] = value
            return f(*args, **kw)

        return click.option(old, key, hidden=True, is_flag=is_flag, default=None if not is_flag else False,
                            help=f"Old spelling of {new}.", **kwargs)(wrapper)

    return decorator

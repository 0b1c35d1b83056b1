"""The `publish` command line. Commands live one per module and are imported only when run,
so `publish --help` starts without importing numpy, gguf, jinja2 or huggingface_hub."""

from __future__ import annotations

import importlib
import sys

import click

from publish import __version__
from publish.cli.options import root_quiet_option

# command name -> "module:attribute"; help text is kept here so --help needs no imports.
COMMANDS: dict[str, tuple[str, str]] = {
    "inspect": ("publish.cli.inspect_cmd:inspect", "Show a GGUF header: metadata with stored types, tensors."),
    "lint": ("publish.cli.lint_cmd:lint", "Check GGUF files or a staged folder for what breaks in Ollama."),
    "fix": ("publish.cli.fix_cmd:fix", "Apply the fixable lint findings to a GGUF, in place when possible."),
    "template": ("publish.cli.template_cmd:template", "Check a Go template against a Jinja chat template; suggest one."),
    "build": ("publish.cli.build_cmd:build", "Render a release spec into a staged repo folder."),
    "push": ("publish.cli.push_cmd:push", "Push a staged folder to the Hub in one commit, skipping unchanged files."),
    "smoke": ("publish.cli.smoke_cmd:smoke", "Run every quant through a real engine and check the answers."),
    "release": ("publish.cli.release_cmd:release", "lint -> build -> smoke -> push -> smoke, stopping at the first failure."),
    "ci-matrix": ("publish.cli.ci_matrix_cmd:ci_matrix", "Print the CI matrix (GitHub Actions JSON) that splits `publish smoke` over jobs."),
    "rule": ("publish.cli.rule_cmd:rule", "Explain a lint rule: what, why, engines, example, fix."),
}

# Old command names: still run (with a deprecation warning on stderr) for one release, not listed.
# name -> ("module:attribute", old usage, new usage)
DEPRECATED_COMMANDS: dict[str, tuple[str, str, str]] = {
    "plan": ("publish.cli.ci_matrix_cmd:plan", "publish plan --matrix TARGET", "publish ci-matrix TARGET"),
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command runs (`publish lint`
    never imports the smoke engines), from the COMMANDS table; renamed commands stay reachable
    through DEPRECATED_COMMANDS."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The command names, sorted (the renamed ones are hidden)."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        """The click command `name` (a current or a renamed one), imported now; None for an unknown
        name (click then prints its usage error)."""
        known = COMMANDS.get(name) or DEPRECATED_COMMANDS.get(name)
        if known is None:
            return None
        target = known[0]
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The help's command list from the COMMANDS table's one-line descriptions, without
        importing any command module."""
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class PublishCLI(LazyGroup):
    """The `publish` command group: a PublishError ends the run with its message on stderr and its
    exit status (2 for usage, setup and input problems), never a traceback, and so does an
    OSError naming a file that no library call turned into one (publish.fsutil.unforeseen_os_error); stale temp files
    removed meanwhile are reported."""

    def invoke(self, ctx: click.Context):
        """Run the command; a PublishError (or an OSError naming a file: unforeseen_os_error)
        becomes its message (red, stderr) and `sys.exit(err.exit_code)`; Ctrl-C "Aborted!" and
        exit status 130. Afterwards stale temp files removed during the run are
        reported and --quiet is reset."""
        from publish.errors import PublishError

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:   # click would say "Aborted!" and exit 1, which here means a check failed
            from publish.quickcli import INTERRUPTED

            click.echo("Aborted!", err=True)
            sys.exit(INTERRUPTED)
        except PublishError as err:
            from publish.cli.echo import say_error

            say_error(err)
            sys.exit(err.exit_code)
        except OSError as err:
            from publish.inputpaths import unforeseen_os_error

            mapped = unforeseen_os_error(err)
            if mapped is None:
                raise
            from publish.cli.echo import say_error

            say_error(mapped)
            sys.exit(mapped.exit_code)
        finally:
            _report_stale_temp_files()
            progress = sys.modules.get("publish.progress")
            if progress is not None:
                progress.set_quiet(False)  # --quiet is for this run only (CliRunner runs many in one process)


def _report_stale_temp_files() -> None:
    """Say which temp files of a killed run this run removed (publish.fsutil.sweep_stale)."""
    fsutil = sys.modules.get("publish.fsutil")
    for note in fsutil.stale_notes() if fsutil else ():
        click.echo(note, err=True)


@click.group(cls=PublishCLI, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="publish")
@root_quiet_option
def main() -> None:
    """Lint, render, push and smoke-test GGUF releases on the Hugging Face Hub,
    so `ollama run hf.co/ORG/REPO:QUANT` works the first time."""

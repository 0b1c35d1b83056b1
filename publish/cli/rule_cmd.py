"""`publish rule CODE`: print a lint rule's page (what, why, engines, example, fix), as `ruff rule` does.
The docs site's rule pages come from the same renderer (publish.rulebook)."""

from __future__ import annotations

import click

from publish.cli.options import quiet_option


@click.command()
@click.argument("code", required=False, metavar="CODE")
@click.option("--list", "list_all", is_flag=True, help="List every rule: code, severity, name, summary.")
@quiet_option
def rule(code: str | None, list_all: bool) -> None:
    """Explain the lint rule CODE (GG101, RP115, or a rule name such as shared-kv-layers-type)."""
    from publish import rulebook
    from publish.cli.echo import say
    from publish.errors import UsageError

    if list_all:
        say(rulebook.render_list())
        return
    if not code:
        raise UsageError("name a rule code, e.g. `publish rule GG101`", hint="`publish rule --list` lists every rule")
    say(rulebook.render_page(rulebook.lookup(code)).rstrip("\n"))

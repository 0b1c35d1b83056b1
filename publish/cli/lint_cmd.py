"""`publish lint PATH...`: check GGUF files, folders or hf:// URLs. Exit 0 clean, 1 errors, 2 usage/I/O."""

from __future__ import annotations

import click


@click.command()
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "github", "sarif"]), default="text",
              show_default=True, help="text for people, json for tools, github for workflow annotations, "
                                      "sarif (2.1.0) for GitHub code scanning (upload-sarif).")
@click.option("--select", multiple=True, metavar="CODES",
              help="Only these codes or prefixes (GG1 = GG1xx); comma-separated or repeated.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Skip these codes or prefixes.")
@click.option("--target", type=click.Choice(["all", "ollama-0.24", "ollama", "llama.cpp"]), default="all",
              show_default=True,
              help="Only rules about this engine: Ollama <= 0.24's Go engine, Ollama >= 0.30 (llama-server), "
                   "llama.cpp; all = every engine a Hub user might have.")
@click.option("--base/--chat", "base", default=None,
              help="The files are a base (pretrained) model with no chat format, or a chat model. "
                   "Default: a staged folder whose template is {{ .Prompt }} is a base release; a lone "
                   "file is one when its header says so. Chat-only rules (GG203) skip base models.")
@click.option("--explain", metavar="CODE", help="Print the page of rule CODE (as `publish rule CODE`) and exit.")
@click.pass_context
def lint(ctx: click.Context, paths: tuple[str, ...], fmt: str, select: tuple[str, ...],
         ignore: tuple[str, ...], target: str, base: bool | None, explain: str | None) -> None:
    """Check GGUF files, folders of GGUFs (a staged repo folder gets folder checks too)
    or hf://ORG/NAME[/FILE.gguf] for what breaks in Ollama and llama.cpp."""
    if explain is not None:
        from publish.cli.rule_cmd import rule

        ctx.invoke(rule, code=explain, list_all=False)
        return
    if not paths:
        raise click.UsageError("Missing argument 'PATH...'.")
    from publish.lint import lint_paths
    from publish.report import format_findings

    kind = None if base is None else ("base" if base else "chat")
    result = lint_paths(list(paths), select=list(select) or None, ignore=list(ignore) or None, target=target,
                        kind=kind)
    from publish.cli.echo import say

    say(format_findings(result.findings, len(result.files), fmt))
    ctx.exit(result.exit_code)

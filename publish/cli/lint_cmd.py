"""`publish lint PATH...`: check GGUF files, folders, hf:// URLs or hf.co/ORG/NAME[:TAG]. Exit 0 clean, 1 errors, 2 usage/I/O."""

from __future__ import annotations

import click

from publish.cli.options import format_option, output_option, quiet_option


@click.command()
@click.argument("paths", nargs=-1, metavar="PATH...")
@format_option({"text": "for people", "json": "for tools", "github": "workflow annotations",
                "sarif": "SARIF 2.1.0 for GitHub code scanning (upload-sarif)"})
@output_option("Write the report to FILE instead of stdout (e.g. --format sarif -o lint.sarif).")
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
@quiet_option
@click.pass_context
def lint(ctx: click.Context, paths: tuple[str, ...], fmt: str, output: str | None, select: tuple[str, ...],
         ignore: tuple[str, ...], target: str, base: bool | None, explain: str | None) -> None:
    """Check GGUF files, folders of GGUFs (a staged repo folder gets folder checks too),
    hf://ORG/NAME[/FILE.gguf] or hf.co/ORG/NAME[:TAG] for what breaks in Ollama and llama.cpp.

    hf.co/ORG/NAME[:TAG] (also https://hf.co/… and https://huggingface.co/…) is what users type
    into `ollama run`: lint reads the GGUF the Hub serves for TAG (the quant label in the file
    name, any case; no TAG: Q4_K_M, else the first Q4 quant, else the first GGUF), a split set whole."""
    if explain is not None:
        from publish.cli.rule_cmd import rule

        ctx.invoke(rule, code=explain, list_all=False)
        return
    if not paths:
        raise click.UsageError("Missing argument 'PATH...'.")
    from publish.lint import lint_report

    text, code = lint_report(list(paths), fmt, select=list(select), ignore=list(ignore), target=target, base=base)
    from publish.cli.echo import say_report

    say_report(text, output)
    ctx.exit(code)

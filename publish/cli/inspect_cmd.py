"""`publish inspect FILE... [--format json]`: what a GGUF header says, with each key's stored type."""

from __future__ import annotations

import click

from publish.cli.options import format_option, quiet_option


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@format_option({"text": "a summary for people", "json": "the full header, every key with its stored type"},
               json_short=True)
@click.option("--full-arrays", is_flag=True,
              help="With JSON output, print every item of long arrays (default: the first 16 and the length).")
@click.option("--full-strings", is_flag=True,
              help="With JSON output, print long strings whole (default: the first 65,536 characters and the length).")
@quiet_option
@click.pass_context
def inspect(ctx: click.Context, files: tuple[str, ...], fmt: str, full_arrays: bool,
            full_strings: bool) -> None:
    """Show GGUF headers: architecture, quant, parameters, special tokens, chat templates,
    tensors by type. FILE is a .gguf, a folder of them, hf://ORG/NAME[/FILE.gguf] or
    hf.co/ORG/NAME[:TAG]: the GGUF `ollama run` gets for TAG (the quant label in the file name,
    any case; no TAG: Q4_K_M, else the first Q4 quant, else the first GGUF; a split set's first part)."""
    from publish.cli.echo import say_error
    from publish.inspection import inspect_files

    code = inspect_files(list(files), fmt, full_arrays=full_arrays, full_strings=full_strings,
                         out=lambda text, nl=True: click.echo(text, nl=nl), err=say_error)
    if code:
        ctx.exit(code)

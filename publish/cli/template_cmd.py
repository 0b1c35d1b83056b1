"""`publish template check` and `publish template suggest`."""

from __future__ import annotations

from pathlib import Path

import click

from publish.cli.echo import say, say_json
from publish.cli.options import InputPath, format_option, output_option, quiet_option
from publish.convert.inputs import load_chat_template, load_go_template
from publish.termtext import one_line


_format = format_option({"text": "for people", "json": "the whole result"}, json_short=True)


@click.group("template")
def template() -> None:
    """Check an Ollama Go template against a model's Jinja chat template, or suggest one."""


@template.command("check")
@click.option("--jinja", "jinja_path", required=True, type=InputPath(exists=True, dir_okay=False, path_type=Path),
              help="A GGUF (its tokenizer.chat_template), a tokenizer_config.json, or a Jinja template file.")
@click.option("--go", "go_path", required=True, type=InputPath(exists=True, dir_okay=False, path_type=Path),
              help="An Ollama Go template file (a Hub repo's `template`), a Modelfile with TEMPLATE, "
                   "or a GGUF (the `template` file beside it, as Ollama's hf.co bridge pairs them).")
@click.option("--bos", default=None, help="BOS text (default: from the GGUF / tokenizer_config.json, else none).")
@click.option("--eos", default=None, help="EOS text (default: from the GGUF / tokenizer_config.json, else none).")
@_format
@click.option("--show-renders", is_flag=True, help="Also print both prompts for every conversation.")
@quiet_option
@click.pass_context
def check_cmd(ctx: click.Context, jinja_path: Path, go_path: Path, bos: str | None, eos: str | None,
              fmt: str, show_renders: bool) -> None:
    """Render both templates on a standard conversation suite and show where they differ.

    Exit 0 when every compared conversation is identical (or differs only because the Jinja
    template trims message whitespace), 1 otherwise."""
    from publish import templatecheck

    jinja = load_chat_template(jinja_path)
    go = load_go_template(go_path)
    go_text, go_name = go.text, go.name
    result = templatecheck.check(
        jinja.text, go_text, bos_token=jinja.bos if bos is None else bos,
        eos_token=jinja.eos if eos is None else eos, jinja_name=jinja.name, go_name=go_name,
        strip_bos=jinja.strip_bos)
    if fmt == "json":
        say_json(result.to_dict(), indent=2)
    else:
        say(result.format_text(show_renders=show_renders))
    ctx.exit(result.exit_code)


@template.command("suggest")
@click.argument("gguf", type=InputPath(exists=True, dir_okay=False, path_type=Path))
@_format
@quiet_option
@click.pass_context
def suggest_cmd(ctx: click.Context, gguf: Path, fmt: str) -> None:
    """Pick the family Go template that builds the same prompts as GGUF's chat template; when no
    family is identical, convert the chat template itself (`publish template convert`).

    Exit 0 on a match (a family, or a conversion identical on every supported case), 1 otherwise."""
    from publish.convert.suggest import suggest_template

    found = suggest_template(load_chat_template(gguf), source=gguf)
    if fmt == "json":
        say_json(found.to_dict(), indent=2)   # TemplateSuggestion.to_dict
    else:
        say(found.format_text())
    ctx.exit(found.exit_code)


@template.command("convert")
@click.argument("source", type=InputPath(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", "template_name", default=None,
              help="A named chat template of the GGUF / tokenizer_config.json (e.g. tool_use).")
@click.option("--bos", default=None, help="BOS text (default: from the GGUF / tokenizer_config.json, else none).")
@click.option("--eos", default=None, help="EOS text (default: from the GGUF / tokenizer_config.json, else none).")
@output_option("Write `template` into DIR and set `stop` in DIR/params, replacing its stop list and keeping its "
               "other keys (only when proven identical). Leaves a staged folder's Modelfiles stale: for a "
               "release use [template] from = \"gguf\" in the spec and `publish build`.",
               dest="out_dir", file_okay=False, dir_okay=True, path_type=Path)
@_format
@click.option("--show-renders", is_flag=True, help="Also print both prompts for every case.")
@quiet_option
@click.pass_context
def convert_cmd(ctx: click.Context, source: Path, template_name: str | None, bos: str | None, eos: str | None,
                out_dir: Path | None, fmt: str, show_renders: bool) -> None:
    """Convert SOURCE's Jinja chat template (a GGUF, a tokenizer_config.json or a template file)
    into an Ollama Go template, and prove it: both render a conversation suite (system, multi-turn,
    whitespace, consecutive roles, a final assistant message, tools, thinking on/off) and must be
    byte-identical on every case the Jinja template supports.

    Exit 0 when every supported case is identical, 1 when one differs, 2 when the template uses
    a construct that cannot be converted."""
    from publish.convert import convert

    jinja = load_chat_template(source, template_name)
    conv = convert(jinja.text, bos_token=jinja.bos if bos is None else bos,
                   eos_token=jinja.eos if eos is None else eos, name=jinja.name, strip_bos=jinja.strip_bos,
                   specials=jinja.specials, tokens=jinja.tokens)
    written = conv.write(out_dir) if out_dir is not None else []   # only a proven conversion is written
    if fmt == "json":
        say_json({**conv.to_dict(), "written": written}, indent=2)
    else:
        say(conv.format_text())
        if show_renders:
            from publish.templatecheck import visible

            for c in conv.check.conversations:
                if c.jinja is not None:
                    say(f"{c.name}\n  jinja: {visible(c.jinja)}\n  go:    {visible(c.go or '')}")
        if out_dir is not None:
            if written:
                say("wrote: " + one_line(", ".join(str(out_dir / w) for w in written)))
            else:
                say(f"not written to {one_line(out_dir)}: the converted template is not identical on every case")
    ctx.exit(conv.exit_code)

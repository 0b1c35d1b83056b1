"""`publish template check` and `publish template suggest`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click


@dataclass
class JinjaSource:
    text: str
    name: str
    bos: str = ""
    eos: str = ""
    strip_bos: bool = True


def _is_gguf(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"GGUF"


def _read_text(path: Path) -> str:
    from publish.fsutil import read_utf8

    return read_utf8(path, hint="not a GGUF either: pass a GGUF, a tokenizer_config.json or a template file saved as UTF-8")


def load_jinja(path: Path) -> JinjaSource:
    """A GGUF (its tokenizer.chat_template, BOS and EOS), a tokenizer_config.json, or a template file."""
    from publish.errors import UsageError

    if _is_gguf(path):
        from publish.gguf.reader import read_header

        hdr = read_header(str(path))
        if not hdr.chat_template:
            raise UsageError(f"{path}: the GGUF has no tokenizer.chat_template",
                             hint="pass the model's chat template file with --jinja instead")
        return JinjaSource(hdr.chat_template, f"{path.name}:tokenizer.chat_template",
                           hdr.bos_text or "", hdr.eos_text or "", hdr.add_bos_token is not False)
    text = _read_text(path)
    if path.suffix == ".json":
        return _from_tokenizer_config(path, text)
    return JinjaSource(text, path.name)


def _from_tokenizer_config(path: Path, text: str) -> JinjaSource:
    from publish.errors import UsageError

    try:
        config = json.loads(text)
    except ValueError as err:
        raise UsageError(f"{path}: not valid JSON: {err}") from None
    template = config.get("chat_template") if isinstance(config, dict) else None
    if isinstance(template, list):  # [{"name": "default", "template": ...}, ...]
        named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
        template = named.get("default")
    if not isinstance(template, str):
        raise UsageError(f"{path}: no chat_template string in this JSON file")

    def token(key: str) -> str:
        value = config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        return value if isinstance(value, str) else ""

    return JinjaSource(template, f"{path.name}:chat_template", token("bos_token"), token("eos_token"))


def load_go(path: Path) -> tuple[str, str]:
    """(Go template text, display name) from a template file, a Modelfile's TEMPLATE, or for a GGUF
    the `template` file beside it: what Ollama's hf.co bridge pairs with that GGUF."""
    from publish.errors import UsageError

    if _is_gguf(path):
        beside = path.parent / "template"
        if not beside.is_file():
            raise UsageError(
                f"{path}: a GGUF holds no Ollama Go template, and there is no `template` file beside it "
                "(Ollama reads it from the Hub repo's `template` file or a Modelfile's TEMPLATE)",
                hint=f"pass that file with --go, or run `publish template suggest {path}`")
        return _read_text(beside), f"{path.parent.name}/template (beside {path.name})"
    text = _read_text(path)
    if path.name.lower().startswith("modelfile") or path.suffix.lower() == ".modelfile":
        from publish import modelfile

        template = modelfile.parse(text, source=str(path)).template
        if template is None:
            raise UsageError(f"{path}: the Modelfile has no TEMPLATE",
                             hint="without one Ollama uses the template of the FROM model")
        return template, f"{path.name}:TEMPLATE"
    return text, path.name


@click.group("template")
def template() -> None:
    """Check an Ollama Go template against a model's Jinja chat template, or suggest one."""


@template.command("check")
@click.option("--jinja", "jinja_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A GGUF (its tokenizer.chat_template), a tokenizer_config.json, or a Jinja template file.")
@click.option("--go", "go_path", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An Ollama Go template file (a Hub repo's `template`), a Modelfile with TEMPLATE, "
                   "or a GGUF (the `template` file beside it, as Ollama's hf.co bridge pairs them).")
@click.option("--bos", default=None, help="BOS text (default: from the GGUF / tokenizer_config.json, else none).")
@click.option("--eos", default=None, help="EOS text (default: from the GGUF / tokenizer_config.json, else none).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--show-renders", is_flag=True, help="Also print both prompts for every conversation.")
@click.pass_context
def check_cmd(ctx: click.Context, jinja_path: Path, go_path: Path, bos: str | None, eos: str | None,
              as_json: bool, show_renders: bool) -> None:
    """Render both templates on a standard conversation suite and show where they differ.

    Exit 0 when every compared conversation is identical (or differs only because the Jinja
    template trims message whitespace), 1 otherwise."""
    from publish import templatecheck

    jinja = load_jinja(jinja_path)
    go_text, go_name = load_go(go_path)
    result = templatecheck.check(
        jinja.text, go_text, bos_token=jinja.bos if bos is None else bos,
        eos_token=jinja.eos if eos is None else eos, jinja_name=jinja.name, go_name=go_name,
        strip_bos=jinja.strip_bos)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.format_text(show_renders=show_renders))
    ctx.exit(result.exit_code)


@template.command("suggest")
@click.argument("gguf", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def suggest_cmd(ctx: click.Context, gguf: Path, as_json: bool) -> None:
    """Pick the family Go template that builds the same prompts as GGUF's chat template.

    Exit 0 on a match, 1 when only a closest (differing) family exists."""
    from publish import templatecheck
    from publish.chat import ChatTemplate

    jinja = load_jinja(gguf)
    chat = ChatTemplate(jinja.text, name=jinja.name, bos_token=jinja.bos, eos_token=jinja.eos,
                        now=templatecheck.CHECK_DATE)
    found = templatecheck.suggest(chat, strip_bos=jinja.strip_bos)
    fam, result = found.family, found.result
    if as_json:
        click.echo(json.dumps({
            "gguf": str(gguf), "family": fam.name, "match": found.matches, "exact": result.exact,
            "description": fam.description, "stop": fam.stop, "template": fam.template,
            "check": result.to_dict(),
            "ranking": [{"family": f.name, "status": r.status, "differing_chars": r.differing_chars}
                        for f, r in found.ranked],
        }, ensure_ascii=False, indent=2))
    else:
        if found.matches:
            how = "identical prompts" if result.exact else "same prompts up to the Jinja template's whitespace trimming"
            click.echo(f"family: {fam.name} ({how} on every checked conversation)")
        else:
            click.echo(f"no family template builds the same prompts; closest: {fam.name} "
                       f"({result.differing_chars} differing characters)")
        click.echo(f"  {fam.description}")
        click.echo("stop: " + json.dumps(fam.stop, ensure_ascii=False))
        click.echo("template:")
        click.echo(fam.template.rstrip("\n"))
        click.echo(result.format_text())
    ctx.exit(0 if found.matches else 1)

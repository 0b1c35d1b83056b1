"""Pages generated at build time (mkdocs-gen-files), from the code itself so they never drift:

- rules/index.md and rules/CODE.md: every lint rule, rendered by publish.rulebook (the renderer
  behind `publish rule CODE`);
- cli.md: every command's `--help`, as the terminal shows it (the way simonw/llm documents its CLI);
- api/*.md: the public modules through mkdocstrings.

Run by `make docs` (mkdocs build --strict); `python docs/gen_pages.py --check` lists what it would write.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publish import rulebook  # noqa: E402
from publish.cli import COMMANDS, DEPRECATED_COMMANDS, main  # noqa: E402

# The library a Python user calls, by job (each module's own docstring says what it is for).
API: dict[str, tuple[str, str, list[str]]] = {
    "gguf": ("GGUF files", "Read a header, a split set, and change a header in place.",
             ["publish.gguf.reader", "publish.gguf.header", "publish.gguf.split", "publish.gguf.fix",
              "publish.gguf.changes", "publish.gguf.summary"]),
    "lint": ("Lint", "Run the rules over files, folders or Hub repos and format the findings.",
             ["publish.lint", "publish.fixing", "publish.findings", "publish.gguf.rules", "publish.folder_rules",
              "publish.engines", "publish.report", "publish.rulebook"]),
    "templates": ("Templates", "Ollama's Go templates, sandboxed Jinja chat templates, the check "
                  "between them, family templates and the converter.",
                  ["publish.gotmpl", "publish.chat", "publish.templatecheck", "publish.families",
                   "publish.convert", "publish.convert.inputs", "publish.convert.suggest"]),
    "release": ("Release spec, build, release", "Load a spec, build the staged folder, run the whole flow.",
                ["publish.spec", "publish.build", "publish.staged", "publish.modelfile", "publish.release"]),
    "hub": ("Hub", "Plan and push a staged folder; read remote GGUF headers.",
            ["publish.hub.plan", "publish.hub.push", "publish.hub.remote"]),
    "smoke": ("Smoke tests", "Run quants through llama.cpp or Ollama and report.",
              ["publish.smoke.runner", "publish.smoke.targets", "publish.smoke.results",
               "publish.smoke.report", "publish.smoke.llamacpp"]),
    "errors": ("Errors", "One exception root; every message says what to do next.", ["publish.errors"]),
}


def help_text(path: list[str]) -> str:
    """`publish PATH... --help` as the terminal prints it at 100 columns."""
    ctx = click.Context(main, info_name="publish", terminal_width=100, max_content_width=100,
                        **main.context_settings)
    cmd: click.Command = main
    for name in path:
        cmd = cmd.get_command(ctx, name)  # type: ignore[union-attr]
        ctx = click.Context(cmd, info_name=name, parent=ctx, terminal_width=100, max_content_width=100)
    return cmd.get_help(ctx)


def cli_page() -> str:
    out = ["# Command-line reference", "",
           "Every command's `--help`, generated from the commands themselves when the docs are built.",
           "Exit status everywhere: 0 passed, 1 a check failed, 2 a usage, input or setup problem "
           "(the message says what to run or install), 130 interrupted by Ctrl-C.", "",
           "Every command spells the shared options the same way: `-q/--quiet` (no progress output "
           "on stderr; it is also off when stderr is not a terminal or `CI` is set), `-o/--output` "
           "where the command writes a file or folder, `--format` where it can print more than one "
           "format (`--json` is short for `--format json` where a command had `--json` before), "
           "`--repo ORG/NAME` defaulting to the repo the staged folder or the release spec names. "
           "What goes to stdout and stderr, and when progress is shown: "
           "[how the commands behave](cli-behaviour.md).", "",
           "```text", help_text([]).rstrip(), "```", ""]
    ctx = click.Context(main, info_name="publish")
    old = deprecated_spellings(ctx)
    if old:
        out += ["Old spellings that still work for one release, with a warning on stderr "
                "(never on stdout), and are not listed below:", ""]
        out += [f"- `{before}`: use `{after}`" for before, after in old] + [""]
    for name in sorted(COMMANDS):
        out += [f"## publish {name}", "", "```text", help_text([name]).rstrip(), "```", ""]
        cmd = main.get_command(ctx, name)
        if isinstance(cmd, click.Group):
            sub_ctx = click.Context(cmd, info_name=name, parent=ctx)
            for sub in cmd.list_commands(sub_ctx):
                out += [f"### publish {name} {sub}", "", "```text", help_text([name, sub]).rstrip(), "```", ""]
    return "\n".join(out)


def deprecated_spellings(ctx: click.Context) -> list[tuple[str, str]]:
    """(old, new) for the hidden old command names and option spellings (publish.cli.options)."""
    out = []
    out += [(before, after) for _, before, after in sorted(DEPRECATED_COMMANDS.values())]
    for name in sorted(COMMANDS):
        cmd = main.get_command(ctx, name)
        subs = ([(f"{name} {s}", cmd.get_command(ctx, s)) for s in cmd.list_commands(ctx)]
                if isinstance(cmd, click.Group) else [(name, cmd)])
        for path, sub in subs:
            for p in sub.params:
                if isinstance(p, click.Option) and p.hidden and (p.help or "").startswith("Old spelling of "):
                    new = p.help.removeprefix("Old spelling of ").rstrip(".")
                    out.append((f"publish {path} {p.opts[0]}", f"publish {path} {new}"))
    return out


def rules_index() -> str:
    return "\n".join([
        "# Rules", "",
        "`publish lint` checks GGUF headers (**GG** codes) and staged release folders (**RP** codes). "
        "Each rule has a page: what it checks, why it matters, the engines affected, an example and "
        "the fix. `publish rule CODE` prints the same page in the terminal.", "",
        "Select or skip rules as ruff does: `publish lint DIR --select GG1,RP115 --ignore GG205` "
        "(codes or prefixes); `--target ollama-0.24|ollama|llama.cpp` keeps the GG rules about one engine.", "",
        rulebook.render_index(),
    ])


def api_index() -> str:
    out = ["# Python API", "",
           "Every command is a thin layer over a library call. These are the modules a Python user "
           "calls; their reference below is generated from the docstrings.", ""]
    for slug, (title, blurb, modules) in API.items():
        out.append(f"- [{title}]({slug}.md): {blurb} (" + ", ".join(f"`{m}`" for m in modules) + ")")
    return "\n".join(out) + "\n"


def api_page(title: str, blurb: str, modules: list[str]) -> str:
    out = [f"# {title}", "", blurb, ""]
    for m in modules:
        out += [f"::: {m}", ""]
    return "\n".join(out)


def pages() -> dict[str, str]:
    """Path under docs/ -> Markdown."""
    out = {"rules/index.md": rules_index(), "cli.md": cli_page(), "api/index.md": api_index()}
    for code, rule in rulebook.all_rules().items():
        out[f"rules/{code}.md"] = rulebook.render_page(rule, html=True)
    for slug, (title, blurb, modules) in API.items():
        out[f"api/{slug}.md"] = api_page(title, blurb, modules)
    return out


def _write() -> None:
    import mkdocs_gen_files

    for path, text in pages().items():
        with mkdocs_gen_files.open(path, "w") as f:
            f.write(text)
        mkdocs_gen_files.set_edit_path(path, "gen_pages.py")


if __name__ == "__main__":
    if "--check" in sys.argv:
        for path in pages():
            print(path)
    else:
        _write()
else:
    _write()

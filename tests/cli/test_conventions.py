"""Every command spells its options the same way (publish/cli/options.py): `-q/--quiet` on every
command (and `publish -q COMMAND`), `-o/--output` on every command that writes a file or folder,
`--format json` on every command that prints a result (`--json` its short form where it existed),
old spellings still working with a warning on stderr only. The tree is walked and every command
run, so a new command is held to the same rules."""

from __future__ import annotations

import json
import re
import shutil
import click
import pytest
from click.testing import CliRunner

from paths import ROOT
from publish.cli import COMMANDS, DEPRECATED_COMMANDS, main

TINY_SPEC = ROOT / "examples" / "tiny" / "release.toml"

# What each command does, decided once per command. A new command fails
# test_every_command_is_classified until it is listed here: does it write a file or folder
# (then it takes -o/--output), which formats does it print (json: it takes --format json)?
WRITERS = {"build", "fix", "lint", "release", "smoke", "template convert"}
FORMATS = {
    "ci-matrix": {"json", "text"}, "plan": {"json", "text"},
    "inspect": {"text", "json"}, "lint": {"text", "json", "github", "sarif"},
    "smoke": {"text", "json", "junit", "markdown"},
    "template check": {"text", "json"}, "template suggest": {"text", "json"}, "template convert": {"text", "json"},
    "push": {"text", "json"}, "release": {"text", "json"}, "build": {"text", "json"}, "fix": {"text", "json"},
    "rule": set(),
}
# Had --json before --format existed; --json stays as its short form.
JSON_SHORT = {"inspect", "smoke", "template check", "template suggest", "template convert"}
# Spellings a peer tool would not use for what these commands mean.
NOT_OURS = {"--out", "--output-dir", "--outdir", "--out-dir", "--outfile", "--output-file", "--silent",
            "--json-output", "--output-format", "--repo-id"}


def walk(group: click.Group = main, ctx: click.Context | None = None, prefix: str = ""):
    """(name, command) for every runnable command, sub-commands and deprecated names included."""
    ctx = ctx or click.Context(main, info_name="publish")
    names = list(group.list_commands(ctx)) + (list(DEPRECATED_COMMANDS) if group is main else [])
    for name in names:
        cmd = group.get_command(ctx, name)
        assert cmd is not None, f"`publish {prefix}{name}` is listed but does not load"
        if isinstance(cmd, click.Group):
            yield from walk(cmd, click.Context(cmd, info_name=name, parent=ctx), f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}", cmd


COMMAND_TREE = dict(walk())


def options(cmd: click.Command) -> dict[str, click.Option]:
    return {opt: p for p in cmd.params if isinstance(p, click.Option) for opt in (*p.opts, *p.secondary_opts)}


def test_the_walk_sees_every_command():
    assert {"lint", "template check", "template convert", "ci-matrix", "plan"} <= set(COMMAND_TREE)
    assert {n.split()[0] for n in COMMAND_TREE} == set(COMMANDS) | set(DEPRECATED_COMMANDS)


def test_every_command_is_classified():
    assert set(COMMAND_TREE) == set(FORMATS), (
        "list each new command in FORMATS (and WRITERS when it writes a file or folder)")


@pytest.mark.parametrize("name", sorted(COMMAND_TREE))
def test_every_command_has_quiet(name):
    opts = options(COMMAND_TREE[name])
    assert "--quiet" in opts and opts["--quiet"] is opts.get("-q"), f"`publish {name}` lacks -q/--quiet"
    assert opts["--quiet"].is_flag


@pytest.mark.parametrize("name", sorted(COMMAND_TREE))
def test_writers_take_dash_o_output_and_nothing_else_writes_unnamed(name):
    cmd = COMMAND_TREE[name]
    opts = options(cmd)
    if name in WRITERS:
        assert "--output" in opts and opts["--output"] is opts.get("-o"), f"`publish {name}` writes: -o/--output"
    else:
        assert "--output" not in opts and "-o" not in opts, f"`publish {name}` has -o but is not in WRITERS"
    # an option that writes a path (its help says so) marks the command as a writer
    for p in cmd.params:
        if isinstance(p, click.Option) and isinstance(p.type, click.Path) and re.search(r"\bwrite", p.help or "", re.I):
            assert name in WRITERS, f"`publish {name}` {p.opts[-1]} writes a file: list it in WRITERS, give it -o/--output"


@pytest.mark.parametrize("name", sorted(COMMAND_TREE))
def test_formats_are_one_format_option(name):
    cmd = COMMAND_TREE[name]
    opts = options(cmd)
    want = FORMATS[name]
    if not want:
        assert "--format" not in opts and "--json" not in opts
        for p in cmd.params:  # a JSON printer must not hide behind another option name
            assert not (isinstance(p.type, click.Choice) and "json" in p.type.choices), name
        return
    fmt = opts.get("--format")
    assert fmt is not None, f"`publish {name}` prints {sorted(want)}: it takes --format"
    assert isinstance(fmt.type, click.Choice) and set(fmt.type.choices) == want
    if name in JSON_SHORT:
        assert "--json" in opts and "--format json" in (opts["--json"].help or "")
    else:
        assert "--json" not in opts, f"`publish {name}`: new commands take --format json only"


def test_same_option_same_spelling_everywhere():
    """A long option has the same short alias (or none) in every command, and none uses a
    spelling the peers do not (--out, --output-dir, --silent...) except as a hidden old spelling."""
    shorts: dict[str, set[tuple[str, ...]]] = {}
    metavars: dict[str, set[str]] = {}
    for name, cmd in COMMAND_TREE.items():
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.hidden:
                continue
            longs = [o for o in p.opts if o.startswith("--")]
            assert not set(p.opts) & NOT_OURS, f"`publish {name}` {p.opts}: spell it as the other commands do"
            for long in longs:
                shorts.setdefault(long, set()).add(tuple(sorted(o for o in p.opts if not o.startswith("--"))))
                if not p.is_flag and not isinstance(p.type, click.Choice):
                    metavars.setdefault(long, set()).add(p.metavar or p.type.name.upper())
    differing = {long: s for long, s in shorts.items() if len(s) > 1}
    assert not differing, f"options with different short forms across commands: {differing}"
    differing = {long: m for long, m in metavars.items() if len(m) > 1 and long != "--output"}  # FILE or DIR
    assert not differing, f"options with different value names across commands: {differing}"
    assert shorts["--output"] == {("-o",)} and shorts["--quiet"] == {("-q",)} and shorts["--verbose"] == {("-v",)}


@pytest.mark.parametrize("name", sorted(COMMAND_TREE))
def test_hidden_options_are_old_spellings(name):
    for p in COMMAND_TREE[name].params:
        if isinstance(p, click.Option) and p.hidden:
            assert p.name.startswith("_renamed_"), f"`publish {name}` {p.opts}: hidden but not a renamed option"


@pytest.mark.parametrize("name", sorted(COMMAND_TREE))
def test_repo_is_optional_and_says_where_its_default_comes_from(name):
    opt = options(COMMAND_TREE[name]).get("--repo")
    if opt is not None:
        assert not opt.required and opt.metavar == "ORG/NAME"
        assert re.search(r"default: the (spec's `repo`|repo `publish build` recorded)", opt.help), opt.help


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# A command whose stdout is not a result of work on the user's files, with the reason. Every
# other command that prints something on a good run must take --format with json.
NOT_A_RESULT = {"rule": "prints a rule's documentation page (as `ruff rule` does), not a result"}


@pytest.mark.llamacpp
def test_every_command_that_prints_a_result_takes_format_json(tmp_path, hub, monkeypatch):
    """Runs every command of the tree on real input (the tiny example; push against the Hub
    stand-in; smoke and release through llama.cpp). A command that prints anything on stdout is
    printing a result: it must take --format with json (unless NOT_A_RESULT says why not), and
    --format json must print one JSON document and nothing else. A new command fails here until it
    has a run in the table below."""
    monkeypatch.setenv("OLLAMA_HOST", "http://127.0.0.1:9")   # no Ollama is contacted by accident
    gguf = TINY_SPEC.parent / "tiny-llama-Q8_0.gguf"
    template = tmp_path / "template"
    template.write_text("{{ .Prompt }}")
    staged = tmp_path / "staged"
    assert run("build", TINY_SPEC, "-o", staged, "--repo", "alice/tiny-GGUF", "-q").exit_code == 0
    fixable = tmp_path / "fix.gguf"
    shutil.copyfile(gguf, fixable)
    runs = {
        "inspect": [gguf], "lint": [gguf], "ci-matrix": [TINY_SPEC], "plan": ["--matrix", TINY_SPEC],
        "template suggest": [gguf], "template convert": [gguf], "template check": ["--jinja", gguf, "--go", template],
        "build": [TINY_SPEC, "-o", tmp_path / "built"], "fix": [fixable, "--dry-run"],
        "push": [staged, "--dry-run"],
        "smoke": [staged, "--backend", "llamacpp"],
        "release": [TINY_SPEC, "--backend", "llamacpp", "-o", tmp_path / "released"],
        "rule": ["GG101"],
    }
    assert set(runs) == set(COMMAND_TREE), "give each new command a run here"
    for name, args in runs.items():
        res = run(*name.split(), *args)
        assert res.exit_code in (0, 1), (name, res.output)
        if not res.stdout.strip() or name in NOT_A_RESULT:
            continue
        fmt = options(COMMAND_TREE[name]).get("--format")
        assert fmt is not None and "json" in fmt.type.choices, (
            f"`publish {name}` prints a result but has no --format json (or list it in NOT_A_RESULT, with why)")
        res = run(*name.split(), *args, "--format", "json")
        assert res.exit_code in (0, 1), (name, res.output)
        assert isinstance(json.loads(res.stdout), (dict, list)), name


def test_ci_matrix_and_its_old_spelling(tmp_path):
    new = run("ci-matrix", TINY_SPEC)
    assert new.exit_code == 0, new.output
    assert new.stderr == ""
    doc = json.loads(new.stdout)
    assert [e["quants"] for e in doc["include"]] == ["F32", "Q8_0"]
    assert run("ci-matrix", TINY_SPEC, "--format", "json").stdout == new.stdout

    old = run("plan", "--matrix", TINY_SPEC)
    assert old.exit_code == 0, old.output
    assert old.stdout == new.stdout  # stdout stays the matrix: $(publish plan --matrix ...) keeps working
    assert "deprecated" in old.stderr and "publish ci-matrix TARGET" in old.stderr

    text = run("ci-matrix", TINY_SPEC, "--format", "text")
    assert [line.split()[:2] for line in text.stdout.splitlines()] == [["1/2", "F32"], ["2/2", "Q8_0"]]
    assert "plan" not in run("--help").stdout.split("Commands:")[1]


def test_old_out_spelling_works_and_warns_on_stderr_only(tmp_path):
    gguf_dir = tmp_path / "ggufs"
    shutil.copytree(TINY_SPEC.parent, gguf_dir)
    new = run("build", TINY_SPEC, "--gguf-dir", gguf_dir, "-o", tmp_path / "a")
    old = run("build", TINY_SPEC, "--gguf-dir", gguf_dir, "--out", tmp_path / "b")
    assert new.exit_code == old.exit_code == 0, old.output
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == sorted(p.name for p in (tmp_path / "a").iterdir())
    assert new.stderr == "" and "--out is deprecated" in old.stderr and "-o/--output" in old.stderr
    assert "deprecated" not in old.stdout
    clash = run("build", TINY_SPEC, "--gguf-dir", gguf_dir, "--out", tmp_path / "b", "--output", tmp_path / "c")
    assert clash.exit_code == 2 and "disagree" in clash.output


def test_json_is_short_for_format_json(tiny_llama_path):
    short = run("inspect", tiny_llama_path, "--json")
    long = run("inspect", tiny_llama_path, "--format", "json")
    assert short.exit_code == long.exit_code == 0
    assert short.stdout == long.stdout and json.loads(short.stdout)["version"] == 3
    clash = run("inspect", tiny_llama_path, "--json", "--format", "text")
    assert clash.exit_code == 2 and "contradicts" in clash.output


def test_lint_output_writes_the_report_stdout_stays_empty(tmp_path, tiny_llama_path):
    out = tmp_path / "lint.sarif"
    res = run("lint", tiny_llama_path, "--format", "sarif", "-o", out)
    printed = run("lint", tiny_llama_path, "--format", "sarif")
    assert res.stdout == "" and res.exit_code == printed.exit_code
    assert json.loads(out.read_text()) == json.loads(printed.stdout)


def test_quiet_is_for_one_run_only(tiny_llama_path):
    from publish import progress

    assert run("inspect", tiny_llama_path, "-q").exit_code == 0
    assert not progress.is_quiet()


def test_repo_comes_from_the_spec_then_the_folder_and_repo_overrides_both(tmp_path, hub):
    """build records the spec's repo (or --repo) in the folder; push without --repo pushes there."""
    from publish.staged import load_staged

    gguf_dir = tmp_path / "ggufs"
    shutil.copytree(TINY_SPEC.parent, gguf_dir)
    plain = run("build", TINY_SPEC, "--gguf-dir", gguf_dir, "-o", tmp_path / "plain")
    assert plain.exit_code == 0, plain.output
    assert load_staged(tmp_path / "plain").repo == "your-org/tiny-llama-GGUF"
    moved = run("build", TINY_SPEC, "--gguf-dir", gguf_dir, "-o", tmp_path / "fork", "--repo", "alice-org/tiny-fork-GGUF")
    assert moved.exit_code == 0, moved.output
    assert load_staged(tmp_path / "fork").repo == "alice-org/tiny-fork-GGUF"
    card = (tmp_path / "fork" / "README.md").read_text()
    assert "alice-org/tiny-fork-GGUF" in card and "your-org/tiny-llama-GGUF" not in card
    assert run("build", TINY_SPEC, "--gguf-dir", gguf_dir, "--repo", "not a repo").exit_code == 2

    for bad in ("not a repo", "alice-org/tiny--GGUF", "tiny-GGUF"):   # refused before any Hub request
        refused = run("push", tmp_path / "fork", "--repo", bad)
        assert refused.exit_code == 2 and "not a Hub repo id" in refused.output
    assert hub.count("POST") == hub.count("GET") == 0
    hub.create_repo("alice-org/tiny-fork-GGUF")
    pushed = run("push", tmp_path / "fork")
    assert pushed.exit_code == 0, pushed.output
    assert "alice-org/tiny-fork-GGUF" in pushed.stdout
    assert {"README.md", "params", "template"} <= set(hub.head("alice-org/tiny-fork-GGUF").files)


def test_root_quiet_is_the_commands_quiet(tmp_path, hub, terminal):
    """`publish -q CMD` silences progress exactly as `publish CMD -q` does, for that run only; the
    root option is spelt as the commands spell theirs."""
    from publish import progress

    root = options(main)
    assert root["--quiet"] is root["-q"] and root["--quiet"].is_flag
    folder = tmp_path / "staged"
    folder.mkdir()
    (folder / "model.gguf").write_bytes(b"GGUF" + bytes(1 << 20))
    (folder / "template").write_text("{{ .Prompt }}")
    dry = ["push", folder, "--repo", "alice/tiny-GGUF", "--dry-run"]
    loud = run(*dry)
    assert loud.exit_code == 0, loud.output
    assert "sha256 of 2 file(s)" in loud.stderr             # a person at a terminal sees the hash bar
    for args in (["-q", *dry], ["--quiet", *dry], [*dry, "-q"], ["-q", *dry, "-q"]):
        (folder / "template").write_text(f"{{{{ .Prompt }}}} {args!r}")   # changed: hashed again, not from cache
        quiet = run(*args)
        assert quiet.exit_code == 0 and quiet.stderr == "", (args, quiet.stderr)
        assert quiet.stdout.endswith("dry run: nothing was sent\n")
        assert not progress.is_quiet()                       # for that run only
    (folder / "template").write_text("{{ .Prompt }} again")
    assert "sha256 of 1 file(s)" in run(*dry).stderr         # the next run without -q has its bar back

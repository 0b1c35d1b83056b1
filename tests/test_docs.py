"""The docs: a short README, a page for every rule (the same text `publish rule CODE` prints), and
a nav whose every page exists. `make docs` builds the site itself with `mkdocs build --strict`."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml
from click.testing import CliRunner

from publish import rulebook
from publish.cli import main
from publish.folder_rules import RULES as FOLDER_RULES
from publish.gguf.rules import RULES as GGUF_RULES

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def _gen_pages():
    """docs/gen_pages.py's pages (path -> Markdown), without mkdocs."""
    spec = importlib.util.spec_from_file_location("gen_pages_for_test", DOCS / "gen_pages.py")
    source = (DOCS / "gen_pages.py").read_text(encoding="utf-8")
    namespace = {"__name__": "gen_pages_for_test", "__file__": str(DOCS / "gen_pages.py")}
    exec(compile(source.replace("else:\n    _write()\n", ""), spec.origin, "exec"), namespace)
    return namespace["pages"](), namespace["API"]


def test_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < 250, f"README.md has {len(lines)} lines (issue 10: under 250); move detail into docs/"


def test_every_rule_has_a_page_with_what_why_engines_example_fix():
    """Issue 10: one page per rule with what, why, engines affected, example and fix. The page
    leaves out a section whose text is empty, so both the registry entry and the page are checked."""
    pages, _ = _gen_pages()
    rules = {**GGUF_RULES, **FOLDER_RULES}
    assert len(rules) > 50
    lacking = {code: [f for f in ("summary", "why", "engines", "example", "fix") if not getattr(r, f)]
               for code, r in rules.items()}
    assert not {c: f for c, f in lacking.items() if f}, "rules without page text (registry entry, rule_docs)"
    for code in rules:
        page = pages.get(f"rules/{code}.md")
        assert page, f"no page for {code}"
        for heading in ("## What it checks", "## Why it matters", "## Engines affected", "## Example",
                        "## How to fix"):
            assert heading in page, f"{code}: {heading} missing"
        assert f"]({code}.md)" in pages["rules/index.md"], f"{code} not in the rules index"


def test_rule_pages_show_special_tokens_on_the_site():
    """`<end_of_turn>` outside a code span would vanish as an HTML tag on the site; the terminal
    shows it as it is."""
    pages, _ = _gen_pages()
    assert "&lt;end_of_turn&gt;" in pages["rules/GG205.md"]
    assert "<end_of_turn>" in rulebook.render_page(rulebook.lookup("GG205"))


def test_publish_rule_prints_the_page():
    res = CliRunner().invoke(main, ["rule", "GG101"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("# GG101: shared-kv-layers-type")
    assert "## Why it matters" in res.output and "UINT32" in res.output
    assert "Ollama ≤ 0.24 (Go engine)" in res.output
    assert res.output.rstrip("\n") == rulebook.render_page(GGUF_RULES["GG101"]).rstrip("\n")
    explain = CliRunner().invoke(main, ["lint", "--explain", "gg101"])
    assert explain.exit_code == 0 and explain.output == res.output
    rp = CliRunner().invoke(main, ["rule", "RP115"])
    assert rp.exit_code == 0 and "## How to fix" in rp.output and "stop" in rp.output


def test_unknown_rule_is_a_usage_error_with_suggestions():
    res = CliRunner().invoke(main, ["rule", "GG10"])
    assert res.exit_code == 2
    assert "unknown rule 'GG10'" in res.output and "did you mean GG100" in res.output
    res = CliRunner().invoke(main, ["lint", "--explain", "RP1155"])
    assert res.exit_code == 2 and "RP115" in res.output
    res = CliRunner().invoke(main, ["lint"])
    assert res.exit_code == 2 and "PATH" in res.output


def test_rule_list_names_every_rule():
    res = CliRunner().invoke(main, ["rule", "--list"])
    assert res.exit_code == 0
    listed = {line.split()[0] for line in res.output.splitlines() if line.strip()}
    assert listed == set(GGUF_RULES) | set(FOLDER_RULES)


def _nav_files(nav) -> list[str]:
    out = []
    for item in nav:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                out.extend(_nav_files(value) if isinstance(value, list) else [value])
    return out


def test_nav_names_only_pages_that_exist():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages, _ = _gen_pages()
    missing = [p for p in _nav_files(config["nav"]) if not (DOCS / p).is_file() and p not in pages]
    assert not missing, f"mkdocs.yml nav names pages that do not exist: {missing}"
    written = {p.relative_to(DOCS).as_posix() for p in DOCS.glob("*.md")}
    left_out = written - set(_nav_files(config["nav"]))
    assert not left_out, f"pages under docs/ that the nav does not list: {sorted(left_out)}"


def test_cli_reference_covers_every_command():
    pages, _ = _gen_pages()
    cli = pages["cli.md"]
    for name in main.list_commands(None):
        assert f"## publish {name}\n" in cli, name
    assert "--explain CODE" in cli
    # the old spellings still accepted are listed (their --help does not show them)
    for old in ("`publish plan --matrix TARGET`: use `publish ci-matrix TARGET`",
                "`publish build --out`: use `publish build -o/--output`",
                "`publish smoke --markdown`: use `publish smoke --report-markdown`"):
        assert old in cli


def test_api_pages_name_modules_that_exist():
    _, api = _gen_pages()
    for _, _, modules in api.values():
        for module in modules:
            assert importlib.util.find_spec(module) is not None, f"docs/gen_pages.py API names {module}"


def test_readme_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#:\s]+)(?:#[^)]*)?\)", text):
        assert (ROOT / target).exists(), f"README.md links to {target}"


def test_docs_links_to_pages_resolve():
    """Relative links between hand-written pages point at files that exist (mkdocs --strict checks
    the generated ones too)."""
    pages, _ = _gen_pages()
    for page in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:\s]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).is_file() or target in pages, f"{page.name} links to {target}"


def _text_blocks(path: Path) -> list[list[str]]:
    """The lines of every ```text block of a docs page."""
    return [block.splitlines() for block in
            re.findall(r"```text\n(.*?)```", path.read_text(encoding="utf-8"), re.S)]


def test_gemma3n_examples_are_what_the_commands_print(gemma3n_broken_path, tmp_path, monkeypatch):
    """The README and docs show inspect/lint/fix output on the gemma3n file tests/ggufs.py builds
    (docs/fix.md says how); byte offsets, sizes and counts there must be what the commands print
    on that file today, not on an older fixture."""
    import shutil
    name = gemma3n_broken_path.name
    shutil.copy(gemma3n_broken_path, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    inspect_out = runner.invoke(main, ["inspect", name]).output.splitlines()
    inspect_json = runner.invoke(main, ["inspect", name, "--json"]).output
    lint_out = runner.invoke(main, ["lint", name]).output.splitlines()
    fix_out = runner.invoke(main, ["fix", name]).output.splitlines()
    assert any(line.startswith(f"{name}:gemma3n.attention.shared_kv_layers: GG101") for line in lint_out)

    # docs/lint.md: the inspect summary, line for line.
    summary = [b for b in _text_blocks(DOCS / "lint.md") if b and b[0].startswith(f"{name}  (GGUF")]
    assert summary == [inspect_out], "docs/lint.md's inspect example differs from `publish inspect`"

    # Every finding shown with its `at byte` line in the README or a docs page.
    where = {lint_out[i]: lint_out[i + 1] for i in range(len(lint_out) - 1)
             if lint_out[i + 1].startswith("  at byte")}
    checked = 0
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for block in _text_blocks(page):
            for i, line in enumerate(block[:-1]):
                if line.startswith(f"{name}:") and block[i + 1].startswith("  at byte"):
                    assert line in where, f"{page.name}: finding not printed by lint: {line[:80]}"
                    assert block[i + 1] == where[line], f"{page.name}: {line[:60]}…"
                    checked += 1
    assert checked >= 3  # README GG101, lint.md GG101 and GG102

    # docs/lint.md: the offsets of the keys its --format json example shows.
    import json
    kv = {e["key"]: e for e in json.loads(inspect_json)["kv"]}
    shown = [json.loads(line.replace("…16 items", "").replace(", …}", "}").replace(", ]", "]"))
             for line in re.findall(r"^\{\"key\".*$", (DOCS / "lint.md").read_text(encoding="utf-8"), re.M)]
    assert len(shown) == 2
    for entry in shown:
        real = kv[entry["key"]]
        assert (entry["offset"], entry["value_offset"], entry["type"]) == \
            (real["offset"], real["value_offset"], real["type"]), entry["key"]

    # docs/fix.md: the in-place line `publish fix` prints on that file.
    in_place = [line for line in fix_out if line.lstrip().startswith("in place:")]
    assert len(in_place) == 1 and in_place[0] in (DOCS / "fix.md").read_text(encoding="utf-8").splitlines()


# Words of the project's own bookkeeping that mean nothing to a maintainer reading the site.
_JARGON = re.compile(r"\bissue \d+\b|\bthe issue\b|\bissue's\b|\btester\b|\btester's\b|\bother helpers\b|"
                     r"\bthe seed's\b|\bkinds? [a-z](?:, [a-z])*\b(?=[:),])|\bthe lead\b|\btool library\b",
                     re.I)


def test_user_docs_have_no_internal_jargon():
    """The README, the hand-written pages and every rule page speak to maintainers: no issue
    numbers of this project, no 'tester'/'helpers'/'kind i' bookkeeping."""
    pages, _ = _gen_pages()
    texts = {p.name: p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]}
    texts.update({name: text for name, text in pages.items() if name.startswith("rules/")})
    found = [f"{name}: {m.group(0)!r}" for name, text in texts.items() for m in _JARGON.finditer(text)]
    assert not found, found


def test_rule_pages_cite_public_sources_not_our_tests():
    """A rule page cites engine sources and public reports; which test checks the claim belongs in the
    notes pages."""
    pages, _ = _gen_pages()
    cited = [name for name, text in pages.items() if name.startswith("rules/") and "tests/" in text]
    assert not cited, cited


def test_test_files_named_in_the_code_and_docs_exist():
    """A `tests/…py` path in a docstring, comment or docs page names a file that exists (tests moved
    to mirror publish/ and three docstrings kept the old names)."""
    named = []
    for path in [*sorted((ROOT / "publish").rglob("*.py")), *sorted(DOCS.glob("*.md")), ROOT / "README.md",
                 ROOT / "DEVELOPERS.md"]:
        if not path.is_file():
            continue
        for m in re.finditer(r"\btests/[\w./-]+?\.py\b", path.read_text(encoding="utf-8")):
            named.append((path.relative_to(ROOT).as_posix(), m.group(0)))
    assert len(named) > 20
    missing = [f"{where}: {test}" for where, test in named if not (ROOT / test).is_file()]
    assert not missing, missing


def test_command_comments_are_not_cut_off():
    """A `# …` comment after a command in a README or docs code block ends a sentence, not mid-way
    (one ended '…the converted chat template is')."""
    dangling = re.compile(r"\s#\s.*\b(is|are|the|a|an|and|or|of|to|with|for|from)\s*$")
    cut = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for block in re.findall(r"```(?:sh|bash|console)\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            cut += [f"{page.name}: {line.strip()}" for line in block.splitlines() if dangling.search(line)]
    assert not cut, cut


def test_site_publishes_pages_not_the_generator():
    """mkdocs copies every file under docs/ into the site unless exclude_docs names it: the page
    generator (docs/gen_pages.py) and any other non-page file stay out of site/."""
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    excluded = set((config.get("exclude_docs") or "").split())
    others = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*")
              if p.is_file() and p.suffix != ".md" and "__pycache__" not in p.parts}
    assert "gen_pages.py" in others and others <= excluded, sorted(others - excluded)

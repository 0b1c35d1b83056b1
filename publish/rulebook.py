"""Every lint rule's page, from the rules' own definitions: `publish rule CODE` prints it and the
docs site (docs/gen_pages.py) writes it as docs/rules/CODE.md, with the same renderer.

The registries are publish.gguf.rules.RULES (GG codes: one GGUF header, or a split set) and
publish.folder_rules.RULES (RP codes: a staged release folder). Each rule carries `code`, `name`,
`severity`, `summary` (what it checks), `engines` (publish.engines), `why`, `example`, `fix` and
`sources` (the engine files the claim comes from).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from publish.errors import UsageError

_SCOPES = {
    "model": "each model GGUF",
    "projector": "each projector GGUF (mmproj)",
    "any": "every GGUF",
    "split-set": "the parts of a split GGUF together",
    "repo": "the GGUFs of one folder or Hub repo together",
    "staged folder": "a staged release folder (the files the Hub repo will hold)",
}


def all_rules() -> dict[str, Any]:
    """Code -> rule for every GG and RP rule, sorted by code. A rule is a
    publish.gguf.rules.Rule or a publish.folder_rules.FolderRule (the same page fields)."""
    from publish.folder_rules import RULES as FOLDER
    from publish.gguf.rules import RULES as GGUF

    merged = {**GGUF, **FOLDER}
    return {code: merged[code] for code in sorted(merged)}


def lookup(code: str) -> Any:
    """The rule with this code (case-insensitive) or name (`shared-kv-layers-type`).

    Raises UsageError (exit 2) for an unknown one, naming the closest codes or names."""
    rules = all_rules()
    key = code.strip()
    if key.upper() in rules:
        return rules[key.upper()]
    by_name = {r.name: r for r in rules.values()}
    if key.lower() in by_name:
        return by_name[key.lower()]
    upper = key.upper()
    close = [c for c in rules if upper and c.startswith(upper)][:3]
    close += [c for c in difflib.get_close_matches(upper, list(rules), n=3, cutoff=0.6) if c not in close]
    close += difflib.get_close_matches(key.lower(), list(by_name), n=2, cutoff=0.6)
    hint = (f"did you mean {', '.join(close[:4])}? " if close else "") + "(`publish rule --list` lists every rule)"
    raise UsageError(f"unknown rule {key!r}", hint=hint)


def _engines(rule: Any) -> list[str]:
    return [f"{e.title} (`--target {e.value}`)" for e in rule.engines]


_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)


def _html_safe(text: str) -> str:
    """`<` and `>` outside code spans as entities, so `<end_of_turn>` is not taken for an HTML tag."""
    out, last = [], 0
    for m in _CODE_SPAN.finditer(text):
        out.append(text[last:m.start()].replace("<", "&lt;").replace(">", "&gt;"))
        out.append(m.group(0))
        last = m.end()
    out.append(text[last:].replace("<", "&lt;").replace(">", "&gt;"))
    return "".join(out)


def render_page(rule: Any, *, html: bool = False) -> str:
    """The rule's page as Markdown: title, severity, what, why, engines, example, fix, sources.

    `publish rule CODE` prints it as it is (as `ruff rule` does); the docs site renders it with
    `html=True`, which only writes `<`/`>` outside code spans as entities."""
    text = _html_safe if html else (lambda t: t)
    fixable = "yes, `publish fix` applies it" if rule.fixable else "no"
    out = [f"# {rule.code}: {rule.name}", "",
           f"**Severity:** {rule.severity.value} · **Fixable:** {fixable} · "
           f"**Checks:** {_SCOPES.get(rule.applies_to, rule.applies_to)}", "",
           "## What it checks", "", text(rule.summary.strip()), ""]
    if rule.why:
        out += ["## Why it matters", "", text(rule.why.strip()), ""]
    out += ["## Engines affected", ""] + [f"- {e}" for e in _engines(rule)] + [""]
    if rule.example:
        out += ["## Example", "", text(rule.example.strip()), ""]
    if rule.fix:
        out += ["## How to fix", "", text(rule.fix.strip()), ""]
    if rule.sources:
        out += ["## Sources", ""] + [f"- {text(s)}" for s in rule.sources] + [""]
    return "\n".join(out)


def render_index(link: str = "{code}.md") -> str:
    """A Markdown table of every rule (code linked with `link`, severity, fixable, engines, summary)."""
    rows = ["| code | name | severity | fixable | engines | what it checks |",
            "| --- | --- | --- | --- | --- | --- |"]
    for code, r in all_rules().items():
        engines = ", ".join(e.value for e in r.engines)
        summary = _html_safe(r.summary.strip()).replace("|", "\\|").replace("\n", " ")
        rows.append(f"| [{code}]({link.format(code=code)}) | {r.name} | {r.severity.value} | "
                    f"{'yes' if r.fixable else ''} | {engines} | {summary} |")
    return "\n".join(rows) + "\n"


def render_list() -> str:
    """One line per rule for the terminal: code, severity, name, summary."""
    return "\n".join(f"{code}  {r.severity.value:<7}  {r.name}: {r.summary.strip()}"
                     for code, r in all_rules().items())

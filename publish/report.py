"""Finding formats: text for people, JSON for tools, GitHub workflow commands for CI annotations."""

from __future__ import annotations

from publish.findings import Finding, Severity, severity_counts
from publish.termtext import ONE_LINE, json_dumps, one_line, shell_command
from publish.sources import is_remote

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Iterable


def summary(findings: list[Finding], n_files: int) -> dict:
    """The counts a report ends with: {"files", "errors", "warnings", "info", "fixable"}."""
    counts = severity_counts(findings)
    return {
        "files": n_files,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "info": counts["info"],
        "fixable": sum(f.fixable for f in findings),
    }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def summary_line(findings: list[Finding], n_files: int) -> str:
    """The last line of a text report: `2 errors, 1 warning, 0 info in 3 files (1 fixable with
    `publish fix`)`."""
    s = summary(findings, n_files)
    line = (f"{_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}, {s['info']} info "
            f"in {_plural(s['files'], 'file')}")
    if s["fixable"]:
        line += f" ({s['fixable']} fixable with `publish fix`)"
    return line


# Keys and values come from strangers' files: keep each finding on its line and keep terminal
# escape sequences out of the user's terminal (publish.termtext, the escaping every command uses).
_CONTROL_BUT_NEWLINES = {c: v for c, v in ONE_LINE.items() if c not in (0x0A, 0x0D)}


def format_text(findings: list[Finding], n_files: int) -> str:
    """ruff-like: `path:subject: CODE [severity] message`, an indented hint, then a summary."""
    lines = []
    for f in findings:
        where = f"{f.path}:{f.subject}" if f.subject else f.path
        fix = " [fixable]" if f.fixable else ""
        lines.append(one_line(f"{where}: {f.code} [{f.severity.value}]{fix} {f.message}"))
        if f.offset is not None:
            lines.append(f"  at byte {f.offset}")
        if f.fixable:
            lines.append(one_line(f"  fix: {fix_command(f)}"))
        if f.hint:
            lines.append(one_line(f"  hint: {f.hint}"))
    lines.append(summary_line(findings, n_files))
    return "\n".join(lines)


def fix_command(f: Finding) -> str:
    """The `publish fix` run that applies this finding's fix (by default fix applies error fixes only)."""
    select = "" if f.severity == Severity.ERROR else f" --select {f.code}"
    if is_remote(f.path):
        return f"download {f.path}, run `publish fix FILE{select}` on it and push it again"
    return shell_command("publish", "fix", f.path) + select


def format_json(findings: list[Finding], n_files: int) -> str:
    """`{"findings": [Finding.to_dict()...], "summary": summary()}` as indented JSON text (`--format
    json`), control characters escaped."""
    return json_dumps({"findings": [f.to_dict() for f in findings], "summary": summary(findings, n_files)},
                      indent=2)


# GitHub workflow command escaping (the runner's toCommandValue/escapeData/escapeProperty rules).
def escape_data(text: str) -> str:
    """A GitHub workflow command's message escaped as the Actions runner's escapeData does: `%`, CR
    and LF as %25, %0D, %0A."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command property (file=, title=) escaped as the runner's escapeProperty:
    escape_data plus `:` and `,` as %3A, %2C."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def github_lines(findings: Iterable[Finding]) -> list[str]:
    """One `::error file=…,title=CODE::subject: message` workflow command per finding (`::warning`,
    `::notice` by severity), then on lines of their own the `publish fix` command of a fixable
    finding and the hint (as the text format), so GitHub Actions annotates the file."""
    out = []
    for f in findings:
        props = f"file={escape_property(f.path.translate(_CONTROL_BUT_NEWLINES))},title={escape_property(f.code)}"
        text = f"{f.subject}: {f.message}" if f.subject else f.message
        if f.fixable:
            text += f"\nfix: {fix_command(f)}"
        if f.hint:
            text += f"\nhint: {f.hint}"
        out.append(f"::{_COMMAND[f.severity]} {props}::{escape_data(text.translate(_CONTROL_BUT_NEWLINES))}")
    return out


def format_github(findings: list[Finding], n_files: int) -> str:
    """`--format github`: the workflow commands, then the summary line."""
    return "\n".join(github_lines(findings) + [summary_line(findings, n_files)])


# -- SARIF 2.1.0 for GitHub code scanning ---------------------------------------------------------

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def _sarif_rule(code: str, r) -> dict:
    why, fix = getattr(r, "why", ""), getattr(r, "fix", "")
    engines = [e.value for e in getattr(r, "engines", ())]
    sources = list(getattr(r, "sources", ()))
    help_md = "\n\n".join(x for x in (why, f"**Fix:** {fix}" if fix else "",
                                       "**Engines:** " + ", ".join(engines) if engines else "",
                                       "**Sources:** " + "; ".join(sources) if sources else "") if x)
    return {
        "id": code,
        "name": "".join(w.capitalize() for w in r.name.split("-")),
        "shortDescription": {"text": r.summary},
        "fullDescription": {"text": why or r.summary},
        "help": {"text": help_md or r.summary, "markdown": help_md or r.summary},
        "defaultConfiguration": {"level": _SARIF_LEVEL[r.severity]},
        "properties": {"tags": ["gguf", *engines], "engines": engines},
    }


def _sarif_uri(path: str) -> str:
    """A repository-relative URI for a local path; hf:// URLs stay as they are."""
    import os
    from pathlib import PurePosixPath

    if is_remote(path):
        return path
    p = path.replace("\\", "/")
    if os.path.isabs(p):
        try:
            p = os.path.relpath(p)
        except ValueError:
            pass
    return str(PurePosixPath(p.replace("\\", "/"))).lstrip("/") or "."


def format_sarif(findings: list[Finding], n_files: int) -> str:
    """One SARIF 2.1.0 run for `github/codeql-action/upload-sarif`: every rule of the registry
    (id, name, short/full description, help with the fix, engines), one result per finding with a
    region (GitHub needs region.startLine; a GGUF is binary, so the line is 1 and the byte offset is
    given as region.byteOffset), and a stable partialFingerprints entry (GitHub cannot compute one
    from a binary file)."""
    import hashlib

    from publish.rulebook import all_rules

    registry = all_rules()
    codes = sorted(set(registry) | {f.code for f in findings})
    index = {code: i for i, code in enumerate(codes)}
    rules = [_sarif_rule(c, registry[c]) if c in registry else
             {"id": c, "shortDescription": {"text": c}, "help": {"text": c}} for c in codes]
    results = []
    for f in findings:
        text = f"{f.subject}: {f.message}" if f.subject else f.message
        if f.hint:
            text += f" Hint: {f.hint}"
        region: dict = {"startLine": 1}
        if f.offset is not None:
            region["byteOffset"] = f.offset
        key = "\0".join([f.code, _sarif_uri(f.path), f.subject or "", f.message])
        results.append({
            "ruleId": f.code,
            "ruleIndex": index[f.code],
            "level": _SARIF_LEVEL[f.severity],
            "message": {"text": text.translate(_CONTROL_BUT_NEWLINES)},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _sarif_uri(f.path)},
                                                "region": region}}],
            "partialFingerprints": {"publishFinding/v1": hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]},
        })
    from publish import __version__ as tool_version
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "publish", "version": tool_version, "rules": rules}},
            "results": results,
            "properties": {"summary": summary(findings, n_files)},
        }],
    }
    return json_dumps(doc, indent=2)


def format_findings(findings: list[Finding], n_files: int, fmt: str = "text") -> str:
    """The report in `fmt` (text, json, github or sarif). Raises KeyError for another format (the
    CLI offers only these)."""
    formatter = {"text": format_text, "json": format_json, "github": format_github, "sarif": format_sarif}[fmt]
    return formatter(findings, n_files)

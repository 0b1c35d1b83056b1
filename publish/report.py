"""Finding formats: text for people, JSON for tools, GitHub workflow commands for CI annotations."""

from __future__ import annotations

import json
from typing import Iterable

from publish.findings import Finding, Severity, severity_counts
from publish.sources import is_remote

FORMATS = ("text", "json", "github")


def summary(findings: list[Finding], n_files: int) -> dict:
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
    s = summary(findings, n_files)
    line = (f"{_plural(s['errors'], 'error')}, {_plural(s['warnings'], 'warning')}, {s['info']} info "
            f"in {_plural(s['files'], 'file')}")
    if s["fixable"]:
        line += f" ({s['fixable']} fixable with `publish fix`)"
    return line


# Keys and values come from strangers' files: keep each finding on its line and keep terminal
# escape sequences out of the user's terminal.
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]} | {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


_CONTROL_BUT_NEWLINES = {c: v for c, v in _CONTROL.items() if c not in (0x0A, 0x0D)}


def one_line(text: str) -> str:
    return text.translate(_CONTROL)


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
    return f"publish fix {f.path}{select}"


def format_json(findings: list[Finding], n_files: int) -> str:
    return json.dumps({"findings": [f.to_dict() for f in findings], "summary": summary(findings, n_files)},
                      indent=2, ensure_ascii=False)


# GitHub workflow command escaping (the runner's toCommandValue/escapeData/escapeProperty rules).
def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_COMMAND = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def github_lines(findings: Iterable[Finding]) -> list[str]:
    out = []
    for f in findings:
        props = f"file={escape_property(f.path)},title={escape_property(f.code)}"
        text = f"{f.subject}: {f.message}" if f.subject else f.message
        if f.hint:
            text += f"\nhint: {f.hint}"
        out.append(f"::{_COMMAND[f.severity]} {props}::{escape_data(text.translate(_CONTROL_BUT_NEWLINES))}")
    return out


def format_github(findings: list[Finding], n_files: int) -> str:
    return "\n".join(github_lines(findings) + [summary_line(findings, n_files)])


def format_findings(findings: list[Finding], n_files: int, fmt: str = "text") -> str:
    formatter = {"text": format_text, "json": format_json, "github": format_github}[fmt]
    return formatter(findings, n_files)

"""A finding is what a check reports: ruff-style code, severity, message, location, fix."""

from __future__ import annotations

import enum

from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Iterable


class Severity(str, enum.Enum):
    """How bad a finding is: `error` (the release is broken for the engines named), `warning`
    (works, but users will notice), `info`. Values are the strings used in JSON, SARIF and GitHub
    output."""
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Finding(Record):
    """One problem found by a rule: `code` (stable, GGxxx/RPxxx), `severity`, a one-line `message`,
    the `path` it concerns, `subject` (a metadata key, tensor name or a file inside a folder),
    `offset` (byte offset in the file, when meaningful), whether `publish fix` can fix it, and a
    `hint` (what to run otherwise). Frozen (publish.records.Record)."""

    __slots__ = ("code", "severity", "message", "path", "subject", "offset", "fixable", "hint")
    frozen = True
    code: str                 # stable, e.g. "GG101"
    severity: Severity
    message: str              # one line
    path: str                 # file or folder the finding concerns
    subject: str | None       # metadata key or tensor name, or a file inside a folder
    offset: int | None        # byte offset in the file, when meaningful
    fixable: bool             # `publish fix` can apply it
    hint: str | None          # how to fix it otherwise (a command to run)

    def __init__(self, code: str, severity: Severity, message: str, path: str, subject: str | None = None,
                 offset: int | None = None, fixable: bool = False, hint: str | None = None):
        self._fill(code, severity, message, path, subject, offset, fixable, hint)

    def to_dict(self) -> dict:
        """The finding as a JSON-ready dict: every field, `severity` as its string value."""
        d = {name: getattr(self, name) for name in self.__slots__}
        d["severity"] = self.severity.value
        return d


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """{"error": n, "warning": n, "info": n}."""
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts

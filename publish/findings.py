"""A finding is what a check reports: ruff-style code, severity, message, location, fix."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass
from typing import Iterable


class Severity(str, enum.Enum):
    """How bad a finding is: `error` (the release is broken for the engines named), `warning`
    (works, but users will notice), `info`. Values are the strings used in JSON, SARIF and GitHub
    output."""
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    """One problem found by a rule: `code` (stable, GGxxx/RPxxx), `severity`, a one-line `message`,
    the `path` it concerns, `subject` (a metadata key, tensor name or a file inside a folder),
    `offset` (byte offset in the file, when meaningful), whether `publish fix` can fix it, and a
    `hint` (what to run otherwise)."""
    code: str                 # stable, e.g. "GG101"
    severity: Severity
    message: str              # one line
    path: str                 # file or folder the finding concerns
    subject: str | None = None  # metadata key or tensor name, or a file inside a folder
    offset: int | None = None   # byte offset in the file, when meaningful
    fixable: bool = False       # `publish fix` can apply it
    hint: str | None = None     # how to fix it otherwise (a command to run)

    def to_dict(self) -> dict:
        """The finding as a JSON-ready dict: every field, `severity` as its string value."""
        d = asdict(self)
        d["severity"] = self.severity.value
        return d


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """{"error": n, "warning": n, "info": n}."""
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts

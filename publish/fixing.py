"""`publish fix` as library calls: plan the lint fixes of one GGUF, apply them, re-check.

    outcome = fix_file("model.gguf", select=["GG1"], dry_run=True)
    outcome.plan.fixes, outcome.result.changes, outcome.remaining

This sits beside `publish.lint` (it takes the same rule selectors); the byte-level work is
`publish.gguf.fix.apply_changes`, which knows nothing of the rules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable

from publish.findings import Finding, Severity
from publish.gguf.changes import Change
from publish.gguf.fix import FixPlan, FixResult, apply_changes, parse_assignment
from publish.gguf.reader import read_header
from publish.gguf.rules import check_header, planned_fixes
from publish.lint import parse_selectors


def plan_fix(path: str | os.PathLike, extra_changes: Iterable[Change] = (), *,
             select: Iterable[str] | None = None, ignore: Iterable[str] | None = None) -> FixPlan:
    """Read `path`, run the lint rules and collect the changes `publish fix` would apply.

    By default the fixes of error findings are selected (what breaks the model in Ollama); `select`
    takes codes or prefixes (`GG205`, `GG1`, `ALL`) instead, `ignore` removes some; an unknown
    code is a UsageError, as in `publish lint`."""
    select_codes, ignore_codes = parse_selectors(list(select or ())), parse_selectors(list(ignore or ()))
    header = read_header(path)
    findings = check_header(header)
    by_id = {(f.code, f.subject, f.message): f for f in findings}
    chosen, skipped = [], []
    for finding, changes in planned_fixes(header):
        finding = by_id.get((finding.code, finding.subject, finding.message), finding)
        wanted = finding.code.startswith(tuple(select_codes)) if select_codes else finding.severity == Severity.ERROR
        if wanted and not finding.code.startswith(tuple(ignore_codes)):
            chosen.append((finding, changes))
        else:
            skipped.append((finding, changes))
    return FixPlan(os.fspath(path), header, fixes=chosen, skipped=skipped, extra=list(extra_changes),
                   findings=findings)


@dataclass
class FixOutcome:
    """What `fix_file` did. `remaining`: the findings left after the fix (for a dry run or when
    nothing changed: the planned findings minus the selected fixes; else the written file re-read)."""
    plan: FixPlan
    result: FixResult
    remaining: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.remaining if f.severity == Severity.ERROR]


def fix_file(path: str | os.PathLike, extra_changes: Iterable[Change] = (), *, assignments: Iterable[str] = (),
             select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
             output: str | os.PathLike | None = None, backup: bool = False, dry_run: bool = False,
             verify_data: bool = False) -> FixOutcome:
    """Plan (one header read), apply and re-check. `assignments` are `KEY=VALUE` / `KEY:TYPE=VALUE`
    texts (`publish fix --set`); a key's stored type is its default. Raises UsageError for bad
    selectors or assignments, PublishError when the write fails (the original is then unchanged)."""
    plan = plan_fix(path, extra_changes, select=select, ignore=ignore)
    plan.extra += [parse_assignment(a, plan.header) for a in assignments]
    result = apply_changes(path, plan.changes, output=output, backup=backup, dry_run=dry_run,
                           verify_data=verify_data)
    if dry_run or not result.changes:
        applied = {id(f) for f, _ in plan.fixes}
        remaining = [f for f in plan.findings if id(f) not in applied]
    else:
        remaining = check_header(read_header(output or path))
    return FixOutcome(plan, result, remaining)

"""`publish fix` as library calls: plan the lint fixes of one GGUF, apply them, re-check.

    outcome = fix_file("model.gguf", select=["GG1"], dry_run=True)
    outcome.plan.fixes, outcome.result.changes, outcome.remaining

This sits beside `publish.lint` (it takes the same rule selectors); the byte-level work is
`publish.gguf.fix.apply_changes`, which knows nothing of the rules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from publish.termtext import shell_command
from publish.findings import Finding, Severity
from publish.gguf.changes import Change
from publish.gguf.fix import FixPlan, FixResult, apply_changes, parse_assignment
from publish.gguf.reader import read_header
from publish.gguf.rules import RULES, check_header, planned_fixes
from publish.lint import parse_selectors


def chat_template_changes(path: str | os.PathLike) -> list[Change]:
    """The header changes that set the chat template(s) from `path`: a Jinja file, or a
    tokenizer_config.json whose `chat_template` is a string or a list of named templates
    ([{"name": "default", "template": ...}, {"name": "tool_use", ...}] -> tokenizer.chat_template
    and tokenizer.chat_template.tool_use, the keys llama.cpp's converter writes). The file is
    read by publish.convert.inputs.read_chat_templates, the one chat-template loader.

    Raises UsageError when the file is not UTF-8, holds no chat template, named templates have no
    `default`, a template does not parse as Jinja (with line:column): JSON is never written as
    a template, or a template holds a sandbox-escape payload (publish.jinja_audit, the detector
    of GG290)."""
    from gguf import GGUFValueType

    from publish.chat import syntax_problem
    from publish.convert.inputs import read_chat_templates
    from publish.errors import UsageError
    from publish.gguf.changes import SetValue
    from publish.jinja_audit import audit_template

    found = read_chat_templates(Path(path))
    path = found.path
    if found.config is not None and "default" not in found.templates:
        raise UsageError(f"{path}: the named chat templates ({', '.join(found.templates)}) have no `default`",
                         hint="llama.cpp reads tokenizer.chat_template as the default one")
    changes: list[Change] = []
    for name, template in found.templates.items():
        key = "tokenizer.chat_template" if name == "default" else f"tokenizer.chat_template.{name}"
        where = f"{path}" + (f" (chat_template {name!r})" if found.config is not None else "")
        problem = syntax_problem(template)
        if problem is not None:
            raise UsageError(f"{where}:{problem.where}: not a chat template: {problem.message}",
                             hint="pass the model's own chat template (tokenizer_config.json or chat_template.jinja)")
        suspects = audit_template(template)
        if suspects:   # the same detector as GG290: never write a file lint says not to publish
            shown = "; ".join(f"line {s.line}: {s.what}: {s.excerpt}" for s in suspects[:3])
            raise UsageError(f"{where}: refusing a chat template built to escape the Jinja sandbox (GG290): {shown}",
                             hint="pass the original model's chat template (tokenizer_config.json or "
                                  "chat_template.jinja); see `publish rule GG290`")
        source = "" if found.config is None else f" chat_template[{name!r}]" if found.listed else " chat_template"
        changes.append(SetValue(key, template, GGUFValueType.STRING, reason=f"from {path.name}{source}"))
    return changes


def plan_fix(path: str | os.PathLike, extra_changes: Iterable[Change] = (), *,
             select: Iterable[str] | None = None, ignore: Iterable[str] | None = None) -> FixPlan:
    """Read `path`, run the lint rules and collect the changes `publish fix` would apply.

    By default the fixes of error findings are selected (what breaks the model in Ollama); `select`
    takes codes or prefixes (`GG205`, `GG1`, `ALL`) instead, `ignore` removes some; an unknown
    code is a UsageError, as in `publish lint`."""
    gg = set(RULES)   # fix changes GGUF headers: the GG rules; RP findings are fixed by a rebuild
    why = "a staged-folder rule: publish fix changes GGUF headers (GG rules); rebuild the folder with publish build"
    select_codes = parse_selectors(list(select or ()), gg, why)
    ignore_codes = parse_selectors(list(ignore or ()), gg, why)
    header = read_header(path)
    if _later_part(header):   # engines read the metadata from part 1: no rule fix belongs to this part
        findings = _set_findings(path)
        return FixPlan(os.fspath(path), header, fixes=[], skipped=[], extra=list(extra_changes), findings=findings)
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


def _known_type(header):
    """KEY -> the (type, array item type) lint's GG103 table expects for a well-known key, or None."""
    from gguf import GGUFValueType as V

    from publish.gguf.rules import expected_type

    def known(key: str):
        want = expected_type(header, key)
        if want is None:
            return None
        return (want.types[0], None) if want.types else (V.ARRAY, want.array_items[0])
    return known


@dataclass
class FixOutcome:
    """What `fix_file` did. `remaining`: the findings left after the fix (for a dry run or when
    nothing changed: the planned findings minus the selected fixes; else the written file re-read)."""
    plan: FixPlan
    result: FixResult
    remaining: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        """The error-severity findings left after the fix (what makes `publish fix` exit 1)."""
        return [f for f in self.remaining if f.severity == Severity.ERROR]

    def to_dict(self) -> dict:
        """The outcome as `publish fix --format json` prints it:

            {"file": path, "dry_run": bool,
             "written": path|None,                 # the file written (FILE or --output); None: nothing written
             "changes": [{"key": metadata key, "code": lint code|None (None: --set, --chat-template),
                          "change": "KEY: TYPE old -> TYPE new (reason)"}, ...],   # done, or would be
             "in_place": bool, "bytes_touched": bytes written in place, or the rewritten file's size,
             "patches": [{"offset": byte, "length": bytes}, ...],          # the in-place writes
             "data_sha256": hex|None, "data_sha256_verified": bool,        # the tensor data, before = after
             "backup": path|None, "link_broken": str|None, "copy_method": "reflink"|"copy"|None,
             "copied_unchanged": bool,             # nothing to change: --output written as a plain copy
             "not_applied": [Finding.to_dict(), ...],   # fixable findings not selected
             "remaining": [Finding.to_dict(), ...],     # every finding left (the written file re-read)
             "exit_code": 1 when an error finding remains, else 0}"""
        result, plan = self.result, self.plan
        codes = {c.key: f.code for f, cs in plan.fixes for c in cs}
        written = None if result.dry_run or not (result.changes or result.copied_unchanged) else result.path
        return {
            "file": plan.path, "dry_run": result.dry_run, "written": written,
            "changes": [{"key": r.key, "code": codes.get(r.key), "change": r.describe()} for r in result.changes],
            "in_place": result.in_place, "bytes_touched": result.bytes_touched,
            "patches": [{"offset": p.offset, "length": len(p.data)} for p in result.patches],
            "data_sha256": result.data_sha256, "data_sha256_verified": result.data_sha256_verified,
            "backup": result.backup, "link_broken": result.link_broken, "copy_method": result.copy_method,
            "copied_unchanged": result.copied_unchanged,
            "not_applied": [f.to_dict() for f, _ in plan.skipped],
            "remaining": [f.to_dict() for f in self.remaining],
            "exit_code": 1 if self.errors else 0,
        }


def fix_file(path: str | os.PathLike, extra_changes: Iterable[Change] = (), *, assignments: Iterable[str] = (),
             chat_template: str | os.PathLike | None = None,
             select: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
             output: str | os.PathLike | None = None, backup: bool = False, dry_run: bool = False,
             verify_data: bool = False) -> FixOutcome:
    """`publish fix` in one call: plan from one header read, apply, re-check the written file.
    The header is parsed once before the write (the plan's, handed to apply_changes when the file's
    size, mtime and inode are those it had before planning) and once after it (the re-read that
    checks the written bytes is the header the re-check lints).

    `assignments` are `KEY=VALUE[:TYPE]` texts (`publish fix --set`; the default type is a key's
    stored type, else the one GG103 expects of a well-known key: `parse_assignment`); `chat_template` a Jinja file or tokenizer_config.json whose template(s)
    are set (`chat_template_changes`). The re-check reads the written header again (`remaining`);
    a dry run or a run that changed nothing reports the planned findings minus the selected fixes.
    A later split part (split.no > 0) gets no rule fixes and is re-checked as `publish lint` checks
    its set. With `output` and nothing to change, `output` is written as a copy of `path`.
    Raises UsageError for a remote or missing `path` (InputPathError for one that cannot be
    reached or is a FIFO or broken link), `backup` with `output`, `output` naming
    `path` itself (os.path.samefile), bad selectors,
    assignments or chat template files; PublishError when the write fails (the original is then
    unchanged)."""
    from publish.errors import UsageError
    from publish.sources import is_remote

    if is_remote(os.fspath(path)):
        raise UsageError(f"{path}: publish fix works on local files", hint="download the file, fix it, push it")
    from publish.inputpaths import input_kind

    if input_kind(path) != "file":   # InputPathError: unreadable on the way, a broken link, a FIFO
        raise UsageError(f"{path}: no such file")
    if backup and output:
        raise UsageError("--backup has no effect with --output: the original is not changed")
    if output is not None and Path(output).exists() and os.path.samefile(path, output):
        raise UsageError(f"--output {output} is {path} itself; --output leaves FILE untouched",
                         hint="leave out --output to fix FILE in place (add --backup to keep the original)")
    extra = list(extra_changes)
    if chat_template is not None:
        extra += chat_template_changes(chat_template)
    before = _stat_key(path)
    plan = plan_fix(path, extra, select=select, ignore=ignore)
    plan.extra += [parse_assignment(a, plan.header, _known_type(plan.header)) for a in assignments]
    unchanged = _stat_key(path) == before
    result = apply_changes(path, plan.changes, output=output, backup=backup, dry_run=dry_run,
                           verify_data=verify_data, header=plan.header if unchanged else None)
    if dry_run or not result.changes:
        applied = {id(f) for f, _ in plan.fixes}
        remaining = [f for f in plan.findings if id(f) not in applied]
    elif _later_part(plan.header) and output is None:
        remaining = _set_findings(path)
    else:
        written = result.written.replace(path=os.fspath(output or path)) if result.written is not None \
            else read_header(output or path)
        remaining = [] if _later_part(written) else check_header(written)
    return FixOutcome(plan, result, remaining)


def _stat_key(path: str | os.PathLike) -> tuple[int, int, int]:
    """(size, mtime in ns, inode) of `path`: equal before and after a read, the file was not
    changed while it was read."""
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns, st.st_ino


def _later_part(header) -> bool:
    """Whether `header` is part 2.. of a split set (split.no > 0): lint judges such a part only as
    a member of its set, never as a whole model."""
    split = header.split
    return split is not None and split[1] > 1 and split[0] > 0


def _set_findings(path: str | os.PathLike) -> list[Finding]:
    """What `publish lint PATH` reports for a later split part: the findings of its whole set (the
    merged view, GG3xx). Those about another part name it and are not fixable from this one."""
    from publish.lint import lint_paths

    here = os.fspath(path)
    out = []
    for f in lint_paths([here]).findings:
        if f.path != here:
            f = f.replace(message=f"{f.path}: {f.message}", fixable=False,
                          hint=shell_command("publish", "fix", f.path) if f.fixable else f.hint)
        out.append(f)
    return out

"""Smoke reports: a text table, JSON, JUnit XML (one testcase per quant × prompt) and Markdown.

Files are written atomically. Markdown is also appended to $GITHUB_STEP_SUMMARY when set.

JUnit mapping: a testcase fails when any of its checks failed (the message lists them); it is
`skipped` (with the reason) when its generation was not run (e.g. `ollama run` cannot send a
system message or a conversation) or every check was skipped. Checks skipped inside an otherwise passing testcase
(e.g. the rendered-prompt checks on an engine that cannot report the prompt) are listed in its
`system-out` as `skip`, so a viewer never shows them as passed.
"""

from __future__ import annotations

import html
import os
import xml.etree.ElementTree as ET
from pathlib import Path

from publish.fsutil import atomic_write_text
from publish.smoke.checks import Status
from publish.smoke.results import CaseResult, SmokeReport, short_reason
from publish.termtext import json_dumps, one_line

_MARK = {Status.PASS: "pass", Status.WARN: "warn", Status.SKIP: "skip", Status.FAIL: "FAIL"}
_EMOJI = {Status.PASS: "✅", Status.WARN: "⚠️", Status.SKIP: "⏭️", Status.FAIL: "❌"}


def _tps(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def _case_note(case: CaseResult) -> str:
    if case.status in (Status.FAIL, Status.WARN):
        return short_reason(case)
    if case.status is Status.SKIP:
        return f"skipped: {case.skip_reason}"
    return "" if case.answer is None else f"answer {case.answer!r}"


def _summary_line(report: SmokeReport) -> str:
    n = report.counts()
    loads = sum(1 for q in report.quants if q.load_error)
    parts = [f"{len(report.quants)} quant(s) × {len(report.prompts)} prompt(s)",
             f"{n['pass'] + n['warn']} passed", f"{n['fail']} failed", f"{n['skip']} skipped"]
    if loads:
        parts.append(f"{loads} load failure(s)")
    if report.other_shards:
        parts.append(f"{len(report.other_shards)} quant(s) left to other shards")
    verdict = "FAILED" if report.failed else "passed"
    return f"smoke {verdict}: " + ", ".join(parts) + f" ({report.seconds:.1f}s, backend {report.backend})"


def text_table(report: SmokeReport, *, verbose: bool = False) -> str:
    """The terminal report: one row per quant and prompt (status, prompt and generation tokens per
    second, the reason), then per quant its prepare/load seconds or load failure, and the
    summary; `verbose` lists every check. Text from models is escaped (publish.termtext)."""
    rows = [("QUANT", "PROMPT", "STATUS", "PROMPT tok/s", "GEN tok/s", "REASON")]
    for q in report.quants:
        for c in q.cases:
            rows.append((one_line(q.label), one_line(c.prompt), _MARK[c.status], _tps(c.prompt_tps),
                         _tps(c.eval_tps), one_line(_case_note(c))))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = []
    for r in rows:
        lines.append("  ".join(cell.ljust(widths[i]) if i < 5 else cell for i, cell in enumerate(r)).rstrip())
    for q in report.quants:
        if q.load_error:
            lines.append(one_line(f"{q.label}: load failure: {q.load_error}"))
        else:
            lines.append(f"{one_line(q.label)}: prepared in {q.prepare_seconds:.2f}s, loaded in {q.load_seconds:.2f}s, "
                         f"engine {q.engine_seconds:.2f}s, smoke overhead {q.overhead_seconds * 1000:.0f} ms")
        if verbose:
            for c in q.cases:
                for chk in c.checks:
                    lines.append(one_line(f"    {c.prompt}: {chk.name}: {chk.status.value}"
                                          + (f" — {chk.message}" if chk.message else "")))
    lines.append(_summary_line(report))
    return "\n".join(lines)


def to_json(report: SmokeReport) -> str:
    """SmokeReport.to_dict() as indented JSON text (`--format json`)."""
    return json_dumps(report.to_dict(), indent=2)


def to_junit(report: SmokeReport) -> str:
    """The report as JUnit XML (one testcase per quant and prompt; failures and skipped counted; the
    backend and shard as properties) for CI test reporters."""
    n = report.counts()
    suites = ET.Element("testsuites", name="publish smoke", tests=str(len(report.cases)),
                        failures=str(n["fail"]), skipped=str(n["skip"]), time=f"{report.seconds:.3f}")
    suite = ET.SubElement(suites, "testsuite", name=f"publish smoke {report.target}",
                          tests=str(len(report.cases)), failures=str(n["fail"]), errors="0",
                          skipped=str(n["skip"]), time=f"{report.seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="backend", value=report.backend)
    if report.shard:
        ET.SubElement(props, "property", name="shard", value=f"{report.shard[0]}/{report.shard[1]}")
    for q in report.quants:
        for c in q.cases:
            tc = ET.SubElement(suite, "testcase", classname=f"smoke.{q.label}", name=c.prompt,
                               time=f"{c.seconds:.3f}")
            details = "\n".join(f"{chk.status.value}: {chk.name}" + (f": {chk.message}" if chk.message else "")
                                for chk in c.checks)
            if c.status is Status.FAIL:
                msg = "; ".join(f"{chk.name}: {chk.message}" for chk in c.failures)
                failure = ET.SubElement(tc, "failure", message=msg, type="smoke-check")
                failure.text = details
            elif c.status is Status.SKIP:
                ET.SubElement(tc, "skipped", message=c.skip_reason or "")
            out = ET.SubElement(tc, "system-out")
            out.text = details + (f"\nanswer: {c.answer!r} (done_reason {c.done_reason}, prompt tok/s "
                                  f"{_tps(c.prompt_tps)}, generation tok/s {_tps(c.eval_tps)})"
                                  if c.answer is not None else "")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _md_cell(text: str) -> str:
    """Table-cell text: `<bos>` must stay visible (GitHub would take it for an HTML tag)."""
    return html.escape(text, quote=False).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: SmokeReport) -> str:
    """The report as GitHub-flavoured Markdown (a table per quant and prompt, skipped checks folded)
    for a job summary ($GITHUB_STEP_SUMMARY) or a PR comment."""
    head = "❌" if report.failed else "✅"
    lines = [f"### {head} publish smoke `{report.target}`", "", _summary_line(report), "",
             "| Quant | Prompt | Result | Prompt tok/s | Gen tok/s | Details |",
             "|---|---|---|---:|---:|---|"]
    for q in report.quants:
        for c in q.cases:
            lines.append(f"| {q.label} | {c.prompt} | {_EMOJI[c.status]} {c.status.value} | {_tps(c.prompt_tps)} "
                         f"| {_tps(c.eval_tps)} | {_md_cell(_case_note(c))} |")
    skipped = sorted({f"{chk.name}: {chk.message}" for c in report.cases for chk in c.checks
                      if chk.status is Status.SKIP})
    if skipped:
        lines += ["", "<details><summary>Skipped checks</summary>", ""]
        lines += [f"- {_md_cell(s)}" for s in skipped]
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def write_junit(report: SmokeReport, path: str | os.PathLike) -> None:
    """Write `to_junit(report)` to `path` atomically. Raises OSError."""
    atomic_write_text(path, to_junit(report))


def write_json(report: SmokeReport, path: str | os.PathLike) -> None:
    """Write `to_json(report)` to `path` atomically. Raises OSError."""
    atomic_write_text(path, to_json(report) + "\n")


def write_markdown(report: SmokeReport, path: str | os.PathLike | None = None) -> list[Path]:
    """Write the Markdown report to `path` (if given) and append it to $GITHUB_STEP_SUMMARY (if set).
    Raises OutputPathError (fsutil.output_error) naming the file that cannot be written."""
    text = to_markdown(report)
    written = []
    if path is not None:
        atomic_write_text(path, text)
        written.append(Path(path))
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        # Appending is how GitHub's step summary works; other steps may have written to it.
        try:
            with open(summary, "a", encoding="utf-8") as fh:
                fh.write(text + "\n")
        except OSError as err:
            from publish.fsutil import output_error

            raise output_error(summary, err) from None
        written.append(Path(summary))
    return written

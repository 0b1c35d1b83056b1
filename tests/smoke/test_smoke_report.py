"""Smoke reports as CI reads them: JUnit XML, JSON, Markdown and the GitHub step summary."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.smoke import checks as C
from publish.smoke import report as R
from publish.smoke.prompts import DEFAULT_PROMPTS
from publish.smoke.results import CaseResult, QuantResult, SmokeReport
from smoke_folders import make_folder



@pytest.fixture(scope="module")
def broken_folder(tmp_path_factory, tiny_llama_path):
    return make_folder(tmp_path_factory.mktemp("report") / "f", tiny_llama_path,
                       labels=("Q4_K_M", "Q8_0"), broken=("Q4_K_M",))


def synthetic() -> SmokeReport:
    q = QuantResult("Q8_0", "m:q8_0", cases=[
        CaseResult("Q8_0", "a", [C.passed("answer", "'2'"), C.skipped("render-go", "no render")], answer="2"),
        CaseResult("Q8_0", "b", [C.skipped("render-go", "no render")]),
        CaseResult("Q8_0", "c", [C.failed("done", "runaway: stop tokens missing — add <end_of_turn> to params.stop")]),
    ])
    return SmokeReport("dist/x", "ollama-api", list(DEFAULT_PROMPTS), [q])


def test_junit_one_testcase_per_case_with_failure_and_skipped():
    root = ET.fromstring(R.to_junit(synthetic()))
    cases = root.findall(".//testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [("smoke.Q8_0", n) for n in "abc"]
    a, b, c = cases
    assert a.find("failure") is None and a.find("skipped") is None
    assert "skip: render-go: no render" in a.find("system-out").text  # a skipped check is never shown as passed
    assert b.find("skipped").get("message") == "no render"
    assert "add <end_of_turn> to params.stop" in c.find("failure").get("message")
    suite = root.find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("3", "1", "1")


def test_markdown_escapes_special_tokens():
    md = R.to_markdown(synthetic())
    assert "add &lt;end_of_turn&gt; to params.stop" in md
    assert "| Q8_0 | c | ❌ fail |" in md
    assert "Skipped checks" in md


@pytest.mark.llamacpp
def test_cli_writes_junit_json_markdown_and_step_summary(broken_folder, tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    junit, md = tmp_path / "out" / "smoke.xml", tmp_path / "smoke.md"
    res = CliRunner().invoke(main, ["smoke", str(broken_folder), "--backend", "llamacpp", "--json",
                                    "--report-junit", str(junit), "--report-markdown", str(md)],
                             env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert res.exit_code == 1
    data = json.loads(res.stdout)
    assert data["counts"]["fail"] == 3 and data["exit_code"] == 1

    root = ET.parse(junit).getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == 2 * len(DEFAULT_PROMPTS)
    failures = [c for c in cases if c.find("failure") is not None]
    assert {c.get("classname") for c in failures} == {"smoke.Q4_K_M"}
    assert all("load failure" in c.find("failure").get("message") for c in failures)

    text = md.read_text()
    assert text.startswith("### ❌ publish smoke")
    assert "| Q8_0 | one-plus-one | ✅ pass |" in text
    assert summary.read_text() == "earlier step\n" + text + "\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


@pytest.mark.llamacpp
def test_cli_format_junit_and_markdown_to_stdout_or_output(broken_folder, tmp_path):
    """--format junit|markdown prints what --report-junit/--report-markdown write; -o FILE writes it
    instead of printing (stdout stays empty)."""
    junit = tmp_path / "smoke.xml"
    printed = CliRunner().invoke(main, ["smoke", str(broken_folder), "--backend", "llamacpp", "--format", "junit",
                                        "--report-junit", str(junit)], env={"GITHUB_STEP_SUMMARY": ""})
    assert printed.exit_code == 1
    strip = lambda xml: re.sub(r'(time|timestamp)="[^"]*"', "", xml)  # noqa: E731 - the two runs differ in time only
    assert strip(printed.stdout.strip()) == strip(junit.read_text().strip())
    out = tmp_path / "smoke.md"
    written = CliRunner().invoke(main, ["smoke", str(broken_folder), "--backend", "llamacpp", "--format", "markdown",
                                        "-o", str(out)], env={"GITHUB_STEP_SUMMARY": ""})
    assert written.exit_code == 1 and written.stdout == ""
    assert out.read_text().startswith("### ❌ publish smoke") and "| Q8_0 | one-plus-one | ✅ pass |" in out.read_text()


def test_write_is_atomic_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "smoke.xml"
    target.write_text("old report")
    monkeypatch.setattr(R, "to_junit", lambda report: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        R.write_junit(synthetic(), target)
    assert target.read_text() == "old report"

"""Issue 8 kind i: lint reports a chat template built to escape the Jinja sandbox, found by
walking Jinja's parse tree (never rendering it), and `--format sarif` feeds GitHub code scanning."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import jinja2
import pytest
from click.testing import CliRunner

from ggufs import write_tiny_llama
from publish.cli import main
from publish.gguf.reader import read_header
from publish.gguf.rules import RULES, check_header
from publish.jinja_audit import audit_template
from publish.lint import lint_paths

PAYLOADS = {
    # llama-cpp-python GHSA-56xg-wfcc-g829 / CVE-2024-34359 (the advisory's proof of concept shape)
    "cve-2024-34359": "{% for x in ().__class__.__base__.__subclasses__() %}{% if \"warning\" in x.__name__ %}"
                      "{{ x()._module.__builtins__['__import__']('os').popen('touch /tmp/pwned') }}{% endif %}"
                      "{% endfor %}{% for m in messages %}{{ m.content }}{% endfor %}",
    # sgl-project/sglang#23660 (CVE-2026-5760): a GGUF's tokenizer.chat_template
    "lipsum-globals": "{{ lipsum.__globals__[\"os\"].popen(cmd).read() }}{% for m in messages %}{{ m['content'] }}"
                      "{% endfor %}",
    # confident-ai/deepeval#3009, guidance-ai/guidance#1475
    "cycler-globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "joiner-globals": "{% set j = joiner %}{{ j.__init__.__globals__ }}",
    "namespace-class": "{% set ns = namespace(a=1) %}{{ ns.__class__.__init__.__globals__ }}",
    "self-context": "{{ self._TemplateReference__context.cycler }}",
    "mro-subscript": "{{ ''['__class__']['__mro__'][1]['__subclasses__']() }}",
    "attr-escaped": "{{ request|attr('application')|attr('\\x5f\\x5fglobals\\x5f\\x5f') }}",
    "attr-format": "{{ messages|attr('%c%c%s%c%c'|format(95, 95, 'class', 95, 95)) }}",
    # str.format reaching attributes through a format string (tests/test_chat.py's sandbox list)
    "format-attribute": "{{ '{0.__class__}'.format('') }}",
    "our-globals": "{{ raise_exception.__globals__ }}{{ strftime_now.__globals__ }}",
}


@pytest.mark.parametrize("name", PAYLOADS)
def test_payload_shapes_are_found(name):
    assert audit_template(PAYLOADS[name]), name


def test_real_chat_templates_are_not_flagged():
    """166 chat templates from real models (tests/data/jinja) carry no payload shape, including
    `namespace()` loop state and `ns.system` attributes."""
    paths = sorted(glob.glob(str(Path(__file__).parent / "data" / "jinja" / "*")))
    assert len(paths) > 100
    flagged = [p for p in paths if audit_template(Path(p).read_text(encoding="utf-8"))]
    assert flagged == []


def hostile_gguf(tmp_path: Path, template: str, key: str = "tokenizer.chat_template") -> Path:
    extra = {} if key == "tokenizer.chat_template" else {key: template}
    return write_tiny_llama(tmp_path / "tiny-F32.gguf",
                            chat_template=template if key == "tokenizer.chat_template" else None, extra_kv=extra)


def test_lint_reports_the_cve_payload_as_an_error_without_rendering_it(tmp_path, monkeypatch):
    """publish lint exited 0 on this file before. Rendering is made impossible here: the audit
    parses, it never compiles or renders."""
    path = hostile_gguf(tmp_path, PAYLOADS["cve-2024-34359"])

    def no_compile(*a, **k):
        raise AssertionError("lint compiled a chat template")

    monkeypatch.setattr(jinja2.Environment, "compile", no_compile)
    res = CliRunner().invoke(main, ["lint", str(path)])
    assert res.exit_code == 1
    assert "GG290 [error]" in res.output and "__subclasses__" in res.output and "line 1" in res.output
    assert "--chat-template" in res.output and "CVE-2024-34359" in res.output


def test_staged_folder_lint_never_renders_a_hostile_template(tmp_path, monkeypatch):
    """The folder rules render the GGUF's chat template for stops and BOS: not this one."""
    folder = tmp_path / "dist"
    folder.mkdir()
    hostile_gguf(folder, PAYLOADS["cycler-globals"])
    (folder / "params").write_text('{"stop": ["<end_of_turn>"]}', encoding="utf-8")

    def no_compile(*a, **k):
        raise AssertionError("lint compiled a chat template")

    monkeypatch.setattr(jinja2.Environment, "compile", no_compile)
    result = lint_paths([str(folder)])
    assert "GG290" in {f.code for f in result.findings} and result.exit_code == 1


def test_named_templates_are_audited_too(tmp_path):
    path = hostile_gguf(tmp_path, PAYLOADS["cycler-globals"], key="tokenizer.chat_template.tool_use")
    (f,) = [f for f in check_header(read_header(str(path))) if f.code == "GG290"]
    assert f.subject == "tokenizer.chat_template.tool_use" and f.severity.value == "error"


def test_clean_template_and_real_file_pass(tiny_llama_path, gemma3_270m_path):
    for p in (tiny_llama_path, gemma3_270m_path):
        assert "GG290" not in {f.code for f in lint_paths([str(p)]).findings}


# -- SARIF ------------------------------------------------------------------------------------------

def check_sarif_for_github(doc: dict) -> None:
    """The SARIF 2.1.0 shape GitHub code scanning accepts (docs.github.com 'SARIF support for code
    scanning'; microsoft/sarif-sdk GH1001-GH1007 rules): version, a run with a named driver, rules
    with id/shortDescription/help, results with ruleId, level, message and a physical location
    whose artifact uri is a non-empty relative path and whose region has startLine."""
    assert doc["version"] == "2.1.0" and doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] and isinstance(driver["rules"], list)
    ids = [r["id"] for r in driver["rules"]]
    assert len(ids) == len(set(ids))
    for r in driver["rules"]:
        assert r["shortDescription"]["text"] and r["help"]["text"]
        assert r["defaultConfiguration"]["level"] in {"error", "warning", "note"}
    for res in run["results"]:
        assert res["ruleId"] in ids and ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in {"error", "warning", "note"} and res["message"]["text"]
        (loc,) = res["locations"]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        assert uri and not uri.startswith("/") and "\\" not in uri
        region = loc["physicalLocation"]["region"]
        assert isinstance(region["startLine"], int) and region["startLine"] >= 1
        assert "byteOffset" not in region or region["byteOffset"] >= 0
        assert res["partialFingerprints"]


def test_sarif_output_is_valid_for_code_scanning(tmp_path, gemma3n_broken_path, monkeypatch):
    hostile = hostile_gguf(tmp_path, PAYLOADS["lipsum-globals"])
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["lint", "--format", "sarif", str(hostile), str(gemma3n_broken_path)])
    assert res.exit_code == 1
    doc = json.loads(res.output)
    check_sarif_for_github(doc)
    results = doc["runs"][0]["results"]
    by_rule = {r["ruleId"]: r for r in results}
    assert {"GG290", "GG101", "GG102"} <= set(by_rule)
    assert by_rule["GG290"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "tiny-F32.gguf"
    assert by_rule["GG101"]["locations"][0]["physicalLocation"]["region"]["byteOffset"] > 0
    rules = {r["id"]: r for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert set(RULES) <= set(rules)
    assert rules["GG101"]["properties"]["engines"] == ["ollama-0.24"]
    assert "publish fix" in rules["GG101"]["help"]["text"]
    # the same run twice gives the same fingerprints (GitHub matches alerts across runs by them)
    again = json.loads(CliRunner().invoke(main, ["lint", "--format", "sarif", str(hostile),
                                                 str(gemma3n_broken_path)]).output)
    assert [r["partialFingerprints"] for r in again["runs"][0]["results"]] == \
        [r["partialFingerprints"] for r in results]


def test_sarif_of_a_clean_run_has_rules_and_no_results(tiny_llama_path):
    doc = json.loads(CliRunner().invoke(main, ["lint", "--format", "sarif", "--select", "GG1",
                                               str(tiny_llama_path)]).output)
    check_sarif_for_github(doc)
    assert doc["runs"][0]["results"] == []

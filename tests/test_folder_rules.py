"""Staged-folder rules (RP1xx): each fires on the broken folder and stays silent on the built one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from publish.build import build
from publish.folder_rules import RULES, check_folder, stop_problem
from publish.gguf.reader import read_header
from publish.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny" / "release.toml"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build(load_spec(TINY), tmp_path_factory.mktemp("built") / "tiny")


@pytest.fixture
def folder(built, tmp_path) -> Path:
    """A private copy of the built tiny folder (GGUFs hard-linked: they are never modified)."""
    dst = tmp_path / "tiny"
    dst.mkdir()
    for p in built.iterdir():
        if p.suffix == ".gguf":
            (dst / p.name).hardlink_to(p)
        else:
            shutil.copyfile(p, dst / p.name)
    return dst


def check(folder: Path):
    headers = {p: read_header(p) for p in sorted(folder.glob("*.gguf"))}
    return check_folder(folder, headers)


def codes(folder: Path) -> list[str]:
    return sorted({f.code for f in check(folder)})


def test_built_folder_is_silent(folder):
    assert check(folder) == []


def test_every_code_has_a_severity_and_summary():
    assert all(code.startswith("RP1") and r.summary for code, r in RULES.items())


def test_rp101_no_template(folder):
    (folder / "template").unlink()
    # the Modelfiles still carry the TEMPLATE, which Ollama's hf.co bridge never reads
    assert codes(folder) == ["RP101", "RP143"]


def test_rp102_template_syntax_with_line_and_column(folder):
    (folder / "template").write_text("{{ .System }}\n{{ if .Prompt }}never closed\n")
    findings = [f for f in check(folder) if f.code == "RP102"]
    assert len(findings) == 1
    assert findings[0].severity.value == "error"
    # path:LINE:COL: the location once (it was "template:3:0" and "at 3:0" and "template:3:" again)
    assert (findings[0].subject, findings[0].message) == ("3:0", "not a valid Go template: unexpected EOF")
    assert findings[0].hint.startswith("the {{if}} at 2:3 has no {{end}}")
    # the Modelfiles now disagree with the folder's template too
    assert codes(folder) == ["RP102", "RP141"]


def test_rp103_template_starting_with_bos(folder):
    (folder / "template").write_text("<bos>" + (folder / "template").read_text())
    assert "RP103" in codes(folder)


def test_rp103_silent_without_add_bos(folder, built):
    # BOS in the template is right when the GGUF does not add one itself
    from gguf import GGUFValueType

    from publish.gguf.header import KV

    text = "<bos>" + (folder / "template").read_text()
    headers = {p: read_header(p) for p in folder.glob("*.gguf")}
    for h in headers.values():
        h.kv["tokenizer.ggml.add_bos_token"] = KV("tokenizer.ggml.add_bos_token", GGUFValueType.BOOL, False, 0, 0)
    (folder / "template").write_text(text)
    assert "RP103" not in {f.code for f in check_folder(folder, headers)}


def test_rp103_without_add_bos_key_follows_the_engine_default(folder):
    """No tokenizer.ggml.add_bos_token: llama.cpp (Ollama v0.24's runner for `llama`) adds BOS for a
    SentencePiece vocabulary by default (llama-vocab.cpp), so <bos> in the template is still double."""
    text = "<bos>" + (folder / "template").read_text()
    headers = {p: read_header(p) for p in folder.glob("*.gguf")}
    for h in headers.values():
        h.kv.pop("tokenizer.ggml.add_bos_token")
    (folder / "template").write_text(text)
    assert "RP103" in {f.code for f in check_folder(folder, headers)}


@pytest.mark.parametrize("params, code", [
    ("not json", "RP110"),
    ("[1, 2]", "RP110"),
    ('{"temprature": 1.0}', "RP111"),
    ('{"tfs_z": 1.0}', "RP111"),
    ('{"mirostat": 1}', "RP112"),
    ('{"stop": "<end_of_turn>"}', "RP113"),
    ('{"stop": ["<end_of_turn>", 5]}', "RP113"),
    ('{"top_k": "64"}', "RP113"),
    ('{"use_mmap": "yes"}', "RP113"),
    ('{"num_ctx": "4096"}', "RP113"),
    ('{"temperature": 1e39}', "RP113"),
    ('{"top_k": 64.5}', "RP117"),
    ('{"num_ctx": null}', "RP117"),
    ('{"temperature": NaN}', "RP110"),
    ('{"top_k": 1e400}', "RP110"),
])
def test_params_rules(folder, params, code):
    (folder / "params").write_text(params)
    found = codes(folder)
    assert code in found
    assert set(found) <= {code, "RP141"}


def test_params_json_numbers_are_fine_as_floats_for_ints(folder):
    p = json.loads((folder / "params").read_text())
    p["num_ctx"] = 512.0
    (folder / "params").write_text(json.dumps(p))
    assert codes(folder) == []


def test_rp114_stop_that_is_not_a_token(folder):
    p = json.loads((folder / "params").read_text())
    p["stop"] = ["<|eot_id|>"]
    (folder / "params").write_text(json.dumps(p))
    findings = [f for f in check(folder) if f.code == "RP114"]
    assert [f.subject for f in findings] == ["<|eot_id|>"]
    assert "never emits it" in findings[0].message


def test_stop_text_the_model_can_produce_is_fine(tiny_llama_path, gemma3n_broken_path):
    tiny = read_header(tiny_llama_path)
    assert stop_problem("<end_of_turn>", tiny) is None
    assert stop_problem("\n\nUser:", tiny) is None          # byte-fallback vocab: any text
    gemma = read_header(gemma3n_broken_path)
    assert stop_problem("<end_of_turn>", gemma) is None
    assert stop_problem("tok5tok6", gemma) is None          # spelled from two tokens
    assert "cannot be spelled" in stop_problem("zzz", gemma)
    assert "not one in this vocab" in stop_problem("<|im_end|>", gemma)


def test_rp120_sharded_gguf(folder):
    (folder / "tiny-llama-Q8_0.gguf").rename(folder / "tiny-llama-Q8_0-00001-of-00002.gguf")
    assert "RP120" in codes(folder)


def test_rp130_no_readme(folder):
    (folder / "README.md").unlink()
    assert codes(folder) == ["RP130"]


@pytest.mark.parametrize("card, code", [
    ("# no front matter\n", "RP131"),
    ("---\nbase_model: [unclosed\n---\n", "RP131"),
    ("---\n- a list\n---\n", "RP131"),
    ("---\nbase_model: a/b\ntags: [gguf, ollama]\n---\n", "RP132"),
    ("---\nbase_model: a/b\nlicense: mit\ntags: [gguf]\n---\n", "RP133"),
])
def test_readme_rules(folder, card, code):
    (folder / "README.md").write_text(card)
    assert codes(folder) == [code]


def test_rp140_modelfile_does_not_parse(folder):
    (folder / "Modelfile.Q8_0").write_text("FROM ./tiny-llama-Q8_0.gguf\nFOO bar\n")
    findings = [f for f in check(folder) if f.code == "RP140"]
    assert len(findings) == 1 and "Modelfile.Q8_0:2" in findings[0].message


def test_rp141_modelfile_differs_from_params(folder):
    text = (folder / "Modelfile.F32").read_text().replace("PARAMETER temperature 1.0", "PARAMETER temperature 0.2")
    (folder / "Modelfile.F32").write_text(text)
    findings = [f for f in check(folder) if f.code == "RP141"]
    assert [Path(f.path).name for f in findings] == ["Modelfile.F32"]
    assert "PARAMETER" in findings[0].message


def test_rp141_modelfile_differs_from_system(folder):
    (folder / "system").write_text("Something else.")
    assert codes(folder) == ["RP141"]


def test_rp142_modelfile_from_missing_file(folder):
    text = (folder / "Modelfile.F32").read_text().replace("FROM ./tiny-llama-F32.gguf", "FROM ./gone.gguf")
    (folder / "Modelfile.F32").write_text(text)
    assert codes(folder) == ["RP142"]


def test_unreadable_folder_file_is_a_usage_error(folder, monkeypatch):
    from publish.errors import UsageError

    real = os.open

    def denied(path, *args, **kwargs):  # a file without read permission (tests run as root)
        if os.path.basename(path) == "params":
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", denied)   # publish.fsutil.read_utf8 opens with os.open
    with pytest.raises(UsageError, match="params: cannot read file: permission denied"):
        check(folder)


def _edit_for_example(folder: Path, code: str) -> None:
    """Turn the built folder into the one the rule page's example describes."""
    readme = folder / "README.md"
    body = readme.read_text(encoding="utf-8").split("\n---\n", 1)[1]
    if code == "RP130":
        readme.unlink()
    elif code == "RP132":
        readme.write_text("---\nlicense: apache-2.0\ntags: [gguf, ollama]\n---\n" + body, encoding="utf-8")
    elif code == "RP133":
        readme.write_text("---\nbase_model: a/b\nlicense: apache-2.0\ntags: [text-generation]\n---\n" + body,
                          encoding="utf-8")
    elif code == "RP105":
        (folder / "system").write_bytes("Réponds en français.".encode("latin-1"))
    elif code == "RP106":
        (folder / "template").write_text('{{ template "system" . }}{{ .Prompt }}', encoding="utf-8")
    elif code == "RP107":
        (folder / "template").write_bytes(b"\xef\xbb\xbf" + (folder / "template").read_bytes())
    elif code == "RP141":
        params = json.loads((folder / "params").read_text(encoding="utf-8"))
        assert params["temperature"] == 1.0
        text = (folder / "Modelfile.F32").read_text().replace("PARAMETER temperature 1.0", "PARAMETER temperature 0.7")
        (folder / "Modelfile.F32").write_text(text)


@pytest.mark.parametrize("code", ["RP105", "RP106", "RP107", "RP130", "RP132", "RP133", "RP141"])
def test_rule_page_examples_quote_what_lint_prints(folder, code):
    """The finding a rule page's example quotes (`reported as `…``) is what the rule reports for the
    folder the example describes."""
    import re

    _edit_for_example(folder, code)
    quoted = re.search(r"reported as `([^`]+)`", RULES[code].example)
    assert quoted, f"{code}'s example quotes no finding"
    assert [f.message for f in check(folder) if f.code == code] == [quoted.group(1)]


@pytest.mark.parametrize("template, says", [
    ('{{ template "system" . }}{{ .Prompt }}', 'template "system" not defined'),
    ("{{ index .Messages 5 }}", "index out of range: 5"),
    ('{{ template "x" }}{{ .Prompt }}', 'Ollama rejects {{template "name"}} without an argument'),
])
def test_rp106_a_template_that_parses_but_fails_on_every_request(folder, template, says):
    """It built, linted clean and pushed; the smoke (and every Ollama request) then failed with
    the template's error (a tester's find). RP102 stays for templates that do not parse."""
    (folder / "template").write_text(template, encoding="utf-8")
    found = [f for f in check(folder) if f.code in ("RP102", "RP106")]
    assert [f.code for f in found] == ["RP106"] and RULES["RP106"].severity.name == "ERROR"
    assert says in found[0].message + (found[0].hint or "")


def _insert(path: Path, offset: int, byte: bytes) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:offset] + byte + data[offset:])


def test_rp105_files_that_are_not_utf8_name_the_byte_offset_and_line(folder):
    """A `template` with 0xFF and a `system` with a Latin-1 é passed lint ("0 errors"); smoke then
    refused the folder and push would have uploaded it. Each is a finding naming file, byte,
    offset and line; the Modelfiles are removed so RP141 (they differ) does not hide it."""
    for mf in folder.glob("Modelfile.*"):
        mf.unlink()
    template = (folder / "template").read_bytes()
    at = template.index(b"\n", template.index(b"\n") + 1) + 3   # line 3, byte 3
    _insert(folder / "template", at, b"\xff")
    _insert(folder / "system", 3, b"\xe9")
    found = {f.subject: f for f in check(folder) if f.code == "RP105"}
    assert set(found) == {"template", "system"} and RULES["RP105"].severity.name == "ERROR"
    assert found["template"].message == (f"not UTF-8 text: byte 0xFF at offset {at} (line 3, byte 3 of the "
                                         "line) is not valid UTF-8")
    assert found["template"].path == str(folder / "template")
    assert "byte 0xE9 at offset 3 (line 1, byte 4 of the line)" in found["system"].message
    assert "UTF-8" in found["system"].hint


def test_rp107_a_byte_order_mark_in_template_or_system_and_rp110_in_params(folder):
    """Lint passed a `template` and a `system` saved "UTF-8 with BOM"; the real Ollama keeps the
    BOM (tests/smoke/test_hf_co_real.py). `params` with one is RP110 (Ollama's JSON decoder refuses it)."""
    for name in ("template", "system", "params"):
        (folder / name).write_bytes(b"\xef\xbb\xbf" + (folder / name).read_bytes())
    found = check(folder)
    assert sorted(f.subject for f in found if f.code == "RP107") == ["system", "template"]
    assert {f.offset for f in found if f.code == "RP107"} == {0}   # as its message says
    assert RULES["RP107"].severity.name == "ERROR"
    assert [f.message for f in found if f.code == "RP110"] == [
        "not valid JSON at 1:1: Unexpected UTF-8 BOM (decode using utf-8-sig)"]
    (folder / "template").write_text("\ufeff".join(["{{ .Prompt }}", ""]), encoding="utf-8")  # only at the start
    assert [f.subject for f in check(folder) if f.code == "RP107"] == ["system"]


def test_rp105_params_not_utf8_but_valid_json(folder):
    """Go's JSON decoder (and ours, after U+FFFD) accepts it: the stop string silently differs."""
    text = (folder / "params").read_bytes()
    at = text.index(b"<end_of_turn>") + 1
    _insert(folder / "params", at, b"\xe9")
    found = [f for f in check(folder) if f.code == "RP105"]
    assert [f.subject for f in found] == ["params"] and f"offset {at} " in found[0].message


def test_every_problem_a_tolerant_read_records_is_a_finding():
    """Every StagedProblem reason of a local folder maps to a rule (publish.staged's list of
    reasons, read from its source so a new reason without a rule fails here); the Hub-only ones
    (a remote file too large or refused) never reach the folder rules (check_folder refuses a
    Hub repo's object)."""
    import re

    import publish.staged as staged_mod
    from publish.folder_rules import PROBLEM_RULES

    source = Path(staged_mod.__file__).read_text(encoding="utf-8")
    block = source[source.index("# StagedProblem.reason values"):]
    block = block[: block.index("\n\n")]
    reasons = {getattr(staged_mod, name) for name in re.findall(r"^([A-Z_0-9]+) = ", block, re.M)}
    # NOT_A_FILE (a FIFO, a broken link) is raised by StagedFolder.load even when tolerant
    assert reasons - set(PROBLEM_RULES) == {staged_mod.TOO_LARGE, staged_mod.HUB_REFUSED, staged_mod.NOT_A_FILE}
    assert all(code in RULES for code in PROBLEM_RULES.values())


def test_lint_cli_fails_a_folder_whose_template_is_not_utf8(folder):
    """The tester's repro: `publish lint DIR --ignore GG2,GG5` said 0 errors, exit 0."""
    from click.testing import CliRunner

    from publish.cli import main

    for mf in folder.glob("Modelfile.*"):
        mf.unlink()
    _insert(folder / "template", 5, b"\xff")
    result = CliRunner().invoke(main, ["lint", str(folder), "--ignore", "GG2,GG5"])
    assert result.exit_code == 1 and "RP105" in result.output and "byte 0xFF at offset 5" in result.output


def test_a_byte_order_mark_does_not_turn_a_base_release_into_a_chat_one(folder):
    """`{{ .Prompt }}` saved with a BOM: still a base release (lint added GG203, the smoke sent chat
    prompts and failed: a tester's find); RP107 reports the BOM."""
    from publish.staged import StagedFolder

    (folder / "template").write_bytes(b"\xef\xbb\xbf{{ .Prompt }}")
    assert StagedFolder.load(folder, tolerant=True).kind == "base"
    assert "RP107" in {f.code for f in check(folder)}


def test_rp141_a_system_file_the_modelfiles_lack(folder):
    """A `system` added by hand to a folder whose Modelfiles have no SYSTEM: `ollama create -f` and
    `ollama run hf.co/...` then differ, which RP141 is about (it only compared existing SYSTEMs)."""
    (folder / "system").unlink()
    for mf in folder.glob("Modelfile.*"):
        text = mf.read_text(encoding="utf-8")
        mf.write_text("\n".join(line for line in text.splitlines() if not line.startswith("SYSTEM")) + "\n",
                      encoding="utf-8")
    assert not [f for f in check(folder) if f.code == "RP141"]
    (folder / "system").write_text("You are terse.", encoding="utf-8")
    assert {f.subject for f in check(folder) if f.code == "RP141"} == {"SYSTEM"}

"""No raw file text on the terminal (issue 11, item 8).

A GGUF whose general.name, chat template and token texts carry a screen clear (`\\x1b[2J`), a bell,
a carriage return, an 8-bit CSI (`\\x9b`), a right-to-left override and a line break followed by a
line that imitates our own output goes through every command. Text output shows all of it
escaped (publish.termtext, the escaping lint always had) and never starts a line with the forged
text; JSON output keeps the exact values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T

import ggufs
from publish.cli import main

FORGED = "result: passed (forged)"
EVIL = f"evil\x1b[2J\x07\r\n{FORGED}\x9b31m\u202e"
RAW = ["\x1b", "\x07", "\r", "\x9b", "\u202e"]
EVIL_JINJA = ("{{ bos_token }}" + EVIL + "\n{% for m in messages %}<start_of_turn>{{ m['role'] }}\n"
              "{{ m['content'] }}<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}")


def assert_safe(text: str) -> None:
    """Nothing a terminal acts on, and no line that starts with the forged text."""
    for ch in RAW:
        assert ch not in text, f"raw {ch!r} reached the output:\n{text}"
    assert not [line for line in text.splitlines() if line.startswith(FORGED)], text


def run(*args, **kw):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kw)


@pytest.fixture
def evil_gguf(tmp_path) -> Path:
    """A header-only GGUF: every string the summary shows is hostile."""
    return ggufs.write_gguf(tmp_path / "evil-Q8_0.gguf", kv={
        "general.name": EVIL,
        "general.architecture_note": EVIL,
        "llama.context_length": (EVIL, T.STRING),
        "tokenizer.ggml.tokens": (["<s>", EVIL, "</s>"], T.ARRAY, T.STRING),
        "tokenizer.ggml.bos_token_id": (1, T.UINT32),
        "tokenizer.ggml.eos_token_id": (2, T.UINT32),
        "tokenizer.chat_template": EVIL_JINJA,
        "tokenizer.chat_template.tool_use": EVIL,
    }, tensors=[("token_embd.weight", (32, 3), Q.F32)])


def test_inspect_text_escapes_every_file_string(evil_gguf):
    r = run("inspect", evil_gguf)
    assert_safe(r.output)
    name_line = next(line for line in r.output.splitlines() if line.strip().startswith("name "))
    assert "evil\\x1b[2J\\x07\\r\\nresult: passed (forged)\\x9b31m\\u202e" in name_line
    assert "\\x1b[2J" in next(line for line in r.output.splitlines() if "context length" in line)


def test_inspect_json_keeps_the_exact_values(evil_gguf):
    r = run("inspect", evil_gguf, "--json")
    for ch in RAW:
        assert ch not in r.output
    doc = json.loads(r.output)
    assert doc["summary"]["name"] == EVIL
    kv = {k["key"]: k for k in doc["kv"]}
    assert kv["general.name"]["value"] == EVIL and kv["tokenizer.chat_template"]["value"] == EVIL_JINJA
    assert kv["tokenizer.ggml.tokens"]["value"][1] == EVIL


def test_lint_in_every_format(evil_gguf):
    assert_safe(run("lint", evil_gguf, "--select", "ALL").output)
    assert_safe(run("lint", evil_gguf, "--select", "ALL", "--format", "github").output)
    out = run("lint", evil_gguf, "--select", "ALL", "--format", "json").output
    for ch in RAW:
        assert ch not in out
    assert json.loads(out)["summary"]["files"] == 1


def test_lint_github_annotations_escape_a_hostile_file_name(evil_gguf):
    named = evil_gguf.rename(evil_gguf.with_name(f"x\x1b[2J\x9b\n{FORGED}-Q8_0.gguf"))
    out = run("lint", named, "--select", "ALL", "--format", "github").output
    assert "file=" in out and "x\\x1b[2J\\x9b%0Aresult" in out
    assert_safe(out)


def test_fix_prints_old_values_escaped(evil_gguf):
    r = run("fix", evil_gguf, "--set", "general.name=plain", "--select", "ALL")
    assert "general.name" in r.output
    assert_safe(r.output)


def test_template_check_suggest_and_convert(evil_gguf, tmp_path):
    go = tmp_path / "template"
    go.write_text("{{ .Prompt }}")
    r = run("template", "check", "--jinja", evil_gguf, "--go", go, "--show-renders")
    assert r.exit_code == 1
    assert_safe(r.output)
    assert r.output.count("\nresult: ") == 1 and "\\x1b[2J" in r.output
    doc = json.loads(run("template", "check", "--jinja", evil_gguf, "--go", go, "--json").output)
    # exact values (Jinja itself turns the template's \r\n into \n when it reads it)
    assert any(EVIL.replace("\r\n", "\n") in (c.get("jinja") or "") for c in doc["conversations"])
    assert_safe(run("template", "suggest", evil_gguf).output)
    assert_safe(run("template", "convert", evil_gguf).output)
    assert_safe(run("template", "convert", evil_gguf, "--show-renders").output)


def test_errors_from_a_hostile_file_name_stay_on_their_line(tmp_path):
    bad = tmp_path / f"x\x1b[2J\n{FORGED}.gguf"
    bad.write_bytes(b"GGUF\x03\x00\x00\x00")          # truncated right after the version
    r = CliRunner().invoke(main, ["inspect", str(bad)])
    assert r.exit_code == 2
    assert_safe(r.output)
    assert r.output.startswith("error: ") and "x\\x1b[2J\\nresult: passed (forged).gguf" in r.output


def test_push_dry_run_plan_escapes_file_names_from_the_folder(tmp_path, hub):  # noqa: F811
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n")
    (folder / f"notes\x1b[2J\n{FORGED}.txt").write_text("x")
    r = run("push", folder, "--repo", "alice/evil-GGUF", "--dry-run")
    assert "notes\\x1b[2J\\nresult: passed (forged).txt" in r.output
    assert_safe(r.output)


def test_the_stand_in_hubs_own_message_is_escaped(tmp_path, hub, tiny_llama_path):  # noqa: F811
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "README.md").write_text("---\nlicense: mit\n---\n")
    hub.inject("POST", r"/commit/", status=400, message=f"bad\x1b[2J\n{FORGED}")
    r = CliRunner().invoke(main, ["push", str(folder), "--repo", "alice/evil-GGUF"])
    assert r.exit_code == 2
    assert "bad\\x1b[2J" in r.output
    assert_safe(r.output)


@pytest.mark.llamacpp
def test_build_smoke_and_release_escape_names_templates_and_file_names(tmp_path, tiny_llama_path):
    """A real model with a hostile name and chat template through `publish build` (a foreign file
    with a hostile name in the staged folder is named in its output), `publish smoke --backend
    llamacpp` and `publish release`. (A GGUF file name with a control character is refused by the
    build: a Modelfile's FROM cannot hold it.)"""
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    ggufs.write_tiny_llama(spec_dir / "tiny-Q8_0.gguf", name=EVIL, chat_template=EVIL_JINJA)
    (spec_dir / "release.toml").write_text(
        'repo = "acme/evil-GGUF"\nbase_model = "acme/evil"\nlicense = "mit"\nquantized_by = "acme"\n'
        '[template]\nfamily = "gemma3"\n[params]\nnum_predict = 8\n[quants]\npattern = "*.gguf"\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / f"notes\x1b[2J\n{FORGED}.txt").write_text("x")
    r = run("build", spec_dir / "release.toml", "-o", out)
    assert r.exit_code == 0, r.output
    assert "notes\\x1b[2J\\nresult: passed (forged).txt is not from this spec" in r.output
    assert_safe(r.output)
    r = CliRunner().invoke(main, ["smoke", str(out), "--backend", "llamacpp", "--verbose"])
    assert r.exit_code in (0, 1), r.output
    assert "smoke " in r.output
    assert_safe(r.output)
    r = CliRunner().invoke(main, ["release", str(spec_dir / "release.toml"), "-o", str(tmp_path / "rel"),
                                  "--backend", "llamacpp", "--keep-going", "--verbose"],
                           env={"OLLAMA_HOST": "http://127.0.0.1:9"})
    assert "result: " in r.output
    assert_safe(r.output)

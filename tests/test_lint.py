"""`publish lint` end to end: real GGUFs through lint_paths, the report formats and the CLI."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T

import ggufs
from publish.cli import main
from publish.errors import UsageError
from publish.findings import Finding, Severity
from publish.lint import lint_paths
from publish.staged import StagedFolder
from publish.report import escape_property, format_github, format_text


@pytest.fixture(scope="session")
def gemma3n_fixed_path(gguf_cache) -> Path:
    """The same 262,144-token gemma3n, with shared_kv_layers UINT32 and per_layer_token_embd Q8_0."""
    folder = gguf_cache / "lint-fixed"
    folder.mkdir(exist_ok=True)
    return ggufs.write_gemma3n_like(folder / "gemma-3n-E4B-it-Q4_K_M.gguf",
                                    shared_kv_type=T.UINT32, per_layer_type=Q.Q8_0)


def run(*args: str):
    return CliRunner().invoke(main, ["lint", *map(str, args)])


def by_code(result) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in result.findings:
        out.setdefault(f.code, []).append(f)
    return out


# -- the Done-when ---------------------------------------------------------------------------------

def test_broken_gemma3n_exits_1_and_names_both_problems(gemma3n_broken_path):
    r = run(gemma3n_broken_path)
    assert r.exit_code == 1, r.output
    lines = r.output.splitlines()
    kv_line = next(line for line in lines if " GG101 " in line)
    assert "gemma3n.attention.shared_kv_layers" in kv_line and "FLOAT32" in kv_line
    tensor_line = next(line for line in lines if " GG102 " in line)
    assert "per_layer_token_embd.weight" in tensor_line and "Q4_K" in tensor_line
    assert "--tensor-type per_layer_token_embd=q8_0" in r.output
    assert "1 error" in lines[-1]   # GG101; GG102 is a warning (it runs on the real Ollama v0.24.0)


def test_fixed_gemma3n_has_neither_problem(gemma3n_fixed_path):
    result = lint_paths([str(gemma3n_fixed_path)])
    assert not {"GG101", "GG102"} & by_code(result).keys()
    assert result.exit_code == 0
    # what remains is advice, not breakage: the Gemma template's {{ bos_token }} and <end_of_turn>
    assert {"GG204", "GG205"} <= by_code(result).keys()


def test_lint_result_counts_and_fixable(gemma3n_broken_path):
    result = lint_paths([str(gemma3n_broken_path)])
    assert result.counts["error"] == 1 and result.exit_code == 1   # GG101 (GG102 is a warning)
    assert {f.code for f in result.findings if f.fixable} == {"GG101", "GG205"}
    assert result.files == [str(gemma3n_broken_path)]
    text = format_text(result.findings, 1)
    assert f"  fix: publish fix {gemma3n_broken_path}\n" in text  # GG101, an error: fixed by default
    assert f"  fix: publish fix {gemma3n_broken_path} --select GG205\n" in text  # a warning: only when selected
    remote = [f.replace(path="hf://org/repo/m.gguf") for f in result.findings if f.code == "GG101"]
    assert "fix: download hf://org/repo/m.gguf, run `publish fix FILE` on it" in format_text(remote, 1)


# -- files, folders, corrupt input -----------------------------------------------------------------

def test_corrupt_file_is_gg001_with_offset_and_others_are_still_linted(tmp_path, gemma3n_broken_path):
    shutil.copyfile(gemma3n_broken_path, tmp_path / gemma3n_broken_path.name)
    good = ggufs.write_tiny_llama(tmp_path / "tiny-F32.gguf")
    data = good.read_bytes()
    (tmp_path / "cut-Q8_0.gguf").write_bytes(data[:5000])
    (tmp_path / "notes-Q8_0.gguf").write_bytes(b"this is not a gguf file at all")
    result = lint_paths([str(tmp_path)])
    codes = by_code(result)
    bad = {Path(f.path).name: f for f in codes["GG001"]}
    assert set(bad) == {"cut-Q8_0.gguf", "notes-Q8_0.gguf"}
    assert bad["notes-Q8_0.gguf"].offset == 0
    assert 0 < bad["cut-Q8_0.gguf"].offset <= 5000
    assert "GG101" in codes and "GG102" in codes          # the other files were linted
    assert any(Path(f.path).name == "tiny-F32.gguf" for f in result.findings)
    assert len(result.files) == 4 and result.exit_code == 1


def test_clean_file_exits_0_and_nonexistent_path_exits_2(tmp_path, tiny_llama_path):
    r = run(tiny_llama_path)
    assert r.exit_code == 0, r.output       # warnings and info only
    assert "GG204" in r.output and "0 errors" in r.output
    r = run(tmp_path / "nope.gguf")
    assert r.exit_code == 2
    assert "nope.gguf" in r.output and "no such file" in r.output


def test_empty_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no GGUF files"):
        lint_paths([str(tmp_path)])


# -- select / ignore -------------------------------------------------------------------------------

def test_select_and_ignore(gemma3n_broken_path):
    path = str(gemma3n_broken_path)
    assert {f.code for f in lint_paths([path], select=["GG1"]).findings} == {"GG101", "GG102"}
    assert {f.code for f in lint_paths([path], select=["GG102,GG204"]).findings} == {"GG102", "GG204"}
    result = lint_paths([path], ignore=["GG102", "GG5"])
    codes = {f.code for f in result.findings}
    assert "GG102" not in codes and not any(c.startswith("GG5") for c in codes) and "GG101" in codes
    result = lint_paths([path], ignore=["gg1"])
    assert result.exit_code == 0  # both errors ignored
    assert lint_paths([path], select=["all"]).findings == lint_paths([path]).findings


def test_unknown_selector_exits_2(gemma3n_broken_path):
    r = run(gemma3n_broken_path, "--select", "GG9")
    assert r.exit_code == 2 and "GG9" in r.output
    r = run(gemma3n_broken_path, "--ignore", "GG1xx")
    assert r.exit_code == 2
    # the staged-folder rule codes (publish.folder_rules, RP1xx) are selectable too
    assert lint_paths([str(gemma3n_broken_path)], select=["RP1"]).findings == []
    with pytest.raises(UsageError, match="RP9"):
        lint_paths([str(gemma3n_broken_path)], select=["RP9"])


def test_cli_select_is_repeatable_and_comma_separated(gemma3n_broken_path):
    r = run(gemma3n_broken_path, "--select", "GG101", "--select", "GG204,GG205", "--format", "json")
    data = json.loads(r.output)
    assert sorted({f["code"] for f in data["findings"]}) == ["GG101", "GG204", "GG205"]
    assert r.exit_code == 1


# -- formats ---------------------------------------------------------------------------------------

def test_json_format(gemma3n_broken_path):
    r = run(gemma3n_broken_path, "--format", "json")
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert data["summary"]["errors"] == 1 and data["summary"]["files"] == 1
    f = next(f for f in data["findings"] if f["code"] == "GG101")
    assert f["severity"] == "error" and f["fixable"] is True and isinstance(f["offset"], int)
    assert f["subject"] == "gemma3n.attention.shared_kv_layers"


def test_github_format_lines(gemma3n_broken_path):
    r = run(gemma3n_broken_path, "--format", "github")
    lines = r.output.splitlines()
    err = next(line for line in lines if "title=GG101" in line)
    assert err.startswith("::error file=") and "::gemma3n.attention.shared_kv_layers: " in err
    warn = next(line for line in lines if "title=GG102" in line)
    assert warn.startswith("::warning file=") and "::per_layer_token_embd.weight: " in warn
    assert any(line.startswith("::warning ") and "title=GG204" in line for line in lines)
    assert any(line.startswith("::notice ") and "title=GG50" in line for line in lines)
    # a fixable finding carries its fix command, as in the text format (a warning's with --select)
    assert f"%0Afix: publish fix {gemma3n_broken_path}%0A" in err or err.endswith(f"%0Afix: publish fix {gemma3n_broken_path}")
    assert "fix:" not in warn   # GG102 has no fix
    turn_end = next(line for line in lines if "title=GG205" in line)   # a fixable warning: --select
    assert f"%0Afix: publish fix {gemma3n_broken_path} --select GG205" in turn_end


def test_github_escaping():
    f = Finding("GG101", Severity.ERROR, "100% broken\r\nsecond line", "dir,with:colon/a%b.gguf",
                subject="k", hint="run x")
    line = format_github([f], 1).splitlines()[0]
    assert line == ("::error file=dir%2Cwith%3Acolon/a%25b.gguf,title=GG101::"
                    "k: 100%25 broken%0D%0Asecond line%0Ahint: run x")
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


# -- split sets ------------------------------------------------------------------------------------

def write_split(folder: Path, name: str = "model-Q8_0.gguf") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    kv = {"general.name": "split", "general.file_type": (7, T.UINT32), "tokenizer.ggml.tokens": (
        ["<eos>", "a"], T.ARRAY, T.STRING), "tokenizer.ggml.eos_token_id": 0, "tokenizer.chat_template": "{{ x }}",
        "llama.context_length": 4096, "llama.embedding_length": 32, "llama.block_count": 3,
        "llama.attention.layer_norm_rms_epsilon": 1e-5}
    tensors = [(f"blk.{i}.attn_q.weight", (32, 4), Q.Q8_0) for i in range(3)]
    ggufs.write_gguf(folder / name, kv=kv, tensors=tensors, split_max_tensors=1)
    parts = sorted(folder.glob("model-Q8_0-*-of-*.gguf"))
    assert len(parts) == 3
    return parts


def test_complete_split_set_warns_for_ollama(tmp_path):
    parts = write_split(tmp_path)
    result = lint_paths([str(tmp_path)])
    codes = by_code(result)
    (warn,) = codes["GG301"]
    assert warn.severity == Severity.WARNING and "hf.co" in warn.message
    assert "llama-gguf-split --merge" in warn.hint
    assert "GG302" not in codes and "GG303" not in codes
    assert result.exit_code == 0
    # model rules run once, on the first part (with every part's tensors): no per-part duplicates
    assert all(f.path == str(parts[0]) for f in result.findings)
    # naming only the first part still finds its siblings on disk
    assert by_code(lint_paths([str(parts[0])])).keys() == codes.keys()


def test_missing_split_part_is_an_error(tmp_path):
    parts = write_split(tmp_path)
    parts[1].unlink()
    result = lint_paths([str(tmp_path)])
    (missing,) = by_code(result)["GG302"]
    assert missing.subject == parts[1].name and result.exit_code == 1


def test_inconsistent_split_parts_are_an_error(tmp_path):
    parts = write_split(tmp_path / "a")
    for p in parts:  # the names now claim four parts, the headers say three
        p.rename(tmp_path / p.name.replace("-of-00003", "-of-00004"))
    result = lint_paths([str(tmp_path)])
    codes = by_code(result)
    assert any(f.subject == "split.count" for f in codes["GG303"])
    assert [f.subject for f in codes["GG302"]] == ["model-Q8_0-00004-of-00004.gguf"]


def test_split_keys_without_shard_name(tmp_path):
    parts = write_split(tmp_path / "a")
    shutil.copyfile(parts[0], tmp_path / "model-Q8_0.gguf")
    codes = by_code(lint_paths([str(tmp_path / "model-Q8_0.gguf")]))
    assert codes["GG303"][0].subject == "split.count" and "GG301" in codes


# -- staged folders and remote sources -------------------------------------------------------------

@pytest.fixture
def folder_rules_standin(monkeypatch):
    """Stand-in for the build teammate's publish.folder_rules, recording what lint passes it."""
    calls = []

    def check_folder(folder, headers):
        calls.append((folder, headers))
        return [Finding("PF001", Severity.WARNING, "stand-in folder finding", str(folder.path), subject="params")]

    module = types.ModuleType("publish.folder_rules")
    module.check_folder = check_folder
    module.RULES = {"PF001": None}
    monkeypatch.setitem(sys.modules, "publish.folder_rules", module)
    return calls


def test_staged_folder_gets_folder_rules(tmp_path, tiny_llama_path, folder_rules_standin):
    shutil.copyfile(tiny_llama_path, tmp_path / "tiny-F32.gguf")
    (tmp_path / "params").write_text('{"stop": ["<end_of_turn>"]}')
    result = lint_paths([str(tmp_path)], select=["PF", "GG204"])
    assert {f.code for f in result.findings} == {"PF001", "GG204"}
    [(folder, headers)] = folder_rules_standin
    # the folder read once, as one object: what it holds is what the rules see
    assert isinstance(folder, StagedFolder) and folder.path == tmp_path and folder.params == {"stop": ["<end_of_turn>"]}
    assert list(headers) == [tmp_path / "tiny-F32.gguf"]
    assert headers[tmp_path / "tiny-F32.gguf"].architecture == "llama"


def test_plain_folder_and_missing_folder_rules(tmp_path, tiny_llama_path, folder_rules_standin, monkeypatch):
    shutil.copyfile(tiny_llama_path, tmp_path / "tiny-F32.gguf")
    lint_paths([str(tmp_path)])
    assert folder_rules_standin == []  # no template/params/README.md: not a staged folder
    (tmp_path / "README.md").write_text("# card")
    monkeypatch.setitem(sys.modules, "publish.folder_rules", None)  # module not there
    assert not any(f.code.startswith("PF") for f in lint_paths([str(tmp_path)]).findings)


def test_hf_repo_is_linted_through_range_reads(gemma3n_broken_path, tiny_llama_path, monkeypatch):
    """hf:// goes through publish.hub.remote against the loopback Hub stand-in (tests/standins/hub.py)."""
    from standins.hub import HubStandIn
    hub = HubStandIn().start()
    try:
        hub.create_repo("org/gemma-3n-GGUF")
        hub.put_file("org/gemma-3n-GGUF", gemma3n_broken_path.name, gemma3n_broken_path.read_bytes())
        hub.put_file("org/gemma-3n-GGUF", "tiny-F32.gguf", tiny_llama_path.read_bytes())
        hub.put_file("org/gemma-3n-GGUF", "README.md", b"# card")
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        r = run("hf://org/gemma-3n-GGUF", "--format", "json")
    finally:
        hub.stop()
    assert r.exit_code == 1, r.output
    data = json.loads(r.output)
    errors = {(f["path"], f["code"]) for f in data["findings"] if f["severity"] == "error"}
    url = f"hf://org/gemma-3n-GGUF/{gemma3n_broken_path.name}"
    assert errors == {(url, "GG101")}
    assert data["summary"]["files"] == 2


def test_hostile_metadata_stays_on_one_line_without_escape_sequences(tmp_path):
    """Values come from strangers' files: a newline or an ANSI escape must not reach the terminal."""
    path = ggufs.write_gguf(tmp_path / "mmproj-evil.gguf", arch="evil\x1b[2J\nGG999",
                            kv={"tokenizer.ggml.tokens": (["a"], T.ARRAY, T.STRING)},
                            tensors=[("blk.0.attn_q.weight", (32, 4), Q.Q8_0)])
    r = run(path, "--select", "GG604")
    assert "GG604" in r.output
    assert "\x1b" not in r.output and "evil\\x1b[2J\\nGG999" in r.output
    assert len(r.output.splitlines()) == 3  # the finding, its hint, the summary
    gh = run(path, "--format", "github", "--select", "GG604").output
    assert "\x1b" not in gh and gh.startswith("::warning ") and "evil\\x1b[2J%0AGG999" in gh


def test_publish_fix_applies_the_planned_fixes_lint_reports(gemma3n_broken):
    """lint -> `publish fix --select ALL` -> lint: every fixable finding is gone, GG102 (a warning) stays."""
    before = by_code(lint_paths([str(gemma3n_broken)]))
    assert {"GG101", "GG205"} <= before.keys()
    r = CliRunner().invoke(main, ["fix", str(gemma3n_broken), "--select", "ALL"])
    assert "GG101" in r.output and "GG205" in r.output
    after = lint_paths([str(gemma3n_broken)])
    assert not [f for f in after.findings if f.fixable]
    assert {f.code for f in after.findings if f.severity == Severity.ERROR} == set()
    assert "GG102" in {f.code for f in after.findings}


@pytest.mark.parametrize("kv", [
    {"tokenizer.ggml.tokens": (["<bos>", "<eos>", "<end_of_turn>"], T.ARRAY, T.STRING),
     "tokenizer.ggml.bos_token_id": (0.0, T.FLOAT32), "tokenizer.ggml.add_bos_token": True,
     "tokenizer.chat_template": "<bos>{{ x }}<end_of_turn>"},
    {"tokenizer.ggml.tokens": ([1, 2, 3], T.ARRAY, T.UINT32), "tokenizer.ggml.bos_token_id": 1,
     "tokenizer.ggml.add_bos_token": True, "tokenizer.chat_template": "<end_of_turn>"},
    {"split.count": ("two", T.STRING), "split.no": (0, T.UINT16)},
], ids=["float-token-id", "non-string-vocab", "string-split-count"])
def test_wrong_typed_keys_are_findings_not_crashes(tmp_path, kv):
    path = ggufs.write_gguf(tmp_path / "odd-Q4_K_M.gguf", kv=kv, tensors=[("w", (32, 2), Q.F32)])
    r = run(path)
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit), r.output
    assert " GG103 " in r.output
    for command in (["inspect", str(path)], ["fix", "--dry-run", str(path)]):
        r = CliRunner().invoke(main, command)
        assert r.exception is None or isinstance(r.exception, SystemExit), (command, r.exception)


def test_a_finding_that_quotes_a_lone_surrogate_is_printed_escaped(tmp_path):
    """A template's raise_exception text can hold a lone surrogate, which no UTF-8 output carries:
    lint crashed with UnicodeEncodeError (a tester's find); it prints the finding escaped."""
    import json
    import subprocess
    import sys

    from ggufs import write_tiny_llama

    path = write_tiny_llama(tmp_path / "s-F32.gguf", chat_template="{{ raise_exception('bad \\ud800 x') }}")
    for fmt in ("text", "json"):
        out = subprocess.run([sys.executable, "-m", "publish", "lint", "--format", fmt, str(path)],
                             capture_output=True, text=True)
        assert out.returncode in (0, 1) and "Traceback" not in out.stderr, out.stderr
        assert "bad \\ud800 x" in out.stdout
        if fmt == "json":
            assert any("GG703" == f["code"] for f in json.loads(out.stdout)["findings"])

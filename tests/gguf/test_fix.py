"""`publish fix` and publish.gguf.fix on real GGUFs: in-place patches, atomic rewrites, safety."""

from __future__ import annotations

import json
import hashlib
import os
import struct

import numpy as np
import pytest
from click.testing import CliRunner
from gguf import GGUFReader, GGUFValueType as V

import ggufs
from publish.cli import main
from publish.errors import PublishError, UsageError
from publish.gguf import fix as fixmod
from publish.gguf.changes import RemoveKey, SetValue
from publish.fixing import plan_fix
from publish.gguf.fix import apply_changes, parse_assignment
from publish.gguf.reader import read_header

SHARED_KV = "gemma3n.attention.shared_kv_layers"


def data_sha(path) -> str:
    hdr = read_header(path)
    with open(path, "rb") as fh:
        fh.seek(hdr.data_offset)
        return hashlib.sha256(fh.read()).hexdigest()


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


# ---------------------------------------------------------------------------------------------
# The Done-when scenario


def test_fix_gemma3n_in_place_and_explains_requantize(gemma3n_broken):
    before = gemma3n_broken.read_bytes()
    kv = read_header(gemma3n_broken).kv[SHARED_KV]
    result = run("fix", gemma3n_broken)
    # no error is left: the Q4_K per_layer_token_embd (GG102) is a warning, since the real Ollama
    # v0.24.0 runs it (tests/gguf/test_gemma3n_real.py); `publish lint` still explains the requantize
    assert result.exit_code == 0, result.output
    out = result.output
    assert "GG101" in out and "FLOAT32 10.0 -> UINT32 10" in out and "in place" in out
    after = gemma3n_broken.read_bytes()
    assert len(after) == len(before)
    changed = np.flatnonzero(np.frombuffer(before, np.uint8) != np.frombuffer(after, np.uint8)).tolist()
    # only the type tag and the value of that one record changed
    assert changed and min(changed) >= kv.value_offset - 4 and max(changed) < kv.value_offset + 4
    assert after[kv.value_offset - 4:kv.value_offset + 4] == struct.pack("<II", V.UINT32, 10)
    fixed = read_header(gemma3n_broken).kv[SHARED_KV]
    assert (fixed.type, fixed.value) == (V.UINT32, 10)
    # fixing again finds nothing to fix
    again = run("fix", gemma3n_broken)
    assert "nothing to fix" in again.output and again.exit_code == 0
    assert gemma3n_broken.read_bytes() == after


def test_format_json_says_what_was_changed_where_and_what_is_left(gemma3n_broken, tmp_path):
    kv = read_header(gemma3n_broken).kv[SHARED_KV]
    before = gemma3n_broken.read_bytes()
    dry = run("fix", gemma3n_broken, "--dry-run", "--format", "json")
    doc = json.loads(dry.stdout)
    assert dry.exit_code == 0 and gemma3n_broken.read_bytes() == before
    assert doc["dry_run"] is True and doc["written"] is None and doc["file"] == str(gemma3n_broken)
    assert [(c["key"], c["code"]) for c in doc["changes"]] == [(SHARED_KV, "GG101")]
    assert "FLOAT32 10.0 -> UINT32 10" in doc["changes"][0]["change"]

    done = run("fix", gemma3n_broken, "--format", "json")
    doc = json.loads(done.stdout)
    assert done.exit_code == doc["exit_code"] == 0
    assert doc["dry_run"] is False and doc["written"] == str(gemma3n_broken) and doc["in_place"] is True
    # the patches name the bytes written: inside the one record, as the text output says
    assert doc["patches"] and all(kv.value_offset - 4 <= p["offset"] and p["offset"] + p["length"] <= kv.value_offset + 4
                                  for p in doc["patches"])
    assert doc["bytes_touched"] == sum(p["length"] for p in doc["patches"])
    assert [f["code"] for f in doc["remaining"] if f["severity"] == "error"] == []
    assert "GG102" in {f["code"] for f in doc["remaining"]}   # the Q4_K warning stays (a requantize)

    again = json.loads(run("fix", gemma3n_broken, "--format", "json", "-o", tmp_path / "copy.gguf").stdout)
    assert again["changes"] == [] and again["copied_unchanged"] is True
    assert again["written"] == str(tmp_path / "copy.gguf")


def test_dry_run_writes_nothing(gemma3n_broken):
    before = gemma3n_broken.read_bytes()
    mtime = gemma3n_broken.stat().st_mtime_ns
    result = run("fix", gemma3n_broken, "--dry-run")
    assert "would change GG101" in result.output and "nothing written" in result.output
    assert gemma3n_broken.read_bytes() == before and gemma3n_broken.stat().st_mtime_ns == mtime
    assert not list(gemma3n_broken.parent.glob("*.bak"))


def test_backup_of_an_in_place_fix_is_a_separate_copy(gemma3n_broken):
    before = gemma3n_broken.read_bytes()
    result = run("fix", gemma3n_broken, "--backup")
    bak = gemma3n_broken.with_name(gemma3n_broken.name + ".bak")
    assert f"backup: {bak}" in result.output
    assert bak.read_bytes() == before != gemma3n_broken.read_bytes()
    assert os.stat(bak).st_ino != os.stat(gemma3n_broken).st_ino


def test_output_leaves_the_original_untouched(gemma3n_broken, tmp_path):
    before = gemma3n_broken.read_bytes()
    out = tmp_path / "fixed.gguf"
    result = run("fix", gemma3n_broken, "--output", out)
    assert result.exit_code == 0 and gemma3n_broken.read_bytes() == before
    assert read_header(out).kv[SHARED_KV].type == V.UINT32
    assert data_sha(out) == data_sha(gemma3n_broken)


def test_fixing_a_clean_file_exits_zero(tiny_llama):
    before = tiny_llama.read_bytes()
    result = run("fix", tiny_llama)
    assert result.exit_code == 0, result.output
    assert "nothing to fix" in result.output and tiny_llama.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# Rewrites


def test_longer_chat_template_rewrites_with_identical_tensor_data(tiny_llama, tmp_path):
    template = tmp_path / "chat.jinja"
    new_text = ggufs.GEMMA_JINJA + "{# a longer template #}" * 40
    template.write_text(new_text)
    sha = data_sha(tiny_llama)
    result = run("fix", tiny_llama, "--chat-template", template, "--backup")
    assert result.exit_code == 0, result.output
    assert "rewrote" in result.output and sha in result.output
    ref = GGUFReader(tiny_llama)
    assert ref.fields["tokenizer.chat_template"].contents() == new_text
    assert data_sha(tiny_llama) == sha
    for t_old, t_new in zip(read_header(tiny_llama.with_name(tiny_llama.name + ".bak")).tensors,
                            read_header(tiny_llama).tensors):
        assert (t_old.name, t_old.offset, t_old.n_bytes) == (t_new.name, t_new.offset, t_new.n_bytes)
    assert not [p for p in tiny_llama.parent.iterdir() if p.name.endswith(".tmp")]


def test_rewrite_keeps_tensor_values_as_llama_reads_them(tiny_llama):
    before = {t.name: t.data.tobytes() for t in GGUFReader(tiny_llama).tensors}
    apply_changes(tiny_llama, [SetValue("general.license", "mit", V.STRING), RemoveKey("general.quantized_by"),
                               SetValue("tokenizer.ggml.add_bos_token", False, V.BOOL)])
    ref = GGUFReader(tiny_llama)
    assert {t.name: t.data.tobytes() for t in ref.tensors} == before
    assert ref.fields["general.license"].contents() == "mit"
    assert "general.quantized_by" not in ref.fields
    hdr = read_header(tiny_llama)
    assert hdr.add_bos_token is False and hdr.data_offset % hdr.alignment == 0


def test_same_size_changes_are_in_place_and_touch_few_bytes(tiny_llama):
    size = tiny_llama.stat().st_size
    result = apply_changes(tiny_llama, [SetValue("llama.context_length", 4096, V.UINT32),
                                        SetValue("tokenizer.ggml.add_bos_token", False, V.BOOL)], verify_data=True)
    assert result.in_place and result.bytes_touched <= 8 and result.data_sha256_verified
    assert tiny_llama.stat().st_size == size
    hdr = read_header(tiny_llama)
    assert hdr.arch_value("context_length") == 4096 and hdr.add_bos_token is False


def test_failure_midway_through_a_rewrite_leaves_the_original(tiny_llama, monkeypatch):
    before = tiny_llama.read_bytes()
    real_hash = fixmod._hash_data
    calls = []

    def dying_hash(fh, start):
        calls.append(start)
        if len(calls) == 1:
            raise KeyboardInterrupt("killed")
        return real_hash(fh, start)

    monkeypatch.setattr(fixmod, "_hash_data", dying_hash)
    with pytest.raises(KeyboardInterrupt):
        apply_changes(tiny_llama, [SetValue("tokenizer.chat_template", "x" * 5000, V.STRING)])
    assert tiny_llama.read_bytes() == before
    assert sorted(p.name for p in tiny_llama.parent.iterdir()) == [tiny_llama.name]


def test_failure_while_copying_tensor_data_leaves_the_original(tiny_llama, monkeypatch):
    before = tiny_llama.read_bytes()
    monkeypatch.setattr(fixmod, "COPY_CHUNK", 4096)
    real_sha = hashlib.sha256
    state = {"updates": 0}

    class Dying:
        def __init__(self):
            self.h = real_sha()

        def update(self, b):
            state["updates"] += 1
            if state["updates"] == 3:
                raise OSError(28, "No space left on device")
            self.h.update(b)

        def hexdigest(self):
            return self.h.hexdigest()

    monkeypatch.setattr(fixmod.hashlib, "sha256", Dying)
    with pytest.raises(PublishError, match="No space left on device; the original is unchanged"):
        apply_changes(tiny_llama, [SetValue("general.license", "mit", V.STRING)])
    assert tiny_llama.read_bytes() == before
    assert [p.name for p in tiny_llama.parent.iterdir()] == [tiny_llama.name]


def test_corrupted_copy_is_never_renamed_into_place(tiny_llama, monkeypatch):
    before = tiny_llama.read_bytes()
    real_hash = fixmod._hash_data
    monkeypatch.setattr(fixmod, "_hash_data", lambda fh, start: "0" * 64 if start else real_hash(fh, start))
    with pytest.raises(Exception, match="tensor data differs"):
        apply_changes(tiny_llama, [SetValue("general.license", "mit", V.STRING)])
    assert tiny_llama.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# Library details


def test_plan_selects_error_fixes_by_default(gemma3n_broken):
    plan = plan_fix(gemma3n_broken)
    assert [f.code for f, _ in plan.fixes] == ["GG101"]
    assert "GG102" in [f.code for f in plan.unfixable]
    everything = plan_fix(gemma3n_broken, select=["ALL"])
    assert len(everything.fixes) >= len(plan.fixes)
    assert plan_fix(gemma3n_broken, ignore=["GG101"]).fixes == []
    with pytest.raises(UsageError, match="GG9"):  # a typo selects nothing silently no more
        plan_fix(gemma3n_broken, select=["GG9"])
    assert run("fix", gemma3n_broken, "--ignore", "GG1xx").exit_code == 2


def test_set_assignments():
    hdr = None
    assert parse_assignment("general.license=apache-2.0") == SetValue("general.license", "apache-2.0", V.STRING,
                                                                       reason="--set")
    assert parse_assignment("a.b=10:uint32").type == V.UINT32
    assert parse_assignment("a.b=10:float32") == SetValue("a.b", 10.0, V.FLOAT32, reason="--set")
    assert parse_assignment("a.b=true").value is True
    assert parse_assignment("a.b=[1,2,3]:array[int32]") == SetValue("a.b", [1, 2, 3], V.ARRAY, V.INT32, "--set")
    assert parse_assignment("general.url=http://x:8080").value == "http://x:8080"
    for bad in ("novalue", "a.b=300:uint8", "a.b=x:uint32", "=1"):
        with pytest.raises(UsageError):
            parse_assignment(bad, hdr)


def test_protected_keys_are_refused(tiny_llama):
    with pytest.raises(UsageError, match="general.alignment"):
        apply_changes(tiny_llama, [SetValue("general.alignment", 64, V.UINT32)])


def test_set_uses_the_stored_type_of_an_existing_key(gemma3n_broken):
    result = run("fix", gemma3n_broken, "--set", "gemma3n.context_length=8192", "--ignore", "GG1")
    assert "UINT32 32768 -> UINT32 8192" in result.output and "in place" in result.output
    assert read_header(gemma3n_broken).arch_value("context_length") == 8192


def test_usage_errors_exit_2(tmp_path, gemma3n_broken):
    assert run("fix", tmp_path / "missing.gguf").exit_code == 2
    assert run("fix", gemma3n_broken, "--set", "x=999:uint8").exit_code == 2
    assert run("fix", gemma3n_broken, "--backup", "--output", tmp_path / "o.gguf").exit_code == 2
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\3\0\0\0" + b"\xff" * 16)
    result = run("fix", bad)
    assert result.exit_code == 2 and "plausible" in result.output
    latin1 = tmp_path / "chat.jinja"
    latin1.write_bytes("{{ 'caf\u00e9' }}".encode("latin-1"))
    result = run("fix", gemma3n_broken, "--chat-template", latin1)
    assert result.exit_code == 2 and "chat.jinja: not UTF-8 text: byte 0xE9 at offset 7 (line 1" in result.output


def test_unwritable_file_is_a_clear_error(gemma3n_broken, monkeypatch):
    before = gemma3n_broken.read_bytes()

    def read_only_open(path, mode="r", *args, **kwargs):
        if "+" in mode or "w" in mode:
            raise PermissionError(13, "Permission denied", str(path))
        return open(path, mode, *args, **kwargs)

    monkeypatch.setattr(fixmod, "open", read_only_open, raising=False)
    result = CliRunner().invoke(main, ["fix", str(gemma3n_broken)])
    assert result.exit_code == 2 and "Permission denied; nothing was patched" in result.output
    assert gemma3n_broken.read_bytes() == before


def test_rewrite_of_a_file_without_tensors(tmp_path):
    vocab_only = ggufs.write_gguf(tmp_path / "vocab.gguf", kv={
        "tokenizer.ggml.tokens": (["a", "b"], V.ARRAY, V.STRING)})
    with open(vocab_only, "r+b") as fh:  # some writers end a tensor-less file right after the header
        fh.truncate(read_header(vocab_only).header_size)
    result = apply_changes(vocab_only, [SetValue("general.name", "vocab", V.STRING)])
    assert not result.in_place and result.data_sha256_verified
    assert GGUFReader(vocab_only).fields["general.name"].contents() == "vocab"
    assert read_header(vocab_only).tokens.to_list() == ["a", "b"]


def test_encode_value_checks_types_and_ranges():
    assert fixmod.encode_value("k", V.UINT32, np.uint32(5)) == struct.pack("<II", V.UINT32, 5)
    assert fixmod.encode_value("k", V.UINT32, 10.0) == struct.pack("<II", V.UINT32, 10)
    assert fixmod.encode_value("k", V.BOOL, np.bool_(True)) == struct.pack("<IB", V.BOOL, 1)
    assert fixmod.encode_value("k", V.ARRAY, ["a", ""], V.STRING) == \
        struct.pack("<IIQQ", V.ARRAY, V.STRING, 2, 1) + b"a" + struct.pack("<Q", 0)
    for vtype, value in [(V.UINT32, "5"), (V.BOOL, 2), (V.UINT8, 1.5), (V.INT8, 128), (V.FLOAT32, 1e39),
                         (V.STRING, 5), (V.ARRAY, [1])]:
        with pytest.raises(UsageError):
            fixmod.encode_value("k", vtype, value)


@pytest.mark.llamacpp
def test_llama_cpp_runs_the_fixed_files(tiny_llama, tmp_path):
    """A rewritten and an in-place patched file still load and answer in llama.cpp."""
    import llama_cpp

    template = "{% for m in messages %}{{ m['content'] }}{% endfor %}" + " " * 3000
    rewritten = tmp_path / "rewritten.gguf"
    apply_changes(tiny_llama, [SetValue("tokenizer.chat_template", template, V.STRING),
                               SetValue("general.license", "mit", V.STRING)], output=rewritten)
    result = apply_changes(tiny_llama, [SetValue("llama.context_length", 256, V.UINT32)])
    assert result.in_place
    for path, ctx in ((rewritten, 512), (tiny_llama, 256)):
        from publish.smoke.llamacpp import load_llama

        model = load_llama(str(path), n_ctx=128, verbose=False)
        try:
            assert model.metadata["llama.context_length"] == str(ctx)
            if path == rewritten:
                assert model.metadata["tokenizer.chat_template"] == template
            out = model.create_completion("hello", max_tokens=1, temperature=0)
            assert out["choices"][0]["text"] == ggufs.ANSWER
        finally:
            model.close()


def test_exit_zero_once_fixed_and_one_while_an_error_is_left(tmp_path):
    from gguf import GGMLQuantizationType

    path = ggufs.write_gemma3n_like(tmp_path / "gemma-3n-E4B-it-Q4_K_M.gguf",
                                    per_layer_type=GGMLQuantizationType.Q8_0, n_vocab=1024)
    ignored = run("fix", path, "--ignore", "GG101")
    assert ignored.exit_code == 1 and "not applied GG101 (error)" in ignored.output
    assert run("fix", path, "--dry-run").exit_code == 0  # the planned fix would leave no error
    fixed = run("fix", path)
    assert fixed.exit_code == 0, fixed.output
    assert "changed GG101" in fixed.output and "error(s) remain" not in fixed.output


# ---------------------------------------------------------------------------------------------
# --chat-template takes what people have: a template file or the model's tokenizer_config.json

def _config(tmp_path, chat_template, **extra):
    path = tmp_path / "tokenizer_config.json"
    path.write_text(json.dumps({"add_bos_token": True, "bos_token": "<bos>", "chat_template": chat_template, **extra}))
    return path


def test_chat_template_from_tokenizer_config_json(tiny_llama, tmp_path):
    """The usual copy source (GG203/GG701's hint): its chat_template string is written, never the JSON."""
    result = run("fix", tiny_llama, "--chat-template", _config(tmp_path, ggufs.GEMMA_JINJA))
    assert result.exit_code == 0, result.output
    assert read_header(tiny_llama).chat_template == ggufs.GEMMA_JINJA


def test_named_chat_templates_from_tokenizer_config_json(tiny_llama, tmp_path):
    """A list of named templates (Command-R, Hermes: default + tool_use) becomes tokenizer.chat_template
    and tokenizer.chat_template.tool_use, the keys llama.cpp's converter writes."""
    tool_use = "{% for m in messages %}{{ m['content'] }}{% endfor %}{{ tools | tojson }}"
    named = [{"name": "default", "template": ggufs.GEMMA_JINJA}, {"name": "tool_use", "template": tool_use}]
    result = run("fix", tiny_llama, "--chat-template", _config(tmp_path, named))
    assert result.exit_code == 0, result.output
    hdr = read_header(tiny_llama)
    assert hdr.chat_template == ggufs.GEMMA_JINJA and hdr.value("tokenizer.chat_template.tool_use") == tool_use


@pytest.mark.parametrize("content, message", [
    ("{{- range .Messages }}{{ .Content }}{{ end }}", "Ollama Go template"),          # Go template
    ("{% for m in messages %}{{ m['content'] }}", "Unexpected end of template"),      # unclosed block
])
def test_chat_template_that_does_not_parse_is_refused(tiny_llama, tmp_path, content, message):
    before = tiny_llama.read_bytes()
    path = tmp_path / "chat.jinja"
    path.write_text(content)
    result = run("fix", tiny_llama, "--chat-template", path)
    assert result.exit_code == 2 and message in result.output and "chat.jinja:1:" in result.output
    assert "Traceback" not in result.output and tiny_llama.read_bytes() == before


def test_json_is_never_written_as_a_template(tiny_llama, tmp_path):
    before = tiny_llama.read_bytes()
    no_template = _config(tmp_path, None)
    result = run("fix", tiny_llama, "--chat-template", no_template)
    assert result.exit_code == 2 and "no chat_template" in result.output
    pasted = tmp_path / "chat.jinja"   # a tokenizer_config.json saved under a template's name
    pasted.write_text(json.dumps({"chat_template": 5, "eos_token": "<eos>"}))
    result = run("fix", tiny_llama, "--chat-template", pasted)
    assert result.exit_code == 2 and tiny_llama.read_bytes() == before
    bad = _config(tmp_path, "{% if x %}never closed")
    result = run("fix", tiny_llama, "--chat-template", bad)
    assert result.exit_code == 2 and "tokenizer_config.json" in result.output and tiny_llama.read_bytes() == before


# ---------------------------------------------------------------------------------------------
# --set types, hostile templates, split parts, --output (the tester's defects)

@pytest.mark.parametrize("typo", ["unit32", "uint23", "flaot32", "array[unit32]", "int"])
def test_set_with_a_misspelt_type_is_a_usage_error_and_writes_nothing(tiny_llama, typo):
    before = tiny_llama.read_bytes()
    result = run("fix", tiny_llama, "--set", f"tokenizer.ggml.eot_token_id=5:{typo}")
    assert result.exit_code == 2, result.output
    assert f"unknown type {typo!r}" in result.output and "uint32" in result.output and "float32" in result.output
    assert tiny_llama.read_bytes() == before


def test_set_of_a_well_known_key_takes_the_type_lint_expects(tiny_llama):
    assert "tokenizer.ggml.eot_token_id" not in read_header(tiny_llama).kv
    result = run("fix", tiny_llama, "--set", "tokenizer.ggml.eot_token_id=1")
    assert result.exit_code == 0, result.output
    assert "GG103" not in result.output
    kv = read_header(tiny_llama).kv["tokenizer.ggml.eot_token_id"]
    assert (kv.type, kv.value) == (V.UINT32, 1)
    # a value that does not parse as that type is refused, not stored as a string
    before = tiny_llama.read_bytes()
    bad = run("fix", tiny_llama, "--set", "llama.context_length=4k")
    assert bad.exit_code == 2 and "'4k' is not a uint32" in bad.output, bad.output
    assert tiny_llama.read_bytes() == before


def test_set_string_values_with_colons_still_work():
    assert parse_assignment("general.name=Llama:Instruct").value == "Llama:Instruct"
    assert parse_assignment("general.url=https://example.com/x").value == "https://example.com/x"
    assert parse_assignment("general.name=a:unit32:string").value == "a:unit32"
    assert parse_assignment("x.count=7:uint16").type == V.UINT16


@pytest.mark.parametrize("payload", [
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% for m in messages %}{{ m['content'] }}{% endfor %}{{ lipsum|attr('\\x5f\\x5fglobals\\x5f\\x5f') }}",
])
def test_hostile_chat_template_is_refused_before_writing(tiny_llama, tmp_path, payload):
    before = tiny_llama.read_bytes()
    evil = tmp_path / "evil.jinja"
    evil.write_text(payload)
    result = run("fix", tiny_llama, "--chat-template", evil)
    assert result.exit_code == 2, result.output
    assert "escape the Jinja sandbox" in result.output and "GG290" in result.output
    assert tiny_llama.read_bytes() == before
    config = tmp_path / "tokenizer_config.json"
    config.write_text(json.dumps({"chat_template": [{"name": "default", "template": "{{ messages }}"},
                                                    {"name": "tool_use", "template": payload}]}))
    result = run("fix", tiny_llama, "--chat-template", config)
    assert result.exit_code == 2 and "'tool_use'" in result.output, result.output
    assert tiny_llama.read_bytes() == before


def test_fix_of_a_later_split_part_judges_it_as_part_of_its_set(tmp_path):
    from test_lint import write_split

    from publish.lint import lint_paths

    parts = write_split(tmp_path / "split")
    assert lint_paths([str(tmp_path / "split")]).exit_code == 0
    for part in parts[1:]:
        result = run("fix", part, "--set", "general.license=mit")
        assert result.exit_code == 0, result.output
        assert "error(s) remain" not in result.output and "GG200" not in result.output
        assert read_header(part).kv["general.license"].value == "mit"
        # no rule fix of the model (part 1's metadata) is written into a later part
        assert run("fix", part, "--select", "ALL").output.count("changed") == 0
    # an error of the set is still reported, naming the part it is in
    ggufs_kv = read_header(parts[0]).kv["tokenizer.ggml.eos_token_id"]
    apply_changes(parts[0], [SetValue("tokenizer.ggml.eos_token_id", 99, V.UINT32)])
    result = run("fix", parts[2], "--set", "general.license=apache-2.0")
    assert result.exit_code == 1 and str(parts[0]) in result.output, result.output
    assert ggufs_kv.value == 0


def test_output_naming_the_input_is_a_usage_error(tiny_llama, tmp_path):
    before = tiny_llama.read_bytes()
    for same in (tiny_llama, tmp_path / "." / tiny_llama.name):
        result = run("fix", tiny_llama, "--set", "general.license=mit", "-o", same)
        assert result.exit_code == 2 and "is" in result.output and "itself" in result.output, result.output
    link = tmp_path / "link.gguf"
    os.link(tiny_llama, link)
    assert run("fix", tiny_llama, "--set", "general.license=mit", "-o", link).exit_code == 2
    assert tiny_llama.read_bytes() == before


def test_output_with_nothing_to_fix_is_a_copy_of_the_input(tiny_llama, tmp_path):
    out = tmp_path / "out.gguf"
    out.write_bytes(b"an older output")
    result = run("fix", tiny_llama, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == tiny_llama.read_bytes() and f"copied {tiny_llama} unchanged to {out}" in result.output
    out.write_bytes(b"an older output")
    dry = run("fix", tiny_llama, "-o", out, "--dry-run")
    assert dry.exit_code == 0 and out.read_bytes() == b"an older output" and "not written" in dry.output


def _count_parses(monkeypatch) -> list[str]:
    """Every header parse publish.fixing and publish.gguf.fix make, by the name they read."""
    seen: list[str] = []

    def counting(source, name=None):
        seen.append(str(name or source))
        return read_header(source, name=name)
    monkeypatch.setattr("publish.fixing.read_header", counting)
    monkeypatch.setattr(fixmod, "read_header", counting)
    return seen


@pytest.mark.parametrize("how", ["in place", "rewrite", "dry run"])
def test_fix_file_parses_the_header_once_before_and_once_after_the_write(gemma3n_broken, tmp_path,
                                                                         monkeypatch, how):
    """A 262,144-token header costs more to parse than the fix costs to write: the plan's parse is
    the one apply_changes works from, and the parse that checks the written bytes is the one the
    re-check lints (it parsed the input twice and the output twice). The findings left are those
    a fresh lint of the written file gives."""
    from publish.fixing import fix_file
    from publish.gguf.rules import check_header

    template = tmp_path / "chat.jinja"
    template.write_text(ggufs.GEMMA_JINJA + "{# longer #}" * 40)
    seen = _count_parses(monkeypatch)
    outcome = fix_file(gemma3n_broken, chat_template=template if how == "rewrite" else None,
                       dry_run=how == "dry run")
    assert bool(outcome.result.changes) and outcome.result.in_place == (how != "rewrite")
    assert len(seen) == (1 if how == "dry run" else 2), seen
    if how != "dry run":
        fresh = check_header(read_header(gemma3n_broken))
        assert [(f.code, f.path, f.message) for f in outcome.remaining] == [(f.code, f.path, f.message) for f in fresh]
        assert str(gemma3n_broken) in {f.path for f in outcome.remaining}


def test_a_file_changed_between_plan_and_write_is_read_again(gemma3n_broken, monkeypatch):
    """The plan's header is used for the write only when the file's size, mtime and inode are
    those it had before planning; otherwise apply_changes reads it again (and the in-place patch
    checks each old byte it replaces)."""
    from publish import fixing

    real_plan = fixing.plan_fix

    def plan_then_touch(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        st = os.stat(gemma3n_broken)
        os.utime(gemma3n_broken, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
        return plan
    monkeypatch.setattr(fixing, "plan_fix", plan_then_touch)
    seen = _count_parses(monkeypatch)
    outcome = fixing.fix_file(gemma3n_broken)
    assert outcome.result.changes and len(seen) == 3, seen


def test_an_error_the_set_itself_leaves_is_printed_not_only_counted(tmp_path):
    """`publish fix FILE --set KEY=VALUE` whose value a rule then refuses (add_bos_token false on a
    Llama whose template writes no BOS: GG702, fixable) said "1 error(s) remain; see above" with
    nothing above: the re-check's fixable errors that no plan listed are printed with their fix."""
    path = ggufs.write_tiny_llama(tmp_path / "m-F32.gguf", add_bos_token=True,
                                  chat_template="{% for m in messages %}{{ m['content'] }}{% endfor %}")
    result = run("fix", path, "--set", "tokenizer.ggml.add_bos_token=false")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("  still GG702 (error): Llama models need '<bos>'") for line in lines), result.output
    assert f"    apply with: publish fix {path} --select GG702" in lines
    assert lines[-1] == "1 error(s) remain; see above."

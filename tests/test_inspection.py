"""publish.inspection (what `publish inspect` prints), through the CLI on real GGUFs."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V

import ggufs
from publish.cli import main


def run(*args):
    return CliRunner().invoke(main, ["inspect", *map(str, args)], catch_exceptions=False)


def test_summary_of_the_gemma3n_file(gemma3n_broken_path):
    result = run(gemma3n_broken_path)
    assert result.exit_code == 0, result.output
    out = result.output
    for line in ("architecture    gemma3n", "name            Gemma-3N-E4B-It",
                 "file type       Q4_K_M (general.file_type = 15)", "context length  32768",
                 "vocab size      262144", "BOS 2 '<bos>'", "EOS 1 '<eos>'", "PAD 0 '<pad>'", "not set: EOT",
                 "add_bos_token   true", "chat template   760 chars: \"{{ bos_token }}"):
        assert line in out, line
    # tensors grouped by type with bits per weight: Q4_K is 4.5 bpw, Q6_K 6.5625
    assert any(l.split()[:2] == ["Q4_K", "3"] and l.rstrip().endswith("4.50 bpw") for l in out.splitlines())
    assert any(l.split()[:2] == ["Q6_K", "2"] and l.rstrip().endswith("6.56 bpw") for l in out.splitlines())


def test_json_shows_stored_types(gemma3n_broken_path):
    doc = json.loads(run(gemma3n_broken_path, "--json").output)
    kv = {k["key"]: k for k in doc["kv"]}
    shared = kv["gemma3n.attention.shared_kv_layers"]
    assert shared["type"] == "FLOAT32" and shared["value"] == 10.0
    assert kv["gemma3n.context_length"]["type"] == "UINT32"
    tokens = kv["tokenizer.ggml.tokens"]
    assert (tokens["type"], tokens["item_type"], tokens["length"]) == ("ARRAY", "STRING", 262_144)
    assert tokens["truncated"] is True and tokens["value"][:3] == ["<pad>", "<eos>", "<bos>"]
    assert len(tokens["value"]) == 16
    assert kv["gemma3n.feed_forward_length"]["value"] == [512, 512] and "truncated" not in kv["gemma3n.feed_forward_length"]
    assert kv["tokenizer.chat_template"]["value"] == ggufs.GEMMA_JINJA
    per_layer = next(t for t in doc["tensors"] if t["name"] == "per_layer_token_embd.weight")
    assert per_layer["type"] == "Q4_K" and per_layer["shape"] == [512, 64]
    assert per_layer["file_offset"] == doc["data_offset"] + per_layer["offset"]
    assert doc["summary"]["file_type_name"] == "Q4_K_M"


def test_json_full_arrays_and_several_files(tiny_llama_path, tmp_path):
    named = ggufs.write_gguf(tmp_path / "t-Q8_0.gguf", kv={
        "tokenizer.chat_template": "default {{ x }}",
        "tokenizer.chat_template.tool_use": "tools {{ y }}",
        "nested": ([["a"], ["b", "c"]], V.ARRAY, V.ARRAY),
        "nan": (float("nan"), V.FLOAT32),
    }, tensors=[("w", (32, 2), T.Q8_0)])
    docs = json.loads(run(tiny_llama_path, named, "--json", "--full-arrays").output)
    assert isinstance(docs, list) and len(docs) == 2
    eps = next(k for k in docs[0]["kv"] if k["key"] == "llama.attention.layer_norm_rms_epsilon")
    assert (eps["type"], eps["value"]) == ("FLOAT32", 1e-05)  # shortest FLOAT32 text, not 9.9999997e-06
    tokens = next(k for k in docs[0]["kv"] if k["key"] == "tokenizer.ggml.tokens")
    assert len(tokens["value"]) == tokens["length"] == 357 and "truncated" not in tokens
    kv = {k["key"]: k for k in docs[1]["kv"]}
    assert kv["nested"]["value"] == [["a"], ["b", "c"]] and kv["nan"]["value"] == "nan"
    assert docs[1]["summary"]["chat_templates"] == {"default": "default {{ x }}", "tool_use": "tools {{ y }}"}
    text = run(named).output
    assert "template tool_use" in text and "13 chars" in text


def test_folder_and_split_part(tmp_path):
    ggufs.write_gguf(tmp_path / "m-Q8_0.gguf", kv={"general.name": "m"},
                     tensors=[(f"t{i}", (32,), T.Q8_0) for i in range(3)], split_max_tensors=2)
    out = run(tmp_path).output
    assert out.count("GGUF v3") == 2
    assert "split           part 2 of 2" in out
    assert "split set       2 parts" in out and "model metadata is in" in out
    (tmp_path / "m-Q8_0-00001-of-00002.gguf").unlink()
    assert "split set       broken:" in run(tmp_path).output


def test_errors_exit_2(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\1\0\0\0" + b"\0" * 16)
    result = CliRunner().invoke(main, ["inspect", str(bad)])
    assert result.exit_code == 2 and "version 1 files are not supported" in result.output
    assert CliRunner().invoke(main, ["inspect", str(tmp_path / "nope.gguf")]).exit_code == 2


def test_one_broken_file_among_several(tmp_path, tiny_llama_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF\3\0\0\0" + b"\0" * 10)
    result = CliRunner().invoke(main, ["inspect", str(tiny_llama_path), str(bad), "--json"])
    assert result.exit_code == 2
    assert "bad.gguf: at byte 16: expected the metadata key/value count (8 bytes), but the file ends at byte 18" \
        in result.output
    doc = json.loads(result.stdout)
    assert [d["path"] for d in doc] == [str(tiny_llama_path)]


def test_odd_but_valid_metadata_does_not_crash(tmp_path):
    odd = ggufs.write_gguf(tmp_path / "odd.gguf", kv={
        "tokenizer.ggml.tokens": ([1, 2, 3], V.ARRAY, V.INT32),   # not strings
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": (-5, V.INT32),
        "general.file_type": (9999, V.UINT32),
        "general.name": (7, V.UINT8),
    })
    result = run(odd)
    assert result.exit_code == 0, result.output
    assert "BOS 1 (outside the vocabulary)" in result.output and "unknown (general.file_type = 9999)" in result.output
    assert json.loads(run(odd, "--json").output)["summary"]["vocab_size"] == 3


def test_unopenable_file_is_an_error_not_a_traceback(tmp_path, tiny_llama_path, monkeypatch):
    import publish.gguf.reader as reader

    locked = tmp_path / "locked.gguf"
    locked.write_bytes(tiny_llama_path.read_bytes())
    real_open = open

    def denying_open(path, *args, **kwargs):  # what a file without read permission gives (tests run as root)
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(reader, "open", denying_open, raising=False)
    result = CliRunner().invoke(main, ["inspect", str(locked)])
    assert result.exit_code == 2 and "locked.gguf" in result.output and "Permission denied" in result.output
    result = CliRunner().invoke(main, ["inspect", str(locked), str(tiny_llama_path)])
    assert result.exit_code == 2 and "architecture    llama" in result.output, result.output


def test_wrong_typed_summary_values_still_give_valid_json(tmp_path):
    odd = ggufs.write_gguf(tmp_path / "odd.gguf", kv={
        "llama.context_length": ([4096, 8192], V.ARRAY, V.INT32),
        "llama.vocab_size": (float("nan"), V.FLOAT32),
    })
    result = run(odd, "--json")
    summary = json.loads(result.output, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))["summary"]
    assert summary["context_length"] == "<INT32 array of 2>" and summary["vocab_size"] == "nan"
    assert "context length  <INT32 array of 2>" in run(odd).output


def test_long_strings_are_cut_in_json_unless_asked_for_whole(tmp_path):
    """A 250 MiB string key made inspect --json take 9 GB. Long strings now show a prefix with
    their length, like long arrays; --full-strings gives the exact text, written in pieces."""
    from publish.gguf.summary import STRING_PREVIEW

    template = "{{ x }}\u0001" * (STRING_PREVIEW // 4)   # 2 x the preview, with escapes
    path = ggufs.write_gguf(tmp_path / "long.gguf", kv={"tokenizer.chat_template": template,
                                                        "general.name": "short"})
    doc = json.loads(run(path, "--json").output)
    kv = {k["key"]: k for k in doc["kv"]}
    cut = kv["tokenizer.chat_template"]
    assert cut["truncated"] is True and cut["length"] == len(template)
    assert cut["value"] == template[:STRING_PREVIEW]
    assert kv["general.name"]["value"] == "short" and "truncated" not in kv["general.name"]
    assert doc["summary"]["chat_templates"]["default"] == template[:STRING_PREVIEW]
    assert doc["summary"]["truncated_templates"] == ["default"]
    whole = json.loads(run(path, "--json", "--full-strings").output)
    assert {k["key"]: k for k in whole["kv"]}["tokenizer.chat_template"]["value"] == template
    assert whole["summary"]["chat_templates"]["default"] == template
    assert "truncated_templates" not in whole["summary"]
    assert "chat template   " + f"{len(template):,} chars" in run(path).output


def test_float32_values_print_as_numpy_prints_them():
    """JSON shows a FLOAT32 as the shortest decimal that reads back as the same float32 (1e-05, not
    9.999999747378752e-06), found without numpy; numpy's own printing is the reference, on every
    power of two (where float32's rounding interval is lopsided), its neighbours and random values."""
    import numpy as np

    from publish.gguf.summary import shortest_float32

    values = [np.float32(2.0) ** e for e in range(-149, 128)]
    values += [np.nextafter(v, np.float32(np.inf)) for v in values] + [np.nextafter(v, np.float32(0)) for v in values]
    bits = np.random.default_rng(3).integers(0, 2**32, 50_000, dtype=np.uint64).astype(np.uint32)
    values += [v for v in bits.view(np.float32) if np.isfinite(v)]
    values += [np.float32(x) for x in (1e-5, 1e-6, 0.1, 3.4028234663852886e38, 1e-45, -0.0, 0.0, 10000.0, 1e6)]
    wrong = [(float(v), str(v), shortest_float32(float(v))) for v in values
             if repr(shortest_float32(float(v))) != repr(float(str(v)))]
    assert wrong == []

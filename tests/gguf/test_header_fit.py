"""Issue 8 kind c: a header and tensors that do not fit together, and the keys and pre-tokenizer
an engine needs, are lint errors (or a warning where the engines still load), checked against
llama.cpp itself through llama-cpp-python."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T

from ggufs import write_gguf, write_tiny_llama
from publish.cli import main
from publish.gguf.reader import read_header
from publish.gguf.rules import RULES, check_header, required_keys
from publish.lint import lint_paths

HEADER_FIT = {"GG710", "GG711", "GG712", "GG713", "GG714", "GG715"}


def fit_findings(path) -> dict:
    return {f.code: f for f in check_header(read_header(str(path))) if f.code in HEADER_FIT}


def llama_loads(path: Path, **kw) -> bool:
    """Whether llama.cpp (llama-cpp-python) loads the file, in a child process: some headers make
    llama.cpp abort (GGML_ASSERT), which must not take the test run down with it."""
    import subprocess
    import sys

    code = ("import sys, llama_cpp\n"
            f"m = llama_cpp.Llama({str(path)!r}, n_ctx=64, verbose=False, **{kw!r})\n"
            "m.close()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    return done.returncode == 0


# -- clean files stay clean ------------------------------------------------------------------------

def test_real_gemma3_270m_fits(gemma3_270m_path):
    assert fit_findings(gemma3_270m_path) == {}


@pytest.mark.llamacpp
def test_tiny_llama_fits_and_loads(tiny_llama_path):
    assert fit_findings(tiny_llama_path) == {}
    assert llama_loads(tiny_llama_path)


# -- required keys (GG710) -------------------------------------------------------------------------

@pytest.mark.llamacpp
@pytest.mark.parametrize("key", ["llama.embedding_length", "llama.block_count", "llama.context_length",
                                 "llama.attention.layer_norm_rms_epsilon"])
def test_missing_required_key_is_an_error_and_llama_cpp_refuses_the_file(tmp_path, key):
    """A file without `<arch>.embedding_length` passed every linter and failed to load (issue 8);
    llama.cpp's load_hparams reads these keys as required (`key not found in model`)."""
    path = write_tiny_llama(tmp_path / "tiny-F32.gguf", drop_kv=[key])
    found = fit_findings(path)
    assert set(found) == {"GG710"}
    f = found["GG710"]
    assert f.severity.value == "error" and f.subject == key and key in f.message
    assert "llama.cpp" in f.message and "config.json" in f.hint
    assert not llama_loads(path)
    res = CliRunner().invoke(main, ["lint", str(path)])
    assert res.exit_code == 1 and "GG710 [error]" in res.output


def test_go_engine_keys_are_required_for_the_architectures_it_runs(tmp_path):
    """Ollama v0.24 runs gemma3 in its Go engine, which reads head_count_kv with c.Uint and no default."""
    assert "ollama-0.24" in [e.value for e in required_keys("gemma3")["attention.head_count_kv"]]
    assert "attention.head_count_kv" not in required_keys("llama")  # llama.cpp defaults it to head_count
    kv = {"gemma3.context_length": 2048, "gemma3.embedding_length": 256, "gemma3.block_count": 1,
          "gemma3.attention.head_count": 4, "gemma3.attention.layer_norm_rms_epsilon": 1e-6}
    path = write_gguf(tmp_path / "g-Q8_0.gguf", arch="gemma3", kv=kv,
                      tensors=[("blk.0.attn_q.weight", (256, 256), Q.Q8_0)])
    f = fit_findings(path)["GG710"]
    assert f.subject == "gemma3.attention.head_count_kv" and "Ollama ≤ 0.24 (Go engine)" in f.message
    only_llama_cpp = lint_paths([str(path)], target="llama.cpp").findings
    assert "GG710" in {x.code for x in only_llama_cpp}  # the rule is about both engines


# -- vocabulary vs embedding rows (GG711), width (GG712), blocks (GG713) ----------------------------

@pytest.mark.llamacpp
def test_tokens_past_the_embedding_rows(tmp_path):
    """ggml-org/llama.cpp#5910, #8445, hiyouga/LlamaFactory#8611: tokens added to the tokenizer
    but not to the embeddings: `tensor 'token_embd.weight' has wrong shape; expected 4096, 32001,
    got 4096, 32000`."""
    from ggufs import tiny_vocab

    tokens, scores, types = tiny_vocab()
    tokens, scores, types = tokens + ["<|added|>"], scores + [0.0], types + [4]
    path = write_tiny_llama(tmp_path / "tiny-F32.gguf", extra_kv={
        "tokenizer.ggml.tokens": (tokens, T.ARRAY, T.STRING),
        "tokenizer.ggml.scores": (scores, T.ARRAY, T.FLOAT32),
        "tokenizer.ggml.token_type": (types, T.ARRAY, T.INT32),
        "llama.vocab_size": len(tokens)})
    found = [f for f in check_header(read_header(str(path))) if f.code == "GG711"]
    assert {f.subject for f in found} == {"token_embd.weight", "output.weight"}
    assert all(f.severity.value == "error" and f"{len(tokens) - 1:,} rows" in f.message
               and f"{len(tokens):,} tokens" in f.message for f in found)
    assert not llama_loads(path)


@pytest.mark.llamacpp
def test_vocab_size_key_alone_is_not_a_load_error(tmp_path):
    """llama.cpp sizes the embeddings by the tokens, not by {arch}.vocab_size: a wrong vocab_size
    key alone loads, so it is no GG711 error."""
    n = len(read_header(str(write_tiny_llama(tmp_path / "probe.gguf"))).tokens)
    path = write_tiny_llama(tmp_path / "tiny-F32.gguf", extra_kv={"llama.vocab_size": n + 1})
    assert "GG711" not in fit_findings(path)
    assert llama_loads(path)


def test_embedding_rows_differ_from_the_vocabulary(tmp_path):
    kv = {"llama.context_length": 512, "llama.embedding_length": 32, "llama.block_count": 1,
          "llama.attention.layer_norm_rms_epsilon": 1e-5,
          "tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": (["a", "b", "c"], T.ARRAY, T.STRING)}
    path = write_gguf(tmp_path / "m-F32.gguf", kv=kv, tensors=[
        ("token_embd.weight", (32, 4), Q.F32), ("output.weight", (32, 3), Q.F32),
        ("blk.0.attn_q.weight", (32, 32), Q.F32)])
    f = fit_findings(path)["GG711"]
    assert f.subject == "token_embd.weight" and "4 rows" in f.message and "3 tokens" in f.message


@pytest.mark.llamacpp
def test_embedding_length_disagrees_with_the_tensors(tmp_path):
    path = write_tiny_llama(tmp_path / "tiny-F32.gguf", extra_kv={"llama.embedding_length": 64})
    f = fit_findings(path)["GG712"]
    assert f.subject == "llama.embedding_length" and "32 wide" in f.message and "to 32" in f.hint
    assert not llama_loads(path)


@pytest.mark.llamacpp
@pytest.mark.parametrize("blocks,words", [(2, "1 block(s) have no tensors (blk.1)"), (0, "tensors for blk.0")])
def test_block_count_disagrees_with_the_blocks_present(tmp_path, blocks, words):
    """A pruned or hand-merged model whose block_count was not updated."""
    path = write_tiny_llama(tmp_path / "tiny-F32.gguf", extra_kv={"llama.block_count": blocks})
    f = fit_findings(path)["GG713"]
    assert words in f.message and f.severity.value == "error"
    assert not llama_loads(path)


# -- pre-tokenizer (GG714 warning, GG715 error) ----------------------------------------------------

def write_bpe_vocab(path: Path, pre: str | None) -> Path:
    """A vocabulary-only GGUF with a byte-level BPE vocabulary (GPT-2's byte alphabet)."""
    byte_chars = [chr(c) for c in range(0x21, 0x7F)] + ["Ġ", "Ċ"]
    tokens = ["<|endoftext|>"] + byte_chars + ["Ġt", "he"]
    kv = {"llama.context_length": 512, "llama.embedding_length": 32, "llama.block_count": 1,
          "llama.attention.layer_norm_rms_epsilon": 1e-5,
          "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.tokens": (tokens, T.ARRAY, T.STRING),
          "tokenizer.ggml.token_type": ([3] + [1] * (len(tokens) - 1), T.ARRAY, T.INT32),
          "tokenizer.ggml.merges": (["Ġ t", "h e"], T.ARRAY, T.STRING),
          "tokenizer.ggml.bos_token_id": 0, "tokenizer.ggml.eos_token_id": 0}
    if pre is not None:
        kv["tokenizer.ggml.pre"] = pre
    return write_gguf(path, kv=kv)


@pytest.mark.llamacpp
def test_unknown_pre_tokenizer_is_an_error_llama_cpp_refuses(tmp_path):
    """ggml-org/llama.cpp#12122 ('gpt-4o' on an older build), #12021 ('deepseek-r1-qwen'),
    lmstudio-ai/configs#44 ('command-r'), ollama/ollama#4529 ('qwen2'): a pre-tokenizer name the
    engine does not know is a refused load, not a warning."""
    bad = write_bpe_vocab(tmp_path / "bad.gguf", "my-custom-bpe")
    f = fit_findings(bad)["GG715"]
    assert f.severity.value == "error" and "'my-custom-bpe'" in f.message and "convert_hf_to_gguf" in f.hint
    assert not llama_loads(bad, vocab_only=True)
    good = write_bpe_vocab(tmp_path / "good.gguf", "llama-bpe")
    assert fit_findings(good) == {}
    assert llama_loads(good, vocab_only=True)


@pytest.mark.llamacpp
def test_bpe_without_pre_tokenizer_is_a_warning_llama_cpp_still_loads(tmp_path):
    """llama.cpp loads it with `missing pre-tokenizer type … GENERATION QUALITY WILL BE DEGRADED`."""
    path = write_bpe_vocab(tmp_path / "nopre.gguf", None)
    f = fit_findings(path)["GG714"]
    assert f.severity.value == "warning" and "degraded" in f.message
    assert llama_loads(path, vocab_only=True)


def test_spm_vocabulary_needs_no_pre_tokenizer(gemma3_270m_path):
    """Gemma's SentencePiece vocabulary (tokenizer.ggml.model = llama) ignores tokenizer.ggml.pre."""
    assert read_header(str(gemma3_270m_path)).value("tokenizer.ggml.model") == "llama"
    assert fit_findings(gemma3_270m_path) == {}


def test_rules_name_their_sources():
    for code in HEADER_FIT:
        assert any("llama.cpp" in s for s in RULES[code].sources), code


@pytest.mark.llamacpp
def test_every_pre_tokenizer_gg715_accepts_loads_in_llama_cpp(tmp_path):
    """The list GG715 accepts (llama.cpp src/llama-vocab.cpp 00ad355) is no wider than what the
    llama.cpp here knows: each name loads (vocab only) in one child process."""
    import subprocess
    import sys

    from publish.gguf.rules import KNOWN_PRE_TOKENIZERS

    paths = [str(write_bpe_vocab(tmp_path / f"{n}.gguf", n)) for n in sorted(KNOWN_PRE_TOKENIZERS)]
    code = ("import sys, llama_cpp\n"
            "bad = []\n"
            "for p in sys.argv[1:]:\n"
            "    try:\n"
            "        llama_cpp.Llama(p, vocab_only=True, verbose=False).close()\n"
            "    except Exception:\n"
            "        bad.append(p)\n"
            "print(bad)\n")
    done = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout[-2000:]

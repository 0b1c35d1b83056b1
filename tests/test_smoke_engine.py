"""LlamaCppEngine: Ollama's generation semantics on the tiny deterministic llama."""

from __future__ import annotations

import pytest
from conftest import have_llama_cpp

import ggufs
from publish.smoke.base import LoadError

pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(not have_llama_cpp(), reason="llama-cpp-python is not installed (pip install 'gguf-publish[llamacpp]')"),
]

PROMPT = "<start_of_turn>user\nWhat is 1+1?<end_of_turn>\n<start_of_turn>model\n"


@pytest.fixture(scope="module")
def engine(tiny_llama_path):
    from publish.smoke.llamacpp import LlamaCppEngine

    eng = LlamaCppEngine(tiny_llama_path)
    yield eng
    eng.close()


def test_stop_string_ends_the_turn_and_is_cut(engine):
    res = engine.complete(PROMPT, {"stop": ["<end_of_turn>"], "seed": 1})
    assert res.text == "2"
    assert res.done_reason == "stop"
    assert res.prompt_token_ids[0] == engine.bos_id == 2
    assert res.engine_bos_id == 2
    assert res.prompt_tokens == len(res.prompt_token_ids)


def test_without_stop_the_control_token_leaks_and_runs_to_num_predict(engine):
    res = engine.complete(PROMPT, {"num_predict": 6})
    assert res.done_reason == "length"
    assert res.text == "2<end_of_turn>" * 3
    assert res.eval_tokens == 6


def test_default_num_predict_bounds_a_runaway(engine):
    from publish.smoke.llamacpp import DEFAULT_NUM_PREDICT

    res = engine.complete(PROMPT, {})
    assert res.done_reason == "length"
    assert res.eval_tokens == DEFAULT_NUM_PREDICT


def test_special_tokens_are_parsed_in_prompts(engine):
    ids = engine.tokenize("<start_of_turn>", add_bos=False)
    assert ids == [4]
    assert engine.tokenize("x", add_bos=True)[0] == engine.bos_id
    assert "<end_of_turn>" in engine.control_tokens
    assert engine.add_bos is True
    assert engine.bos_text == "<bos>"


def test_declared_eos_ids_end_generation(tmp_path):
    """A GGUF that declares <end_of_turn> in eos_token_ids stops without any stop string."""
    from gguf import GGUFValueType as T

    from publish.smoke.llamacpp import LlamaCppEngine

    path = ggufs.write_tiny_llama(
        tmp_path / "eos-ids.gguf", extra_kv={"tokenizer.ggml.eos_token_ids": ([1, 5], T.ARRAY, T.INT32)})
    with LlamaCppEngine(path) as eng:
        res = eng.complete(PROMPT, {})
    assert (res.text, res.done_reason) == ("2", "stop")


@pytest.mark.parametrize("keep", [3000, 100_000])
def test_truncated_gguf_is_a_load_error_with_llama_cpp_reason(tiny_llama_path, tmp_path, keep, capfd):
    from publish.smoke.llamacpp import LlamaCppEngine

    bad = tmp_path / "broken-Q4_K_M.gguf"
    bad.write_bytes(tiny_llama_path.read_bytes()[:keep])
    with pytest.raises(LoadError) as err:
        LlamaCppEngine(bad)
    assert "broken-Q4_K_M.gguf" in str(err.value)
    assert "failed" in str(err.value) or "corrupted" in str(err.value)
    out, errout = capfd.readouterr()
    assert errout == "" and out == ""

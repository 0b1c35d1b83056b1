"""LlamaCppEngine: Ollama's generation semantics on the tiny deterministic llama."""

from __future__ import annotations

import pytest

import ggufs
from publish.smoke.base import LoadError

pytestmark = [
    pytest.mark.llamacpp,
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


# -- one generation per distinct request (issue 10: smoke generated each prompt twice) ----------

def _fresh(path, prompt, options, end_ids_of=None):
    """The same request on a newly loaded engine: what generating again would have given."""
    from publish.smoke.llamacpp import LlamaCppEngine

    with LlamaCppEngine(path) as eng:
        return eng.complete(prompt, options, end_ids=end_ids_of(eng) if end_ids_of else None)


def _observable(res):
    return (res.text, res.done_reason, res.eval_tokens, res.prompt_token_ids)


@pytest.mark.parametrize("first_eog, options, reused", [
    (False, {"stop": ["<end_of_turn>"], "seed": 1}, True),  # Go path first, ends on the stop string
    (True, {"stop": ["<end_of_turn>"], "seed": 1}, True),   # llama-cli path first, ends on the end id
    (False, {"num_predict": 6}, True),    # no stop: the Go path runs to num_predict, eog cuts it at 1 token
    (True, {"num_predict": 6}, False),    # eog ended at <end_of_turn>; the Go path goes on: generated
])
def test_the_same_request_is_answered_once_and_exactly_as_generating_again(tiny_llama_path, first_eog, options,
                                                                           reused):
    """The Go path (declared EOS) and the llama-cli path (llama.cpp's eog set) of one prompt share one
    generation when it decides both; the answer equals what a fresh engine generates for that path."""
    from publish.smoke.llamacpp import LlamaCppEngine

    calls = []
    with LlamaCppEngine(tiny_llama_path) as eng:
        real = eng._llama.generate
        eng._llama.generate = lambda *a, **k: (calls.append(1), real(*a, **k))[1]
        eog = eng.eog_ids
        order = [eog, None] if first_eog else [None, eog]
        first = eng.complete(PROMPT, options, end_ids=order[0])
        second = eng.complete(PROMPT, options, end_ids=order[1])
        other = eng.complete(PROMPT, {**options, "seed": 7}, end_ids=order[1])  # other options: generated
    want = _fresh(tiny_llama_path, PROMPT, options, (lambda e: e.eog_ids) if order[1] is eog else None)
    assert _observable(second) == _observable(want)
    assert (first.reused, second.reused, other.reused) == (False, reused, False)
    assert (second.eval_seconds == second.prompt_seconds == 0.0) is reused
    assert second.stopped_by == want.stopped_by
    assert len(calls) == (2 if reused else 3)


def test_a_reuse_that_would_have_generated_further_is_generated(tiny_llama_path):
    """Ended on an end id the other set does not hold: the other path would go on, so it generates."""
    from publish.smoke.llamacpp import LlamaCppEngine

    with LlamaCppEngine(tiny_llama_path) as eng:
        eot = eng.tokenize("<end_of_turn>", add_bos=False)[0]
        first = eng.complete(PROMPT, {"num_predict": 6}, end_ids={eot})
        second = eng.complete(PROMPT, {"num_predict": 6})
    assert (first.text, first.done_reason) == ("2", "stop")
    assert not second.reused and (second.done_reason, second.eval_tokens) == ("length", 6)

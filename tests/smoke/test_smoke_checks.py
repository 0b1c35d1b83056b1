"""The smoke checks on engine results a user would see (no engine needed)."""

from __future__ import annotations

import pytest

from publish.errors import UsageError
from publish.smoke import checks as C
from publish.smoke.base import ChatResult, ShowResult
from publish.smoke.checks import Status
from publish.smoke.prompts import DEFAULT_PROMPTS, Prompt, load_prompts, ollama_messages, prompts_from_pairs

ONE = DEFAULT_PROMPTS[0]
SPECIALS = list(C.KNOWN_SPECIAL_TOKENS)


def res(text="2", reason="stop", ids=None, bos=None) -> ChatResult:
    return ChatResult(text=text, done_reason=reason, eval_tokens=len(text), prompt_token_ids=ids, engine_bos_id=bos)


def test_runaway_names_the_leaked_token():
    chk = C.check_done_reason(res("2<|im_end|>2<|im_end|>", "length"), SPECIALS, [], None)
    assert chk.status is Status.FAIL
    assert "runaway: stop tokens missing — add <|im_end|> to params.stop" in chk.message


GEMMA_T = "<start_of_turn>user\n{{ .Prompt }}<end_of_turn>\n<start_of_turn>model\n"
LLAMA3_T = ("<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n")
CHATML_T = "<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n"
PHI_T = "<|user|>\n{{ .Prompt }}<|end|>\n<|assistant|>\n"


def test_runaway_where_the_model_never_ends_its_turn_is_not_a_missing_stop():
    """A base model (or another family) rambles without ever writing the template's end of turn:
    the verdict says the model does not follow the chat format; the missing stop is named too."""
    chk = C.check_done_reason(res("2 2 2 2", "length"), SPECIALS, [], GEMMA_T)
    assert chk.status is Status.FAIL
    assert chk.message.startswith("the model does not follow this chat format: it never wrote <end_of_turn>")
    assert "params.stop also lacks <end_of_turn>: add <end_of_turn> to params.stop" in chk.message


@pytest.mark.parametrize("template, end, ramble", [
    (GEMMA_T, "<end_of_turn>", "The capital of France is Paris.\n<start_of_turn>user\nAnd of Spain?"),
    (LLAMA3_T, "<|eot_id|>", "2.5.0.1\n\n<|start_header_id|>user<|end_header_id|>"),
    (CHATML_T, "<|im_end|>", "Question: 1+1\nAnswer: 2\nQuestion: 2+2"),
    (PHI_T, "<|end|>", "<|user|> what about 3+3?"),
])
def test_base_model_with_the_stop_already_in_params_is_told_apart_and_never_told_to_add_it(template, end, ramble):
    """Today's loop: a base model got "add <start_of_turn>", then "add the end-of-turn token"
    that params already had. With the end token in params.stop the advice never says to add a stop."""
    chk = C.check_done_reason(res(ramble, "length"), SPECIALS, [end], template, gguf_chat_template=False)
    assert chk.status is Status.FAIL
    assert "does not follow this chat format" in chk.message and f"never wrote {end}" in chk.message
    assert "add " not in chk.message and "lacks" not in chk.message
    assert "the GGUF has no tokenizer.chat_template" in chk.message


@pytest.mark.parametrize("template, end", [(GEMMA_T, "<end_of_turn>"), (LLAMA3_T, "<|eot_id|>"),
                                           (CHATML_T, "<|im_end|>"), (PHI_T, "<|end|>")])
def test_chat_model_that_ends_its_turn_without_a_stop_is_told_to_add_it(template, end):
    chk = C.check_done_reason(res(f"2{end}\n2{end}", "length"), SPECIALS, [], template)
    assert "runaway: stop tokens missing — add " + end + " to params.stop" in chk.message
    had = C.check_done_reason(res(f"2{end}\n2{end}", "length"), SPECIALS, [end], template)
    assert f"params.stop has {end} but generation went past it" in had.message and "add " not in had.message


def test_declared_end_text_in_a_runaway_is_the_stop_to_add():
    """A template without a control token (plain text turns): the GGUF's EOS text the model wrote."""
    chk = C.check_done_reason(res("2</eos-ish>2", "length"), SPECIALS, [], "User: {{ .Prompt }}\nAssistant:",
                              end_texts=["</eos-ish>"])
    assert "add </eos-ish> to params.stop" in chk.message


def test_empty_answer_names_the_stop_that_fired_on_the_first_token():
    r = ChatResult(text="", done_reason="stop", eval_tokens=1, stopped_by="<|im_start|>assistant")
    chk = C.check_done_reason(r, SPECIALS, ["<|im_end|>", "<|im_start|>assistant"], CHATML_T)
    assert chk.status is Status.FAIL
    assert "empty answer: the stop '<|im_start|>assistant' fired after 1 token" in chk.message
    assert "remove '<|im_start|>assistant' from params.stop" in chk.message
    ended = ChatResult(text="\n", done_reason="stop", eval_tokens=2, stopped_by="<end_of_turn>")
    chk = C.check_done_reason(ended, SPECIALS, [], GEMMA_T)
    assert "empty answer: the model ended its turn with <end_of_turn> after 2 tokens" in chk.message
    unknown = C.check_done_reason(res("", "stop"), SPECIALS, ["\n\n"], GEMMA_T, end_texts=["<eos>"])
    assert "the engine does not say which" in unknown.message and "'\\n\\n', '<eos>'" in unknown.message


def test_leak_of_stop_string_and_special_token():
    chk = C.check_no_leak(res("4<|eot_id|> ok STOP"), SPECIALS, ["STOP"])
    assert chk.status is Status.FAIL
    assert "<|eot_id|> (special token)" in chk.message and "STOP (stop string)" in chk.message
    assert C.check_no_leak(res("4"), SPECIALS, ["STOP"]).status is Status.PASS


def test_answer_regex():
    assert C.check_answer(ONE, res("1+1 equals 2.")).status is Status.PASS
    bad = C.check_answer(ONE, res("three"))
    assert bad.status is Status.FAIL and "/2/" in bad.message
    assert "whole word or number in the first non-empty line" in bad.message


@pytest.mark.parametrize("answer", [
    "2", " 2", "\n2\n", "2.", "2!", "(2)", "**2**", "1+1 = 2", "1 + 1 equals 2.", "The answer is 2, of course.",
    "2\n\nExplanation: 1.5 + 0.5 = 2.0", "\n\n2 apples",
])
def test_answer_rule_accepts_the_answer(answer):
    assert C.check_answer(ONE, res(answer)).status is Status.PASS, answer


@pytest.mark.parametrize("answer", [
    "2.5.0.1", "12", "22", "1.2", "3,2", "0.25", "2,5", "20 apples", "x2", "",
    "I think so.\nMaybe 2",                                    # the number is not in the first line
    "Sure!\n" + "1.5.0.1 " * 40 + "2",                        # a long ramble that happens to hold a 2
])
def test_answer_rule_refuses_a_substring_of_something_else(answer):
    assert C.check_answer(ONE, res(answer)).status is Status.FAIL, answer


def test_answer_rule_for_words_and_anchors():
    paris = Prompt("capital", ({"role": "user", "content": "Capital of France?"},), "(?i)paris")
    assert C.check_answer(paris, res("The capital of France is Paris.")).status is Status.PASS
    assert C.check_answer(paris, res("PARIS")).status is Status.PASS
    assert C.check_answer(paris, res("Parisian food")).status is Status.FAIL
    tokyo = Prompt("japan", ({"role": "user", "content": "Q"},), r"^\s*Tokyo\b", completion=True)
    assert C.check_answer(tokyo, res(" Tokyo\n\nQuestion: What is the capital of France?")).status is Status.PASS
    assert C.check_answer(tokyo, res(" Kyoto, not Tokyo")).status is Status.FAIL
    exact = Prompt("exact", ({"role": "user", "content": "Q"},), "^2$")
    assert C.check_answer(exact, res("2\n")).status is Status.PASS


def test_params_check_tolerates_float32_and_reports_missing_and_wrong_values():
    release = {"temperature": 0.95, "stop": ["<end_of_turn>", "<eos>"], "top_k": 64, "num_ctx": 8192}
    show = ShowResult(template="T", parameters={"temperature": 0.949999988079071, "stop": ["<eos>", "<end_of_turn>"],
                                               "top_k": 40})
    chk = C.check_params_applied(show, release, "T", None, "n/a")
    assert chk.status is Status.FAIL
    assert "top_k is 40, release says 64" in chk.message
    assert "num_ctx missing" in chk.message
    assert "temperature" not in chk.message and "stop" not in chk.message
    ok = ShowResult(template="T", parameters={**release, "temperature": 0.949999988079071})
    assert C.check_params_applied(ok, release, "T", None, "n/a").status is Status.PASS


def test_params_check_compares_template_and_skips_without_show():
    show = ShowResult(template="{{ .Prompt }}", parameters={})
    chk = C.check_params_applied(show, {}, "{{ .Prompt }} ", None, "n/a")
    assert chk.status is Status.FAIL and "template differs" in chk.message
    skipped = C.check_params_applied(None, {"top_k": 1}, "T", None, "this engine cannot show")
    assert skipped.status is Status.SKIP and skipped.message == "this engine cannot show"


def test_rendered_prompt_checks_skip_when_the_engine_cannot_tell():
    why = "server has no _debug_render_only"
    for chk in (C.check_rendered_go(None, "x", why), C.check_jinja_parity(None, why),
                C.check_system_reached("sys", None, why), C.check_no_bos_text(None, True, "<bos>", why)):
        assert chk.status is Status.SKIP and chk.message == why


def test_rendered_go_mismatch_points_at_the_difference():
    chk = C.check_rendered_go("<start_of_turn>user\nhi", "<start_of_turn>user\nHi", "n/a")
    assert chk.status is Status.FAIL and "character 20" in chk.message


def test_jinja_parity_verdicts():
    from publish.templatecheck import ConversationResult

    assert C.check_jinja_parity(ConversationResult("c", "identical"), "n/a").status is Status.PASS
    trim = C.check_jinja_parity(ConversationResult("c", "trim", reason="the Jinja template trims user content"), "n/a")
    assert trim.status is Status.WARN and "trims" in trim.message
    refused = C.check_jinja_parity(ConversationResult("c", "skipped", reason="the Jinja template refuses it: x"), "n/a")
    assert refused.status is Status.SKIP
    diff = ConversationResult("c", "different", diff="first difference at character 3\nlegend\nab[-x-]{+y+}")
    chk = C.check_jinja_parity(diff, "n/a")
    assert chk.status is Status.FAIL and "character 3" in chk.message and "[-x-]{+y+}" in chk.message
    assert "legend" not in chk.message
    assert C.check_jinja_parity(None, "cannot tell").status is Status.SKIP


def test_bos_text_and_double_bos():
    assert C.check_no_bos_text("<bos>hi", True, "<bos>", "n/a").status is Status.FAIL
    assert C.check_no_bos_text("<bos>hi", False, "<bos>", "n/a").status is Status.PASS
    assert C.check_double_bos(res(ids=[2, 2, 5], bos=2), "<bos>").status is Status.FAIL
    assert C.check_double_bos(res(ids=[2, 5], bos=2), "<bos>").status is Status.PASS
    assert C.check_double_bos(res(ids=None, bos=None), "<bos>").status is Status.SKIP


def test_ollama_messages_puts_the_model_system_first_unless_given():
    msgs = [{"role": "user", "content": "q"}]
    assert ollama_messages(msgs, "S")[0] == {"role": "system", "content": "S"}
    own = [{"role": "system", "content": "mine"}, *msgs]
    assert ollama_messages(own, "S") == own


def test_prompts_file_errors_name_the_file_and_entry(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text('{"prompt": [{"prompt": "hi", "expect": "("}]}')
    with pytest.raises(UsageError, match=r"p.json: prompt #1: expect: invalid regex"):
        load_prompts(bad)
    bad.write_text('{"prompt": [{"prompt": "hi"}]}')
    with pytest.raises(UsageError, match=r"prompt #1: `expect`"):
        load_prompts(bad)
    bad.write_text("{nope")
    with pytest.raises(UsageError, match=r"p.json:1:2: not valid JSON"):
        load_prompts(bad)
    toml = tmp_path / "p.toml"
    toml.write_text('[[prompt]]\nmessages = [{role = "user", content = "a"}, {role = "assistant", content = "b"}]\n'
                    'expect = "x"\n')
    with pytest.raises(UsageError, match="last message must be from the user"):
        load_prompts(toml)


def test_prompts_file_json_list_and_messages(tmp_path):
    f = tmp_path / "p.json"
    f.write_text('[{"name": "t", "system": "S", "messages": [{"role": "user", "content": "a"}], "expect": "2"}]')
    [p] = load_prompts(f)
    assert p == Prompt("t", ({"role": "system", "content": "S"}, {"role": "user", "content": "a"}), "2")
    assert p.system == "S"
    assert [q.name for q in prompts_from_pairs(["a", "b"], ["1", "2"])] == ["prompt-1", "prompt-2"]


@pytest.mark.parametrize("text", [
    "<think>\nThe user asks 2+2. That is 4.\n</think>\n\n4",    # DeepSeek-R1 / Qwen3 shape (ollama#8965)
    "The user asks 2+2, simple.\n</think>\n\n4",               # opening tag in the prompt, closing one leaks
    "<|channel|>analysis<|message|>Simple.<|end|>4",          # gpt-oss harmony channel
])
def test_visible_thinking_in_the_answer_fails(text):
    """A thinking model whose Go template has no .Thinking: Ollama does not split the reasoning off,
    the user reads it as the answer (ollama#16936, LlamaFactory#8219)."""
    chk = C.check_no_visible_thinking(res(text))
    assert chk.status is Status.FAIL and "reasoning" in chk.message and ".Thinking" in chk.message


def test_answer_without_thinking_passes():
    assert C.check_no_visible_thinking(res("4")).status is Status.PASS
    assert C.check_no_visible_thinking(res("It ends.<|end|>")).status is Status.PASS


def test_runaway_never_asks_to_add_a_stop_params_has():
    """The leaked token is already a stop (the engine did not apply params): no "add it" advice."""
    chk = C.check_done_reason(res("2<end_of_turn>2<end_of_turn>", "length"), SPECIALS, ["<end_of_turn>"], None)
    assert chk.status is Status.FAIL
    assert "add <end_of_turn>" not in chk.message and "params.stop has <end_of_turn>" in chk.message

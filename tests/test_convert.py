"""publish.convert: Jinja chat templates compiled to Ollama Go templates, proven on CONVERT_SUITE."""

from __future__ import annotations


import pytest

from publish import gotmpl, templatecheck
from publish.convert import ConvertError, compile_template, convert

from jinja_corpus import load

CORPUS = {e.name: e for e in load()}

# the templates of the families we ship (tests/data/jinja before the corpus), and thinking/tool models
KNOWN = ["Qwen-Qwen2.5-7B-Instruct.jinja", "chatml.jinja", "google-gemma-3-it.jinja", "google-gemma-3n-it.jinja",
         "meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
         "meta-llama-Meta-Llama-3-8B-Instruct.jinja", "microsoft-Phi-3-mini-4k-instruct.jinja",
         "microsoft-phi-4.jinja", "mistralai-Mistral-Large-Instruct-2407.jinja",
         "gguf-ollama-qwen3-0.6b.jinja", "GLM-4.6.jinja", "Qwen-QwQ-32B.jinja",
         "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "Qwen3-Coder.jinja"]


@pytest.mark.parametrize("name", KNOWN)
def test_known_templates_convert_identical(name):
    entry = CORPUS[name]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=name)
    bad = [(c.name, c.status, c.diff or c.reason) for c in conv.check.conversations
           if c.status not in (templatecheck.IDENTICAL, templatecheck.SKIPPED, templatecheck.NA)]
    assert not bad, conv.format_text(show_template=False)
    assert conv.identical and conv.exit_code == 0
    # every basic conversation is supported by these models and compared
    compared = {c.name for c in conv.check.compared}
    assert {"user", "multi-turn", "system-multi-turn", "ends-with-assistant"} <= compared
    assert conv.stops, "a turn-end token is found"


def test_thinking_models_are_thinking_capable_in_ollama_and_proven_with_thinking_on_and_off():
    entry = CORPUS["gguf-ollama-qwen3-0.6b.jinja"]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token)
    status = {c.name: c.status for c in conv.check.conversations}
    assert conv.thinking and conv.think_tags == ("<think>", "</think>")
    assert status["thinking-on"] == status["thinking-off"] == templatecheck.IDENTICAL
    assert status["tools"] == status["tool-call-result"] == templatecheck.IDENTICAL
    msgs = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "thinking": "add"},
            {"role": "user", "content": "3+3?"}]
    on = gotmpl.render(conv.template, msgs, think=True, is_think_set=True)
    off = gotmpl.render(conv.template, msgs, think=False, is_think_set=True)
    assert on != off and off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_corpus_share_converted_identical():
    """A floor under the share of the corpus (tests/data/jinja) converted identical on every case it
    supports; bench/bench_corpus.py prints the full table."""
    identical = failed = 0
    for entry in CORPUS.values():
        if entry.broken:
            continue
        try:
            conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=entry.name)
        except ConvertError:
            failed += 1
            continue
        if conv.identical:
            identical += 1
        else:
            failed += 1
    assert identical / (identical + failed) >= 0.75, (identical, failed)


def test_llama31_tools_are_proven_and_stops_found():
    entry = CORPUS["meta-llama-Llama-3.1-8B-Instruct.jinja"]
    conv = convert(entry.source, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    status = {c.name: c.status for c in conv.check.conversations}
    assert conv.tools and status["tools"] == status["tool-call-result"] == templatecheck.IDENTICAL
    assert conv.stops[0] == "<|eot_id|>"
    # Ollama treats the model as tool-capable: its Vars() sees "tools"
    assert "tools" in gotmpl.template_vars(conv.template)
    # the converted template writes no BOS: the engine adds it
    assert not gotmpl.render(conv.template, [{"role": "user", "content": "hi"}]).startswith("<|begin_of_text|>")


CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def test_final_assistant_message_is_continued_not_closed():
    conv = convert(CHATML)
    out = gotmpl.render(conv.template, [{"role": "user", "content": "Write"}, {"role": "assistant", "content": "Once"}])
    assert out == "<|im_start|>user\nWrite<|im_end|>\n<|im_start|>assistant\nOnce"
    assert conv.identical


def test_raise_exception_case_is_unsupported_by_the_model_not_a_difference():
    source = ("{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system role') }}"
              "{% endif %}[{{ m.role }}]{{ m.content }}{% endfor %}")
    conv = convert(source)
    status = {c.name: c.status for c in conv.check.conversations}
    assert status["system-user"] == templatecheck.SKIPPED
    assert status["user"] == templatecheck.IDENTICAL
    col = source.index("raise_exception") + 1
    assert [(a.line, a.col) for a in conv.approximations if a.construct == "raise_exception()"] == [(1, col)]
    assert conv.identical


def test_construct_go_cannot_express_is_named_with_line_and_column_and_fails_the_proof():
    source = "{% for m in messages %}\n<{{ m.role }}>{{ m.content | upper }}\n{% endfor %}"
    conv = convert(source)
    [approx] = [a for a in conv.approximations if "upper" in a.construct]
    assert (approx.line, approx.col) == (2, source.splitlines()[1].index("upper") + 1)
    assert "left as it is" in approx.instead
    assert not conv.ok and conv.exit_code == 1
    assert any(c.status == templatecheck.DIFFERENT for c in conv.check.conversations)


def test_role_mapping_by_dict_lookup():
    source = ("{% set names = {'user': 'USER', 'assistant': 'BOT', 'system': 'SYS'} %}"
              "{% for m in messages %}{{ names[m.role] }}: {{ m.content }}\n{% endfor %}"
              "{% if add_generation_prompt %}BOT:{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text()


def test_unknown_construct_raises_convert_error_with_location():
    with pytest.raises(ConvertError) as err:
        compile_template("{% for m in messages %}\n{{ m.content | wordwrap(10) }}{% endfor %}")
    assert err.value.line == 2


def test_whitespace_trimming_is_exact_on_ascii_whitespace():
    source = "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</s>{% endfor %}"
    conv = convert(source)
    ws = [c for c in conv.check.conversations if c.name == "whitespace"][0]
    assert ws.status == templatecheck.IDENTICAL

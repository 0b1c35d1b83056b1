"""publish.convert: Jinja chat templates compiled to Ollama Go templates, proven on CONVERT_SUITE."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from publish import gotmpl, templatecheck
from publish.convert import ConvertError, compile_template, convert

DATA = Path(__file__).parent / "data" / "jinja"


def _tokens(source: str) -> tuple[str, str]:
    m = re.search(r"bos_token (\S+), eos_token (\S+?)[.\s]", source)
    return (m.group(1), m.group(2)) if m else ("", "")


TEMPLATES = sorted(p.name for p in DATA.glob("*.jinja"))


@pytest.mark.parametrize("name", TEMPLATES)
def test_known_templates_convert_identical(name):
    source = (DATA / name).read_text(encoding="utf-8")
    bos, eos = _tokens(source)
    conv = convert(source, bos_token=bos, eos_token=eos, name=name)
    bad = [(c.name, c.status, c.diff or c.reason) for c in conv.check.conversations
           if c.status not in (templatecheck.IDENTICAL, templatecheck.SKIPPED, templatecheck.NA)]
    assert not bad, conv.format_text(show_template=False)
    assert conv.identical and conv.exit_code == 0
    # every basic conversation is supported by these models and compared
    compared = {c.name for c in conv.check.compared}
    assert {"user", "multi-turn", "system-multi-turn", "ends-with-assistant"} <= compared
    assert conv.stops, "a turn-end token is found"


def test_llama31_tools_are_proven_and_stops_found():
    source = (DATA / "meta-llama-Llama-3.1-8B-Instruct.jinja").read_text(encoding="utf-8")
    conv = convert(source, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
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

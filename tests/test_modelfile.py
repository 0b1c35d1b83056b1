"""Modelfile parser (Ollama's rules), validator and renderer."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings, strategies as st

from publish.errors import ModelfileError
from publish.modelfile import ModelfileSpec, ModelfileWarning, float32, parse, quote, render


def test_instructions_are_case_insensitive():
    mf = parse('from ./m.gguf\nParameter temperature 0.5\nTEMPLATE """{{ .Prompt }}"""\nsystem hi\n')
    assert mf.from_ == ["./m.gguf"]
    assert mf.template == "{{ .Prompt }}"
    assert mf.system == "hi"
    assert mf.parameters() == {"temperature": 0.5}   # exact in float32


def test_hash_starts_a_comment_only_where_an_instruction_could_start():
    mf = parse("# a comment\nFROM x\n   # indented comment\nSYSTEM keep # this\n")
    assert mf.system == "keep # this"
    assert [c.name for c in mf.commands] == ["model", "system"]


def test_quoting_has_no_escapes_and_keeps_inner_whitespace():
    mf = parse('FROM x\nSYSTEM "  padded  "\nLICENSE "a\\"b"\nTEMPLATE    bare value   \n')
    assert mf.system == "  padded  "
    assert mf.licenses == ['a\\"b']          # the backslash is just a character
    assert mf.template == "bare value"       # unquoted values are trimmed


def test_quoted_values_span_lines_until_a_line_ends_with_the_quote():
    mf = parse('FROM x\nSYSTEM "one\ntwo"\nTEMPLATE """a\n"b"\nc"""\n')
    assert mf.system == "one\ntwo"
    assert mf.template == 'a\n"b"\nc'


def test_a_block_closes_at_the_first_line_ending_in_triple_quotes():
    # why quote() refuses such text: Ollama ends the value early and chokes on the rest
    with pytest.raises(ModelfileError, match=r":3: unknown instruction"):
        parse('FROM x\nTEMPLATE """a"""\nb"""\n')


def test_repeated_stop_license_message_accumulate_others_last_wins():
    mf = parse("FROM x\nPARAMETER stop <a>\nPARAMETER stop <b>\nPARAMETER temperature 1\n"
               "PARAMETER temperature 0.2\nLICENSE one\nLICENSE two\nSYSTEM s1\nSYSTEM s2\n"
               "MESSAGE user hi\nMESSAGE assistant hello there\n")
    assert mf.parameters() == {"stop": ["<a>", "<b>"], "temperature": float32(0.2)}
    assert mf.licenses == ["one", "two"]
    assert mf.system == "s2"
    assert mf.messages == [("user", "hi"), ("assistant", "hello there")]


def test_from_is_required():
    with pytest.raises(ModelfileError, match="no FROM line"):
        parse("SYSTEM hi\n")


def test_errors_name_the_line():
    with pytest.raises(ModelfileError, match=r"Modelfile\.Q4:3: unknown instruction"):
        parse("FROM x\nSYSTEM a\nFOO bar\n", source="Modelfile.Q4")
    with pytest.raises(ModelfileError, match=r":2: unterminated quoted value"):
        parse('FROM x\nSYSTEM """never closed\nmore\n')
    with pytest.raises(ModelfileError, match=r":2: instruction without a value"):
        parse("FROM x\nSYSTEM")


def test_message_roles_are_system_user_assistant_only():
    with pytest.raises(ModelfileError, match=r":2: MESSAGE role must be one of"):
        parse("FROM x\nMESSAGE tool hello\n")


def test_non_printable_characters_are_dropped_and_bom_ignored_like_ollama():
    mf = parse("\ufeffFROM x\nSYSTEM a\u200bb\x07c\n")
    assert mf.system == "abc"


def test_crlf_line_endings():
    mf = parse("FROM x\r\nPARAMETER stop <end_of_turn>\r\nSYSTEM y\r\n")
    assert mf.system == "y"
    assert mf.parameters() == {"stop": ["<end_of_turn>"]}


@pytest.mark.parametrize("line, message", [
    ("PARAMETER temperature warm", "temperature must be a number"),
    ("PARAMETER top_k 1.5", "top_k must be an integer"),
    ("PARAMETER use_mmap maybe", "use_mmap must be true or false"),
    ("PARAMETER tfs_z 1.0", "unknown parameter 'tfs_z'\n  hint: Ollama removed it"),
    ("PARAMETER temprature 1.0", "did you mean 'temperature'"),
    ("PARAMETER Temperature 1.0", "unknown parameter 'Temperature'"),  # names are case-sensitive
    ("PARAMETER  temperature 1.0", "unknown parameter ''"),           # exactly one space
])
def test_validator_rejects_bad_parameters(line, message):
    mf = parse(f"FROM x\n{line}\n")
    with pytest.raises(ModelfileError, match=rf"Modelfile:2: (.|\n)*{message}") as info:
        mf.parameters()
    assert not info.value.problem.startswith("Modelfile:2")   # the location is kept apart


def test_validator_types_follow_ollama_options():
    mf = parse("FROM x\nPARAMETER num_ctx 32768\nPARAMETER top_p 0.95\nPARAMETER use_mmap T\n"
               "PARAMETER seed -1\nPARAMETER min_p 0\n")
    assert mf.parameters() == {"num_ctx": 32768, "top_p": float32(0.95), "use_mmap": True, "seed": -1, "min_p": 0.0}
    assert float32(0.95) == 0.949999988079071   # what Ollama keeps: api.Options float fields are float32


def test_float_parameters_read_like_go_parsefloat_32():
    """Ollama reads float options with strconv.ParseFloat(text, 32): hex floats and `_` between
    digits are numbers too; Inf/NaN are read but cannot be stored, so publish refuses them."""
    mf = parse("FROM x\nPARAMETER top_p 0x1p-2\nPARAMETER temperature 1_000.5\nPARAMETER min_p 1e-50\n")
    assert mf.parameters() == {"top_p": 0.25, "temperature": 1000.5, "min_p": 0.0}
    for bad, message in (("inf", "finite"), ("NaN", "finite"), ("1e39", "must be a number"),
                         ("1__0", "must be a number"), ("0x1.8", "must be a number")):
        with pytest.raises(ModelfileError, match=message):
            parse(f"FROM x\nPARAMETER temperature {bad}\n").parameters()


def test_deprecated_parameters_warn_and_are_dropped():
    mf = parse("FROM x\nPARAMETER mirostat 2\nPARAMETER penalize_newline true\nPARAMETER top_k 5\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        params = mf.parameters()
    assert params == {"top_k": 5}
    assert [str(w.message) for w in caught if w.category is ModelfileWarning] == [
        "Modelfile:2: parameter mirostat is deprecated; Ollama ignores it, remove it",
        "Modelfile:3: parameter penalize_newline is deprecated; Ollama ignores it, remove it"]


def test_render_writes_from_template_params_system_license():
    spec = ModelfileSpec(from_=("./m-Q8_0.gguf",), template="{{ .Prompt }}", system="Be brief.",
                         params={"temperature": 1.0, "stop": ["<end_of_turn>", " x"], "top_k": 64},
                         licenses=("gemma",), header="org/m-GGUF:Q8_0")
    text = render(spec)
    assert text == (
        "# org/m-GGUF:Q8_0\n"
        "FROM ./m-Q8_0.gguf\n"
        'TEMPLATE """{{ .Prompt }}"""\n'
        "PARAMETER stop <end_of_turn>\n"
        'PARAMETER stop " x"\n'
        "PARAMETER temperature 1.0\n"
        "PARAMETER top_k 64\n"
        'SYSTEM """Be brief."""\n'
        'LICENSE """gemma"""\n')


def test_unquotable_template_is_an_error_not_a_broken_file():
    spec = ModelfileSpec(from_=("./m.gguf",), template='say """hi"""\nthen')
    with pytest.raises(ModelfileError, match=r'TEMPLATE cannot be written into a Modelfile'):
        render(spec)


def test_triple_quotes_inside_a_line_are_carried():
    spec = ModelfileSpec(from_=("./m.gguf",), template='a """ b\nsay """')
    text = render(spec)
    assert 'TEMPLATE """a """ b\nsay """"""\n' in text
    assert parse(text).template == 'a """ b\nsay """'


def test_characters_ollama_drops_are_an_error():
    with pytest.raises(ModelfileError, match="U\\+200B"):
        quote("a\u200bb", what="SYSTEM")


def test_bare_values_only_when_safe():
    assert quote("<end_of_turn>") == "<end_of_turn>"
    assert quote('"x"') == '""x""'
    assert quote("") == '""'
    assert quote("\n") == '"\n"'
    assert quote('"') == '"""""""'


# -- cost: linear in the text ------------------------------------------------------------------

def _counting_trim(monkeypatch) -> list[int]:
    import publish.modelfile as mf

    seen: list[int] = []
    real = mf._go_trim_space

    def counting(s: str) -> str:
        seen.append(len(s))
        return real(s)

    monkeypatch.setattr(mf, "_go_trim_space", counting)
    return seen


@pytest.mark.parametrize("text", [
    "word " * 4000,                       # spaces: each one re-read the whole value
    "line\n" * 4000,                      # line breaks inside a quoted value
    '"' + " x\n" * 3000 + '" tail',       # a block that must be quoted with """
    "\t \u00e9\u4e00 " * 2000,
])
def test_quoting_reads_the_value_a_bounded_number_of_times(monkeypatch, text):
    """A 200 KB system prompt took 35 s to quote: the parser re-joined and trimmed everything
    read so far at every space and line break. Now each value is trimmed once."""
    seen = _counting_trim(monkeypatch)
    value = text.strip()
    quoted = quote(value, what="system prompt")
    assert parse(f"FROM x\nSYSTEM {quoted}\n").system == value
    assert sum(seen) <= 8 * len(text), (sum(seen), len(text))


def test_a_200kb_system_prompt_renders_and_reads_back(monkeypatch):
    seen = _counting_trim(monkeypatch)
    system = ("You are a careful assistant.\n" + "Rule: answer briefly, cite sources. " * 20 + "\n") * 270
    assert len(system) > 200_000
    text = render(ModelfileSpec(("./m.gguf",), template="{{ .Prompt }}", system=system))
    assert parse(text).system == system
    assert sum(seen) <= 8 * len(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(['"', '"""', " ", "\t", "\n", "\r", "a", "é", "\x00", "#", "\u200b"]),
                max_size=40).map("".join))
def test_quote_reads_back_or_refuses(value):
    try:
        quoted = quote(value)
    except ModelfileError:
        return
    assert parse(f"FROM x\nSYSTEM {quoted}\n").system == value

"""publish.gotmpl behaviour that the Go 1.19 reference cannot show, and the public API.

Expected outputs for range-over-int (Go 1.22) and `else with` (Go 1.23) are written by hand from
Go's documented semantics, because Debian's Go 1.19 predates both.
"""

from __future__ import annotations

import time

import pytest

from gotmpl_cases import CONVERSATIONS, library_templates
from publish import gotmpl
from publish.errors import TemplateError


def run(text: str, data=None, **kw) -> str:
    return gotmpl.parse(text).execute(data, **kw)


# -- Go 1.22 / 1.23 features (hand-written expectations) -------------------------------------------
@pytest.mark.parametrize("text, data, expected", [
    ("{{ range 3 }}{{ . }},{{ end }}", None, "0,1,2,"),
    ("{{ range $i := .n }}[{{ $i }}]{{ end }}", {"n": 2}, "[0][1]"),
    ("{{ range 0 }}x{{ else }}none{{ end }}", None, "none"),
    ("{{ range -2 }}x{{ else }}none{{ end }}", None, "none"),
    ("{{ range 5 }}{{ if eq . 1 }}{{ continue }}{{ end }}{{ if eq . 3 }}{{ break }}{{ end }}{{ . }}{{ end }}",
     None, "02"),
])
def test_range_over_int_go122(text, data, expected):
    assert run(text, data) == expected


def test_range_over_int_rejects_two_variables():
    with pytest.raises(TemplateError, match="can't use 3 to iterate over more than one variable"):
        run("{{ range $i, $v := 3 }}{{ end }}")


@pytest.mark.parametrize("data, expected", [
    ({"a": "A", "b": "B"}, "a=A"),
    ({"a": "", "b": "B"}, "b=B"),
    ({"a": "", "b": ""}, "neither"),
])
def test_else_with_go123(data, expected):
    text = "{{ with .a }}a={{ . }}{{ else with .b }}b={{ . }}{{ else }}neither{{ end }}"
    assert run(text, data) == expected


def test_else_with_only_after_with():
    with pytest.raises(TemplateError):
        gotmpl.parse("{{ if .a }}{{ else with .b }}{{ end }}")


# -- errors carry name, line and column ------------------------------------------------------------
def test_parse_error_has_line_and_go_message():
    with pytest.raises(TemplateError) as e:
        gotmpl.parse("line one\nline two {{ if }}\n", name="gemma")
    assert e.value.name == "gemma" and e.value.line == 2
    assert str(e.value) == "template: gemma:2: missing value for if"


def test_undefined_variable_names_column():
    with pytest.raises(TemplateError) as e:
        gotmpl.parse("ok\n  {{ $nope }}")
    assert (e.value.line, e.value.col) == (2, 5)
    assert 'undefined variable "$nope"' in str(e.value)


def test_unclosed_action_and_comment():
    with pytest.raises(TemplateError, match="unclosed action"):
        gotmpl.parse("{{ .A ")
    with pytest.raises(TemplateError, match="unclosed comment"):
        gotmpl.parse("{{/* never closed")


def test_exec_error_points_at_node():
    tmpl = library_templates()["gemma3-instruct"].replace(".Content", ".Text", 1)
    with pytest.raises(TemplateError) as e:
        gotmpl.render(tmpl, [{"role": "user", "content": "hi"}])
    msg = str(e.value)
    assert "can't evaluate field Text in type *template.templateMessage" in msg
    assert e.value.line == 8 and e.value.col == 3
    assert msg.startswith("template: template:8:3: executing \"template\" at <.Text>:")


def test_incompatible_comparison_is_an_error():
    with pytest.raises(TemplateError, match="incompatible types for comparison"):
        run("{{ eq 1 1.0 }}")


# -- value printing as Go prints it -----------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (1000000.0, "1e+06"), (0.1, "0.1"), (3.0, "3"), (123456.0, "123456"), (1e-05, "1e-05"),
    (-2.5, "-2.5"), (10, "10"), (True, "true"), ("s", "s"), (None, "<no value>"),
    ([1, "a", None], "[1 a <nil>]"), ({"b": 1, "a": [2.5]}, "map[a:[2.5] b:1]"),
])
def test_values_print_like_go(value, expected):
    assert run("{{ .v }}", {"v": value}) == expected


def test_missing_key_modes():
    assert run("{{ .nope }}", {}) == "<no value>"
    assert run("{{ .nope }}", {}, missingkey="default") == "<no value>"
    # Ollama's missingkey=zero makes a chained lookup through a missing key an error
    with pytest.raises(TemplateError, match="nil pointer evaluating interface"):
        run("{{ .nope.deeper }}", {})
    assert run("{{ .nope.deeper }}", {}, missingkey="default") == "<no value>"


def test_trim_markers_need_the_space():
    assert run("a  {{- 3 }}  b") == "a3  b"
    assert run("a  {{-3}}  b") == "a  -3  b"


# -- Ollama's prompt rules ----------------------------------------------------------------------------
def test_messages_template_gets_collated_messages_and_system():
    msgs = [{"role": "system", "content": "s1"}, {"role": "user", "content": "a"},
            {"role": "user", "content": "b"}, {"role": "system", "content": "s2"},
            {"role": "tool", "content": "t1"}, {"role": "tool", "content": "t2"}]
    out = gotmpl.render("{{ .System }}|{{ range .Messages }}{{ .Role }}={{ .Content }};{{ end }}", msgs)
    assert out == "s1\n\ns2|system=s1;user=a\n\nb;system=s2;tool=t1;tool=t2;"


def test_legacy_template_loops_and_cuts_after_response():
    msgs = CONVERSATIONS["system-user-assistant-user"]["messages"]
    out = gotmpl.render("<{{ .System }}>{{ .Prompt }}=>{{ .Response }}<end>", msgs)
    assert out == "<Be brief.>2+2?=>4<end><>And 3+3?=>"


def test_template_without_response_gets_it_appended():
    msgs = CONVERSATIONS["user-assistant-user"]["messages"]
    assert gotmpl.render("[{{ .Prompt }}]", msgs) == "[Hello]Hi there[How are you?]"
    assert gotmpl.template_vars("[{{ .Prompt }}]") == ["prompt"]
    assert not gotmpl.uses_messages("[{{ .Prompt }}]")
    assert gotmpl.uses_messages(library_templates()["gemma3n"])


def test_ollama_rejects_template_call_without_argument():
    with pytest.raises(TemplateError, match="undefined template specified"):
        gotmpl.render('{{ define "x" }}X{{ end }}{{ template "x" }}{{ .Messages }}', [])


def test_legacy_else_after_response_is_reported_not_crashed():
    with pytest.raises(TemplateError, match="crashes on this template"):
        gotmpl.render("{{ if .Prompt }}{{ .Response }}{{ else }}x{{ end }}",
                      [{"role": "user", "content": "hi"}])


def test_tool_arguments_print_as_json_and_tools_as_go_values():
    conv = CONVERSATIONS["tools"]
    out = gotmpl.render("{{ range .Messages }}{{ range .ToolCalls }}{{ .Function.Arguments }}\n"
                        "{{ end }}{{ end }}{{ (index .Tools 1).Function.Parameters.Properties }}",
                        conv["messages"], conv["tools"])
    first, second, props = out.split("\n")
    assert first == ('{"big":1e+21,"city":"Paris \\u003cFR\\u003e \\u0026 co","days":3,'
                     '"nested":{"a":"b","z":[1,2.25,null,true]},"ratio":0.5}')
    assert second == '{"a":1,"b":2}'
    assert props == ('{"a":{"type":"number"},"b":{"type":"number"},'
                     '"xs":{"type":"array","items":{"type":"integer"}}}')


def test_accepts_ollama_client_messages():
    ollama = pytest.importorskip("ollama")
    msgs = [ollama.Message(role="user", content="What is 2+2?"),
            ollama.Message(role="assistant", content="",
                           tool_calls=[ollama.Message.ToolCall(function=ollama.Message.ToolCall.Function(
                               name="add", arguments={"a": 2, "b": 2}))])]
    out = gotmpl.render("{{ range .Messages }}{{ .Role }}:{{ .Content }}"
                        "{{ range .ToolCalls }}{{ .Function.Name }}{{ .Function.Arguments }}{{ end }}|{{ end }}",
                        msgs)
    assert out == 'user:What is 2+2?|assistant:add{"a":2,"b":2}|'


def test_parsed_templates_are_cached_by_text():
    text = library_templates()["chatml"]
    gotmpl.render(text, [{"role": "user", "content": "x"}])
    before = gotmpl._ollama.cache_info().hits
    gotmpl.render(text, [{"role": "user", "content": "y"}])
    assert gotmpl._ollama.cache_info().hits == before + 1


# -- hostile templates are bounded --------------------------------------------------------------------
@pytest.mark.parametrize("text, message", [
    ("{{ range 100000000 }}x{{ end }}", "more than 200000 loop iterations"),
    ('{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" 1 }}', "maximum template depth"),
    ("{{ if 1 }}" * 3000 + "{{ end }}" * 3000, "nested too deeply"),
    # each action prints 1 MB: the bound must hold between loop steps, not only every 4096
    ('{{ range 3000 }}{{ printf "%1000000d" 1 }}{{ end }}', "handle more than 67108864 characters"),
    ("{{ range 3000 }}{{ $.s }}{{ end }}", "output exceeds 67108864 characters"),
    # a string kept in a variable never reaches the output: doubling it must still stop
    ('{{ $x := printf "%1000000s" "" }}{{ range 12 }}{{ $x = printf "%s%s" $x $x }}{{ end }}',
     "handle more than 67108864 characters"),
    # work on values that never reach the output: each of these ran for minutes
    ('{{ range 200000 }}{{ $x := printf "%999999d" 1 | len }}{{ end }}', "handle more than"),
    ('{{ $s := printf "%999999s" "é" }}{{ range 200000 }}{{ $t := len $s }}{{ end }}', "handle more than"),
    ('{{ $s := printf "%999999s" "é" }}{{ range 200000 }}{{ $t := slice $s 1 }}{{ end }}', "handle more than"),
    ('{{ $s := printf "%999999d" 1 }}{{ range 200000 }}{{ if eq $s $s }}{{ end }}{{ end }}', "handle more than"),
    ('{{ define "b" }}{{ printf "%999999d" 1 | len }}{{ end }}{{ range 100000 }}{{ template "b" }}{{ end }}',
     "handle more than"),
    # one printf asking for gigabytes through many wide verbs: refused while it formats
    ('{{ $f := printf "%s" "%[1]999999d" }}{{ range 9 }}{{ $f = printf "%s%s" $f $f }}{{ end }}{{ printf $f 1 }}',
     "error calling printf: result exceeds"),
])
def test_hostile_templates_fail_cleanly(text, message):
    with pytest.raises(TemplateError, match=message):
        gotmpl.parse(text).execute({"s": "x" * 100_000})


def test_wall_clock_bound(monkeypatch):
    """What neither the step nor the character bound stops in time stops at the wall-clock bound.
    js is a character loop: 2,000 x 4,000 characters (about 1.8 s here unbounded) stays far below
    the character budget (24 M characters read and written, of 64 Mi) and the step bound (2,000
    iterations), and far above 0.05 s on any machine, so only the clock can stop it."""
    from publish.gotmpl import executor

    monkeypatch.setattr(executor, "MAX_SECONDS", 0.05, raising=False)
    start = time.monotonic()
    with pytest.raises(TemplateError, match="runs longer than 0.05 s"):
        gotmpl.parse('{{ range 2000 }}{{ $x := js $.s | len }}{{ end }}').execute({"s": "a" * 4_000})
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("code", [0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x110000, -1, -0xD800, 2**40])
def test_printf_c_of_an_invalid_code_point_is_the_replacement_character(code):
    """Go writes U+FFFD (utf8.AppendRune, strconv.QuoteRune); a lone surrogate here raised
    UnicodeEncodeError. Checked against Go in test_gotmpl_go (ADVERSARIAL_RAW)."""
    out = gotmpl.parse('{{ printf "%c|%q|%+q|%3c" . . . . }}').execute(code)
    assert out == "\ufffd|'\ufffd'|'\\ufffd'|  \ufffd"
    out.encode("utf-8")

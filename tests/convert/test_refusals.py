"""What `publish template convert` says when it cannot convert: a Jinja syntax error, constructs
Go templates cannot express (slices with a step, Python str methods), each with its line:column
in the Jinja source and exit status 2, never a silent DIFFERENT or a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import ggufs
from publish import templatecheck
from publish.cli import main
from publish.convert import ConvertError, convert


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


# -- a template jinja2 cannot parse ----------------------------------------------------------

@pytest.mark.parametrize("command", [["template", "convert"], ["template", "suggest"], ["template", "check"]])
def test_a_syntax_error_names_file_line_and_column_with_a_hint_about_the_syntax(tmp_path, command):
    src = tmp_path / "broken.jinja"
    src.write_text("{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }<|end|>\n{% endfor %}", encoding="utf-8")
    go = tmp_path / "template"
    go.write_text("{{ .Prompt }}", encoding="utf-8")
    args = [*command, src] if command[1] != "check" else [*command, "--jinja", src, "--go", go]
    out = run(*args)
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
    assert "broken.jinja:2:14: not valid Jinja: unexpected '}'" in out.output, out.output
    assert "fix the syntax at that place" in out.output
    # not the hints of other faults
    assert "no Ollama Go template counterpart" not in out.output and "GGUF" not in out.output


def test_a_syntax_error_in_a_ggufs_chat_template_points_to_publish_fix(tmp_path):
    gguf = ggufs.write_tiny_llama(tmp_path / "m.gguf", chat_template="{{ bos_token }}\n  {% endif %}")
    out = run("template", "convert", gguf)
    assert out.exit_code == 2
    assert "m.gguf:tokenizer.chat_template:2:3: not valid Jinja: Encountered unknown tag 'endif'" in out.output
    assert f"publish fix m.gguf --chat-template FILE" in out.output


# -- slices -----------------------------------------------------------------------------------

def body(expr: str) -> str:
    """A chat template printing `expr` for every message, on line 2."""
    return ("{% for m in messages %}<|{{ m.role }}|>\n" + expr +
            "<|end|>\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def test_a_reversed_string_is_refused_with_exit_2_naming_the_slice_and_its_place(tmp_path):
    """The tester's case: `{{ m.content[::-1] }}` was compiled as if the content were a reversed
    list and printed Python's repr of the string ('Hello!'): DIFFERENT, exit 1, no construct."""
    src = tmp_path / "rev.jinja"
    src.write_text(body("{{ m.content[::-1] }}"), encoding="utf-8")
    out = run("template", "convert", src)
    assert out.exit_code == 2, out.output
    assert "rev.jinja:2:13: a slice with step -1 of text ([::-1]): Go templates cannot reverse or step through " \
           "a string" in out.output
    assert "DIFFERENT" not in out.output and "Traceback" not in out.output


# (template, the message's line:col, a part of its text)
REFUSED = [
    (body("{{ m.content[::2] }}"), "2:13", "a slice with step 2 of text ([::2])"),
    (body("{{ m.content[1::2] }}"), "2:13", "a slice with step 2 of text ([1::2])"),
    (body("{{ m.content[5:0:-1] }}"), "2:13", "a slice with step -1 of text ([5:0:-1])"),
    (body("{{ m.content[::loop.index] }}"), "2:13", "a slice with a runtime step ([::loop.index])"),
    (body("{{ (m.content | string)[::-1] }}"), "2:24", "a slice with step -1 of text ([::-1])"),
    (body("{{ m.role[::-1] }}"), "2:10", "a slice with step -1 of text ([::-1])"),
    (body("{{ m.content[::-1] == 'olleH' }}"), "2:13", "a slice with step -1 of text ([::-1])"),
    (body("{{ 'olleH' in m.content[::-1] }}"), "2:24", "a slice with step -1 of text ([::-1])"),
    (body("{{ m.content | reverse }}"), "2:16", "| reverse of text: Go templates cannot reverse a string"),
    (body("{{ m.content.split(' ')[::-1] | join(' ') }}"), "2:24",
     "a slice with step -1 of a runtime list of strings ([::-1])"),
    (body("{{ m.content.split(' ')[::2] | join(' ') }}"), "2:24", "a slice with step 2 of a runtime list of strings"),
    ("{% for m in messages[::2] %}{{ m.content }}{% endfor %}", "1:21", "a slice with step 2 ([::2])"),
    ("{% for m in messages[::-2] %}{{ m.content }}{% endfor %}", "1:21", "a slice with step -2 ([::-2])"),
    ("{% for m in messages[1::-1] %}{{ m.content }}{% endfor %}", "1:21", "a slice with step -1 ([1::-1])"),
    ("{% for m in messages[::-1][1:] %}{{ m.content }}{% endfor %}", "1:21",
     "a reversed list ([::-1]) used other than as the list a for loop runs over"),
    ("{{ messages[::-1][0].content }}{% for m in messages %}{{ m.content }}{% endfor %}", "1:12",
     "a reversed list ([::-1]) used other than"),
    ("{{ messages[::-1] | length }}{% for m in messages %}{{ m.content }}{% endfor %}", "1:12",
     "a reversed list ([::-1]) used other than"),
    ("{{ messages[::-1] }}{% for m in messages %}{{ m.content }}{% endfor %}", "1:12",
     "a reversed list ([::-1]) used other than"),
    ("{{ messages | reverse | list | length }}{% for m in messages %}{{ m.content }}{% endfor %}", "1:15",
     "| reverse of a list used other than as the list a for loop runs over"),
    ("{% for m in (messages | selectattr('role', 'equalto', 'user'))[1:] %}{{ m.content }}{% endfor %}", "1:63",
     "slicing a filtered runtime list (selectattr/rejectattr) ([1:])"),
    (body("{{ m.content[loop.index0 - 1] }}"), "2:13",
     "a character of text at a runtime index that may be negative is not translated"),
    ("{% for i in range(messages | length, 0, -1) %}{{ i }}{% endfor %}", "1:13",
     "range() with a runtime bound and step -1"),
    ("{% for i in range(0, messages | length, 2) %}{{ i }}{% endfor %}", "1:13",
     "range() with a runtime bound and step 2"),
]


@pytest.mark.parametrize("source, where, message", REFUSED)
def test_slices_and_reversals_go_cannot_express_are_refused_with_their_line_and_column(source, where, message):
    with pytest.raises(ConvertError) as err:
        convert(source, name="t.jinja")
    assert f"t.jinja:{where}: {message}" in str(err.value), str(err.value)
    assert err.value.exit_code == 2


# templates that the compiler got wrong without saying so (a different prompt, or a Go error on
# the proof's conversations) and now translates exactly: (template, cases that must be compared)
NS_SYSTEM = ("{%- set ns = namespace(i=-1) -%}{%- for m in messages -%}{%- if m.role == 'system' -%}"
             "{%- set ns.i = loop.index0 -%}{%- endif -%}{%- endfor -%}")
EXACT = [
    # a slice that keeps the whole content still ends a continued final message
    (body("{{ m.content[:] }}"), {"ends-with-assistant"}),
    (body("{{ m.content[::1] }}"), {"ends-with-assistant"}),
    (body("{{ m.content[0:] }}"), {"ends-with-assistant"}),
    (body("{{ m.content[::none] }}"), {"ends-with-assistant"}),
    (body("{{ m.content[:500] }}"), {"ends-with-assistant"}),
    (body("{{ m.content[-500:] }}"), {"ends-with-assistant"}),
    # runtime bounds that are negative at run time count from the end, as in Python
    (NS_SYSTEM + "{%- for m in messages[ns.i:] -%}<{{ m.role }}>{{ m.content }}\n{% endfor %}", {"user"}),
    (NS_SYSTEM + "{%- for m in messages[:ns.i] -%}<{{ m.role }}>{{ m.content }}\n{% endfor %}", {"user"}),
    (NS_SYSTEM + "{%- for m in messages -%}<{{ m.role }}>{{ m.content[:ns.i] }}\n{% endfor %}", {"user"}),
    (NS_SYSTEM + "{%- for m in messages -%}<{{ m.role }}>{{ m.content[ns.i:] }}\n{% endfor %}",
     {"user", "system-ends-with-assistant"}),
    (body("{{ m.content[loop.index0 - 1:] }}"), {"user", "multi-turn"}),
    ("{% for m in messages %}<{{ m.role }}>{% for x in messages[loop.index0 - 1:] %}{{ x.role }}{% endfor %}"
     "\n{% endfor %}", {"user"}),
    ("{% for m in messages %}<{{ m.role }}>{% for x in messages[:loop.index0 - 2] %}{{ x.role }}{% endfor %}"
     "\n{% endfor %}", {"multi-turn"}),
    ("{% for m in messages %}<{{ m.role }}>{% for x in messages[-2:1] %}{{ x.role }}{% endfor %}"
     "\n{% endfor %}", {"user", "multi-turn"}),
    # subtraction below zero, printed, compared, added back, and as an index (Python: from the end)
    ("{% for m in messages %}<{{ m.role }} {{ loop.index0 - 2 }} {{ loop.index0 - 2 + 1 }} "
     "{{ (loop.index0 - 1) > 0 }}>[{{ messages[loop.index0 - 1].role }}]{{ m.content }}\n{% endfor %}",
     {"user", "multi-turn"}),
    ("{% for m in messages %}<{{ m.role }}>{% for j in range(loop.index0 - 1, -1, -1) %}{{ j }}{% endfor %}"
     "{{ m.content }}\n{% endfor %}", {"multi-turn"}),
    # x % k printed as the number (it printed Python's repr of a string: '1'), of x below zero too
    (body("{{ (loop.index0 + 10) % 3 }}|{{ (loop.index0 - 1) % 2 }}|{{ (loop.index0 - 3) % 3 }}|"
          "{{ 'x' ~ loop.index0 % 2 }}"), {"multi-turn"}),
    # one character, counted from either end ("" past it, where Jinja gives undefined)
    (body("{{ m.content[-1] }}|{{ m.content[-2] }}|{{ m.content[-100] }}|{{ m.content[3] }}"), {"quotes-non-ascii"}),
    (body("{{ m.content[loop.index0] }}"), {"multi-turn", "quotes-non-ascii"}),
    # reversing a list a loop runs over: [::-1], | reverse, through | list or a set variable
    ("{% for m in messages | reverse %}<{{ m.role }}>{{ m.content }}\n{% endfor %}", {"multi-turn"}),
    ("{% for m in messages | reverse | list %}<{{ m.role }} {{ loop.index0 }}>{{ m.content }}\n{% endfor %}",
     {"multi-turn"}),
    ("{% set r = messages[::-1] %}{% for m in r %}<{{ m.role }}>{{ m.content }}\n{% endfor %}", {"multi-turn"}),
    ("{% for m in messages[1:][::-1] %}<{{ m.role }}>{{ m.content }}\n{% endfor %}", {"multi-turn"}),
]


@pytest.mark.parametrize("source, compared", EXACT)
def test_slices_with_runtime_bounds_and_list_reversals_translate_exactly(source, compared):
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    by_name = {c.name: c for c in conv.check.conversations}
    assert all(by_name[n].status == templatecheck.IDENTICAL for n in compared), conv.format_text(show_template=False)
    # fmt's negative widths and `and`/`or` short-circuit as Go has them
    assert_identical_in_ollamas_template_package(conv)


def assert_identical_in_ollamas_template_package(conv):
    """Every case the proof found identical renders the Jinja prompt in Ollama's own template
    package too (v0.24.0, tests/ollama_template_ref)."""
    from ollama_template_ref import render_real

    by_name = {c.name: c for c in conv.check.conversations}
    cases = [c for c in templatecheck.CONVERT_SUITE if by_name[c.name].status == templatecheck.IDENTICAL]
    got = render_real([{"template": conv.template, "messages": c.messages, "tools": c.tools, "think": False}
                       for c in cases])
    assert [(g.get("error") or "", g["output"]) for g in got] == [("", by_name[c.name].jinja) for c in cases]


# -- Python str methods ------------------------------------------------------------------------

def test_str_count_is_translated_not_called_an_undefined_function(tmp_path):
    """The tester's case: `{{ m.content.count('x') }}` was "call of an undefined function or method
    (Jinja raises)"; Jinja's sandbox allows every str method, and count is now translated."""
    src = tmp_path / "count.jinja"
    src.write_text(body("{{ m.content.count('x') }}"), encoding="utf-8")
    out = run("template", "convert", src)
    assert out.exit_code == 0, out.output
    assert "undefined" not in out.output


STR_EXACT = [
    body("{{ m.content.count('o') }} {{ m.content.count('') }} {{ m.content.count('é') }} {{ m.content.count('ll') }}"),
    body("{{ m.content.find('o') }} {{ m.content.find('é') }} {{ m.content.find('日本') }} {{ m.content.find('') }}"),
    body("{{ m.content.rfind('o') }} {{ m.content.rfind('') }} {{ m.content.rfind('zz') }}"),
    body("{{ m.content.removeprefix('Hel') }}"),
    body("{{ m.content.removesuffix('?') }}"),
    body("{{ '{}: {}'.format(m.role, m.content) }} {{ '{0}-{0}-{n}'.format(loop.index, n=m.role) }}"),
    body("{{ 'ab'.zfill(5) }} {{ 'a-b'.partition('-') | join('+') }} {{ 'x y'.title() }}{{ m.content }}"),
    body("{{ m.role.capitalize() }} {{ m.role.title() }}: {{ m.content }}"),
]


@pytest.mark.parametrize("source", STR_EXACT)
def test_str_methods_that_are_translated_render_what_jinja_renders(source):
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    by_name = {c.name: c for c in conv.check.conversations}
    assert by_name["quotes-non-ascii"].status == templatecheck.IDENTICAL     # «café» — 日本語 🙂
    assert_identical_in_ollamas_template_package(conv)


@pytest.mark.parametrize("expr, col, message", [
    ("{{ m.content.splitlines() | length }}", 14, ".splitlines() of runtime text: a str method Jinja's sandbox allows"),
    ("{{ m.content.partition(' ')[0] }}", 14, ".partition() of runtime text: a str method Jinja's sandbox allows"),
    ("{{ m.content.zfill(3) }}", 14, ".zfill() of runtime text: a str method Jinja's sandbox allows"),
    ("{{ m.content.isdigit() }}", 14, ".isdigit() of runtime text: a str method Jinja's sandbox allows"),
    ("{{ m.content.center(30) }}", 14, ".center() of runtime text: a str method Jinja's sandbox allows"),
    ("{{ m.content.format(1) }}", 14, ".format() with runtime text as the format string is not translated"),
    ("{{ '{:>5}'.format(m.role) }}", 12, ".format() with a format spec or conversion"),
    ("{{ 'x'.startswith(m.role) }}", 8, ".startswith() of a constant string with a runtime argument"),
])
def test_str_methods_go_cannot_express_are_refused_naming_the_method_and_its_place(expr, col, message):
    with pytest.raises(ConvertError) as err:
        convert(body(expr), name="t.jinja")
    assert f"t.jinja:2:{col}: {message}" in str(err.value), str(err.value)
    assert "undefined" not in str(err.value)


def test_str_methods_with_a_named_approximation_say_what_the_go_template_does():
    conv = convert(body("{{ m.content.title() }}|{{ m.content.index('o') }}"))
    assert [str(a) for a in conv.approximations] == [
        "2:14: .title() of runtime text -> text is left as it is",
        "2:38: .index() of text without 'o' (Jinja raises) -> -1, as .find() gives"]
    # an attribute str does not have is what Jinja calls undefined (and raises on when called)
    conv = convert(body("{{ m.content.foo() }}"))
    assert [a.construct for a in conv.approximations] == ["call of an undefined function or method (Jinja raises)"]


def test_an_approximation_whose_column_is_not_in_the_source_line_prints_no_column():
    """`m.role.capitalize()` is enumerated over the roles; the role lookup it reports has no token of
    its own on the line: `2: …`, never `2:0: …`, and null in the JSON."""
    conv = convert(body("{{ m.role.capitalize() }}: {{ m.content }}"))
    [approx] = conv.approximations
    assert str(approx).startswith("2: lookup by message role -> ")
    assert approx.to_dict()["col"] is None and approx.to_dict()["line"] == 2


# -- other constructs that were let through silently -------------------------------------------

def test_escape_filter_is_html_escaping_not_the_text_unchanged():
    """`| e` was compiled as the text itself; markupsafe.escape writes &amp; &lt; &gt; &#39; &#34;,
    as Go's html does (the quotes-non-ascii case has both quotes). Go's html writes U+FFFD for a NUL
    in the content, which the probe cases holding one show: approximated, not identical."""
    conv = convert(body("{{ m.content | e }}|{{ m.role | escape }}"))
    by_name = {c.name: c for c in conv.check.conversations}
    assert all(by_name[c.name].status in (templatecheck.IDENTICAL, templatecheck.NA)
               for c in templatecheck.CONVERT_SUITE), conv.format_text(show_template=False)
    assert conv.verdict == "approximated" and conv.exit_code == 1
    assert "a\x00b" in by_name["probe-1-whole"].jinja and "a\ufffdb" in by_name["probe-1-whole"].go
    assert "&#34;double&#34; and &#39;single&#39;" in by_name["quotes-non-ascii"].jinja
    assert by_name["ends-with-assistant"].status == templatecheck.IDENTICAL
    assert [str(a) for a in conv.approximations] == [
        "2:14: | e of runtime text holding NUL -> Go's html writes U+FFFD for it",
        "2:31: | escape of runtime text holding NUL -> Go's html writes U+FFFD for it"]
    assert_identical_in_ollamas_template_package(conv)
    # a value marked safe is not escaped again
    conv = convert(body("{{ m.content | safe | e }}"))
    assert conv.identical and not conv.approximations
    assert '"double"' in {c.name: c for c in conv.check.conversations}["quotes-non-ascii"].jinja


def test_a_message_as_json_is_refused_and_printed_whole_is_named():
    with pytest.raises(ConvertError) as err:
        convert(body("{{ m | tojson }}"), name="t.jinja")
    assert "t.jinja:2:8: tojson of a message as a whole" in str(err.value)
    conv = convert(body("{{ m }}"))
    assert [str(a) for a in conv.approximations] == [
        "2: a message printed as a whole (Python's str() of the client's fields) -> Go's print of Ollama's "
        "message values"]


def test_tool_call_arguments_in_json_name_what_ollama_changes():
    """Nested argument values went through Go's json (no spaces, keys sorted) and the keys come
    sorted (Ollama's ToMap()), both unnamed; the proof's flat one-key arguments cannot show it.
    Nested values are now written in Python's json.dumps layout (Go's json walked byte by byte),
    proven on the probe-tool-arguments case; the sorted keys of a nested object stay named."""
    source = ("{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{% for tc in m.tool_calls %}"
              "[{{ tc.function.arguments | tojson }}]\n{% for k, v in tc.function.arguments.items() %}"
              "{{ k }}={{ v | tojson }};{% endfor %}{% endfor %}<|end|>\n{% endfor %}")
    conv = convert(source)
    nested = ("an object inside tool-call arguments -> its keys in the order Ollama holds them: sorted (a "
              "nested object is a Go map in Ollama; Jinja keeps the client's order)")
    assert [str(a) for a in conv.approximations] == [
        "1:111: the keys of tool-call arguments -> in the order Ollama hands them over: sorted by key (Jinja "
        "keeps the client's order)",
        "1:111: " + nested,
        "2:4: loop over tool-call arguments -> Ollama hands them over sorted by key (Jinja keeps the client's "
        "order)",
        "2:63: " + nested]
    args = {"city": "Paris", "opts": {"units": ["c", "f"]}}
    msgs = [{"role": "user", "content": "q"},
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": args}}]},
            {"role": "user", "content": "and?"}]
    from publish import gotmpl
    assert '"opts": {"units": ["c", "f"]}' in gotmpl.render(conv.template, msgs)   # Python's layout
    assert conv.identical and "probe-tool-arguments" in {c.name for c in conv.check.compared}


@pytest.mark.parametrize("expr, col, message", [
    ("{{ m.content | foo }}", 16, "Jinja has no filter named 'foo'"),
    ("{{ 'x' | foo }}", 10, "Jinja has no filter named 'foo'"),
    ("{{ m.content is foo }}", 17, "Jinja has no test named 'foo'"),
])
def test_a_filter_or_test_jinja_does_not_have_is_reported_as_a_jinja_error(expr, col, message):
    """Not "filter foo is not supported" with the hint to write a Go template by hand: Jinja
    refuses the template itself (it does not compile), so the hint is about fixing it."""
    with pytest.raises(ConvertError) as err:
        convert(body(expr), name="t.jinja")
    assert f"t.jinja:2:{col}: {message}: the template does not compile in Jinja either" in str(err.value)
    assert "fix the syntax at that place" in err.value.hint and "by hand" not in err.value.hint


# -- empty templates, and suggest's report of a conversion that fails (a second tester's finds) ----

@pytest.mark.parametrize("command", [["template", "convert"], ["template", "suggest"], ["template", "check"]])
@pytest.mark.parametrize("text", ["", "  \n\t"])
def test_an_empty_chat_template_is_refused_by_every_template_command(tmp_path, command, text):
    # `check` compared it and printed FAIL; an empty template proves nothing for any command
    src = tmp_path / "empty.jinja"
    src.write_text(text, encoding="utf-8")
    go = tmp_path / "template"
    go.write_text("{{ .Prompt }}", encoding="utf-8")
    args = [*command, src] if command[1] != "check" else [*command, "--jinja", src, "--go", go]
    out = run(*args)
    assert out.exit_code == 2 and "empty.jinja: the chat template is empty" in out.output, out.output


def test_a_blank_gguf_chat_template_is_refused_pointing_to_publish_fix(tmp_path):
    gguf = ggufs.write_tiny_llama(tmp_path / "m.gguf", chat_template=" \n")
    out = run("template", "convert", gguf)
    assert out.exit_code == 2 and "the chat template is empty" in out.output, out.output
    assert "--chat-template FILE" in out.output


def test_suggest_prints_a_failed_conversion_with_its_hint_on_its_own_line(tmp_path):
    src = tmp_path / "rev.jinja"
    src.write_text("{% for m in messages %}<|{{ m.role }}|>{{ m.content[::-1] }}<|end|>\n{% endfor %}",
                   encoding="utf-8")
    out = run("template", "suggest", src)
    line = next(x for x in out.output.splitlines() if x.startswith("conversion failed: "))
    assert "rev.jinja:1:" in line and "\\n" not in line, line      # was the message and hint escaped into one line
    after = out.output.splitlines()[out.output.splitlines().index(line) + 1]
    assert after.startswith("  hint: "), out.output


@pytest.mark.parametrize("text", ["{# only a comment #}\n", "{% for m in messages %}  {% endfor %}\n",
                                  "{% if false %}{{ messages }}{% endif %}"])
def test_a_template_that_writes_nothing_for_every_conversation_is_refused(tmp_path, text):
    # a second tester's find: a comment-only template converted "identical", exit 0 (an empty Go
    # template matches it on every case); it proves nothing
    src = tmp_path / "c.jinja"
    src.write_text(text, encoding="utf-8")
    out = run("template", "convert", src)
    assert out.exit_code == 2, out.output
    assert "c.jinja: the chat template writes nothing (or only whitespace) for every conversation" in out.output


@pytest.mark.parametrize("text", ["", " \n"])
def test_check_refuses_an_empty_go_template_naming_it(tmp_path, text):
    # a third tester's find: an empty --go file printed "FAIL (9 of 9 conversation(s) differ)", exit 1
    jinja = tmp_path / "t.jinja"
    jinja.write_text("{% for m in messages %}{{ m.content }}{% endfor %}", encoding="utf-8")
    go = tmp_path / "template"
    go.write_text(text, encoding="utf-8")
    out = run("template", "check", "--jinja", jinja, "--go", go)
    assert out.exit_code == 2 and "template: the Go template is empty" in out.output, out.output

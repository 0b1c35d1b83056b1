"""A macro that calls itself with the same constant arguments: named with its file, macro, the
call's line:column and why (it recurses without end, or a namespace might end it), not Ollama's
`{{template "name"}}` error about Go syntax the user never wrote (a fresh-clone tester's find)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.convert import ConvertError, compile_template, convert

LOOP = "{% for m in messages %}{{ m.content }}{% endfor %}"


@pytest.mark.parametrize("source, where, message", [
    ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "1:20",
     "macro f (defined at line 1) calls itself with the same constant arguments (n=1): it calls itself with the "
     "same arguments and changes nothing it reads, so it recurses without end"),
    ("{% macro g() %}x{{ g() }}{% endmacro %}\n" + LOOP.replace("m.content", "g()"), "1:20",
     "macro g (defined at line 1) calls itself with the same constant arguments (none): it calls itself"),
    ("{% macro f(a, b) %}\n{{ a }}{{ f(a, b=b) }}{% endmacro %}{{ f('x', b=2) }}" + LOOP, "2:11",
     "macro f (defined at line 1) calls itself with the same constant arguments (a='x', b=2)"),
    ("{% set ns = namespace(i=0) %}{% macro f(n) %}{% if ns.i < 3 %}{% set ns.i = ns.i + 1 %}{{ f(n) }}"
     "{% endif %}{% endmacro %}{{ f(1) }}" + LOOP, "1:91",
     "it sets a namespace attribute, which could end it; recursion that ends that way is not translated"),
])
def test_recursion_over_the_same_constants_is_named_at_the_call(source, where, message):
    with pytest.raises(ConvertError) as err:
        compile_template(source, name="r.jinja")
    assert str(err.value).startswith(f"r.jinja:{where}: "), str(err.value)
    assert message in str(err.value)
    assert "{{template" not in str(err.value) and "undefined template" not in str(err.value)


def test_the_cli_says_it_with_exit_2_and_no_go_syntax_hint(tmp_path):
    src = tmp_path / "h12.jinja"
    src.write_text("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", encoding="utf-8")
    out = CliRunner().invoke(main, ["template", "convert", str(src)])
    assert out.exit_code == 2, out.output
    assert "h12.jinja:1:20: macro f (defined at line 1)" in out.output and "recurses without end" in out.output
    assert "{{template" not in out.output and "Traceback" not in out.output


def test_recursion_that_ends_over_constants_is_still_inlined():
    conv = convert("{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(3) }}" + LOOP)
    assert conv.identical and "0123" in conv.template


def test_recursion_with_changing_constants_names_the_macro_and_its_place(tmp_path):
    # a second tester's variant: f(n + 1) said only "r.jinja:1: macros nested too deep (recursive macro?)"
    src = tmp_path / "d3.jinja"
    src.write_text("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}\n{{ f(1) }}" + LOOP, encoding="utf-8")
    out = CliRunner().invoke(main, ["template", "convert", str(src)])
    assert out.exit_code == 2, out.output
    assert "d3.jinja:1:10: macro f (defined at line 1) is called more than 8 macro calls deep" in out.output


def test_mutual_recursion_over_message_text_names_the_line_where_jinja_recursed(tmp_path):
    # f -> g -> f over runtime text: the converter writes Go {{ define }}s; the model's own template
    # recurses without end in the sandbox. It said "recursion too deep" with no line.
    src = tmp_path / "d2.jinja"
    src.write_text("{% macro f(n) %}{{ g(n) }}{% endmacro %}\n{% macro g(n) %}{{ f(n) }}{% endmacro %}\n"
                   + LOOP.replace("m.content", "f(m.content)"), encoding="utf-8")
    out = CliRunner().invoke(main, ["template", "convert", str(src)])
    assert out.exit_code == 2, out.output
    assert "d2.jinja:1: recursion too deep (a macro that calls itself, directly or through another" in out.output \
        or "d2.jinja:2: recursion too deep" in out.output, out.output

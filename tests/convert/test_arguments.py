"""Arguments of str methods and filters of odd types, and constant arithmetic: each gives the value
Python gives or a true message at its line:column, never "the converter failed ... this is a bug
in publish" (found by a fresh-clone tester: `m.content.endswith(("a","!"))` crashed the compiler)."""

from __future__ import annotations

import itertools

import pytest

from publish.convert import ConvertError, compile_template, convert
from publish.errors import PublishError


def body(expr: str) -> str:
    return "{% for m in messages %}{{ " + expr + " }}|{{ m.content }}\n{% endfor %}"


@pytest.mark.parametrize("expr", [
    'm.content.endswith(("a", "!"))', 'm.content.startswith(("W", "x"))', 'm.content.endswith(())',
    'm.content.startswith(("Hi",))', 'm.content.endswith(("?", "."))', 'm.role.endswith(("er", "nt"))',
])
def test_a_tuple_argument_is_translated_exactly(expr):
    conv = convert("{% for m in messages %}{% if " + expr + " %}Y{% else %}N{% endif %}|{{ m.content }}\n{% endfor %}",
                   name="t.jinja")
    assert conv.identical, conv.format_text(show_template=False)
    assert not conv.approximations


@pytest.mark.parametrize("expr, what", [
    ('m.content.startswith(["a"])', ".startswith(['a']) of text raises TypeError in Jinja (startswith first arg "
                                    "must be str or a tuple of str, not list)"),
    ('m.content.endswith(None)', ".endswith(None) of text raises TypeError in Jinja"),
    ('m.content.upper(1)', ".upper(1) of text raises TypeError in Jinja (str.upper() takes no arguments (1 given))"),
    ('m.content.split(1)', ".split(1) of text raises TypeError"),
    ('m.content.find(["a"])', ".find(['a']) of text raises TypeError"),
    ('m.content | trim(["a"])', "| trim(['a']) of text raises TypeError"),
    ('m.content | replace("a", "b", "c")', "| replace('a', 'b', 'c') of text raises TypeError"),
])
def test_an_argument_python_refuses_is_a_jinja_error_the_proof_reports_as_unsupported(expr, what):
    conv = convert(body(expr), name="t.jinja")
    assert len(conv.approximations) == 1 and what in str(conv.approximations[0]), conv.approximations
    assert conv.approximations[0].line == 1 and conv.approximations[0].col > 23
    assert "prints nothing for it" in str(conv.approximations[0])
    # every case renders the expression, so Jinja raises on each: none is compared, none differs
    assert not conv.check.compared


@pytest.mark.parametrize("expr, col, message", [
    ('m.content.count("l", 2)', 37, ".count() with a start argument (2) is not translated; .count('l') without it is"),
    ('m.content.find("a", 1, 3)', 37, ".find() with a start argument (1) is not translated"),
    ('m.content.endswith("a", 1)', 37, ".endswith() with a start argument (1) is not translated"),
    ('m.content.strip("a", "b")', 0, ""),   # TypeError in Python: strip takes one argument (approximation)
    ('m.content.count("l", m.role)', 37, ".count() with a runtime or keyword argument is not translated"),
])
def test_an_argument_not_translated_is_named(expr, col, message):
    src = body(expr)
    if not message:
        comp, _ = compile_template(src, name="t.jinja")
        assert "raises TypeError" in str(comp.approx[0])
        return
    with pytest.raises(ConvertError) as err:
        compile_template(src, name="t.jinja")
    assert str(err.value).startswith(f"t.jinja:1:{col}: {message}"), str(err.value)


@pytest.mark.parametrize("expr, printed", [
    ("2**3", "8"), ("2 ** -1", "0.5"), ("7 // 2", "3"), ("-7 // 2", "-4"), ("7 % 3", "1"), ("7 / 2", "3.5"),
    ("+3", "3"), ("-(2 ** 2)", "-4"), ("(1 + 2) * 3", "9"),
])
def test_constant_arithmetic_jinja_allows_is_folded(expr, printed):
    comp, text = compile_template("{{ " + expr + " }}{% for m in messages %}{{ m.content }}{% endfor %}")
    assert '{{ $_done := false }}' + printed + '{{ range' in text


@pytest.mark.parametrize("expr, col, message", [
    ("1 / 0", 6, "1 / 0 of constants fails in Jinja too (ZeroDivisionError: division by zero)"),
    ("7 // 0", 6, "7 // 0 of constants fails in Jinja too (ZeroDivisionError"),
    ("-'a'", 4, "-'a' of constants fails in Jinja too (TypeError"),
    ("none - 1", 9, "None - 1 of constants fails in Jinja too (TypeError"),
    ("'a' % 3", 8, "'a' % 3 of constants fails in Jinja too (TypeError"),
    ("2 ** 100000", 6, "2 ** 100000 of constants has more than 4,000 digits"),
])
def test_constant_arithmetic_python_refuses_is_named_at_its_operator(expr, col, message):
    with pytest.raises(ConvertError) as err:
        compile_template("{{ " + expr + " }}{% for m in messages %}{{ m.content }}{% endfor %}", name="t.jinja")
    assert str(err.value).startswith(f"t.jinja:1:{col}: {message}"), str(err.value)
    if "digits" not in message:
        assert "Jinja raises there too" in err.value.hint


METHODS = ["strip", "lstrip", "rstrip", "startswith", "endswith", "split", "rsplit", "upper", "lower", "replace",
           "capitalize", "title", "find", "rfind", "index", "rindex", "count", "removeprefix", "removesuffix"]
FILTERS = ["trim", "replace", "join", "default", "indent", "truncate", "center", "upper", "lower", "tojson",
           "length", "first", "last", "string", "e", "title", "capitalize", "wordcount", "int", "round", "batch"]
ODD = ['("a","!")', '["a"]', 'None', '1', '{"a":1}', '("a",1)', '(("a",),)', 'm.role', '"x".upper()', 'true', '()',
       '1.5', "'ab'"]


def _no_crash(src: str) -> None:
    try:
        compile_template(src)
    except PublishError as err:
        assert "bug in publish" not in str(err) and "converter failed" not in str(err), (src, str(err))


def test_fuzz_str_method_arguments_of_odd_types_give_a_true_message():
    for meth in METHODS:
        for n in (1, 2):
            for args in itertools.product(ODD, repeat=n):
                if n == 2 and args[0] not in ("'ab'", '("a","!")', '["a"]', "None"):
                    continue
                _no_crash("{% for m in messages %}{{ m.content." + meth + "(" + ", ".join(args) + ") }}{% endfor %}")


def test_fuzz_filter_arguments_of_odd_types_give_a_true_message():
    for name in FILTERS:
        for args in [(), *[(v,) for v in ODD], *[("'a'", v) for v in ODD]]:
            call = name + ("(" + ", ".join(args) + ")" if args else "")
            _no_crash("{% for m in messages %}{{ m.content | " + call + " }}{% endfor %}")


@pytest.mark.parametrize("expr", [
    'm.content.startswith(m.content.strip())', 'm.content.count(m.role)', '(m.role, "a").count("a")',
    'm.content | replace(m.role, "x")', 'm.content | join(m.role)', '(range(3)) | map', '(range(3)) | selectattr',
    '[m.role] | batch(2)', 'm.content | truncate(m.role)', '(namespace(a=1)).strip("a")',
])
def test_runtime_and_nested_arguments_give_a_true_message(expr):
    _no_crash("{% for m in messages %}{{ " + expr + " }}{% endfor %}")


def test_fuzz_constant_operators_give_a_true_message():
    for op in ["**", "//", "%", "/", "*", "-", "+"]:
        for a, b in itertools.product(["2", "0", "'a'", "[1]", "none", "m.role", "1.5"], repeat=2):
            _no_crash("{% for m in messages %}{{ " + a.replace("m.role", "m.role") + " " + op + " " + b +
                      " }}{% endfor %}")

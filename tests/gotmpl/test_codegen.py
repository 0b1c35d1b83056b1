"""The compiled templates (publish/gotmpl/codegen.py) against the tree-walking executor.

publish.gotmpl runs a template as Python code compiled once per template and walks the parse tree
only when that code gives up (an error, a limit coming near, a construct it leaves out). Both must
give the same bytes or the same error; test_gotmpl_go checks the result against Ollama's Go
package, this file checks that the compiled path is the one that ran, and that it agrees with the
tree walk on every differential case and on generated templates.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gotmpl_cases import CONVERSATIONS, library_templates
from publish import gotmpl
from publish.gotmpl import codegen, executor
from test_gotmpl_go import ALL_CASES, py_result


@pytest.fixture
def runs(monkeypatch):
    """Record each compiled run: True when its output was used, False when the tree was walked."""
    seen: list[bool] = []
    original = codegen.Program.run

    def run(self, name, data, deadline):
        out, timed_out = original(self, name, data, deadline)
        seen.append(out is not None)
        return out, timed_out

    monkeypatch.setattr(codegen.Program, "run", run)
    return seen


def both(monkeypatch, fn):
    """fn() through the compiled code, then through the tree walk only."""
    compiled = fn()
    monkeypatch.setattr(executor, "USE_COMPILED", False)
    try:
        walked = fn()
    finally:
        monkeypatch.setattr(executor, "USE_COMPILED", True)
    return compiled, walked


@pytest.mark.parametrize("case_id", list(ALL_CASES))
def test_compiled_equals_tree_walk_on_every_differential_case(case_id, monkeypatch):
    case = ALL_CASES[case_id]
    for version in ("v0.24.0", "v0.32.2"):
        compiled, walked = both(monkeypatch, lambda: py_result(case, version))
        assert compiled == walked


@pytest.mark.parametrize("name", sorted(library_templates()))
def test_library_templates_render_through_the_compiled_code(name, runs):
    """Ollama's templates never fall back to the tree walk: the speed comes from the compiled code."""
    text = library_templates()[name]
    for conv in CONVERSATIONS.values():
        gotmpl.render(text, conv["messages"], conv.get("tools"), think=conv.get("think", False))
    assert runs and all(runs), f"{name}: {runs.count(False)} of {len(runs)} runs fell back to the tree walk"


def test_converted_templates_render_through_the_compiled_code(runs):
    """`publish template convert` output (character loops, index/slice/len, many variables) too."""
    from jinja_corpus import load
    from publish.convert import convert

    entries = {e.name: e for e in load()}
    rendered = []
    for name in ("meta-llama-Llama-3.1-8B-Instruct.jinja", "microsoft-phi-4.jinja", "GLM-4.6.jinja"):
        e = entries[name]
        conv = convert(e.source, bos_token=e.bos_token, eos_token=e.eos_token, name=name)
        for c in CONVERSATIONS.values():
            start = len(runs)
            try:
                gotmpl.render(conv.template, c["messages"], c.get("tools"), think=conv.thinking)
            except gotmpl.TemplateError:  # a conversation the converted template refuses (raise_exception)
                continue
            rendered += runs[start:]
    assert len(rendered) >= 20 and all(rendered), \
        f"{rendered.count(False)} of {len(rendered)} runs fell back to the tree walk"


def test_errors_come_from_the_tree_walk(runs):
    """A failing run gives up and the executor reports Go's error with its position."""
    with pytest.raises(gotmpl.TemplateError) as err:
        gotmpl.parse("{{ $x := 1 }}\n{{ index .list 5 }}").execute({"list": [1, 2]})
    assert runs == [False]
    assert str(err.value) == ('template: template:2:3: executing "template" at <index .list 5>: '
                              "error calling index: index out of range: 5")


def test_a_mutated_tree_is_compiled_again():
    """Ollama appends {{ .Response }} to a template that mentions neither Messages nor Response;
    a tree changed after it ran once must not run its old compiled code."""
    t = gotmpl.parse("a{{ .x }}")
    assert t.execute({"x": 1}) == "a1"
    root = t.trees["template"].root
    root.nodes.append(root.nodes[0])
    assert t.execute({"x": 1}) == "a1a"


# Generated templates: every construct the compiler handles, mostly valid, some failing.
SAFE = ['"s"', '""', '"user"', "1", "0", "-2", "1.5", "true", "false", ".", "$", "$x", "$m", "$i",
        "$.Messages", "$.System", "$.Tools", "$.Nope", "(index $.Messages 0)", "(len $.Messages)"]
IN_RANGE = [".Role", ".Content", ".ToolCalls", ".Thinking", "(slice $.Messages $i)"]
RISKY = ["nil", ".Nope", ".Role.Deeper", "(index $.Messages 9)", "(slice $.Messages 1)"]
ARITY = {"eq": (2, 3), "ne": (2, 2), "lt": (2, 2), "le": (2, 2), "gt": (2, 2), "ge": (2, 2),
         "and": (1, 3), "or": (1, 3), "not": (1, 1), "len": (1, 1), "index": (2, 2), "slice": (1, 3),
         "print": (0, 3), "println": (0, 2), "json": (1, 1), "html": (1, 1), "js": (1, 1),
         "urlquery": (1, 1), "printf": (0, 2)}


def _atom(draw, in_range: bool) -> str:
    pool = SAFE + (IN_RANGE if in_range else []) + (RISKY if draw(st.integers(0, 9)) == 0 else [])
    return draw(st.sampled_from(pool))


INTS = ["1", "0", "-2", "$i", "(len $.Messages)", "(len $.System)"]
STRS = ['"s"', '""', '"user"', "$.System", '(print "a" 1)']
LISTS = ["$.Messages", "$.Tools", "(slice $.Messages 1)"]


def _typed_call(draw, fn: str, in_range: bool) -> str | None:
    """A call whose arguments have the types the function takes (most of the time)."""
    strs = STRS + ([".Role", ".Content"] if in_range else [])
    if fn in ("eq", "ne", "lt", "le", "gt", "ge"):
        group = draw(st.sampled_from([INTS, strs]))
        n = draw(st.integers(2, 3)) if fn == "eq" else 2
        return " ".join([fn] + [draw(st.sampled_from(group)) for _ in range(n)])
    if fn == "index":
        return f"index {draw(st.sampled_from(LISTS + strs))} {draw(st.sampled_from(['0', '1', '$i']))}"
    if fn == "slice":
        idx = draw(st.lists(st.sampled_from(["0", "1", "$i"]), max_size=2))
        return " ".join(["slice", draw(st.sampled_from(LISTS + strs))] + idx)
    if fn == "len":
        return f"len {draw(st.sampled_from(LISTS + strs))}"
    if fn == "printf":  # the width padding converted templates count with
        fmt = draw(st.sampled_from(['"%*s%s"', '"%*s"']))
        rest = [draw(st.sampled_from(strs)) for _ in range(2 if fmt == '"%*s%s"' else 1)]
        return " ".join(["printf", fmt, draw(st.sampled_from(INTS))] + rest)
    return None


def _pipeline(draw, in_range: bool) -> str:
    fn = draw(st.sampled_from(sorted(ARITY) + ["", "", ""]))
    typed = _typed_call(draw, fn, in_range) if fn and draw(st.integers(0, 4)) else None
    if typed:
        text = typed
    elif not fn:
        text = _atom(draw, in_range)
    else:
        lo, hi = ARITY[fn]
        args = [_atom(draw, in_range) for _ in range(draw(st.integers(lo, hi)))]
        if fn == "printf":
            args = [draw(st.sampled_from(['"%q"', '"%d|%s"', '"%v"', '"%T"', '"%*s%s"', '"%*s"']))] + args
        text = " ".join([fn] + args)
    if draw(st.integers(0, 3)) == 0:
        text += " | " + draw(st.sampled_from(["len", "print", "not", 'printf "%v"', "json", 'eq "user"']))
    return text


@st.composite
def templates(draw, depth=0, in_range=False) -> str:
    parts = []
    kinds = ["text", "print", "print", "decl", "assign"]
    if depth < 3:
        kinds += ["if", "with", "range", "range"]
    if in_range:
        kinds += ["brk"]
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(kinds))
        if kind == "text":
            parts.append(draw(st.sampled_from(["x", "\n", " ", "é"])))
        elif kind == "print":
            parts.append("{{ " + _pipeline(draw, in_range) + " }}")
        elif kind == "decl":
            parts.append("{{ " + draw(st.sampled_from(["$x", "$m", "$i"])) + " := " + _pipeline(draw, in_range) + " }}")
        elif kind == "assign":
            parts.append("{{ $x = " + _pipeline(draw, in_range) + " }}")
        elif kind == "brk":
            parts.append("{{ if " + _pipeline(draw, in_range) + " }}"
                         + draw(st.sampled_from(["{{ break }}", "{{ continue }}"])) + "{{ end }}")
        else:
            head, inner = kind, in_range
            if kind == "range":
                pipe = draw(st.sampled_from(["$.Messages", "3", "$.Tools", "(slice $.Messages 1)", "$.Nope"]))
                head += draw(st.sampled_from(["", " $m :=", " $x ="] + ([" $i, $m :=", " $i, $x :="] if pipe != "3" else [])))
                inner = True
            else:
                pipe = _pipeline(draw, in_range)
            body = draw(templates(depth + 1, inner))
            other = "{{ else }}" + draw(templates(depth + 1, in_range)) if draw(st.booleans()) else ""
            parts.append("{{ " + head + " " + pipe + " }}" + body + other + "{{ end }}")
    return "".join(parts)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(body=templates(), conv=st.sampled_from(sorted(CONVERSATIONS)))
def test_compiled_equals_tree_walk_on_generated_templates(body, conv):
    text = '{{ $x := "" }}{{ $m := 0 }}{{ $i := 0 }}' + body
    c = CONVERSATIONS[conv]

    def render():
        try:
            return gotmpl.render(text, c["messages"], c.get("tools"))
        except gotmpl.TemplateError as e:
            return "error: " + str(e)

    compiled = render()
    executor.USE_COMPILED = False
    try:
        walked = render()
    finally:
        executor.USE_COMPILED = True
    assert compiled == walked, text


@pytest.mark.parametrize("text", [
    "x\nraise SystemExit\n", "{{ `a\n)\nraise SystemExit #` }}", '{{ "\\"); raise SystemExit #" }}',
    "{{ .a.b }}\u2028", '{{ printf "%q" "\u2028\\nraise SystemExit" }}',
    '{{ define "x\\nraise SystemExit" }}y{{ end }}{{ template "x\\nraise SystemExit" . }}',
])
def test_template_text_is_only_data_in_the_generated_python(text, monkeypatch):
    """Templates come from strangers: their text, strings, names and fields reach the generated
    source only as Python literals."""
    t = gotmpl.parse(text)
    compiled, walked = both(monkeypatch, lambda: t.execute({"a": {"b": 1}}))
    assert compiled == walked
    program = executor._program(t.trees, t.trees["template"], executor.F.OLLAMA_FUNCS, True)
    assert program is not None
    assert not any(line.lstrip().startswith("raise SystemExit") for line in program.source.splitlines())

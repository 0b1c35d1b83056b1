"""Differential tests: publish.gotmpl against Ollama's own template package and Go's text/template.

tests/ollama_template_ref/main.go imports github.com/ollama/ollama/template (pinned twice: v0.24.0,
the server `make ollama` builds, and v0.32.2, the newest release Go 1.26 accepts), builds
template.Values as the server's /api/chat does and calls Execute; "raw" cases run plain Go
text/template in the same program. Each version's program is built once (cached by source digest)
and fed every case in one process per version.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ollama_template_ref import VERSIONS, have_go, render_real
from gotmpl_cases import (ADVERSARIAL_OLLAMA, ADVERSARIAL_RAW, CONVERSATIONS, DATA,
                          library_templates)
from publish import gotmpl
from publish.errors import TemplateError

assert have_go(), "Go 1.26 is required: the differential tests import Ollama's template package"


@pytest.fixture(scope="session", params=VERSIONS)
def go_ref(request):
    """Run cases through the reference program of one Ollama version; each result names it."""
    version = request.param
    return lambda cases: [{**r, "version": version} for r in render_real(cases, version)]


def py_result(case: dict, version: str) -> dict:
    try:
        if case.get("raw"):
            t = gotmpl.parse(case["template"])
            out = t.execute(case.get("data"), missingkey=case.get("missingkey") or "default")
        else:
            out = gotmpl.render(case["template"], case["messages"], case.get("tools"),
                                think=case.get("think", False),
                                is_think_set=case.get("is_think_set", False),
                                ollama_version=version)
        return {"output": out}
    except TemplateError as e:
        return {"output": "", "error": str(e)}


def ollama_case(template: str, conv: str) -> dict:
    c = CONVERSATIONS[conv]
    case = {"template": template, "messages": c["messages"]}
    for key in ("tools", "think", "is_think_set"):
        if key in c:
            case[key] = c[key]
    return case


LIBRARY = library_templates()
OLLAMA_CASES = {f"{t}/{c}": ollama_case(text, c) for t, text in LIBRARY.items()
                for c in CONVERSATIONS}
OLLAMA_CASES.update({f"adv:{t}/{c}": ollama_case(text, c)
                     for t, text in ADVERSARIAL_OLLAMA.items()
                     for c in ("user", "system-user-assistant-user", "consecutive-same-role",
                               "tools", "no-messages", "unicode-braces", "assistant-last",
                               "mixed-case-roles", "tool-result-last", "thinking-on",
                               "thinking-off")})
RAW_CASES = {}
for i, text in enumerate(ADVERSARIAL_RAW):
    for mk in ("zero", "default"):
        RAW_CASES[f"raw{i}-{mk}"] = {"raw": True, "template": text, "data": DATA, "missingkey": mk}
ALL_CASES = {**OLLAMA_CASES, **RAW_CASES}


@pytest.fixture(scope="module")
def go_results(go_ref) -> dict[str, dict]:
    ids = list(ALL_CASES)
    return dict(zip(ids, go_ref([ALL_CASES[i] for i in ids])))


def assert_same(case: dict, go: dict) -> None:
    py = py_result(case, go["version"])
    where = f"Ollama {go['version']}, template {case['template']!r}"
    if go.get("error"):
        assert py.get("error"), (f"{where}: Go failed ({go['error']}) but Python rendered "
                                 f"{py['output']!r}")
        return
    assert not py.get("error"), (f"{where}: Python failed ({py.get('error')}), Go rendered "
                                 f"{go['output']!r}")
    assert py["output"] == go["output"], where


@pytest.mark.parametrize("case_id", list(OLLAMA_CASES))
def test_render_matches_go(go_results, case_id):
    assert_same(OLLAMA_CASES[case_id], go_results[case_id])


@pytest.mark.parametrize("case_id", list(RAW_CASES))
def test_execute_matches_go(go_results, case_id):
    assert_same(RAW_CASES[case_id], go_results[case_id])


def test_library_templates_render_something(go_results):
    """Guard against a vacuous corpus: the library renders are real prompts, not errors."""
    ok = [i for i in OLLAMA_CASES if not i.startswith("adv:") and not go_results[i].get("error")]
    assert len(ok) >= len(LIBRARY) * len(CONVERSATIONS) - 5
    assert "<start_of_turn>model\n" in go_results["gemma3-instruct/four-turns"]["output"]


# -- random templates from a small grammar: 8 examples x 25 templates, one Go run per example -----
OPERANDS = [".s", ".e", ".n", ".neg", ".f", ".z", ".b", ".no", ".list", ".strs", ".empty", ".map",
            ".nested.m", ".nested.m.k", ".missing", ".nil", "$", ".", "1", "0", "2.5", "-3",
            "\"str\"", "\"\"", "'x'", "true", "false", "`raw`", "$v"]
FUNCS1 = ["len", "not", "print", "html", "js", "urlquery", "json", "println"]
FUNCS2 = ["eq", "ne", "lt", "le", "gt", "ge", "and", "or", "index", "print"]
VERBS = ["%v", "%d", "%s", "%q", "%x", "%5.2f", "%-4v", "%t", "%03d", "%.1s", "%%", "%T"]
TEXTS = ["", "a", " ", "\n", "  x  ", "\t", "é", "{", "}"]


def _expr(depth):
    operand = st.sampled_from(OPERANDS)
    if depth <= 0:
        return operand
    sub = _expr(depth - 1)
    return st.one_of(
        operand,
        st.builds(lambda f, a: f"{f} {a}", st.sampled_from(FUNCS1), sub),
        st.builds(lambda f, a, b: f"{f} {a} {b}", st.sampled_from(FUNCS2), sub, sub),
        st.builds(lambda v, a: f"printf \"{v}\" {a}", st.sampled_from(VERBS), sub),
        st.builds(lambda a: f"slice .s {a}", st.sampled_from(["0", "1", "2", "1 3", ".n"])),
        st.builds(lambda a: f"({a})", sub),
        st.builds(lambda a, f: f"{a} | {f}", sub, st.sampled_from(["len", "print", "printf \"%v\""])),
    )


def _delim(body: str, lt: bool, rt: bool) -> str:
    return "{{" + ("- " if lt else " ") + body + (" -" if rt else " ") + "}}"


def _node(depth):
    text = st.sampled_from(TEXTS)
    action = st.builds(_delim, _expr(1), st.booleans(), st.booleans())
    if depth <= 0:
        return st.one_of(text, action)
    body = st.lists(_node(depth - 1), max_size=3).map("".join)
    cond = _expr(1) if depth > 1 else st.sampled_from(OPERANDS)
    trims = st.tuples(st.booleans(), st.booleans())
    return st.one_of(
        text, action,
        st.builds(lambda c, a, b, t: _delim(f"if {c}", *t) + a + "{{ else }}" + b + "{{ end }}",
                  cond, body, body, trims),
        st.builds(lambda c, a, t: _delim(f"with {c}", *t) + a + _delim("end", *t), cond, body, trims),
        st.builds(lambda c, a, b, ctl: "{{ range $i, $v := " + c + " }}" + a
                  + "{{ if eq $i 1 }}{{ " + ctl + " }}{{ end }}" + b + "{{ else }}E{{ end }}",
                  st.sampled_from([".list", ".strs", ".map", ".empty", ".nil", ".s"]), body, body,
                  st.sampled_from(["break", "continue"])),
        st.builds(lambda e, a: "{{ $v := " + e + " }}" + a + "{{ $v = 1 }}{{ $v }}", cond, body),
        st.builds(lambda a: "{{/* c */}}" + a, body),
        st.builds(lambda e, t: _delim(f'template "d" {e}', *t), cond, trims),
    )


DEFINE = st.lists(_node(0), max_size=2).map(lambda b: '{{ define "d" }}[' + "".join(b) + "]{{ end }}")
TEMPLATE = st.builds(lambda d, parts: d + "{{ $v := 0 }}" + "".join(parts), DEFINE,
                     st.lists(_node(2), min_size=1, max_size=3))


@settings(max_examples=8, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(TEMPLATE, st.sampled_from(["zero", "default"])), min_size=25,
                max_size=25))
def test_random_templates_match_go(go_ref, templates):
    cases = [{"raw": True, "template": t, "data": DATA, "missingkey": mk} for t, mk in templates]
    for case, go in zip(cases, go_ref(cases)):
        assert_same(case, go)


ROLES = st.sampled_from(["system", "user", "assistant", "tool"])
CONTENT = st.sampled_from(["", "hi", "  padded\n", "{{ .Prompt }}", "é 世界 🎉", "<b>&'\"", "a\n\nb"])
ARGS = st.dictionaries(st.sampled_from(["x", "city", "n", "<k>"]),
                       st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=False,
                                 allow_infinity=False, width=32), st.booleans(), st.none(),
                                 CONTENT), max_size=3)
MESSAGE = st.builds(
    lambda role, content, calls, thinking: {
        "role": role, "content": content, **({"thinking": thinking} if thinking else {}),
        **({"tool_calls": [{"function": {"name": "get_weather", "arguments": a}} for a in calls]}
           if calls and role == "assistant" else {}),
        **({"tool_name": "get_weather"} if role == "tool" else {})},
    ROLES, CONTENT, st.lists(ARGS, max_size=2), st.sampled_from(["", "hmm"]))
CONVERSATION = st.tuples(st.lists(MESSAGE, max_size=6), st.booleans())


@settings(max_examples=3, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(st.lists(CONVERSATION, min_size=8, max_size=8))
def test_random_conversations_match_go(go_ref, conversations):
    """Every library template x random conversations (roles in any order, tool calls)."""
    tools = CONVERSATIONS["tools"]["tools"]
    cases = [{"template": text, "messages": msgs, **({"tools": tools} if with_tools else {})}
             for text in LIBRARY.values() for msgs, with_tools in conversations]
    for case, go in zip(cases, go_ref(cases)):
        assert_same(case, go)


def test_printf_verbs_flags_width_precision_match_go(go_ref):
    """A fixed sample of printf verb x flag x width x precision x value, in one Go run."""
    import random
    rng = random.Random(7)
    values = [".s", ".e", ".n", ".neg", ".f", ".big", ".small", ".million", ".third", ".intf",
              ".z", ".b", ".list", ".strs", ".empty", ".map", ".nil", ".missing", "'x'", "-0.0",
              "1e300", "\"a\\tb\\u0001é\""]
    cases = []
    while len(cases) < 600:
        flags = rng.choice(["", "-", "+", " ", "0", "#", "-0", "+0"])
        verb = rng.choice("vdsqxXfeEgGtcobU")
        fmt = "%" + flags + rng.choice(["", "1", "5", "12"]) + rng.choice(["", ".0", ".1", ".3"]) + verb
        cases.append({"raw": True, "template": "{{ printf %s %s }}" % (json.dumps(fmt), rng.choice(values)),
                      "data": DATA, "missingkey": "zero"})
    for case, go in zip(cases, go_ref(cases)):
        assert_same(case, go)

"""Go-template rendering speed: publish.gotmpl against compiled jinja2 building the same prompt.

For each case, Ollama's library template (tests/data/gotmpl) renders a conversation through
publish.gotmpl.render (parsed and compiled once, cached by text; the render includes building the
data the template sees: collating the messages into Ollama's message structs and converting the
tools), and the anchor is the same template logic written in Jinja, compiled once by jinja2 and
rendered from the same messages in this run. The script asserts both engines build the same
prompt byte for byte before timing anything.

- gemma3: 4-turn conversation with a system prompt;
- qwen2.5 with 2 tools and 2 tool calls (JSON of tool definitions and call arguments; the Jinja side
  uses jinja2's own `tojson` filter, set to Go's separators);
- phi-3: Ollama's legacy .System/.Prompt/.Response loop (one run per exchange), 4 turns.

Target (issue 10): every case at most 1.5x its jinja2 anchor. Exits 1 when one is missed.
Timings are the best of 60 interleaved batches of about 1 ms (both engines alternate, so load hits both); the load
average is printed with the result because the machine is shared.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import jinja2  # noqa: E402
from timing import interleaved, load_line  # noqa: E402

from gotmpl_cases import CONVERSATIONS, library_templates  # noqa: E402
from publish import gotmpl  # noqa: E402

TARGET = 1.5

GEMMA_JINJA = (
    "{%- for m in messages -%}"
    "{%- if m.role == 'user' -%}<start_of_turn>user\n"
    "{%- if loop.index0 == 1 and system %}\n{{ system }}{% endif %}\n{{ m.content }}<end_of_turn>\n"
    "{% elif m.role == 'assistant' %}<start_of_turn>model\n{{ m.content }}<end_of_turn>\n{% endif -%}"
    "{%- if loop.last %}<start_of_turn>model\n{% endif -%}"
    "{%- endfor -%}"
    "{{ '\\n' }}"  # the Ollama file ends with a newline after its last action
)

# Ollama's qwen2.5 template, action for action, in Jinja. Ollama v0.24.0 prints `{{ .Function }}`
# in Go's struct form (templateToolFunction has no String method; its properties map prints as
# JSON, keys sorted).
QWEN_JINJA = """\
{%- if system or tools %}<|im_start|>system
{%- if system %}
{{ system }}
{%- endif %}
{%- if tools %}

# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{%- for t in tools %}
{%- set f = t.function %}
{"type": "function", "function": {{ "{" }}{{ f.name }} {{ f.description }} {{ "{" }}{{ f.parameters.type }} <nil> <nil> [{{ f.parameters.required | join(" ") }}] {{ f.parameters.properties | tojson }}{{ "}}}" }}
{%- endfor %}
</tools>

For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:
<tool_call>
{"name": <function-name>, "arguments": <args-json-object>}
</tool_call>
{%- endif %}<|im_end|>
{% endif %}
{%- for m in messages %}
{%- set last = loop.last -%}
{%- if m.role == "user" %}<|im_start|>user
{{ m.content }}<|im_end|>
{% elif m.role == "assistant" %}<|im_start|>assistant
{% if m.content %}{{ m.content }}
{%- elif m.tool_calls %}<tool_call>
{% for c in m.tool_calls %}{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}
{% endfor %}</tool_call>
{%- endif %}{% if not last %}<|im_end|>
{% endif %}
{%- elif m.role == "tool" %}<|im_start|>user
<tool_response>
{{ m.content }}
</tool_response><|im_end|>
{% endif %}
{%- if m.role != "assistant" and last %}<|im_start|>assistant
{% endif %}
{%- endfor %}"""

PHI3_JINJA = (
    "{% for m in messages %}"
    "{% if m.role == 'system' %}<|system|>\n{{ m.content }}<|end|>\n"
    "{% elif m.role == 'user' %}<|user|>\n{{ m.content }}<|end|>\n<|assistant|>\n"
    "{% elif m.role == 'assistant' %}{{ m.content }}<|end|>{% endif %}"
    "{% endfor %}"
)


def go_ordered_tools() -> list[dict]:
    """The tools of CONVERSATIONS["tools"] with each object's keys in the order Go marshals them
    (struct fields in declaration order, maps sorted): jinja2's tojson then writes the same JSON
    as Ollama's template package."""
    weather = {"name": "get_weather", "description": "Get the weather <now> & later", "parameters": {
        "type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": ["integer", "null"], "description": "How many days"},
            "unit": {"type": "string", "description": "Unit", "enum": ["c", "f"]}}}}
    add = {"name": "add", "description": "Add numbers", "parameters": {"type": "object", "properties": {
        "a": {"type": "number"}, "b": {"type": "number"},
        "xs": {"type": "array", "items": {"type": "integer"}}}}}
    return [{"type": "function", "function": weather}, {"type": "function", "function": add}]


def sorted_maps(v):
    """Go marshals a map with its keys sorted."""
    if isinstance(v, dict):
        return {k: sorted_maps(v[k]) for k in sorted(v)}
    if isinstance(v, list):
        return [sorted_maps(x) for x in v]
    return v


def main() -> int:
    templates = library_templates()
    conv = CONVERSATIONS["four-turns"]["messages"]
    tools = CONVERSATIONS["tools"]
    system = "\n\n".join(m["content"] for m in conv if m["role"] == "system")
    tool_system = "\n\n".join(m["content"] for m in tools["messages"] if m["role"] == "system")

    env = jinja2.Environment()
    env.policies["json.dumps_kwargs"] = {"sort_keys": False, "separators": (",", ":"), "ensure_ascii": False}
    tool_msgs = [dict(m, tool_calls=[{"function": {"name": c["function"]["name"], "arguments": sorted_maps(
        c["function"]["arguments"])}} for c in m["tool_calls"]]) if m.get("tool_calls") else m
                 for m in tools["messages"]]
    go_tools = go_ordered_tools()

    cases = [
        ("gemma3, 4 turns + system", lambda: gotmpl.render(templates["gemma3-instruct"], conv),
         env.from_string(GEMMA_JINJA), dict(messages=conv, system=system)),
        ("qwen2.5, 2 tools + 2 tool calls",
         lambda: gotmpl.render(templates["qwen2.5"], tools["messages"], tools["tools"]),
         env.from_string(QWEN_JINJA), dict(messages=tool_msgs, system=tool_system, tools=go_tools)),
        ("phi-3 legacy .Prompt loop, 4 turns", lambda: gotmpl.render(templates["phi-3"], conv),
         env.from_string(PHI3_JINJA), dict(messages=conv)),
    ]
    for name, go, jinja, kwargs in cases:
        want, got = jinja.render(**kwargs), go()
        assert want == got, f"{name}: the anchor must build the same prompt:\n{want!r}\n{got!r}"

    print(load_line())
    print(f"{'case':38} {'publish.gotmpl':>15} {'jinja2':>10} {'ratio':>7}")
    failed = []
    for name, go, jinja, kwargs in cases:
        t = interleaved({"go": go, "jinja": lambda: jinja.render(**kwargs)})
        ratio = t["go"] / t["jinja"]
        miss = ratio > TARGET
        if miss:
            failed.append(name)
        print(f"{name:38} {t['go'] * 1e6:12.1f} us {t['jinja'] * 1e6:7.1f} us {ratio:6.2f}x"
              + ("  MISSED" if miss else ""))
    text = templates["gemma3-instruct"]
    t0 = time.perf_counter()
    gotmpl.parse(text)
    print(f"{'parse of the gemma3 template (uncached)':38} {(time.perf_counter() - t0) * 1e6:12.1f} us")
    if failed:
        print(f"FAIL: above {TARGET}x compiled jinja2: {', '.join(failed)}")
        return 1
    print(f"OK: every case at most {TARGET}x compiled jinja2")
    return 0


if __name__ == "__main__":
    sys.exit(main())

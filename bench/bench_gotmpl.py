"""Go-template rendering speed, as ratios against an anchor measured in this run.

Renders Ollama's gemma3 template (tests/data/gotmpl) for a 4-turn conversation with a system
prompt through publish.gotmpl.render (parsed once, cached), and, as the anchor, the equivalent
Jinja template (Gemma's own chat-template logic) through a compiled jinja2.Template on the same
messages. Also reports the legacy .Prompt/.Response path (phi-3) and a tool-calling template
(qwen2.5) for scale.

Target: one render of the Gemma template well under 1 ms. Exits 1 if any render takes >= 1 ms.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import jinja2  # noqa: E402

from gotmpl_cases import CONVERSATIONS, library_templates  # noqa: E402
from publish import gotmpl  # noqa: E402

LIMIT_S = 1e-3

GEMMA_JINJA = (
    "{%- for m in messages -%}"
    "{%- if m.role == 'user' -%}<start_of_turn>user\n"
    "{%- if loop.index0 == 1 and system %}\n{{ system }}{% endif %}\n{{ m.content }}<end_of_turn>\n"
    "{% elif m.role == 'assistant' %}<start_of_turn>model\n{{ m.content }}<end_of_turn>\n{% endif -%}"
    "{%- if loop.last %}<start_of_turn>model\n{% endif -%}"
    "{%- endfor -%}"
    "{{ '\\n' }}"  # the Ollama file ends with a newline after its last action
)


def best_of(fn, rounds: int = 7, number: int = 300) -> float:
    """Best mean time per call over `rounds` batches of `number` calls."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def main() -> int:
    templates = library_templates()
    conv = CONVERSATIONS["four-turns"]["messages"]
    tools = CONVERSATIONS["tools"]
    gemma = templates["gemma3-instruct"]

    # Same prompt from both engines: collated messages, system folded in as Ollama does.
    jinja = jinja2.Template(GEMMA_JINJA)
    system = "\n\n".join(m["content"] for m in conv if m["role"] == "system")
    collated = conv  # no consecutive same-role messages in this conversation
    assert jinja.render(messages=collated, system=system) == gotmpl.render(gemma, conv), \
        "anchor and measured template must build the same prompt"

    go_gemma = best_of(lambda: gotmpl.render(gemma, conv))
    anchor = best_of(lambda: jinja.render(messages=collated, system=system))
    go_legacy = best_of(lambda: gotmpl.render(templates["phi-3"], conv))
    go_tools = best_of(lambda: gotmpl.render(templates["qwen2.5"], tools["messages"],
                                             tools["tools"]), number=100)
    t0 = time.perf_counter()
    gotmpl.parse(gemma)
    parse_once = time.perf_counter() - t0

    rows = [
        ("gemma3 4-turn render (publish.gotmpl)", go_gemma),
        ("same prompt, compiled jinja2 (anchor)", anchor),
        ("phi-3 legacy loop, 4 turns", go_legacy),
        ("qwen2.5 with 2 tools + tool calls", go_tools),
    ]
    for name, t in rows:
        print(f"{name:42s} {t * 1e6:8.1f} us   {t / anchor:5.2f}x anchor")
    print(f"{'parse of the gemma3 template (uncached)':42s} {parse_once * 1e6:8.1f} us")
    worst = max(t for name, t in rows if "anchor" not in name)
    if worst >= LIMIT_S:
        print(f"FAIL: a render took {worst * 1e3:.2f} ms (target < 1 ms)")
        return 1
    print(f"OK: every render under 1 ms; gemma3 render = {go_gemma / anchor:.2f}x jinja2")
    return 0


if __name__ == "__main__":
    sys.exit(main())

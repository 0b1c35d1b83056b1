"""`publish template convert` speed, against anchors measured in this run.

- conversion + proof of one template (compile the Jinja AST, render the 13-case suite with the
  sandboxed Jinja template and with publish.gotmpl, compare): target < 1 s each; anchor: one
  sandboxed render batch of the same suite (the proof cannot be cheaper than rendering it);
- a converted template rendering a 4-turn conversation (system + user/assistant/user/assistant/user)
  in Ollama's own Go template package (tests/ollama_template_ref, timed in Go over many renders):
  target < 1 ms; anchor: the model's Jinja template compiled once by jinja2 and rendered in process.
  publish.gotmpl's Python render time is printed for scale.

Exits non-zero when a target is missed. Needs the Go toolchain (the reference is built once).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import jinja2  # noqa: E402

from jinja_corpus import load  # noqa: E402
from ollama_template_ref import render_real  # noqa: E402
from publish import gotmpl, templatecheck  # noqa: E402
from publish.chat import RenderCall, ChatTemplate  # noqa: E402
from publish.convert import convert  # noqa: E402

NAMES = ["meta-llama-Llama-3.1-8B-Instruct.jinja", "Qwen-Qwen2.5-7B-Instruct.jinja", "google-gemma-3-it.jinja",
         "microsoft-phi-4.jinja", "mistralai-Mistral-Large-Instruct-2407.jinja", "gguf-ollama-qwen3-0.6b.jinja",
         "GLM-4.6.jinja", "gguf-ollama-deepseek-r1-8b.jinja"]
FOUR_TURNS = [{"role": "system", "content": "You are a helpful assistant."},
              {"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi! How can I help?"},
              {"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "4."},
              {"role": "user", "content": "And 3+3?"}, {"role": "assistant", "content": "6."},
              {"role": "user", "content": "Thanks. And 4+4?"}]


def best_of(fn, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> int:
    entries = {e.name: e for e in load()}
    failed = False
    print(f"{'template':48} {'convert+proof':>13} {'/suite':>7} {'Go render':>10} {'/jinja2':>8} {'gotmpl.py':>10}")
    for name in NAMES:
        e = entries[name]
        chat = ChatTemplate(e.source, bos_token=e.bos_token, eos_token=e.eos_token)
        calls = [RenderCall(templatecheck.jinja_messages(c.messages), tools=c.tools) for c in templatecheck.CONVERT_SUITE]
        suite = best_of(lambda: chat.render_many(calls), 3)
        conv_s = best_of(lambda: convert(e.source, bos_token=e.bos_token, eos_token=e.eos_token, name=name), 3)
        conv = convert(e.source, bos_token=e.bos_token, eos_token=e.eos_token, name=name)
        [real] = render_real([{"template": conv.template, "messages": FOUR_TURNS, "repeat": 2000,
                               "think": conv.thinking}])
        go_ms = real["ns_per_render"] / 1e6
        env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
        env.globals["raise_exception"] = lambda m="": (_ for _ in ()).throw(RuntimeError(m))
        compiled = env.from_string(e.source)
        jinja_s = best_of(lambda: compiled.render(messages=FOUR_TURNS, add_generation_prompt=True,
                                                  bos_token=e.bos_token, eos_token=e.eos_token, tools=None), 200)
        py_s = best_of(lambda: gotmpl.render(conv.template, FOUR_TURNS, think=conv.thinking), 20)
        miss = conv_s >= 1.0 or go_ms >= 1.0
        failed |= miss
        print(f"{name[:48]:48} {conv_s:12.3f}s {conv_s / suite:6.1f}x {go_ms:9.3f}ms {go_ms / 1e3 / jinja_s:7.2f}x "
              f"{py_s * 1e3:8.2f}ms" + ("  MISSED" if miss else ""))
    print("targets: convert+proof < 1 s per template; a 4-turn render in Ollama's Go template package < 1 ms")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

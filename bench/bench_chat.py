"""Sandboxed Jinja rendering cost, as ratios against anchors measured in this run.

- one sandboxed render (forked child with limits) vs a bare fork + wait of a no-op child:
  the sandbox should cost little beyond the fork itself;
- the whole parity-check suite (5 conversations + trim probes, one batch) vs one sandboxed
  render: batching should make the suite cost about one render, not seven;
- for scale: one sandboxed render vs the same template rendered in-process without bounds.

Exits non-zero when a target is missed.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jinja2.sandbox import ImmutableSandboxedEnvironment  # noqa: E402

from publish.chat import ChatTemplate  # noqa: E402
from publish.templatecheck import STANDARD_SUITE, render_jinja_suite  # noqa: E402

SOURCE = re.sub(r"\A\{#- source:.*?-#\}\n", "",
                (ROOT / "tests/data/jinja/google-gemma-3n-it.jinja").read_text(encoding="utf-8"), flags=re.S)
MESSAGES = STANDARD_SUITE[3].messages  # system + user/assistant/user


def best(fn, n: int = 40) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bare_fork() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def main() -> int:
    chat = ChatTemplate(SOURCE, bos_token="<bos>")
    plain = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(SOURCE)
    fork = best(bare_fork)
    one = best(lambda: chat.render(MESSAGES))
    suite = best(lambda: render_jinja_suite(chat))
    inproc = best(lambda: plain.render(messages=MESSAGES, bos_token="<bos>", add_generation_prompt=True), 200)
    results = [
        ("sandboxed render / bare fork", one / fork, 4.0),
        ("whole check suite / one sandboxed render", suite / one, 2.0),
        ("sandboxed render / unbounded in-process render", one / inproc, None),
    ]
    failed = False
    for name, ratio, target in results:
        verdict = "" if target is None else ("ok" if ratio <= target else "MISSED")
        failed |= verdict == "MISSED"
        goal = "" if target is None else f" (target <= {target:g})"
        print(f"{name}: {ratio:.2f}{goal} {verdict}".rstrip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

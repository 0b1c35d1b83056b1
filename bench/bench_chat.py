"""Sandboxed Jinja rendering cost, as ratios against anchors measured in this run.

- one sandboxed render (forked child with limits) vs a bare fork + wait of a no-op child:
  the sandbox should cost little beyond the fork itself;
- the whole parity-check suite (5 conversations + 4 trim probes, one batch) vs one sandboxed
  render: batching should keep the suite near one render (at most 3), not nine;
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


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def interleaved(fns: dict, rounds: int = 60) -> dict[str, float]:
    """Best time of each function, measured in turn within every round so that load from other
    processes hits anchor and measurement alike."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            best[name] = min(best[name], timed(fn))
    return best


def bare_fork() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def main() -> int:
    chat = ChatTemplate(SOURCE, bos_token="<bos>")
    plain = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(SOURCE)
    t = interleaved({
        "fork": bare_fork,
        "one": lambda: chat.render(MESSAGES),
        "suite": lambda: render_jinja_suite(chat),
        "inproc": lambda: plain.render(messages=MESSAGES, bos_token="<bos>", add_generation_prompt=True),
    })
    fork, one, suite, inproc = t["fork"], t["one"], t["suite"], t["inproc"]
    results = [
        ("sandboxed render / bare fork", one / fork, 4.0),
        ("whole check suite / one sandboxed render", suite / one, 3.0),
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

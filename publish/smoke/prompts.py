"""The prompts a smoke run sends to every quant, and the prompts file format.

Default set (`DEFAULT_PROMPTS`):

- `one-plus-one`: "What is 1+1?" expecting `2` -- the guide's example.
- `system-prompt`: a system message carries a fact the model cannot guess ("The secret number is
  2"); the user asks for it. Two things are checked: the system text must appear in the prompt
  the engine rendered (catches a template that drops the system prompt, on any model, including
  a tiny test model that answers "2" to everything), and the answer must contain `2` (with a real
  model that only happens when the system prompt reached it).
- `two-turn`: user / assistant / user. The rendered prompt must carry the earlier turns, and the
  final answer must still match.

Prompts file (`--prompts FILE`), TOML or JSON by extension (`.toml`, otherwise JSON):

    # prompts.toml
    [[prompt]]
    name = "capital"                 # optional; defaults to prompt-N
    prompt = "What is the capital of France?"
    expect = "(?i)paris"             # Python regex, searched in the answer
    system = "Answer in one word."   # optional system message

    [[prompt]]
    name = "follow-up"
    expect = "4"
    messages = [                     # instead of `prompt`: a whole conversation
      { role = "user", content = "What is 2+2?" },
      { role = "assistant", content = "4" },
      { role = "user", content = "Say it again." },
    ]

    [[prompt]]                       # a COMPLETION prompt (base models): the text goes to the
    name = "capital"                 # model as is (Ollama: /api/generate; the release's template
    completion = "Question: What is the capital of Japan?\nAnswer:"   # is `{{ .Prompt }}`)
    expect = "^ ?Tokyo"

JSON: `{"prompt": [ {...}, ... ]}` or a bare list of the same objects. The same tables can sit in
a release spec as `[[smoke.prompt]]` (publish.spec).

A base release (publish.modelkind) is smoked with `DEFAULT_COMPLETIONS` unless prompts are given.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from publish.errors import UsageError
from publish.fsutil import read_utf8

ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class Prompt:
    """One smoke prompt: a `name`, the conversation (`messages`, a system message first if any; for
    a `completion`, one user message sent as a raw prompt) and `expect`, a regular expression
    searched in the answer."""
    name: str
    messages: tuple[dict, ...]        # the conversation; a system message, if any, comes first
    expect: str                       # regex searched in the answer
    completion: bool = False          # True: messages is one user message, sent as a raw prompt

    @property
    def text(self) -> str:
        """The prompt of a completion (the last message's content)."""
        return self.messages[-1]["content"]

    @property
    def system(self) -> str | None:
        """The system message's content, None when the conversation has none."""
        if self.messages and self.messages[0]["role"] == "system":
            return self.messages[0]["content"]
        return None

    @property
    def pattern(self) -> re.Pattern:
        """`expect` compiled (re.search semantics)."""
        return re.compile(self.expect)

    def to_dict(self) -> dict:
        """The prompt as a prompts-file entry (`completion` or `messages`, with `expect`) for the
        JSON report."""
        if self.completion:
            return {"name": self.name, "completion": self.text, "expect": self.expect}
        return {"name": self.name, "messages": [dict(m) for m in self.messages], "expect": self.expect}


def _user(text: str) -> dict:
    return {"role": "user", "content": text}


DEFAULT_PROMPTS: tuple[Prompt, ...] = (
    Prompt("one-plus-one", (_user("What is 1+1?"),), "2"),
    Prompt(
        "system-prompt",
        (
            {"role": "system", "content": "The secret number is 2. When asked for the secret number, "
                                          "reply with the number only."},
            _user("What is the secret number?"),
        ),
        "2",
    ),
    Prompt(
        "two-turn",
        (
            _user("What is 1+1?"),
            {"role": "assistant", "content": "2"},
            _user("Repeat your last answer, the number only."),
        ),
        "2",
    ),
)


def completion(name: str, text: str, expect: str) -> Prompt:
    """A completion prompt (a base model's): `text` sent as a raw prompt, `expect` a regular
    expression for the answer."""
    return Prompt(name, (_user(text),), expect, completion=True)


# What a base model (greedy) continues; checked on Gemma 3 270M base (Q4_K_M) through llama.cpp
# and Ollama v0.24.0. Anchored at the start: the answer must be the continuation, not a later line.
DEFAULT_COMPLETIONS: tuple[Prompt, ...] = (
    completion("capital-japan", "Question: What is the capital of Japan?\nAnswer:", r"^\s*Tokyo\b"),
    completion("capital-france", "Question: What is the capital of France?\nAnswer:", r"^\s*Paris\b"),
)


def default_prompts(base: bool) -> tuple[Prompt, ...]:
    """The built-in prompts: completions for a base model, chat prompts otherwise."""
    return DEFAULT_COMPLETIONS if base else DEFAULT_PROMPTS


def prompts_from_pairs(texts: list[str] | tuple[str, ...], expects: list[str] | tuple[str, ...]) -> list[Prompt]:
    """`--prompt TEXT --expect REGEX`, repeated: the N-th --expect belongs to the N-th --prompt.
    Raises UsageError when the counts differ or an --expect is not a valid regular expression."""
    if len(texts) != len(expects):
        raise UsageError(
            f"got {len(texts)} --prompt and {len(expects)} --expect options",
            hint="give one --expect REGEX after each --prompt TEXT",
        )
    out = []
    for i, (text, expect) in enumerate(zip(texts, expects), 1):
        _compile(expect, f"--expect #{i}")
        out.append(Prompt(f"prompt-{i}", (_user(text),), expect))
    return out


# The hint of a malformed prompt: the format itself, since an installed publish has no source tree
# to point at (the docs page is "publish smoke", docs/smoke.md; the spec's [[smoke.prompt]] too).
FORMAT_HINT = ('each prompt has `expect` (a regex searched in the answer) and one of `prompt` (text), `messages` '
               '(a list of {role, content}) or `completion` (raw text, base models), optionally `name` and '
               '`system`; in TOML: [[prompt]] prompt = "What is 2+2?" expect = "4" (docs: the publish smoke page)')


def load_prompts(path: str | Path) -> list[Prompt]:
    """Read a prompts file (format in the module docstring). Raises UsageError (TextFileError
    for a file that cannot be read or is not UTF-8) naming the file, and the entry or line:col."""
    path = Path(path)
    text = read_utf8(path, hint="save the prompts file as UTF-8")
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise UsageError(f"{path}: not valid TOML: {err}", hint="fix the TOML syntax at that line") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise UsageError(f"{path}:{err.lineno}:{err.colno}: not valid JSON: {err.msg}",
                             hint="fix the JSON at that line:column") from None
    entries = data.get("prompt", data.get("prompts")) if isinstance(data, dict) else data
    return parse_prompt_entries(entries, f"{path}: prompt")


def parse_prompt_entries(entries, where: str) -> list[Prompt]:
    """Prompt tables (the prompts-file format) -> Prompts; `where` prefixes messages ("FILE:
    prompt"). Raises UsageError naming the entry for a malformed one."""
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"{where}: expected a non-empty list of prompts",
                         hint=FORMAT_HINT)
    return [_entry(f"{where} #{i}", e) for i, e in enumerate(entries, 1)]


def _entry(where: str, entry) -> Prompt:
    index = where.rsplit("#", 1)[-1]
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected a table/object with `prompt`, `messages` or `completion` and `expect`",
                         hint=FORMAT_HINT)
    unknown = set(entry) - {"name", "prompt", "messages", "completion", "expect", "system"}
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                         hint="allowed: name, prompt, messages, completion, system, expect")
    expect = entry.get("expect")
    if not isinstance(expect, str):
        raise UsageError(f"{where}: `expect` (a regex string) is required", hint=FORMAT_HINT)
    _compile(expect, f"{where}: expect")
    given = [k for k in ("prompt", "messages", "completion") if k in entry]
    if len(given) != 1:
        raise UsageError(f"{where}: give exactly one of `prompt` (text), `messages` (a list) or "
                         "`completion` (raw text for a base model)", hint=FORMAT_HINT)
    name = str(entry.get("name") or f"prompt-{index}")
    if "completion" in entry:
        if not isinstance(entry["completion"], str) or not entry["completion"]:
            raise UsageError(f"{where}: `completion` must be a non-empty string")
        if "system" in entry:
            raise UsageError(f"{where}: a completion has no system message; put the text in `completion`")
        return completion(name, entry["completion"], expect)
    if "prompt" in entry:
        if not isinstance(entry["prompt"], str):
            raise UsageError(f"{where}: `prompt` must be a string")
        messages = [_user(entry["prompt"])]
    else:
        messages = entry["messages"]
        if not isinstance(messages, list) or not messages:
            raise UsageError(f"{where}: `messages` must be a non-empty list")
        for j, m in enumerate(messages, 1):
            if (not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str)
                    or set(m) - {"role", "content"}):
                raise UsageError(f"{where}: message #{j} must be {{role, content}} with role one of {', '.join(ROLES)}")
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        if messages[-1]["role"] != "user":
            raise UsageError(f"{where}: the last message must be from the user")
    system = entry.get("system")
    if system is not None:
        if not isinstance(system, str):
            raise UsageError(f"{where}: `system` must be a string")
        if messages[0]["role"] == "system":
            raise UsageError(f"{where}: give the system prompt either as `system` or as the first message, not both")
        messages = [{"role": "system", "content": system}, *messages]
    return Prompt(name, tuple(messages), expect)


def _compile(expect: str, where: str) -> None:
    try:
        re.compile(expect)
    except re.error as err:
        raise UsageError(f"{where}: invalid regex {expect!r}: {err}") from None


# -- conversations -> prompt text ----------------------------------------------------------------

def ollama_messages(messages, system: str | None) -> list[dict]:
    """The messages Ollama renders: the model's SYSTEM goes first unless the conversation brings
    its own system message (server/routes.go ChatHandler, Ollama v0.24.0)."""
    msgs = [dict(m) for m in messages]
    if system and (not msgs or msgs[0]["role"] != "system"):
        msgs.insert(0, {"role": "system", "content": system})
    return msgs


def render_go(template: str, messages: list[dict]) -> str:
    """The prompt Ollama builds from its Go template for these (already system-merged) messages."""
    from publish import gotmpl

    return gotmpl.render(template, messages)

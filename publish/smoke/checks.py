"""The checks run on every quant × prompt. Each returns a `Check`; none raises.

A check the engine cannot support (no rendered prompt, no `show`, no token ids) is SKIPPED with
the reason, never passed.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import Enum

from publish.smoke.base import ChatResult, ShowResult
from publish.smoke.prompts import Prompt

# Control tokens of the common chat families; the GGUF's own control tokens are added per quant.
KNOWN_SPECIAL_TOKENS = (
    "<end_of_turn>", "<start_of_turn>", "<|im_end|>", "<|im_start|>", "<|eot_id|>",
    "<|start_header_id|>", "<|end_header_id|>", "<|end|>", "<|endoftext|>", "<|user|>",
    "<|assistant|>", "</s>", "<eos>", "<|return|>", "<|channel|>",
)


class Status(str, Enum):
    """A check's verdict: pass, warn (passed, with something worth a look), skip (this engine cannot
    tell), fail."""
    PASS = "pass"
    WARN = "warn"     # passed, with something worth a look
    SKIP = "skip"     # could not be checked with this engine
    FAIL = "fail"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Check:
    """One named check on one answer or prompt: `status` and a one-line `message` (the reason, for
    skip/warn/fail)."""
    name: str
    status: Status
    message: str = ""

    def to_dict(self) -> dict:
        """`{"name", "status", "message"}` for the JSON report."""
        return {"name": self.name, "status": self.status.value, "message": self.message}


def passed(name: str, message: str = "") -> Check:
    """A passing Check, with an optional note."""
    return Check(name, Status.PASS, message)


def failed(name: str, message: str) -> Check:
    """A failing Check with its reason."""
    return Check(name, Status.FAIL, message)


def skipped(name: str, reason: str) -> Check:
    """A skipped Check with why it could not be checked."""
    return Check(name, Status.SKIP, reason)


def warned(name: str, message: str) -> Check:
    """A warning Check (passed, with something worth a look)."""
    return Check(name, Status.WARN, message)


def _short(text: str, limit: int = 80) -> str:
    text = text if len(text) <= limit else text[:limit] + "…"
    return repr(text)


# -- answer ------------------------------------------------------------------------------------

def answer_line(text: str) -> str:
    """The part of an answer the answer check reads: its first non-empty line, stripped."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _edge_ok(line: str, start: int, end: int) -> bool:
    """A match is a whole word or a whole number: an alphanumeric first/last character of the
    match has no letter or digit next to it, and a digit has no `.5`/`,5`-style continuation
    (so `2` is not found in `2.5.0.1`, `12` or `1.2`, but is in `2.` or `(2)`)."""
    if start == end:
        return True
    first, last = line[start], line[end - 1]
    before = line[start - 1] if start > 0 else ""
    after = line[end] if end < len(line) else ""
    if first.isalnum() and before.isalnum():
        return False
    if last.isalnum() and after.isalnum():
        return False
    if first.isdigit() and before in ".," and start >= 2 and line[start - 2].isdigit():
        return False
    if last.isdigit() and after in ".," and end + 1 < len(line) and line[end + 1].isdigit():
        return False
    return True


def answer_matches(pattern: re.Pattern, text: str) -> bool:
    """The answer-check rule: `pattern` (the prompt's `expect`, a Python regex) matches in the
    first non-empty line of the answer, stripped, as a whole word or whole number (`_edge_ok`).

    A model that rambles past the answer cannot pass by a lucky substring further on (`2` was
    found in "2.5.0.1" after 128 tokens), while "2", "2.", "1+1 = 2" and "The answer is 2!"
    pass. `^`/`$` anchor at the start/end of that line."""
    line = answer_line(text)
    pos = 0
    while pos <= len(line):
        m = pattern.search(line, pos)
        if m is None:
            return False
        if _edge_ok(line, m.start(), m.end()):
            return True
        pos = m.start() + 1
    return False


def check_answer(prompt: Prompt, result: ChatResult, name: str = "answer") -> Check:
    """Pass when `answer_matches(prompt.pattern, result.text)`; the failure names the rule."""
    if answer_matches(prompt.pattern, result.text):
        return passed(name, _short(result.text))
    return failed(name, f"answer {_short(result.text)} does not match /{prompt.expect}/ (looked for a whole "
                        "word or number in the first non-empty line of the answer)")


def check_done_reason(result: ChatResult, specials: list[str], stops: list[str],
                      template: str | None, name: str = "done", *, end_texts: list[str] | tuple[str, ...] = (),
                      gguf_chat_template: bool | None = None) -> Check:
    """Why generation ended, and what to do about it.

    - "stop" with an empty answer: the stop fired on the first token; names it (the engine's
      `stopped_by`, else the candidates) and says what to do.
    - "length"/"timeout" (a runaway), told apart by what the model wrote:
      the turn-end token of the template (or a declared end text) appears in the answer: a stop
      is missing, add it -- or, if params.stop has it, the engine did not get the params;
      the template has a turn-end token the model never wrote: the model does not follow this
      chat format (a base model, or another family's template): adding stops will not help;
      otherwise the first control token the model leaked, when params.stop lacks it.
    Never tells the maintainer to add a stop `stops` already has.

    `end_texts`: the GGUF's declared end-of-generation texts (EOS, EOT); `gguf_chat_template`:
    whether the GGUF carries tokenizer.chat_template (None: unknown)."""
    if result.done_reason == "stop":
        if result.text.strip():
            return passed(name, "stop")
        return failed(name, empty_answer_message(result, stops, end_texts))
    if result.done_reason in ("length", "timeout"):
        how = (f"generation ran to num_predict after {result.eval_tokens} tokens" if result.done_reason == "length"
               else "generation did not end before the timeout")
        turn_ends = turn_end_tokens(template, specials)
        ends_seen = sorted((result.text.find(t), t) for t in dict.fromkeys([*turn_ends, *end_texts])
                           if t and t in result.text)
        leaked = leaked_token(result.text, specials)
        if ends_seen:
            token = ends_seen[0][1]
            if token in stops:
                return failed(name, f"runaway: params.stop has {token} but generation went past it: check that "
                                    f"the engine got the params ({how})")
            return failed(name, f"runaway: stop tokens missing — add {token} to params.stop ({how})")
        if turn_ends:
            end = turn_ends[0]
            wrote = f", it wrote {leaked} instead" if leaked else ""
            msg = (f"the model does not follow this chat format: it never wrote {end}, the end of turn the template "
                   f"uses{wrote} ({how}) — a base model, or a chat model of another family: use the instruct "
                   "model, or its family's template; adding stops will not end its turns")
            if gguf_chat_template is False:
                msg += " (the GGUF has no tokenizer.chat_template, as base models do)"
            if end not in stops:
                msg += f"; params.stop also lacks {end}: add {end} to params.stop"
            return failed(name, msg)
        if leaked and leaked not in stops:
            return failed(name, f"runaway: stop tokens missing — add {leaked} to params.stop ({how})")
        if leaked:
            return failed(name, f"runaway: params.stop has {leaked} but generation went past it: check that the "
                                f"engine got the params ({how})")
        return failed(name, "runaway: no end-of-turn token in the template or the answer — add the text that "
                            f"ends the model's turn to params.stop ({how})")
    if result.done_reason in ("", "unknown", None):
        return skipped(name, "the engine does not report why generation ended")
    return failed(name, f"done_reason {result.done_reason!r}, expected 'stop'")


def empty_answer_message(result: ChatResult, stops: list[str], end_texts=()) -> str:
    """An empty answer ended by a stop: which stop fired on the first token, and the fix."""
    tokens = f"after {result.eval_tokens} token{'s' if result.eval_tokens != 1 else ''}"
    hit = result.stopped_by
    if hit is not None and hit in stops:
        return (f"empty answer: the stop {hit!r} fired {tokens}: the model writes it at the start of its answer — "
                f"remove {hit!r} from params.stop, or end the template's assistant header with it")
    if hit is not None:
        return (f"empty answer: the model ended its turn with {hit} {tokens} — the prompt does not end where the "
                "model's answer starts (check the template's last assistant header), or the model does not follow "
                "this chat format")
    candidates = ", ".join(repr(s) for s in dict.fromkeys([*stops, *[t for t in end_texts if t]]))
    return (f"empty answer: a stop fired {tokens} (the engine does not say which; params.stop and the end tokens: "
            f"{candidates or 'none'}) — a stop the model writes first must go, or the template must write it before "
            "the answer")


def turn_end_tokens(template: str | None, specials: list[str]) -> list[str]:
    """Control tokens the template writes that end a turn (`end`, `eot`, `</s>` in the name), in
    the order they first appear."""
    if not template:
        return []
    found = sorted((template.find(t), t) for t in specials if t and t in template)
    return [t for _, t in found if re.search(r"end|eot|/s>", t, re.I) and "header" not in t]


def leaked_token(text: str, specials: list[str]) -> str | None:
    """The special token that appears first in `text`, if any."""
    hits = [(text.find(tok), tok) for tok in specials if tok and tok in text]
    return min(hits)[1] if hits else None


def check_no_leak(result: ChatResult, specials: list[str], stops: list[str], name: str = "leak") -> Check:
    """Fails when the answer contains a stop string or a special token's text (the turn end leaked:
    the stop list misses it), naming which."""
    found = [s for s in dict.fromkeys([*stops, *specials]) if s and s in result.text]
    if not found:
        return passed(name)
    kinds = []
    for s in found:
        kinds.append(f"{s} ({'stop string' if s in stops else 'special token'})")
    return failed(name, f"answer contains {', '.join(kinds)}: {_short(result.text, 40)}")


THINK_TAGS = (("<think>", "</think>"), ("<thinking>", "</thinking>"), ("<|channel|>analysis", "<|end|>"))


def check_no_visible_thinking(result: ChatResult, name: str = "thinking") -> Check:
    """Reasoning the engine did not separate from the answer (a thinking model whose Go template
    has no .Thinking: Ollama does not parse the thoughts out, users read them as the answer)."""
    for opening, closing in THINK_TAGS:
        if opening in result.text or (closing in result.text and closing != "<|end|>"):
            return failed(name, f"the answer shows the model's reasoning ({opening}…{closing}): render "
                                ".Thinking in the release's Go template so Ollama separates it: "
                                f"{_short(result.text, 60)}")
    return passed(name)


# -- params / template applied -----------------------------------------------------------------

def check_params_applied(show: ShowResult | None, params: dict, template: str | None,
                         system: str | None, why_unknown: str, name: str = "params") -> Check:
    """Compares what the engine reports for the model (`show`) with the release: every param present
    with the release's value (floats compared as Ollama's float32), the same template and system
    prompt. Skipped with `why_unknown` when the engine cannot say."""
    if show is None:
        return skipped(name, why_unknown)
    problems = []
    for key, want in params.items():
        if key not in show.parameters:
            problems.append(f"{key} missing (release: {_fmt(want)})")
        elif not _same_param(want, show.parameters[key]):
            problems.append(f"{key} is {_fmt(show.parameters[key])}, release says {_fmt(want)}")
    if template is not None and show.template is not None and show.template != template:
        problems.append(f"template differs from the release's at character {_first_diff(show.template, template)}")
    elif template is not None and show.template is None:
        problems.append("no template reported")
    if system is not None and (show.system or "") != system:
        problems.append("system prompt differs from the release's")
    if problems:
        return failed(name, "params not applied: " + "; ".join(problems))
    return passed(name, f"{len(params)} params and the template applied")


def _same_param(want, got) -> bool:
    if isinstance(want, (list, tuple)) or isinstance(got, (list, tuple)):
        w = list(want) if isinstance(want, (list, tuple)) else [want]
        g = list(got) if isinstance(got, (list, tuple)) else [got]
        return sorted(map(str, w)) == sorted(map(str, g))
    if isinstance(want, bool) or isinstance(got, bool):
        return str(want).lower() == str(got).lower()
    try:  # Ollama stores options as float32: 0.95 comes back as 0.949999988079071
        return math.isclose(float(want), float(got), rel_tol=1e-6, abs_tol=1e-6)
    except (TypeError, ValueError):
        return str(want) == str(got)


def _fmt(value) -> str:
    return ", ".join(map(repr, value)) if isinstance(value, (list, tuple)) else repr(value)


def _first_diff(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


# -- rendered prompt ---------------------------------------------------------------------------

def check_rendered_go(rendered: str | None, expected: str | None, why_unknown: str,
                      name: str = "render-go") -> Check:
    """The prompt the engine built equals publish.gotmpl's rendering of the release template."""
    if rendered is None:
        return skipped(name, why_unknown)
    if expected is None:
        return skipped(name, "no Go template to render")
    if rendered == expected:
        return passed(name)
    at = _first_diff(rendered, expected)
    return failed(name, f"engine's prompt differs from publish.gotmpl's at character {at}: "
                        f"engine {_short(rendered[at:at + 40])}, gotmpl {_short(expected[at:at + 40])}")


def check_jinja_parity(parity, why_unknown: str, name: str = "render-jinja") -> Check:
    """The engine's prompt against the GGUF's Jinja chat template, judged by
    publish.templatecheck (one leading BOS stripped from the Jinja render; a difference that only
    the Jinja `| trim` explains is a warning). `parity` is a templatecheck.ConversationResult."""
    if parity is None:
        return skipped(name, why_unknown)
    status = parity.status
    if status == "identical":
        return passed(name)
    if status == "trim":
        return warned(name, parity.reason or "differs only by the Jinja trim")
    if status == "skipped":
        return skipped(name, parity.reason or "the Jinja template refuses this conversation")
    if status == "error":
        return failed(name, parity.reason or "render failed")
    first = (parity.diff or "").splitlines()
    return failed(name, "differs from the GGUF's Jinja template: " + " ".join(
        line for i, line in enumerate(first) if i != 1))


def check_system_reached(system: str | None, rendered: str | None, why_unknown: str,
                         name: str = "system") -> Check:
    """Fails when the system prompt is not in the prompt the engine rendered (the template drops
    it); skipped without a system prompt or a rendered prompt."""
    if system is None:
        return skipped(name, "no system prompt in this conversation")
    if rendered is None:
        return skipped(name, why_unknown)
    if system.strip() in rendered:
        return passed(name)
    return failed(name, f"the system prompt {_short(system, 40)} is not in the rendered prompt: "
                        "the template drops it (use .System or the system role in .Messages)")


def check_turns_reached(prompt: Prompt, rendered: str | None, why_unknown: str, name: str = "turns") -> Check:
    """Fails when an earlier user or assistant turn of a multi-turn prompt is missing from the
    rendered prompt; skipped for one turn or without a rendered prompt."""
    turns = [m for m in prompt.messages if m["role"] != "system"]
    if len(turns) < 2:
        return skipped(name, "single-turn conversation")
    if rendered is None:
        return skipped(name, why_unknown)
    missing = [f"{m['role']} turn {_short(m['content'], 30)}" for m in turns if m["content"].strip() not in rendered]
    if missing:
        return failed(name, "earlier turns missing from the rendered prompt: " + ", ".join(missing))
    return passed(name, f"{len(turns)} turns rendered")


def check_no_bos_text(rendered: str | None, add_bos: bool | None, bos_text: str | None,
                      why_unknown: str, name: str = "bos-text") -> Check:
    """Fails when the rendered prompt starts with the BOS text while the engine adds BOS itself
    (add_bos_token true): a double BOS, from the text side."""
    if rendered is None:
        return skipped(name, why_unknown)
    if not add_bos or not bos_text:
        return passed(name, "the engine adds no BOS")
    if rendered.startswith(bos_text):
        return failed(name, f"the rendered prompt starts with {bos_text} while add_bos_token is true: "
                            f"double BOS — remove {bos_text} from the start of the template")
    return passed(name)


def check_double_bos(result: ChatResult, bos_text: str | None, name: str = "double-bos") -> Check:
    """Fails when the prompt's first two token ids are both the engine's BOS id (llama.cpp exposes
    the ids); skipped when the engine does not expose prompt tokens."""
    ids = result.prompt_token_ids
    if ids is None:
        return skipped(name, "the engine does not expose prompt tokens")
    bos = result.engine_bos_id
    if bos is None:
        return passed(name, "the engine adds no BOS")
    if len(ids) >= 2 and ids[0] == bos and ids[1] == bos:
        label = bos_text or f"token {bos}"
        return failed(name, f"double BOS on the tokens: the engine's {label} plus the template's {label} — "
                            f"remove {label} from the start of the template")
    return passed(name)

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
    PASS = "pass"
    WARN = "warn"     # passed, with something worth a look
    SKIP = "skip"     # could not be checked with this engine
    FAIL = "fail"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status.value, "message": self.message}


def passed(name: str, message: str = "") -> Check:
    return Check(name, Status.PASS, message)


def failed(name: str, message: str) -> Check:
    return Check(name, Status.FAIL, message)


def skipped(name: str, reason: str) -> Check:
    return Check(name, Status.SKIP, reason)


def warned(name: str, message: str) -> Check:
    return Check(name, Status.WARN, message)


def _short(text: str, limit: int = 80) -> str:
    text = text if len(text) <= limit else text[:limit] + "…"
    return repr(text)


# -- answer ------------------------------------------------------------------------------------

def check_answer(prompt: Prompt, result: ChatResult, name: str = "answer") -> Check:
    if prompt.pattern.search(result.text):
        return passed(name, _short(result.text))
    return failed(name, f"answer {_short(result.text)} does not match /{prompt.expect}/")


def check_done_reason(result: ChatResult, specials: list[str], stops: list[str],
                      template: str | None, name: str = "done") -> Check:
    if result.done_reason == "stop":
        return passed(name, "stop")
    if result.done_reason in ("length", "timeout"):
        leaked = leaked_token(result.text, specials)
        token = (leaked if leaked not in stops else None) or end_token_guess(template, specials, stops)
        if token:
            fix = f"add {token} to params.stop"
        elif leaked:  # never tell the maintainer to add a stop params already has
            fix = f"params.stop has {leaked} but generation went past it: check that the engine got the params"
        else:
            fix = "add the model's end-of-turn token to params.stop"
        how = (f"generation ran to num_predict after {result.eval_tokens} tokens" if result.done_reason == "length"
               else "generation did not end before the timeout")
        return failed(name, f"runaway: stop tokens missing — {fix} ({how})")
    if result.done_reason in ("", "unknown", None):
        return skipped(name, "the engine does not report why generation ended")
    return failed(name, f"done_reason {result.done_reason!r}, expected 'stop'")


def leaked_token(text: str, specials: list[str]) -> str | None:
    """The special token that appears first in `text`, if any."""
    hits = [(text.find(tok), tok) for tok in specials if tok and tok in text]
    return min(hits)[1] if hits else None


def end_token_guess(template: str | None, specials: list[str], stops: list[str]) -> str | None:
    """A control token the template writes that is not a stop: the likely missing end token."""
    if not template:
        return None
    candidates = [(template.find(t), t) for t in specials if t and t in template and t not in stops]
    ends = [c for c in candidates if re.search(r"end|eot|/s>", c[1], re.I)]
    return min(ends or candidates)[1] if (ends or candidates) else None


def check_no_leak(result: ChatResult, specials: list[str], stops: list[str], name: str = "leak") -> Check:
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
    if system is None:
        return skipped(name, "no system prompt in this conversation")
    if rendered is None:
        return skipped(name, why_unknown)
    if system.strip() in rendered:
        return passed(name)
    return failed(name, f"the system prompt {_short(system, 40)} is not in the rendered prompt: "
                        "the template drops it (use .System or the system role in .Messages)")


def check_turns_reached(prompt: Prompt, rendered: str | None, why_unknown: str, name: str = "turns") -> Check:
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
    if rendered is None:
        return skipped(name, why_unknown)
    if not add_bos or not bos_text:
        return passed(name, "the engine adds no BOS")
    if rendered.startswith(bos_text):
        return failed(name, f"the rendered prompt starts with {bos_text} while add_bos_token is true: "
                            f"double BOS — remove {bos_text} from the start of the template")
    return passed(name)


def check_double_bos(result: ChatResult, bos_text: str | None, name: str = "double-bos") -> Check:
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

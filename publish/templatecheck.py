"""Does an Ollama Go template build the same prompt as the model's own Jinja chat template?

Both templates render a standard conversation suite (add_generation_prompt=True). One leading
BOS is stripped from the Jinja render, since the engine adds BOS itself. Each conversation ends
in one of five states:

- identical
- trim:      differs only because the Jinja template trims whitespace around message content
             (`| trim`), which a Go template cannot express and Ollama does not do. A warning.
- skipped:   the Jinja template refuses the conversation (raise_exception); the reason is kept.
- different: a character-level diff with whitespace and special tokens made visible.
- error:     the Go template cannot render it (TemplateError), or the Jinja template fails
             for another reason than raise_exception.

How "trim" is detected: for every message whose content has surrounding whitespace, the Jinja
template is rendered again with only that message's content stripped. An unchanged output means
the template trims (or ignores) that message. The Go template is then rendered with exactly
those messages stripped; if that equals the Jinja render, trimming is the only difference.
This asks the templates themselves instead of guessing from the diff, so a Go template that
loses whitespace in a message the Jinja template keeps is still a failure.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Callable

from publish.chat import CHECK_DATE, ChatTemplate, RenderCall, RenderOutcome, TemplateRaised
from publish.errors import TemplateError, UnsafeTemplateError, message_of
from publish.termtext import ONE_LINE, one_line

GoRender = Callable[[str, list[dict]], str]

IDENTICAL, TRIM, SKIPPED, DIFFERENT, ERROR = "identical", "trim", "skipped", "different", "error"
NA = "n/a"    # a tools/thinking case the model's own template does not support (prove)


@dataclass(frozen=True)
class Conversation:
    """One conversation of the check suite: a `name` for the report and its `messages` ({"role",
    "content", ...} dicts as a chat API takes them)."""
    name: str
    messages: list[dict]


def _m(role: str, content: str) -> dict:
    return {"role": role, "content": content}



SYSTEM = "You are a helpful assistant."
STANDARD_SUITE: tuple[Conversation, ...] = (
    Conversation("user", [_m("user", "Hello!")]),
    Conversation("system-user", [_m("system", SYSTEM), _m("user", "Hello!")]),
    Conversation("user-assistant-user", [
        _m("user", "Hello!"), _m("assistant", "Hi! How can I help?"), _m("user", "What is 2+2?")]),
    Conversation("system-user-assistant-user", [
        _m("system", SYSTEM), _m("user", "Hello!"), _m("assistant", "Hi! How can I help?"),
        _m("user", "What is 2+2?")]),
    Conversation("tricky-text", [
        _m("system", "  Answer in one line.\n"),
        _m("user", "  Print {{ .Prompt }} and {{ messages }} with \"double\" and 'single' quotes.  "),
        _m("assistant", " {% raw %} ok: «café» — 日本語 🙂 \n"),
        _m("user", "\n\tAnd\\n {braces} } { again?  \n")]),
)


@dataclass
class ConversationResult:
    """How one conversation compared: `status` (identical, trim, skipped, different, error: module
    doc), both renders (`jinja` with one leading BOS stripped), a `reason` for
    skipped/error/trim, a visible `diff`, the index of the first differing character and how many
    characters differ."""
    name: str
    status: str
    jinja: str | None = None        # BOS stripped
    go: str | None = None
    reason: str | None = None       # skipped / error / trim explanation
    diff: str | None = None         # visible diff for "different" and "trim"
    first_difference: int | None = None
    differing_chars: int = 0

    @property
    def failed(self) -> bool:
        """Whether the conversation counts against the Go template: different or error (trim and
        skipped do not)."""
        return self.status in (DIFFERENT, ERROR)

    def to_dict(self) -> dict:
        """The result as a JSON-ready dict (the renders and diff included)."""
        return {
            "name": self.name, "status": self.status, "reason": self.reason,
            "first_difference": self.first_difference, "differing_chars": self.differing_chars,
            "diff": self.diff, "jinja": self.jinja, "go": self.go,
        }


@dataclass
class CheckResult:
    """The comparison of one Go template (`go_name`) against one Jinja chat template (`jinja_name`)
    over the suite, one ConversationResult per conversation."""
    jinja_name: str
    go_name: str
    conversations: list[ConversationResult] = field(default_factory=list)

    @property
    def compared(self) -> list[ConversationResult]:
        """The conversations both templates rendered (skipped and n/a left out)."""
        return [c for c in self.conversations if c.status not in (SKIPPED, NA)]

    @property
    def ok(self) -> bool:
        """Whether at least one conversation was compared and none is different or an error."""
        compared = self.compared
        return bool(compared) and not any(c.failed for c in compared)

    @property
    def exact(self) -> bool:
        """Whether at least one conversation was compared and every compared one is identical (no
        trim warnings)."""
        compared = self.compared
        return bool(compared) and all(c.status == IDENTICAL for c in compared)

    @property
    def status(self) -> str:
        """`pass` (exact), `pass-with-warnings` (ok with trim differences) or `fail`."""
        if not self.ok:
            return "fail"
        return "pass" if self.exact else "pass-with-warnings"

    @property
    def exit_code(self) -> int:
        """The process exit status `publish template check` uses: 0 when ok, else 1."""
        return 0 if self.ok else 1

    @property
    def differing_chars(self) -> int:
        """Characters that differ, summed over the failed conversations (used to rank candidate
        templates)."""
        return sum(c.differing_chars for c in self.conversations if c.failed)

    def to_dict(self) -> dict:
        """`{"jinja", "go", "status", "conversations": [...]}` for `--format json`."""
        return {"jinja": self.jinja_name, "go": self.go_name, "status": self.status,
                "conversations": [c.to_dict() for c in self.conversations]}

    def format_text(self, *, show_renders: bool = False) -> str:
        """The report for a terminal: one line per conversation with its state and reason, the diff
        of each different/trim one, both renders with `show_renders`, and a verdict line. Text
        from the templates is escaped (publish.termtext)."""
        lines = [one_line(f"template check: {self.go_name} (Go) against {self.jinja_name} (Jinja)")]
        for c in self.conversations:
            label = {IDENTICAL: "identical", TRIM: "warning", SKIPPED: "skipped",
                     DIFFERENT: "DIFFERENT", ERROR: "ERROR", NA: "n/a"}[c.status]
            head = f"  {c.name:<28} {label}"
            if c.reason:
                head += f": {c.reason}"
            lines.append(one_line(head))
            if c.diff and c.status in (DIFFERENT, TRIM):
                lines.extend("      " + d for d in c.diff.splitlines())
            if show_renders and c.jinja is not None:
                lines.append("      jinja: " + visible(c.jinja))
                lines.append("      go:    " + visible(c.go or ""))
        if not self.compared:
            lines.append("result: FAIL (the Jinja template refused every conversation; nothing compared)")
        elif self.ok:
            warn = sum(1 for c in self.conversations if c.status == TRIM)
            lines.append("result: pass" + (f" ({warn} warning(s): Jinja trims message content)" if warn else ""))
        else:
            bad = sum(1 for c in self.conversations if c.failed)
            lines.append(f"result: FAIL ({bad} of {len(self.compared)} conversation(s) differ)")
        return "\n".join(lines)


# -- making differences visible ---------------------------------------------------------------

_SPECIAL = re.compile(r"<\|[^<>|\s]{1,40}\|>|</?[A-Za-z_][A-Za-z0-9_]{0,30}>|\[/?[A-Z][A-Z_]{1,30}\]")
_WS = {"\n": "␤", "\t": "␉", "\r": "␍", " ": "·"}
CONTEXT = 24


def visible(text: str) -> str:
    """Whitespace as ␤ ␉ ␍ ·, special tokens as ⟨<end_of_turn>⟩; one line."""
    out: list[str] = []
    pos = 0
    for m in _SPECIAL.finditer(text):
        out.append(_visible_ws(text[pos:m.start()]))
        out.append(f"⟨{m.group(0)}⟩")
        pos = m.end()
    out.append(_visible_ws(text[pos:]))
    return "".join(out)


def _visible_ws(text: str) -> str:
    """Whitespace as symbols; any other control (an ESC from the template) as an escape."""
    return "".join(_WS.get(ch, ch) for ch in text).translate(ONE_LINE)


_PIECE = re.compile(_SPECIAL.pattern + r"|\w+|\s|.", re.S)


def _pieces(text: str) -> list[str]:
    return _PIECE.findall(text)


def _context(pieces: list[str], *, keep_head: bool, keep_tail: bool) -> str:
    """Unchanged text between differences, shortened to about CONTEXT characters on each side
    that touches a difference, cut between pieces so no token is split."""
    if sum(len(p) for p in pieces) <= 2 * CONTEXT + 1:
        return visible("".join(pieces))
    head: list[str] = []
    while keep_head and sum(map(len, head)) < CONTEXT:
        head.append(pieces[len(head)])
    tail: list[str] = []
    while keep_tail and sum(map(len, tail)) < CONTEXT:
        tail.insert(0, pieces[-1 - len(tail)])
    return visible("".join(head)) + "…" + visible("".join(tail))


def char_diff(jinja: str, go: str) -> tuple[str, int, int | None]:
    """(diff text, differing characters, first differing offset). `[-x-]` only in Jinja's
    prompt (the model expects it, Ollama does not send it), `{+x+}` only in Go's.

    Every character is shown; the alignment works on special tokens, words and single other
    characters, so `user` against `system` reads as one replacement, not a letter salad."""
    a, b = _pieces(jinja), _pieces(go)
    offsets = [0]
    for piece in a:
        offsets.append(offsets[-1] + len(piece))
    parts: list[str] = []
    differing = 0
    first: int | None = None
    ops = _opcodes(a, b)
    for i, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            parts.append(_context(a[i1:i2], keep_head=i > 0, keep_tail=i < len(ops) - 1))
            continue
        old, new = "".join(a[i1:i2]), "".join(b[j1:j2])
        if first is None:
            first = offsets[i1]
        if old:
            parts.append("[-" + visible(old) + "-]")
            differing += len(old)
        if new:
            parts.append("{+" + visible(new) + "+}")
            differing += len(new)
    where = ""
    if first is not None:
        line = jinja.count("\n", 0, first) + 1
        col = first - (jinja.rfind("\n", 0, first) + 1) + 1
        where = f"first difference at character {first} (line {line}, column {col} of the Jinja prompt)\n"
    legend = "[-only in the Jinja prompt-] {+only in the Go prompt+}\n"
    return where + legend + "".join(parts), differing, first


# SequenceMatcher is quadratic: a hostile chat template's megabyte of output would hang the check.
MAX_ALIGNED = 4_000_000   # pieces(Jinja) x pieces(Go) aligned in detail (~0.15 s); past it, one replacement


def _opcodes(a: list[str], b: list[str]) -> list[tuple[str, int, int, int, int]]:
    if len(a) * len(b) <= MAX_ALIGNED:
        return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    common = min(len(a), len(b))
    head = 0
    while head < common and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < common - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    ops = [("equal", 0, head, 0, head)] if head else []
    if len(a) - tail > head or len(b) - tail > head:
        ops.append(("replace", head, len(a) - tail, head, len(b) - tail))
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops


# -- what Ollama's /api/chat hands the Go template: one place decides it ------------------------

class OllamaRefusal(TemplateError):
    """Ollama answers the chat request with an error instead of building a prompt: the request
    sends tools to a template without .Tools, or think=true to a model without the thinking
    capability (server/routes.go ChatHandler, v0.24.0). `why` is the sentence without a name."""

    def __init__(self, why: str):
        self.why = why
        super().__init__(why, name="Go template")


def ollama_capabilities(go_template: str) -> tuple[bool, bool]:
    """(tools, thinking): the capabilities Ollama v0.24.0 gives a model with this template
    (server/images.go Capabilities): tools when the template mentions .Tools, thinking when
    thinking.InferTags finds both tags around .Thinking inside the range over .Messages
    (publish.gotmpl.thinking_tags). The gpt-oss family exception and built-in parsers are not
    modelled: a template alone decides. (False, False) for a template that does not parse."""
    from publish import gotmpl

    try:
        return "tools" in gotmpl.template_vars(go_template), all(gotmpl.thinking_tags(go_template))
    except TemplateError:
        return False, False


def ollama_think(go_template: str, think: bool | None = None, tools: list[dict] | None = None) -> bool | None:
    """The request's think after Ollama v0.24.0's /api/chat checks (server/routes.go ChatHandler,
    ~line 2348): a thinking-capable model gets think=true when the request omits it. Raises
    OllamaRefusal when Ollama refuses the request (tools without the tools capability, think=true
    without the thinking capability). None: think stays unset."""
    has_tools, has_thinking = ollama_capabilities(go_template)
    if tools and not has_tools:
        raise OllamaRefusal("Ollama refuses the request (\"does not support tools\"): the Go template has no .Tools")
    if has_thinking:
        return True if think is None else think
    if think:
        raise OllamaRefusal("Ollama refuses the request (\"does not support thinking\"): the Go template gives "
                            "the model no thinking capability (no .Thinking between text tags inside "
                            "{{ range .Messages }}, as thinking.InferTags needs)")
    return think


def jinja_think_inputs(think: bool | None) -> dict:
    """The Jinja template's thinking switches for Ollama's think value: `enable_thinking` and
    `thinking` (the names chat templates read), nothing when think is unset."""
    return {} if think is None else {"enable_thinking": think, "thinking": think}


def ollama_prompt(go_template: str, messages: list[dict], tools: list[dict] | None = None,
                  think: bool | None = None, *, compiled: bool | None = None) -> str:
    """The prompt Ollama v0.24.0's /api/chat builds from `go_template` for a request with these
    messages, tools and think (None = omitted): think as ollama_think decides it, then the
    template values of server/prompt.go renderPrompt (Think, ThinkLevel "medium" for think=true,
    IsThinkSet when think is set). `compiled` as gotmpl.render takes it. Raises OllamaRefusal,
    TemplateError."""
    from publish import gotmpl

    eff = ollama_think(go_template, think, tools)
    return gotmpl.render(go_template, messages, tools, think=bool(eff), think_level="medium" if eff else "",
                         is_think_set=eff is not None, compiled=compiled)


# -- the check --------------------------------------------------------------------------------

def _stripped(messages: list[dict], indexes: set[int]) -> list[dict]:
    out = []
    for i, msg in enumerate(messages):
        if i in indexes and isinstance(msg.get("content"), str):
            msg = {**msg, "content": msg["content"].strip()}
        out.append(msg)
    return out


def _untrimmed(messages: list[dict]) -> list[int]:
    return [i for i, m in enumerate(messages)
            if isinstance(m.get("content"), str) and m["content"] != m["content"].strip()]


@dataclass
class JinjaRenders:
    """The Jinja side of a check, rendered once (one sandboxed batch) and reusable across many
    Go templates: per conversation, the render and the trim probes."""

    name: str
    suite: tuple[Conversation, ...]
    renders: list[RenderOutcome]
    probes: list[dict[int, RenderOutcome]]
    bos_token: str              # stripped once from the front of each render; "" strips nothing
    think: bool | None = None   # Ollama's think value the renders were made for (jinja_think_inputs)

    def text(self, index: int) -> str | None:
        """The Jinja render of conversation `index` with one leading BOS token removed (the engine
        adds BOS itself), None when the render failed."""
        out = self.renders[index]
        if out.text is None:
            return None
        text = out.text
        if self.bos_token and text.startswith(self.bos_token):
            text = text[len(self.bos_token):]
        return text

    def trimmed_indexes(self, index: int) -> set[int]:
        """Messages the Jinja template trims (or ignores) in conversation `index`."""
        base = self.renders[index].text
        return {i for i, probe in self.probes[index].items() if probe.text == base}


def render_jinja_suite(template: ChatTemplate, suite: tuple[Conversation, ...] = STANDARD_SUITE, *,
                       strip_bos: bool = True, think: bool | None = None) -> JinjaRenders:
    """Render the suite (and the trim probes) in one sandboxed batch. `strip_bos=False` when the
    engine does not add BOS itself (GGUF tokenizer.ggml.add_bos_token = false). `think`: the
    think value Ollama gives the Go template it will be compared with (ollama_think; a
    thinking-capable template gets true), passed as jinja_think_inputs. Raises
    UnsafeTemplateError when the template escapes the sandbox or its bounds; other render failures
    are kept per conversation."""
    calls: list[RenderCall] = []
    slots: list[tuple[int, int | None]] = []
    extra = jinja_think_inputs(think)
    for ci, conv in enumerate(suite):
        calls.append(RenderCall(conv.messages, extra=extra))
        slots.append((ci, None))
        for mi in _untrimmed(conv.messages):
            calls.append(RenderCall(_stripped(conv.messages, {mi}), extra=extra))
            slots.append((ci, mi))
    outcomes = template.render_many(calls)
    renders: list[RenderOutcome | None] = [None] * len(suite)
    probes: list[dict[int, RenderOutcome]] = [{} for _ in suite]
    for (ci, mi), outcome in zip(slots, outcomes):
        if isinstance(outcome.error, UnsafeTemplateError):
            raise outcome.error
        if mi is None:
            renders[ci] = outcome
        else:
            probes[ci][mi] = outcome
    bos = template.bos_token if strip_bos else ""
    return JinjaRenders(template.name, suite, renders, probes, bos, think)  # type: ignore[arg-type]


def _default_go_render(template: str, messages: list[dict]) -> str:
    return ollama_prompt(template, messages)


def compare(jinja: JinjaRenders, go_template: str, *, go_name: str = "template",
            go_render: GoRender | None = None) -> CheckResult:
    """Compare `go_template` with the Jinja renders conversation by conversation (module doc:
    identical, trim, skipped, different, error). `go_render(template, messages)` renders the Go
    side; default publish.gotmpl with Ollama's prompt data (gotmpl/ollama.py, modelled on Ollama
    v0.24.0 template/template.go). Never raises for a template fault: it becomes an error state."""
    go_render = go_render or _default_go_render
    result = CheckResult(jinja_name=jinja.name, go_name=go_name)
    for ci, conv in enumerate(jinja.suite):
        outcome = jinja.renders[ci]
        if isinstance(outcome.error, TemplateRaised):
            result.conversations.append(ConversationResult(
                conv.name, SKIPPED, reason=f"the Jinja template refuses it: {outcome.error.reason}"))
            continue
        if outcome.error is not None:
            result.conversations.append(ConversationResult(
                conv.name, ERROR, reason=f"Jinja render failed: {outcome.error}"))
            continue
        expected = jinja.text(ci)
        try:
            got = go_render(go_template, conv.messages)
        except TemplateError as err:
            result.conversations.append(ConversationResult(
                conv.name, ERROR, jinja=expected, reason=f"Go template failed: {message_of(err)}",
                differing_chars=len(expected or "")))
            continue
        if got == expected:
            result.conversations.append(ConversationResult(conv.name, IDENTICAL, jinja=expected, go=got))
            continue
        diff, differing, first = char_diff(expected, got)
        entry = ConversationResult(conv.name, DIFFERENT, jinja=expected, go=got, diff=diff,
                                   first_difference=first, differing_chars=differing)
        trimmed = jinja.trimmed_indexes(ci)
        if trimmed:
            try:
                got_trimmed = go_render(go_template, _stripped(conv.messages, trimmed))
            except TemplateError:
                got_trimmed = None
            if got_trimmed == expected:
                roles = sorted({conv.messages[i]["role"] for i in trimmed})
                entry.status = TRIM
                entry.reason = ("differs only in whitespace around message content: the Jinja template "
                                f"trims {'/'.join(roles)} content (| trim), Ollama sends it as written")
        result.conversations.append(entry)
    return result


def check(jinja_source: str, go_template: str, *, bos_token: str = "", eos_token: str = "",
          jinja_name: str = "chat_template", go_name: str = "template", strip_bos: bool = True,
          suite: tuple[Conversation, ...] = STANDARD_SUITE, go_render: GoRender | None = None) -> CheckResult:
    """Render both templates on `suite`, then on the tools and thinking cases of CONVERT_SUITE
    (prove: compared where the model supports them), and compare. The Go side gets what Ollama's
    /api/chat gives it (ollama_prompt: think=true for a thinking-capable template), the Jinja side
    the matching enable_thinking, exactly as `template convert` proves. A custom `go_render`
    renders the plain conversations; the tools/thinking cases use publish.gotmpl. Raises
    TemplateError when either template does not parse, UnsafeTemplateError when the Jinja
    template is hostile."""
    if go_render is None:
        from publish import gotmpl

        gotmpl.parse(go_template, go_name)
    template = ChatTemplate(jinja_source, name=jinja_name, bos_token=bos_token, eos_token=eos_token,
                            now=CHECK_DATE)
    jinja = render_jinja_suite(template, suite, strip_bos=strip_bos, think=ollama_think(go_template))
    result = compare(jinja, go_template, go_name=go_name, go_render=go_render)
    return _with_capability_cases(result, template, go_template, strip_bos=strip_bos)


def _with_capability_cases(result: CheckResult, template: ChatTemplate, go_template: str, *,
                           strip_bos: bool) -> CheckResult:
    """`result` with prove's tools and thinking cases appended (CAPABILITY_SUITE)."""
    extra = prove(template, go_template, strip_bos=strip_bos, suite=CAPABILITY_SUITE, go_name=result.go_name)
    result.conversations.extend(extra.conversations)
    return result


# -- suggest: which family template behaves like this chat template? ---------------------------

@dataclass
class Suggestion:
    """The best shipped family for a chat template: the winning `family` (publish.families.Family)
    and its CheckResult, and every family `ranked` best first (fewest differing characters)."""
    family: object                 # publish.families.Family
    result: CheckResult
    ranked: list[tuple[object, CheckResult]]

    @property
    def matches(self) -> bool:
        """Whether the best family builds the same prompts (its CheckResult is ok)."""
        return self.result.ok


def suggest(template: ChatTemplate, *, strip_bos: bool = True, go_render: GoRender | None = None) -> Suggestion:
    """Check every family template against `template` on the plain conversations and on the tools
    and thinking cases the model supports (check); the first one whose renders equal it wins,
    else the one with the fewest differing characters. A family without .Tools (or without the
    thinking capability) is not identical to a model whose template uses tools (thinking).
    Families only: publish.convert.suggest.suggest_template (what `publish template suggest` runs)
    adds the conversion when no family is byte-identical and says which one to ship."""
    from publish import families

    renders: dict[bool | None, JinjaRenders] = {}    # by the think value Ollama gives the family
    ranked = []
    for fam in families.all_families():
        think = ollama_think(fam.template)
        if think not in renders:
            renders[think] = render_jinja_suite(template, strip_bos=strip_bos, think=think)
        result = compare(renders[think], fam.template,
                         go_name=f"{fam.name} ({fam.path.name if fam.path else 'family'})", go_render=go_render)
        ranked.append((fam, _with_capability_cases(result, template, fam.template, strip_bos=strip_bos)))
    order = {id(fam): i for i, (fam, _) in enumerate(ranked)}
    ranked.sort(key=lambda fr: (not fr[1].exact, not fr[1].ok, fr[1].differing_chars, order[id(fr[0])]))
    best_family, best = ranked[0]
    return Suggestion(best_family, best, ranked)


# -- the conversion proof: the suite as Ollama's /api/chat hands it to a template ---------------------
#
# A conversation here is written as Ollama API messages (role, content, thinking, tool_calls,
# tool_name, tool_call_id) plus API tools and the request's think flag. The Go template renders
# exactly that through publish.gotmpl (Ollama's collate + Values). The Jinja template renders the
# same messages the way a Hugging Face client would send them: reasoning as `reasoning_content`
# (and `thinking`, `reasoning`), tool calls as {"id", "type": "function", "function": {"name", "arguments"}},
# tool results with `name` / `tool_call_id`; fields Ollama holds empty are left out, so
# "is defined" in the Jinja template means "non-empty" in the Go template.

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.\nIt's free.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "The city, e.g. \"Paris\"."},
                "unit": {"type": "string", "description": "Temperature unit.", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city"],
        },
    },
}]
TOOL_CALL = {"id": "a1b2c3d4e", "function": {"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}


@dataclass(frozen=True)
class OllamaCase:
    """One request to Ollama's /api/chat: messages, tools, think (None = Ollama's default)."""

    name: str
    messages: list[dict]
    tools: list[dict] | None = None
    think: bool | None = None
    needs: str | None = None           # "tools" / "thinking": the model must support it
    whitespace: bool = False           # content with surrounding whitespace (trim is measured here)


def _tm(role: str, content: str, **extra) -> dict:
    return {"role": role, "content": content, **extra}


CONVERT_SUITE: tuple[OllamaCase, ...] = (
    OllamaCase("user", [_tm("user", "Hello!")]),
    OllamaCase("system-user", [_tm("system", SYSTEM), _tm("user", "Hello!")]),
    OllamaCase("multi-turn", [_tm("user", "Hello!"), _tm("assistant", "Hi! How can I help?"),
                              _tm("user", "What is 2+2?")]),
    OllamaCase("system-multi-turn", [_tm("system", SYSTEM), _tm("user", "Hello!"),
                                     _tm("assistant", "Hi! How can I help?"), _tm("user", "What is 2+2?")]),
    OllamaCase("quotes-non-ascii", [
        _tm("system", "Answer in one line."),
        _tm("user", "Print {{ .Prompt }} and {{ messages }} with \"double\" and 'single' quotes."),
        _tm("assistant", "{% raw %} ok: «café» — 日本語 🙂"),
        _tm("user", "And\\n {braces} } { again?")]),
    OllamaCase("whitespace", [
        _tm("system", "  Answer in one line.\n"),
        _tm("user", "  Hello there.  "),
        _tm("assistant", " Hi! \n"),
        _tm("user", "\n\tWhat is 2+2?  \n")], whitespace=True),
    OllamaCase("consecutive-same-role", [
        _tm("system", SYSTEM), _tm("system", "Be brief."), _tm("user", "Hello!"), _tm("user", "Are you there?"),
        _tm("assistant", "Yes."), _tm("assistant", "How can I help?"), _tm("user", "What is 2+2?")]),
    # very short and multi-byte content: a byte slice errors or cuts a character here
    OllamaCase("short-non-ascii", [_tm("user", "Hi"), _tm("assistant", "日本語です"), _tm("user", "?")]),
    OllamaCase("ends-with-assistant", [_tm("user", "Write a haiku."), _tm("assistant", "Autumn moonlight")]),
    OllamaCase("system-ends-with-assistant", [
        _tm("system", SYSTEM), _tm("user", "Hello!"), _tm("assistant", "Hi! How"),
    ]),
    OllamaCase("tools", [_tm("system", SYSTEM), _tm("user", "What is the weather in Paris?")],
               tools=TOOLS, needs="tools"),
    OllamaCase("tool-call-result", [
        _tm("system", SYSTEM), _tm("user", "What is the weather in Paris?"),
        _tm("assistant", "", tool_calls=[TOOL_CALL]),
        _tm("tool", "{\"temperature\": 21}", tool_name="get_weather", tool_call_id="a1b2c3d4e"),
    ], tools=TOOLS, needs="tools"),
    OllamaCase("thinking-on", [
        _tm("user", "What is 2+2?"), _tm("assistant", "4", thinking="2 plus 2 is 4."),
        _tm("user", "And 3+3?")], think=True, needs="thinking"),
    OllamaCase("thinking-off", [
        _tm("user", "What is 2+2?"), _tm("assistant", "4", thinking="2 plus 2 is 4."),
        _tm("user", "And 3+3?")], think=False, needs="thinking"),
)


CAPABILITY_SUITE: tuple[OllamaCase, ...] = tuple(c for c in CONVERT_SUITE if c.needs)


def jinja_messages(messages: list[dict], *, collated: bool = True) -> list[dict]:
    """The messages as the Jinja template sees them; `collated` first applies Ollama's collate()
    (template/template.go, v0.24.0: consecutive same-role messages merged with "\\n\\n", tool
    messages never)."""
    from publish.gotmpl.ollama import collate

    if collated:
        rows = [(c["role"], c["content"], c["src"]) for c in collate(messages)[1]]
    else:
        rows = [(m["role"], m.get("content") or "", m) for m in messages]
    out = []
    for role, content, src in rows:
        m = {"role": role, "content": content}
        if src.get("thinking"):
            # the names chat templates read it by: reasoning_content (Qwen3, DeepSeek), thinking
            # (gpt-oss), reasoning (Gemma 4, Solar Open); the converter reads all three as .Thinking
            m["reasoning_content"] = m["thinking"] = m["reasoning"] = src["thinking"]
        if src.get("tool_calls"):
            m["tool_calls"] = [
                {**({"id": tc["id"]} if tc.get("id") else {}), "type": "function",
                 "function": {"name": tc["function"]["name"], "arguments": tc["function"].get("arguments") or {}}}
                for tc in src["tool_calls"]]
        if src.get("tool_name"):
            m["name"] = src["tool_name"]
        if src.get("tool_call_id"):
            m["tool_call_id"] = src["tool_call_id"]
        out.append(m)
    return out


class ContinuationError(TemplateRaised):
    """transformers' continue_final_message finds no final message content in the render."""


def continue_final_message(rendered: str, final: str) -> str:
    """transformers' apply_chat_template(continue_final_message=True): cut the render (made with
    add_generation_prompt=False) right after the last occurrence of the final message's content
    (transformers 4.5x utils/chat_template_utils.py, render_jinja_template). Raises
    ContinuationError when the render does not hold the final message's content."""
    if final.strip() not in rendered:
        raise ContinuationError("continue_final_message: the template drops the final assistant message")
    loc = rendered.rindex(final.strip())
    if rendered[loc:loc + len(final.lstrip())] == final:
        return rendered[:loc + len(final.lstrip())]
    return rendered[:loc + len(final.strip())]


@dataclass
class CaseResult(ConversationResult):
    """A ConversationResult of `prove` (Ollama's prompt cases: tools, thinking, a continued final
    message) with `ollama_limit`: where Ollama's own collation of messages alone changes the
    Jinja prompt, so no Go template could match it; `refused`: a case the model supports that
    Ollama refuses for this Go template (no .Tools / no thinking capability), a difference."""
    ollama_limit: str | None = None     # where collation alone changes the Jinja prompt
    refused: bool = False               # Ollama refuses the request for this Go template (ollama_think)

    def to_dict(self) -> dict:
        """ConversationResult.to_dict plus "ollama_limit" and "refused"."""
        return {**super().to_dict(), "ollama_limit": self.ollama_limit, "refused": self.refused}


def _go_case_render(template: str, case: OllamaCase) -> str:
    return ollama_prompt(template, case.messages, case.tools, case.think)


def _without_thinking(messages: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k not in ("reasoning_content", "thinking", "reasoning")} for m in messages]


def _capability_probe(case: OllamaCase) -> tuple[RenderCall, RenderCall]:
    """Two Jinja renders of a case that needs tools or thinking: the request as a client sends it
    (think from the case alone, whatever a Go template would get), and the same request without
    the tools (tools cases) or without any thinking input (thinking cases: no enable_thinking/
    thinking, no reasoning_content/thinking/reasoning)."""
    cont = case.messages[-1]["role"] == "assistant"
    view = jinja_messages(case.messages)
    extra = jinja_think_inputs(case.think)
    with_call = RenderCall(view, add_generation_prompt=not cont, tools=case.tools, extra=extra)
    if case.needs == "tools":
        return with_call, RenderCall(view, add_generation_prompt=not cont, extra=extra)
    return with_call, RenderCall(_without_thinking(view), add_generation_prompt=not cont, tools=case.tools)


def _supported(suite: tuple[OllamaCase, ...], pairs: list[tuple[RenderOutcome, RenderOutcome] | None]) -> frozenset[str]:
    """The needs ("tools", "thinking") of the cases whose (with, bare) renders show the model uses
    the input: the request renders, and without the input it renders differently or fails."""
    return frozenset(case.needs for case, pair in zip(suite, pairs) if pair is not None and case.needs
                     and pair[0].error is None and (pair[1].error is not None or pair[1].text != pair[0].text))


def model_capabilities(template: ChatTemplate, suite: tuple[OllamaCase, ...] = CAPABILITY_SUITE) -> frozenset[str]:
    """What of "tools" and "thinking" the model's own chat template supports: on at least one case
    of `suite` needing it, the template renders the request and its prompt changes when the
    tools (thinking inputs: enable_thinking/thinking, the assistant's reasoning) are
    left out. The verdict prove uses to call a case compared or n/a, and lint's RP150/RP151.
    Raises UnsafeTemplateError for a hostile template."""
    probes = [_capability_probe(case) for case in suite if case.needs]
    outcomes = template.render_many([call for pair in probes for call in pair])
    for outcome in outcomes:
        if isinstance(outcome.error, UnsafeTemplateError):
            raise outcome.error
    pairs = iter(zip(outcomes[::2], outcomes[1::2]))
    return _supported(suite, [next(pairs) if case.needs else None for case in suite])


CAPABILITY_REASON = {
    "tools": "the model's template writes the same prompt with and without the tools",
    "thinking": "the model's template writes the same prompt with and without the thinking inputs "
                "(enable_thinking/thinking, the assistant's reasoning)",
}


def prove(template: ChatTemplate, go_template: str, *, strip_bos: bool = True,
          suite: tuple[OllamaCase, ...] = CONVERT_SUITE, go_name: str = "template",
          go_render: Callable[[str, OllamaCase], str] | None = None) -> CheckResult:
    """Render every case with the Go template (as Ollama would) and the Jinja template (on the
    messages as Ollama hands them over), and compare byte for byte.

    What Ollama hands the Go template is decided by ollama_think / ollama_prompt from the Go
    template's own capabilities (ollama_capabilities: .Tools; thinking tags as InferTags finds
    them): a thinking-capable template gets think=true when the case leaves it unset, and the
    Jinja template then gets enable_thinking=true too.

    A case that needs tools or thinking and that Ollama serves for this Go template is compared
    like any other: the prompt users get must be the model's, whether or not the model uses the
    input. When Ollama refuses it (no .Tools; think=true without the thinking capability), it is
    "different" with the refusal as its reason if the model supports what it needs
    (model_capabilities: its Jinja template renders the case, and the tools, resp. the thinking
    inputs enable_thinking/thinking and the assistant's reasoning, change its prompt on at least
    one such case of the suite): the conversion loses what the model does. It is "n/a" only when
    it is refused and the model's template ignores those inputs. A conversation ending with an
    assistant message is compared with transformers'
    continue_final_message render. `go_render(template, case)` replaces the Go side (default
    ollama_prompt on publish.gotmpl). Raises UnsafeTemplateError when the Jinja template tries what
    the sandbox forbids; other render failures are results, not exceptions."""
    go_render = go_render or _go_case_render
    calls: list[RenderCall] = []
    slots: list[tuple[int, str]] = []
    plan = []
    for ci, case in enumerate(suite):
        try:
            think = ollama_think(go_template, case.think, case.tools)
            refusal = None
        except OllamaRefusal as err:
            think, refusal = case.think, err     # the Jinja side: the request as a client sends it
        extra = jinja_think_inputs(think)
        cont = case.messages[-1]["role"] == "assistant"
        view = jinja_messages(case.messages)
        raw = jinja_messages(case.messages, collated=False)
        plan.append((refusal, cont, view, raw))
        for kind, msgs in (("view", view), ("raw", raw)):
            calls.append(RenderCall(msgs, add_generation_prompt=not cont, tools=case.tools, extra=extra))
            slots.append((ci, kind))
        if case.needs:                 # does the model use what this case needs (model_capabilities)
            with_call, bare_call = _capability_probe(case)
            if with_call != calls[-2]:     # else the view render above is the same render
                calls.append(with_call)
                slots.append((ci, "with"))
            calls.append(bare_call)
            slots.append((ci, "bare"))
        for mi in _untrimmed(view):
            calls.append(RenderCall(_stripped(view, {mi}), add_generation_prompt=not cont, tools=case.tools,
                                    extra=extra))
            slots.append((ci, f"probe{mi}"))
    outcomes = template.render_many(calls)
    got: dict[tuple[int, str], RenderOutcome] = {}
    for slot, outcome in zip(slots, outcomes):
        if isinstance(outcome.error, UnsafeTemplateError):
            raise outcome.error
        got[slot] = outcome

    supports = _supported(suite, [(got.get((ci, "with"), got[(ci, "view")]), got[(ci, "bare")])
                                  if case.needs else None for ci, case in enumerate(suite)])

    def text_of(ci: int, kind: str, cont: bool, final: str) -> str:
        out = got[(ci, kind)]
        if out.error is not None:
            raise out.error
        text = out.text or ""
        if cont:
            text = continue_final_message(text, final)
        if strip_bos and template.bos_token and text.startswith(template.bos_token):
            text = text[len(template.bos_token):]
        return text

    result = CheckResult(jinja_name=template.name, go_name=go_name)
    for ci, case in enumerate(suite):
        refusal, cont, view, raw = plan[ci]
        final = view[-1]["content"] if cont else ""
        try:
            expected = text_of(ci, "view", cont, final)
        except TemplateRaised as err:
            result.conversations.append(CaseResult(
                case.name, SKIPPED, reason=f"unsupported by the model: {err.reason if hasattr(err, 'reason') else err}"))
            continue
        except TemplateError as err:
            # the model's own template cannot render it (a bug or an input it does not expect):
            # there is nothing to be identical to
            result.conversations.append(CaseResult(
                case.name, SKIPPED, reason=f"unsupported by the model: its template fails: {err.message}"))
            continue
        if refusal is not None and case.needs and case.needs not in supports:   # the model ignores it: nothing lost
            result.conversations.append(CaseResult(case.name, NA, jinja=expected,
                                                   reason=f"not supported by the model: {CAPABILITY_REASON[case.needs]}"))
            continue
        limit = None
        try:
            raw_text = text_of(ci, "raw", cont, raw[-1]["content"] if cont else "")
            if raw_text != expected:
                limit = ("Ollama merges consecutive same-role messages before the template runs; the "
                         "model's own template would render them apart")
        except TemplateError:
            limit = ("the model's template refuses these messages as sent, but accepts them as Ollama "
                     "merges them")
        if refusal is not None:
            result.conversations.append(CaseResult(
                case.name, DIFFERENT, jinja=expected, reason=f"the model supports {case.needs}, but {refusal.why}",
                differing_chars=len(expected), ollama_limit=limit, refused=True))
            continue
        try:
            out = go_render(go_template, case)
        except TemplateError as err:
            result.conversations.append(CaseResult(
                case.name, ERROR, jinja=expected, reason=f"Go template failed: {message_of(err)}",
                differing_chars=len(expected), ollama_limit=limit))
            continue
        if out == expected:
            result.conversations.append(CaseResult(case.name, IDENTICAL, jinja=expected, go=out, ollama_limit=limit))
            continue
        diff, differing, first = char_diff(expected, out)
        entry = CaseResult(case.name, DIFFERENT, jinja=expected, go=out, diff=diff, first_difference=first,
                           differing_chars=differing, ollama_limit=limit)
        base = got[(ci, "view")].text
        trimmed = {int(k[5:]) for (c, k), o in got.items() if c == ci and k.startswith("probe") and o.text == base}
        if trimmed:
            stripped_case = OllamaCase(case.name, [
                {**m, "content": m["content"].strip()} if i in trimmed else m for i, m in enumerate(case.messages)],
                case.tools, case.think, case.needs, case.whitespace)
            try:
                again = go_render(go_template, stripped_case)
            except TemplateError:
                again = None
            if again == expected:
                entry.status = TRIM
                roles = sorted({view[i]["role"] for i in trimmed})
                entry.reason = ("differs only in whitespace around message content: the Jinja template "
                                f"trims {'/'.join(roles)} content, the Go template cannot")
        result.conversations.append(entry)
    return result


def format_table(result: CheckResult) -> str:
    """One line per case: name, status, and what explains it."""
    label = {IDENTICAL: "identical", TRIM: "trim", SKIPPED: "unsupported by the model", DIFFERENT: "DIFFERENT",
             ERROR: "ERROR", NA: "n/a"}
    lines = [f"{'case':<28} {'result':<26} note"]
    for c in result.conversations:
        note = c.reason or ""
        limit = getattr(c, "ollama_limit", None)
        if limit:
            note = (note + "; " if note else "") + "Ollama limit: " + limit
        lines.append(one_line(f"{c.name:<28} {label.get(c.status, c.status):<26} {note}".rstrip()))
        if c.diff and c.status in (DIFFERENT, TRIM):
            lines.extend("      " + d for d in c.diff.splitlines())
    return "\n".join(lines)

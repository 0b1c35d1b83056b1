"""Render chat templates on probe conversations and read off what lint needs to predict.

Lint does not guess from template text what a template does; it renders the template (Jinja in
the sandbox of publish.chat, Go with publish.gotmpl's Ollama semantics) and looks at the prompt:

    probe = jinja_probe(hdr.chat_template, hdr.bos_text or "", hdr.eos_text or "")   # or go_probe(text)
    probe.start            # the prompt of one user turn, generation prompt included
    probe.history          # user, assistant ANSWER, user: what surrounds an assistant turn
    turn_end(probe, hdr)   # the special token written right after an assistant answer
    answer_preamble(probe) # text each answer starts with that the generation prompt leaves out

Rendering the Jinja template runs it in a forked, bounded child (publish.chat); a template that
refuses the probe conversation (raise_exception) or fails gives `probe.error`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from publish.errors import TemplateError
from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from publish.gguf.header import GGUFHeader

ANSWER = "Paris is the capital of France."
_USER = {"role": "user", "content": "What is the capital of France?"}
_USER2 = {"role": "user", "content": "And of Italy?"}
START = [_USER]
HISTORY = [_USER, {"role": "assistant", "content": ANSWER}, _USER2]


class Probe(Record):
    """Renders of one template. `error` is set when the template could not render the probes.
    Frozen (publish.records.Record)."""

    __slots__ = ("kind", "start", "history", "error")
    frozen = True
    kind: str                        # "jinja" or "go"
    start: str | None                # [user] + generation prompt
    history: str | None              # [user, assistant ANSWER, user] + generation prompt
    error: TemplateError | None

    def __init__(self, kind: str, start: str | None = None, history: str | None = None,
                 error: TemplateError | None = None):
        self._fill(kind, start, history, error)


def _refuse_payloads(source: str):
    """Lint never renders a chat template built to escape the sandbox (GG290 reports it from the
    parse tree), not even in the sandbox. Returns the parse tree (None when the source does not
    parse: the render then reports the syntax error). Raises UnsafeTemplateError."""
    from publish import jinja_facts
    from publish.errors import UnsafeTemplateError
    from publish.jinja_audit import parse_template

    suspects = jinja_facts.audit(source)   # GG290's audit of the same text, not a second walk
    if suspects:
        raise UnsafeTemplateError(f"built to escape the Jinja sandbox: {suspects[0].what}",
                                  name="tokenizer.chat_template", line=suspects[0].line or None)
    return parse_template(source)


def jinja_probe(source: str, bos: str = "", eos: str = "", *, compile_here: bool = False) -> Probe:
    """Render a Jinja chat template with `bos` and `eos` as bos_token / eos_token (a GGUF's BOS and
    EOS token texts, as llama.cpp passes them). Raises UnsafeTemplateError for a hostile template;
    other failures are `Probe.error`. `compile_here`: publish.chat.ChatTemplate's."""
    from publish.chat import CHECK_DATE, ChatTemplate, RenderCall
    from publish.errors import UnsafeTemplateError

    tree = _refuse_payloads(source)
    try:
        # Given the tree, the render child's compile is the syntax check: one process, not two.
        template = ChatTemplate(source, bos_token=bos, eos_token=eos, now=CHECK_DATE, parsed=tree,
                                compile_here=compile_here)
        start, history = template.render_many([RenderCall(START), RenderCall(HISTORY)])
    except UnsafeTemplateError:
        raise
    except TemplateError as err:
        return Probe("jinja", error=err)
    if start.error is not None:
        return Probe("jinja", error=start.error)
    return Probe("jinja", start.text, history.text, history.error)


def jinja_capabilities(source: str, bos: str = "", eos: str = "", *, compile_here: bool = False) -> frozenset[str]:
    """What of "tools" and "thinking" the Jinja chat template supports, by the verdict the
    conversion proof uses (templatecheck.model_capabilities: the prompt changes with the tools /
    thinking inputs), rendered with `bos` and `eos` as jinja_probe does. Empty for a template lint
    must not render (hostile) or that fails. `compile_here`: publish.chat.ChatTemplate's."""
    from publish.chat import CHECK_DATE, ChatTemplate
    from publish.templatecheck import model_capabilities

    try:
        tree = _refuse_payloads(source)
        return model_capabilities(ChatTemplate(source, bos_token=bos, eos_token=eos, now=CHECK_DATE, parsed=tree,
                                               compile_here=compile_here))
    except TemplateError:
        return frozenset()


def go_probe(template: str) -> Probe:
    """Render an Ollama Go template the way Ollama's server builds a chat prompt."""
    from publish import gotmpl

    try:
        return Probe("go", gotmpl.render(template, START), gotmpl.render(template, HISTORY))
    except TemplateError as err:
        return Probe("go", error=err)


# A marker the template writes as one unit, when the vocabulary does not say (a Jinja file, or a
# GGUF whose vocabulary lacks the text): bracketed text without blanks: <|im_end|>, <turn|>,
# <end_of_turn>, </s>, <｜end▁of▁sentence｜>, [/INST]. Only ever matched right where the render
# puts the end of an answer, never searched for in template text.
_MARKER = r"<[^<>\s]{1,60}>|\[/?[A-Za-z][A-Za-z_]{0,30}\]"  # compiled on first use (re's cache)


def turn_end_texts(after: str, specials: Iterable[str] = (), *, eos: str = "", limit: int = 2) -> list[str]:
    """The turn-end text at the head of `after`, the render right after an assistant message's
    content: the tokens written there, in order (blank text between them skipped), up to `limit`,
    stopping at the first plain text. [] when plain text or nothing follows the answer.

    A token is, first, one of `specials` (the model's own special token texts: a GGUF's CONTROL /
    USER_DEFINED tokens, a tokenizer_config.json's added tokens marked special) or `eos`, longest
    first as llama.cpp matches them; else a bracketed marker without blanks (`<turn|>`,
    `<|im_end|>`, `</s>`, `[/INST]`). The first is the token the model writes after each answer;
    the second, when there is one, opens the next turn. The one finder of `publish template
    convert` (its stop list) and lint's RP115 (probes.turn_end)."""
    known = sorted({t for t in (*specials, eos) if t and not t.isspace()}, key=len, reverse=True)
    by_first: dict[str, list[str]] = {}
    for t in known:
        by_first.setdefault(t[0], []).append(t)
    out: list[str] = []
    pos, end = 0, min(len(after), 2048)
    while len(out) < limit:
        while pos < end and after[pos].isspace():
            pos += 1
        if pos >= end:
            break
        token = next((t for t in by_first.get(after[pos], ()) if after.startswith(t, pos)), None)
        if token is None:
            m = re.compile(_MARKER).match(after, pos)
            token = m.group(0) if m else None
        if token is None:
            break
        out.append(token)
        pos += len(token)
    return out


def turn_end(probe: Probe, hdr: GGUFHeader) -> str | None:
    """The token the template writes right after an assistant answer (turn_end_texts on the probe
    history, with the GGUF's special tokens and EOS text), or None when plain text or nothing
    follows it."""
    if probe.history is None or ANSWER not in probe.history:
        return None
    after = probe.history[probe.history.index(ANSWER) + len(ANSWER):]
    from publish.gguf import vocab   # here: lint's worker imports this module and needs none of it

    found = turn_end_texts(after, vocab.specials(hdr).ids, eos=hdr.eos_text or "", limit=1)
    return found[0] if found else None


def answer_preamble(probe: Probe) -> str:
    """What the template writes in front of each past answer beyond the generation prompt: the
    model was trained to write it first. "" when the generation prompt is not a prefix of the
    history (then the template formats past turns otherwise, e.g. drops their reasoning)."""
    if probe.start is None or probe.history is None or ANSWER not in probe.history:
        return ""
    head = probe.history[:probe.history.index(ANSWER)]
    return head[len(probe.start):] if head.startswith(probe.start) else ""


def needs_bos(hdr: GGUFHeader) -> str | None:
    """The family name when the model is known to degrade without a BOS token in front of the
    prompt (Gemma: repeated words; Llama and SentencePiece Llama-likes were trained with it)."""
    arch = hdr.architecture or ""
    if arch.startswith("gemma"):
        return "Gemma"
    if arch in ("llama", "llama4", "mllama") and (
            hdr.value("tokenizer.ggml.model") == "llama" or hdr.value("tokenizer.ggml.pre") in ("llama-bpe", "llama3")):
        return "Llama"
    return None

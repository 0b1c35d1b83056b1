"""Any Jinja chat template to a proven Ollama Go template.

    from publish.convert import convert
    conv = convert(chat_template, bos_token="<s>", eos_token="</s>")
    conv.template       # Go template text (uses .Messages, .Tools, .Think where the Jinja does)
    conv.stops          # ["<|im_end|>", ...]: the turn-end tokens the template writes
    conv.approximations # [Approximation(line, col, construct, instead)]: what Go cannot express
    conv.check          # templatecheck.CheckResult: one entry per case of CONVERT_SUITE
    conv.ok             # every case the Jinja template supports renders byte-identical
    conv.verdict        # "identical" / "approximated" (an approximation changes a probe's prompt) / ...

How: jinja2's own parser gives the AST; publish.convert.compiler translates it (see there); the
result is proven by rendering both templates on templatecheck.CONVERT_SUITE (the Jinja one in the
sandbox of publish.chat, the Go one with publish.gotmpl, Ollama's prompt builder). A template that
cannot be compiled raises ConvertError; a compiled one is never returned unchecked.

Approximations are proven too: every approximation that depends on message text carries the texts
that exercise it (Approximation.probes: replace's needle, non-ASCII text for a byte loop ...);
probe_cases() puts each in the system, user and assistant messages of the suite's shapes, and
those cases join the proof. A conversion whose approximations change a probe's prompt is not
identical (verdict "approximated", exit 1); one whose approximations change none stays identical
and still lists them.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from publish.termtext import shell_command
from publish.convert.compiler import MAX_SECONDS, Approximation, BudgetError, CompileError, Compiler
from publish.errors import TemplateError, UnsafeTemplateError

__all__ = ["convert", "Conversion", "ConvertError", "ConvertLimitError", "Approximation", "compile_template"]


class ConvertError(TemplateError):
    """The chat template uses a construct the converter cannot translate; `.line`/`.col` say where."""


class ConvertLimitError(ConvertError, UnsafeTemplateError):
    """The template would cost more than the conversion's budget (docs/convert.md: Limits): too many
    constant-loop iterations, compile steps, characters built, a Go template too large, or more than
    compiler.MAX_SECONDS of compile + proof. Refused as hostile; `.line`/`.col` name the constant
    loop or macro call being expanded when there is one."""


@dataclass
class Conversion:
    """A converted template and its proof.

    template: Go template text. stops: Ollama `stop` strings. approximations: constructs Go cannot
    express, with line:col in the Jinja source. check: per-case results (templatecheck.CheckResult;
    statuses identical / trim / skipped = unsupported by the model / n/a / different / error).
    thinking / tools: whether Ollama will treat the model as thinking- / tool-capable."""

    template: str
    stops: list[str]
    approximations: list[Approximation]
    check: object
    name: str = "chat_template"
    thinking: bool = False
    tools: bool = False
    think_tags: tuple[str, str] | None = None
    warnings: list[str] = field(default_factory=list)
    probes: dict[str, list[Approximation]] = field(default_factory=dict)   # probe case name -> its sources
    probe_cases: tuple = ()     # the probe conversations (templatecheck.OllamaCase) the proof added

    @property
    def verdict(self) -> str:
        """identical (every supported case, probes included, byte-identical, and no approximation
        unproven), trim (the rest differ only by the Jinja template's trimming), approximated (the
        suite's cases pass, but an approximation changes a probe case's prompt or is unproven), none (the model's template renders none
        of the conversations) or different."""
        if not self.check.compared:
            return "none"
        if self.identical:
            return "identical"
        bad = [c for c in self.check.compared if c.status != "identical"]
        if all(c.name in self.probes for c in bad):   # also none: the suite passes, an approximation is unproven
            return "approximated"
        return "trim" if self.ok else "different"

    def approximation_effects(self) -> list[tuple[Approximation, list[str]]]:
        """Each approximation with the probe cases whose prompt it changes ([] when none does or
        it has no probes)."""
        bad = {c.name for c in self.check.compared if c.status != "identical"}
        return [(a, [name for name, srcs in self.probes.items() if name in bad and a in srcs])
                for a in self.approximations]

    def first_refusal(self) -> str | None:
        """The first reason the model's template gave for refusing a conversation, None when it
        renders one."""
        why = next((c.reason for c in self.check.conversations if c.reason and c.status == "skipped"), None)
        return why.removeprefix("unsupported by the model: ") if why else None

    @property
    def ok(self) -> bool:
        """Every case the Jinja template supports is identical (or differs only by Jinja trimming)."""
        return self.check.ok

    @property
    def unproven(self) -> list[Approximation]:
        """Approximations no probe case exercises and no known reason clears (a runtime needle of
        `replace`: no constant to build a probe from). The proof cannot show they make no
        difference, so the conversion is not identical while one remains."""
        return [a for a in self.approximations if not a.probes and not a.unprobed]

    @property
    def identical(self) -> bool:
        """Every compared case is byte-identical and no approximation is unproven."""
        return self.check.exact and not self.unproven

    @property
    def status(self) -> str:
        """The check's verdict: pass, pass-with-warnings or fail
        (templatecheck.CheckResult.status)."""
        return self.check.status

    @property
    def exit_code(self) -> int:
        """The process exit status of `publish template convert`: 0 when the converted template is
        identical on every supported case, else 1."""
        return 0 if self.identical else 1

    def counts(self) -> dict[str, int]:
        """How many cases ended in each state: {status: n}."""
        out: dict[str, int] = {}
        for c in self.check.conversations:
            out[c.status] = out.get(c.status, 0) + 1
        return out

    def write(self, folder: str | os.PathLike) -> list[str]:
        """Write the converted template into `folder` only when it is proven (`identical`): `template`,
        and `stop` set in `params` with its other keys kept (publish.staged.write_template_files).
        Returns the names written, [] when the conversion is not identical (nothing is written).
        Raises UsageError when an existing `params` is not a JSON object, OutputPathError when
        `folder` cannot be written."""
        if not self.identical:
            return []
        from publish.staged import write_template_files

        return write_template_files(folder, self.template, self.stops)

    def to_dict(self) -> dict:
        """The conversion as JSON: name, status, verdict, whether identical, the Go template, stop
        strings, thinking and tools capabilities, approximations (each with the probe cases whose
        prompt it changes), and the check."""
        return {"name": self.name, "status": self.status, "verdict": self.verdict, "identical": self.identical,
                "template": self.template, "stop": self.stops, "thinking": self.thinking, "tools": self.tools,
                "approximations": [{**a.to_dict(), "changes_prompt_on": changed}
                                   for a, changed in self.approximation_effects()],
                "check": self.check.to_dict()}

    def format_text(self, *, show_template: bool = True) -> str:
        """The terminal report: capabilities in Ollama, approximations with their Jinja line:col,
        the case table, the verdict, and the template itself unless `show_template` is False.
        Text from the templates is escaped."""
        from publish import templatecheck
        from publish.termtext import block, one_line

        lines = [f"template convert: {one_line(self.name)}"]
        caps = [c for c, on in (("tools", self.tools), ("thinking", self.thinking)) if on]
        lines.append("capabilities in Ollama: " + (", ".join(caps) if caps else "completion only"))
        if self.approximations:
            lines.append("approximations (what Go cannot express, and what the template does instead):")
            for a, changed in self.approximation_effects():
                ran = any(a in srcs for srcs in self.probes.values())
                if changed:
                    note = f"CHANGES THE PROMPT on probe case(s) {', '.join(changed)}"
                elif ran:
                    note = "no difference on its probe case(s)"
                elif a.probes:
                    note = f"not probed: the template has more than {MAX_PROBES} probe texts"
                elif a.unprobed:
                    note = "not probed: " + a.unprobed
                else:
                    note = "NOT PROVEN: no probe case exercises it"
                lines.append(f"  {one_line(a)} [{one_line(note)}]")
        lines.append(templatecheck.format_table(self.check))
        n = len(self.check.compared)
        same = sum(1 for c in self.check.compared if c.status == templatecheck.IDENTICAL)
        verdict = self.verdict
        if verdict == "none":
            why = self.first_refusal()
            lines.append("result: FAIL (the model's template renders none of the conversations"
                         + (f"; first: {one_line(why)}" if why else "") + ")")
        elif verdict == "identical":
            lines.append(f"result: identical on all {n} supported case(s)")
        elif verdict == "approximated" and same == n:
            lines.append(f"result: approximated: all {n} supported case(s) identical, but the approximation(s) at "
                         + ", ".join(a.where for a in self.unproven) + " are not proven: no probe case "
                         "exercises them")
        elif verdict == "approximated":
            changed = [a for a, hit in self.approximation_effects() if hit]
            lines.append(f"result: approximated: {n - same} of {n} supported case(s) differ, all probe cases; "
                         "the approximation(s) at " + ", ".join(a.where for a in changed) +
                         " change the prompt")
        elif self.ok:
            lines.append(f"result: {same} of {n} supported case(s) identical; the rest differ only by the Jinja "
                         "template's whitespace trimming")
        else:
            lines.append(f"result: FAIL ({n - same} of {n} supported case(s) differ)")
        if show_template:
            lines.append("stop: " + ", ".join(map(one_line, self.stops)))
            lines.append("template (indented by two spaces; text from the chat template cannot start a line):")
            lines.extend("  " + line for line in block(self.template).split("\n"))
        return "\n".join(lines)


def compile_template(chat_template: str, *, bos_token: str = "", eos_token: str = "",
                     name: str = "chat_template", strip_bos: bool = True,
                     loop_builders: bool = False, deadline: float | None = None) -> tuple[Compiler, str]:
    """(compiler, Go text) without the proof. Raises ConvertError (also for an empty or blank
    chat template: it would render every conversation as nothing, which proves nothing; and
    ConvertLimitError for a template past the conversion's budget or still compiling at
    `deadline`, a time.monotonic() value), UnsafeTemplateError."""
    from publish.chat import MAX_TEMPLATE_CHARS

    if not chat_template.strip():
        raise ConvertError("the chat template is empty", name=name,
                           hint="take the model's chat template (its tokenizer_config.json or chat_template.jinja)"
                                + (" and write it into the GGUF with "
                                   f"`{shell_command('publish', 'fix', name.split(':', 1)[0], '--chat-template', 'FILE')}`"
                                   if ".gguf:" in name else ""))

    if len(chat_template) > MAX_TEMPLATE_CHARS:
        raise UnsafeTemplateError(f"chat template is {len(chat_template):,} characters; refusing more than "
                                  f"{MAX_TEMPLATE_CHARS:,}", name=name)
    try:
        comp = Compiler(chat_template, bos_token=bos_token or "", eos_token=eos_token or "", strip_bos=strip_bos,
                        loop_builders=loop_builders, deadline=deadline)
        text = comp.compile()
    except BudgetError as err:
        raise ConvertLimitError(str(err), name=name, line=err.line or None, col=err.col or None,
                                  hint="a chat template this large or this repetitive is refused as hostile; "
                                       "if it is genuine, write the Go template by hand") from None
    except CompileError as err:
        if err.syntax:
            from publish.chat import syntax_error_hint

            hint = syntax_error_hint(name)
        elif err.raises:
            hint = ("Jinja raises there too (transformers' apply_chat_template, llama.cpp --jinja), so no render "
                    "reaching it works; fix the template at that place")
        else:
            hint = ("this construct has no Ollama Go template counterpart yet; write the template by hand or "
                    "pick a family with `publish template suggest`")
        raise ConvertError(str(err), name=name, line=err.line or None, col=err.col or None, hint=hint) from None
    except RecursionError:
        raise ConvertError("template nesting is too deep to convert", name=name) from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, ArithmeticError) as err:
        raise ConvertError(f"the converter failed on this template ({type(err).__name__}: {err})", name=name,
                           hint="this is a bug in publish; please report it with the template") from None
    return comp, text


def convert(chat_template: str, *, bos_token: str | None = None, eos_token: str | None = None,
            name: str = "chat_template", strip_bos: bool = True, timeout: float | None = None,
            specials: Iterable[str] = (), tokens: Collection[str] | None = None) -> Conversion:
    """Convert a Jinja chat template into an Ollama Go template and prove it on CONVERT_SUITE.

    bos_token / eos_token: the model's (GGUF tokenizer.ggml.bos/eos, tokenizer_config.json); a
    leading BOS is dropped from the Jinja renders (the engine adds it) unless strip_bos is False.
    Raises ConvertError when the template cannot be translated, TemplateError when the Go text
    does not parse (a converter bug), UnsafeTemplateError for a hostile Jinja template.
    specials: the model's special token texts (ChatSource.specials), preferred for the stop list.
    tokens: every token text of the model's vocab (ChatSource.tokens, a GGUF's); when given, the
    stop list keeps only texts that are one token of it (a marker the template writes that the
    vocab lacks, like Gemma 4's '<|turn>' in a vocab holding only '<turn|>', the model never
    emits: lint's RP114)."""
    from publish import gotmpl, templatecheck
    from publish.chat import ChatTemplate, RenderCall

    import time

    deadline = time.monotonic() + MAX_SECONDS   # compile + proof (docs/convert.md: Limits)
    comp, text = compile_template(chat_template, bos_token=bos_token or "", eos_token=eos_token or "", name=name,
                                  strip_bos=strip_bos, deadline=deadline)
    kw = {} if timeout is None else {"timeout": timeout}
    chat = ChatTemplate(chat_template, name=name, bos_token=bos_token or "", eos_token=eos_token or "",
                        now=datetime.now(), parsed=comp.ast, **kw)

    gotmpl.template_vars(text)   # parses (cached for the renders); a converter bug raises TemplateError here
    tools, thinking = templatecheck.ollama_capabilities(text)   # what Ollama gives the model
    if tools:   # a template that renders only with tools (a tool_use template) has its turn end here
        history = templatecheck.jinja_messages(
            next(c for c in templatecheck.CONVERT_SUITE if c.name == "system-multi-turn").messages)
        chat.prefetch([RenderCall(history, tools=templatecheck.TOOLS)])   # one child renders it with the proof
    probes = probe_cases(comp.approx, comp.probe_texts, tools=tools)
    suite = templatecheck.CONVERT_SUITE + tuple(case for case, _ in probes)
    rendered = [0]

    def go_render(go_template: str, case) -> str:
        if time.monotonic() > deadline:
            raise _OutOfTime
        rendered[0] += 1
        return _walked_prompt(go_template, case)

    try:
        check = templatecheck.prove(chat, text, strip_bos=strip_bos, go_render=go_render, suite=suite)
    except _OutOfTime:
        raise ConvertLimitError(
            f"converting and proving this template took longer than {MAX_SECONDS:g} s (stopped after "
            f"{rendered[0]} of {len(suite)} Go renders of the proof; the converted "
            f"template is {len(text):,} characters)", name=name,
            hint="a chat template this costly is refused as hostile (docs/convert.md: Limits); if it is "
                 "genuine, write the Go template by hand") from None
    if check.compared and all(not (c.jinja or "").strip() for c in check.compared):
        # a template of comments or whitespace only: "identical" to an empty Go template, proving nothing
        raise ConvertError("the chat template writes nothing (or only whitespace) for every conversation",
                           name=name, hint="take the model's chat template (its tokenizer_config.json or "
                                           "chat_template.jinja); this one has no text to convert")
    extra = []
    if tools:
        out = chat.render_many([RenderCall(history, tools=templatecheck.TOOLS)])[0]
        if out.text is not None:
            extra.append((out.text, history))
    stops = find_stops(check, eos_token or "", specials, extra, tokens=tokens)
    return Conversion(template=text, stops=stops, approximations=comp.approx,
                      check=check, name=name, thinking=thinking, tools=tools, think_tags=comp.think_tags,
                      probes={case.name: srcs for case, srcs in probes},
                      probe_cases=tuple(case for case, _ in probes))


MAX_PROBES = 6          # distinct probe texts per conversion (each adds three cases to the proof)


def probe_cases(approximations: Iterable[Approximation], exact: Iterable[str] = (), *, tools: bool = True):
    """Conversations that exercise the approximations' probe texts and the `exact` texts (the
    constants of text operations the compiler translates exactly, Compiler.probe_texts: replace's
    needle and replacement): [(OllamaCase, [the approximations whose probe it holds])]. For each
    distinct text P (at most MAX_PROBES, approximations' first, in the order found), and
    `probe-tool-arguments` (_tool_argument_probes; with the tools when `tools`, the Go template
    having the tools capability, else without, as Ollama serves it): `probe-N-end`, the system-multi-turn shape with " P" at the end of every
    message; `probe-N-start`, the multi-turn shape (no system message, for templates that refuse
    one) with "P " at the start; `probe-N-whole`, a multi-turn whose every message is exactly P
    (startswith/endswith and equality tests)."""
    from publish.templatecheck import SYSTEM, OllamaCase

    texts: dict[str, list[Approximation]] = {}
    for a in approximations:
        for p in a.probes:
            if p in texts or len(texts) < MAX_PROBES:
                texts.setdefault(p, [])
                if a not in texts[p]:
                    texts[p].append(a)
    for p in exact:
        if p and len(texts) < MAX_PROBES:
            texts.setdefault(p, [])
    out = _tool_argument_probes(approximations, tools)
    for n, (p, srcs) in enumerate(texts.items(), 1):
        def m(role, content):
            return {"role": role, "content": content}
        out.append((OllamaCase(f"probe-{n}-end", [
            m("system", f"{SYSTEM} {p}"), m("user", f"Hello! {p}"), m("assistant", f"Hi! How can I help? {p}"),
            m("user", f"What is 2+2? {p}")]), srcs))
        out.append((OllamaCase(f"probe-{n}-start", [
            m("user", f"{p} Hello!"), m("assistant", f"{p} Hi! How can I help?"), m("user", f"{p} What is 2+2?")]),
            srcs))
        out.append((OllamaCase(f"probe-{n}-whole", [m("user", p), m("assistant", p), m("user", p)]), srcs))
    return out


# tool-call arguments with values that are not strings: a number, a boolean, null, and an object
# and a list inside (keys sorted: Ollama holds a nested object as a Go map), with text Go's json
# escapes and Python's does not (<, >, &, U+2028) and non-ASCII text; and a string at the top
# level with the characters Go's quoting (%q) and Python's json write differently (control
# characters, DEL, U+2028/U+2029) and the ones both escape (a backslash, a quote)
PROBE_ARGUMENTS = {"city": "Paris <&> ü", "days": 3, "metric": True, "note": None,
                   "style": "\x1b[1m\x01\x07\x0b\x7f x\u2028y\u2029z \\ \"q\" \b\f\n\t",
                   "where": {"lat": 48.8, "name": "a<b>&c\u2028d \"q\" é", "tags": ["x", 2, False, {"k": []}]}}


def _tool_argument_probes(approximations, tools: bool = True):
    """[(the tool-call-result conversation with PROBE_ARGUMENTS, [its sources])] when the
    template prints tool-call argument values that are not strings (the suite's tool call has
    string arguments only), else []."""
    from publish.templatecheck import CONVERT_SUITE, TOOL_CALL, OllamaCase

    srcs = [a for a in approximations if a.construct.startswith(("an object inside tool-call",
                                                                 "a value inside tool-call arguments"))]
    if not srcs:
        return []
    base = next(c for c in CONVERT_SUITE if c.name == "tool-call-result")
    call = {**TOOL_CALL, "function": {**TOOL_CALL["function"], "arguments": PROBE_ARGUMENTS}}
    messages = [{**m, "tool_calls": [call]} if m.get("tool_calls") else m for m in base.messages]
    return [(OllamaCase("probe-tool-arguments", messages, base.tools if tools else None, base.think,
                        base.needs if tools else None), srcs)]


class _OutOfTime(Exception):
    """The conversion's time budget (compiler.MAX_SECONDS) ran out during the proof (not a
    TemplateError, which the proof records as a case's error)."""


def _walked_prompt(go_template: str, case) -> str:
    """The proof's Go render (templatecheck.prove's default, Ollama's prompt for the case) by
    walking the parse tree: a conversion renders its template a few dozen times, fewer than it
    takes to repay compiling it to Python first (tens of ms for a large template)."""
    from publish import templatecheck

    return templatecheck.ollama_prompt(go_template, case.messages, case.tools, case.think, compiled=False)


def find_stops(check, eos: str, specials: Iterable[str] = (), extra: Iterable[tuple[str, list[dict]]] = (), *,
               tokens: Collection[str] | None = None) -> list[str]:
    """The `stop` list: what the model's template writes right after an assistant message's
    content, read off the Jinja render (what the model learned) of every case the model supports
    (`check`: templatecheck.CheckResult of CONVERT_SUITE) and of the `extra` (render, messages) pairs
    (convert adds a multi-turn conversation with tools, so a template that only renders with tools
    has one). Each answer's following text goes through probes.turn_end_texts (the finder lint's
    RP115 uses too) with the model's `specials` and `eos`: the turn-end token first, then the
    token that opens the next turn when one follows. [] when every answer is followed by plain
    text or nothing (the template writes no turn end). `tokens`, the vocab's token texts when
    known: a text that is none of them (nor a special or the EOS) is left out, since the model
    never emits it as a token (lint's RP114 refuses such a stop)."""
    from publish.probes import turn_end_texts
    from publish.templatecheck import CONVERT_SUITE, jinja_messages

    cases = {c.name: c for c in CONVERT_SUITE}
    renders = [(c.jinja, jinja_messages(cases[c.name].messages)) for c in check.conversations
               if c.jinja is not None and c.name in cases]
    specials = tuple(specials)
    out: list[str] = []
    for text, messages in [*renders, *extra]:
        for after in texts_after_answers(text, messages):
            for token in turn_end_texts(after, specials, eos=eos):
                if tokens is not None and token not in tokens and token not in specials and token != eos:
                    continue
                if token not in out:
                    out.append(token)
    return out


def texts_after_answers(text: str, messages: list[dict]) -> list[str]:
    """For each assistant message with content that another message follows: the render `text`
    from the end of that content to the start of the next located message content (or to the end
    of `text`). Contents are located in order; one the template does not write verbatim is skipped."""
    located: list[tuple[int, int] | None] = []
    pos = 0
    for m in messages:
        content = m.get("content") if isinstance(m.get("content"), str) else ""
        content = content.strip()
        at = text.find(content, pos) if content else -1
        if at < 0:
            located.append(None)
            continue
        located.append((at, at + len(content)))
        pos = at + len(content)
    out = []
    for i, m in enumerate(messages[:-1]):
        if m.get("role") != "assistant" or located[i] is None:
            continue
        nxt = next((loc for loc in located[i + 1:] if loc is not None), None)
        stop = nxt[0] if nxt is not None else len(text)
        content = m["content"].strip()
        at = text.rfind(content, located[i][0], stop)   # past the thinking a template writes first
        out.append(text[at + len(content):stop])
    return out

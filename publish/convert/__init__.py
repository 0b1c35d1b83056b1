"""Any Jinja chat template to a proven Ollama Go template.

    from publish.convert import convert
    conv = convert(chat_template, bos_token="<s>", eos_token="</s>")
    conv.template       # Go template text (uses .Messages, .Tools, .Think where the Jinja does)
    conv.stops          # ["<|im_end|>", ...]: the turn-end tokens the template writes
    conv.approximations # [Approximation(line, col, construct, instead)]: what Go cannot express
    conv.check          # templatecheck.CheckResult: one entry per case of CONVERT_SUITE
    conv.ok             # every case the Jinja template supports renders byte-identical

How: jinja2's own parser gives the AST; publish.convert.compiler translates it (see there); the
result is proven by rendering both templates on templatecheck.CONVERT_SUITE (the Jinja one in the
sandbox of publish.chat, the Go one with publish.gotmpl, Ollama's prompt builder). A template that
cannot be compiled raises ConvertError; a compiled one is never returned unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from publish.convert.compiler import Approximation, CompileError, Compiler
from publish.errors import TemplateError

__all__ = ["convert", "Conversion", "ConvertError", "Approximation", "compile_template"]


class ConvertError(TemplateError):
    """The chat template uses a construct the converter cannot translate; `.line`/`.col` say where."""


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

    @property
    def ok(self) -> bool:
        """Every case the Jinja template supports is identical (or differs only by Jinja trimming)."""
        return self.check.ok

    @property
    def identical(self) -> bool:
        """Every compared case is byte-identical."""
        return self.check.exact

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

    def to_dict(self) -> dict:
        """The conversion as JSON: name, status, whether identical, the Go template, stop strings,
        thinking and tools capabilities, approximations, and the check."""
        return {"name": self.name, "status": self.status, "identical": self.identical,
                "template": self.template, "stop": self.stops, "thinking": self.thinking, "tools": self.tools,
                "approximations": [a.to_dict() for a in self.approximations],
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
            lines.extend(f"  {one_line(a)}" for a in self.approximations)
        lines.append(templatecheck.format_table(self.check))
        n = len(self.check.compared)
        same = sum(1 for c in self.check.compared if c.status == templatecheck.IDENTICAL)
        if self.identical:
            lines.append(f"result: identical on all {n} supported case(s)")
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
                     loop_builders: bool = False) -> tuple[Compiler, str]:
    """(compiler, Go text) without the proof. Raises ConvertError, UnsafeTemplateError."""
    from publish.chat import MAX_TEMPLATE_CHARS
    from publish.errors import UnsafeTemplateError

    if len(chat_template) > MAX_TEMPLATE_CHARS:
        raise UnsafeTemplateError(f"chat template is {len(chat_template):,} characters; refusing more than "
                                  f"{MAX_TEMPLATE_CHARS:,}", name=name)
    try:
        comp = Compiler(chat_template, bos_token=bos_token or "", eos_token=eos_token or "", strip_bos=strip_bos,
                        loop_builders=loop_builders)
        text = comp.compile()
    except CompileError as err:
        raise ConvertError(str(err), name=name, line=err.line or None, col=err.col or None,
                           hint="this construct has no Ollama Go template counterpart yet; write the "
                                "template by hand or pick a family with `publish template suggest`") from None
    except RecursionError:
        raise ConvertError("template nesting is too deep to convert", name=name) from None
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as err:
        raise ConvertError(f"the converter failed on this template ({type(err).__name__}: {err})", name=name,
                           hint="this is a bug in publish; please report it with the template") from None
    return comp, text


def convert(chat_template: str, *, bos_token: str | None = None, eos_token: str | None = None,
            name: str = "chat_template", strip_bos: bool = True, timeout: float | None = None) -> Conversion:
    """Convert a Jinja chat template into an Ollama Go template and prove it on CONVERT_SUITE.

    bos_token / eos_token: the model's (GGUF tokenizer.ggml.bos/eos, tokenizer_config.json); a
    leading BOS is dropped from the Jinja renders (the engine adds it) unless strip_bos is False.
    Raises ConvertError when the template cannot be translated, TemplateError when the Go text
    does not parse (a converter bug), UnsafeTemplateError for a hostile Jinja template."""
    from publish import gotmpl, templatecheck
    from publish.chat import ChatTemplate

    comp, text = compile_template(chat_template, bos_token=bos_token or "", eos_token=eos_token or "", name=name,
                                  strip_bos=strip_bos)
    kw = {} if timeout is None else {"timeout": timeout}
    chat = ChatTemplate(chat_template, name=name, bos_token=bos_token or "", eos_token=eos_token or "",
                        now=datetime.now(), parsed=comp.ast, **kw)

    gotmpl.template_vars(text)   # parses (cached for the renders); a converter bug raises TemplateError here
    thinking, tools = comp.think_tags is not None, "tools" in comp.uses
    check = templatecheck.prove(chat, text, strip_bos=strip_bos, thinking=thinking, tools=tools)
    return Conversion(template=text, stops=find_stops(check, eos_token or ""), approximations=comp.approx,
                      check=check, name=name, thinking=thinking, tools=tools, think_tags=comp.think_tags)


_TOKEN = re.compile(r"\s*(<\|[^<>|\s]{1,40}\|>|</?[A-Za-z_][A-Za-z0-9_]{0,30}>|\[/?[A-Z][A-Z_]{1,30}\]|<[a-z]{1,5}>)")


def find_stops(check, eos: str) -> list[str]:
    """The turn-end tokens: the special token written right after an assistant reply in the
    multi-turn render, and the one that opens the following user turn."""
    from publish.templatecheck import IDENTICAL, TRIM

    reply = "Hi! How can I help?"
    stops: list[str] = []
    for c in check.conversations:
        if c.name not in ("multi-turn", "system-multi-turn") or c.status not in (IDENTICAL, TRIM) or not c.go:
            continue
        text = c.go
        at = text.find(reply)
        if at < 0:
            continue
        rest = text[at + len(reply):]
        if eos and rest.lstrip().startswith(eos):
            stops.append(eos)
            rest = rest.lstrip()[len(eos):]
        m = _TOKEN.match(rest)
        if m:
            stops.append(m.group(1))
            rest = rest[m.end():]
        nxt = rest.find("What is 2+2?")
        if nxt > 0:
            m = _TOKEN.match(rest[:nxt])
            if m:
                stops.append(m.group(1))
        break
    out: list[str] = []
    for s in stops:
        if s and s not in out:
            out.append(s)
    return out

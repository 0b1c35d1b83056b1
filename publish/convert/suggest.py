"""`publish template suggest` as a library call: which Go template to ship for a model's chat
template. A shipped family template when one builds the same prompts (publish.templatecheck.suggest);
otherwise the chat template converted (publish.convert.convert), used when it is identical on
every case the model supports.

    from publish.convert.inputs import load_chat_template
    from publish.convert.suggest import suggest_template
    s = suggest_template(load_chat_template(Path("model.gguf")))
    s.template, s.exit_code, s.to_dict()
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from publish.convert import Conversion, ConvertError
    from publish.convert.inputs import ChatSource
    from publish.templatecheck import Suggestion


@dataclass
class TemplateSuggestion:
    """What `suggest_template` found for one chat template: the best family (`found`, a
    publish.templatecheck.Suggestion: the family, its CheckResult, every family ranked), and,
    when no family is exact, the conversion tried (`converted`, or `convert_error` when the
    chat template cannot be converted). `source` names what the chat template was read from."""

    source: str
    found: Suggestion
    converted: Conversion | None = None
    convert_error: ConvertError | None = None

    @property
    def uses_conversion(self) -> bool:
        """Whether the conversion is the answer: no family is exact and the converted template is
        identical on every case the model supports."""
        return self.converted is not None and self.converted.identical

    @property
    def matches(self) -> bool:
        """Whether there is a template to ship: a family that builds the same prompts (up to the
        Jinja template's own whitespace trimming), or an identical conversion."""
        return self.found.matches or self.uses_conversion

    @property
    def template(self) -> str | None:
        """The Go template to ship (the conversion's when `uses_conversion`, else the matching
        family's), None when nothing matches."""
        if self.uses_conversion:
            return self.converted.template
        return self.found.family.template if self.found.matches else None

    @property
    def exit_code(self) -> int:
        """0 when `matches`, 1 otherwise (the CLI's exit status)."""
        return 0 if self.matches else 1

    def to_dict(self) -> dict:
        """The JSON document of `publish template suggest --format json`: {"gguf": the source, "family":
        name, "match": bool, "exact": bool, "description", "stop": [str], "template": the family's
        text, "check": CheckResult.to_dict(), "ranking": [{"family", "status", "differing_chars"}],
        "converted": Conversion.to_dict() or None, "convert_error": {"message", "hint"} or None}."""
        fam, result = self.found.family, self.found.result
        err = self.convert_error
        return {
            "gguf": self.source, "family": fam.name, "match": self.matches, "exact": result.exact,
            "description": fam.description, "stop": fam.stop, "template": fam.template,
            "check": result.to_dict(),
            "ranking": [{"family": f.name, "status": r.status, "differing_chars": r.differing_chars}
                        for f, r in self.found.ranked],
            "converted": self.converted.to_dict() if self.converted is not None else None,
            "convert_error": None if err is None else {"message": err.message, "hint": err.hint},
        }

    def format_text(self) -> str:
        """The report for people: the conversion when it is the answer; otherwise the family (or
        the closest), its stops and template, the check's report, and the conversion tried (or why
        it failed). Values from the model are made one line (publish.termtext.one_line) where a
        line is a record."""
        from publish.termtext import json_dumps, one_line

        fam, result = self.found.family, self.found.result
        if self.uses_conversion:
            return (f"no family template is identical (closest: {fam.name}); the converted chat template is "
                    "identical on every case the model supports:\n" + self.converted.format_text())
        lines = []
        if self.found.matches:
            how = "identical prompts" if result.exact else "same prompts up to the Jinja template's whitespace trimming"
            lines.append(f"family: {fam.name} ({how} on every checked conversation)")
        else:
            lines.append(f"no family template builds the same prompts; closest: {fam.name} "
                         f"({result.differing_chars} differing characters)")
        lines += [f"  {fam.description}", "stop: " + json_dumps(fam.stop), "template:", fam.template.rstrip("\n"),
                  result.format_text()]
        if self.converted is not None:
            lines += ["converted chat template (not identical either):", self.converted.format_text(show_template=False)]
        elif self.convert_error is not None:
            lines.append(f"conversion failed: {one_line(self.convert_error.message)}")
            if self.convert_error.hint:
                lines.append(f"  hint: {one_line(self.convert_error.hint)}")
        return "\n".join(lines)


def suggest_template(jinja: ChatSource, *, source: str | Path | None = None) -> TemplateSuggestion:
    """The Go template to ship for the chat template `jinja` (publish.convert.inputs.load_chat_template's
    result): every family template is checked against it (publish.templatecheck.suggest); when none
    is exact, the chat template is converted and proven (publish.convert.convert), and a failed
    conversion is kept as `convert_error` rather than raised. `source` is how the result names
    the input (default: `jinja.name`). Raises UnsafeTemplateError when the chat template tries
    what the sandbox forbids."""
    from publish import templatecheck
    from publish.chat import ChatTemplate
    from publish.convert import ConvertError, convert

    chat = ChatTemplate(jinja.text, name=jinja.name, bos_token=jinja.bos, eos_token=jinja.eos,
                        now=templatecheck.CHECK_DATE)
    found = templatecheck.suggest(chat, strip_bos=jinja.strip_bos)
    out = TemplateSuggestion(str(source if source is not None else jinja.name), found)
    if not found.result.exact:
        try:
            out.converted = convert(jinja.text, bos_token=jinja.bos, eos_token=jinja.eos, name=jinja.name,
                                    strip_bos=jinja.strip_bos, specials=jinja.specials, tokens=jinja.tokens)
        except ConvertError as err:
            out.convert_error = err
    return out

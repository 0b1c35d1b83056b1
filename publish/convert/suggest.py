"""`publish template suggest` as a library call: which Go template to ship for a model's chat
template. A shipped family template when one builds byte-identical prompts
(publish.templatecheck.suggest, which checks the families only); otherwise the chat template
converted (publish.convert.convert) when that is identical on every case the model supports; else
a family that matches up to the Jinja template's whitespace trimming; else nothing.

    from publish.convert.inputs import load_chat_template
    from publish.convert.suggest import suggest_template
    s = suggest_template(load_chat_template(Path("model.gguf")))
    s.picked, s.template, s.stops, s.exit_code, s.to_dict()    # picked: "family", "conversion" or None
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from publish.convert import Conversion, ConvertError
    from publish.convert.inputs import ChatSource
    from publish.templatecheck import Suggestion


FAMILY = "family"            # TemplateSuggestion.picked: a shipped family template (templates/ollama/)
CONVERSION = "conversion"    # TemplateSuggestion.picked: the chat template converted (publish.convert)


@dataclass
class TemplateSuggestion:
    """What `suggest_template` found for one chat template, and which Go template to ship.

    `found`: the family check (a publish.templatecheck.Suggestion: the closest family, its
    CheckResult, every family ranked best first); `converted`: the publish.convert.Conversion
    tried when no family is byte-identical (None when one is, or when the conversion failed:
    `convert_error` then holds the ConvertError); `source`: what the chat template was read from,
    as messages and the JSON name it.

    `picked` is the source whose template to ship: CONVERSION when the conversion is identical on
    every case the model supports (it wins over a family that matches only up to the Jinja
    template's whitespace trimming), else FAMILY when the closest family builds the same prompts
    (identical, or up to that trimming), else None (nothing to ship: exit status 1). `template`,
    `stops` and `exact` are the picked source's. Building one raises nothing; suggest_template
    does the rendering and raises its errors."""

    source: str
    found: Suggestion
    converted: Conversion | None = None
    convert_error: ConvertError | None = None

    @property
    def picked(self) -> str | None:
        """FAMILY, CONVERSION or None (the class docstring says when each)."""
        if self.converted is not None and self.converted.identical:
            return CONVERSION
        return FAMILY if self.found.matches else None

    @property
    def uses_conversion(self) -> bool:
        """Whether the conversion is the answer (`picked == CONVERSION`)."""
        return self.picked == CONVERSION

    @property
    def matches(self) -> bool:
        """Whether there is a template to ship (`picked` is not None)."""
        return self.picked is not None

    @property
    def template(self) -> str | None:
        """The picked source's Go template; None when nothing matches."""
        picked = self.picked
        if picked == CONVERSION:
            return self.converted.template
        return self.found.family.template if picked == FAMILY else None

    @property
    def stops(self) -> list[str] | None:
        """The picked source's stop list (the family's `stop`, or the conversion's); None when
        nothing matches."""
        picked = self.picked
        if picked == CONVERSION:
            return list(self.converted.stops)
        return list(self.found.family.stop) if picked == FAMILY else None

    @property
    def exact(self) -> bool:
        """Whether the picked template builds byte-identical prompts (a family can match only up to
        the Jinja template's whitespace trimming); False when nothing matches."""
        picked = self.picked
        return picked == CONVERSION or (picked == FAMILY and self.found.result.exact)

    @property
    def exit_code(self) -> int:
        """0 when `matches`, 1 otherwise (the CLI's exit status)."""
        return 0 if self.matches else 1

    def to_dict(self) -> dict:
        """The JSON document of `publish template suggest --format json`:

        {"gguf": the source, "picked": "family" | "conversion" | null, "match": bool, "exact": bool,
        "family": the picked family's name or null, "template": the picked source's Go template or
        null, "stop": its stop list or null, "closest_family": {"name", "description", "exact",
        "stop", "template", "check": CheckResult.to_dict()} (the best family, whatever was picked),
        "ranking": [{"family", "status", "differing_chars"}] best first, "converted":
        Conversion.to_dict() or null, "convert_error": {"message", "hint"} or null}."""
        fam, result = self.found.family, self.found.result
        err = self.convert_error
        picked = self.picked
        return {
            "gguf": self.source, "picked": picked, "match": picked is not None, "exact": self.exact,
            "family": fam.name if picked == FAMILY else None, "template": self.template, "stop": self.stops,
            "closest_family": {"name": fam.name, "description": fam.description, "exact": result.exact,
                               "stop": list(fam.stop), "template": fam.template, "check": result.to_dict()},
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
        picked = self.picked
        if picked == CONVERSION:
            return (f"no family template is identical (closest: {fam.name}); the converted chat template is "
                    "identical on every case the model supports:\n" + self.converted.format_text())
        lines = []
        if picked == FAMILY:
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
    is byte-identical, the chat template is converted and proven (publish.convert.convert), and a
    failed conversion is kept as `convert_error` rather than raised. TemplateSuggestion.picked
    says which to ship. `source` is how the result names the input (default: `jinja.name`).

    Raises TemplateError when the chat template does not parse (with line:column), and its
    UnsafeTemplateError when it tries what the sandbox forbids or exceeds its bounds."""
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

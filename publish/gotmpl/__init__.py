"""Go's text/template in pure Python, with the semantics Ollama builds prompts with.

    from publish import gotmpl
    gotmpl.render(template_text, [{"role": "user", "content": "hi"}])   # Ollama's prompt
    t = gotmpl.parse("{{ range . }}{{ . }},{{ end }}")
    t.execute([1, 2])                                                  # "1,2,"

Parse and execution errors raise publish.errors.TemplateError with name, line and column; str()
of the error reads like Go's (`template: NAME:LINE: ...`).
"""

from __future__ import annotations

import functools

from ..errors import TemplateError
from . import funcs as _funcs
from .executor import ExecError, execute
from .parser import ParseError, Tree, parse_trees

__all__ = ["render", "parse", "Template", "uses_messages", "template_vars", "thinking_tags", "TemplateError",
           "ParseError", "ExecError"]


class Template:
    """A parsed template set: the main tree plus every {{define}}/{{block}}."""

    def __init__(self, name: str, text: str, trees: dict[str, Tree]):
        self.name = name
        self.text = text
        self.trees = trees

    def execute(self, data=None, *, missingkey: str = "zero", name: str | None = None) -> str:
        """Execute with Python data (dict = map[string]any, list = []any, int, float, str, ...).

        missingkey="zero" is Ollama's setting; "default" is Go's default (both print
        `<no value>` for a missing key, but differ for chained access such as `.a.b`).
        """
        return execute(self.trees, name or self.name, data, _funcs.OLLAMA_FUNCS,
                       missing_zero=missingkey == "zero", text=self.text, parse_name=self.name)

    def defined(self) -> list[str]:
        """The names of every template in the set (the main one and each {{define}}/{{block}}),
        sorted."""
        return sorted(self.trees)


def parse(text: str, name: str = "template") -> Template:
    """Parse Go template text; Ollama's functions (json, currentDate, ...) are defined."""
    return Template(name, text, parse_trees(text, name, set(_funcs.OLLAMA_FUNCS)))


@functools.lru_cache(maxsize=256)
def _ollama(text: str):
    from .ollama import OllamaTemplate
    return OllamaTemplate(text)


def render(template: str, messages: list[dict], tools: list[dict] | None = None, *,
           think: bool = False, think_level: str = "", is_think_set: bool = False,
           ollama_version: str = "v0.24.0", compiled: bool | None = None) -> str:
    """The prompt Ollama's server builds from this template for a chat request.

    messages are dicts like Ollama's API messages (role, content, thinking, tool_calls,
    tool_name; roles are lower-cased as Ollama decodes them); tools are API tool definitions.
    ollama_version ("v0.24.0", the pinned server, by default) selects the one place the template
    package differs between v0.24.0 and v0.32.2: from v0.30.0 a tool prints as its JSON.
    Checked byte for byte against github.com/ollama/ollama/template v0.24.0 and v0.32.2
    (tests/gotmpl/test_gotmpl_go.py). Parsed templates are cached by text. The first render
    compiles the template to Python (codegen.py), which pays off over many renders;
    compiled=False walks the parse tree instead (the same output; cheaper for a template rendered
    a few times, like a proof).
    """
    return _ollama(template).render(messages, tools, think=think, think_level=think_level,
                                    is_think_set=is_think_set, ollama_version=ollama_version, compiled=compiled)


def template_vars(template: str) -> list[str]:
    """Lower-cased field/variable names the template mentions, as Ollama's Template.Vars()
    (template/template.go, v0.24.0)."""
    return list(_ollama(template).vars)


def thinking_tags(template: str) -> tuple[str, str]:
    """The (opening, closing) reasoning tags Ollama infers from a template, ("", "") when none;
    Ollama treats the model as thinking-capable when both are non-empty (v0.24.0
    thinking/template.go InferTags, server/images.go Capabilities)."""
    return _ollama(template).thinking_tags


def uses_messages(template: str) -> bool:
    """True when Ollama would execute the template once over .Messages (not the legacy loop)."""
    return _ollama(template).uses_messages

"""What the Jinja checks of a chat template find, as values a process can hold without Jinja.

`publish.chat.syntax_problem` gives a SyntaxProblem, `publish.jinja_audit.audit_template` a list
of Suspect. Lint asks for them in a worker process that imports Jinja (publish.jinja_worker) and
rebuilds them from their fields (publish.jinja_facts), so the lint process itself never imports
Jinja (about 40 ms). Both modules re-export these names.
"""

from __future__ import annotations

from publish.records import Record


class SyntaxProblem(Record):
    """Why a chat template does not parse as Jinja: `line`/`col` are 1-based; `kind` is
    "go-template" (an Ollama Go template pasted in), "json" (a whole tokenizer_config.json)
    or "jinja" (a Jinja syntax error). Frozen."""

    __slots__ = ("kind", "message", "line", "col")
    frozen = True
    kind: str
    message: str
    line: int
    col: int | None     # None when the column cannot be told from the source

    def __init__(self, kind: str, message: str, line: int, col: int | None):
        setter = object.__setattr__
        setter(self, "kind", kind)
        setter(self, "message", message)
        setter(self, "line", line)
        setter(self, "col", col)

    @property
    def where(self) -> str:
        """`line:col`, or `line` when the column is unknown."""
        return f"{self.line}" if self.col is None else f"{self.line}:{self.col}"


class Suspect(Record):
    """One payload shape: `line` (1-based) in the template, `what` it is, `excerpt` of the access.
    Frozen."""

    __slots__ = ("line", "what", "excerpt")
    frozen = True
    line: int
    what: str
    excerpt: str

    def __init__(self, line: int, what: str, excerpt: str):
        setter = object.__setattr__
        setter(self, "line", line)
        setter(self, "what", what)
        setter(self, "excerpt", excerpt)


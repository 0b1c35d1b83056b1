"""What the GGUF rules learn by running Jinja on a chat template, kept per template text.

Three rules need Jinja: GG701 parses the template (`syntax_problem`), GG290 audits its parse tree
for sandbox-escape payloads (`audit`), GG204 and GG702 render it on the probe conversations in
the sandbox (`probe`). Each fact is computed once per template text (and BOS/EOS text for the
probe) and kept, so a template is parsed and rendered once however many rules ask.

Importing this module does not import Jinja (about 40 ms): computing a fact does, so a GGUF
without a chat template is linted without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from publish.chat import SyntaxProblem
    from publish.gguf.header import GGUFHeader
    from publish.jinja_audit import Suspect
    from publish.probes import Probe

KEEP = 32   # facts kept (a lint of a folder sees a handful of distinct templates)
_KEPT: dict[tuple, tuple[str, Any]] = {}   # key -> ("value", fact) or ("raised", exception)


def syntax_problem(source: str) -> SyntaxProblem | None:
    """publish.chat.syntax_problem(source), kept."""
    def compute() -> SyntaxProblem | None:
        from publish.chat import syntax_problem as parse

        return parse(source)

    return _fact(("syntax", source), compute)


def audit(source: str) -> list[Suspect]:
    """publish.jinja_audit.audit_template(source) (a new list each call), kept."""
    def compute() -> list[Suspect]:
        from publish.jinja_audit import audit_template

        return audit_template(source)

    return list(_fact(("audit", source), compute))


def probe(source: str, hdr: GGUFHeader | None) -> Probe:
    """publish.probes.jinja_probe(source, hdr), kept per (source, BOS text, EOS text): raises
    UnsafeTemplateError for a hostile template, as jinja_probe does, every time it is asked."""
    def compute() -> Probe:
        from publish.probes import jinja_probe

        return jinja_probe(source, hdr)

    return _fact(("probe", source, *_bos_eos(hdr)), compute)


def _bos_eos(hdr: GGUFHeader | None) -> tuple[str, str]:
    if hdr is None:
        return "", ""
    return hdr.bos_text or "", hdr.eos_text or ""


def _fact(key: tuple, compute) -> Any:
    kept = _KEPT.get(key)
    if kept is None:
        try:
            kept = ("value", compute())
        except Exception as err:  # noqa: BLE001 - only what the computation itself raises
            from publish.errors import TemplateError

            if not isinstance(err, TemplateError):
                raise
            kept = ("raised", err)
        _keep(key, kept)
    if kept[0] == "raised":
        raise kept[1]
    return kept[1]


def _keep(key: tuple, kept: tuple[str, Any]) -> None:
    _KEPT.pop(key, None)
    while len(_KEPT) >= KEEP:
        del _KEPT[next(iter(_KEPT))]
    _KEPT[key] = kept

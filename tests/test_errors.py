"""publish/errors.py: an error inside another keeps its message and its hint apart.

`str(err)` of a PublishError is `MESSAGE\\n  hint: HINT`. Put inside another message, a finding, a
check's reason or a JSON field, that line break is printed as a literal `\\n  hint:` on one line
(the push dry run did: "could not compare ... (ConnectError)\\n  hint: check the network").
Walks every module with ast and fails where a caught PublishError (or a subclass), or a call that
builds one (`hub_error(...)`), is formatted into text with `{err}` or `str(err)`; such code uses
`publish.errors.message_of(err)` and passes `err.hint` on as a hint of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

from publish.errors import HubError, PublishError, TemplateError, message_of

PUBLISH = Path(__file__).resolve().parent.parent / "publish"
FOREIGN = {"jinja2", "tomllib", "json", "re", "ollama", "httpx", "requests"}   # modules with their own *Error


def _publish_error_names() -> set[str]:
    """Class names in publish/ that are PublishError or derive from one (by their bases' names)."""
    bases: dict[str, set[str]] = {}
    for path in PUBLISH.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(
                    b.id if isinstance(b, ast.Name) else b.attr for b in node.bases
                    if isinstance(b, ast.Name) or isinstance(b, ast.Attribute) and not (
                        isinstance(b.value, ast.Name) and b.value.id in FOREIGN))
    ours = {"PublishError"}
    while True:
        more = {name for name, bs in bases.items() if bs & ours} - ours
        if not more:
            return ours
        ours |= more


def _caught(expr: ast.AST | None, ours: set[str]) -> bool:
    parts = expr.elts if isinstance(expr, ast.Tuple) else [expr]
    for p in parts:
        if isinstance(p, ast.Name) and p.id in ours:
            return True
        if isinstance(p, ast.Attribute) and p.attr in ours and not (
                isinstance(p.value, ast.Name) and p.value.id in FOREIGN):
            return True
    return False


def _as_text(node: ast.AST, names: set[str]) -> bool:
    """`{name}` in an f-string or `str(name)`, for an except-bound name in `names`; or the same
    around a call to a function named *_error (publish.hub.client.hub_error builds a HubError)."""
    def is_err(x: ast.AST) -> bool:
        if isinstance(x, ast.Name):
            return x.id in names
        return isinstance(x, ast.Call) and isinstance(x.func, (ast.Name, ast.Attribute)) and \
            (x.func.id if isinstance(x.func, ast.Name) else x.func.attr).endswith("_error")
    if isinstance(node, ast.FormattedValue) and node.conversion != ord("r"):
        return is_err(node.value)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str" \
        and len(node.args) == 1 and is_err(node.args[0])


def nested_error_text(source: str, ours: set[str]) -> list[int]:
    """Lines of `source` that format a PublishError (with its hint) into text."""
    tree = ast.parse(source)
    lines = []
    for handler in ast.walk(tree):
        if isinstance(handler, ast.ExceptHandler) and handler.name and _caught(handler.type, ours):
            lines += [n.lineno for stmt in handler.body for n in ast.walk(stmt) if _as_text(n, {handler.name})]
    lines += [n.lineno for n in ast.walk(tree) if _as_text(n, set())]
    return sorted(set(lines))


def test_no_publish_error_is_formatted_into_text_with_its_hint():
    ours = _publish_error_names()
    assert {"TemplateError", "ParseError", "HubError", "ModelfileError", "SpecError"} <= ours
    found = []
    for path in sorted(PUBLISH.rglob("*.py")):
        for line in nested_error_text(path.read_text(encoding="utf-8"), ours):
            found.append(f"{path.relative_to(PUBLISH)}:{line}")
    assert found == [], "use publish.errors.message_of(err) and pass err.hint on: " + ", ".join(found)


def test_the_walker_finds_the_old_push_plan_and_a_smoke_reason():
    ours = _publish_error_names()
    old_plan = ("try:\n    x()\nexcept Exception as err:\n"
                "    plan.remote_error = str(hub_error(err, repo_id=r, action='plan'))\n")
    old_reason = ("try:\n    x()\nexcept TemplateError as err:\n    why = f'render failed: {err}'\n"
                  "except jinja2.TemplateError as err:\n    why = f'jinja: {err}'\n")   # jinja2's: no hint
    assert nested_error_text(old_plan, ours) == [4]
    assert nested_error_text(old_reason, ours) == [4]
    fixed = "try:\n    x()\nexcept TemplateError as err:\n    why = f'render failed: {message_of(err)}'\n"
    assert nested_error_text(fixed, ours) == []


def test_message_of_drops_the_hint_and_leaves_other_errors_alone():
    err = HubError("plan: cannot reach the Hub", hint="check the network")
    assert str(err) == "plan: cannot reach the Hub\n  hint: check the network"
    assert message_of(err) == "plan: cannot reach the Hub" and err.hint == "check the network"
    assert message_of(TemplateError("unexpected EOF", name="template", line=1, col=4, hint="close it")) \
        == "template:1:4: unexpected EOF"
    assert message_of(ValueError("bad")) == "bad"
    assert isinstance(err, PublishError)

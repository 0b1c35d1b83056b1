"""No code in publish/ tells one failure from another by reading its message text.

Hub failures are told by huggingface_hub's exception classes and status codes
(publish.hub.client.hub_error), Ollama API failures by ollama.ResponseError.status_code, ours by
their class and fields (publish.errors, SplitProblem.key). A message is for people: it is
rephrased between versions, translated by proxies, and a substring test on it breaks silently.
Walks every module with ast and fails on a comparison, a startswith/find, or a regex over the text
of an exception (`str(err)`, `repr(err)`, `err.args`, `err.message`) or over a process's or an
error's `stderr`/`stdout`/`message`/`server_message`.
"""

from __future__ import annotations

import ast
from pathlib import Path

PUBLISH = Path(__file__).resolve().parent.parent / "publish"
TEXT_FIELDS = {"message", "stderr", "stdout", "server_message", "args", "msg"}
ALWAYS_TEXT = {"message", "stderr", "stdout", "server_message"}   # text whatever object holds it
SEARCHES = {"startswith", "endswith", "find", "rfind", "index", "count", "partition"}
REGEX = {"match", "search", "fullmatch", "findall", "finditer"}

# file -> why it reads a message, each a signal no class, field or status code carries
ALLOWED = {
    # `ollama rm NAME` exits 1 for every failure and says "not found" only in its error text
    # (Ollama v0.24.0 cmd/cmd.go DeleteHandler); OllamaCLIBackend.remove's docstring says so
    "smoke/ollama_cli.py": {"'not found' not in proc.stderr"},
}


def _error_text(node: ast.AST, errors: set[str]) -> bool:
    """Whether `node` is the text of an error: str(e)/repr(e) of an except-bound name, e.args,
    e.message, anything.stderr, or one of those lower-cased or stripped."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("str", "repr") \
            and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id in errors:
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in ("lower", "upper", "casefold", "strip", "rstrip", "lstrip"):
        return _error_text(node.func.value, errors)
    if isinstance(node, ast.Subscript):
        return _error_text(node.value, errors)
    if isinstance(node, ast.Attribute) and node.attr in TEXT_FIELDS and isinstance(node.value, ast.Name):
        return node.attr in ALWAYS_TEXT or node.value.id in errors
    return False


def message_matching(path: Path) -> list[tuple[int, str]]:
    """(line, code) of each place in `path` that reads an error's text to decide something."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    errors = {n.name for n in ast.walk(tree) if isinstance(n, ast.ExceptHandler) and n.name}
    out = []
    for node in ast.walk(tree):
        hit = False
        if isinstance(node, ast.Compare) and any(isinstance(o, (ast.In, ast.NotIn, ast.Eq, ast.NotEq))
                                                 for o in node.ops):
            sides = [node.left, *node.comparators]
            hit = any(_error_text(s, errors) for s in sides) and \
                any(isinstance(s, (ast.Constant, ast.JoinedStr)) and not isinstance(getattr(s, "value", ""), int)
                    for s in sides)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in SEARCHES:
                hit = _error_text(node.func.value, errors)
            elif node.func.attr in REGEX:
                texts = node.args[1:] if isinstance(node.func.value, ast.Name) and node.func.value.id == "re" \
                    else node.args[:1]
                hit = any(_error_text(a, errors) for a in texts)
        if hit:
            out.append((node.lineno, ast.unparse(node)))
    return sorted(out)


def test_no_failure_is_told_by_its_message_text():
    found = []
    for path in sorted(PUBLISH.rglob("*.py")):
        rel = path.relative_to(PUBLISH).as_posix()
        found += [f"publish/{rel}:{line} {code}" for line, code in message_matching(path)
                  if code not in ALLOWED.get(rel, ())]
    assert found == [], "tell failures apart by class, status code or a field, not by message text"


def test_the_walker_finds_message_matching(tmp_path):
    m = tmp_path / "m.py"
    m.write_text(
        "try:\n    f()\nexcept Exception as err:\n"
        "    if '404' in str(err): pass\n"                       # 4
        "    if str(err).lower().startswith('not found'): pass\n"  # 5
        "    if re.search('gated', err.message): pass\n"       # 6
        "    if err.args[0] == 'x': pass\n"                    # 7
        "    if err.status_code == 404: pass\n"                # a status code: fine
        "key = PATTERN.match(problem.message)\n"               # 9: a message read back for a field
        "if proc.returncode != 0 and 'busy' in proc.stderr: pass\n")  # 10
    assert [line for line, _ in message_matching(m)] == [4, 5, 6, 7, 9, 10]

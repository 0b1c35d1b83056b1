"""Every public function and class in publish/, and every public method of a public class, has
a docstring (DEVELOPERS.md: shapes, units, errors raised, and the Ollama/llama.cpp source it
mirrors). Walks the source with ast, so nothing is imported and a new undocumented name fails.

Counted as documented without a docstring of its own: a GG rule function (its `@rule(...)`
registration is its page: summary, why, example, fix), and a method that overrides a documented
method of a base class named in the class statement.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "publish"


def _undocumented() -> list[str]:
    trees = {p.relative_to(ROOT).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
             for p in sorted(ROOT.rglob("*.py"))}
    documented: dict[str, set[str]] = {}   # class name -> its methods that have a docstring
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                documented.setdefault(node.name, set()).update(
                    f.name for f in node.body
                    if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and ast.get_docstring(f))

    def is_rule(fn: ast.AST) -> bool:
        return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Name) and d.func.id == "rule"
                   for d in getattr(fn, "decorator_list", ()))

    def inherits_doc(cls: ast.ClassDef, name: str) -> bool:
        for base in cls.bases:
            base_name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)
            if base_name and name in documented.get(base_name, ()):
                return True
        return False

    out = []
    for mod, tree in trees.items():
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or node.name.startswith("_"):
                continue
            if ast.get_docstring(node) is None and not is_rule(node):
                out.append(f"{mod}:{node.name}")
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and not sub.name.startswith("_") \
                            and ast.get_docstring(sub) is None and not inherits_doc(node, sub.name):
                        out.append(f"{mod}:{node.name}.{sub.name}")
    return out


def test_public_functions_classes_and_methods_have_docstrings():
    missing = _undocumented()
    assert not missing, ("public names without a docstring (give shapes, units, errors raised and, where "
                         "it mirrors Ollama or llama.cpp, the source file and version):\n  " + "\n  ".join(missing))


def test_the_walk_sees_a_missing_docstring(tmp_path, monkeypatch):
    """The check itself can fail: an undocumented public function, method and class are found."""
    pkg = tmp_path / "publish"
    pkg.mkdir()
    (pkg / "m.py").write_text('def f():\n    pass\n\n\nclass C:\n    """doc"""\n\n    def m(self):\n        pass\n\n'
                              '    def n(self):\n        """doc"""\n\n\n'
                              'class D(C):\n    def n(self):\n        pass\n\n\ndef _private():\n    pass\n\n\n'
                              '@rule("GG999", "name", None, "the rule page is its doc")\ndef checked(hdr):\n    pass\n')
    monkeypatch.setattr(sys.modules[__name__], "ROOT", pkg)
    # D.n overrides the documented C.n and `checked` is a registered rule: both count as documented
    assert _undocumented() == ["m.py:f", "m.py:C.m", "m.py:D"]


# -- the errors a function raises are in its docstring -----------------------------------------

# raised by a function but not named in its docstring, each with the reason it is left so
RAISES_LEFT: set[str] = set()


def _raised_here(fn: ast.AST) -> set[str]:
    """The exception classes `fn`'s own body raises by name (`raise X(...)`, `raise X`, `raise
    err` of a bound name), not those of functions nested in it; a bare `raise` re-raises and
    names nothing. Private classes (`_Break`: control flow between a function's own parts) and
    AssertionError/NotImplementedError (internal contracts) are left out."""
    out: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(child, ast.Raise) and child.exc is not None:
                exc = child.exc.func if isinstance(child.exc, ast.Call) else child.exc
                name = getattr(exc, "id", getattr(exc, "attr", None))
                if name and not name.startswith("_") and name not in ("AssertionError", "NotImplementedError"):
                    out.add(name)
            visit(child)
    visit(fn)
    return out


def _raises_undocumented(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("cli/"):
            continue   # a click command's docstring is its --help text; UsageError is exit status 2 there
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [(n.name, n) for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        functions += [(f"{c.name}.{n.name}", n) for c in tree.body if isinstance(c, ast.ClassDef)
                      and not c.name.startswith("_")
                      for n in c.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
        for name, fn in functions:
            if name.split(".")[-1].startswith("_"):
                continue
            raised = _raised_here(fn)
            doc = ast.get_docstring(fn) or ""
            if raised and "raise" not in doc.lower() and not any(r in doc for r in raised) \
                    and f"{rel}:{name}" not in RAISES_LEFT:
                out.append(f"{rel}:{name} raises {', '.join(sorted(raised))}")
    return out


def test_a_public_function_that_raises_says_so():
    """DEVELOPERS.md asks for the errors raised: a public function or method whose own body raises
    an exception says so in its docstring ("Raises X when ...", or names the class). What it only
    lets through from its callees is not checked."""
    missing = _raises_undocumented(ROOT)
    assert not missing, "say what is raised and when:\n  " + "\n  ".join(missing)


def test_the_raise_check_can_fail(tmp_path):
    (tmp_path / "m.py").write_text(
        'def f(x):\n    """Do it."""\n    if x:\n        raise UsageError("no")\n\n\n'
        'def g(x):\n    """Do it. Raises UsageError when x."""\n    raise UsageError("no")\n\n\n'
        'def h(x):\n    """Do it."""\n    def inner():\n        raise ValueError\n    try:\n        pass\n'
        '    except OSError:\n        raise\n\n\n'
        'class C:\n    """doc"""\n\n    def m(self):\n        """Walk."""\n        raise _Break\n\n'
        '    def n(self, err):\n        """Fail."""\n        raise err\n')
    assert _raises_undocumented(tmp_path) == ["m.py:f raises UsageError", "m.py:C.n raises err"]


# -- what mirrors another project's function says which version --------------------------------

# a docstring naming a function of another project it mirrors: "Ollama's deleteNode()", "Go's
# strconv.Quote", "server/routes.go", "llama_tensor_get_type"
MIRRORS = re.compile(
    r"\b(?:Ollama|llama\.cpp|Go|gguf-py|ggml|jinja2|transformers|huggingface_hub|huggingface\.js)(?:'s)? "
    r"`?[A-Za-z_][\w.]*\(\)"
    r"|\b(?:strconv|fmt|json|template|parse|sort|strings|utf8|unicode)\.[A-Z]\w+"
    r"|\b[a-z]+/[a-z_]+\.go\b|\bllama_[a-z_]+\b")
# a version or a commit: v0.24.0, Go 1.23, 007dbbf, b4567, gguf-py 0.19, @huggingface/tasks 0.21.54
VERSION = re.compile(r"\bv\d+\.\d+\.\d+\b|\bGo 1\.\d+|\b[0-9a-f]{7,40}\b|\bb\d{4}\b|\bgguf-py \d|\bjinja2 \d"
                     r"|huggingface_hub \d|@huggingface/\S+ \d")


def _mirrors_without_version(root: Path) -> list[str]:
    out = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def walk(node: ast.AST, outer: list[str]) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    doc = ast.get_docstring(child) or ""
                    claim = MIRRORS.search(doc)
                    if claim and not child.name.startswith("_") \
                            and not any(VERSION.search(d) for d in (doc, *outer)):
                        out.append(f"{path.relative_to(root).as_posix()}:{child.name} ({claim.group(0)})")
                    walk(child, [*outer, doc])
        walk(tree, [ast.get_docstring(tree) or ""])
    return out


def test_a_docstring_that_names_what_it_mirrors_gives_the_version():
    """DEVELOPERS.md: where behaviour mirrors Ollama or llama.cpp, the source file and version. A
    docstring that names another project's function (Ollama's collate(), Go's strconv.Quote, a
    server/routes.go, llama.cpp's llama_ftype) gives the version or commit it was read at, in
    itself, its class's or its module's docstring: behaviour changes between releases."""
    missing = _mirrors_without_version(ROOT)
    assert not missing, "add the version (v0.24.0, Go 1.23, a commit):\n  " + "\n  ".join(missing)


def test_the_version_check_can_fail(tmp_path):
    (tmp_path / "a.py").write_text('"""Go formatting."""\n\ndef quote(s):\n    """Go\'s strconv.Quote."""\n')
    (tmp_path / "b.py").write_text('"""Go formatting (Go 1.23 strconv/quote.go)."""\n\n'
                                   'def quote(s):\n    """Go\'s strconv.Quote."""\n\n\n'
                                   'def plain(s):\n    """Nothing mirrored."""\n')
    (tmp_path / "c.py").write_text('def vars(t):\n    """As Ollama\'s Template.Vars() (template/template.go)."""\n')
    assert _mirrors_without_version(tmp_path) == ["a.py:quote (strconv.Quote)", "c.py:vars (Ollama's Template.Vars())"]

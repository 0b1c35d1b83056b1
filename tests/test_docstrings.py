"""Every public function and class in publish/, and every public method of a public class, has
a docstring (DEVELOPERS.md: shapes, units, errors raised, and the Ollama/llama.cpp source it
mirrors). Walks the source with ast, so nothing is imported and a new undocumented name fails.

Counted as documented without a docstring of its own: a GG rule function (its `@rule(...)`
registration is its page: summary, why, example, fix), and a method that overrides a documented
method of a base class named in the class statement.
"""

from __future__ import annotations

import ast
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

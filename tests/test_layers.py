"""The layers point down: the GGUF core imports nothing from the layers built on it.

Walks every module under publish/gguf/ with ast (imports at any depth, including the lazy ones
inside functions), so a new upward import fails here instead of in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PUBLISH = Path(__file__).resolve().parent.parent / "publish"

# layer -> packages/modules it must never import (publish.X and publish.X.*)
FORBIDDEN = {
    "gguf": ("lint", "sources", "hub", "folder_rules", "fixing", "smoke", "release", "build", "spec",
             "staged", "cli", "convert"),
    "gotmpl": ("lint", "sources", "hub", "folder_rules", "smoke", "release", "build", "cli"),
}
LOWEST = ("errors", "findings", "quants", "units", "fsutil", "termtext", "records")


def imported(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Call) and _called(node) == "import_module" and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            out.append((node.lineno, node.args[0].value))
    return out


def _called(node: ast.Call) -> str:
    return getattr(node.func, "attr", getattr(node.func, "id", ""))


def violations(package: str, banned: tuple[str, ...]) -> list[str]:
    bad = []
    for path in sorted((PUBLISH / package).rglob("*.py")):
        for line, name in imported(path):
            if any(name == f"publish.{b}" or name.startswith(f"publish.{b}.") for b in banned):
                bad.append(f"{path.relative_to(PUBLISH.parent)}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_core_packages_import_nothing_above_them(package):
    assert violations(package, FORBIDDEN[package]) == []


def test_the_lowest_modules_import_only_each_other():
    bad = []
    for mod in LOWEST:
        path = PUBLISH / f"{mod}.py"
        for line, name in imported(path):
            if name.startswith("publish.") and name.split(".")[1] not in LOWEST:
                bad.append(f"publish/{mod}.py:{line} imports {name}")
    assert bad == []


def test_the_walker_sees_lazy_imports(tmp_path):
    """The check itself can fail: a function-level upward import is found."""
    (tmp_path / "m.py").write_text("def f():\n    from publish.lint import parse_selectors\n")
    assert imported(tmp_path / "m.py") == [(2, "publish.lint"), (2, "publish.lint.parse_selectors")]


def test_hub_addresses_are_parsed_in_one_place():
    """`hf://` (a file to read) and `hf.co/` (an Ollama model name) are told apart by publish.addresses only."""
    from publish.addresses import is_hub_file_url, is_ollama_hub_name, ollama_hub_repo, parse_hub_file_url

    u = parse_hub_file_url("hf://org/name@v1.0/sub/m-Q8_0.gguf")
    assert (u.repo_id, u.revision, u.path) == ("org/name", "v1.0", "sub/m-Q8_0.gguf")
    assert is_hub_file_url("hf://org/name") and not is_hub_file_url("hf.co/org/name")
    assert is_ollama_hub_name("hf.co/org/name:Q8_0") and not is_ollama_hub_name("hf://org/name")
    assert ollama_hub_repo("https://huggingface.co/org/name:Q8_0") == "org/name"
    literal = [f"{p.relative_to(PUBLISH.parent)}" for p in sorted(PUBLISH.rglob("*.py"))
               if p.name != "addresses.py" and ('"hf://"' in p.read_text() or '"hf.co/"' in p.read_text())]
    assert literal == []

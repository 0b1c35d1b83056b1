"""The layers point down: errors/quants/findings < gguf, gotmpl < the release flow < the CLI.

Walks every module under publish/ with ast: imports at any depth (the lazy ones inside functions
too), relative imports resolved (`from ..lint import x` in publish/gguf/ is publish.lint), and
`importlib.import_module("publish.x")`. A layer is judged on everything it reaches, not only on
its own import lines: publish.gguf.rules importing a helper that imports publish.sources is an
upward import too. A new one fails here, naming the chain, instead of in review.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

PUBLISH = Path(__file__).resolve().parent.parent / "publish"

# layer -> packages/modules it must never reach (publish.X and publish.X.*), directly or through others
FORBIDDEN = {
    "gguf": ("lint", "sources", "hub", "folder_rules", "fixing", "smoke", "release", "build", "spec",
             "staged", "cli", "convert", "quickcli", "inspection"),
    "gotmpl": ("lint", "sources", "hub", "folder_rules", "fixing", "smoke", "release", "build", "spec",
               "staged", "cli", "convert", "quickcli", "inspection", "gguf", "chat", "templatecheck"),
}
LOWEST = ("errors", "findings", "quants", "units", "fsutil", "inputpaths", "termtext", "records", "addresses")
# the only modules outside publish/cli/ that may import the click CLI
CLI_ENTRY = ("publish.__main__",)


def module_name(path: Path, root: Path = PUBLISH) -> str:
    """publish/gguf/rules.py -> "publish.gguf.rules"; a package's __init__.py is the package."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in `path`, relative ones resolved against `module`
    (the file's own dotted name; derived from `path` under publish/ when not given). A
    `from X import y` gives both X and X.y (y may be a submodule)."""
    if module is None:
        module = module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            out.append((node.lineno, source))
            out += [(node.lineno, f"{source}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Call) and _called(node) in ("import_module", "__import__") and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            out.append((node.lineno, node.args[0].value))
    return out


def _called(node: ast.Call) -> str:
    return getattr(node.func, "attr", getattr(node.func, "id", ""))


@lru_cache(maxsize=None)
def _modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PUBLISH.rglob("*.py"))}


@lru_cache(maxsize=None)
def _edges(module: str) -> tuple[tuple[int, str], ...]:
    """(line, module of publish it imports), each name cut to the module file that holds it."""
    modules = _modules()
    out = []
    for line, name in imported(modules[module], module):
        while name and name not in modules:
            name = name.rpartition(".")[0]
        if name and name != module:
            out.append((line, name))
    return tuple(dict.fromkeys(out))


def reach(module: str) -> dict[str, list[str]]:
    """Every publish module `module` imports directly or through others -> the shortest chain of
    "file:line imports X" steps that gets there."""
    chains: dict[str, list[str]] = {}
    todo = [module]
    while todo:
        here = todo.pop(0)
        rel = _modules()[here].relative_to(PUBLISH.parent).as_posix()
        for line, there in _edges(here):
            if there not in chains and there != module:
                chains[there] = [*chains.get(here, []), f"{rel}:{line} imports {there}"]
                todo.append(there)
    return chains


def _under(name: str, package: str) -> bool:
    return name == f"publish.{package}" or name.startswith(f"publish.{package}.")


def violations(package: str, banned: tuple[str, ...]) -> list[str]:
    """Each way a module of publish/<package>/ reaches a banned module, as its import chain."""
    bad = []
    for module in _modules():
        if not _under(module, package):
            continue
        for target, chain in reach(module).items():
            if any(_under(target, b) for b in banned):
                bad.append(" -> ".join(chain))
    return sorted(set(bad))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_core_packages_reach_nothing_above_them(package):
    assert violations(package, FORBIDDEN[package]) == []


def test_the_gguf_core_reaches_no_lint_sources_or_hub():
    """Issue 10's done-when line, checked on its own: no module under publish/gguf/ imports
    publish.lint, publish.sources or publish.hub, at any depth and through any other module."""
    assert violations("gguf", ("lint", "sources", "hub")) == []


def test_the_lowest_modules_reach_only_each_other():
    bad = []
    for mod in LOWEST:
        for target, chain in reach(f"publish.{mod}").items():
            if target.split(".")[1] not in LOWEST:
                bad.append(" -> ".join(chain))
    assert bad == []


def test_only_the_entry_point_imports_the_click_cli():
    """The library never calls into publish/cli/ (the CLI sits on top of it); only
    `python -m publish` / the console script (publish.__main__) does."""
    bad = [" -> ".join(chain[:1])
           for module in _modules() if not _under(module, "cli") and module not in CLI_ENTRY
           for target, chain in reach(module).items() if _under(target, "cli") and len(chain) == 1]
    assert bad == []


def test_the_library_does_not_import_click():
    """click is the CLI's: a module outside publish/cli/ that imports it makes Python users load
    it (and makes `publish inspect`/`lint`'s quick path slower, publish.quickcli)."""
    bad = [f"{path.relative_to(PUBLISH.parent)}:{line} imports {name}"
           for module, path in _modules().items() if not _under(module, "cli")
           for line, name in imported(path, module) if name == "click" or name.startswith("click.")]
    assert bad == []


def test_the_walker_sees_lazy_relative_and_indirect_imports(tmp_path):
    """The check itself can fail: a function-level import, a relative one, and one reached
    through another module are all found."""
    (tmp_path / "m.py").write_text("def f():\n    from publish.lint import parse_selectors\n")
    assert imported(tmp_path / "m.py", "publish.gguf.m") == [(2, "publish.lint"),
                                                            (2, "publish.lint.parse_selectors")]
    (tmp_path / "r.py").write_text("def f():\n    from ..sources import open_source\n    from . import x\n")
    assert imported(tmp_path / "r.py", "publish.gguf.r") == [
        (2, "publish.sources"), (2, "publish.sources.open_source"), (3, "publish.gguf"), (3, "publish.gguf.x")]
    (tmp_path / "__init__.py").write_text("from .hub import client\n")
    assert imported(tmp_path / "__init__.py", "publish.gguf") == [(1, "publish.gguf.hub"),
                                                                  (1, "publish.gguf.hub.client")]
    # an indirect path: publish.gguf.rules reaches publish.probes; were probes to import publish.hub,
    # the chain would name both steps
    chain = reach("publish.gguf.rules")["publish.probes"]
    assert chain[0].startswith("publish/gguf/rules.py:") and chain[-1].endswith("imports publish.probes")


ADDRESS_PREFIXES = ("hf://", "hf.co/", "huggingface.co/")
# files that still spell an address part their own way, each with what is left: publish.smoke.targets'
# registry_host returns the host "hf.co" of an Ollama Hub name (the file was being rewritten by the
# Hub-repo-as-StagedFolder work; its hf:// and hf.co/ addresses already go through publish.addresses)
ADDRESS_BUILDERS_LEFT = {"publish/smoke/targets.py"}


def address_literals(path: Path) -> list[tuple[int, str]]:
    """Where `path` spells a Hub address prefix as code, not prose: a string that is just the
    prefix ("hf://", "hf.co/", also "hf.co" or "huggingface.co"), or an f-string that puts a value
    right after one (f"hf.co/{repo}" builds an address; f"hf.co/ORG/REPO:{tag}" in a message does
    not), or addresses.py's prefix constants used elsewhere (f"{OLLAMA_HUB_PREFIX}{repo}").
    (line, the code) for each."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.JoinedStr):
            for a, b in zip(node.values, node.values[1:]):
                if isinstance(a, ast.Constant) and isinstance(b, ast.FormattedValue) \
                        and str(a.value).endswith(ADDRESS_PREFIXES):
                    out.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value in (*ADDRESS_PREFIXES, "hf:", "hf.co", "huggingface.co"):
            out.append((node.lineno, repr(node.value)))
        elif isinstance(node, (ast.Name, ast.alias)) and \
                (getattr(node, "id", None) or getattr(node, "name", None)) in ("HUB_FILE_PREFIX", "OLLAMA_HUB_PREFIX"):
            out.append((getattr(node, "lineno", 0), getattr(node, "id", None) or node.name))
    return out


def test_hub_addresses_are_parsed_and_built_in_one_place():
    """`hf://` (a file to read) and `hf.co/` (an Ollama model name) are told apart, parsed and
    written by publish.addresses only; the rest of publish/ calls its functions."""
    from publish.addresses import (hub_file_url, is_hub_file_url, is_ollama_hub_name, ollama_hub_name,
                                   ollama_hub_repo, parse_hub_file_url, parse_ollama_hub_name)

    u = parse_hub_file_url("hf://org/name@v1.0/sub/m-Q8_0.gguf")
    assert (u.repo_id, u.revision, u.path) == ("org/name", "v1.0", "sub/m-Q8_0.gguf")
    assert is_hub_file_url("hf://org/name") and not is_hub_file_url("hf.co/org/name")
    assert is_ollama_hub_name("hf.co/org/name:Q8_0") and not is_ollama_hub_name("hf://org/name")
    assert ollama_hub_repo("https://huggingface.co/org/name:Q8_0") == "org/name"
    # what the builders write, the parsers read back
    assert hub_file_url("org/name") == "hf://org/name"
    assert parse_hub_file_url(hub_file_url("org/name", "a/b.gguf", revision="v1")) == u.__class__("org/name", "v1", "a/b.gguf")
    assert u.with_path("t") == "hf://org/name@v1.0/t"
    assert ollama_hub_name("org/name") == "hf.co/org/name"
    assert parse_ollama_hub_name(ollama_hub_name("org/name", "Q4_K_M")).tag == "Q4_K_M"
    found = [f"{p.relative_to(PUBLISH.parent).as_posix()}:{line} {code}" for p in sorted(PUBLISH.rglob("*.py"))
             if p.name != "addresses.py" and p.relative_to(PUBLISH.parent).as_posix() not in ADDRESS_BUILDERS_LEFT
             for line, code in address_literals(p)]
    assert found == []


def test_the_address_walker_finds_a_built_address(tmp_path):
    m = tmp_path / "m.py"
    m.write_text('a = f"hf.co/{repo}"\nb = "hf://" + repo\nc = f"see hf.co/ORG/REPO:{tag}"\n'
                 'from publish.addresses import OLLAMA_HUB_PREFIX\nd = f"{OLLAMA_HUB_PREFIX}{repo}"\n')
    assert sorted(address_literals(m)) == [(1, "'hf.co/'"), (1, "f'hf.co/{repo}'"), (2, "'hf://'"),
                                           (4, "OLLAMA_HUB_PREFIX"), (5, "OLLAMA_HUB_PREFIX")]

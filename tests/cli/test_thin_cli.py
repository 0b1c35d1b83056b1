"""The CLI modules only parse options and print: no file is read in publish/cli/ (template
loading, the Modelfile's TEMPLATE, a tokenizer_config.json, the staged folder: all in the library,
where Python users get them too). Walks every module with ast, so a new read fails here."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "publish" / "cli"
READS = {"open", "read_text", "read_bytes", "read_utf8"}   # the library reads through its loaders


def reads(path: Path) -> list[str]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in READS:
                out.append(f"{path.name}:{node.lineno} calls {name}()")
    return out


def test_no_cli_module_reads_a_file():
    found = [hit for path in sorted(CLI.glob("*.py")) for hit in reads(path)]
    assert found == []


def test_the_walker_finds_a_read(tmp_path):
    cmd = tmp_path / "x_cmd.py"
    cmd.write_text("def load_go(path):\n    with open(path, 'rb') as fh:\n        return fh.read(4)\n")
    assert reads(cmd) == ["x_cmd.py:2 calls open()"]

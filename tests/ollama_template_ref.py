"""Ollama's own template package (v0.24.0) as a reference renderer: tests/ollama_template_ref/main.go,
built once with the Go toolchain into ~/.cache/publish/ (the module comes from the Go module proxy).

    from ollama_template_ref import render_real
    render_real([{"template": text, "messages": [...], "tools": None, "think": False}])
    # -> [{"output": "...", "error": ""}]
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

SRC = Path(__file__).parent / "ollama_template_ref"


def have_go() -> bool:
    return shutil.which("go") is not None


def binary() -> Path:
    digest = hashlib.sha256(b"".join((SRC / f).read_bytes() for f in ("main.go", "go.mod", "go.sum"))).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "publish" / "ollama_template_ref"
    exe = cache / f"ref-{digest}"
    if not exe.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = exe.with_suffix(".tmp")
        subprocess.run(["go", "build", "-o", str(tmp), "."], cwd=SRC, check=True, capture_output=True,
                       timeout=600)
        os.replace(tmp, exe)
    return exe


def render_real(requests: list[dict]) -> list[dict]:
    """Each request: template, messages (Ollama API dicts), tools, think, is_think_set, repeat."""
    proc = subprocess.run([str(binary())], input=json.dumps(requests).encode(), capture_output=True,
                          timeout=300, check=True)
    return json.loads(proc.stdout)

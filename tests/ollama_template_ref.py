"""Ollama's own template package as a reference renderer: tests/ollama_template_ref/main.go, built
once per source digest with the Go toolchain into ~/.cache/publish/ (modules from the Go module proxy).

Two pinned modules share main.go: tests/ollama_template_ref/go.mod (v0.24.0, the server `make ollama`
builds) and tests/ollama_template_ref/v0.32/go.mod (v0.32.2, the newest release whose go.mod Go 1.26
accepts).

    from ollama_template_ref import render_real
    render_real([{"template": text, "messages": [...], "tools": None, "think": False}])
    render_real([{"raw": True, "template": text, "data": {...}, "missingkey": "zero"}], "v0.32.2")
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
MODULES = {"v0.24.0": SRC, "v0.32.2": SRC / "v0.32"}  # version -> folder of its go.mod/go.sum
VERSIONS = tuple(MODULES)


def have_go() -> bool:
    return shutil.which("go") is not None


def binary(version: str = "v0.24.0") -> Path:
    """The reference program built against Ollama `version` (a key of MODULES), cached by digest."""
    mod = MODULES[version]
    sources = {"main.go": SRC / "main.go", "go.mod": mod / "go.mod", "go.sum": mod / "go.sum"}
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources.values())).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "publish" / "ollama_template_ref"
    exe = cache / f"ref-{version}-{digest}"
    if not exe.exists():
        build = cache / f"src-{version}-{digest}"
        build.mkdir(parents=True, exist_ok=True)
        for name, path in sources.items():
            shutil.copyfile(path, build / name)
        tmp = exe.with_suffix(".tmp")
        subprocess.run(["go", "build", "-o", str(tmp), "."], cwd=build, check=True, capture_output=True,
                       timeout=600, env={**os.environ, "GOFLAGS": "-mod=readonly", "GOTOOLCHAIN": "local"})
        os.replace(tmp, exe)
    return exe


def render_real(requests: list[dict], version: str = "v0.24.0") -> list[dict]:
    """Each request: template, messages (Ollama API dicts), tools, think, think_level, is_think_set,
    repeat; or raw=True with template, data, missingkey (plain text/template)."""
    proc = subprocess.run([str(binary(version))], input=json.dumps(requests).encode(), capture_output=True,
                          timeout=300, check=True)
    return json.loads(proc.stdout)

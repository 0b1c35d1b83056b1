"""Ollama's own thinking.InferTags as a reference (tests/ollama/thinking_ref/main.go, importing
github.com/ollama/ollama v0.24.0's template and thinking packages), built once per test run.

    from ollama_thinking_ref import infer_tags_real
    infer_tags_real([go_template_text, ...])   # -> [[opening, closing] or {"error": ...}, ...]
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path

from conftest import go_binary
from paths import TESTS

REF_DIR = TESTS / "ollama" / "thinking_ref"


@functools.cache
def _binary() -> Path:
    go = go_binary()
    assert go is not None, "Go is needed for Ollama's own thinking.InferTags (make go)"
    exe = Path(os.environ.get("TMPDIR", "/tmp")) / f"publish-thinking-ref-{os.getuid()}"
    env = dict(os.environ, GOFLAGS="-mod=mod", GO111MODULE="on", GOTOOLCHAIN="local", CGO_ENABLED="0")
    subprocess.run([go, "build", "-o", str(exe), "."], cwd=REF_DIR, env=env, check=True,
                   capture_output=True, timeout=600)
    return exe


def infer_tags_real(texts: list[str]) -> list:
    """For each template text: Ollama's [opening, closing] tags ("" when none), or {"error": ...}
    when Ollama's template.Parse refuses it."""
    proc = subprocess.run([str(_binary())], input=json.dumps(texts).encode(), capture_output=True,
                          check=True, timeout=120)
    return json.loads(proc.stdout)

"""The fuzz session of tests/fuzz.py (reader, Jinja sandbox, gotmpl, spec loader) runs in CI: a
short one, in a child process under its own memory limit (2 GB) and per-example time bound."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FUZZ = Path(__file__).with_name("fuzz.py")


def test_fuzz_session_finds_nothing():
    proc = subprocess.run([sys.executable, str(FUZZ)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for target in ("reader", "jinja", "gotmpl", "spec"):
        assert f"{target}" in proc.stdout and "examples" in proc.stdout
    assert "fuzz: no failure" in proc.stdout
    assert "Traceback" not in proc.stderr

"""A real-engine test never passes by being skipped: without llama-cpp-python a `llamacpp` test
fails (tests/conftest.py), and only PUBLISH_NO_LLAMACPP=1, set by hand, skips it."""

from __future__ import annotations

import os
import subprocess
import sys

from paths import TESTS

PROBE = '''
import pytest

@pytest.mark.llamacpp
def test_needs_llama():
    import llama_cpp  # noqa: F401
'''


def _run(tmp_path, **env):
    (tmp_path / "test_probe.py").write_text(PROBE)
    shadow = tmp_path / "shadow" / "llama_cpp"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('hidden for this test')\n")
    env = {**{k: v for k, v in os.environ.items() if k != "PUBLISH_NO_LLAMACPP"},
           "PYTHONPATH": str(tmp_path / "shadow"), **env}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "--rootdir", str(TESTS), "--confcutdir", str(TESTS),
                           "-c", os.devnull, "-p", "conftest", str(tmp_path / "test_probe.py")],
                          capture_output=True, text=True, env=env, cwd=TESTS, timeout=120)


def test_a_llamacpp_test_without_llama_cpp_fails(tmp_path):
    proc = _run(tmp_path)
    assert proc.returncode == 1, proc.stdout
    assert "1 error" in proc.stdout and "llama-cpp-python is not installed" in proc.stdout


def test_publish_no_llamacpp_skips_on_purpose(tmp_path):
    proc = _run(tmp_path, PUBLISH_NO_LLAMACPP="1")
    assert proc.returncode == 0, proc.stdout
    assert "1 skipped" in proc.stdout and "PUBLISH_NO_LLAMACPP=1" in proc.stdout

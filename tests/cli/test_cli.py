"""The command line as a user meets it: fast help, a version, every command reachable, clean errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from publish import __version__
from publish.cli import COMMANDS, main

HEAVY = ("numpy", "gguf", "jinja2", "huggingface_hub", "ollama", "llama_cpp", "httpx", "yaml")


def test_help_imports_no_heavy_module():
    code = (
        "import sys\n"
        "from publish.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Commands:" in out
    assert out.strip().splitlines()[-1] == "[]"


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_loads_and_has_help(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_expected_failure_is_one_error_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "missing.gguf")])
    assert result.exit_code == 2
    assert "error:" in result.output and "missing.gguf" in result.output
    assert "Traceback" not in result.output


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "publish", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout

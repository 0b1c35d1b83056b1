"""An output path that cannot be created (a part of it is a file, it is a folder, no space) is the
project's error naming the path, exit status 2, never a traceback: for every command that writes
(test_conventions.WRITERS), and for smoke's report paths before the engine runs."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from paths import ROOT
from publish.cli import main

TINY = ROOT / "examples" / "tiny"
TINY_GGUF = TINY / "tiny-llama-F32.gguf"
CHATML = ROOT / "tests" / "data" / "jinja" / "chatml.jinja"

# Each writer with its output under `afile`, a regular file: the output cannot be created.
BLOCKED = {
    "build": lambda out: ["build", str(TINY / "release.toml"), "-o", out],
    "fix": lambda out: ["fix", str(TINY_GGUF), "--set", "general.license=mit", "-o", out],
    "lint": lambda out: ["lint", str(TINY_GGUF), "-o", out],
    "release": lambda out: ["release", str(TINY / "release.toml"), "-o", out],
    "smoke": lambda out: ["smoke", str(TINY), "--backend", "llamacpp", "-o", out],
    "template convert": lambda out: ["template", "convert", str(CHATML), "-o", out],
}


def test_every_writer_is_covered():
    from test_conventions import WRITERS

    assert set(BLOCKED) == WRITERS


@pytest.mark.parametrize("name", sorted(BLOCKED))
def test_output_under_a_file_is_an_error_naming_it(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("not a folder\n")
    out = "afile/sub"
    result = CliRunner().invoke(main, BLOCKED[name](out))
    assert "Traceback" not in result.output and not isinstance(result.exception, OSError), result.output
    assert result.exit_code == 2, result.output
    assert f"{out}: cannot write: afile is a file, not a folder" in result.output
    assert "move afile away" in result.output
    assert (tmp_path / "afile").read_text() == "not a folder\n"


@pytest.mark.parametrize("option", ["--report-junit", "--report-markdown", "-o"])
@pytest.mark.parametrize("where", ["afile/r.txt", "adir"])
def test_smoke_report_paths_are_checked_before_the_run(option, where, tmp_path, monkeypatch):
    import publish.smoke.runner as runner

    def must_not_run(*args, **kwargs):
        raise AssertionError("smoke ran although its report could not be written")

    monkeypatch.setattr(runner, "smoke", must_not_run)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    result = CliRunner().invoke(main, ["smoke", str(TINY), "--backend", "llamacpp", option, where])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    if where == "adir":
        assert "is a directory" in result.output   # click's own check (dir_okay=False)
    else:
        assert f"{where}: cannot write:" in result.output


def test_smoke_checks_github_step_summary_before_the_run(tmp_path, monkeypatch):
    import publish.smoke.runner as runner

    monkeypatch.setattr(runner, "smoke", lambda *a, **k: pytest.fail("smoke ran before its summary path was checked"))
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "afile" / "summary.md"))
    result = CliRunner().invoke(main, ["smoke", str(TINY), "--backend", "llamacpp"])
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 'afile' / 'summary.md'}: cannot write: {tmp_path / 'afile'} is a file" in result.output


def test_staging_a_gguf_onto_a_full_disk_names_the_staged_file(tmp_path, monkeypatch):
    """A hard link is impossible (another file system) and the copy runs out of space."""
    import errno
    import os

    import publish.build as build
    from publish.errors import OutputPathError

    def no_link(src, dst):
        raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), src, dst)

    def full(fsrc, fdst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(build.os, "link", no_link)
    monkeypatch.setattr(build, "clone_or_copy", full)
    dst = tmp_path / "out" / "m.gguf"
    dst.parent.mkdir()
    with pytest.raises(OutputPathError) as info:
        build.stage_file(TINY_GGUF, dst)
    assert str(info.value).startswith(f"{dst}: cannot write: no space left on device")
    assert list(dst.parent.iterdir()) == []

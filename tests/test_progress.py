"""publish.progress: the one switch for progress bars and lines, and where they go.

Progress is for a person watching a terminal: off when stderr is not a TTY, under CI, with
HF_HUB_DISABLE_PROGRESS_BARS (huggingface_hub's variable) or after set_quiet() (`--quiet`); it
goes to stderr only. The `terminal` fixture (conftest.py) makes stderr count as a TTY.
"""

from __future__ import annotations

import importlib
import os

import pytest

from publish import progress
from publish.hub.hashing import hash_files

# huggingface_hub reads HF_HUB_DISABLE_PROGRESS_BARS once, when its tqdm module loads (lazily, on
# first use): load it now, under this session's setting (conftest.py), not inside a test that
# unset the variable.
importlib.import_module("huggingface_hub.utils.tqdm")


class Tty:
    def isatty(self):
        return True


def big_file(tmp_path, mib: int = 48):
    p = tmp_path / "model-Q8_0.gguf"
    with open(p, "wb") as fh:
        fh.truncate(mib * 1024 * 1024)   # sparse: hashing reads zeros, the disk holds nothing
    return p


def test_enabled_only_for_a_terminal_outside_ci_and_without_the_hf_switch(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setattr(importlib.import_module("huggingface_hub.utils.tqdm"), "HF_HUB_DISABLE_PROGRESS_BARS", None)
    assert progress.progress_enabled(Tty())
    with open(os.devnull, "w") as devnull:
        assert not progress.progress_enabled(devnull)
    monkeypatch.setenv("CI", "true")
    assert not progress.progress_enabled(Tty())
    monkeypatch.setenv("CI", "false")   # GitLab/GitHub never set it so; a person may, to say "not CI"
    assert progress.progress_enabled(Tty())
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    assert not progress.progress_enabled(Tty())
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS")
    progress.set_quiet(True)
    try:
        assert not progress.progress_enabled(Tty())
    finally:
        progress.set_quiet(False)


def test_a_long_hash_shows_a_bar_on_stderr_and_erases_it(terminal, tmp_path, capsys):
    hash_files([big_file(tmp_path)])
    out, err = capsys.readouterr()
    assert out == ""
    first_frame = err.split("\r")[1]
    assert first_frame.startswith("sha256 of 1 file(s):   0%|") and "/48.0M" in first_frame
    assert err.endswith("\r") and err.split("\r")[-2].strip() == ""   # erased: the terminal line is blank after


def test_no_bar_when_stderr_is_captured(tmp_path, capsys, monkeypatch):
    """pytest's capture is not a TTY: exactly what a pipe, a log file or CI sees."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    hash_files([big_file(tmp_path)])
    progress.note("a line for a person")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("switch", ["quiet", "CI", "HF_HUB_DISABLE_PROGRESS_BARS"])
def test_each_switch_silences_bars_and_lines_at_a_terminal(terminal, tmp_path, capsys, monkeypatch, switch):
    if switch == "quiet":
        progress.set_quiet(True)
    else:
        monkeypatch.setenv(switch, "1")
    hash_files([big_file(tmp_path)])
    progress.note("a line for a person")
    with progress.bar(10, "counting", unit="step") as b:
        b.update(10)
    assert capsys.readouterr() == ("", "")


def test_huggingface_hubs_own_switch_silences_ours(terminal, tmp_path, capsys):
    """`huggingface_hub.utils.disable_progress_bars()` (a Python user's call) applies to our bars too."""
    from huggingface_hub.utils import disable_progress_bars

    with disable_progress_bars():
        assert not progress.progress_enabled()
        hash_files([big_file(tmp_path)])
        progress.note("a line for a person")
    assert capsys.readouterr().err == ""
    hash_files([big_file(tmp_path / "..")])
    assert "sha256 of 1 file(s)" in capsys.readouterr().err


def test_a_note_is_one_escaped_line_above_the_bars(terminal, capsys):
    with progress.bar(3, "smoke", unit="prompt") as b:
        progress.note("Q8_0 hello: fail — answer '\x1b[2J2\nforged line'")
        b.update(1)
    out, err = capsys.readouterr()
    assert out == ""
    lines = [line.rsplit("\r", 1)[-1] for line in err.split("\n")]   # what the terminal shows per line
    assert "Q8_0 hello: fail — answer '\\x1b[2J2\\nforged line'" in lines
    assert "\x1b[2J" not in err


def test_explicit_enabled_overrides_the_terminal_rule(capsys, monkeypatch):
    """Library callers told to draw (OllamaAPIBackend(progress=True)) draw even to a pipe, unless
    huggingface_hub's own switch is off (this test session sets HF_HUB_DISABLE_PROGRESS_BARS=1)."""
    with progress.bar(5, "pulling", enabled=True) as b:
        b.update(5)
    progress.note("success", enabled=True)
    assert capsys.readouterr().err == "success\n"   # the note is ours; the bar obeys huggingface_hub
    monkeypatch.setattr(importlib.import_module("huggingface_hub.utils.tqdm"), "HF_HUB_DISABLE_PROGRESS_BARS", None)
    with progress.bar(5, "pulling", enabled=True) as b:
        b.update(5)
    assert "pulling:   0%|" in capsys.readouterr().err

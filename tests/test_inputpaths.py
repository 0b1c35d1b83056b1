"""publish.inputpaths: what a user's path is and why it cannot be read, in one wording. The tests
run as root, which ignores permissions: a refusal is simulated by monkeypatching the OS call
(tests/cli/test_input_paths.py also runs the commands for real as an unprivileged user)."""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

from paths import ROOT
from publish.errors import InputPathError, SpecError, UsageError
from publish.inputpaths import input_error, input_kind, list_folder, unforeseen_os_error

TINY = ROOT / "examples" / "tiny"


def _refuse(monkeypatch, name: str, target: Path) -> None:
    """Make os.<name> raise PermissionError for `target` (and what is below it)."""
    real = getattr(os, name)

    def refused(p=".", *args, **kwargs):
        if isinstance(p, (str, os.PathLike)) and os.path.abspath(os.fspath(p)).startswith(str(target)):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))
        return real(p, *args, **kwargs)

    monkeypatch.setattr(os, name, refused)


def test_kinds(tmp_path):
    (tmp_path / "f").write_text("x")
    os.symlink("f", tmp_path / "link")
    assert [input_kind(tmp_path / n) for n in ("f", "link", "nothing")] == ["file", "file", "missing"]
    assert input_kind(tmp_path) == "folder"
    assert input_kind(tmp_path / "f" / "below") == "missing"   # a file on the way: nothing there


@pytest.mark.parametrize("make,says", [
    (lambda p: os.mkfifo(p), "a FIFO (named pipe), not a file or folder"),
    (lambda p: os.symlink("gone", p), "a broken symbolic link to gone (nothing is there)"),
    (lambda p: os.symlink(p.name, p), "cannot read file: a loop of symbolic links"),
])
def test_what_is_there_but_cannot_be_read(tmp_path, make, says):
    p = tmp_path / "x.gguf"
    make(p)
    with pytest.raises(InputPathError) as info:
        input_kind(p)
    assert str(info.value).startswith(f"{p}: {says}") and info.value.hint and info.value.exit_code == 2


def test_a_folder_that_cannot_be_listed(tmp_path, monkeypatch):
    _refuse(monkeypatch, "listdir", tmp_path)
    with pytest.raises(InputPathError, match=r": cannot read folder: permission denied\n") as info:
        list_folder(tmp_path)
    assert info.value.path == str(tmp_path) and "chmod u+rx" in info.value.hint


def test_a_folder_that_can_be_listed_but_not_entered(tmp_path, monkeypatch):
    """chmod 644 on a folder: its names can be read, none of its files can (glob finds them,
    Path.is_file raises): refused as a whole."""
    (tmp_path / "a.gguf").write_bytes(b"x")
    _refuse(monkeypatch, "stat", tmp_path)
    with pytest.raises(InputPathError, match="cannot read folder: permission denied"):
        list_folder(tmp_path)


def test_the_folder_on_the_way_is_named(tmp_path, monkeypatch):
    """A file in a folder that cannot be entered names that folder and what to do about it."""
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    err = input_error(str(locked / "template"), PermissionError(errno.EACCES, "Permission denied"))
    assert err.problem == f"cannot read file: permission denied (the folder {locked} cannot be entered)"
    assert err.hint.startswith(f"give your user search permission on it (chmod u+x {locked})")


def test_unforeseen_oserror():
    mapped = unforeseen_os_error(PermissionError(errno.EACCES, "Permission denied", "a/b"))
    assert str(mapped).startswith("a/b: permission denied") and mapped.exit_code == 2
    assert unforeseen_os_error(BrokenPipeError(errno.EPIPE, "Broken pipe")) is None
    assert unforeseen_os_error(OSError(errno.EIO, "I/O error")) is None   # no file named: not ours to word


def test_staged_folder_unreadable_is_named(tmp_path, monkeypatch):
    from publish.staged import StagedFolder, looks_staged

    folder = tmp_path / "dist"
    shutil.copytree(TINY, folder)
    (folder / "template").write_text("{{ .Prompt }}")
    _refuse(monkeypatch, "listdir", folder)
    for call in (lambda: looks_staged(folder), lambda: StagedFolder.load(folder, tolerant=True)):
        with pytest.raises(InputPathError, match="dist: cannot read folder: permission denied"):
            call()


def test_a_subfolder_the_push_would_skip_is_named(tmp_path, monkeypatch):
    """os.walk skips a subfolder it cannot list, so a push would have left its files out."""
    from publish.staged import StagedFolder

    folder = tmp_path / "dist"
    shutil.copytree(TINY, folder)
    (folder / "extra").mkdir()
    (folder / "extra" / "notes.txt").write_text("x")
    _refuse(monkeypatch, "scandir", folder / "extra")
    with pytest.raises(InputPathError, match="extra: cannot read folder: permission denied"):
        StagedFolder.load(folder, tolerant=True)


def test_spec_gguf_folder_unreadable_names_the_key(tmp_path, monkeypatch):
    """`build` said "quants.pattern … matches no file" for a GGUF folder it could not list."""
    from publish.spec import load_spec

    shutil.copytree(TINY, tmp_path / "tiny")
    spec = load_spec(tmp_path / "tiny" / "release.toml")
    _refuse(monkeypatch, "listdir", tmp_path / "tiny")
    with pytest.raises(SpecError) as info:
        spec.resolve_quants()
    assert info.value.key == "quants.dir" and "cannot read folder: permission denied" in str(info.value)
    assert "matches no file" not in str(info.value)


def test_sources_expand(tmp_path, monkeypatch):
    """`inspect DIR`/`lint DIR` said "no .gguf files in DIR" for a folder they could not list."""
    from publish.sources import expand

    shutil.copytree(TINY, tmp_path / "tiny")
    _refuse(monkeypatch, "listdir", tmp_path / "tiny")
    with pytest.raises(UsageError, match="tiny: cannot read folder: permission denied"):
        expand([str(tmp_path / "tiny")])


def test_text_files_are_worded_the_same(tmp_path, monkeypatch):
    """publish.fsutil.read_utf8 (spec, template, prompts, ...) says what every input says: a broken
    link names its target (it was "file not found"), a refusal has a hint (it had none)."""
    from publish.errors import TextFileError, TextFileMissing
    from publish.fsutil import read_utf8

    os.symlink("gone.toml", tmp_path / "release.toml")
    with pytest.raises(TextFileError) as info:
        read_utf8(tmp_path / "release.toml")
    assert not isinstance(info.value, TextFileMissing)
    assert info.value.problem == "a broken symbolic link to gone.toml (nothing is there)"
    (tmp_path / "t").write_text("x")
    _refuse(monkeypatch, "open", tmp_path / "t")
    with pytest.raises(TextFileError) as info:
        read_utf8(tmp_path / "t")
    assert info.value.problem == "cannot read file: permission denied" and "chmod u+r" in info.value.hint


def test_smoke_and_ci_matrix_targets(tmp_path, monkeypatch):
    """`publish smoke X` said "no such folder" for a broken link; `ci-matrix X` for a path it
    could not stat raised PermissionError."""
    from publish.smoke.matrix import target_quants
    from publish.smoke.runner import smoke

    os.symlink("gone", tmp_path / "dist")
    for call in (lambda: smoke(str(tmp_path / "dist")), lambda: target_quants(str(tmp_path / "dist"))):
        with pytest.raises(InputPathError, match="dist: a broken symbolic link to gone"):
            call()


def test_a_gguf_that_cannot_be_opened_is_not_called_corrupt(tmp_path, monkeypatch):
    """lint's GG001 for a GGUF the user cannot read said "re-download or re-convert the file; it
    is truncated or corrupt"; its hint now says what to do about the permission."""
    import builtins

    from publish.lint import lint_paths

    shutil.copyfile(TINY / "tiny-llama-F32.gguf", tmp_path / "m.gguf")
    real_open = builtins.open

    def refused(p, *args, **kwargs):
        if isinstance(p, (str, os.PathLike)) and os.fspath(p).endswith("m.gguf"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(p))
        return real_open(p, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refused)
    gg001 = [f for f in lint_paths([str(tmp_path / "m.gguf")]).findings if f.code == "GG001"]
    assert len(gg001) == 1 and "Permission denied" in gg001[0].message
    assert "chmod u+r" in gg001[0].hint and "corrupt" not in gg001[0].hint


def test_fix_file_from_python_names_a_fifo(tmp_path):
    """publish.fixing.fix_file called from Python (no click argument check before it): a FIFO
    was "no such file" and a path below an unenterable folder raised PermissionError."""
    from publish.fixing import fix_file

    os.mkfifo(tmp_path / "m.gguf")
    with pytest.raises(InputPathError, match="m.gguf: a FIFO"):
        fix_file(tmp_path / "m.gguf", dry_run=True)


# -- the GGUF readers refuse what is no file, without opening it -------------------------------

LIBRARY_READERS = {
    "read_header": "from publish.gguf.reader import read_header as f; f(PATH)",
    "plan_fix": "from publish.fixing import plan_fix as f; f(PATH, ['general.license=mit'])",
    "chat_template_changes": "from publish.fixing import chat_template_changes as f; f(PATH)",
    "require_gguf": "from publish.gguf.sniff import require_gguf as f; f(PATH)",
    "is_gguf": "from publish.gguf.sniff import is_gguf as f; f(PATH)",
}


@pytest.mark.parametrize("reader", sorted(LIBRARY_READERS))
def test_gguf_readers_refuse_a_fifo_or_a_broken_link(reader, tmp_path):
    """read_header, plan_fix, chat_template_changes (and the sniff) blocked forever on a FIFO:
    they opened it. Now a GGUFError in publish.inputpaths' words, in a child with a timeout."""
    import subprocess
    import sys

    import publish

    os.mkfifo(tmp_path / "fifo-x.gguf")
    os.symlink("gone.gguf", tmp_path / "dangling.gguf")
    code = ("import sys\nfrom publish.errors import PublishError\nPATH = sys.argv[1]\n"
            f"try:\n    {LIBRARY_READERS[reader]}\nexcept PublishError as e:\n"
            "    print(type(e).__name__, e.message if hasattr(e, 'message') else e)\n")
    root = str(Path(publish.__file__).resolve().parents[1])
    for name, says in (("fifo-x.gguf", "a FIFO (named pipe), not a file or folder"),
                       ("dangling.gguf", "a broken symbolic link to gone.gguf")):
        proc = subprocess.run([sys.executable, "-c", code, name], cwd=tmp_path, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": root}, timeout=60)
        assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
        if reader == "chat_template_changes" and name == "dangling.gguf":
            assert "broken symbolic link" in proc.stdout, proc.stdout
            continue
        assert proc.stdout.startswith("GGUFError") and says in proc.stdout and name in proc.stdout, proc.stdout

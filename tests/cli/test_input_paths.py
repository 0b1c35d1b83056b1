"""A file or folder the user gives that cannot be read (no permission on it or on a folder on the
way, a folder that can be entered but not listed or listed but not entered, a broken symbolic
link, a FIFO) is one `error:` line naming the path, a hint, exit status 2 and no traceback, for
every command that reads a path (publish.inputpaths).

Two ways: in process as root with the OS calls refused by monkeypatch (root ignores permissions),
and for real, `chmod` and the commands run as an unprivileged user (uid 65534, `nobody`, when
the tests run as root; else the user running them)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

import publish
from paths import ROOT
from publish.cli import main

PACKAGE_ROOT = str(Path(publish.__file__).resolve().parents[1])   # the child runs the code under test

TINY = ROOT / "examples" / "tiny"
F32 = "tiny-llama-F32.gguf"
CHATML = ROOT / "tests" / "data" / "jinja" / "chatml.jinja"

# Commands that read the folder `locked` itself (a staged folder; release.toml's quants.dir).
FOLDER_READERS = {
    "lint": ["lint", "locked"],
    "-q lint": ["-q", "lint", "locked"],
    "lint --format json": ["lint", "locked", "--format", "json"],
    "inspect": ["inspect", "locked"],
    "smoke": ["smoke", "locked", "--backend", "llamacpp"],
    "push": ["push", "locked", "--dry-run"],
    "ci-matrix": ["ci-matrix", "locked"],
    "plan (old name of ci-matrix)": ["plan", "--matrix", "locked"],
    "build (--gguf-dir)": ["build", "release.toml", "--gguf-dir", "locked", "-o", "out"],
    "build (quants.dir)": ["build", "release.toml", "-o", "out"],
    "release": ["release", "release.toml", "-o", "out", "--backend", "llamacpp"],
}
# Commands that read a file inside `locked`.
FILE_READERS = {
    "lint FILE": ["lint", f"locked/{F32}"],
    "inspect FILE": ["inspect", f"locked/{F32}"],
    "fix": ["fix", f"locked/{F32}", "--set", "general.license=mit"],
    "template suggest": ["template", "suggest", f"locked/{F32}"],
    "template convert": ["template", "convert", f"locked/{F32}", "-o", "out"],
    "template check": ["template", "check", "--jinja", "locked/chat.jinja", "--go", "locked/template"],
    "smoke --prompts": ["smoke", "staged", "--backend", "llamacpp", "--prompts", "locked/prompts.toml"],
    "build (spec in it)": ["build", "locked/release.toml", "-o", "out"],
}


def test_every_command_that_reads_a_path_is_covered():
    from test_conventions import COMMAND_TREE

    covered = {args[1] if args[0] == "-q" else args[0] for args in FOLDER_READERS.values()}
    covered |= {" ".join(args[:2]) if args[0] == "template" else args[0] for args in FILE_READERS.values()}
    assert set(COMMAND_TREE) - covered == {"rule"}   # `publish rule CODE` reads no path


def _stage(base: Path) -> None:
    """base/locked: the built tiny folder plus a spec, a Jinja template and prompts; base/staged:
    a readable copy; base/release.toml: the tiny spec reading its GGUFs from locked/."""
    from publish.build import build
    from publish.spec import load_spec

    build(load_spec(TINY / "release.toml"), base / "locked")
    shutil.copytree(base / "locked", base / "staged")
    spec = (TINY / "release.toml").read_text(encoding="utf-8").replace('dir = "."', 'dir = "locked"')
    (base / "release.toml").write_text(spec, encoding="utf-8")
    (base / "locked" / "release.toml").write_text((TINY / "release.toml").read_text(encoding="utf-8"),
                                                  encoding="utf-8")
    shutil.copyfile(CHATML, base / "locked" / "chat.jinja")
    (base / "locked" / "prompts.toml").write_text('[[prompts]]\nname = "hi"\nuser = "hi"\n', encoding="utf-8")


def _one_error_line(output: str, path: str) -> None:
    """One `error:` line naming `path` and the permission, and a hint; `publish release` shows
    it as its failed stage instead (its summary is the result)."""
    assert "Traceback" not in output, output
    if output.startswith("release ") or "\nrelease " in output:
        assert f"{path}: cannot read folder: permission denied" in output and "FAILED" in output, output
        return
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and path in errors[0] and "permission denied" in errors[0], output
    assert "hint: " in output, output


# -- simulated: root, the OS calls refused ------------------------------------------------------

@pytest.fixture
def refused(tmp_path, monkeypatch):
    """tmp_path staged as in _stage, then `locked` refused as `chmod 000` would for a user:
    listing it and reaching anything inside it raise PermissionError."""
    _stage(tmp_path)
    monkeypatch.chdir(tmp_path)
    locked = str(tmp_path / "locked")

    def inside(p) -> bool:
        p = os.path.abspath(os.fspath(p))
        return p == locked or p.startswith(locked + os.sep)

    def denied(p):
        return PermissionError(13, "Permission denied", os.fspath(p))

    real_listdir, real_scandir, real_stat, real_open = os.listdir, os.scandir, os.stat, os.open

    def listdir(p="."):
        if inside(p):
            raise denied(p)
        return real_listdir(p)

    def scandir(p="."):
        if inside(p):
            raise denied(p)
        return real_scandir(p)

    def stat(p, *args, **kwargs):
        if isinstance(p, (str, os.PathLike)) and inside(p) and os.path.abspath(os.fspath(p)) != locked:
            raise denied(p)
        return real_stat(p, *args, **kwargs)

    def open_(p, *args, **kwargs):
        if isinstance(p, (str, os.PathLike)) and inside(p):
            raise denied(p)
        return real_open(p, *args, **kwargs)

    for name, fn in (("listdir", listdir), ("scandir", scandir), ("stat", stat), ("open", open_)):
        monkeypatch.setattr(os, name, fn)
    return tmp_path


@pytest.mark.parametrize("name", sorted(FOLDER_READERS) + sorted(FILE_READERS))
def test_a_folder_that_cannot_be_read_is_one_error_line(name, refused):
    args = {**FOLDER_READERS, **FILE_READERS}[name]
    result = CliRunner().invoke(main, args)
    assert not isinstance(result.exception, OSError), result.output
    assert result.exit_code == 2, result.output
    _one_error_line(result.output, "locked")


def test_quick_path_says_the_same(refused, capsys):
    from publish import quickcli

    for args in (["lint", "locked"], ["inspect", "locked"], ["lint", f"locked/{F32}"]):
        assert quickcli.run(args) == 2
        _one_error_line(capsys.readouterr().err, "locked")


# -- what is there but is no file --------------------------------------------------------------

@pytest.mark.parametrize("command", [["lint"], ["inspect"], ["fix"], ["template", "suggest"], ["template", "convert"]])
def test_a_fifo_or_a_broken_link_is_named_as_such(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.mkfifo("fifo.gguf")
    os.symlink("gone.gguf", "dangling.gguf")
    for arg, says in (("fifo.gguf", "fifo.gguf: a FIFO (named pipe), not a file or folder"),
                      ("dangling.gguf", "dangling.gguf: a broken symbolic link to gone.gguf")):
        # a child process with a timeout: opening a FIFO waits for a writer (`fix` did, forever)
        proc = subprocess.run([sys.executable, "-m", "publish", *command, arg], cwd=tmp_path, capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": PACKAGE_ROOT}, timeout=60)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert says in proc.stderr and "no such file" not in proc.stderr, proc.stderr


def test_a_broken_link_in_a_folder_is_named(tmp_path, monkeypatch):
    """`lint DIR`/`inspect DIR` skipped a broken `x.gguf` link silently; now it is named."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dir").mkdir()
    shutil.copyfile(TINY / F32, tmp_path / "dir" / F32)
    os.symlink("gone.gguf", tmp_path / "dir" / "b.gguf")
    for cmd in ("lint", "inspect"):
        result = CliRunner().invoke(main, [cmd, "dir"])
        assert result.exit_code == 2 and "dir/b.gguf: a broken symbolic link" in result.output, result.output


def test_an_unforeseen_oserror_is_still_one_line(tmp_path, monkeypatch):
    """The CLI's last net: an OSError naming a file that no library call mapped."""
    import publish.lint

    def boom(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "some/where")

    monkeypatch.setattr(publish.lint, "lint_report", boom)
    from publish import quickcli

    assert quickcli.run(["lint", str(TINY / F32)]) == 2
    result = CliRunner().invoke(main, ["lint", str(TINY / F32), "-o", str(tmp_path / "r.txt")])
    assert result.exit_code == 2 and "error: some/where: permission denied" in result.output, result.output


# -- real: chmod, run as a user permissions apply to ----------------------------------------------

def _as_user() -> list[str]:
    """The command prefix that runs as uid/gid 65534 (nobody) when the tests run as root (root
    ignores permissions); nothing otherwise (chmod applies to the user running the tests)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture(scope="module")
def real_base():
    """A folder every user can reach (pytest's tmp_path is root's own, mode 700)."""
    modes = {p: p.stat().st_mode for p in TINY.iterdir()}
    base = Path(tempfile.mkdtemp(prefix="publish-inputpaths-"))
    base.chmod(0o777)   # the unprivileged user writes out/ here; what _stage writes is world-readable
    _stage(base)        # (never chmod its files: the GGUFs are hard links to examples/tiny's)
    yield base
    (base / "locked").chmod(0o755)
    shutil.rmtree(base)
    assert {p: p.stat().st_mode for p in TINY.iterdir()} == modes   # the repo's files are untouched


REAL = [("000", name) for name in sorted(FOLDER_READERS) + sorted(FILE_READERS)]
# 311: can be entered, not listed (a file named inside it is readable); 644: listed, not entered
REAL += [(mode, name) for mode in ("311", "644") for name in ("lint", "inspect", "smoke", "push", "build (quants.dir)")]
REAL += [("644", name) for name in ("fix", "lint FILE", "template check")]


@pytest.mark.parametrize("mode,name", REAL)
def test_really_unreadable(mode, name, real_base):
    (real_base / "locked").chmod(int(mode, 8))
    try:
        args = {**FOLDER_READERS, **FILE_READERS}[name]
        proc = subprocess.run([*_as_user(), sys.executable, "-m", "publish", *args], cwd=real_base,
                              capture_output=True, text=True, env={**os.environ, "HOME": str(real_base), "PYTHONPATH": PACKAGE_ROOT},
                              timeout=120)
    finally:
        (real_base / "locked").chmod(0o777)
    assert proc.returncode == 2, proc.stderr
    _one_error_line(proc.stderr + proc.stdout, "locked")


def _child(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`python -m publish ARGS` in a child with a timeout: opening a FIFO waits for a writer."""
    return subprocess.run([sys.executable, "-m", "publish", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": PACKAGE_ROOT}, timeout=60)


def test_build_with_a_fifo_as_template_file_is_refused_not_hung(tmp_path):
    """template.file naming a FIFO hung `publish build` forever: the GGUF sniff opened it before
    the regular-file check (system_file, license_file, prompts_file were refused already)."""
    for f in (F32, "tiny-llama-Q8_0.gguf"):
        shutil.copyfile(TINY / f, tmp_path / f)
    spec = (TINY / "release.toml").read_text(encoding="utf-8").replace(
        'family = "gemma3"', 'file = "t.gotmpl"')
    (tmp_path / "a.toml").write_text(spec, encoding="utf-8")
    os.mkfifo(tmp_path / "t.gotmpl")
    proc = _child(["build", "a.toml", "-o", "out"], tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "template.file" in proc.stderr and "t.gotmpl" in proc.stderr and "FIFO" in proc.stderr, proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def built_tiny(tmp_path_factory) -> Path:
    from publish.build import build
    from publish.spec import load_spec

    out = tmp_path_factory.mktemp("tiny") / "dist"
    build(load_spec(TINY / "release.toml"), out)
    return out


@pytest.mark.parametrize("entry", ["fifo x.gguf", "dangling x.gguf", "fifo template"])
def test_a_staged_folder_entry_that_is_no_file_is_one_error(entry, built_tiny, tmp_path):
    """A FIFO or a broken link named x.gguf was listed as a quant by ci-matrix and failed smoke
    with "load failure: ... no such file"; a FIFO `template` was linted as RP101 "no template
    file". StagedFolder.load names it; lint, smoke and ci-matrix all exit 2 with that one line."""
    kind, name = entry.split()
    folder = tmp_path / "dist"
    shutil.copytree(built_tiny, folder)
    if name == "template":
        (folder / name).unlink()
    if kind == "fifo":
        os.mkfifo(folder / name)
        says = f"dist/{name}: a FIFO (named pipe), not a file or folder"
    else:
        os.symlink("gone.gguf", folder / name)
        says = f"dist/{name}: a broken symbolic link to gone.gguf"
    for args in (["lint", "dist"], ["smoke", "--backend", "llamacpp", "dist"], ["ci-matrix", "dist"]):
        proc = _child(args, tmp_path)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, (args, proc.stdout, proc.stderr)
        assert says in proc.stderr, (args, proc.stderr)
        assert "no such file" not in proc.stderr and "RP101" not in proc.stdout + proc.stderr, (args, proc.stderr)
        assert '"x"' not in proc.stdout, (args, proc.stdout)   # not listed as a quant

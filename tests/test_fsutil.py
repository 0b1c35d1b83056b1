"""The one text-file reader (publish.fsutil.read_utf8) and every kind of file read through it.

Each error must name the file and, for bytes that are not UTF-8, the byte offset of the first
invalid byte (and its line), and say what to do; no caller may fall back to its own decoding.
"""

from __future__ import annotations

import json
import os
import textwrap
import threading
from pathlib import Path

import pytest

from publish.errors import PublishError, SpecError, TextFileError, TextFileMissing, UsageError
from publish.fsutil import MAX_TEXT_BYTES, read_utf8

LATIN1_LINE2 = "line one\ncaf\u00e9 au lait\n".encode("latin-1")   # 0xE9 at offset 12, line 2
BAD_OFFSET = 12


def _assert_names_offset(err: BaseException, path: Path, offset: int = BAD_OFFSET, line: int = 2) -> None:
    text = str(err)
    assert str(path) in text
    assert f"at offset {offset} (line {line}," in text, text
    assert "hint:" in text, f"no advice in {text!r}"


# -- the reader itself -------------------------------------------------------------------------

def test_invalid_byte_is_named_by_file_offset_and_line(tmp_path):
    p = tmp_path / "system.txt"
    p.write_bytes(LATIN1_LINE2)
    with pytest.raises(TextFileError) as info:
        read_utf8(p, hint="save the system prompt as UTF-8")
    err = info.value
    assert isinstance(err, UsageError) and err.exit_code == 2
    assert err.path == str(p) and err.offset == BAD_OFFSET
    assert str(err) == (f"{p}: not UTF-8 text: byte 0xE9 at offset 12 (line 2, byte 4 of the line) "
                        "is not valid UTF-8\n  hint: save the system prompt as UTF-8")


def test_truncated_character_at_the_end_is_named_at_its_first_byte(tmp_path):
    p = tmp_path / "t"
    p.write_bytes("ok \u20ac".encode()[:-1])   # the euro sign cut after 2 of its 3 bytes
    with pytest.raises(TextFileError) as info:
        read_utf8(p)
    assert info.value.offset == 3 and "byte 0xE2 at offset 3 (line 1" in str(info.value)
    assert "save it as UTF-8" in str(info.value)   # the default advice


def test_utf8_bom_is_dropped_unless_kept_and_offsets_count_file_bytes(tmp_path):
    p = tmp_path / "t"
    p.write_bytes(b"\xef\xbb\xbf{{ .Prompt }}")
    assert read_utf8(p) == "{{ .Prompt }}"
    assert read_utf8(p, keep_bom=True) == "\ufeff{{ .Prompt }}"
    p.write_bytes(b"\xef\xbb\xbfab\xff")
    with pytest.raises(TextFileError) as info:
        read_utf8(p)
    assert info.value.offset == 5   # counted in the file, BOM included


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_utf16_file_is_refused_asking_whether_it_is_utf16(tmp_path, bom):
    p = tmp_path / "system"
    p.write_bytes(bom + "hi".encode("utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"))
    with pytest.raises(TextFileError) as info:
        read_utf8(p)
    assert info.value.offset == 0 and "is it UTF-16?" in str(info.value)


def test_size_cap_refuses_before_reading(tmp_path):
    p = tmp_path / "big"
    p.write_bytes(b"a" * 101)
    assert read_utf8(p, max_bytes=101) == "a" * 101
    with pytest.raises(TextFileError, match=r"101 bytes; a text file here may hold at most 100") as info:
        read_utf8(p, max_bytes=100)
    assert info.value.offset is None
    assert MAX_TEXT_BYTES == 64 << 20


def test_missing_folder_and_fifo_are_refused_without_blocking(tmp_path):
    with pytest.raises(TextFileMissing, match="file not found"):
        read_utf8(tmp_path / "absent")
    with pytest.raises(TextFileError, match="not a regular file"):
        read_utf8(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    outcome: list = []
    t = threading.Thread(target=lambda: outcome.append(pytest.raises(TextFileError, read_utf8, fifo)), daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "reading a FIFO blocked"
    assert "not a regular file" in str(outcome[0].value)


# -- every caller kind reads through it --------------------------------------------------------

SPEC = """\
repo = "acme/tiny-GGUF"
base_model = "acme/tiny"
license = "apache-2.0"
quantized_by = "acme"
[quants]
files = [{ label = "Q8_0", file = "tiny-Q8_0.gguf" }]
"""


def test_spec_file(tmp_path):
    from publish.spec import load_spec

    p = tmp_path / "release.toml"
    p.write_bytes(SPEC.encode() + b'system = "caf\xe9"\n')
    with pytest.raises(SpecError) as info:
        load_spec(p)
    assert info.value.path == str(p)
    assert f"at offset {len(SPEC.encode()) + 13} (line 7," in str(info.value)
    p.write_bytes(b"\xef\xbb\xbf" + SPEC.encode() + b'[template]\ntext = "{{ .Prompt }}"\n')
    assert load_spec(p).repo == "acme/tiny-GGUF"   # a BOM written by an editor is fine


@pytest.mark.parametrize("key, top, template", [
    ("template.file", "", 'file = "bad.txt"'),
    ("system_file", 'system_file = "bad.txt"\n', 'text = "x"'),
    ("license_file", 'license_file = "bad.txt"\n', 'text = "x"'),
])
def test_files_a_spec_names(tmp_path, key, top, template):
    from publish.spec import load_spec

    (tmp_path / "bad.txt").write_bytes(LATIN1_LINE2)
    head, _, quants = SPEC.partition("[quants]")
    p = tmp_path / "release.toml"
    p.write_text(f"{head}{top}[template]\n{template}\n[quants]{quants}")
    with pytest.raises(SpecError) as info:
        load_spec(p)
    assert info.value.key == key
    _assert_names_offset(info.value, tmp_path / "bad.txt")


@pytest.mark.parametrize("name", ["template", "params", "system"])
def test_staged_folder_files(tmp_path, name):
    from publish.staged import StagedFolder

    (tmp_path / name).write_bytes(LATIN1_LINE2)
    with pytest.raises(UsageError) as info:
        StagedFolder.load(tmp_path)
    _assert_names_offset(info.value, tmp_path / name)
    folder = StagedFolder.load(tmp_path, tolerant=True)   # lint: recorded, text kept with U+FFFD
    assert folder.texts[name] == "line one\ncaf\ufffd au lait\n"
    assert "at offset 12 (line 2," in folder.problems[0].message


def test_staged_folder_keeps_a_bom_ollama_would_see(tmp_path):
    from publish.staged import StagedFolder

    (tmp_path / "template").write_bytes(b"\xef\xbb\xbf{{ .Prompt }}")
    assert StagedFolder.load(tmp_path).template == "\ufeff{{ .Prompt }}"


def test_modelfile(tmp_path):
    from publish.modelfile import parse_file

    p = tmp_path / "Modelfile"
    p.write_bytes(b"\xef\xbb\xbfFROM ./m.gguf\nSYSTEM " + "caf\u00e9".encode())
    assert parse_file(p).system == "caf\u00e9"   # the BOM dropped, as Ollama's parser does
    p.write_bytes(b"FROM ./m.gguf\nSYSTEM caf\xe9\n")
    with pytest.raises(TextFileError) as info:
        parse_file(p)
    _assert_names_offset(info.value, p, offset=24)


def test_tokenizer_config_json(tmp_path):
    from publish.convert.inputs import load_chat_template

    p = tmp_path / "tokenizer_config.json"
    p.write_bytes(b'{"chat_template": "{{ \'caf\xe9\' }}"}')
    with pytest.raises(TextFileError) as info:
        load_chat_template(p)
    _assert_names_offset(info.value, p, offset=26, line=1)
    p.write_bytes(b"\xef\xbb\xbf" + json.dumps({"chat_template": "{{ 'hi' }}"}).encode())
    assert load_chat_template(p).text == "{{ 'hi' }}"


def test_jinja_file(tmp_path):
    from publish.convert.inputs import load_chat_template
    from publish.fixing import chat_template_changes
    from publish.modelfile import ModelfileSpec, render

    p = tmp_path / "chat.jinja"
    p.write_bytes(b"{{ 'x' }}\n{{ 'caf\xe9' }}")
    for read in (load_chat_template, chat_template_changes,
                 lambda path: render(ModelfileSpec(("./m.gguf",)), template_path=path)):
        with pytest.raises(TextFileError) as info:
            read(p)
        _assert_names_offset(info.value, p, offset=17)


@pytest.mark.parametrize("name", ["template.gotmpl", "Modelfile.Q8_0"])
def test_go_template_file_and_modelfile_template(tmp_path, name):
    from publish.convert.inputs import load_go_template

    p = tmp_path / name
    p.write_bytes(b"FROM ./m.gguf\nTEMPLATE caf\xe9\n" if name.startswith("Modelfile") else b"{{ .Prompt }}\ncaf\xe9")
    with pytest.raises(TextFileError) as info:
        load_go_template(p)
    _assert_names_offset(info.value, p, offset=26 if name.startswith("Modelfile") else 17)


def test_smoke_prompts_file(tmp_path):
    from publish.smoke.prompts import load_prompts

    for suffix in (".toml", ".json"):
        p = tmp_path / f"prompts{suffix}"
        p.write_bytes(b"\n\xff")
        with pytest.raises(TextFileError) as info:
            load_prompts(p)
        _assert_names_offset(info.value, p, offset=1, line=2)


def test_no_module_decodes_user_text_files_its_own_way():
    """Outside the reader, publish/ reads no text file with read_text/open(encoding=...): a file
    the user gives goes through read_utf8. Listed exceptions read publish's own files or logs."""
    import ast

    root = Path(__file__).resolve().parent.parent / "publish"
    allowed = {
        "hub/hashing.py",        # publish's own hash cache: damaged means re-hash
        "smoke/serve.py",        # the Ollama server's log, shown with replacement characters
        "smoke/report.py",       # appends to GITHUB_STEP_SUMMARY
        "staged.py",             # publish build's own manifest (helper `staged` owns this module)
        "build.py",              # publish build's own manifest (helper `staged` owns this module)
    }
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in allowed or rel == "fsutil.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "read_text":
                found.append(f"{rel}:{node.lineno}")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open" \
                    and (any(k.arg == "encoding" for k in node.keywords) or "b" not in _open_mode(node)):
                found.append(f"{rel}:{node.lineno}")
    assert not found, f"read these through publish.fsutil.read_utf8: {found}"


def _open_mode(call) -> str:
    """The mode of an open() call as written ("r" when left out, "?" when not a literal)."""
    import ast

    mode = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "mode"), None)
    if mode is None:
        return "r"
    return mode.value if isinstance(mode, ast.Constant) and isinstance(mode.value, str) else "b?"


def test_a_text_mode_open_without_encoding_counts_as_decoding_its_own_way():
    """open(path) reads with the locale's encoding (not UTF-8 everywhere): the walk above finds it
    as it finds open(path, encoding=...)."""
    import ast

    calls = [ast.parse(src).body[0].value for src in
             ("open(p)", "open(p, 'r')", "open(p, mode='rt')", "open(p, 'rb')", "open(p, 'r+b')", "open(p, m)")]
    assert [("b" not in _open_mode(c)) for c in calls] == [True, True, True, False, False, False]


def test_a_publish_error_is_what_the_cli_prints(tmp_path):
    from click.testing import CliRunner

    from publish.cli import main

    p = tmp_path / "release.toml"
    p.write_bytes(textwrap.dedent(SPEC).encode() + b"# \xff\n")
    r = CliRunner().invoke(main, ["build", str(p), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"at offset {len(SPEC.encode()) + 2} (line 7," in r.output
    assert issubclass(TextFileError, PublishError)


# Output paths: every OSError of the atomic write is OutputPathError (UsageError) naming the path.

def test_atomic_write_under_a_file_names_the_file_in_the_way(tmp_path):
    from publish.errors import OutputPathError
    from publish.fsutil import atomic_write_text

    (tmp_path / "afile").write_text("x")
    target = tmp_path / "afile" / "deeper" / "out.txt"
    with pytest.raises(OutputPathError) as info:
        atomic_write_text(target, "hello")
    assert isinstance(info.value, UsageError) and info.value.exit_code == 2
    assert info.value.path == str(target)
    assert info.value.problem == f"{tmp_path / 'afile'} is a file, not a folder"


def test_atomic_write_onto_a_folder_is_refused_before_writing(tmp_path):
    from publish.errors import OutputPathError
    from publish.fsutil import atomic_write_text

    (tmp_path / "d").mkdir()
    with pytest.raises(OutputPathError, match="it is a folder"):
        atomic_write_text(tmp_path / "d", "hello")
    assert list((tmp_path / "d").iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.parametrize("step, code, problem", [
    ("fsync", 28, "no space left on device"),
    ("replace", 13, "permission denied"),
    ("open", 30, "read-only file system"),
])
def test_atomic_write_failures_name_the_path_and_keep_the_original(tmp_path, monkeypatch, step, code, problem):
    import publish.fsutil as fsutil
    from publish.errors import OutputPathError

    target = tmp_path / "out.txt"
    target.write_text("old")
    real = getattr(os, step)

    def failing(*args, **kwargs):
        if step == "open" and not str(args[0]).startswith(str(tmp_path)):
            return real(*args, **kwargs)
        raise OSError(code, os.strerror(code), str(args[0]))

    monkeypatch.setattr(fsutil.os, step, failing)
    with pytest.raises(OutputPathError) as info:
        fsutil.atomic_write_text(target, "new")
    monkeypatch.undo()
    assert str(info.value).startswith(f"{target}: cannot write: {problem}")
    assert "publish-tmp" not in str(info.value)   # the temp file's name is not the user's path
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_make_dirs_and_check_writable(tmp_path):
    from publish.errors import OutputPathError
    from publish.fsutil import check_writable, make_dirs

    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputPathError, match="afile: cannot write: it is a file, not a folder"):
        make_dirs(tmp_path / "afile")
    with pytest.raises(OutputPathError, match="afile is a file, not a folder"):
        make_dirs(tmp_path / "afile" / "sub")
    with pytest.raises(OutputPathError, match="afile is a file, not a folder"):
        check_writable(tmp_path / "afile" / "a" / "b.xml")
    with pytest.raises(OutputPathError, match="it is a folder"):
        check_writable(tmp_path)
    with pytest.raises(OutputPathError, match="it is a file, not a folder"):
        check_writable(tmp_path / "afile", folder=True)
    check_writable(tmp_path / "new" / "deep" / "r.xml")   # creatable: fine, and nothing created
    check_writable(tmp_path / "afile")                    # an existing file is replaced: fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


# -- -o onto a link, a FIFO or a device (a tester's find: `publish lint F -o /dev/stdout` as root
#    renamed a temp file over the system's /dev/stdout symlink) ---------------------------------

def test_a_fifo_or_device_is_written_through_not_replaced(tmp_path):
    import stat
    import threading

    from publish.fsutil import atomic_write_text

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()), daemon=True)
    reader.start()
    atomic_write_text(fifo, "through the pipe\n")
    reader.join(10)
    assert got == ["through the pipe\n"] and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    null = tmp_path / "null"
    null.symlink_to("/dev/null")                  # as /dev/stdout is a link to the process's fd 1
    atomic_write_text(null, "discarded\n")
    assert null.is_symlink() and stat.S_ISCHR(os.stat(null).st_mode)
    assert not [p.name for p in tmp_path.iterdir() if p.name not in ("pipe", "null")]   # no temp left


def test_lint_output_into_a_fifo(tmp_path, tiny_llama_path):
    import subprocess
    import sys

    fifo = tmp_path / "report"
    os.mkfifo(fifo)
    lint = subprocess.Popen([sys.executable, "-m", "publish", "lint", "--format", "json", str(tiny_llama_path),
                             "-o", str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    report = fifo.read_text()
    assert lint.wait(60) in (0, 1) and '"findings"' in report

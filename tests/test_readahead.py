"""publish.readahead: `publish lint` reads headers (and renders chat templates) in child processes
while it imports its rules. The findings must be the ones an in-process read gives, for every
kind of file lint meets, and a child that cannot deliver must never change them."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from publish import jinja_facts, readahead
from publish.errors import GGUFError, UnsafeTemplateError
from publish.gguf.reader import read_header
from publish.lint import lint_paths
from publish.readahead import ReadAhead
from test_template_audit import PAYLOADS, hostile_gguf
from test_template_rules import write_model

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="read-ahead needs os.fork (POSIX)")


@pytest.fixture
def files(tmp_path, tiny_llama_path, gemma3n_broken_path, gemma3_270m_path) -> list[str]:
    """One file per kind of result the children must hand back exactly."""
    (tmp_path / "hostile").mkdir()
    truncated = tmp_path / "truncated-Q8_0.gguf"
    truncated.write_bytes(tiny_llama_path.read_bytes()[:300])
    return [str(p) for p in (
        tiny_llama_path,                                             # clean chat model
        gemma3n_broken_path,                                         # GG101 and friends, template rendered
        gemma3_270m_path,                                            # the real base model, no template
        truncated,                                                   # GG001: the reader's GGUFError
        write_model(tmp_path / "l-Q8_0.gguf", "llama3"),             # GG204: double BOS (a render)
        write_model(tmp_path / "g-Q8_0.gguf", "gemma", kv={"tokenizer.ggml.add_bos_token": False},
                    template="{% for m in messages %}<start_of_turn>{{ m['content'] }}<end_of_turn>{% endfor %}"),
        write_model(tmp_path / "q-Q8_0.gguf", "qwen", template="{% for m in messages %}{{ m['content'] }}"),
        hostile_gguf(tmp_path / "hostile", PAYLOADS["cycler-globals"]),   # GG290, never rendered
    )]


def report(paths: list[str], ahead: ReadAhead | None = None) -> list[dict]:
    """The findings of lint_paths, computed afresh (the children's facts are adopted while it runs)."""
    jinja_facts._KEPT.clear()
    result = lint_paths(paths, read_ahead=ahead)
    return [{"code": f.code, "path": f.path, "subject": f.subject, "message": f.message, "hint": f.hint,
             "offset": f.offset} for f in result.findings]


def in_fresh_process(function: str, *args):
    """`function(*args)` of this module run in a new interpreter, its JSON result. Children are
    forked only while the process runs no other thread (publish.readahead._can_fork), and the
    test process has some (tqdm's monitor, the Hub stand-in's server)."""
    code = ("import json, sys\n"
            f"sys.path[:0] = [{str(Path(__file__).parent)!r}]\n"
            "import test_readahead\n"
            f"print(json.dumps(test_readahead.{function}(*json.loads(sys.argv[1]))))\n")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def with_children(files: list[str]) -> dict:
    delivered = []
    take = ReadAhead.take

    def counting_take(self, path):
        got = take(self, path)
        delivered.append([path, type(got).__name__])
        return got

    ReadAhead.take = counting_take
    with ReadAhead(files, jobs=2) as ahead:
        return {"findings": report(files, ahead), "delivered": sorted(delivered)}


def with_dying_children(files: list[str]) -> dict:
    def die(key, fd):
        os._exit(3)

    readahead._child = die
    with ReadAhead(files) as ahead:
        first = ahead.take(files[0])
        return {"first": repr(first), "findings": report(files, ahead)}


def reaped(files: list[str]) -> dict:
    ahead = ReadAhead(files, jobs=3)
    pids = [pid for pid, _ in ahead._running.values()]
    ahead.close()
    gone = []
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            gone.append(pid)
    return {"started": len(pids), "reaped": len(gone), "after_close": repr(ahead.take(files[0]))}


def local_only(folder: str, tiny: str) -> dict:
    with ReadAhead([folder, "hf://org/repo/x.gguf", folder + "/missing.gguf", tiny, tiny]) as ahead:
        running = list(ahead._running)
        return {"running": running, "folder": repr(ahead.take(folder)),
                "same": ahead.take(tiny) == read_header(tiny)}


def test_findings_are_the_same_with_and_without_children(files):
    expected = report(files)
    assert {"GG001", "GG101", "GG204", "GG290", "GG701", "GG702"} <= {f["code"] for f in expected}
    got = in_fresh_process("with_children", files)
    assert got["findings"] == expected
    # every file came from a child: headers, and the reader's refusal of the truncated one
    assert got["delivered"] == sorted([p, "GGUFError" if "truncated" in p else "GGUFHeader"] for p in files)


def test_a_child_that_dies_changes_nothing(files):
    got = in_fresh_process("with_dying_children", files)
    assert got == {"first": "None", "findings": report(files)}   # None: the caller reads it itself


def test_the_lint_process_does_not_import_jinja_when_the_child_rendered(gemma3n_broken_path):
    """The point of the child: the parent never pays for Jinja (about 40 ms) when the child
    computed every template fact. Without the read-ahead, the same lint imports it."""
    code = ("import json, sys, io, contextlib\n"
            "from publish import quickcli\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    status = quickcli.run(['lint', '--format', 'json', sys.argv[1]])\n"
            "print(json.dumps(['jinja2' in sys.modules, status]))\n")
    out = subprocess.run([sys.executable, "-c", code, str(gemma3n_broken_path)],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, 1]
    in_process = lint_paths([str(gemma3n_broken_path)])
    assert "GG204" in {f.code for f in in_process.findings} and "jinja2" in sys.modules


def test_close_reaps_children_that_were_never_asked(files):
    assert in_fresh_process("reaped", files) == {"started": 3, "reaped": 3, "after_close": "None"}


def test_only_local_files_are_read_ahead(tmp_path, tiny_llama_path):
    got = in_fresh_process("local_only", str(tmp_path), str(tiny_llama_path))
    assert got == {"running": [str(tiny_llama_path)], "folder": "None", "same": True}


def test_no_child_while_another_thread_runs(tiny_llama_path):
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with ReadAhead([str(tiny_llama_path)]) as ahead:
            assert ahead._running == {} and ahead.take(str(tiny_llama_path)) is None
    finally:
        stop.set()
        thread.join()


def test_what_crosses_the_pipe_pickles_whole(gemma3n_broken_path):
    hdr = read_header(gemma3n_broken_path)
    hdr.value("tokenizer.ggml.scores")[0]            # a NumericArray with its view made
    again = pickle.loads(pickle.dumps(hdr, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == hdr and again.tokens[5] == hdr.tokens[5]
    with pytest.raises(AttributeError):
        again.kv["tokenizer.ggml.tokens"].key = "x"  # still frozen
    for err in (GGUFError("a.gguf", 12, "expected the GGUF magic", hint="pass a .gguf file"),
                UnsafeTemplateError("built to escape the Jinja sandbox", name="tokenizer.chat_template", line=3)):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err) and back.__dict__ == err.__dict__

"""`publish inspect` and `publish lint` on files run without click (publish.quickcli, from
publish.__main__): the same stdout, stderr and exit code as the click command for every command
line it accepts, the click CLI for every other one, and an import budget: a whole `publish
inspect --json` or `publish lint` process on a 262,144-token header imports none of numpy, gguf,
jinja2, huggingface_hub or click (the speed itself is bench/bench_cli.py's: no timed tests).
`hf.co/ORG/NAME[:TAG]` names, which need the Hub stand-in, are held to the same identity in
tests/hub/test_ollama_tags.py (test_the_quick_path_prints_what_click_prints)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

import ggufs
from publish import quickcli
from publish.cli import main

HEAVY = ("numpy", "gguf", "jinja2", "huggingface_hub", "click", "yaml", "httpx", "ollama", "llama_cpp")


def imported_by(*args: str) -> tuple[list[str], int]:
    """The heavy modules a whole `python -m publish ARGS` process imported, and its exit code."""
    # The modules are listed at exit (an atexit callback: the process then ends the usual way,
    # publish.quickcli.exit_now); the exit code is the process's own.
    code = ("import atexit, runpy, sys\n"
            f"atexit.register(lambda: print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr))\n"
            f"sys.argv = ['publish', *{list(args)!r}]\n"
            "runpy.run_module('publish', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return eval(proc.stderr.strip().splitlines()[-1]), proc.returncode  # noqa: S307 - our own print of a list of names


def test_inspect_json_imports_nothing_heavy(gemma3n_broken_path):
    assert imported_by("inspect", "--json", str(gemma3n_broken_path)) == ([], 0)
    assert imported_by("inspect", str(gemma3n_broken_path)) == ([], 0)


def test_lint_of_a_file_without_chat_template_imports_nothing_heavy(tmp_path):
    path = ggufs.write_gemma3n_like(tmp_path / "m-Q4_K_M.gguf", chat_template=None)
    modules, code = imported_by("lint", str(path))
    assert (modules, code) == ([], 1)  # GG101 is an error


def test_lint_of_a_file_with_a_chat_template_imports_nothing_heavy(gemma3n_broken_path):
    """Its chat template is parsed, audited and rendered (GG204 fires) by the worker process
    (publish.jinja_worker), which imports Jinja; the lint process does not."""
    modules, code = imported_by("lint", str(gemma3n_broken_path))
    assert modules == [] and code == 1


def test_other_command_lines_go_to_click():
    for args in (["inspect", "--help"], ["lint"], ["lint", "--explain", "GG101"], ["inspect", "-o", "x", "f"],
                 ["inspect", "--format", "yaml", "f"], ["inspect", "--json", "--format", "text", "f"],
                 ["lint", "--target", "vllm", "f"], ["lint", "--select"], ["lint", "--", "f"], ["inspect", "-"],
                 ["build", "x"], [], ["--version"], ["lint", "--select", "-q", "f"], ["inspect", "--full", "f"]):
        assert quickcli.parse(args) is None, args


def run_quick(args: list[str]) -> tuple[str, str, int]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = quickcli.run(args)
    assert code is not None, args
    return out.getvalue(), err.getvalue(), code


def run_click(args: list[str]) -> tuple[str, str, int]:
    result = CliRunner().invoke(main, args)
    return result.stdout, result.stderr, result.exit_code


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_llama_path, gemma3n_broken_path):
    folder = tmp_path_factory.mktemp("q")
    broken = folder / "broken.gguf"
    broken.write_bytes(b"GGUF\3\0\0\0" + b"\0" * 10)
    base = ggufs.write_gemma3n_like(folder / "base-Q4_K_M.gguf", chat_template=None)
    return {"tiny": str(tiny_llama_path), "gemma": str(gemma3n_broken_path), "broken": str(broken),
            "base": str(base), "missing": str(folder / "nope.gguf"), "folder": str(folder)}


@pytest.mark.parametrize("args", [
    ["inspect", "{tiny}"], ["inspect", "--json", "{tiny}"], ["inspect", "{tiny}", "--format", "json"],
    ["inspect", "--format=text", "{gemma}", "{tiny}"], ["inspect", "-q", "--json", "--full-arrays", "{tiny}"],
    ["inspect", "--json", "--full-strings", "--format", "json", "{gemma}"], ["inspect", "{broken}"],
    ["inspect", "{tiny}", "{broken}"], ["inspect", "--json", "{tiny}", "{broken}"], ["inspect", "{missing}"],
    ["inspect", "{folder}"],
    ["lint", "{gemma}"], ["lint", "{tiny}", "--format", "json"], ["lint", "--format=sarif", "{base}"],
    ["lint", "--format", "github", "--select", "GG1", "--select", "GG5,GG4", "{gemma}"],
    ["lint", "--ignore", "GG5", "--target", "llama.cpp", "{gemma}"], ["lint", "--base", "{base}"],
    ["lint", "--base", "--chat", "-q", "{base}"], ["lint", "{broken}", "{tiny}"], ["lint", "{missing}"],
    ["lint", "--select", "XX9", "{tiny}"], ["lint", "{folder}"],
], ids=lambda a: " ".join(a))
def test_the_quick_path_prints_and_exits_as_the_click_command(files, args):
    argv = [a.format(**files) for a in args]
    assert quickcli.parse(argv) is not None
    quick, slow = run_quick(argv), run_click(argv)
    assert quick == slow


def test_every_quick_option_is_the_click_option_it_stands_for():
    """Same name, same choices, same default: the quick parser cannot drift from the definition."""
    from publish.cli.inspect_cmd import inspect
    from publish.cli.lint_cmd import lint

    for command, (flags, valued) in ((inspect, quickcli.COMMANDS["inspect"]), (lint, quickcli.COMMANDS["lint"])):
        params = {opt: p for p in command.params if isinstance(p, click.Option)
                  for opt in (*p.opts, *p.secondary_opts)}
        for name in (*flags, *valued):
            assert name in params and not params[name].hidden, (command.name, name)
        for name, (_, choices) in valued.items():
            ptype = params[name].type
            assert (list(ptype.choices) if isinstance(ptype, click.Choice) else None) == \
                (list(choices) if choices is not None else None), name
        assert all(params[name].is_flag for name in flags)
    defaults = {p.name: p.default for p in lint.params}
    assert (defaults["fmt"], defaults["target"], defaults["base"]) == ("text", "all", None)


@pytest.mark.parametrize("args", [["inspect", "--json", "{gemma3n}"], ["lint", "{gemma3}"], ["lint", "{gemma3n}"],
                                  ["lint", "--format", "json", "{gemma3}"],
                                  ["lint", "--select", "GG1,GG4", "--ignore", "GG405", "{gemma3}"],
                                  ["lint", "{pointer}"]],
                         ids=lambda a: " ".join(a))
def test_inspect_and_lint_import_neither_typing_nor_dataclasses(gemma3n_broken_path, gemma3_270m_path, tmp_path,
                                                                 args):
    """The header types, and lint's findings, rules and results, derive from publish.records.Record
    instead of @dataclass: dataclasses imports inspect (ast, dis, tokenize), about a tenth of a
    whole `publish inspect` process. Lint here is of the real Gemma 3 270M, which has no chat
    template, and of the gemma3n-like file, whose template the Jinja worker process renders
    (Jinja brings typing there, not in the lint process); GG selectors are checked without the
    staged-folder rules (publish.folder_rules imports publish.staged and publish.modelfile); a
    Git LFS pointer named like a GGUF is GG001 (publish.gguf.sniff says what it is)."""
    pointer = tmp_path / "m-Q4_K_M.gguf"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 12345\n")
    argv = [a.format(gemma3n=gemma3n_broken_path, gemma3=gemma3_270m_path, pointer=pointer) for a in args]
    code = ("import atexit, runpy, sys\n"
            "atexit.register(lambda: print(sorted(m for m in ('typing', 'dataclasses', 'inspect') if m in sys.modules), "
            "file=sys.stderr))\n"
            f"sys.argv = ['publish', *{argv!r}]\n"
            "runpy.run_module('publish', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stderr.strip().splitlines() == ["[]"] and proc.stdout.strip()  # it ran, and said nothing on stderr


# Planted in every test process below by a sitecustomize module: an object whose __del__ runs in
# the interpreter's teardown, and (with PUBLISH_TEST_ATEXIT) an atexit callback.
SITECUSTOMIZE = """
import atexit, os, sys
class Noisy:
    def __del__(self):
        sys.__stderr__.write("interpreter teardown\\n")
noisy = Noisy()
if os.environ.get("PUBLISH_TEST_ATEXIT"):
    atexit.register(lambda: print("callback ran", flush=True))
"""
CONSOLE = "import sys; sys.argv[0] = 'publish'; from publish.__main__ import console; console()"


def planted(tmp_path, **env) -> dict:
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]), **env}


@pytest.mark.parametrize("entry", ["-m", "console"])
@pytest.mark.parametrize("args, status", [(["inspect", "--json", "--full-arrays", "{gemma3n}"], 0),
                                          (["lint", "{gemma3n}"], 1), (["inspect", "{missing}"], 2)])
def test_the_program_ends_a_quick_command_without_the_teardown_and_loses_no_output(gemma3n_broken_path, tmp_path,
                                                                                    args, status, entry):
    """publish.quickcli.exit_now, from `python -m publish` and the console script's entry
    (publish.__main__.console): the process ends with the command's exit status once its output
    is flushed (here megabytes through a pipe, which the reader takes in pieces), and the
    interpreter's teardown is skipped (a global's __del__ never runs). Its output is the
    in-process run's."""
    argv = [a.format(gemma3n=gemma3n_broken_path, missing=tmp_path / "none.gguf") for a in args]
    start = [sys.executable, "-m", "publish"] if entry == "-m" else [sys.executable, "-c", CONSOLE]
    proc = subprocess.run([*start, *argv], capture_output=True, text=True, env=planted(tmp_path))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = quickcli.run(argv)
    assert (proc.returncode, proc.stdout, proc.stderr) == (status, out.getvalue(), err.getvalue())
    if args[1] == "--json":
        assert len(proc.stdout) > 1 << 20 and json.loads(proc.stdout)
    assert code == status


def test_with_an_atexit_callback_the_program_ends_the_usual_way(gemma3n_broken_path, tmp_path):
    """Coverage, logging or a caller's own atexit callback runs, and so does the teardown."""
    proc = subprocess.run([sys.executable, "-m", "publish", "lint", str(gemma3n_broken_path)], capture_output=True,
                          text=True, env=planted(tmp_path, PUBLISH_TEST_ATEXIT="1"))
    assert proc.returncode == 1 and proc.stdout.endswith("callback ran\n")
    assert "interpreter teardown" in proc.stderr


CALLERS = {
    "runpy": ("import runpy\nsys.argv = ['publish', *args]\n"
              "try:\n    runpy.run_module('publish', run_name='__main__')\n"
              "except SystemExit as e:\n    print('exit', e.code, file=sys.stderr)\n"),
    "main": ("from publish.__main__ import main\nsys.argv = ['publish', *args]\n"
             "try:\n    main()\nfinally:\n    print('finally ran', file=sys.stderr)\n"),
}


@pytest.mark.parametrize("caller", CALLERS)
def test_a_program_that_runs_publish_in_process_goes_on_after_it(gemma3n_broken_path, tmp_path, caller):
    """runpy.run_module('publish') or publish.__main__.main() inside another program: SystemExit
    with the exit code, the caller's `finally` and its buffered file, as before the quick exit."""
    code = ("import sys\nargs = sys.argv[1:]\nlog = open(sys.argv[0] + '.log', 'w')\nlog.write('kept')\n"
            + CALLERS[caller] + "print('caller goes on', file=sys.stderr)\n")
    script = tmp_path / "caller.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script), "inspect", str(gemma3n_broken_path)], capture_output=True,
                          text=True, env=planted(tmp_path))
    said = {"runpy": "exit 0\ncaller goes on\n", "main": "finally ran\n"}[caller]   # main() raises SystemExit
    assert proc.returncode == 0 and proc.stderr == said + "interpreter teardown\n"
    assert (tmp_path / "caller.py.log").read_text() == "kept"


@pytest.mark.parametrize("entry", ["-m", "console"])
def test_a_profiled_program_writes_its_profile(gemma3n_broken_path, tmp_path, entry):
    """`python -m cProfile -o FILE -m publish inspect …`, or of a script that runs the console
    script's entry: cProfile writes its file after the program returns (no atexit callback), so a
    profiler keeps the usual exit."""
    prof = tmp_path / "prof.out"
    script = tmp_path / "publish_console.py"
    script.write_text(CONSOLE)
    start = ["-m", "publish"] if entry == "-m" else [str(script)]
    proc = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), *start, "inspect",
                           str(gemma3n_broken_path)], capture_output=True, text=True)
    assert proc.returncode == 0 and prof.stat().st_size > 1000, proc.stderr


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux's /dev/full")
@pytest.mark.parametrize("args, stream", [(["inspect", "{gemma3n}"], "stdout"),
                                          (["inspect", "--json", "--full-arrays", "{gemma3n}"], "stdout"),
                                          (["lint", "{gemma3n}"], "stdout"), (["template", "check", "--help"], "stdout"),
                                          (["lint", "{missing}"], "stderr")])
def test_output_to_a_full_device_is_an_error_without_a_traceback(gemma3n_broken_path, tmp_path, args, stream):
    """`publish … >/dev/full` (a full disk, a quota): on both CLI paths, one error line on stderr
    naming standard output, exit status 2 (an output that cannot be written), no traceback; with
    stderr itself full (`2>/dev/full`), still status 2 and nothing else."""
    argv = [a.format(gemma3n=gemma3n_broken_path, missing=tmp_path / "none.gguf") for a in args]
    with open("/dev/full", "w") as full:
        kwargs = {"stdout": full, "stderr": subprocess.PIPE} if stream == "stdout" else \
            {"stdout": subprocess.PIPE, "stderr": full}
        proc = subprocess.run([sys.executable, "-m", "publish", *argv], text=True, **kwargs)
    assert proc.returncode == 2
    if stream == "stdout":
        assert proc.stderr == ("error: standard output: cannot write: no space left on device\n"
                               "  hint: send the output to a file or pipe on a device with free space\n")


@pytest.mark.parametrize("args, status", [(["inspect", "--json", "--full-arrays", "{gemma3n}"], 0),
                                          (["lint", "{gemma3n}"], 1), (["template", "check", "--help"], 0)])
def test_a_closed_stdout_is_written_to_nowhere(gemma3n_broken_path, args, status):
    """Started with stdout closed (`publish … >&-`, sys.stdout is None): the output goes nowhere, as
    print() sends it, and the exit status is the command's; no traceback."""
    argv = [a.format(gemma3n=gemma3n_broken_path) for a in args]
    proc = subprocess.run([sys.executable, "-m", "publish", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, preexec_fn=lambda: os.close(1))
    assert (proc.returncode, proc.stderr) == (status, "")


def test_a_reader_that_goes_away_ends_the_command_quietly(gemma3n_broken_path):
    """`publish inspect --json --full-arrays FILE | head -c 100`: the pipe breaks mid-output; exit
    status 1 (as click's), nothing on stderr, no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "publish", "inspect", "--json", "--full-arrays",
                             str(gemma3n_broken_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.read(100)
    proc.stdout.close()
    err = proc.stderr.read()
    assert (proc.wait(), len(first), err) == (1, 100, b"")

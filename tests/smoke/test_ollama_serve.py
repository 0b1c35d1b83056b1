"""Server handling for both ollama modes: a clear setup error (exit 2) when nothing answers, and
`--serve` starting the REAL `ollama serve` (the pinned v0.24.0 the session fixture found) for the
run, on a free loopback port, with its own model store, and stopping it after."""

from __future__ import annotations

import json
import os
import socket
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from publish.errors import SmokeSetupError
from publish.smoke.serve import OllamaServe, ensure_server, server_version
from smoke_folders import make_folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def no_ollama_on_path(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


@pytest.fixture
def ollama_on_path(ollama_server, tmp_path, monkeypatch):
    """The real `ollama` first on PATH; whatever it serves keeps its models and keys in tmp_path."""
    monkeypatch.setenv("PATH", f"{Path(ollama_server.binary).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}")
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return ollama_server


@pytest.mark.parametrize("via", ["api", "cli"])
def test_nothing_answers_and_no_ollama_says_what_to_install(via, no_ollama_on_path):
    from publish.smoke.ollama_api import OllamaAPIBackend
    from publish.smoke.ollama_cli import OllamaCLIBackend

    host = f"127.0.0.1:{free_port()}"
    cls = OllamaAPIBackend if via == "api" else OllamaCLIBackend
    with pytest.raises(SmokeSetupError) as info:
        cls(host, serve=True)
    err = info.value
    assert err.exit_code == 2
    text = str(err)
    assert f"no Ollama server answers at http://{host}" in text
    assert "`ollama` is not on PATH" in text
    assert "https://ollama.com/download" in text and "--backend llamacpp" in text


def test_publish_smoke_exits_2_with_the_message(no_ollama_on_path, tmp_path, tiny_llama_path):
    from publish.cli import main

    folder = make_folder(tmp_path / "good", tiny_llama_path)
    host = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["smoke", str(folder), "--backend", "ollama", "--host", host])
    assert result.exit_code == 2, result.output
    assert f"no Ollama server answers at http://{host}" in result.output
    assert "install Ollama" in result.output


def test_ollama_on_path_without_serve_says_how_to_start_it(ollama_on_path):
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(SmokeSetupError, match=r"start it with `ollama serve` .* or pass --serve"):
        ensure_server(host, serve=False)


def test_serve_starts_the_real_ollama_and_stops_it_after(ollama_on_path, monkeypatch, tmp_path):
    from publish.smoke.ollama_api import OllamaAPIBackend

    host = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("OLLAMA_HOST", host)  # OLLAMA_HOST is respected: no --host given
    backend = OllamaAPIBackend(serve=True)
    url = backend.url
    try:
        assert url == f"http://{host}"
        assert backend.server is not None and backend.server.proc.poll() is None
        assert server_version(url) == ollama_on_path.version   # the real one, not a stand-in
        assert backend.client.list().models == []
        assert (tmp_path / "models").is_dir()   # its own store, from OLLAMA_MODELS
    finally:
        backend.close()
    assert server_version(url) is None


def test_publish_smoke_serve_runs_the_release_on_a_server_it_starts(ollama_on_path, tmp_path, tiny_llama_path):
    from publish.cli import main

    folder = make_folder(tmp_path / "good", tiny_llama_path)
    host = f"127.0.0.1:{free_port()}"
    res = CliRunner().invoke(main, ["smoke", str(folder), "--backend", "ollama", "--via", "cli", "--host", host,
                                    "--serve", "--json"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["quants"][0]["cases"][0]["answer"] == "2"
    assert server_version(f"http://{host}") is None  # stopped after the run


def test_a_serve_that_dies_is_reported_with_its_log(tmp_path):
    fake = tmp_path / "ollama"
    fake.write_text("#!/bin/sh\necho 'Error: listen tcp 127.0.0.1:11434: bind: address already in use' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    server = OllamaServe(f"http://127.0.0.1:{free_port()}", str(fake), timeout=10)
    with pytest.raises(SmokeSetupError, match="exited with status 1.*address already in use"):
        server.start()


def test_a_killed_caller_takes_its_ollama_serve_with_it(ollama_on_path, tmp_path):
    """SIGKILL of the process that ran --serve (no cleanup can run) still ends `ollama serve`:
    a leftover server would keep its port and model store until someone finds it."""
    import signal
    import subprocess
    import sys
    import time

    host = f"127.0.0.1:{free_port()}"
    script = (
        "import sys, time\n"
        "from publish.smoke.serve import OllamaServe\n"
        f"s = OllamaServe('http://{host}', {ollama_on_path.binary!r}, timeout=60)\n"
        "s.start()\n"
        "print(s.proc.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    caller = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    served_pid = None
    try:
        served_pid = int(caller.stdout.readline())
        assert server_version(f"http://{host}") == ollama_on_path.version
        caller.send_signal(signal.SIGKILL)
        caller.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and Path(f"/proc/{served_pid}").exists() and \
                "zombie" not in _proc_state(served_pid):
            time.sleep(0.1)
        assert not Path(f"/proc/{served_pid}").exists() or "zombie" in _proc_state(served_pid), \
            "ollama serve outlived the process that started it"
        assert server_version(f"http://{host}", timeout=2) is None
    finally:
        caller.kill()
        if served_pid is not None and "gone" not in _proc_state(served_pid):
            os.kill(served_pid, signal.SIGKILL)  # a failed test must not leave it running


def _proc_state(pid: int) -> str:
    try:
        return next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                    if line.startswith("State:")).lower()
    except (OSError, StopIteration):
        return "gone"

"""Server handling for both ollama modes: a clear setup error (exit 2) when nothing answers, and
`--serve` starting `ollama serve` (here: the stand-in executable in tests/fake_bin) for the run."""

from __future__ import annotations

import os
import socket
import stat
import sys

import pytest
from click.testing import CliRunner

from ollama_standin import FAKE_BIN, STANDIN_VERSION
from publish.errors import SmokeSetupError
from publish.smoke.serve import OllamaServe, ensure_server, server_version


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
def standin_on_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKE_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    monkeypatch.setenv("PUBLISH_TEST_PYTHON", sys.executable)


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
    import ggufs
    from ollama_standin import write_staged_folder
    from publish.cli import main

    folder = write_staged_folder(tmp_path / "good", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO)
    host = f"127.0.0.1:{free_port()}"
    result = CliRunner().invoke(main, ["smoke", str(folder), "--backend", "ollama", "--host", host])
    assert result.exit_code == 2, result.output
    assert f"no Ollama server answers at http://{host}" in result.output
    assert "install Ollama" in result.output


def test_ollama_on_path_without_serve_says_how_to_start_it(standin_on_path):
    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(SmokeSetupError, match=r"start it with `ollama serve` .* or pass --serve"):
        ensure_server(host, serve=False)


def test_serve_starts_the_stand_in_ollama_and_stops_it_after(standin_on_path, monkeypatch, tmp_path):
    from publish.smoke.ollama_api import OllamaAPIBackend

    monkeypatch.setenv("PUBLISH_STANDIN_STORE", str(tmp_path / "store"))
    host = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("OLLAMA_HOST", host)  # OLLAMA_HOST is respected: no --host given
    backend = OllamaAPIBackend(serve=True)
    url = backend.url
    try:
        assert url == f"http://{host}"
        assert backend.server is not None and backend.server.proc.poll() is None
        assert server_version(url) == STANDIN_VERSION
        assert backend.client.list().models == []
    finally:
        backend.close()
    assert server_version(url) is None


def test_a_serve_that_dies_is_reported_with_its_log(tmp_path):
    fake = tmp_path / "ollama"
    fake.write_text("#!/bin/sh\necho 'Error: listen tcp 127.0.0.1:11434: bind: address already in use' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    server = OllamaServe(f"http://127.0.0.1:{free_port()}", str(fake), timeout=10)
    with pytest.raises(SmokeSetupError, match="exited with status 1.*address already in use"):
        server.start()

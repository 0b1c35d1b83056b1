"""Find the Ollama server the smoke talks to; start `ollama serve` for the run when asked (--serve).

Both ollama backends (api, cli) need a running server. When none answers, the error says
exactly what to install or start (exit 2).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from ollama._client import _parse_host  # the client's own OLLAMA_HOST rules (scheme, port 11434)

from publish.errors import SmokeSetupError

INSTALL_HINT = (
    "install Ollama (https://ollama.com/download; on Linux: "
    "`curl -fsSL https://ollama.com/install.sh | sh`) and start it with `ollama serve`, "
    "or pass --serve to start it for this run, or point OLLAMA_HOST / --host at a running server; "
    "`--backend llamacpp` needs no Ollama at all"
)


def base_url(host: str | None = None) -> str:
    """http://HOST:PORT for --host, else OLLAMA_HOST, else Ollama's default 127.0.0.1:11434."""
    return _parse_host(host or os.environ.get("OLLAMA_HOST"))


def tls_verify(url: str) -> bool:
    """httpx builds a TLS context (~0.1 s) even for plain http; only https needs one."""
    return url.startswith("https://")


def server_version(url: str, timeout: float = 10.0) -> str | None:
    """The version a server at `url` reports on /api/version, or None when nothing answers.

    No server at all is a refused connection, reported at once; the timeout only matters for a
    server that is there but slow (a busy machine), which must not be taken for a missing one."""
    try:
        r = httpx.get(f"{url}/api/version", timeout=timeout, verify=tls_verify(url))
        r.raise_for_status()
        return str(r.json().get("version", ""))
    except (httpx.HTTPError, ValueError):
        return None


def find_ollama(ollama_bin: str = "ollama") -> str | None:
    """The `ollama` executable: `ollama_bin` itself when it is a path and executable, else looked up
    on PATH; None when there is none."""
    if os.sep in ollama_bin:
        return ollama_bin if os.access(ollama_bin, os.X_OK) else None
    return shutil.which(ollama_bin)


def _die_with_parent():
    """A preexec_fn (Linux only, else None) that makes the kernel SIGTERM the child when the thread
    that started it ends, so a killed `publish` or pytest (SIGKILL, an OOM kill) leaves no `ollama
    serve` behind holding its port and models. prctl(PR_SET_PDEATHSIG), linux/prctl.h; libc is
    loaded before the fork, since importing in a forked child of a threaded process can deadlock."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def set_parent_death_signal() -> None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return set_parent_death_signal


class OllamaServe:
    """`ollama serve` started for one run, bound to the host the smoke uses, stopped after."""

    def __init__(self, url: str, ollama_bin: str, *, timeout: float = 60.0,
                 env: dict[str, str] | None = None):
        self.url = url
        self.ollama_bin = ollama_bin
        self.timeout = timeout
        self.extra_env = dict(env or {})   # e.g. OLLAMA_MODELS for a private model store
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self) -> None:
        """Start `ollama serve` on `url`'s host:port (its output to a temp log file, its own
        session; on Linux it gets SIGTERM when the calling thread ends, even by SIGKILL) and wait up to `timeout` seconds for /api/version to answer. Raises
        SmokeSetupError, with the log's tail, when it exits or does not answer in time."""
        netloc = urlsplit(self.url).netloc
        env = dict(os.environ, **self.extra_env, OLLAMA_HOST=netloc)
        fd, log = tempfile.mkstemp(prefix="ollama-serve-", suffix=".log")
        self.log_path = Path(log)
        with os.fdopen(fd, "wb") as log_fh:
            self.proc = subprocess.Popen(
                [self.ollama_bin, "serve"], env=env, stdin=subprocess.DEVNULL,
                stdout=log_fh, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if server_version(self.url, timeout=1.0) is not None:
                return
            if self.proc.poll() is not None:
                tail, code = self._log_tail(), self.proc.returncode
                self.proc = None
                raise SmokeSetupError(
                    f"`{self.ollama_bin} serve` exited with status {code} "
                    f"before answering at {self.url}: {tail}",
                    hint="run `ollama serve` yourself to see why, or point OLLAMA_HOST at a running server")
            time.sleep(0.1)
        self.stop()
        raise SmokeSetupError(
            f"`{self.ollama_bin} serve` did not answer at {self.url}/api/version within {self.timeout:.0f}s "
            f"(log: {self.log_path})",
            hint="is another process using that port? set OLLAMA_HOST to a free host:port")

    def _log_tail(self, n: int = 800) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path else ""
        except OSError:
            return "(no log)"
        return text[-n:].strip() or "(no output)"

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 10 s. Idempotent."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __enter__(self) -> "OllamaServe":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def ensure_server(host: str | None, *, serve: bool, ollama_bin: str = "ollama",
                  start_timeout: float = 60.0) -> tuple[str, OllamaServe | None]:
    """(base URL, the server we started or None). Raises SmokeSetupError naming what to do."""
    url = base_url(host)
    if server_version(url) is not None:
        return url, None
    binary = find_ollama(ollama_bin)
    if binary is None:
        raise SmokeSetupError(
            f"no Ollama server answers at {url} and `{ollama_bin}` is not on PATH", hint=INSTALL_HINT)
    if not serve:
        raise SmokeSetupError(
            f"no Ollama server answers at {url}",
            hint=f"start it with `{ollama_bin} serve` (OLLAMA_HOST={urlsplit(url).netloc}) "
                 "or pass --serve to start it for this run")
    server = OllamaServe(url, binary, timeout=start_timeout)
    server.start()
    return url, server

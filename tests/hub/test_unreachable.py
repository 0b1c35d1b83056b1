"""A Hub that cannot be reached, and huggingface_hub's retry lines (issue 10, section 4).

Offline, a read-only command (inspect, lint, smoke, ci-matrix on hf:// or hf.co/ addresses)
ends at once with one error that names the host, says why (its name does not resolve, nothing
listens there) and what to do, exit 2; it used to retry for 24 s with two raw lines of
huggingface_hub's per try on stderr. Retries that have a point (HTTP 5xx, 429) still happen, and
their lines follow the progress switch: nothing under --quiet, CI or a non-terminal stderr, one
line per retry at a terminal. Run as real processes (stderr a pipe), except the terminal case.

The time bound (15 s) is a regression guard for the 24 s of retries, not a benchmark.
"""

from __future__ import annotations

import logging
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from publish.cli import main

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "examples" / "gemma-3-270m" / "release.toml"
FAKE_TOKEN = "hf_unreachabletestTOKENnotreal0123456789"
BOUND = 15.0
REPO = "alice/tiny-GGUF"
NAME = "tiny-llama-F32.gguf"
CLEARED = ("CI", "HF_HUB_VERBOSITY", "HF_DEBUG", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_PROGRESS_BARS", "HTTPS_PROXY",
           "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]   # closed when the block ends: nothing listens there


def publish(args: list[str], *, endpoint: str, token: str = FAKE_TOKEN, **env: str):
    """`python -m publish ARGS` as a process with stderr a pipe; (result, seconds)."""
    environ = {k: v for k, v in os.environ.items() if k not in CLEARED}
    environ.update(HF_ENDPOINT=endpoint, HF_TOKEN=token, **env)
    started = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "publish", *args], capture_output=True, text=True, env=environ,
                       cwd=ROOT, timeout=120)
    return r, time.monotonic() - started


READ_ONLY = [
    pytest.param(["-q", "inspect", "hf://org/name"], {}, id="-q inspect repo"),
    pytest.param(["inspect", "hf://org/name/model-Q4_K_M.gguf", "--quiet"], {}, id="inspect file --quiet"),
    pytest.param(["lint", "hf.co/org/name"], {"CI": "true"}, id="CI lint hf.co"),
    pytest.param(["-q", "smoke", "hf.co/org/name"], {}, id="-q smoke hf.co"),
    pytest.param(["ci-matrix", str(SPEC)], {"CI": "true"}, id="CI ci-matrix spec"),
]


@pytest.mark.parametrize("args, env", READ_ONLY)
@pytest.mark.parametrize("dead", ["dns", "refused"])
def test_a_read_only_command_offline_fails_at_once_with_one_error(args, env, dead):
    if dead == "dns":
        host = "hub.publish-test.invalid"          # .invalid never resolves (RFC 6761)
        endpoint = f"http://{host}"
    else:
        host = f"127.0.0.1:{closed_port()}"
        endpoint = f"http://{host}"
    r, seconds = publish(args, endpoint=endpoint, **env)
    assert seconds < BOUND, (seconds, r.stderr)
    assert r.returncode == 2 and r.stdout == "", (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("  hint: "), r.stderr
    error, hint = lines
    assert f"cannot reach {host}: " in error
    if dead == "dns":
        assert "its name does not resolve; this machine is offline or has no DNS" in error
        assert "connect to the network and run it again" in hint and f"check HF_ENDPOINT ({endpoint})" in hint
    else:
        assert "the connection was refused (nothing listens there)" in error
        assert f"start the server HF_ENDPOINT ({endpoint}) points at, or unset HF_ENDPOINT" in hint
    assert "nothing was changed on the repo" not in hint      # a push's hint; nothing was to be changed
    assert "Retry" not in r.stderr and "thrown while requesting" not in r.stderr
    if args[0] == "ci-matrix":
        assert "--gguf-dir DIR reads them from a local folder instead" in hint
        assert "not where the spec says (quants.files[0].file)" in hint
    assert FAKE_TOKEN not in r.stderr


@pytest.fixture
def untrusted_tls(tmp_path):
    """A loopback TLS server for `localhost` with a self-signed certificate (made by the openssl
    command): what a machine behind a TLS-inspecting proxy without its CA sees. Yields its URL."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    context.wrap_socket(conn, server_side=True).close()
                except (OSError, ssl.SSLError):
                    pass                 # the client refused the certificate: the handshake fails

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://localhost:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_an_untrusted_tls_certificate_fails_at_once_and_names_ssl_cert_file(untrusted_tls):
    r, seconds = publish(["-q", "inspect", "hf://org/name"], endpoint=untrusted_tls)
    assert seconds < BOUND, (seconds, r.stderr)
    assert r.returncode == 2 and r.stdout == "", r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 2, r.stderr
    host = untrusted_tls.split("//", 1)[1]
    assert lines[0] == f"error: list hf://org/name: cannot reach {host}: its TLS certificate is not trusted " \
                       "(self-signed certificate)"
    assert "point SSL_CERT_FILE (or SSL_CERT_DIR) at it" in lines[1] and "nothing was changed" not in lines[1]


def test_ci_matrix_with_a_gguf_dir_missing_the_files_names_it(tmp_path):
    r, seconds = publish(["ci-matrix", str(SPEC), "--gguf-dir", str(tmp_path)], endpoint="http://hub.publish-test.invalid")
    assert seconds < BOUND and r.returncode == 2, r.stderr
    assert f"the spec's GGUFs are not in --gguf-dir {tmp_path} (quants.files[0].file)" in r.stderr


def test_a_push_offline_keeps_its_own_hint(tmp_path):
    (tmp_path / "params").write_text("{}")
    r, seconds = publish(["push", str(tmp_path), "--repo", "org/name"], endpoint=f"http://127.0.0.1:{closed_port()}")
    assert seconds < BOUND, (seconds, r.stderr)
    assert r.returncode == 2 and "the connection was refused" in r.stderr, r.stderr
    assert "nothing was changed on the repo" in r.stderr
    assert "Retry" not in r.stderr


@pytest.fixture
def tiny_repo(hub, tiny_llama_path):
    hub.put_file(REPO, NAME, tiny_llama_path.read_bytes())
    hub.put_file(REPO, "README.md", b"---\nlicense: mit\n---\n")
    hub.reset_counters()
    return hub


@pytest.mark.parametrize("args, env", [
    pytest.param(["-q", "inspect", f"hf://{REPO}/{NAME}"], {}, id="-q"),
    pytest.param(["inspect", f"hf://{REPO}/{NAME}"], {"CI": "true"}, id="CI"),
    pytest.param(["inspect", f"hf://{REPO}/{NAME}"], {}, id="stderr not a terminal"),
])
def test_a_503_is_still_retried_and_its_lines_stay_off_stderr_when_progress_is_off(tiny_repo, args, env):
    tiny_repo.inject("GET", r"/resolve/", status=503, times=1)
    r, _ = publish(args, endpoint=tiny_repo.url, token=os.environ["HF_TOKEN"], **env)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert "tiny" in r.stdout.lower()
    assert tiny_repo.count("GET", r"/resolve/") == 2           # huggingface_hub's backoff tried again


def test_hf_hub_verbosity_brings_huggingface_hubs_own_lines_back(tiny_repo):
    tiny_repo.inject("GET", r"/resolve/", status=503, times=1)
    r, _ = publish(["-q", "inspect", f"hf://{REPO}/{NAME}"], endpoint=tiny_repo.url, token=os.environ["HF_TOKEN"],
                   HF_HUB_VERBOSITY="warning")
    assert r.returncode == 0, r.stderr
    assert "HTTP Error 503 thrown while requesting GET" in r.stderr and "Retrying in 1s [Retry 1/5]" in r.stderr


class Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_at_a_terminal_each_retry_is_one_line(tiny_repo, terminal):
    seen = Records()
    http_logger = logging.getLogger("huggingface_hub.utils._http")
    http_logger.addHandler(seen)                    # sees only what the logger's filters let through
    try:
        tiny_repo.inject("GET", r"/resolve/", status=503, times=2)
        r = CliRunner().invoke(main, ["inspect", f"hf://{REPO}/{NAME}", "--format", "json"])
    finally:
        http_logger.removeHandler(seen)
    assert r.exit_code == 0, r.stderr
    retries = [line for line in r.stderr.replace("\r", "\n").splitlines() if "Retry" in line]
    assert len(retries) == 2, r.stderr
    for n, line in enumerate(retries, 1):
        assert line.startswith("huggingface_hub: HTTP Error 503 thrown while requesting GET ")
        assert f"[Retry {n}/5]" in line
    assert not [rec for rec in seen.records if rec.levelno >= logging.WARNING]   # (another test may turn DEBUG on)
    assert tiny_repo.count("GET", r"/resolve/") == 3

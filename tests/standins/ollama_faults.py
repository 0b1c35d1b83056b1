"""A FAULT INJECTOR in front of the real Ollama server, for tests only. It is not Ollama.

Everything is forwarded, byte for byte and streamed, to the real `ollama serve` behind it; only
the faults a test asks for are added, for the failures a healthy real server cannot be made to
produce on demand:

- `Fault(path, drop=True)`: the connection is closed without an answer (a crashed server);
- `Fault(path, status=500, error="...")`: an error answer in Ollama's shape (`{"error": ...}`);
- `Fault(path, delay=S)`: the answer comes S seconds late (a slow or stuck model);
- `Fault(path, strip=("field",))`: request fields removed before forwarding (an older server
  that does not know them, e.g. `_debug_render_only`, or ignores `parameters` at create).

`times=N` limits a fault to its first N matching requests. Every request is recorded in
`requests` as (method, path, model) so a test can check the order a client called things in.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class Fault:
    path: str                      # exact request path, e.g. "/api/chat"
    method: str | None = None      # None: any method
    drop: bool = False
    status: int | None = None
    error: str = "injected fault"
    delay: float = 0.0
    strip: tuple[str, ...] = ()
    times: int | None = None       # None: every matching request

    def matches(self, method: str, path: str) -> bool:
        return path == self.path and (self.method is None or self.method == method) and self.times != 0


class OllamaFaultProxy:
    """`with OllamaFaultProxy(real_url, [Fault(...)]) as proxy:` then point clients at proxy.url."""

    def __init__(self, upstream: str, faults: list[Fault] | None = None):
        self.upstream = urlsplit(upstream)
        self.faults = list(faults or [])
        self.requests: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self.url = ""

    def _take(self, method: str, path: str) -> list[Fault]:
        with self._lock:
            hits = [f for f in self.faults if f.matches(method, path)]
            for f in hits:
                if f.times is not None:
                    f.times -= 1
            return hits

    def _record(self, method: str, path: str, body: bytes) -> None:
        model = ""
        if body[:1] == b"{":
            try:
                data = json.loads(body)
                model = str(data.get("model") or data.get("name") or "")
            except ValueError:
                pass
        with self._lock:
            self.requests.append((method, path, model))

    def start(self) -> str:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                """The request body, whole: by Content-Length, or chunk by chunk (the `ollama`
                CLI uploads blobs with Transfer-Encoding: chunked)."""
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(parts)
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _forward(self) -> None:
                path = urlsplit(self.path).path
                body = self._body()
                proxy._record(self.command, path, body)
                faults = proxy._take(self.command, path)
                for f in faults:
                    if f.delay:
                        time.sleep(f.delay)
                    if f.drop:
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    if f.status is not None:
                        data = json.dumps({"error": f.error}).encode()
                        self.send_response(f.status)
                        self.send_header("Content-Type", "application/json; charset=utf-8")
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                    if f.strip and body[:1] == b"{":
                        data = json.loads(body)
                        for key in f.strip:
                            data.pop(key, None)
                        body = json.dumps(data).encode()
                up = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=3600)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection", "transfer-encoding")}
                headers["Content-Length"] = str(len(body))
                try:
                    up.request(self.command, self.path, body=body if body or self.command in ("POST", "PUT") else None,
                               headers=headers)
                    resp = up.getresponse()
                    self.send_response(resp.status)
                    head = self.command == "HEAD"
                    for k, v in resp.getheaders():
                        if k.lower() not in ("transfer-encoding", "connection") and (head or k.lower() != "content-length"):
                            self.send_header(k, v)
                    if not head:
                        self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    if not head:
                        while chunk := resp.read1(65536):
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                            self.wfile.flush()
                        self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    up.close()

            do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = _forward

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def calls(self, path: str, model: str | None = None) -> int:
        return sum(1 for _, p, m in self.requests if p == path and (model is None or m == model))

    def __enter__(self) -> "OllamaFaultProxy":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

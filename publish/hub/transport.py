"""huggingface_hub's HTTP client as publish runs it: a host that cannot be reached at all fails at
once, and huggingface_hub's retry lines follow publish's progress switch.

Imported only by publish.hub.client, when a Hub call is made (it imports httpx2).

Fail fast. huggingface_hub 2.4 retries every `httpx2.NetworkError` five times with 1, 2, 4, 8, 8 s
between tries (`_http_backoff_base` in huggingface_hub/utils/_http.py, called by `http_backoff`
and `http_stream_backoff` for listings and file reads), so a machine without network took 24 s
to say so. A connection that cannot be made at all is not a passing fault: the host's name does
not resolve (`socket.gaierror`: offline, no DNS, a misspelt HF_ENDPOINT), the host refuses it
(`ConnectionRefusedError`: nothing listens at that port), there is no route to it
(ENETUNREACH/EHOSTUNREACH), or its TLS certificate is not trusted (`ssl.SSLCertVerificationError`:
a proxy or firewall that inspects TLS, whose CA this machine lacks; huggingface/huggingface_hub#2312,
huggingface/transformers#17611 show the five retries it got). Inside `fail_fast()` (publish's own Hub calls: `client.hub_errors`,
`client.call`) `HubClient.send` turns such an `httpx2.ConnectError` into `HostUnreachable`, a
`TransportError` that is not a `NetworkError`, which huggingface_hub's backoff does not retry.
Everything else keeps huggingface_hub's retries: HTTP 408/429/5xx, timeouts (a slow Hub and a dead
route look the same), dropped connections and connections reset while being made (what a firewall
that drops some connections at random does, huggingface/huggingface_hub#1538). Outside `fail_fast()` (a Python program's own
huggingface_hub calls in the same process, LFS uploads in huggingface_hub's worker threads) the
client behaves as huggingface_hub's default one.

Retry lines. Before each retry huggingface_hub logs two WARNING records on its logger
`huggingface_hub.utils._http` ("'…' thrown while requesting GET …" or "HTTP Error 503 thrown
while requesting …", then "Retrying in 2s [Retry 1/5]."), printed on stderr by the handler
huggingface_hub puts on its root logger. `RetryLines` (a logging.Filter on that logger) tells them
by the function that logs them (`BACKOFF_FUNCTIONS`), not by their text: when progress is off (`publish.progress`:
--quiet, CI, not a terminal, huggingface_hub's own switches) they are dropped; when it is on, the
two records of one retry become one progress line (`progress.note`). Other huggingface_hub
warnings pass unchanged, and with HF_HUB_VERBOSITY or HF_DEBUG set (a person asked for
huggingface_hub's own logs) so do the retry lines.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import os
import socket
import ssl
import threading
from typing import Iterator

import httpx2

HTTP_LOGGER = "huggingface_hub.utils._http"
# the functions of huggingface_hub that log the retry lines: _http_backoff_base and its inner
# _should_retry (the "HTTP Error 503 thrown …" line) in 2.x; 1.x logged them in http_backoff
BACKOFF_FUNCTIONS = frozenset({"_http_backoff_base", "_should_retry", "http_backoff"})
NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH})

_fail_fast: contextvars.ContextVar[bool] = contextvars.ContextVar("publish_hub_fail_fast", default=False)


class HostUnreachable(httpx2.TransportError):
    """No connection to `host` could be made at all. `reason` is "dns" (its name does not resolve),
    "refused" (the connection was refused: nothing listens at `port`), "no-route" (the network
    has no route to it) or "certificate" (its TLS certificate was not trusted; `detail` is
    OpenSSL's verify message, e.g. "self-signed certificate in certificate chain"). `url` is the
    URL asked for (without its query, which may hold a CDN signature). Not an
    `httpx2.NetworkError`, so huggingface_hub's backoff does not retry it."""

    def __init__(self, url: httpx2.URL, reason: str, *, detail: str = "", request: httpx2.Request | None = None):
        self.host = url.host
        self.port = url.port
        self.scheme = url.scheme
        self.url = str(url.copy_with(query=None, fragment=None))
        self.reason = reason
        self.detail = detail
        super().__init__(f"cannot connect to {self.host} ({reason})", request=request)


def unreachable_reason(err: BaseException) -> str | None:
    """"dns", "refused", "no-route" or "certificate" when the OS error under `err` (an
    httpx2.ConnectError, through its __cause__/__context__ chain: httpx2 <- httpcore2 <- socket or
    ssl) says the host cannot be reached at all; None for anything else (a timeout, a reset)."""
    return _unreachable_cause(err)[0]


def _unreachable_cause(err: BaseException) -> tuple[str | None, BaseException | None]:
    seen: set[int] = set()
    cause: BaseException | None = err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ssl.SSLCertVerificationError):
            return "certificate", cause
        if isinstance(cause, socket.gaierror):
            return "dns", cause
        if isinstance(cause, ConnectionRefusedError):
            return "refused", cause
        if isinstance(cause, OSError) and cause.errno in NO_ROUTE:
            return "no-route", cause
        cause = cause.__cause__ or cause.__context__
    return None, None


@contextlib.contextmanager
def fail_fast() -> Iterator[None]:
    """Within the block (this thread or task), a host that cannot be reached at all raises
    `HostUnreachable` at once instead of being retried by huggingface_hub."""
    token = _fail_fast.set(True)
    try:
        yield
    finally:
        _fail_fast.reset(token)


class HubClient(httpx2.Client):
    """An `httpx2.Client` whose `send` raises `HostUnreachable` inside `fail_fast()` for a host that
    cannot be reached at all (see the module doc), and marks where one request's retry lines begin."""

    def send(self, request: httpx2.Request, **kwargs) -> httpx2.Response:  # noqa: ANN003 - httpx2's own
        """`httpx2.Client.send`; raises HostUnreachable (inside `fail_fast()`) or what it raises."""
        _lines.pending = None
        try:
            return super().send(request, **kwargs)
        except httpx2.ConnectError as err:
            reason, cause = _unreachable_cause(err)
            if reason is None or not _fail_fast.get():
                raise
            try:
                failed = err.request      # a redirect's hop, when it was that one that failed
            except RuntimeError:          # httpx2 sets it on the way out; not set: the request itself
                failed = request
            detail = str(getattr(cause, "verify_message", "") or "")
            raise HostUnreachable(failed.url, reason, detail=detail, request=failed) from err


_lines = threading.local()   # .pending: the first retry record logged since this thread's last request


class RetryLines(logging.Filter):
    """The filter on huggingface_hub's HTTP logger (see the module doc). Returns False for the retry
    records it handles (dropped, or printed as one progress line) and True for everything else."""

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a retry record of huggingface_hub's backoff unless huggingface_hub's own logs were
        asked for (HF_HUB_VERBOSITY, HF_DEBUG); each second one is shown with the first, on one line,
        when progress is on."""
        if record.funcName not in BACKOFF_FUNCTIONS or record.levelno != logging.WARNING or _hub_logs_asked():
            return True
        from publish import progress

        if not progress.progress_enabled():
            _lines.pending = None
            return False
        first = getattr(_lines, "pending", None)
        if first is None:
            _lines.pending = record.getMessage()
            return False
        _lines.pending = None
        progress.note(f"huggingface_hub: {first}; {record.getMessage()}")
        return False


def _hub_logs_asked() -> bool:
    if os.environ.get("HF_HUB_VERBOSITY"):
        return True
    return os.environ.get("HF_DEBUG", "").strip().lower() not in ("", "0", "false", "no", "off")


_FILTER = RetryLines()


def install_retry_lines() -> None:
    """Put `RetryLines` on huggingface_hub's HTTP logger (once per process)."""
    logger = logging.getLogger(HTTP_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)

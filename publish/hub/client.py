"""One place that talks to huggingface_hub: endpoint, token, HfApi, retries, error messages.

Endpoint: HF_ENDPOINT is read when a call is made (huggingface_hub reads it once, at import) and
passed to HfApi explicitly, so a process can point at another Hub without re-importing.

Retries: huggingface_hub 2.4 already retries, through `http_backoff`, the preupload call, the LFS
batch call, LFS part uploads and verify, paginated listings (list_repo_tree) and ranged GETs.
It does NOT retry create_repo, repo_info, get_paths_info, validate-yaml or the commit POST. `call()`
adds a bounded retry (429/5xx, dropped connections and timeouts, honouring Retry-After) around
those but the commit, which publish.hub.push._commit retries only when the branch head shows the
lost attempt did not land.

Timeouts: huggingface_hub's shared HTTP client is made with `timeout=None`, and most HfApi calls
(create_repo, repo_info, preupload, the commit, LFS uploads, listings, ranged GETs) pass none, so
a Hub that stops answering made `publish push` wait forever. `configure_http()` installs, through
huggingface_hub's own `set_client_factory`, its default client with a timeout (also on requests
that pass `timeout=None`, as HfApi.repo_info does) taken from
huggingface_hub's settings: HF_HUB_ETAG_TIMEOUT (default 10 s) to connect and to wait for a pooled
connection, HF_HUB_DOWNLOAD_TIMEOUT (default 10 s; "also used as a default timeout for other
requests") between bytes read or written. The commit POST may wait longer for its answer
(COMMIT_READ_TIMEOUT, the Hub's gateway itself gives up after about a minute with a 504), because
the Hub does work before it answers; a commit whose answer is lost is checked, not blindly retried
(publish.hub.push._commit). A factory the user installed is left alone.

Tokens: taken from HF_TOKEN or the huggingface_hub login, handed to HfApi, never put in a message,
a log record or a file. Error messages are built from status codes and repo ids only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Callable, Iterator, TypeVar

from publish.errors import (
    HubAuthError,
    HubConflict,
    HubEntryNotFound,
    HubError,
    HubGated,
    HubNotFound,
    HubRateLimited,
    HubUnreachable,
)

log = logging.getLogger("publish.hub")
T = TypeVar("T")

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
RETRY_ATTEMPTS = 4            # tries per call, the first included
RETRY_BASE_SECONDS = 1.0      # 1, 2, 4 s between tries unless the Hub says Retry-After
RETRY_BUDGET_SECONDS = 60.0   # total sleep one call may spend waiting
COMMIT_READ_TIMEOUT = 120.0   # seconds the commit POST may take to answer

_configured: tuple | None = None   # the timeouts the installed client factory was made with


def endpoint() -> str:
    """The Hub's base URL without a trailing slash: HF_ENDPOINT read now (huggingface_hub reads it
    once, at import), else huggingface_hub's default (https://huggingface.co)."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def get_token() -> str | None:
    """The Hugging Face token huggingface_hub would use (HF_TOKEN, else the saved `hf auth login`),
    None when there is none. Never printed or logged."""
    import huggingface_hub

    return huggingface_hub.get_token()


def require_token() -> str:
    """The token (`get_token`); raises HubError (set HF_TOKEN or log in) when there is none."""
    token = get_token()
    if not token:
        raise HubError("no Hugging Face token found",
                       hint="set HF_TOKEN to a token with write access, or run `hf auth login`")
    return token


def hub_timeout(*, commit: bool = False):
    """The httpx2.Timeout for Hub calls, from huggingface_hub's settings (read now, not at import)."""
    import httpx2
    from huggingface_hub import constants

    wait = float(constants.HF_HUB_DOWNLOAD_TIMEOUT)
    connect = float(constants.HF_HUB_ETAG_TIMEOUT)
    read = max(wait, COMMIT_READ_TIMEOUT) if commit else wait
    return httpx2.Timeout(connect=connect, read=read, write=wait, pool=connect)


def _bounded_wait(request) -> None:  # noqa: ANN001 - an httpx2 request event hook
    """Every request gets a finite timeout: HfApi methods pass `timeout=None` ("not specified",
    which httpx reads as "wait forever") for repo_info and others; the commit POST waits longer."""
    if request.method == "POST" and "/commit/" in request.url.path:
        request.extensions["timeout"] = hub_timeout(commit=True).as_dict()
        return
    current = request.extensions.get("timeout") or {}
    if any(current.get(k) is None for k in ("connect", "read", "write", "pool")):
        bounded = hub_timeout().as_dict()
        request.extensions["timeout"] = {k: bounded[k] if current.get(k) is None else current[k] for k in bounded}


def _client_with_timeouts():
    """huggingface_hub's default client (its settings and event hooks, copied) as a
    publish.hub.transport.HubClient (fail fast on an unreachable host), with timeouts."""
    from huggingface_hub.utils import _http

    from publish.hub.transport import HubClient

    base = _http.default_client_factory()
    hooks = base.event_hooks
    client = HubClient(event_hooks={**hooks, "request": [*hooks["request"], _bounded_wait]},
                       follow_redirects=base.follow_redirects, headers=base.headers, timeout=hub_timeout())
    base.close()
    return client


def configure_http() -> None:
    """Give huggingface_hub's shared HTTP client timeouts and fail-fast on a host that cannot be
    reached, and its retry lines publish's progress switch (see the module doc). Idempotent; a
    change of the settings (or of COMMIT_READ_TIMEOUT) makes a new client. A client factory
    someone else installed is kept as it is."""
    global _configured
    import huggingface_hub
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    from publish.hub.transport import install_retry_lines

    install_retry_lines()
    wanted = (constants.HF_HUB_DOWNLOAD_TIMEOUT, constants.HF_HUB_ETAG_TIMEOUT, COMMIT_READ_TIMEOUT)
    current = getattr(_http, "_GLOBAL_CLIENT_FACTORY", None)
    if current not in (_http.default_client_factory, _client_with_timeouts):
        return
    if current is _client_with_timeouts and _configured == wanted:
        return
    huggingface_hub.set_client_factory(_client_with_timeouts)   # closes the old client
    _configured = wanted


def make_api(token: str | None):
    """An HfApi for `endpoint()` with `token` (None or "": send no token, never a saved login the
    caller did not ask for), after `configure_http()` gave huggingface_hub's client timeouts;
    identifies itself as publish/<version>."""
    from huggingface_hub import HfApi

    from publish import __version__

    configure_http()
    # token=False means "send none" (never fall back to a saved login the caller did not ask for).
    return HfApi(endpoint=endpoint(), token=token if token else False,
                 library_name="publish", library_version=__version__)


def _transport_errors() -> tuple[type[BaseException], ...]:
    """What a dropped connection raises: the errors of huggingface_hub's HTTP client
    (httpx2 in huggingface_hub 2.x, httpx in 1.x)."""
    errors: list[type[BaseException]] = []
    for name in ("httpx2", "httpx"):
        try:
            module = __import__(name)
        except ImportError:
            continue
        errors.append(module.TransportError)
    return tuple(errors)


def is_xet_failure(err: BaseException) -> bool:
    """Whether `err` is a failed Xet transfer. hf_xet (Rust) raises Python's builtin exceptions
    (ConnectionError for an HTTP error or a dropped connection, RuntimeError, ...), not
    huggingface_hub's, so it is told by where it was raised: a frame of the hf_xet package or of a
    huggingface_hub function named for Xet (`_upload_xet_files` in _commit_api.py, `xet_get` in
    file_download.py, huggingface_hub 2.4). An OSError naming a local file is not one."""
    if not isinstance(err, (OSError, RuntimeError)) or getattr(err, "filename", None):
        return False
    tb = err.__traceback__
    while tb is not None:
        module = str(tb.tb_frame.f_globals.get("__name__", ""))
        if module.split(".")[0] == "hf_xet" or (module.split(".")[0] == "huggingface_hub"
                                                and "xet" in tb.tb_frame.f_code.co_name.lower()):
            return True
        tb = tb.tb_next
    return False


def _status(err: BaseException) -> int | None:
    response = getattr(err, "response", None)
    return getattr(response, "status_code", None)


def _retry_after(err: BaseException) -> float | None:
    response = getattr(err, "response", None)
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def refusing(what: str, reason: str, wait: float, *, rate_limited: bool) -> HubError:
    """The error for a call whose retries would wait past RETRY_BUDGET_SECONDS: HubRateLimited when
    the last refusal was HTTP 429, else HubError (5xx, dropped connections). `reason` names the
    last refusal ("HTTP 503"), `wait` the seconds the next try would have waited."""
    kind = HubRateLimited if rate_limited else HubError
    return kind(f"{what}: the Hub keeps refusing ({reason}); asked to wait {wait:.0f}s more",
                hint="try again later; nothing was changed by the failed step")


def call(fn: Callable[[], T], what: str, *, attempts: int | None = None) -> T:
    """Run one Hub call, retrying 429/5xx and dropped connections within a bounded budget; a host
    that cannot be reached at all (publish.hub.transport.HostUnreachable) is not retried. Re-raises
    huggingface_hub's error when it is not retryable or the tries are spent (map it with
    `hub_error`); raises HubRateLimited (after 429s) or HubError (5xx, dropped connections) when the
    waits would pass RETRY_BUDGET_SECONDS (60 s)."""
    from huggingface_hub.errors import HfHubHTTPError

    from publish.hub.transport import HostUnreachable, fail_fast

    attempts = attempts or RETRY_ATTEMPTS
    transport = _transport_errors()
    waited = 0.0
    for attempt in range(1, attempts + 1):
        try:
            with fail_fast():
                return fn()
        except HfHubHTTPError as err:
            status = _status(err)
            if status not in RETRY_STATUS or attempt == attempts:
                raise
            wait = _retry_after(err)
            reason = f"HTTP {status}"
        except transport as err:
            if attempt == attempts or isinstance(err, HostUnreachable):
                raise
            wait, reason, status = None, type(err).__name__, None
        if wait is None:
            wait = RETRY_BASE_SECONDS * 2 ** (attempt - 1)
        if waited + wait > RETRY_BUDGET_SECONDS:
            raise refusing(what, reason, wait, rate_limited=status == 429)
        log.info("%s: %s, retrying in %.1fs (try %d of %d)", what, reason, wait, attempt + 1, attempts)
        time.sleep(wait)
        waited += wait
    raise AssertionError("unreachable")


def hub_error(err: BaseException, *, repo_id: str, revision: str | None = None, action: str,
              read_only: bool = False) -> HubError:
    """Turn a huggingface_hub / transport error into a HubError that says what to do. `action` starts
    the message ("read hf://…", "push"); `read_only` (a command that only reads the Hub: inspect,
    lint, smoke, ci-matrix) gives hints that speak of no change to a repo and no write access."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if is_xet_failure(err):
        from publish.termtext import one_line

        detail = one_line(str(err))[:300]
        return HubError(f"{action}: the Xet transfer failed ({type(err).__name__}: {detail})",
                        hint="set HF_HUB_DISABLE_XET=1 to transfer over LFS instead (an endpoint without Xet "
                             "answers 404 to xet-write-token), or retry later; a push that failed before its "
                             "commit changed nothing on the repo")
    # LFS uploads wrap the HTTP error in a RuntimeError; look through the chain.
    cause: BaseException | None = err
    seen = 0
    while cause is not None and not isinstance(cause, (HfHubHTTPError, *_transport_errors())) and seen < 5:
        cause = cause.__cause__ or cause.__context__
        seen += 1
    err = cause or err
    where = f"{repo_id}" + (f"@{revision}" if revision else "")
    if isinstance(err, GatedRepoError):
        return HubGated(f"{action}: {repo_id} is a gated repo and this token has no access to it",
                        hint=f"request access on {endpoint()}/{repo_id}, or use a token of an account that has it")
    if isinstance(err, RevisionNotFoundError):
        return HubNotFound(f"{action}: {where}: revision {revision or 'main'!r} does not exist",
                        hint="create the branch first (`hf repo branch create`), or leave out --revision to use main")
    if isinstance(err, RepositoryNotFoundError):
        return HubNotFound(f"{action}: repo {repo_id} not found (or it is private and this token cannot see it)",
                        hint="check the ORG/NAME spelling; for a private repo set HF_TOKEN to a token with access")
    if isinstance(err, RemoteEntryNotFoundError):
        return HubEntryNotFound(f"{action}: {where}: file not found",
                                hint="list the repo's files on the Hub and check the path")
    if isinstance(err, HfHubHTTPError):
        status = _status(err)
        server = (getattr(err, "server_message", None) or "").strip().splitlines()
        detail = f" ({server[0]})" if server else ""
        if status == 401:
            return HubAuthError(f"{action}: the Hub rejected the token (HTTP 401){detail}",
                            hint="set HF_TOKEN to a valid token or run `hf auth login` again")
        if status == 403 and read_only:
            return HubAuthError(f"{action}: this token has no access to {repo_id} (HTTP 403){detail}",
                                hint="use a token that can read the repo (a fine-grained token needs it, or its "
                                     "namespace, among its repos)")
        if status == 403:
            return HubAuthError(f"{action}: this token has no write access to {repo_id} (HTTP 403){detail}",
                            hint="use a token with the write role for that namespace, or --create-pr if you may open PRs")
        if status == 404:
            return HubNotFound(f"{action}: {where}: not found (HTTP 404){detail}",
                               hint="check the ORG/NAME spelling and the path")
        if status in (409, 412):
            return HubConflict(f"{action}: {where} changed while pushing (HTTP {status}){detail}",
                            hint="run the push again: it re-plans against the new head")
        if status == 429:
            return HubRateLimited(f"{action}: rate limited by the Hub (HTTP 429){detail}", hint="wait a few minutes and retry")
        if status is not None and status >= 500:
            return HubError(f"{action}: the Hub failed (HTTP {status}){detail}",
                            hint="retry later" if read_only else
                            "retry later; a push that failed before its commit changed nothing on the repo")
        return HubError(f"{action}: the Hub answered HTTP {status}{detail}")
    if is_unreachable(err):
        return _unreachable(err, action=action, read_only=read_only)
    return HubError(f"{action}: {type(err).__name__}: {err}")


PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def _unreachable(err: BaseException, *, action: str, read_only: bool) -> HubUnreachable:
    """The HubUnreachable for a Hub that gave no answer (`is_unreachable`): which host, why (its
    name does not resolve, refused, no route, an untrusted TLS certificate, offline mode, or the
    error class after the retries)
    and what to do; a write's hint adds that the repo is unchanged."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    from publish.hub.transport import HostUnreachable
    from publish.termtext import one_line

    unchanged = "" if read_only else "; nothing was changed on the repo"
    custom = bool(os.environ.get("HF_ENDPOINT"))
    proxy = next((name for name in PROXY_VARIABLES if os.environ.get(name)), None)
    via = f" (the connection goes through the proxy in {proxy})" if proxy else ""
    if isinstance(err, OfflineModeIsEnabled):
        return HubUnreachable(f"{action}: HF_HUB_OFFLINE is set, so huggingface_hub sends no request",
                              hint="unset HF_HUB_OFFLINE to reach the Hub" + unchanged)
    if isinstance(err, HostUnreachable):
        host = err.host + (f":{err.port}" if err.port else "")
        check = f"; check HF_ENDPOINT ({endpoint()})" if custom else ""
        if err.reason == "refused":
            message = f"cannot reach {host}: the connection was refused (nothing listens there){via}"
            todo = (f"start the server HF_ENDPOINT ({endpoint()}) points at, or unset HF_ENDPOINT" if custom
                    else "check the network and the proxy settings")
        elif err.reason == "certificate":
            detail = f" ({one_line(err.detail)})" if err.detail else ""
            message = f"cannot reach {host}: its TLS certificate is not trusted{detail}{via}"
            todo = ("a proxy or firewall that inspects TLS needs its CA certificate: point SSL_CERT_FILE (or "
                    "SSL_CERT_DIR) at it; also check the machine's clock") + check
        elif err.reason == "no-route":
            message = f"cannot reach {host}: no route to it; this machine is offline{via}"
            todo = "connect to the network and run it again" + check
        else:
            message = f"cannot reach {host}: its name does not resolve; this machine is offline or has no DNS{via}"
            todo = "connect to the network and run it again" + check
        return HubUnreachable(f"{action}: {message}", hint=todo + unchanged)
    return HubUnreachable(f"{action}: cannot reach the Hub at {endpoint()} ({type(err).__name__})",
                          hint="check the network or HF_ENDPOINT, and run it again" + unchanged)


@contextlib.contextmanager
def hub_errors(*, repo_id: str, revision: str | None = None, action: str,
               read_only: bool = False) -> Iterator[None]:
    """Run the block with a host that cannot be reached failing at once (publish.hub.transport.
    fail_fast); a Hub failure it raises (`is_hub_failure`) becomes the HubError `hub_error` makes
    of it (raised from None, with `read_only`'s hints), anything else passes through unchanged."""
    from publish.hub.transport import fail_fast

    try:
        with fail_fast():
            yield
    except Exception as err:  # noqa: BLE001 - only Hub failures are turned into HubError
        if is_hub_failure(err):
            raise hub_error(err, repo_id=repo_id, revision=revision, action=action, read_only=read_only) from None
        raise


def is_metadata_rejection(err: BaseException) -> bool:
    """Whether `err` is huggingface_hub refusing a README.md's YAML metadata before a commit:
    HfApi.create_commit validates it first (HfApi._validate_yaml, huggingface_hub 2.4) and turns the
    Hub's 400 (BadRequestError) from POST /api/validate-yaml into a ValueError raised from it. Told
    by the exception classes and the endpoint of the failed request, not by the message text."""
    from huggingface_hub.errors import BadRequestError

    cause = err.__cause__
    if not (isinstance(err, ValueError) and isinstance(cause, BadRequestError)):
        return False
    request = getattr(getattr(cause, "response", None), "request", None)
    path = getattr(getattr(request, "url", None), "path", "")
    return str(path).endswith("/api/validate-yaml")


def is_hub_failure(err: BaseException) -> bool:
    """Whether `err` is a failure `hub_error` maps: an HTTP error from the Hub (HfHubHTTPError and
    subclasses), offline mode, a dropped connection or timeout of huggingface_hub's HTTP
    client, or a failed Xet transfer (`is_xet_failure`)."""
    from huggingface_hub.errors import HfHubHTTPError

    return isinstance(err, HfHubHTTPError) or is_unreachable(err) or is_xet_failure(err)


def is_unreachable(err: BaseException) -> bool:
    """No answer from the Hub at all (network down, DNS, offline mode), as opposed to a refusal."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    return isinstance(err, (OfflineModeIsEnabled, *_transport_errors()))

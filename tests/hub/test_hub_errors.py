"""Hub failures become typed errors (subclasses of HubError < PublishError), chosen by
huggingface_hub's exception class or the HTTP status, never by the message text."""

from __future__ import annotations

import errno
import socket
import ssl

import httpx
import pytest
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from publish.errors import (
    HubAuthError,
    HubConflict,
    HubEntryNotFound,
    HubError,
    HubGated,
    HubNotFound,
    HubRateLimited,
    PublishError,
)
from publish.hub.client import hub_error, is_metadata_rejection

URL = "https://huggingface.co/api/models/org/name"


def response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", URL))


@pytest.mark.parametrize("err, kind", [
    (GatedRepoError("gated", response=response(403)), HubGated),
    (RepositoryNotFoundError("nope", response=response(404)), HubNotFound),
    (RevisionNotFoundError("nope", response=response(404)), HubNotFound),
    (RemoteEntryNotFoundError("nope", response=response(404)), HubEntryNotFound),
    (HfHubHTTPError("who", response=response(401)), HubAuthError),
    (HfHubHTTPError("no", response=response(403)), HubAuthError),
    (HfHubHTTPError("slow down", response=response(429)), HubRateLimited),
    (HfHubHTTPError("moved", response=response(412)), HubConflict),
    (HfHubHTTPError("exists", response=response(409)), HubConflict),
    (HfHubHTTPError("gone", response=response(404)), HubNotFound),
])
def test_each_hub_failure_has_its_own_type(err, kind):
    mapped = hub_error(err, repo_id="org/name", action="plan")
    assert type(mapped) is kind
    assert isinstance(mapped, HubError) and isinstance(mapped, PublishError)
    assert mapped.hint  # every one says what to do


def test_the_type_comes_from_the_class_not_the_words():
    """A 500 whose text says "404 not found" is not a not-found; a wrapped 429 is still rate limiting."""
    mapped = hub_error(HfHubHTTPError("404 Repository not found, 401 gated", response=response(500)),
                       repo_id="org/name", action="plan")
    assert type(mapped) is HubError
    try:
        try:
            raise HfHubHTTPError("x", response=response(429))
        except HfHubHTTPError as inner:
            raise RuntimeError("LFS upload failed") from inner
    except RuntimeError as outer:
        assert type(hub_error(outer, repo_id="org/name", action="push")) is HubRateLimited


def test_a_missing_file_is_a_not_found_of_its_own():
    """smoke skips a repo's missing `template`/`params`/`system` by this type, not by the words."""
    entry = hub_error(RemoteEntryNotFoundError("x", response=response(404)), repo_id="org/name", action="read")
    repo = hub_error(RepositoryNotFoundError("x", response=response(404)), repo_id="org/name", action="read")
    assert isinstance(entry, HubEntryNotFound) and isinstance(entry, HubNotFound)
    assert not isinstance(repo, HubEntryNotFound)


def _validate_yaml_refusal(url: str) -> ValueError:
    from huggingface_hub.errors import BadRequestError

    bad = BadRequestError("400", response=httpx.Response(400, request=httpx.Request("POST", url)))
    try:
        try:
            raise bad
        except BadRequestError as inner:
            raise ValueError("Invalid metadata in README.md.\n- bad license") from inner
    except ValueError as outer:
        return outer


def test_metadata_rejection_is_told_by_class_and_endpoint_not_words():
    assert is_metadata_rejection(_validate_yaml_refusal("https://huggingface.co/api/validate-yaml"))
    assert not is_metadata_rejection(_validate_yaml_refusal("https://huggingface.co/api/models/org/name/commit/main"))
    assert not is_metadata_rejection(ValueError("README.md is wrong"))   # no Hub refusal behind it


def test_a_read_only_command_gets_hints_that_speak_of_reading():
    """inspect/lint/smoke/ci-matrix only read: a 403 is no read access (not 'no write access'),
    a 5xx's hint does not speak of a push."""
    denied = hub_error(HfHubHTTPError("no", response=response(403)), repo_id="org/name", action="read", read_only=True)
    assert isinstance(denied, HubAuthError) and "no access to org/name" in denied.message
    assert "write" not in str(denied)
    failed = hub_error(HfHubHTTPError("down", response=response(503)), repo_id="org/name", action="read",
                       read_only=True)
    assert failed.hint == "retry later"
    pushed = hub_error(HfHubHTTPError("down", response=response(503)), repo_id="org/name", action="push")
    assert "push" in pushed.hint


def _connect_error(cause: OSError):
    import httpx2

    try:
        try:
            raise cause
        except OSError as os_err:
            raise httpx2.ConnectError("connect failed") from os_err
    except httpx2.ConnectError as err:
        return err


@pytest.mark.parametrize("cause, reason", [
    (socket.gaierror(-2, "Name or service not known"), "dns"),
    (socket.gaierror(-3, "Temporary failure in name resolution"), "dns"),
    (ConnectionRefusedError(111, "Connection refused"), "refused"),
    (OSError(errno.ENETUNREACH, "Network is unreachable"), "no-route"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "no-route"),
    (ssl.SSLCertVerificationError(1, "certificate verify failed"), "certificate"),
    (ConnectionResetError(104, "Connection reset by peer"), None),
    (TimeoutError("timed out"), None),
])
def test_which_connect_failures_mean_the_host_cannot_be_reached(cause, reason):
    from publish.hub.transport import unreachable_reason

    assert unreachable_reason(_connect_error(cause)) == reason


def test_an_unreachable_host_is_not_retried_by_call_and_maps_to_hub_unreachable(monkeypatch):
    import httpx2

    from publish.errors import HubUnreachable
    from publish.hub import client
    from publish.hub.transport import HostUnreachable

    monkeypatch.setattr(client, "RETRY_BASE_SECONDS", 0.01)
    tries = []

    def offline():
        tries.append(1)
        raise HostUnreachable(httpx2.URL("https://huggingface.co/api/models/org/name?x=1"), "dns")

    with pytest.raises(HostUnreachable) as caught:
        client.call(offline, "read org/name")
    assert len(tries) == 1
    assert caught.value.url == "https://huggingface.co/api/models/org/name"     # no query (a CDN signature)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    for var in client.PROXY_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    mapped = hub_error(caught.value, repo_id="org/name", action="read hf://org/name/f.gguf", read_only=True)
    assert type(mapped) is HubUnreachable
    assert mapped.message == ("read hf://org/name/f.gguf: cannot reach huggingface.co: its name does not resolve; "
                              "this machine is offline or has no DNS")
    assert mapped.hint == "connect to the network and run it again"
    pushed = hub_error(caught.value, repo_id="org/name", action="push")
    assert pushed.hint == "connect to the network and run it again; nothing was changed on the repo"


def test_offline_mode_names_hf_hub_offline():
    from huggingface_hub.errors import OfflineModeIsEnabled

    from publish.errors import HubUnreachable

    mapped = hub_error(OfflineModeIsEnabled("offline"), repo_id="org/name", action="list hf://org/name",
                       read_only=True)
    assert type(mapped) is HubUnreachable and "HF_HUB_OFFLINE is set" in mapped.message
    assert mapped.hint == "unset HF_HUB_OFFLINE to reach the Hub"

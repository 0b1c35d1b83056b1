"""Hub failures become typed errors (subclasses of HubError < PublishError), chosen by
huggingface_hub's exception class or the HTTP status, never by the message text."""

from __future__ import annotations

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

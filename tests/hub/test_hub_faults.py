"""The Hub is not trusted to answer (issue 11, item 7): every Hub call has a timeout taken from
huggingface_hub's own settings, and a commit whose answer is lost or stalled is looked for on the
Hub before anything is retried, so it is never made twice. Against the loopback Hub stand-in.

Stalls are bounded: the stand-in's stalls end when it stops, and each push runs in a thread that
the test waits for a bounded time (a push that waits forever fails the test instead of hanging it).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import huggingface_hub
import pytest
from click.testing import CliRunner
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError

from standins.hub import WRITE_TOKEN
from publish.cli import main
from publish.hub import client

REPO = "alice/tiny-GGUF"
BOUND = 30.0          # seconds a push may take here before the test calls it hung


@pytest.fixture
def staged(tmp_path, tiny_llama_path) -> Path:
    d = tmp_path / "dist" / "tiny-GGUF"
    d.mkdir(parents=True)
    shutil.copyfile(tiny_llama_path, d / "tiny-llama-F32.gguf")
    (d / "params").write_text(json.dumps({"stop": ["<end_of_turn>"]}))
    (d / "template").write_text("{{ .Prompt }}")
    (d / "README.md").write_text("---\nlicense: mit\n---\n# tiny\n")
    return d


@pytest.fixture
def short_timeouts(monkeypatch, hub):  # noqa: F811
    """huggingface_hub's settings as a user would set them (HF_HUB_DOWNLOAD_TIMEOUT=1), and a short
    commit wait, so that a stall of the stand-in is a timeout within the test's time."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DOWNLOAD_TIMEOUT", 1)
    monkeypatch.setattr(client, "COMMIT_READ_TIMEOUT", 1.0, raising=False)
    yield
    huggingface_hub.set_client_factory(huggingface_hub.utils._http.default_client_factory)
    if hasattr(client, "_configured"):
        client._configured = None


def push_bounded(*args: str):
    """`publish push ARGS` in a thread; fails the test if it has not ended within BOUND seconds."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(CliRunner().invoke(main, ["push", *args])), daemon=True)
    started = time.monotonic()
    t.start()
    t.join(BOUND)
    if t.is_alive():
        pytest.fail(f"publish push was still waiting for the Hub after {BOUND:.0f} s")
    return out[0], time.monotonic() - started


def test_every_hub_call_gets_huggingface_hubs_timeouts(short_timeouts, hub):  # noqa: F811
    from huggingface_hub.utils import get_session

    client.make_api(WRITE_TOKEN)
    session = get_session()
    assert session.timeout.read == 1 and session.timeout.write == 1
    assert session.timeout.connect == huggingface_hub.constants.HF_HUB_ETAG_TIMEOUT
    commit = session.build_request("POST", f"{hub.url}/api/models/{REPO}/commit/main")
    for hook in session.event_hooks["request"]:
        hook(commit)
    assert commit.extensions["timeout"]["read"] == 1.0          # max(HF_HUB_DOWNLOAD_TIMEOUT, COMMIT_READ_TIMEOUT)
    other = session.build_request("GET", f"{hub.url}/api/models/{REPO}")
    for hook in session.event_hooks["request"]:
        hook(other)
    assert other.extensions["timeout"]["read"] == 1


def test_a_client_factory_the_user_installed_is_kept(short_timeouts):
    import httpx2

    def mine():
        return httpx2.Client(timeout=7)

    huggingface_hub.set_client_factory(mine)
    client.configure_http()
    assert huggingface_hub.utils.get_session().timeout.read == 7


def test_a_stalled_hub_ends_the_push_with_a_clear_error(short_timeouts, hub, staged):  # noqa: F811
    hub.create_repo(REPO)
    hub.inject("GET", r"/api/models/", stall=120, times=1000)
    r, took = push_bounded(str(staged), "--repo", REPO)
    assert r.exit_code == 2, r.output
    assert "cannot reach the Hub" in r.output and "ReadTimeout" in r.output
    assert hub.n_commits(REPO) == 1


def test_a_stalled_upload_times_out_and_is_retried(short_timeouts, hub, staged):  # noqa: F811
    hub.inject("PUT", r"/_lfs/upload/", stall=120)              # the first upload never answers
    r, _ = push_bounded(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert hub.count("PUT", r"/_lfs/upload/") >= 1 and hub.n_commits(REPO) == 2
    assert hub.file_bytes(REPO, "tiny-llama-F32.gguf") == (staged / "tiny-llama-F32.gguf").read_bytes()


def test_a_commit_whose_answer_stalls_after_it_landed_is_found_not_repeated(short_timeouts, hub, staged):  # noqa: F811
    hub.inject("POST", r"/commit/", stall_after=120)
    r, _ = push_bounded(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert hub.count("POST", r"/commit/") <= 1 and hub.n_commits(REPO) == 2
    assert "pushed" in r.output and hub.head(REPO).oid[:12] in r.output


def test_a_commit_stalled_before_it_lands_is_retried_and_the_late_one_refused(short_timeouts, hub, staged):  # noqa: F811
    """The first attempt is still on its way when the client gives up; the head is still the parent,
    so the push retries. When the first attempt arrives, its parent_commit is stale: the Hub refuses it."""
    hub.inject("POST", r"/commit/", stall=3)
    r, _ = push_bounded(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    deadline = time.monotonic() + 10
    while not any(m == "POST" and "/commit/" in p and s == 412 for m, p, s in hub.requests):
        assert time.monotonic() < deadline, hub.requests
        time.sleep(0.05)
    assert hub.n_commits(REPO) == 2                             # initial + exactly one push


def test_a_pull_request_whose_answer_is_lost_is_not_opened_twice(hub, staged):  # noqa: F811
    hub.create_repo(REPO)
    hub.inject("POST", r"/commit/", drop_after=True)
    r, _ = push_bounded(str(staged), "--repo", REPO, "--create-pr")
    assert r.exit_code == 0, r.output
    assert hub.repos[REPO].prs == ["refs/pr/1"]
    assert "/discussions/1" in r.output
    assert hub.count("POST", r"/commit/") == 1


def test_a_pull_request_without_an_answer_and_not_on_the_hub_is_not_retried(hub, staged):  # noqa: F811
    hub.create_repo(REPO)
    hub.inject("POST", r"/commit/", drop=True)
    r, _ = push_bounded(str(staged), "--repo", REPO, "--create-pr")
    assert r.exit_code == 2
    assert "no new pull request holds this push" in r.output and "look at the pull requests" in r.output
    assert hub.count("POST", r"/commit/") == 1 and hub.repos[REPO].prs == []


def test_a_lost_answer_while_someone_else_pushed_is_an_error_not_a_retry(hub, staged):  # noqa: F811
    hub.create_repo(REPO)
    hub.inject("POST", r"/commit/", drop=True, on_hit=lambda: hub.put_file(REPO, "other.txt", b"theirs"))
    r, _ = push_bounded(str(staged), "--repo", REPO)
    assert r.exit_code == 2
    assert "moved to" in r.output and "not this push" in r.output and "re-plans" in r.output
    assert hub.count("POST", r"/commit/") == 1
    assert "tiny-llama-F32.gguf" not in hub.head(REPO).files


def test_a_head_moved_by_someone_else_is_a_hub_conflict_for_python_callers(hub, staged):  # noqa: F811
    """The same fault through the library: the typed HubConflict (what a caller catches to re-plan
    and push again), not the bare HubError."""
    from publish.errors import HubConflict
    from publish.hub.plan import plan_push
    from publish.hub.push import push

    hub.create_repo(REPO)
    plan = plan_push(staged, REPO)
    hub.inject("POST", r"/commit/", drop=True, on_hit=lambda: hub.put_file(REPO, "other.txt", b"theirs"))
    with pytest.raises(HubConflict, match="moved to .* not this push"):
        push(plan)


@pytest.mark.parametrize("status, kind", [(429, "HubRateLimited"), (503, "HubError")])
def test_a_hub_that_keeps_refusing_past_the_budget_is_rate_limited_only_after_429s(hub, staged, monkeypatch,
                                                                                  status, kind):  # noqa: F811
    """When a Retry-After would pass the retry budget the call gives up at once, typed by the last
    refusal: HubRateLimited for 429 (a caller waits and retries), HubError for a failing Hub; the
    commit's own retry loop (publish.hub.push) too."""
    import publish.errors as errors
    from publish.hub.plan import plan_push
    from publish.hub.push import push

    monkeypatch.setattr(client.time, "sleep", lambda s: None)
    hub.create_repo(REPO)
    too_long = int(client.RETRY_BUDGET_SECONDS) + 1
    hub.inject("GET", r"/api/models/", status=status, retry_after=too_long, times=9)
    with pytest.raises(errors.HubError, match="keeps refusing") as info:
        plan_push(staged, REPO)
    assert type(info.value) is getattr(errors, kind)
    if status == 429:   # a 5xx on the commit may have landed: it is checked, not waited for
        hub.faults.clear()
        plan = plan_push(staged, REPO)
        hub.inject("POST", r"/commit/", status=429, retry_after=too_long, times=9)
        with pytest.raises(errors.HubRateLimited, match="keeps refusing"):
            push(plan)


def test_a_dropped_commit_with_the_head_unchanged_is_retried_once(hub, staged):  # noqa: F811
    hub.inject("POST", r"/commit/", drop=True)
    r, _ = push_bounded(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert hub.count("POST", r"/commit/") == 2 and hub.n_commits(REPO) == 2


# -- the stand-in keeps parent_commit as the Hub does ---------------------------------------------

def test_the_stand_in_refuses_a_stale_parent_and_bases_a_pull_request_on_it(hub):  # noqa: F811
    hub.create_repo(REPO)
    first = hub.head(REPO).oid
    hub.put_file(REPO, "a.txt", b"a")
    api = HfApi(endpoint=hub.url, token=WRITE_TOKEN)
    op = [CommitOperationAdd("b.txt", b"b")]
    with pytest.raises(HfHubHTTPError) as info:
        api.create_commit(REPO, op, commit_message="stale", parent_commit=first)
    assert info.value.response.status_code == 412
    assert "A commit has happened since" in str(info.value)
    pr = api.create_commit(REPO, [CommitOperationAdd("b.txt", b"b")], commit_message="pr", create_pr=True,
                           parent_commit=first)
    files = hub.head(REPO, "refs/pr/1").files
    assert "b.txt" in files and "a.txt" not in files            # the PR is based on parent_commit
    assert pr.pr_url.endswith("/discussions/1")
    refs = api.list_repo_refs(REPO, include_pull_requests=True)
    assert [r.ref for r in refs.pull_requests] == ["refs/pr/1"]


def test_a_stalled_range_read_of_a_remote_gguf_times_out_and_is_retried(short_timeouts, hub, tiny_llama_path):  # noqa: F811
    """`publish inspect hf://…` reads the header with ranged GETs (huggingface_hub's
    http_stream_backoff): a GET that never answers times out and is retried."""
    hub.put_file(REPO, "tiny-llama-F32.gguf", tiny_llama_path.read_bytes())
    stalled = hub.inject("GET", r"/resolve/", stall=120)
    out: list = []
    t = threading.Thread(target=lambda: out.append(
        CliRunner().invoke(main, ["inspect", f"hf://{REPO}/tiny-llama-F32.gguf"])), daemon=True)
    t.start()
    t.join(BOUND)
    assert not t.is_alive(), f"inspect was still waiting for the Hub after {BOUND:.0f} s"
    assert out[0].exit_code == 0, out[0].output
    assert "architecture    llama" in out[0].output
    assert stalled.hits == 1 and hub.count("GET", r"/resolve/") >= 1   # the stalled GET, then a retry

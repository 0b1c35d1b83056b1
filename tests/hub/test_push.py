"""`publish push` against the loopback Hub stand-in (tests/standins/hub.py), through the real
huggingface_hub client. No real Hub is contacted."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from standins.hub import CAROL_TOKEN, READ_TOKEN, WRITE_TOKEN

from publish import progress
from publish.cli import main
from publish.progress import is_terminal

REPO = "alice/tiny-GGUF"


@pytest.fixture
def staged(tmp_path, tiny_llama_path) -> Path:
    d = tmp_path / "dist" / "tiny-GGUF"
    d.mkdir(parents=True)
    shutil.copyfile(tiny_llama_path, d / "tiny-llama-F32.gguf")
    (d / "params").write_text(json.dumps({"stop": ["<end_of_turn>"], "temperature": 1.0}))
    (d / "template").write_text("{{ .Prompt }}")
    (d / "README.md").write_text("---\nlicense: mit\ntags: [gguf, ollama]\n---\n# tiny\n")
    (d / "Modelfile.F32").write_text("FROM ./tiny-llama-F32.gguf\n")
    (d / ".DS_Store").write_text("hidden files are never pushed")
    return d


def run(*args: str):
    return CliRunner().invoke(main, ["push", *args], catch_exceptions=False)


def remote_files(hub, repo=REPO) -> dict[str, bytes]:
    return {p: hub.file_bytes(repo, p) for p in hub.head(repo).files}


def test_first_push_uploads_everything_in_one_commit(hub, staged):
    r = run(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert "5 new, 0 changed, 0 unchanged" in r.output
    assert hub.count("POST", r"/commit/") == 1
    assert hub.n_commits(REPO) == 2          # the repo's initial commit + ours
    files = remote_files(hub)
    assert set(files) == {".gitattributes", "tiny-llama-F32.gguf", "params", "template", "README.md", "Modelfile.F32"}
    for name in files.keys() - {".gitattributes"}:
        assert files[name] == (staged / name).read_bytes()
    assert hub.head(REPO).files["tiny-llama-F32.gguf"].lfs_sha256  # GGUFs travel as LFS objects


def test_second_push_uploads_nothing_and_makes_no_commit(hub, staged):
    assert run(str(staged), "--repo", REPO).exit_code == 0
    commits = hub.n_commits(REPO)
    hub.reset_counters()
    r = run(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert "up to date" in r.output and "0 file(s) hashed" in r.output and "5 from cache" in r.output
    assert hub.n_commits(REPO) == commits
    assert hub.count("POST") == 0 and hub.count("PUT") == 0
    assert hub.bytes_uploaded == 0


def test_a_changed_file_alone_is_uploaded(hub, staged):
    assert run(str(staged), "--repo", REPO).exit_code == 0
    gguf = staged / "tiny-llama-F32.gguf"
    before = hub.head(REPO).files["params"]
    data = bytearray(gguf.read_bytes())
    data[-1] ^= 0xFF                                     # one byte of tensor data
    gguf.write_bytes(bytes(data))
    hub.reset_counters()
    r = run(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert "0 new, 1 changed, 4 unchanged" in r.output
    assert hub.count("PUT", r"/_lfs/upload/") == 1
    assert hub.bytes_uploaded == len(data)
    assert hub.file_bytes(REPO, "tiny-llama-F32.gguf") == bytes(data)
    assert hub.head(REPO).files["params"] is before       # untouched blobs carried over


def test_extra_remote_files_are_kept_unless_delete_extra(hub, staged):
    assert run(str(staged), "--repo", REPO).exit_code == 0
    hub.put_file(REPO, "old-Q8_0.gguf", b"GGUF old quant")
    r = run(str(staged), "--repo", REPO, "--dry-run")
    assert "not in the folder are kept" in r.output and "old-Q8_0.gguf" in r.output
    r = run(str(staged), "--repo", REPO, "--delete-extra")
    assert r.exit_code == 0, r.output
    assert "delete     old-Q8_0.gguf" in r.output
    assert "old-Q8_0.gguf" not in hub.head(REPO).files
    assert ".gitattributes" in hub.head(REPO).files   # hidden remote files are never deleted


def test_a_person_at_a_terminal_sees_the_hash_and_upload_bars_on_stderr(hub, staged, terminal):
    r = run(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.stderr
    assert "sha256 of 5 file(s):   0%|" in r.stderr                  # publish's hashing bar
    assert "tiny-llama-F32.gguf: " in r.stderr and "100%" in r.stderr  # huggingface_hub's LFS upload bar
    assert "\r" not in r.stdout and "%|" not in r.stdout and "5 new, 0 changed" in r.stdout


def test_quiet_or_no_terminal_push_prints_no_bars(hub, staged, terminal, monkeypatch):
    quiet = run(str(staged), "--repo", REPO, "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    (staged / "params").write_text('{"stop": ["<end_of_turn>"], "temperature": 0.5}')
    monkeypatch.setattr(progress, "is_terminal", is_terminal)   # CliRunner's capture again: not a terminal
    piped = run(str(staged), "--repo", REPO)
    assert piped.exit_code == 0 and piped.stderr == "" and "1 file(s) uploaded" in piped.stdout

def test_dry_run_prints_the_plan_and_writes_nothing(hub, staged):
    hub.create_repo(REPO)
    hub.reset_counters()
    r = run(str(staged), "--repo", REPO, "--dry-run")
    assert r.exit_code == 0, r.output
    assert "new        tiny-llama-F32.gguf" in r.output and "to upload" in r.output
    assert "dry run: nothing was sent" in r.output
    assert {m for m, _, _ in hub.requests} == {"GET"}
    assert hub.n_commits(REPO) == 1


def test_dry_run_with_the_hub_unreachable_prints_the_local_plan(hub, staged, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]        # closed once the with block ends: nothing listens there
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{dead}")
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO, "--dry-run"])
    assert r.exit_code == 2
    assert "could not be made" in r.output and f"cannot reach 127.0.0.1:{dead}: the connection was refused" in r.output
    # the Hub error's hint is a hint line of its own, not a literal "\n  hint:" inside the message
    error = next(line for line in r.output.splitlines() if line.startswith("error: dry run"))
    assert "\\n" not in r.output and "hint" not in error
    assert [line for line in r.output.splitlines() if line.startswith("  hint:")] == [
        f"  hint: start the server HF_ENDPOINT (http://127.0.0.1:{dead}) points at, or unset HF_ENDPOINT; nothing was "
        "changed on the repo; the local side above is complete; run again when the Hub is reachable"]
    from publish.hub.hashing import sha256_file

    for name in ("tiny-llama-F32.gguf", "params", "template", "README.md", "Modelfile.F32"):
        line = next(line for line in r.output.splitlines() if line.strip().startswith(name))
        assert f"sha256:{sha256_file(staged / name)}" in line
    assert ".DS_Store" not in r.output


def test_pushing_a_plan_made_offline_keeps_the_hubs_hint_apart(hub, staged, monkeypatch):
    from publish.errors import HubError
    from publish.hub.plan import plan_push
    from publish.hub.push import push

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{dead}")
    offline = plan_push(staged, REPO, allow_unreachable=True)
    assert offline.remote_checked is False and "hint" not in offline.remote_error
    with pytest.raises(HubError) as info:
        push(offline)
    assert "\n" not in info.value.message and info.value.message.endswith("(nothing listens there))")
    assert info.value.hint == (f"start the server HF_ENDPOINT (http://127.0.0.1:{dead}) points at, or unset "
                               "HF_ENDPOINT; nothing was changed on the repo")


def push_json(*args: str) -> dict:
    r = run(*args, "--format", "json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)   # stdout is the one JSON document, nothing else


def test_format_json_names_the_commit_what_was_uploaded_and_what_was_skipped(hub, staged):
    import hashlib

    def digest(name):
        return hashlib.sha256((staged / name).read_bytes()).hexdigest()

    names = {"tiny-llama-F32.gguf", "params", "template", "README.md", "Modelfile.F32"}
    first = push_json(str(staged), "--repo", REPO)
    head = hub.head(REPO).oid
    assert first["committed"] is True and first["dry_run"] is False and first["repo"] == REPO
    assert first["commit"]["oid"] == head and first["commit"]["url"].endswith(f"/{REPO}/commit/{head}")
    assert first["commit"]["pull_request_url"] is None
    assert {u["path"]: (u["status"], u["size"], u["sha256"]) for u in first["uploaded"]} == {
        n: ("new", (staged / n).stat().st_size, digest(n)) for n in names}
    assert first["unchanged"] == [] and first["deleted"] == []
    assert first["upload_bytes"] == sum((staged / n).stat().st_size for n in names)
    assert first["plan"]["head"] is None and first["plan"]["counts"]["new"] == 5

    (staged / "params").write_text('{"stop": ["<end_of_turn>"], "temperature": 0.25}')
    second = push_json(str(staged), "--repo", REPO)
    assert second["commit"]["oid"] == hub.head(REPO).oid != head
    assert second["plan"]["head"] == head                           # the parent the commit was made against
    assert [(u["path"], u["status"], u["sha256"]) for u in second["uploaded"]] == [("params", "changed", digest("params"))]
    assert second["upload_bytes"] == (staged / "params").stat().st_size
    assert {u["path"]: (u["size"], u["sha256"]) for u in second["unchanged"]} == {
        n: ((staged / n).stat().st_size, digest(n)) for n in names - {"params"}}

    commits = hub.n_commits(REPO)
    third = push_json(str(staged), "--repo", REPO)
    assert third["committed"] is False and third["commit"] is None and third["uploaded"] == []
    assert {u["path"] for u in third["unchanged"]} == names and third["upload_bytes"] == 0
    assert hub.n_commits(REPO) == commits

    (staged / "template").write_text("{{ .System }}{{ .Prompt }}")
    dry = push_json(str(staged), "--repo", REPO, "--dry-run")
    assert dry["dry_run"] is True and dry["committed"] is False and dry["uploaded"] == []
    assert [(f["path"], f["status"]) for f in dry["plan"]["files"] if f["status"] != "unchanged"] == [
        ("template", "changed")]
    assert hub.n_commits(REPO) == commits


def test_format_json_keeps_progress_and_notes_off_stdout(hub, staged, terminal):
    r = run(str(staged), "--repo", REPO, "--private", "--format", "json")   # a person at a terminal: bars
    assert r.exit_code == 0, r.output
    assert "%|" in r.stderr and json.loads(r.stdout)["committed"] is True
    (staged / "params").write_text("{}")
    again = run(str(staged), "--repo", REPO, "--private", "--format", "json", "-q")
    assert again.stderr == ""
    assert json.loads(again.stdout)["notes"] == [
        "--private applies when the repo is created; the existing repo keeps its visibility"]


def test_format_json_of_a_pull_request_gives_its_url(hub, staged):
    hub.create_repo(REPO)
    doc = push_json(str(staged), "--repo", REPO, "--create-pr")
    assert doc["commit"]["pull_request_url"].endswith(f"/{REPO}/discussions/1")
    assert doc["commit"]["oid"] == hub.head(REPO, "refs/pr/1").oid


def test_format_json_with_the_hub_unreachable_prints_the_local_side_and_fails(hub, staged, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{dead}")
    r = run(str(staged), "--repo", REPO, "--dry-run", "--format", "json")
    assert r.exit_code == 2 and f"cannot reach 127.0.0.1:{dead}: the connection was refused" in r.stderr
    assert "plan.local in the JSON" in r.stderr
    doc = json.loads(r.stdout)
    assert doc["plan"]["remote_checked"] is False and doc["plan"]["files"] == []
    assert doc["plan"]["remote_error"].endswith(f"cannot reach 127.0.0.1:{dead}: the connection was refused "
                                                "(nothing listens there)")
    assert doc["plan"]["remote_hint"] == (f"start the server HF_ENDPOINT (http://127.0.0.1:{dead}) points at, or unset "
                                          "HF_ENDPOINT; nothing was changed on the repo")
    assert "\\n" not in r.stderr
    assert {f["path"] for f in doc["plan"]["local"]} == {"tiny-llama-F32.gguf", "params", "template", "README.md",
                                                          "Modelfile.F32"}


def test_format_json_on_a_hub_error_prints_no_document(hub, staged, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", READ_TOKEN)
    r = run(str(staged), "--repo", REPO, "--format", "json")
    assert r.exit_code == 2 and r.stdout == "" and "no write access" in r.stderr


def test_create_pr_leaves_the_branch_alone(hub, staged):
    hub.create_repo(REPO)
    main_head = hub.head(REPO).oid
    r = run(str(staged), "--repo", REPO, "--create-pr")
    assert r.exit_code == 0, r.output
    assert "/discussions/1" in r.output
    assert hub.head(REPO).oid == main_head
    assert "tiny-llama-F32.gguf" in hub.head(REPO, "refs/pr/1").files


def test_more_files_than_the_recommended_commit_size_are_batched_into_one_commit(hub, tmp_path):
    d = tmp_path / "many"
    d.mkdir()
    for i in range(120):
        (d / f"part-{i:03d}.txt").write_text(f"file {i}\n")
    r = run(str(d), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert "recommended 100 files per commit" in r.output
    assert hub.count("POST", r"/preupload/") == 2      # two upload batches of <= 100
    assert hub.count("POST", r"/commit/") == 1
    assert len(hub.head(REPO).files) == 121


# -- faults --------------------------------------------------------------------------------------

def test_429_on_the_commit_is_retried_honouring_retry_after(hub, staged, monkeypatch):
    import publish.hub.client as client

    waits = []
    monkeypatch.setattr(client.time, "sleep", waits.append)
    hub.inject("POST", r"/commit/", status=429, retry_after=3)
    r = run(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert waits == [3.0]
    assert hub.count("POST", r"/commit/") == 2 and hub.n_commits(REPO) == 2


def test_a_5xx_on_an_upload_is_retried(hub, staged):
    hub.inject("PUT", r"/_lfs/upload/", status=503, retry_after=0)   # huggingface_hub's own backoff
    r = run(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert hub.count("PUT", r"/_lfs/upload/") == 2
    assert hub.file_bytes(REPO, "tiny-llama-F32.gguf") == (staged / "tiny-llama-F32.gguf").read_bytes()


@pytest.mark.parametrize("content, what", [
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 253113120\n",
     "git lfs pull"),                                    # a clone without Git LFS (llama-cpp-python#755)
    (b"<!DOCTYPE html><html><head><title>tiny-llama-F32.gguf</title></head></html>", "HTML"),
    (b"", "empty"),
])
def test_a_gguf_that_is_not_a_gguf_is_never_uploaded(hub, staged, content, what):
    (staged / "tiny-llama-F32.gguf").write_bytes(content)
    for args in (["--dry-run"], []):
        r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO, *args])
        assert r.exit_code == 2, r.output
        assert "tiny-llama-F32.gguf: at byte 0: expected the magic bytes 'GGUF'" in r.output
        assert what in r.output and "nothing was sent" in r.output and "Traceback" not in r.output
    assert hub.count("POST", r"/commit/") == 0 and hub.bytes_uploaded == 0


def test_an_interrupted_push_leaves_the_repo_unchanged_and_a_rerun_completes_it(hub, staged):
    assert run(str(staged), "--repo", REPO).exit_code == 0
    (staged / "tiny-llama-F32.gguf").write_bytes(b"GGUF" + os.urandom(4096))
    (staged / "params").write_text(json.dumps({"stop": ["<eos>"]}))
    before = dict(hub.head(REPO).files)
    hub.inject("POST", r"/commit/", drop=True, times=100)      # every commit attempt: connection dropped
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert r.exit_code == 2
    assert "cannot reach the Hub" in r.output and "nothing was changed" in r.output
    assert hub.head(REPO).files == before                      # no half-updated repo
    hub.faults.clear()
    hub.reset_counters()
    r = run(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert hub.bytes_uploaded == 0            # the LFS object was already uploaded by the failed run
    assert hub.file_bytes(REPO, "tiny-llama-F32.gguf") == (staged / "tiny-llama-F32.gguf").read_bytes()
    assert json.loads(hub.file_bytes(REPO, "params")) == {"stop": ["<eos>"]}


def test_a_commit_whose_answer_is_lost_is_not_made_twice(hub, staged):
    hub.inject("POST", r"/commit/", drop_after=True)
    r = run(str(staged), "--repo", REPO)
    assert r.exit_code == 0, r.output
    assert hub.count("POST", r"/commit/") == 1     # the head moved to this push: no retry ...
    assert hub.n_commits(REPO) == 2                # ... it is recognised as already landed


def test_persistent_5xx_fails_cleanly(hub, staged):
    hub.create_repo(REPO)
    hub.inject("POST", r"/commit/", status=500, times=100)
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert r.exit_code == 2
    assert "the Hub failed (HTTP 500)" in r.output
    assert hub.n_commits(REPO) == 1


# -- errors ----------------------------------------------------------------------------------------

def test_missing_token(hub, staged, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert r.exit_code == 2
    assert "no Hugging Face token" in r.output and "HF_TOKEN" in r.output
    assert hub.requests == []


@pytest.mark.parametrize("repo", ["tiny-GGUF", "alice/tiny--GGUF", "alice/ti ny", "alice/tiny-GGUF.git"])
def test_plan_push_refuses_what_is_not_a_repo_id_before_any_request(hub, staged, repo):
    """The library call checks the repo id as `publish push --repo` does, with the same message."""
    from publish.errors import UsageError
    from publish.hub.plan import plan_push

    with pytest.raises(UsageError, match="not a Hub repo id"):
        plan_push(staged, repo)
    assert hub.requests == []


def test_no_write_access(hub, staged, monkeypatch):
    hub.create_repo(REPO)
    monkeypatch.setenv("HF_TOKEN", READ_TOKEN)
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert r.exit_code == 2
    assert "no write access to alice/tiny-GGUF" in r.output
    assert hub.n_commits(REPO) == 1


def test_repo_not_found(hub, staged, monkeypatch):
    hub.create_repo("carol/secret", private=True)
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", "carol/secret"])
    assert r.exit_code == 2
    assert "repo carol/secret not found" in r.output
    assert hub.n_commits("carol/secret") == 1


def test_gated_repo(hub, staged):
    hub.create_repo("carol/gated", gated=True)
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", "carol/gated"])
    assert r.exit_code == 2
    assert "carol/gated is a gated repo" in r.output
    assert hub.n_commits("carol/gated") == 1


def test_revision_not_found(hub, staged):
    hub.create_repo(REPO)
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO, "--revision", "release"])
    assert r.exit_code == 2
    assert "revision 'release' does not exist" in r.output


def test_file_over_50_gb_is_refused_before_anything_is_sent(hub, staged):
    big = staged / "huge-BF16.gguf"
    with open(big, "wb") as fh:
        fh.truncate(50 * 1000**3 + 1)          # sparse: no disk used
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert r.exit_code == 2
    assert "huge-BF16.gguf" in r.output and "50 GB" in r.output
    assert hub.requests == []


def test_symlinks_are_refused(hub, staged, tmp_path):
    (tmp_path / "elsewhere.gguf").write_bytes(b"GGUF")
    os.symlink(tmp_path / "elsewhere.gguf", staged / "link-Q4_0.gguf")
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert r.exit_code == 2
    assert "link-Q4_0.gguf: is a symlink" in r.output


def test_the_token_never_appears_in_output_logs_or_files(hub, staged, tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    for name in ("huggingface_hub", "publish", "httpx2", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
        logging.getLogger(name).propagate = True
    outputs = []
    hub.inject("POST", r"/commit/", status=503, retry_after=0)
    for args in (["--dry-run"], ["--dry-run", "--format", "json"], ["--format", "json"], [],
                 ["--message", "again"]):
        outputs.append(CliRunner().invoke(main, ["push", str(staged), "--repo", REPO, *args]).output)
    (staged / "params").write_text("{}")
    monkeypatch.setenv("HF_TOKEN", READ_TOKEN)                     # an error path too
    outputs.append(CliRunner().invoke(main, ["push", str(staged), "--repo", REPO]).output)
    assert "no write access" in outputs[-1]
    assert any('"committed": true' in text for text in outputs)   # a JSON report of a commit is among them
    assert caplog.records, "debug logging was captured"
    haystacks = outputs + [caplog.text] + [r.getMessage() for r in caplog.records]
    for p in tmp_path.rglob("*"):
        if p.is_file():
            haystacks.append(p.read_bytes().decode("latin-1"))
    for commit in hub.repos[REPO].commits.values():
        haystacks.append(commit.message)
        haystacks += [b.content.decode("latin-1") for b in commit.files.values() if b.content]
    haystacks += [d.decode("latin-1") for d in hub.lfs.values()]
    assert any("hashes.json" in str(p) for p in tmp_path.rglob("*"))   # the cache was written and read
    for token in (WRITE_TOKEN, READ_TOKEN, CAROL_TOKEN):
        for text in haystacks:
            assert token not in text


def test_an_invalid_token_is_named_as_such_but_never_shown(hub, staged, monkeypatch):
    bogus = "hf_bogus0123456789abcdef"
    monkeypatch.setenv("HF_TOKEN", bogus)
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert r.exit_code == 2
    assert "rejected the token (HTTP 401)" in r.output and bogus not in r.output


def test_invalid_readme_metadata_is_refused_before_the_commit(hub, staged):
    (staged / "README.md").write_text("---\nlicense: [mit\n---\n# broken front matter\n")
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert r.exit_code == 2
    assert "README.md: the Hub rejected its metadata" in r.output
    assert hub.count("POST", r"/commit/") == 0 and hub.count("PUT") == 0
    from publish.errors import HubMetadataRejected
    from publish.hub.plan import plan_push
    from publish.hub.push import push

    with pytest.raises(HubMetadataRejected):   # the library raises the type, the CLI shows its message
        push(plan_push(staged, REPO))


def test_a_failed_xet_upload_is_a_hub_error_with_the_lfs_hint(hub, staged, monkeypatch):
    """With Xet enabled (hf_xet installed, HF_HUB_DISABLE_XET unset) huggingface_hub asks the Hub
    for a xet-write-token; the stand-in, like an endpoint without Xet, answers 404 and hf_xet
    raises Python's builtin ConnectionError. That is the project's HubError (exit 2, one message
    with the way out), not a traceback, and nothing is committed."""
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", False)
    r = CliRunner().invoke(main, ["push", str(staged), "--repo", REPO])
    assert not isinstance(r.exception, ConnectionError), r.output
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    assert "error: push: the Xet transfer failed (ConnectionError:" in r.output
    assert "xet-write-token" in r.output and "404" in r.output
    assert "set HF_HUB_DISABLE_XET=1 to transfer over LFS" in r.output
    assert hub.count("GET", r"/xet-write-token/") >= 1   # the upload really went the Xet way
    assert hub.count("POST", r"/commit/") == 0
    assert WRITE_TOKEN not in r.output


@pytest.mark.parametrize("where, raised, expected", [
    ("_upload_xet_files", ConnectionError("HTTP status client error (404 Not Found)"), True),
    ("_upload_xet_files", RuntimeError("Data processing error"), True),
    ("_upload_xet_files", FileNotFoundError(2, "No such file or directory", "/staged/x.gguf"), False),
    ("read_staged_file", ConnectionError("reset"), False),
])
def test_xet_failures_are_told_by_where_they_were_raised(where, raised, expected):
    """hf_xet raises builtin exceptions; only those raised under huggingface_hub's Xet functions
    count, and an error naming a local file stays a local error."""
    from publish.hub.client import is_xet_failure

    namespace: dict = {"__name__": "huggingface_hub._commit_api"}
    exec(f"def {where}(err):\n    raise err\n", namespace)
    with pytest.raises(type(raised)) as info:
        namespace[where](raised)
    assert is_xet_failure(info.value) is expected


def test_a_folder_built_for_another_repo_is_refused_before_any_request(hub, tmp_path):
    """`publish build` records the repo (manifest beside the folder; Modelfile header); its card's
    `ollama run hf.co/...` lines name it. Pushing it elsewhere would publish instructions for the
    wrong repo: refused with the rebuild command, nothing sent. The recorded repo itself pushes."""
    spec = Path(__file__).resolve().parents[2] / "examples" / "tiny" / "release.toml"
    out = tmp_path / "dist"
    built = CliRunner().invoke(main, ["build", str(spec), "-o", str(out)])
    assert built.exit_code == 0, built.output
    from publish.staged import StagedFolder

    recorded = StagedFolder.load(out).repo
    assert recorded and recorded in (out / "README.md").read_text()
    r = CliRunner().invoke(main, ["push", str(out), "--repo", "bob/other-GGUF"])
    assert r.exit_code == 2, r.output
    assert f"built for {recorded}, not bob/other-GGUF" in r.output
    assert f"publish build SPEC --repo bob/other-GGUF" in r.output
    assert hub.requests == []
    ok = CliRunner().invoke(main, ["push", str(out), "--repo", recorded, "--dry-run"])
    assert ok.exit_code == 0, ok.output


def test_the_repo_to_push_to_is_the_option_else_the_recorded_one(hub, staged, tmp_path, monkeypatch):
    """publish.hub.plan.push_repo, which `publish push` calls before the token check and any
    hashing: --repo (checked), else the repo `publish build` recorded; neither is a usage error
    naming the folder, with nothing sent and no token asked for."""
    from publish.errors import UsageError
    from publish.hub.plan import push_repo
    from publish.staged import StagedFolder

    folder = StagedFolder.load(staged, tolerant=True)
    assert folder.repo is None   # a folder made by hand records none
    assert push_repo(folder, "alice/x-GGUF") == "alice/x-GGUF"
    with pytest.raises(UsageError, match="not a Hub repo id"):
        push_repo(folder, "x-GGUF")
    with pytest.raises(UsageError, match="no --repo given and the folder records none"):
        push_repo(folder)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    r = CliRunner().invoke(main, ["push", str(staged)])
    assert r.exit_code == 2 and f"{staged}: no --repo given and the folder records none" in r.output, r.output
    assert hub.requests == []
    spec = Path(__file__).resolve().parents[2] / "examples" / "tiny" / "release.toml"
    built = CliRunner().invoke(main, ["build", str(spec), "-o", str(tmp_path / "dist")])
    assert built.exit_code == 0, built.output
    recorded = StagedFolder.load(tmp_path / "dist")
    assert push_repo(recorded) == recorded.repo

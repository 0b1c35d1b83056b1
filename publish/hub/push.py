"""Push a plan: create the repo if needed, then ONE commit with every add and delete.

The commit is the atomic step: LFS/Xet content is uploaded first (invisible until a commit points
at it), so an interruption anywhere leaves the repo as it was, and a re-run uploads only what the
Hub does not already hold. The commit names the head the plan was made against (`parent_commit`):
if the branch moved meanwhile, the Hub refuses instead of silently mixing two releases.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from publish.errors import HubConflict, HubError, HubMetadataRejected, UsageError
from publish.hub.hashing import git_blob_sha1
from publish.hub.plan import DELETE, PushPlan
from publish.units import human_size

log = logging.getLogger("publish.hub")

# Hub docs, "Repository limitations and recommendations": keep commits under 100 files.
RECOMMENDED_FILES_PER_COMMIT = 100


@dataclass
class PushResult:
    """What a push did: whether it `committed` (False: the repo already held the folder), the
    commit's oid and URL or the pull request's URL, the repo paths uploaded and deleted, bytes
    uploaded, and whether uploads went in batches before the commit (more files than the Hub
    recommends per commit)."""
    repo_id: str
    revision: str
    committed: bool
    commit_oid: str | None = None
    commit_url: str | None = None
    pr_url: str | None = None
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    upload_bytes: int = 0
    batched: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the terminal: up to date, or what was pushed in which commit or pull
        request."""
        if not self.committed:
            return f"{self.repo_id}@{self.revision} is up to date: nothing to push, no commit made"
        what = f"{len(self.uploaded)} file(s) uploaded ({human_size(self.upload_bytes)}), {len(self.deleted)} deleted"
        where = self.pr_url or self.commit_url or self.repo_id
        return f"pushed {what} in one commit {self.commit_oid[:12] if self.commit_oid else ''}: {where}"

    def to_dict(self) -> dict:
        """What the push did, as JSON:

            {"repo": "ORG/NAME", "revision": str, "committed": bool,
             "commit": {"oid": hex, "url": str, "pull_request_url": str|None} | None,  # None: no commit
             "uploaded": [path, ...], "deleted": [path, ...],
             "upload_bytes": bytes, "batched": bool, "notes": [str, ...]}

        The URLs are the Hub's public ones; no token or request header is ever part of it."""
        commit = None
        if self.committed:
            commit = {"oid": self.commit_oid, "url": self.commit_url, "pull_request_url": self.pr_url}
        return {"repo": self.repo_id, "revision": self.revision, "committed": self.committed, "commit": commit,
                "uploaded": list(self.uploaded), "deleted": list(self.deleted), "upload_bytes": self.upload_bytes,
                "batched": self.batched, "notes": list(self.notes)}


def push_report(plan: PushPlan, result: PushResult | None = None, *, dry_run: bool = False) -> dict:
    """The document `publish push --format json` prints (and `publish release --format json`
    under its push stage): what was committed, what was uploaded and what was skipped.

        {"repo": "ORG/NAME", "revision": str, "dry_run": bool,
         "committed": bool,                        # False: dry run, up to date, or not reached
         "commit": {"oid", "url", "pull_request_url"} | None,
         "uploaded": [{"path", "status": "new"|"changed", "size", "sha256"}, ...],   # [] without a commit
         "deleted": [{"path", "size"}, ...],       # [] without a commit
         "unchanged": [{"path", "size", "sha256"}, ...],   # skipped: the repo holds these bytes already
         "upload_bytes": bytes uploaded (0 without a commit),
         "batched": bool, "notes": [str, ...],
         "plan": PushPlan.to_dict()}               # what would be (or was) done, file by file

    `result` is None when no push ran (dry run, or the plan could not be compared). Sizes are
    bytes, digests lowercase hex. Holds no token and no request header."""
    done = (result if result is not None else PushResult(plan.repo_id, plan.revision, committed=False)).to_dict()
    sent = set(done["uploaded"]) if done["committed"] else set()
    gone = set(done["deleted"]) if done["committed"] else set()
    doc = {"repo": plan.repo_id, "revision": plan.revision, "dry_run": dry_run,
           "committed": done["committed"], "commit": done["commit"],
           "uploaded": [{"path": e.path, "status": e.status, "size": e.size, "sha256": e.sha256}
                        for e in plan.uploads if e.path in sent],
           "deleted": [{"path": e.path, "size": e.size} for e in plan.to_delete if e.path in gone],
           "unchanged": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in plan.unchanged],
           "upload_bytes": done["upload_bytes"], "batched": done["batched"], "notes": done["notes"],
           "plan": plan.to_dict()}
    return doc


def default_message(plan: PushPlan) -> str:
    """The commit message when none is given: `publish: N new, N changed[, N deleted]`."""
    parts = [f"{len(plan.new)} new", f"{len(plan.changed)} changed"]
    if plan.to_delete:
        parts.append(f"{len(plan.to_delete)} deleted")
    return f"publish: {', '.join(parts)}"


def _description(plan: PushPlan) -> str:
    lines = ["Pushed with `publish push`.", ""]
    for e in plan.entries:
        if e.status == DELETE:
            lines.append(f"- delete `{e.path}`")
        elif e.status != "unchanged":
            lines.append(f"- {e.status} `{e.path}` ({human_size(e.size)}, sha256 {e.sha256})")
    return "\n".join(lines)


def push(plan: PushPlan, *, message: str | None = None, create_pr: bool = False, private: bool = False,
         api=None) -> PushResult:
    """Apply `plan` to the Hub. Raises HubError (nothing half-pushed) or UsageError."""
    from publish.hub.client import call, hub_error, is_hub_failure, is_metadata_rejection, make_api, require_token
    from publish.progress import quiet_hub

    if not plan.remote_checked:
        raise HubError(f"cannot push {plan.folder}: the plan has no remote side ({plan.remote_error})",
                       hint=plan.remote_hint or "plan again once the Hub is reachable (plan_push without allow_unreachable)")
    result = PushResult(plan.repo_id, plan.revision, committed=False)
    if not plan.has_changes and plan.repo_exists:
        return result
    token = require_token()
    for f in plan.local:
        if f.changed_since():
            raise UsageError(f"{f.local_path}: changed after the plan was made",
                             hint="run `publish push` again; it re-plans from the folder as it is now")
    api = api if api is not None else make_api(token)
    try:
        with quiet_hub():
            call(lambda: api.create_repo(plan.repo_id, private=private, exist_ok=True), f"create {plan.repo_id}")
            if plan.repo_exists and private:
                result.notes.append("--private applies when the repo is created; the existing repo keeps its visibility")
            ops, adds = _operations(plan)
            if len(ops) > RECOMMENDED_FILES_PER_COMMIT:
                result.batched = True
                result.notes.append(
                    f"{len(ops)} operations exceed the Hub's recommended {RECOMMENDED_FILES_PER_COMMIT} files per commit:"
                    f" uploading content in batches of {RECOMMENDED_FILES_PER_COMMIT} first (preupload_lfs_files),"
                    " then one commit")
                for i in range(0, len(adds), RECOMMENDED_FILES_PER_COMMIT):
                    batch = adds[i:i + RECOMMENDED_FILES_PER_COMMIT]
                    call(lambda: api.preupload_lfs_files(plan.repo_id, additions=batch, revision=plan.revision,
                                                         create_pr=create_pr, free_memory=False),
                         f"upload batch {i // RECOMMENDED_FILES_PER_COMMIT + 1}")
            parent = plan.head
            if parent is None:  # a repo created just now: guard the commit with its initial head
                parent = call(lambda: api.repo_info(plan.repo_id, revision=plan.revision), f"read {plan.repo_id}").sha
            info = _commit(api, plan, ops, message or default_message(plan), create_pr, parent)
    except (HubError, UsageError):
        raise
    except Exception as err:  # noqa: BLE001 - Hub failures become HubError, the rest propagates
        if is_hub_failure(err) or isinstance(err, RuntimeError):
            raise hub_error(err, repo_id=plan.repo_id, revision=plan.revision, action="push") from None
        if is_metadata_rejection(err):
            raise HubMetadataRejected(f"{plan.folder / 'README.md'}: the Hub rejected its metadata: {err}",
                           hint="fix the YAML front matter (publish lint DIR checks it)") from None
        raise
    result.committed = True
    result.commit_oid = info.oid
    result.commit_url = info.commit_url
    result.pr_url = info.pr_url
    result.uploaded = [e.path for e in plan.uploads]
    result.deleted = [e.path for e in plan.to_delete]
    result.upload_bytes = plan.upload_bytes
    return result


def _operations(plan: PushPlan):
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete

    adds = []
    for e in plan.uploads:
        op = CommitOperationAdd(path_in_repo=e.path, path_or_fileobj=str(e.local_path))
        # The plan already knows the sha256 (hashed in parallel, cached): spare huggingface_hub a second read.
        op.upload_info.sha256 = bytes.fromhex(e.sha256)
        adds.append(op)
    deletes = [CommitOperationDelete(path_in_repo=e.path) for e in plan.to_delete]
    return adds + deletes, adds


def _commit(api, plan: PushPlan, ops, message: str, create_pr: bool, parent: str):
    """create_commit, retried only where a retry cannot make a second commit.

    huggingface_hub never retries the commit POST itself ("if a commit succeeds but its response
    is lost, the retry will create a duplicate commit (and a duplicate pull request if create_pr
    is set)": huggingface_hub 2.4, _commit_api._send_commit). An attempt without a usable answer
    (dropped connection, timeout, 5xx: the commit may have landed) is followed by a look at the Hub:

    - a branch commit: the branch head. Still `parent`: nothing landed, so try again; the retry
      carries parent_commit, so if the lost attempt lands after all the Hub refuses the retry
      (412) instead of committing twice. Moved and holding exactly the plan: the commit landed.
      Moved to anything else: someone else pushed; HubError, re-plan.
    - a pull request: the Hub has no precondition for it (parent_commit is only the PR's base),
      so there is no retry: a new PR that holds the plan is the success, else a HubError that says
      to look at the repo's pull requests before pushing again.

    A 412/409 answer (the branch moved) is checked the same way; a 429 (refused before any work)
    is retried honouring Retry-After, within the budget of publish.hub.client.call.
    """
    import time

    from huggingface_hub.errors import HfHubHTTPError

    from publish.hub import client
    from publish.hub.client import call

    what = f"commit to {plan.repo_id}@{plan.revision}"
    prs_before = _pull_requests(api, plan) if create_pr else None
    waited = 0.0
    last: BaseException | None = None
    for attempt in range(1, client.RETRY_ATTEMPTS + 1):
        try:
            return api.create_commit(plan.repo_id, ops, commit_message=message,
                                     commit_description=_description(plan), revision=plan.revision,
                                     create_pr=create_pr, parent_commit=parent)
        except HfHubHTTPError as err:
            status = client._status(err)
            if status == 429 and attempt < client.RETRY_ATTEMPTS:
                wait = client._retry_after(err)
                reason, lost = "HTTP 429", False
            elif status in (409, 412) or (status is not None and status >= 500):
                reason, lost, wait = f"HTTP {status}", True, None
                last = err
            else:
                raise
        except client._transport_errors() as err:
            reason, lost, wait = type(err).__name__, True, None
            last = err
        if lost:
            if create_pr:
                landed = _new_pull_request(api, plan, prs_before)
                if landed is not None:
                    log.info("%s: the pull request was made although its answer was lost (%s)", what, reason)
                    return landed
                raise HubError(f"{what}: no answer to the commit ({reason}), and no new pull request holds this push",
                               hint=f"look at the pull requests of {plan.repo_id} before pushing again: a pull "
                                    "request is never retried blindly, the Hub cannot refuse a duplicate") from None
            head = call(lambda: api.repo_info(plan.repo_id, revision=plan.revision), f"read {plan.repo_id}").sha
            if head != parent:
                landed = _holds_plan(api, plan, head)
                if landed is not None:
                    log.info("%s: the commit landed although its answer was lost (%s); head is now %s",
                             what, reason, head)
                    return landed
                raise HubConflict(f"{what}: {plan.revision} moved to {head[:12]} while pushing, to a commit that "
                                  "is not this push", hint="run the push again: it re-plans against the new head") from None
            if client._status(last) in (409, 412):
                raise last   # the Hub refused while the head is still the parent: not ours to explain
            if attempt == client.RETRY_ATTEMPTS:
                raise last
        if wait is None:
            wait = client.RETRY_BASE_SECONDS * 2 ** (attempt - 1)
        if waited + wait > client.RETRY_BUDGET_SECONDS:
            raise client.refusing(what, reason, wait, rate_limited=reason == "HTTP 429")
        log.info("%s: %s, the head is still the parent: retrying in %.1fs (try %d of %d)",
                 what, reason, wait, attempt + 1, client.RETRY_ATTEMPTS)
        time.sleep(wait)
        waited += wait
    raise AssertionError("unreachable")


@dataclass
class _Landed:
    oid: str
    commit_url: str
    pr_url: str | None = None


def _pull_requests(api, plan: PushPlan) -> set[str]:
    """The refs of the repo's pull requests now (refs/pr/N)."""
    from publish.hub.client import call

    refs = call(lambda: api.list_repo_refs(plan.repo_id, include_pull_requests=True), f"list {plan.repo_id} refs")
    return {r.ref for r in refs.pull_requests or ()}


def _new_pull_request(api, plan: PushPlan, before: set[str]) -> _Landed | None:
    """A pull request opened since `before` whose head holds exactly the plan, or None."""
    from publish.hub.client import call, endpoint

    refs = call(lambda: api.list_repo_refs(plan.repo_id, include_pull_requests=True), f"list {plan.repo_id} refs")
    new = sorted((r for r in refs.pull_requests or () if r.ref not in before),
                 key=lambda r: int(r.ref.rsplit("/", 1)[-1]) if r.ref.rsplit("/", 1)[-1].isdigit() else 0,
                 reverse=True)
    for ref in new:
        landed = _holds_plan(api, plan, ref.target_commit)
        if landed is not None:
            landed.pr_url = f"{endpoint()}/{plan.repo_id}/discussions/{ref.ref.rsplit('/', 1)[-1]}"
            return landed
    return None


def _holds_plan(api, plan: PushPlan, sha: str) -> _Landed | None:
    """If commit `sha` holds exactly what the plan wanted, it as a _Landed."""
    from huggingface_hub import RepoFile

    from publish.hub.client import call, endpoint

    remote = {f.path: f for f in call(lambda: list(api.list_repo_tree(plan.repo_id, recursive=True,
                                                                          revision=sha)), "list")
              if isinstance(f, RepoFile)}
    for e in plan.uploads:
        r = remote.get(e.path)
        if r is None or r.size != e.size:
            return None
        if (r.lfs.sha256 if r.lfs is not None else git_blob_sha1(e.local_path)) != (
                e.sha256 if r.lfs is not None else r.blob_id):
            return None
    if any(e.path in remote for e in plan.to_delete):
        return None
    return _Landed(sha, f"{endpoint()}/{plan.repo_id}/commit/{sha}")

"""Staged folder -> push plan: what is new, changed, unchanged or (with --delete-extra) to delete.

Local side: every regular file of the staged folder's listing (publish.staged.StagedFolder.files:
hidden files and folders skipped; symlinks refused: an upload would follow them and push whatever
they point at), each with size and sha256.
Remote side: one recursive `list_repo_tree` at the branch head. A remote LFS/Xet file is compared
by its sha256 (`lfs.sha256`); a regular git file by its blob id (sha1 of "blob {size}\\0"+content),
computed locally only for those few small files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from publish.addresses import check_repo_option
from publish.errors import HubError, NotGGUFError, UsageError
from publish.hub.hashing import HashCache, HashStats, git_blob_sha1, hash_files
from publish.staged import StagedFolder, staged
from publish.units import human_size
from publish.termtext import one_line

MAX_FILE_BYTES = 50 * 1000**3   # the Hub refuses files above 50 GB
NEW, CHANGED, UNCHANGED, DELETE = "new", "changed", "unchanged", "delete"


@dataclass(frozen=True)
class LocalFile:
    """A file of the staged folder as the push sees it: `path` in the repo (POSIX separators),
    `size` in bytes, `sha256` (hex), its `local_path`, and (size, mtime_ns, inode) when it was
    hashed."""
    path: str        # path in the repo, POSIX separators
    size: int
    sha256: str
    local_path: Path
    stat_key: tuple[int, int, int] = (0, 0, 0)  # (size, mtime_ns, inode) when hashed

    def changed_since(self) -> bool:
        """Whether the file changed after it was hashed (size, mtime_ns or inode differ): `push`
        then refuses to upload a plan made from other bytes. Raises OSError when the file is
        gone."""
        st = self.local_path.stat()
        return (st.st_size, st.st_mtime_ns, st.st_ino) != self.stat_key


@dataclass(frozen=True)
class PlanEntry:
    """One file in a push plan: repo `path`, `status` (new, changed, unchanged, delete), `size` in
    bytes (the remote size for a deletion), local and remote-LFS sha256 (hex; None where there is
    none), and the local file."""
    path: str
    status: str      # new | changed | unchanged | delete
    size: int        # local size; the remote size for deletions
    sha256: str | None = None        # local sha256 (None for deletions)
    remote_sha256: str | None = None  # for LFS files on the remote
    local_path: Path | None = None

    def to_dict(self) -> dict:
        """The entry as JSON: {"path": str, "status": "new"|"changed"|"unchanged"|"delete",
        "size": bytes, "sha256": hex|None, "remote_sha256": hex|None} (no local path)."""
        return {"path": self.path, "status": self.status, "size": self.size, "sha256": self.sha256,
                "remote_sha256": self.remote_sha256}


@dataclass
class PushPlan:
    """What `publish push` would do to `repo_id`@`revision` from `folder`: one entry per file, the
    local files hashed, whether the repo exists, the head commit the plan was made against (the
    commit's parent; None for an empty or new repo), remote files kept because they are not in
    the folder, and whether the Hub was reached (`remote_checked` False only for a dry run that
    could not reach it; `remote_error` says why, `remote_hint` what to do: kept apart, as
    PublishError's message and hint)."""
    folder: Path
    repo_id: str
    revision: str
    entries: list[PlanEntry] = field(default_factory=list)
    local: list[LocalFile] = field(default_factory=list)
    repo_exists: bool = False
    head: str | None = None            # commit the plan was made against (None: empty / no repo)
    kept_remote: list[str] = field(default_factory=list)  # remote files not in the folder, left alone
    delete_extra: bool = False
    remote_checked: bool = True        # False when the Hub could not be reached (dry run only)
    remote_error: str | None = None
    remote_hint: str | None = None
    hashing: HashStats = field(default_factory=HashStats)

    def _with(self, status: str) -> list[PlanEntry]:
        return [e for e in self.entries if e.status == status]

    @property
    def new(self) -> list[PlanEntry]:
        """Entries for files the repo does not have yet."""
        return self._with(NEW)

    @property
    def changed(self) -> list[PlanEntry]:
        """Entries for files whose remote sha256 (LFS) or git blob id differs from the local
        file."""
        return self._with(CHANGED)

    @property
    def unchanged(self) -> list[PlanEntry]:
        """Entries for files the repo already holds byte for byte (skipped by the push)."""
        return self._with(UNCHANGED)

    @property
    def to_delete(self) -> list[PlanEntry]:
        """Entries for remote files the push deletes (only with `delete_extra`; hidden files such as
        .gitattributes never)."""
        return self._with(DELETE)

    @property
    def uploads(self) -> list[PlanEntry]:
        """The new and changed entries: what the commit uploads."""
        return [e for e in self.entries if e.status in (NEW, CHANGED)]

    @property
    def upload_bytes(self) -> int:
        """Bytes the push uploads (the sizes of the new and changed files)."""
        return sum(e.size for e in self.uploads)

    @property
    def has_changes(self) -> bool:
        """Whether the push would make a commit (anything to upload or delete)."""
        return bool(self.uploads or self.to_delete)

    def to_dict(self) -> dict:
        """The plan as JSON (what `publish push --dry-run --format json` prints under "plan"):

            {"repo": "ORG/NAME", "revision": str, "folder": str,
             "remote_checked": bool, "remote_error": str|None,   # False/why: the Hub was not reached
             "remote_hint": str|None,                            # what to do about remote_error
             "repo_exists": bool, "head": commit oid|None,       # the commit the plan was made against
             "files": [PlanEntry.to_dict(), ...]                 # every entry, new/changed/unchanged/delete;
                                                                 # [] when the Hub was not reached
             "local": [{"path", "size", "sha256"}, ...],         # the folder's files (always complete)
             "counts": {"new": n, "changed": n, "unchanged": n, "delete": n},
             "upload_bytes": bytes of the new and changed files,
             "kept_remote": [path, ...],                         # remote files not in the folder, kept
             "hashing": {"files_hashed": n, "bytes_hashed": bytes, "cache_hits": n}}

        Sizes are bytes, digests lowercase hex. Holds no token and no request header."""
        return {
            "repo": self.repo_id, "revision": self.revision, "folder": str(self.folder),
            "remote_checked": self.remote_checked, "remote_error": self.remote_error,
            "remote_hint": self.remote_hint,
            "repo_exists": self.repo_exists, "head": self.head,
            "files": [e.to_dict() for e in self.entries],
            "local": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.local],
            "counts": {s: len(self._with(s)) for s in (NEW, CHANGED, UNCHANGED, DELETE)},
            "upload_bytes": self.upload_bytes,
            "kept_remote": list(self.kept_remote),
            "hashing": {"files_hashed": self.hashing.files_hashed, "bytes_hashed": self.hashing.bytes_hashed,
                        "cache_hits": self.hashing.cache_hits},
        }


def _is_hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _pushable(folder: StagedFolder, skip: set[str]) -> list[tuple[str, Path]]:
    """(path in the repo, local path) of every file of the staged folder's listing
    (StagedFolder.files: hidden names already left out). Raises UsageError for a symbolic link
    (an upload would follow it) or anything that is not a regular file."""
    found: list[tuple[str, Path]] = []
    for p in folder.files:
        if os.path.abspath(p) in skip:
            continue
        if p.is_symlink() and p.is_dir():
            raise UsageError(f"{p}: is a symlink to a folder; push uploads only real files",
                             hint="replace it with a real folder (publish build never makes symlinks)")
        if p.is_symlink():
            raise UsageError(f"{p}: is a symlink; an upload would follow it and push whatever it points at",
                             hint="replace it with a copy or a hard link (publish build does this for you)")
        if not p.is_file():
            raise UsageError(f"{p}: not a regular file", hint="remove it from the staged folder")
        found.append((p.relative_to(folder.path).as_posix(), p))
    return found


def local_plan(folder: StagedFolder | str | os.PathLike, *, cache: HashCache | None = None,
               stats: HashStats | None = None) -> list[LocalFile]:
    """Every file push would upload, with size (bytes) and sha256 (hex), in repo-path order.
    `folder`: the StagedFolder `publish build` returned, or a path, read here once (tolerantly:
    push sends the folder as it is; lint judges it). No network. Raises UsageError (not a
    folder, no files, a symlink or special file, a `*.gguf` that is not a GGUF) or HubError (a
    file over the Hub's 50 GB)."""
    folder = staged(folder, tolerant=True)
    root = folder.path
    cache = cache if cache is not None else HashCache()
    files = _pushable(folder, {os.path.abspath(cache.path)})
    if not files:
        raise UsageError(f"{root}: no files to push", hint="run `publish build SPEC -o DIR` first")
    too_big = [(rel, p.stat().st_size) for rel, p in files if p.stat().st_size > MAX_FILE_BYTES]
    if too_big:
        rel, size = too_big[0]
        raise HubError(f"{root / rel}: {human_size(size)} is over the Hub's 50 GB per-file limit; nothing was sent",
                       hint="split the GGUF (llama-gguf-split --split-max-size 45G) and push the parts")
    _refuse_not_gguf(folder)
    digests = hash_files([p for _, p in files], cache=cache, stats=stats)
    out = []
    for rel, p in files:
        st = p.stat()
        out.append(LocalFile(rel, st.st_size, digests[p], p, (st.st_size, st.st_mtime_ns, st.st_ino)))
    return out


def _refuse_not_gguf(folder: StagedFolder) -> None:
    """A `*.gguf` without the GGUF magic (a Git LFS pointer from a clone without LFS, an HTML page
    saved under the model's name: publish.gguf.sniff) is never worth uploading, so push refuses
    it whatever else it leaves to lint; the folder's load already read every GGUF's header.
    Raises UsageError naming the file, what it is and the fix."""
    for err in folder.unreadable.values():
        if isinstance(err, NotGGUFError):
            raise UsageError(f"{err.message}; nothing was sent", hint=err.hint)


def _remote_state(api, repo_id: str, revision: str):
    """(repo_exists, head sha, {path: RepoFile}). Raises huggingface_hub errors."""
    from huggingface_hub import RepoFile
    from huggingface_hub.errors import RepositoryNotFoundError, GatedRepoError

    from publish.hub.client import call

    try:
        info = call(lambda: api.repo_info(repo_id, revision=revision), f"read {repo_id}")
    except GatedRepoError:
        raise
    except RepositoryNotFoundError:
        return False, None, {}
    head = info.sha
    files = {
        f.path: f
        for f in call(lambda: list(api.list_repo_tree(repo_id, recursive=True, revision=head or revision)),
                      f"list {repo_id}")
        if isinstance(f, RepoFile)
    }
    return True, head, files


def push_repo(folder: StagedFolder, repo_id: str | None = None) -> str:
    """The Hub repo a push of `folder` goes to: `repo_id` ("ORG/NAME", checked with
    publish.addresses.check_repo_option) when given, else the repo `publish build` recorded in the
    folder. Raises UsageError for a repo id that is not ORG/NAME, and when none is given and the
    folder records none. Contacts nothing (call it before asking for a token or hashing)."""
    if repo_id is not None:
        check_repo_option(repo_id)
        return repo_id
    if folder.repo is None:
        raise UsageError(f"{folder.path}: no --repo given and the folder records none",
                         hint="pass --repo ORG/NAME, or build the folder with `publish build SPEC -o DIR`")
    return folder.repo


def check_push_folder(folder: str | os.PathLike, repo_id: str | None = None) -> None:
    """A Hub address where the local folder belongs (`publish push hf://org/x`, `hf.co/org/x`):
    push uploads a staged folder, the repo it goes to is --repo. Raises UsageError naming both;
    a local folder of the same spelling wins, as everywhere (publish.sources.expand)."""
    from publish.addresses import is_hub_file_url, is_ollama_hub_name, ollama_hub_repo, parse_hub_file_url
    from publish.errors import UsageError
    from publish.termtext import shell_command

    folder = os.fspath(folder)
    if os.path.exists(folder) or not (is_hub_file_url(folder) or is_ollama_hub_name(folder)):
        return
    try:
        repo = parse_hub_file_url(folder).repo_id if is_hub_file_url(folder) else ollama_hub_repo(folder)
    except UsageError:
        repo = "ORG/NAME"
    raise UsageError(f"{folder}: a Hub address; publish push uploads a local staged folder (the one "
                     "`publish build` wrote) to the repo named by --repo",
                     hint=f"run `{shell_command('publish', 'push', 'DIR', '--repo', repo_id or repo)}` "
                          "with DIR the staged folder")


def plan_push(folder: StagedFolder | str | os.PathLike, repo_id: str, *, revision: str = "main",
              delete_extra: bool = False, api=None, cache: HashCache | None = None,
              allow_unreachable: bool = False) -> PushPlan:
    """Compare the staged folder (a StagedFolder or its path, as `local_plan`) with
    `repo_id`@`revision`. Reads only; raises HubError on Hub failures, UsageError as `local_plan` and for a `repo_id`
    that is not ORG/NAME (publish.addresses.check_repo_option).

    With `allow_unreachable`, a Hub that cannot be reached gives a plan with `remote_checked=False`
    (the local side only) instead of an error: what `--dry-run` prints offline.
    """
    from publish.hub.client import get_token, hub_error, is_hub_failure, is_unreachable, make_api

    check_repo_option(repo_id)
    if not isinstance(folder, StagedFolder):
        check_push_folder(folder, repo_id)
    stats = HashStats()
    folder = staged(folder, tolerant=True)
    if folder.repo is not None and folder.repo != repo_id:
        # the card's `ollama run hf.co/...` lines and the Modelfiles name the repo it was built for
        raise UsageError(f"{folder.path}: built for {folder.repo}, not {repo_id}: its model card and Modelfiles "
                         f"name {folder.repo}",
                         hint=f"rebuild it for {repo_id}: `publish build SPEC --repo {repo_id} -o DIR`")
    local = local_plan(folder, cache=cache, stats=stats)
    plan = PushPlan(folder.path, repo_id, revision, local=local, delete_extra=delete_extra, hashing=stats)
    api = api if api is not None else make_api(get_token())
    try:
        plan.repo_exists, plan.head, remote = _remote_state(api, repo_id, revision)
    except Exception as err:  # noqa: BLE001 - only Hub failures are turned into HubError
        if allow_unreachable and is_unreachable(err):
            plan.remote_checked = False
            why = hub_error(err, repo_id=repo_id, revision=revision, action="plan")
            plan.remote_error, plan.remote_hint = why.message, why.hint
            return plan
        if is_hub_failure(err):
            raise hub_error(err, repo_id=repo_id, revision=revision, action="plan") from None
        raise
    for f in local:
        r = remote.get(f.path)
        if r is None:
            status, remote_sha = NEW, None
        elif r.lfs is not None:
            remote_sha = r.lfs.sha256
            status = UNCHANGED if remote_sha == f.sha256 and r.size == f.size else CHANGED
        else:
            remote_sha = None
            status = UNCHANGED if r.size == f.size and git_blob_sha1(f.local_path) == r.blob_id else CHANGED
        plan.entries.append(PlanEntry(f.path, status, f.size, f.sha256, remote_sha, f.local_path))
    local_paths = {f.path for f in local}
    for path, r in sorted(remote.items()):
        if path in local_paths:
            continue
        if delete_extra and not _is_hidden(Path(path)):  # never .gitattributes and friends
            plan.entries.append(PlanEntry(path, DELETE, r.size, None, r.lfs.sha256 if r.lfs else None))
        else:
            plan.kept_remote.append(path)
    return plan


def format_local_files(files: list[LocalFile], indent: str = "  ") -> list[str]:
    """One line per file: path, size and sha256 (the local side of a plan)."""
    width = max((len(f.path) for f in files), default=0)
    return [one_line(f"{indent}{f.path:<{width}}  {human_size(f.size):>10}  sha256:{f.sha256}") for f in files]


def format_plan(plan: PushPlan) -> str:
    """The table a maintainer reads before anything is sent."""
    target = f"{plan.repo_id}@{plan.revision}"
    lines = []
    if not plan.remote_checked:
        lines.append(f"Local files of {plan.folder} (the comparison with {target} could not be made):")
        lines.extend(format_local_files(plan.local))
        lines.append(f"{len(plan.local)} file(s), {human_size(sum(f.size for f in plan.local))}")
        return "\n".join(map(one_line, lines))
    head = f" (head {plan.head[:12]})" if plan.head else (" (new repo)" if not plan.repo_exists else "")
    lines.append(f"Plan for {target}{head}:")
    order = {NEW: 0, CHANGED: 1, DELETE: 2, UNCHANGED: 3}
    entries = sorted(plan.entries, key=lambda e: (order[e.status], e.path))
    width = max([len(e.path) for e in entries] + [4])
    for e in entries:
        lines.append(f"  {e.status:<9}  {e.path:<{width}}  {human_size(e.size):>10}")
    counts = ", ".join(f"{len(plan._with(s))} {s}" for s in (NEW, CHANGED, UNCHANGED, DELETE)
                       if s != DELETE or plan.delete_extra)
    lines.append(f"{counts}; {human_size(plan.upload_bytes)} to upload")
    if plan.kept_remote:
        visible = [p for p in plan.kept_remote if not _is_hidden(Path(p))]
        if visible:
            lines.append(f"{len(visible)} remote file(s) not in the folder are kept"
                         f" (--delete-extra deletes them): {', '.join(visible[:5])}{' …' if len(visible) > 5 else ''}")
    h = plan.hashing
    if h.files_hashed or h.cache_hits:
        lines.append(f"sha256: {h.files_hashed} file(s) hashed ({human_size(h.bytes_hashed)}), {h.cache_hits} from cache")
    return "\n".join(map(one_line, lines))   # paths are file names from the folder and the Hub

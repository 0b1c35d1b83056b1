"""HubStandIn: a loopback STAND-IN for the Hugging Face Hub HTTP API, for tests only.

It is not the Hub. It serves, on 127.0.0.1 and a random port, the documented endpoints the real
huggingface_hub client calls for what `publish` does (create repo, repo info, preupload, LFS batch +
PUT + verify, NDJSON commit, paths-info, tree, HEAD/GET resolve with Range, validate-yaml,
whoami-v2), with the Hub's error shapes (X-Error-Code RepoNotFound / GatedRepo / RevisionNotFound,
401/403 bodies), refs with pull requests. Repos live in memory as commits of {path: blob}. It
counts every request and every byte served or received (`received`, `heads`: what a client sent,
for leak checks), and can inject 429 (with Retry-After), 5xx, a dropped connection, a lost answer
(handled, then dropped) or a stall (before handling, or after it before answering) on chosen
requests. A commit whose `parentCommit` is not the branch head is refused with 412 ("A commit has
happened since"), as the Hub does; with create_pr, parentCommit is the pull request's base
(huggingface_hub create_commit docs). Simplifications: model repos only; listings are not paginated; LFS objects
are stored once for all repos; gated repos refuse every read to tokens without access.

Downloads follow the Hub's documented shape: `resolve` answers a regular (git) file itself, and an
LFS file with a 302 to its CDN, a signed URL on another host (here `localhost` instead of
`127.0.0.1`, the same server) that carries the X-Repo-Commit / X-Linked-Size / X-Linked-Etag
headers huggingface_hub reads its metadata from. The stand-in CDN, like S3/CloudFront behind the
real one, serves byte ranges (206 + Content-Range, 416 past the end), refuses a request that also
carries an Authorization header (400: the signature is the only credential) and an expired URL
(403; `expire_cdn_urls()`); `ignore_ranges` makes it answer as a server without range support
(200 and the whole body). Every request is recorded as a `Transfer` (method, path, status, body
bytes sent, Range asked, whether it carried a token, the repo file it served), so a test can count
the requests and bytes one read cost (`file_transfers`).
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import hmac
import secrets
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

LFS_PATTERNS = ["*.gguf", "*.bin", "*.safetensors", "*.pt", "*.zip", "*.tar.*"]
REGULAR_MAX = 10 * 1024 * 1024
GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS).encode()


def git_blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass(frozen=True)
class Blob:
    size: int
    content: bytes | None = None      # regular files
    lfs_sha256: str | None = None     # LFS files (content in the LFS store)

    @property
    def pointer(self) -> bytes:
        return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.lfs_sha256}\nsize {self.size}\n").encode()

    @property
    def oid(self) -> str:
        return git_blob_id(self.pointer if self.lfs_sha256 else self.content)


@dataclass
class Commit:
    oid: str
    files: dict[str, Blob]
    message: str
    parent: str | None


@dataclass
class Repo:
    repo_id: str
    private: bool = False
    gated: bool = False
    gated_allowed: set[str] = field(default_factory=set)   # users with access to a gated repo
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    prs: list[str] = field(default_factory=list)


@dataclass
class Fault:
    method: str
    path_re: str
    status: int | None = None          # None with drop=True: close the connection, no answer
    times: int = 1
    retry_after: int | None = None
    drop: bool = False                 # close the connection before handling the request
    drop_after: bool = False           # handle it (a commit lands), then close without answering
    stall: float = 0.0                 # seconds to wait before handling it (a stalled Hub)
    stall_after: float = 0.0           # seconds to wait after handling it, before answering (a lost answer)
    on_hit: Callable[[], None] | None = None   # run when the fault fires (e.g. someone else pushes meanwhile)
    message: str | None = None         # the error text of an injected status (the body's "error")
    hits: int = 0


@dataclass(frozen=True)
class Transfer:
    """One request as the stand-in saw it."""
    method: str
    path: str                  # without the query
    status: int
    sent: int                  # body bytes sent (0 for HEAD)
    range: str | None          # the Range header asked for
    authorized: bool           # it carried an Authorization header
    file: str | None = None    # the repo file served (resolve and the CDN)


@dataclass
class Token:
    user: str
    write: bool = True
    orgs: tuple[str, ...] = ()


class HubStandIn:
    def __init__(self, tokens: dict[str, Token] | None = None):
        self.tokens = tokens or {}
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}
        self.faults: list[Fault] = []
        self.requests: list[tuple[str, str, int]] = []   # (method, path, status)
        self.bytes_served: dict[str, int] = {}           # resolve path -> body bytes sent
        self.bytes_uploaded = 0
        self.received: list[tuple[str, str, bytes]] = []   # (method, path with query, body) of every request
        self.heads: list[str] = []    # every request line and its headers, Authorization left out
        self.transfers: list[Transfer] = []   # every request answered (see Transfer)
        self.cdn_epoch = 0            # CDN URLs signed in an earlier epoch have expired
        self.ignore_ranges = False    # answer ranged GETs with 200 and the whole body (a server without ranges)
        self._cdn_key = secrets.token_bytes(16)
        self.registry_blobs: dict[str, bytes] = {}        # Ollama registry: digest -> blob (tests/standins/hub_registry.py)
        self.served_manifests: list[tuple[str, str, str]] = []   # (repo, tag, the GGUF path served)
        self.ollama_utils_picks: list[tuple[str, str, dict | None]] = []   # (repo, tag, ollama-utils' pick)
        self.lock = threading.RLock()
        self.stopping = threading.Event()   # ends injected stalls when the stand-in stops
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> "HubStandIn":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    # -- test helpers -----------------------------------------------------------------------------

    def inject(self, method: str, path_re: str, *, status: int | None = None, times: int = 1,
               retry_after: int | None = None, drop: bool = False, drop_after: bool = False,
               stall: float = 0.0, stall_after: float = 0.0, on_hit: Callable[[], None] | None = None,
               message: str | None = None) -> Fault:
        fault = Fault(method.upper(), path_re, status, times, retry_after, drop, drop_after, stall, stall_after,
                      on_hit, message)
        with self.lock:
            self.faults.append(fault)
        return fault

    def reset_counters(self) -> None:
        with self.lock:
            self.requests.clear()
            self.transfers.clear()
            self.bytes_served.clear()
            self.bytes_uploaded = 0

    def file_transfers(self, path: str) -> list[Transfer]:
        """The requests that served (or refused) repo file `path`: resolve and CDN, in order."""
        with self.lock:
            return [t for t in self.transfers if t.file == path]

    def expire_cdn_urls(self) -> None:
        """Every CDN URL handed out so far answers 403 from now on, as a signed URL past its lifetime."""
        with self.lock:
            self.cdn_epoch += 1

    def cdn_url(self, sha256: str, path: str) -> str:
        """A signed URL of LFS object `sha256` on the stand-in CDN (another host name, the same server)."""
        sig = hmac.new(self._cdn_key, f"{sha256}/{self.cdn_epoch}".encode(), "sha256").hexdigest()[:32]
        from urllib.parse import quote

        return (f"http://localhost:{self.server.server_address[1]}/standin-lfs/{sha256}"
                f"?path={quote(path)}&epoch={self.cdn_epoch}&sig={sig}")

    def count(self, method: str, path_re: str = "") -> int:
        with self.lock:
            return sum(1 for m, p, _ in self.requests if m == method and re.search(path_re, p))

    def create_repo(self, repo_id: str, *, private: bool = False, gated: bool = False) -> Repo:
        with self.lock:
            repo = Repo(repo_id, private=private, gated=gated)
            self._new_commit(repo, "main", {".gitattributes": Blob(len(GITATTRIBUTES), GITATTRIBUTES)},
                             "initial commit", None)
            self.repos[repo_id] = repo
            return repo

    def head(self, repo_id: str, branch: str = "main") -> Commit:
        repo = self.repos[repo_id]
        return repo.commits[repo.branches[branch]]

    def n_commits(self, repo_id: str) -> int:
        return len(self.repos[repo_id].commits)

    def file_bytes(self, repo_id: str, path: str, branch: str = "main") -> bytes:
        blob = self.head(repo_id, branch).files[path]
        return self.lfs[blob.lfs_sha256] if blob.lfs_sha256 else blob.content

    def put_file(self, repo_id: str, path: str, data: bytes, *, lfs: bool | None = None,
                 sha256: str | None = None) -> None:
        """Commit a file directly (test set-up), as the Hub would store it. `data` may be any
        bytes-like object (an mmap of a large file); `sha256`, when the caller knows it, saves hashing."""
        with self.lock:
            repo = self.repos.get(repo_id) or self.create_repo(repo_id)
            files = dict(repo.commits[repo.branches["main"]].files)
            files[path] = self._blob(path, data, lfs, sha256)
            self._new_commit(repo, "main", files, f"add {path}", repo.branches["main"])

    def _blob(self, path: str, data: bytes, lfs: bool | None, sha256: str | None = None) -> Blob:
        if lfs is None:
            lfs = _is_lfs(path, len(data), data[:512])
        if lfs:
            sha = sha256 or hashlib.sha256(data).hexdigest()
            self.lfs[sha] = data
            return Blob(len(data), lfs_sha256=sha)
        return Blob(len(data), content=data)

    def _new_commit(self, repo: Repo, branch: str, files: dict[str, Blob], message: str,
                    parent: str | None) -> Commit:
        oid = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
        commit = Commit(oid, files, message, parent)
        repo.commits[oid] = commit
        repo.branches[branch] = oid
        return commit


def _is_lfs(path: str, size: int, sample: bytes) -> bool:
    name = path.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(name, p) for p in LFS_PATTERNS) or size >= REGULAR_MAX or b"\0" in sample


class _Reply(Exception):
    def __init__(self, status: int, body=None, headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(status: int, message: str, code: str | None = None) -> _Reply:
    headers = {"X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return _Reply(status, {"error": message}, headers)


def _handler_for(hub: HubStandIn):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # keep test output clean
            pass

        # -- plumbing -------------------------------------------------------------------------

        def _body(self) -> bytes:
            data = self._read_body()
            with hub.lock:
                hub.received.append((self.command, self.path, data))
            return data

        def _read_body(self) -> bytes:
            self._body_read = True
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = bytearray()
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _send(self, status: int, body=None, headers: dict[str, str] | None = None, *,
                  head: bool = False) -> None:
            if isinstance(body, (dict, list)):
                data = json.dumps(body).encode()
                ctype = "application/json"
            elif body is None:
                data, ctype = b"", "application/json"
            else:
                data, ctype = body, "application/octet-stream"
            with hub.lock:   # recorded first: a client that gave up (timeout) still shows what it was answered
                hub.requests.append((self.command, self.path.split("?")[0], status))
                hub.transfers.append(Transfer(self.command, self.path.split("?")[0], status,
                                              0 if head else len(data), self.headers.get("Range"),
                                              bool(self.headers.get("Authorization")), self._file))
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                if not head:
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True   # the client is gone

        def _take_fault(self) -> Fault | None:
            path = self.path.split("?")[0]
            with hub.lock:
                for f in hub.faults:
                    if f.times > 0 and f.method == self.command and re.search(f.path_re, path):
                        f.times -= 1
                        f.hits += 1
                        return f
            return None

        def _hang_up(self) -> None:
            import socket

            with hub.lock:
                hub.requests.append((self.command, self.path.split("?")[0], 0))
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _user(self, *, required: bool) -> Token | None:
            auth = self.headers.get("Authorization", "")
            if not auth:
                if required:
                    raise _error(401, "Invalid username or password.")
                return None
            token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
            user = hub.tokens.get(token)
            if user is None:
                raise _error(401, "Invalid credentials in Authorization header")
            return user

        def _repo(self, repo_id: str, *, write: bool = False) -> Repo:
            user = self._user(required=write)
            repo = hub.repos.get(repo_id)
            if repo is None or (repo.private and not _can_write(user, repo_id)):
                raise _error(401 if user is None else 404, "Repository not found", "RepoNotFound")
            if repo.gated and not write and not (user and (user.user in repo.gated_allowed or _can_write(user, repo_id))):
                raise _error(403, f"Access to model {repo_id} is restricted. You must have access to it.",
                             "GatedRepo")
            if write and not _can_write(user, repo_id):
                raise _error(403, "You don't have the rights to write to this repo")
            return repo

        def _commit_at(self, repo: Repo, rev: str) -> Commit:
            rev = unquote(rev)
            oid = repo.branches.get(rev) or (rev if rev in repo.commits else None)
            if oid is None:
                raise _error(404, f"Invalid rev id: {rev}", "RevisionNotFound")
            return repo.commits[oid]

        # -- dispatch ------------------------------------------------------------------------

        def _dispatch(self) -> None:
            self._file = None     # the repo file this request is about (Transfer.file)
            self._body_read = False
            with hub.lock:
                hub.heads.append("\n".join([self.requestline] + [f"{k}: {v}" for k, v in self.headers.items()
                                                                   if k.lower() != "authorization"]))
            fault = self._take_fault()
            if fault is not None and fault.on_hit is not None:
                fault.on_hit()
            if fault is not None and fault.stall:
                hub.stopping.wait(fault.stall)
            stalled_only = fault is not None and (fault.stall or fault.stall_after) and fault.status is None \
                and not fault.drop
            if fault is not None and not fault.drop_after and not stalled_only:
                if self.command in ("POST", "PUT"):
                    self._body()  # consume it so the client reads our answer, not a reset
                if fault.drop:
                    return self._hang_up()
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return self._send(fault.status or 500, {"error": fault.message or f"injected HTTP {fault.status}"},
                                  headers)
            split = urlsplit(self.path)
            path, query = unquote(split.path), parse_qs(split.query)
            try:
                with hub.lock:
                    self._route(self.command, split.path, path, query)
                reply = _Reply(500, {"error": "stand-in: route did not answer"})
            except _Reply as r:
                reply = r
            except Exception as err:  # a stand-in bug must not hang the client
                reply = _Reply(500, {"error": f"stand-in crashed: {type(err).__name__}: {err}"})
            if self.command in ("POST", "PUT") and not self._body_read:
                # a route that refused before reading the body (403 on preupload): drain it, or the
                # kept-alive connection's next request would be read from the middle of this body
                self._read_body()
            if fault is not None and fault.stall_after:
                hub.stopping.wait(fault.stall_after)
            if fault is not None and fault.drop_after:
                return self._hang_up()
            self._send(reply.status, reply.body, reply.headers, head=self.command == "HEAD")

        def do_GET(self):
            self._dispatch()

        def do_HEAD(self):
            self._dispatch()

        def do_POST(self):
            self._dispatch()

        def do_PUT(self):
            self._dispatch()

        def _route(self, method: str, raw: str, path: str, query: dict) -> None:
            m = None
            if method == "GET" and path == "/api/whoami-v2":
                user = self._user(required=True)
                raise _Reply(200, {"type": "user", "name": user.user, "orgs": [{"name": o} for o in user.orgs],
                                   "auth": {"type": "access_token",
                                            "accessToken": {"role": "write" if user.write else "read"}}})
            if method == "POST" and path == "/api/repos/create":
                return self._create_repo()
            if method == "POST" and path == "/api/validate-yaml":
                return self._validate_yaml()
            if method == "PUT" and (m := re.fullmatch(r"/_lfs/upload/([0-9a-f]{64})", path)):
                return self._lfs_put(m.group(1))
            if method == "POST" and (m := re.fullmatch(r"/_lfs/verify", path)):
                body = json.loads(self._body() or b"{}")
                raise _Reply(200 if body.get("oid") in hub.lfs else 404, {})
            if method == "POST" and (m := re.fullmatch(r"/([^/]+/[^/]+)\.git/info/lfs/objects/batch", path)):
                return self._lfs_batch(m.group(1))
            # raw (still %-encoded) path so that a revision like refs%2Fpr%2F1 stays one segment
            if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/([^/]+))?", raw):
                if method == "GET":
                    return self._model_info(unquote(m.group(1)), m.group(2) or "main")
            if method == "GET" and (m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/refs", raw)):
                return self._refs(unquote(m.group(1)), query)
            if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/preupload/([^/]+)", raw):
                return self._preupload(unquote(m.group(1)), m.group(2), query)
            if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/commit/([^/]+)", raw):
                return self._commit(unquote(m.group(1)), m.group(2), query)
            if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/paths-info/([^/]+)", raw):
                return self._paths_info(unquote(m.group(1)), m.group(2))
            if m := re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)(/.*)?", raw):
                return self._tree(unquote(m.group(1)), m.group(2), unquote(m.group(3) or "").strip("/"), query)
            if method == "GET" and (m := re.fullmatch(r"/v2/([^/]+/[^/]+)/manifests/([^/]+)", raw)):
                return self._ollama_manifest(unquote(m.group(1)), unquote(m.group(2)))
            if method in ("GET", "HEAD") and (m := re.fullmatch(r"/v2/[^/]+/[^/]+/blobs/(sha256:[0-9a-f]{64})", raw)):
                return self._ollama_blob(m.group(1))
            if method in ("GET", "HEAD") and (m := re.fullmatch(r"/standin-cdn/([0-9a-f]{64})", raw)):
                data = hub.registry_blobs.get("sha256:" + m.group(1))
                if data is None:
                    raise _error(404, "stand-in CDN: no such blob")
                return self._ranged(data, {"Accept-Ranges": "bytes"}, "standin-cdn/" + m.group(1))
            if method in ("GET", "HEAD") and (m := re.fullmatch(r"/standin-lfs/([0-9a-f]{64})", raw)):
                return self._cdn(m.group(1), query)
            if method in ("GET", "HEAD") and (m := re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", raw)):
                return self._resolve(unquote(m.group(1)), m.group(2), unquote(m.group(3)))
            raise _error(404, f"stand-in: no route for {method} {path}")

        # -- endpoints ------------------------------------------------------------------------

        def _create_repo(self):
            user = self._user(required=True)
            body = json.loads(self._body() or b"{}")
            repo_id = f"{body.get('organization') or user.user}/{body['name']}"
            if repo_id in hub.repos:
                raise _Reply(409, {"error": "You already created this model repo", "url": f"{hub.url}/{repo_id}"})
            if not _can_write(user, repo_id):
                raise _error(403, "You don't have the rights to create a repo in this namespace")
            hub.create_repo(repo_id, private=body.get("visibility") == "private" or bool(body.get("private")))
            raise _Reply(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})

        def _validate_yaml(self):
            body = json.loads(self._body() or b"{}")
            content = body.get("content", "")
            errors = []
            if content.startswith("---"):
                end = content.find("\n---", 3)
                try:
                    meta = yaml.safe_load(content[3:end] if end > 0 else "")
                    if meta is not None and not isinstance(meta, dict):
                        errors.append({"message": "metadata must be a YAML mapping"})
                except yaml.YAMLError as err:
                    errors.append({"message": f"invalid YAML: {err}"})
            raise _Reply(400 if errors else 200, {"errors": errors, "warnings": []})

        def _model_info(self, repo_id: str, rev: str):
            repo = self._repo(repo_id)
            commit = self._commit_at(repo, rev)
            raise _Reply(200, {"id": repo_id, "sha": commit.oid, "private": repo.private, "gated": repo.gated,
                               "siblings": [{"rfilename": p} for p in sorted(commit.files)]})

        def _refs(self, repo_id: str, query: dict):
            repo = self._repo(repo_id)

            def ref(name: str, full: str) -> dict:
                return {"name": name, "ref": full, "targetCommit": repo.branches[full if full.startswith("refs/pr/") else name]}

            out = {"branches": [ref(b, f"refs/heads/{b}") for b in sorted(repo.branches) if not b.startswith("refs/")],
                   "converts": [], "tags": []}
            if query.get("include_prs", ["0"])[0] == "1":
                out["pullRequests"] = [ref(p.removeprefix("refs/pr/"), p) for p in repo.prs]
            raise _Reply(200, out)

        def _entry(self, path: str, blob: Blob) -> dict:
            out = {"type": "file", "path": path, "size": blob.size, "oid": blob.oid}
            if blob.lfs_sha256:
                out["lfs"] = {"oid": blob.lfs_sha256, "size": blob.size, "pointerSize": len(blob.pointer)}
            return out

        def _tree(self, repo_id: str, rev: str, prefix: str, query: dict):
            repo = self._repo(repo_id)
            commit = self._commit_at(repo, rev)
            recursive = query.get("recursive", ["False"])[0].lower() == "true"
            entries, dirs = [], set()
            for p in sorted(commit.files):
                if prefix and not p.startswith(prefix + "/"):
                    continue
                rest = p[len(prefix) + 1:] if prefix else p
                parts = rest.split("/")
                for i in range(1, len(parts)):
                    d = "/".join(([prefix] if prefix else []) + parts[:i])
                    if (recursive or i == 1) and d not in dirs:
                        dirs.add(d)
                        entries.append({"type": "directory", "path": d, "oid": git_blob_id(d.encode())})
                if recursive or len(parts) == 1:
                    entries.append(self._entry(p, commit.files[p]))
            if prefix and not entries:
                raise _error(404, f"{prefix} does not exist", "EntryNotFound")
            raise _Reply(200, entries)

        def _paths_info(self, repo_id: str, rev: str):
            repo = self._repo(repo_id)
            commit = self._commit_at(repo, rev)
            form = parse_qs(self._body().decode())
            out = [self._entry(p, commit.files[p]) for p in form.get("paths", []) if p in commit.files]
            raise _Reply(200, out)

        def _preupload(self, repo_id: str, rev: str, query: dict):
            repo = self._repo(repo_id, write=True)
            commit = self._commit_at(repo, rev)
            body = json.loads(self._body())
            files = []
            for f in body["files"]:
                sample = base64.b64decode(f.get("sample", ""))
                lfs = _is_lfs(f["path"], f["size"], sample)
                existing = commit.files.get(f["path"])
                oid = None
                if existing is not None:
                    oid = existing.lfs_sha256 if existing.lfs_sha256 else existing.oid
                files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular",
                              "shouldIgnore": False, "oid": oid})
            raise _Reply(200, {"files": files, "commitOid": commit.oid})

        def _lfs_batch(self, repo_id: str):
            self._repo(repo_id, write=True)
            body = json.loads(self._body())
            objects = []
            for o in body["objects"]:
                entry = {"oid": o["oid"], "size": o["size"], "authenticated": True}
                if o["oid"] not in hub.lfs:
                    entry["actions"] = {
                        "upload": {"href": f"{hub.url}/_lfs/upload/{o['oid']}"},
                        "verify": {"href": f"{hub.url}/_lfs/verify"},
                    }
                objects.append(entry)
            raise _Reply(200, {"transfer": "basic", "objects": objects})

        def _lfs_put(self, oid: str):
            data = self._body()
            hub.bytes_uploaded += len(data)
            if hashlib.sha256(data).hexdigest() != oid:
                raise _error(400, "uploaded content does not match its sha256")
            hub.lfs[oid] = data
            raise _Reply(200, None, {"ETag": f'"{oid}"'})

        def _commit(self, repo_id: str, rev: str, query: dict):
            repo = self._repo(repo_id, write=True)
            base = self._commit_at(repo, rev)
            lines = [json.loads(line) for line in self._body().splitlines() if line.strip()]
            header = next((x["value"] for x in lines if x["key"] == "header"), {})
            parent = header.get("parentCommit")
            create_pr = query.get("create_pr", ["0"])[0] == "1"
            # The Hub (huggingface_hub create_commit docs): with create_pr, parent_commit is the base of the
            # pull request; without, the commit fails (412) unless the branch still points at parent_commit.
            if parent and create_pr:
                match = [oid for oid in repo.commits if oid.startswith(parent)]
                if len(match) != 1:
                    raise _error(404, f"Invalid rev id: {parent}", "RevisionNotFound")
                base = repo.commits[match[0]]
            elif parent and not base.oid.startswith(parent):
                raise _error(412, "A commit has happened since. Please refresh and try again.")
            files = dict(base.files)
            for item in lines:
                key, value = item["key"], item["value"]
                if key == "file":
                    data = base64.b64decode(value["content"])
                    files[value["path"]] = Blob(len(data), content=data)
                elif key == "lfsFile":
                    if value["oid"] not in hub.lfs:
                        raise _error(422, f"LFS object {value['oid']} for {value['path']} was never uploaded")
                    files[value["path"]] = Blob(len(hub.lfs[value["oid"]]), lfs_sha256=value["oid"])
                elif key == "deletedFile":
                    if value["path"] not in files:
                        raise _error(404, "A file with this name doesn't exist", "EntryNotFound")
                    del files[value["path"]]
                elif key == "deletedFolder":
                    for p in [p for p in files if p.startswith(value["path"].rstrip("/") + "/")]:
                        del files[p]
            if create_pr:
                n = len(repo.prs) + 1
                branch = f"refs/pr/{n}"
                commit = hub._new_commit(repo, branch, files, header.get("summary", ""), base.oid)
                repo.prs.append(branch)
                raise _Reply(200, {"commitOid": commit.oid, "commitUrl": f"{hub.url}/{repo_id}/commit/{commit.oid}",
                                   "pullRequestUrl": f"{hub.url}/{repo_id}/discussions/{n}"})
            commit = hub._new_commit(repo, unquote(rev), files, header.get("summary", ""), base.oid)
            raise _Reply(200, {"commitOid": commit.oid, "commitUrl": f"{hub.url}/{repo_id}/commit/{commit.oid}",
                               "pullRequestUrl": None})

        def _resolve(self, repo_id: str, rev: str, path: str):
            repo = self._repo(repo_id)
            commit = self._commit_at(repo, rev)
            self._file = path
            blob = commit.files.get(path)
            if blob is None:
                raise _error(404, "Entry not found", "EntryNotFound")
            headers = {"X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes",
                       "ETag": f'"{blob.lfs_sha256 or blob.oid}"'}
            if blob.lfs_sha256:
                # The Hub: an LFS file resolves to a 302 onto its CDN; the metadata rides on the redirect.
                headers["X-Linked-Etag"] = f'"{blob.lfs_sha256}"'
                headers["X-Linked-Size"] = str(blob.size)
                headers["Location"] = hub.cdn_url(blob.lfs_sha256, path)
                raise _Reply(302, None, headers)
            self._ranged(blob.content, headers, path)

        def _cdn(self, sha256: str, query: dict):
            path = query.get("path", [""])[0]
            self._file = path or None
            if self.headers.get("Authorization"):
                # S3 behind the Hub's CDN: a signed URL is the only credential a request may carry.
                raise _error(400, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                                  "Signature query string parameter or the Authorization header should be specified")
            epoch = query.get("epoch", ["-1"])[0]
            want = hmac.new(hub._cdn_key, f"{sha256}/{epoch}".encode(), "sha256").hexdigest()[:32]
            if not hmac.compare_digest(query.get("sig", [""])[0], want):
                raise _error(403, "AccessDenied: signature does not match")
            if epoch != str(hub.cdn_epoch):
                raise _error(403, "AccessDenied: Request has expired")
            data = hub.lfs.get(sha256)
            if data is None:
                raise _error(404, "NoSuchKey")
            self._ranged(data, {"Accept-Ranges": "bytes", "ETag": f'"{sha256}"'}, path)

        def _ollama_manifest(self, repo_id: str, tag: str):
            from standins.hub_registry import MANIFEST_TYPE, RegistryError, build_manifest

            try:
                body = build_manifest(hub, repo_id, tag)
            except RegistryError as err:
                raise _Reply(err.status, {"error": err.message}) from None
            raise _Reply(200, body, {"Docker-Content-Digest": "sha256:" + hashlib.sha256(body).hexdigest(),
                                     "X-Manifest-Type": MANIFEST_TYPE})

        def _ollama_blob(self, digest: str):
            data = hub.registry_blobs.get(digest)
            if data is None:
                raise _error(404, "Blob not found")
            if self.command == "HEAD":
                raise _Reply(200, data)
            host = f"localhost:{hub.server.server_address[1]}"   # another host name, as the Hub's CDN
            raise _Reply(307, None, {"Location": f"http://{host}/standin-cdn/{digest[len('sha256:'):]}"})

        def _ranged(self, data: bytes, headers: dict, path: str):
            status, body = 200, data
            rng = self.headers.get("Range")
            if rng and not hub.ignore_ranges:
                m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
                if not m or (not m.group(1) and not m.group(2)):
                    raise _error(416, "bad range")
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), len(data) - 1) if m.group(2) else len(data) - 1
                else:
                    start, end = max(0, len(data) - int(m.group(2))), len(data) - 1
                if start >= len(data) or start > end:
                    raise _Reply(416, None, {"Content-Range": f"bytes */{len(data)}"})
                status, body = 206, data[start:end + 1]
                headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            if self.command == "GET":
                hub.bytes_served[path] = hub.bytes_served.get(path, 0) + len(body)
            raise _Reply(status, body, headers)

    return Handler


def _can_write(user: Token | None, repo_id: str) -> bool:
    if user is None or not user.write:
        return False
    namespace = repo_id.split("/")[0]
    return namespace == user.user or namespace in user.orgs


# -- the tokens the `hub` fixture (tests/conftest.py) gives its three users ----------------------
# huggingface_hub reads HF_ENDPOINT once, at import; publish reads it per call and passes it to HfApi
# explicitly, so the fixture setting the variable is enough. HF_HUB_DISABLE_XET=1 is set in
# conftest.py before anything imports huggingface_hub, so uploads take the LFS path served here.

WRITE_TOKEN = "hf_standinWRITE" + secrets.token_hex(12)   # unique strings, so a leak is greppable
READ_TOKEN = "hf_standinREAD" + secrets.token_hex(12)
CAROL_TOKEN = "hf_standinCAROL" + secrets.token_hex(12)

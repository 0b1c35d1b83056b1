"""sha256 of many large files, in parallel, remembered between runs.

hashlib releases the GIL while it digests a large buffer, so plain threads hash several files at
once; 8 MiB reads keep the per-call overhead negligible. The cache maps an absolute path to its
(size, mtime_ns, inode) and digest: if any of the three changed, the file is hashed again.
The cache lives in the user cache folder (never inside the staged folder, so it is never pushed)
and is replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from publish.errors import UsageError
from publish.fsutil import atomic_write_text

READ_SIZE = 8 * 1024 * 1024
CACHE_ENV = "PUBLISH_HASH_CACHE"   # full path of the cache file; overrides the default location
MAX_ENTRIES = 20_000


def default_cache_path() -> Path:
    """Where the hash cache lives: $PUBLISH_HASH_CACHE when set, else $XDG_CACHE_HOME (default
    ~/.cache)/publish/hashes.json; never inside a staged folder."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "publish" / "hashes.json"


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


@dataclass
class HashStats:
    """What the last hash_files call did: the numbers a re-run is judged by."""
    files_hashed: int = 0
    bytes_hashed: int = 0
    cache_hits: int = 0


class HashCache:
    """sha256 digests keyed by (absolute path, size, mtime_ns, inode)."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_cache_path()
        self._entries: dict[str, dict] | None = None
        self._dirty = False
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict]:
        if self._entries is None:
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._entries = data.get("files", {}) if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._entries = {}  # a missing or damaged cache only costs a re-hash
        return self._entries

    def get(self, path: Path, st: os.stat_result) -> str | None:
        """The cached sha256 (64 hex digits) of `path` when its size, mtime_ns and inode still equal
        `st`'s, else None. Thread-safe; a missing or damaged cache file reads as empty."""
        with self._lock:
            entry = self._load().get(str(path))
        if entry and entry.get("key") == _stat_key(st):
            return entry.get("sha256")
        return None

    def put(self, path: Path, st: os.stat_result, sha256: str) -> None:
        """Remember `sha256` for `path` as of `st` (size, mtime_ns, inode); written by `save`.
        Thread-safe."""
        with self._lock:
            self._load()[str(path)] = {"key": _stat_key(st), "sha256": sha256}
            self._dirty = True

    def save(self) -> None:
        """Write the cache atomically when it changed, keeping the newest 10,000 entries when it
        holds more than 20,000. A cache folder that cannot be written is ignored (a push never
        fails for it)."""
        with self._lock:
            if not self._dirty or self._entries is None:
                return
            entries = self._entries
            if len(entries) > MAX_ENTRIES:  # keep the newest half; insertion order is age
                entries = dict(list(entries.items())[-MAX_ENTRIES // 2:])
                self._entries = entries
            try:
                atomic_write_text(self.path, json.dumps({"version": 1, "files": entries}, sort_keys=True))
            except OSError:
                return  # a read-only cache folder must not fail a push
            self._dirty = False


def sha256_file(path: str | os.PathLike, progress=None) -> str:
    """The sha256 of a file's bytes as 64 hex digits, read in 8 MiB pieces (hashlib releases the
    GIL, so threads hash files in parallel); `progress.update(n)` is called with each piece's
    size in bytes. Raises OSError."""
    h = hashlib.sha256()
    buf = bytearray(READ_SIZE)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while True:
            n = fh.readinto(buf)
            if not n:
                break
            h.update(view[:n])
            if progress is not None:
                progress.update(n)
    return h.hexdigest()


def git_blob_sha1(path: str | os.PathLike) -> str:
    """The git object id of a file stored as a regular (non-LFS) blob: sha1("blob {size}\\0" + content)."""
    size = os.path.getsize(path)
    h = hashlib.sha1(f"blob {size}\0".encode())
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class HashJob:
    """One file to hash: `key` the path as given, `path` absolute, its `stat` when listed, and the
    `sha256` found (None until hashed)."""
    key: Path            # the path as the caller gave it
    path: Path           # absolute
    stat: os.stat_result
    sha256: str | None = None


def hash_files(paths: list[Path], *, cache: HashCache | None = None, workers: int | None = None,
               stats: HashStats | None = None) -> dict[Path, str]:
    """sha256 of every file, from the cache when (size, mtime_ns, inode) still match.

    Files not in the cache are hashed in parallel threads with one byte progress bar on stderr
    (publish.progress: a person at a terminal only). A file that changes while it is hashed is
    an error (the build is probably still writing it); raises UsageError then.
    """
    from publish.progress import bar

    stats = stats if stats is not None else HashStats()
    result: dict[Path, str] = {}
    todo: list[HashJob] = []
    for p in paths:
        ap = Path(os.path.abspath(p))
        st = os.stat(ap)
        cached = cache.get(ap, st) if cache is not None else None
        if cached:
            result[p] = cached
            stats.cache_hits += 1
        else:
            todo.append(HashJob(p, ap, st))
    if todo:
        total = sum(j.stat.st_size for j in todo)
        n_workers = max(1, min(len(todo), workers or os.cpu_count() or 2))
        with bar(total, f"sha256 of {len(todo)} file(s)") as progress:
            lock = threading.Lock()

            class _Progress:
                def update(self, n: int) -> None:
                    with lock:
                        progress.update(n)

            def run(job: HashJob) -> HashJob:
                job.sha256 = sha256_file(job.path, _Progress())
                return job

            with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="publish-sha256") as pool:
                done = list(pool.map(run, todo))
        for job in done:
            after = os.stat(job.path)
            if _stat_key(after) != _stat_key(job.stat):
                raise UsageError(f"{job.path}: changed while it was being hashed",
                                 hint="wait for whatever writes it (a build?) to finish, then run again")
            result[job.key] = job.sha256  # type: ignore[assignment]
            stats.files_hashed += 1
            stats.bytes_hashed += job.stat.st_size
            if cache is not None:
                cache.put(job.path, job.stat, job.sha256)  # type: ignore[arg-type]
        if cache is not None:
            cache.save()
    return result

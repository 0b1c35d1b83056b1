"""Read GGUF headers of files already on the Hub: `hf://ORG/NAME[@REV]/path/file.gguf`.

A header read takes few HTTP requests and few bytes beyond the header (the 6.2 MiB header of a
262,144-token vocabulary: at most 4 requests and header + 1 MiB, 3 requests for Gemma 3 270M;
measured against the loopback Hub stand-in, see docs/push.md):

1. One ranged GET of the first `FIRST_RANGE` bytes to the file's resolve URL (`hf_hub_url`),
   through huggingface_hub's HTTP session and retries (`http_stream_backoff`: its auth headers,
   timeouts, 429/5xx backoff). The Hub answers a file stored with LFS/Xet with a redirect to its
   CDN, which the session follows (2 requests). No HEAD: the answer's `Content-Range` gives the
   file size, the Hub's `X-Repo-Commit` the commit, and its errors are huggingface_hub's typed
   ones (gated, not found, revision not found), mapped by `publish.hub.client.hub_error`.
2. Later ranges go straight to the URL the first one ended at, without the Authorization header
   when that is another host (as huggingface_hub's own downloads do for a CDN; the CDN's URL is
   signed), or, for a file the Hub serves itself, to the resolve URL pinned to that commit. Every
   byte comes from one revision. A CDN URL that has expired is resolved again once.
3. The size of each later range comes from the header read so far (publish.hub.header_extent:
   the key/value count, the vocabulary's item count and mean item size, the tensor count), not
   from blind doubling; the last range also covers the reader's read-ahead
   (publish.gguf.reader.GROW_LIMIT), so the reader's final refill costs no request.

Why not HfFileSystem: opening a file there costs a repo_info and a tree listing, turns gated /
missing-revision errors into a bare FileNotFoundError, and its instances (with their listing
caches) are kept per thread for the life of the process.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections import OrderedDict
from typing import BinaryIO, Callable, Iterator
from urllib.parse import urlsplit

from publish.addresses import parse_hub_file_url
from publish.errors import HubError, UsageError
from publish.hub.header_extent import HeaderExtent

MiB = 1024 * 1024
FIRST_RANGE = MiB             # the first GET: the whole header of most small models
OVER_BUDGET = MiB             # the last range may reach this far past the estimated header end
MAX_PREFIX = 256 * MiB        # the cached run of bytes from offset 0 (the reader's MAX_HEADER)
MAX_PLANNED = 32 * MiB        # a planned range reaches at most this far beyond what a read asked for
SIDE_CACHE_BYTES = 16 * MiB   # reads away from the header (a seek to the tail) kept for re-reads

Fetch = Callable[[int, int], bytes]


def _reader_read_ahead() -> int:
    """How far past what it needs the GGUF reader asks for in one refill (its own bound)."""
    from publish.gguf.reader import GROW_LIMIT

    return GROW_LIMIT


class HubRangeFile(io.RawIOBase):
    """A read-only, seekable view of one remote file, fetched by range requests on demand.

    `fetch(start, end)` returns the bytes [start, end) (one request); `first` holds the bytes
    [0, len(first)) already fetched and `size` the file size. Bytes from offset 0 are kept as one
    run (the header); reads that extend it fetch as far as `plan` says the header goes. Reads
    elsewhere fetch exactly what they ask for and are kept in a small LRU. `ranges` lists the
    ranges fetched, the first included; `read_ahead` (bytes) is how far past its need the reader
    of this stream asks in one read (default: publish.gguf.reader's GROW_LIMIT)."""

    def __init__(self, fetch: Fetch, size: int, first: bytes, name: str, *, read_ahead: int | None = None):
        super().__init__()
        self.name = name
        self.size = size
        self._fetch = fetch
        self._pos = 0
        self._prefix = bytearray(first)
        self._extent = HeaderExtent()
        self._read_ahead = read_ahead      # None: the reader's, looked up when first needed
        self._side: OrderedDict[int, bytes] = OrderedDict()
        self._side_bytes = 0
        self.ranges: list[tuple[int, int]] = [(0, len(first))]   # every range fetched, in order
        self.transport: HubRanges | None = None   # set by open_hf_file: its request and byte counts

    def readable(self) -> bool:
        """Always True (io.RawIOBase protocol)."""
        return True

    def seekable(self) -> bool:
        """Always True (io.RawIOBase protocol): seeking costs no request."""
        return True

    def tell(self) -> int:
        """The current position, in bytes from the file start."""
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move to `offset` relative to `whence` (SEEK_SET, SEEK_CUR, SEEK_END: the remote size)
        without a request; returns the new position. Raises ValueError for another whence or a
        negative position."""
        if whence == os.SEEK_SET:
            pos = offset
        elif whence == os.SEEK_CUR:
            pos = self._pos + offset
        elif whence == os.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, b) -> int:
        """Fill `b` from the current position (io.RawIOBase protocol) and return the number of bytes
        (0 at the end). Bytes from offset 0 grow the kept header run as far as `plan` says the
        header goes; other reads fetch what they ask for. A failed fetch raises huggingface_hub's
        error, which `open_hf_file` turns into a HubError subclass."""
        view = memoryview(b).cast("B")
        pos = self._pos
        want = min(len(view), self.size - pos)
        if want <= 0:
            return 0
        end = pos + want
        have = len(self._prefix)
        if end > have and pos <= have and end <= MAX_PREFIX:
            target = min(self.plan(end), MAX_PREFIX)
            self._prefix += self._get(have, target)
            have = len(self._prefix)
        if end <= have:
            view[:want] = memoryview(self._prefix)[pos:end]
        else:
            view[:want] = self._side_read(pos, end)
        self._pos = end
        return want

    def plan(self, read_end: int) -> int:
        """Where the range that extends the header run should end, for a read up to `read_end`."""
        extent = self._extent.feed(self._prefix)
        if self._read_ahead is None:
            self._read_ahead = _reader_read_ahead()
        if extent.done:
            target = extent.end + self._read_ahead
        elif not extent.known:
            target = read_end
        elif extent.counted and extent.margin + self._read_ahead <= OVER_BUDGET - 64 * 1024:
            # The last range: the estimate, its margin, and the reader's final refill.
            target = extent.end + extent.margin + self._read_ahead
        else:
            target = extent.end      # most of the header, so that the next estimate is a close one
        return min(self.size, max(read_end, min(target, read_end + MAX_PLANNED)))

    def _get(self, start: int, end: int) -> bytes:
        data = self._fetch(start, end)
        self.ranges.append((start, end))
        return data

    def _side_read(self, pos: int, end: int) -> bytes:
        for start, data in self._side.items():
            if start <= pos and end <= start + len(data):
                self._side.move_to_end(start)
                return data[pos - start:end - start]
        data = self._get(pos, end)
        if len(data) <= SIDE_CACHE_BYTES:
            self._side[pos] = data
            self._side_bytes += len(data)
            while self._side_bytes > SIDE_CACHE_BYTES:
                _, old = self._side.popitem(last=False)
                self._side_bytes -= len(old)
        return data


_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+)")


class HubRanges:
    """Ranged GETs of one file on the Hub through huggingface_hub's session (see the module doc).

    `first(n)` fetches [0, n) through the resolve URL and learns the file size, the commit and
    where later ranges go; `get(start, end)` fetches later ranges there. `requests` counts HTTP
    requests (a followed redirect is one more), `bytes_fetched` body bytes received."""

    def __init__(self, resolve_url: str, headers: dict[str, str], name: str, *,
                 repo_id: str, path: str, endpoint: str):
        self.resolve_url = resolve_url
        self.name = name
        self._headers = headers
        self._repo_id, self._path, self._endpoint = repo_id, path, endpoint
        self.url = resolve_url               # where later ranges go
        self.url_headers = headers
        self.redirected = False              # later ranges go to a URL a redirect gave (the CDN's)
        self.size: int | None = None
        self.commit: str | None = None
        self.requests = 0
        self.bytes_fetched = 0

    def first(self, n: int) -> bytes:
        """The bytes [0, n) through the resolve URL (one ranged GET, plus the redirect to the CDN
        for an LFS file); learns the size, the commit and where later ranges go. Raises
        huggingface_hub's HfHubHTTPError subclasses (the caller maps them with hub_error)."""
        data, response = self._request(self.resolve_url, self._headers, 0, n, first=True)
        self._follow(response)
        return data

    def get(self, start: int, end: int) -> bytes:
        """The bytes [start, end) from where `first` was answered from (the CDN's signed URL without
        the token, or the resolve URL pinned to the commit); an expired signed URL (401/403/410)
        is resolved again once. Raises HfHubHTTPError subclasses."""
        from huggingface_hub.errors import HfHubHTTPError

        try:
            data, _ = self._request(self.url, self.url_headers, start, end)
        except HfHubHTTPError as err:
            status = getattr(err.response, "status_code", None)
            if not self.redirected or status not in (401, 403, 410):
                raise
            # A signed CDN URL has a lifetime: resolve again (pinned to the commit) and go on from there.
            pinned = self._pinned()
            data, response = self._request(pinned, self._headers, start, end)
            self._follow(response)
        return data

    def _pinned(self) -> str:
        from huggingface_hub import hf_hub_url

        if not self.commit:
            return self.resolve_url
        return hf_hub_url(self._repo_id, self._path, revision=self.commit, endpoint=self._endpoint)

    def _follow(self, response) -> None:  # noqa: ANN001 - an httpx2 response
        """Later ranges go where this answer came from; the commit pins a file the Hub served itself."""
        for r in (*response.history, response):
            self.commit = r.headers.get("X-Repo-Commit") or self.commit
        final = str(response.url)
        self.redirected = bool(response.history)
        if not response.history:
            self.url, self.url_headers = self._pinned(), self._headers
        elif _origin(final) != _origin(self.resolve_url):
            # Another host (the CDN, a signed URL): the Hub token stays with the Hub.
            self.url = final
            self.url_headers = {k: v for k, v in self._headers.items() if k.lower() != "authorization"}
        else:
            self.url, self.url_headers = final, self._headers

    def _request(self, url: str, headers: dict[str, str], start: int, end: int, *, first: bool = False):
        from huggingface_hub.utils import hf_raise_for_status, http_stream_backoff

        want = end - start
        range_headers = {**headers, "Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
        with http_stream_backoff("GET", url, headers=range_headers) as response:
            self.requests += 1 + len(response.history)
            status = response.status_code
            rng = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
            if status == 416 and first and rng and rng.group(3) == "0":
                self.size = 0                         # an empty file: no byte range exists
                return b"", response
            if status >= 400:
                response.read()
                hf_raise_for_status(response)
            if status == 206 and rng and rng.group(1):
                if int(rng.group(1)) != start:
                    raise HubError(f"{self.name}: asked for bytes from {start}, the Hub sent them from {rng.group(1)}",
                                   hint="retry; the file may have been replaced meanwhile")
                total = int(rng.group(3))
                want = min(want, total - start)
            elif status == 200 and start == 0:
                total = int(response.headers.get("Content-Length", "-1"))
                if total < 0 or total > want:
                    raise HubError(f"{self.name}: the server ignored the byte range (HTTP 200)",
                                   hint="this endpoint cannot serve partial reads; download the file instead")
                want = total
            else:
                raise HubError(f"{self.name}: expected a byte range (HTTP 206 with Content-Range), "
                               f"got HTTP {status}", hint="retry later")
            if self.size is None:
                self.size = total
            elif total != self.size:
                raise HubError(f"{self.name}: the file changed size while being read ({self.size} -> {total} bytes)",
                               hint="retry; the file was replaced meanwhile")
            out = bytearray()
            for chunk in response.iter_bytes():
                out += chunk
                if len(out) >= want:
                    break
        self.bytes_fetched += len(out)
        if len(out) < want:
            raise HubError(f"{self.name}: the Hub sent {len(out)} of {want} bytes at offset {start}",
                           hint="retry; the file may have been replaced meanwhile")
        return bytes(out[:want]), response


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _token_and_headers():
    from huggingface_hub.utils import build_hf_headers

    from publish import __version__
    from publish.hub.client import get_token

    token = get_token()
    return token, build_hf_headers(token=token or False, library_name="publish", library_version=__version__)


@contextlib.contextmanager
def open_hf_file(url: str) -> Iterator[HubRangeFile]:
    """Yield a seekable binary stream over `hf://ORG/NAME[@REV]/path` (see the module doc for the
    requests it makes). Raises UsageError for a URL naming no file, HubError (HubNotFound,
    HubGated, HubAuthError, ...) for what the Hub refuses, at open or at a later read.
    A person at a terminal sees the bytes fetched on a bar on stderr (publish.progress)."""
    from huggingface_hub import hf_hub_url

    from publish.hub.client import configure_http, endpoint, hub_errors
    from publish.progress import bar

    configure_http()
    u = parse_hub_file_url(url)
    if not u.path:
        raise UsageError(f"{url}: names a repo, not a file", hint="add the file: hf://ORG/NAME/FILE.gguf")
    ep = endpoint()
    _, headers = _token_and_headers()
    ranges = HubRanges(hf_hub_url(u.repo_id, u.path, revision=u.revision, endpoint=ep), headers, url,
                       repo_id=u.repo_id, path=u.path, endpoint=ep)
    with hub_errors(repo_id=u.repo_id, revision=u.revision, action=f"read {url}", read_only=True):
        first = ranges.first(FIRST_RANGE)
    reading = bar(None, f"read {url}", initial=len(first))   # bytes fetched; the header's size is unknown

    def fetch(start: int, end: int) -> bytes:
        data = ranges.get(start, end)
        reading.update(len(data))
        return data

    # No BufferedReader on top: its read-ahead would fetch bytes the reader never asked for.
    stream = HubRangeFile(fetch, ranges.size or 0, first, url)
    stream.transport = ranges
    try:
        with hub_errors(repo_id=u.repo_id, revision=u.revision, action=f"read {url}", read_only=True):  # a range read mid-parse
            yield stream
    finally:
        stream.close()
        reading.close()


def read_hub_file(url: str, *, max_bytes: int) -> bytes:
    """The bytes of the small file `hf://ORG/NAME[@REV]/PATH` (a repo's `template`, `params`):
    at most `max_bytes` + 1 of them (more than `max_bytes` means the file is larger), fetched by
    `open_hf_file` (one ranged GET for a file under FIRST_RANGE bytes; no cache written, unlike
    hf_hub_download). Raises UsageError for a URL naming no file, HubError subclasses for what
    the Hub refuses (HubEntryNotFound for a missing file)."""
    with open_hf_file(url) as fh:
        return fh.read(max_bytes + 1)


def list_gguf_urls(repo_url: str) -> list[str]:
    """`hf://ORG/NAME[@REV][/FOLDER]` -> the hf:// URL of every .gguf in it, sorted. Raises
    UsageError when there is none, HubError subclasses when the Hub refuses the listing."""
    u = parse_hub_file_url(repo_url)
    paths = list_gguf_paths(u.repo_id, revision=u.revision, folder=u.path, shown=repo_url)
    return [u.with_path(p) for p in paths]


def list_gguf_paths(repo_id: str, *, revision: str | None = None, folder: str = "", shown: str,
                    hint: str = "check the repo id and --revision") -> list[str]:
    """The repo path of every .gguf file in `repo_id` (under `folder`, recursively), sorted, listed
    with huggingface_hub's HfApi.list_repo_tree. `shown` is how messages name the repo. Raises
    UsageError when there is none, HubError subclasses (not found, gated, ...) when the Hub
    refuses the listing; `hint` goes with the UsageError."""
    paths = [p for p, _ in list_repo_files(repo_id, revision=revision, folder=folder, shown=shown)
             if p.lower().endswith(".gguf")]
    if not paths:
        raise UsageError(f"{shown}: no .gguf files in this repo", hint=hint)
    return paths


def list_repo_files(repo_id: str, *, revision: str | None = None, folder: str = "",
                    shown: str) -> list[tuple[str, int]]:
    """(repo path, size in bytes) of every file in `repo_id` (under `folder`, recursively; folders
    themselves left out), sorted by path: one HfApi.list_repo_tree listing (paginated by
    huggingface_hub). `shown` is how messages name the repo. Raises HubError subclasses (not
    found, gated, bad token, ...) when the Hub refuses the listing."""
    from huggingface_hub import RepoFile

    from publish.hub.client import get_token, hub_errors, make_api

    api = make_api(get_token())
    with hub_errors(repo_id=repo_id, revision=revision, action=f"list {shown}", read_only=True):
        entries = list(api.list_repo_tree(repo_id, path_in_repo=folder or None, recursive=True,
                                          revision=revision))
    return sorted((e.path, e.size) for e in entries if isinstance(e, RepoFile))

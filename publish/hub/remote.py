"""Read GGUF headers of files already on the Hub: `hf://ORG/NAME[@REV]/path/file.gguf`.

Why not HfFileSystem: opening a file there costs a repo_info and a tree listing, turns gated /
missing-revision errors into a bare FileNotFoundError, and its instances (with their listing
caches) are kept per thread for the life of the process. We need one HEAD and a few range reads:
`get_hf_file_metadata` (size, the commit the branch points at, the Hub's error classes) and then
ranged GETs through huggingface_hub's `http_stream_backoff` (its session, auth headers, redirects
and 429/5xx retries) on a URL pinned to that commit, so every byte comes from one revision.

The stream keeps fetched 256 KiB blocks in a bounded LRU, so a reader that seeks back re-reads
nothing, and bytes fetched stay within what the reader asked for plus one block.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections import OrderedDict
from typing import BinaryIO, Iterator

from publish.addresses import parse_hub_file_url
from publish.errors import UsageError

BLOCK_SIZE = 256 * 1024
MAX_CACHED_BYTES = 64 * 1024 * 1024
MAX_RUN_BYTES = 16 * 1024 * 1024   # one GET fetches at most this many consecutive missing bytes


class HubRangeFile(io.RawIOBase):
    """A read-only, seekable view of one Hub file, fetched by HTTP range requests on demand."""

    def __init__(self, url: str, size: int, headers: dict[str, str], name: str):
        super().__init__()
        self.url = url
        self.size = size
        self.name = name
        self._headers = headers
        self._pos = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._cached = 0
        self.bytes_fetched = 0
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
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
        view = memoryview(b).cast("B")
        want = min(len(view), self.size - self._pos)
        if want <= 0:
            return 0
        done = 0
        while done < want:
            pos = self._pos + done
            index = pos // BLOCK_SIZE
            block = self._blocks.get(index)
            if block is None:
                self._fetch_run(index, self._pos + want)
                block = self._blocks[index]
            else:
                self._blocks.move_to_end(index)
            start = pos - index * BLOCK_SIZE
            n = min(len(block) - start, want - done)
            view[done:done + n] = block[start:start + n]
            done += n
        self._pos += done
        return done

    def _fetch_run(self, first: int, until: int) -> None:
        """Fetch block `first` and the missing blocks after it that the current read needs."""
        last = first
        limit = min(-(-until // BLOCK_SIZE), first + MAX_RUN_BYTES // BLOCK_SIZE)
        while last + 1 < limit and (last + 1) not in self._blocks:
            last += 1
        start = first * BLOCK_SIZE
        end = min((last + 1) * BLOCK_SIZE, self.size)
        data = self._get(start, end)
        for i in range(first, last + 1):
            chunk = data[(i - first) * BLOCK_SIZE:(i - first + 1) * BLOCK_SIZE]
            self._blocks[i] = chunk
            self._cached += len(chunk)
        while self._cached > MAX_CACHED_BYTES and len(self._blocks) > last - first + 1:
            _, old = self._blocks.popitem(last=False)
            self._cached -= len(old)

    def _get(self, start: int, end: int) -> bytes:
        from huggingface_hub.utils import hf_raise_for_status, http_stream_backoff

        from publish.errors import HubError

        headers = {**self._headers, "Range": f"bytes={start}-{end - 1}", "Accept-Encoding": "identity"}
        self.requests += 1
        with http_stream_backoff("GET", self.url, headers=headers) as response:
            hf_raise_for_status(response)
            if response.status_code != 206 and not (start == 0 and end == self.size):
                raise HubError(f"{self.name}: the server ignored the byte range (HTTP {response.status_code})",
                               hint="this endpoint cannot serve partial reads; download the file instead")
            out = bytearray()
            for chunk in response.iter_bytes():
                out += chunk
                if len(out) >= end - start:
                    break
        self.bytes_fetched += len(out)
        if len(out) < end - start:
            raise HubError(f"{self.name}: the Hub sent {len(out)} of {end - start} bytes at offset {start}",
                           hint="retry; the file may have been replaced meanwhile")
        return bytes(out[: end - start])


def _token_and_headers():
    from huggingface_hub.utils import build_hf_headers

    from publish import __version__
    from publish.hub.client import get_token

    token = get_token()
    return token, build_hf_headers(token=token or False, library_name="publish", library_version=__version__)


@contextlib.contextmanager
def open_hf_file(url: str) -> Iterator[BinaryIO]:
    """Yield a seekable binary stream over `hf://ORG/NAME[@REV]/path`. Raises HubError / UsageError."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    from publish.hub.client import configure_http, endpoint, hub_error, is_hub_failure

    configure_http()
    u = parse_hub_file_url(url)
    if not u.path:
        raise UsageError(f"{url}: names a repo, not a file", hint="add the file: hf://ORG/NAME/FILE.gguf")
    ep = endpoint()
    token, headers = _token_and_headers()
    try:
        meta = get_hf_file_metadata(hf_hub_url(u.repo_id, u.path, revision=u.revision, endpoint=ep),
                                    token=token or False, endpoint=ep, retry_on_errors=True)
    except Exception as err:  # noqa: BLE001
        if is_hub_failure(err):
            raise hub_error(err, repo_id=u.repo_id, revision=u.revision, action=f"read {url}") from None
        raise
    if meta.size is None:
        from publish.errors import HubError

        raise HubError(f"{url}: the Hub did not say how large the file is", hint="retry later")
    pinned = hf_hub_url(u.repo_id, u.path, revision=meta.commit_hash or u.revision, endpoint=ep)
    # No BufferedReader on top: its read-ahead would fetch bytes the reader never asked for.
    stream = HubRangeFile(pinned, meta.size, headers, url)
    try:
        yield stream
    except Exception as err:  # noqa: BLE001 - a range read failed mid-parse
        if is_hub_failure(err):
            raise hub_error(err, repo_id=u.repo_id, revision=u.revision, action=f"read {url}") from None
        raise
    finally:
        stream.close()


def list_gguf_urls(repo_url: str) -> list[str]:
    """`hf://ORG/NAME[@REV][/FOLDER]` -> the hf:// URL of every .gguf in it, sorted."""
    from huggingface_hub import RepoFile

    from publish.hub.client import get_token, hub_error, is_hub_failure, make_api

    u = parse_hub_file_url(repo_url)
    api = make_api(get_token())
    try:
        entries = list(api.list_repo_tree(u.repo_id, path_in_repo=u.path or None, recursive=True,
                                          revision=u.revision))
    except Exception as err:  # noqa: BLE001
        if is_hub_failure(err):
            raise hub_error(err, repo_id=u.repo_id, revision=u.revision, action=f"list {repo_url}") from None
        raise
    paths = sorted(e.path for e in entries if isinstance(e, RepoFile) and e.path.lower().endswith(".gguf"))
    if not paths:
        raise UsageError(f"{repo_url}: no .gguf files in this repo", hint="check the repo id and --revision")
    return [u.with_path(p) for p in paths]

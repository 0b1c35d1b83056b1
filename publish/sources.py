"""Where a GGUF comes from: a local path or `hf://ORG/NAME[@REV]/FILE.gguf` on the Hub (which
an `hf.co/ORG/NAME[:TAG]` name expands to).

Commands take either; this module turns arguments into readable, seekable sources so the
GGUF reader never needs to know about the Hub.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from publish.addresses import is_hub_file_url, is_ollama_hub_name
from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import BinaryIO, ContextManager, Iterator


def is_remote(arg: str) -> bool:
    """Whether a command-line argument is a Hub file URL (`hf://ORG/NAME[@REV]/PATH`,
    publish.addresses) rather than a local path."""
    return is_hub_file_url(arg)


def open_source(name: str) -> ContextManager[BinaryIO]:
    """Open a local path or an hf:// URL for reading (the opener `publish.gguf.split` takes)."""
    return Source(name, None if is_remote(name) else Path(name)).open()


class Source(Record):
    """A GGUF to read: a local file (`local_path` set) or an `hf://` URL read over HTTP ranges;
    `display` is what messages call it; `listed`: it came from a listing of its repo (an hf://
    repo URL, an hf.co name), so a split part the listing lacks is missing. Frozen."""

    __slots__ = ("display", "local_path", "listed")
    frozen = True
    display: str             # what messages call it
    local_path: Path | None  # set for local files
    listed: bool             # a remote file found by listing its repo

    def __init__(self, display: str, local_path: Path | None, listed: bool = False):
        object.__setattr__(self, "display", display)
        object.__setattr__(self, "local_path", local_path)
        object.__setattr__(self, "listed", listed)

    @contextlib.contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """Context manager yielding a binary file object: the local file, or publish.hub.remote's
        range-reading file for an `hf://` URL (which raises HubError subclasses on Hub failures).
        Raises OSError for a local file that cannot be opened."""
        if self.local_path is not None:
            with open(self.local_path, "rb") as fh:
                yield fh
        else:
            from publish.hub import remote

            with remote.open_hf_file(self.display) as fh:
                yield fh

    def read_header(self):
        """This file's GGUF header (publish.gguf.reader.read_header). Anything wrong with the file,
        including a local file that cannot be opened, is a GGUFError naming it."""
        from publish.gguf.reader import read_header

        if self.local_path is not None:
            return read_header(self.local_path, name=self.display)
        with self.open() as fh:
            return read_header(fh, name=self.display)


def no_ggufs(args: list) -> Exception:
    """The UsageError for arguments that name no GGUF file (an empty folder, a folder of other
    files): what lint and inspect raise, with the same hint."""
    from publish.errors import UsageError

    return UsageError(f"no GGUF files in {', '.join(str(getattr(a, 'path', a)) for a in args)}",
                      hint="pass .gguf files, folders that hold them, hf://ORG/NAME/FILE.gguf or hf.co/ORG/NAME[:TAG]")


def expand(args: list[str], *, recursive: bool = False, one_per_tag: bool = False) -> list[Source]:
    """GGUF files named by `args`: files, folders (every *.gguf in it, sorted), hf:// URLs or
    Ollama names on the Hub (`hf.co/ORG/NAME[:TAG]`, publish.hub.ollama_tags).

    An hf:// URL that names a repo (no .gguf file) expands to every GGUF in the repo. An hf.co name
    expands to every file its tag answers and every listed part of a split set (what lint checks);
    with `one_per_tag`, to the one file Ollama would pull (a split set's first part), and two
    files answering the tag are a UsageError (inspect). A local path of the same spelling wins
    over an hf.co name.
    Raises UsageError for paths that do not exist, InputPathError for a path or folder that cannot
    be read (permission denied, a broken link, a FIFO: publish.fsutil.input_kind, list_folder),
    HubError subclasses when the Hub refuses.
    """
    from publish.errors import UsageError
    from publish.inputpaths import input_kind, list_folder

    out: list[Source] = []
    for arg in args:
        if is_remote(arg):
            if arg.lower().endswith(".gguf"):
                out.append(Source(arg, None))
            else:
                from publish.hub import remote

                out.extend(Source(url, None, listed=True) for url in remote.list_gguf_urls(arg))
            continue
        p = Path(arg)
        kind = input_kind(p)   # InputPathError: unreadable on the way, a broken link, a FIFO
        if is_ollama_hub_name(arg) and kind == "missing":
            from publish.hub.ollama_tags import ambiguous_error, pick_from_hub

            pick = pick_from_hub(arg)
            if one_per_tag and pick.ambiguous:
                raise ambiguous_error(pick)
            out.extend(Source(url, None, listed=True) for url in pick.urls(whole_sets=not one_per_tag))
        elif kind == "folder":
            pattern = "**/*.gguf" if recursive else "*.gguf"
            list_folder(p)   # InputPathError when it cannot be listed or entered (glob would find nothing)
            out.extend(Source(str(f), f) for f in sorted(p.glob(pattern)) if input_kind(f) == "file")
        elif kind == "file":
            out.append(Source(str(p), p))
        else:
            raise UsageError(f"{arg}: no such file or folder",
                             hint="pass a .gguf file, a folder of GGUFs, hf://ORG/NAME or hf.co/ORG/NAME[:TAG]")
    return out

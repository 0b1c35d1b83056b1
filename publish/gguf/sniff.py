"""What a file that should be a GGUF but lacks the `GGUF` magic is instead, and what to do about it.

A `*.gguf` that is not a GGUF is nearly always one of a few mistakes, each with its own remedy:

- a Git LFS pointer: the repo was cloned without Git LFS, so the file is the ~130-byte text
  `version https://git-lfs.github.com/spec/v1 / oid sha256:… / size …` (llama.cpp reports
  `invalid magic number 73726576`, "vers": abetlen/llama-cpp-python#755);
- an HTML page: the Hub's web page of the file (a `/blob/` URL fetched with wget or curl,
  ggml-org/llama.cpp#3358), a maintenance page (TabbyML/tabby#1581) or a proxy's page
  (tobi/qmd#548) saved under the model's name;
- other text: a server's error message saved as the file (`Internal Error - …`, TabbyML/tabby#1575),
  a JSON error, or a template saved under a `.gguf` name;
- an empty file, or zeros where the header belongs (a download that reserved the space and
  stopped);
- a model in llama.cpp's formats before GGUF (GGML, GGMF, GGJT: `invalid magic number 67676a74`,
  ggml-org/llama.cpp#3492), a safetensors file, or a zip archive (PyTorch checkpoints are zips).

`not_gguf` words the GGUFError the header reader raises for such a file (so `publish lint`'s GG001,
`publish inspect` and every GGUF-reading command say the same), and `require_gguf` raises it for
a file named `*.gguf` before a command that also accepts text files would read it as a template.
Standard library only, imported only when a file fails.
"""

from __future__ import annotations

import os
import re
import struct
from publish.errors import GGUFError, NotGGUFError
from publish.gguf.reader import require_regular
from publish.records import Record

HEAD_BYTES = 4096   # enough for a pointer, an HTML page's <title>/og:url, a safetensors header's start
MAGIC = b"GGUF"

LFS_POINTER = b"version https://git-lfs.github.com/spec/"
# llama.cpp's magics before GGUF, written as little-endian uint32 (llama.cpp's llama_file_version,
# removed in August 2023): 'ggml' 0x67676d6c, 'ggmf' 0x67676d66, 'ggjt' 0x67676a74, 'ggla' (LoRA)
OLD_GGML = {b"lmgg": "GGML", b"fmgg": "GGMF", b"tjgg": "GGJT", b"algg": "GGLA (a LoRA adapter)"}
DOWNLOAD_AGAIN = "download the file again (`hf download ORG/REPO FILE` checks what it fetched)"
# the hint of a GGUF whose header the reader refuses (publish.gguf.reader; lint's GG001 too)
CORRUPT = "re-download or re-convert the file; it is truncated or corrupt"


class NotGGUF(Record):
    """What a file without the GGUF magic is: `looks_like` completes "found …" ("a Git LFS pointer
    (stands for a 4,368,439,584-byte file)"), `hint` says what to do. Frozen (publish.records.Record:
    lint of a file that is no GGUF imports no dataclasses)."""

    __slots__ = ("looks_like", "hint")
    frozen = True
    looks_like: str
    hint: str

    def __init__(self, looks_like: str, hint: str):
        self._fill(looks_like, hint)


def identify(head: bytes, size: int) -> NotGGUF:
    """What the file whose first bytes are `head` (up to HEAD_BYTES of them) and whose length is
    `size` bytes is, when `head` does not start with the GGUF magic. Never raises."""
    if size == 0:
        return NotGGUF("an empty file (0 bytes)",
                       f"an interrupted download or copy leaves an empty file: {DOWNLOAD_AGAIN}")
    if head.startswith(LFS_POINTER):
        m = re.search(rb"^size (\d+)\s*$", head, re.M)
        real = f" (stands for a {int(m.group(1)):,}-byte file)" if m else ""
        return NotGGUF(f"a Git LFS pointer{real}",
                       "the repository was cloned without Git LFS: run `git lfs install && git lfs pull` in the "
                       f"clone, or {DOWNLOAD_AGAIN}")
    if size < len(MAGIC) and MAGIC.startswith(head):
        return NotGGUF(f"a file of only {size} byte(s), cut off inside the magic",
                       f"the file is truncated: {DOWNLOAD_AGAIN}")
    old = OLD_GGML.get(head[:4])
    if old is not None:
        return NotGGUF(f"a {old} model file (llama.cpp's format before GGUF, replaced in August 2023)",
                       "convert it with llama.cpp's convert_llama_ggml_to_gguf.py, or take the model's GGUF release")
    if head[:4] == b"PK\x03\x04":
        return NotGGUF("a zip archive (a PyTorch checkpoint is one)",
                       "convert the model's Hugging Face folder with llama.cpp's convert_hf_to_gguf.py")
    if _is_safetensors(head, size):
        return NotGGUF("a safetensors file",
                       "convert the model's Hugging Face folder with llama.cpp's convert_hf_to_gguf.py")
    if not head.strip(b"\0"):
        return NotGGUF(f"zero bytes where the header belongs (the first {len(head):,} bytes are 0)",
                       f"a download that reserved the space and stopped leaves this: {DOWNLOAD_AGAIN}")
    text = _text(head, size)
    if text is not None:
        start = text.lstrip("\ufeff \t\r\n")
        lower = start[:512].lower()
        if lower.startswith(("<!doctype html", "<html", "<head")) or "<html" in lower:
            page = _page_url(text)
            fix = (f"download {page.replace('/blob/', '/resolve/', 1)} (the file; /blob/ is its web page)"
                   if "/blob/" in page else f"fetch a Hub file's /resolve/ URL, not its /blob/ page, or {DOWNLOAD_AGAIN}")
            title = _title(text)
            return NotGGUF("an HTML page" + (f" ({title!r})" if title else "") + ", not the model file",
                           f"a web page was saved under the model's name: {fix}")
        kind = "JSON text" if _is_json(start) else "XML text" if lower.startswith("<?xml") else "text"
        shown = " ".join(start[:400].split())   # the start on one line: an XML error's <Code> is on its second
        shown = shown if len(shown) <= 100 else shown[:97] + "..."
        return NotGGUF(f"a {size:,}-byte {kind} file starting {shown!r}",
                       "a server's error message or another text was saved under the model's name: "
                       f"{DOWNLOAD_AGAIN}; a template or other text file must not be named *.gguf")
    return NotGGUF(f"binary data starting {head[:8].hex(' ')}", CORRUPT)


def not_gguf(path: str, head: bytes, size: int) -> NotGGUFError:
    """The NotGGUFError (a GGUFError) for `path` (as the user gave it), a file of `size` bytes starting with `head`
    that has no GGUF magic: at byte 0, "expected the magic bytes 'GGUF', found <what it is>", with
    identify()'s hint."""
    what = identify(head, size)
    return NotGGUFError(path, 0, f"expected the magic bytes 'GGUF', found {what.looks_like}", hint=what.hint)


def is_gguf(path: str | os.PathLike) -> bool:
    """Whether the file starts with the GGUF magic. Raises OSError when it cannot be read, and
    GGUFError (`require_regular`) for a FIFO, device, broken link... without opening it."""
    require_regular(path)
    with open(path, "rb") as fh:
        return fh.read(4) == MAGIC


def require_gguf(path: str | os.PathLike) -> None:
    """Raise not_gguf()'s GGUFError (exit status 2) when `path` does not start with the GGUF magic;
    for a file named `*.gguf` that a command would otherwise read as text. Raises GGUFError
    naming the file when it cannot be opened either, or is not a regular file (`require_regular`:
    a FIFO is refused without opening it)."""
    name = os.fspath(path)
    require_regular(name)
    try:
        with open(name, "rb") as fh:
            head = fh.read(HEAD_BYTES)
            size = os.fstat(fh.fileno()).st_size
    except OSError as err:
        raise GGUFError(name, 0, f"expected a readable file ({err.strerror or err})") from None
    if not head.startswith(MAGIC):
        raise not_gguf(name, head, size)


def named_gguf(path: str | os.PathLike) -> bool:
    """Whether the file name says GGUF (`*.gguf`, any case): such a file is a model, never a template."""
    return os.fspath(path).lower().endswith(".gguf")


def _is_safetensors(head: bytes, size: int) -> bool:
    # an 8-byte little-endian header length, then a JSON object (safetensors' format)
    if len(head) < 10:
        return False
    (n,) = struct.unpack_from("<Q", head)
    return 2 <= n <= size - 8 and head[8:10] in (b'{"', b"{ ", b"{}")


def _text(head: bytes, size: int) -> str | None:
    """`head` as text when it is UTF-8 (a character cut off at the end of a partial head allowed)
    without control characters other than whitespace; else None."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if size <= len(head) or err.start < len(head) - 3 or err.reason != "unexpected end of data":
            return None
        text = head[:err.start].decode("utf-8")
    if any(ord(c) < 32 and c not in "\t\r\n\f" for c in text):
        return None
    return text


def _is_json(text: str) -> bool:
    # an object or array opening (the head may be cut mid-document); a Jinja template opens with {{ {% {#
    return re.match(r'[\[{]\s*["\[{\]}]', text) is not None and not text.startswith(("{{", "{%", "{#"))


def _title(text: str) -> str:
    m = re.search(r"<title[^>]*>\s*([^<]{1,120}?)\s*</title>", text, re.I)
    return re.sub(r"\s+", " ", m.group(1)) if m else ""


def _page_url(text: str) -> str:
    # the page's own address (the Hub's file pages carry it); printable ASCII URL characters only
    m = re.search(r"""<meta[^>]+property=["']og:url["'][^>]+content=["'](https://[A-Za-z0-9._~:/?#@!$&()*+,;=%-]+)["']""",
                  text, re.I)
    return m.group(1) if m else ""

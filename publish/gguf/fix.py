"""Apply header changes (`publish.gguf.changes`) to a GGUF file, without touching tensor data.

Two ways, chosen per run:
- in place: every change re-encodes a key/value record to exactly the bytes it had (FLOAT32 ->
  UINT32 is a 4-byte type tag plus a 4-byte value). Only the bytes that differ are written, with
  one pwrite per record, then fsync. Nothing else in the file moves.
- rewrite: the header changes size (a new chat template, an added or removed key). The new
  header goes to a temp file in the same folder, the tensor data is streamed after it with the
  same alignment (tensor offsets are relative to the data start, so they stay valid), the copy is
  re-read and its data SHA-256 compared with the original's, then the temp file is fsynced and
  renamed over the target. A run killed midway leaves the original as it was.

Links are never written through. A FILE with more than one hard link (`publish build` hard-links
staged GGUFs to their source) or a symbolic link would carry an in-place patch into the other
name too, so fix breaks the link first: it copies FILE next to itself (a reflink where the
filesystem shares extents), patches the copy and renames it over FILE. The other names keep the
original bytes. A rewrite already makes a new file, so it needs nothing more.
"""

from __future__ import annotations

import hashlib
import json
import numbers
import os
import re
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
from gguf import GGUFValueType as V
from gguf import Keys

from publish.errors import GGUFError, PublishError, UsageError
from publish.findings import Finding
from publish.fsutil import atomic_writer, clone_or_copy, removed_if_interrupted, temp_path
from publish.gguf.changes import Change, RemoveKey, SetValue, type_label
from publish.gguf.header import ArrayValue, GGUFHeader, KV
from publish.gguf.reader import STRUCT_FORMATS, read_header

COPY_CHUNK = 8 * 1024 * 1024
INT_RANGES = {V.UINT8: (0, 2**8 - 1), V.INT8: (-2**7, 2**7 - 1), V.UINT16: (0, 2**16 - 1),
              V.INT16: (-2**15, 2**15 - 1), V.UINT32: (0, 2**32 - 1), V.INT32: (-2**31, 2**31 - 1),
              V.UINT64: (0, 2**64 - 1), V.INT64: (-2**63, 2**63 - 1)}
# Keys whose change would move tensor data or break a split set: refused.
PROTECTED_KEYS = {Keys.General.ALIGNMENT, Keys.Split.LLM_KV_SPLIT_NO, Keys.Split.LLM_KV_SPLIT_COUNT,
                  Keys.Split.LLM_KV_SPLIT_TENSORS_COUNT}


# ----------------------------------------------------------------------------------------------
# Encoding


def encode_value(key: str, vtype: V, value: Any, array_type: V | None = None) -> bytes:
    """Type tag + payload as GGUF stores it. Raises UsageError when `value` does not fit `vtype`."""
    return struct.pack("<I", vtype) + _payload(key, vtype, value, array_type)


def _payload(key: str, vtype: V, value: Any, array_type: V | None) -> bytes:
    def bad(why: str = "") -> UsageError:
        return UsageError(f"{key}: {value!r} cannot be stored as {vtype.name}{why}")

    if vtype == V.STRING:
        if not isinstance(value, str):
            raise bad()
        raw = value.encode("utf-8")
        return struct.pack("<Q", len(raw)) + raw
    if vtype == V.ARRAY:
        if array_type is None or array_type == V.ARRAY:
            raise UsageError(f"{key}: an ARRAY change needs a scalar item type")
        items = value.to_list() if isinstance(value, ArrayValue) else list(value)
        return struct.pack("<IQ", array_type, len(items)) + b"".join(
            _payload(key, array_type, item, None) for item in items)
    if vtype == V.BOOL:
        if not isinstance(value, (bool, numbers.Integral, np.bool_)) or value not in (0, 1):
            raise bad()
        return struct.pack("<B", int(value))
    if vtype in INT_RANGES:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = int(value)  # numpy integers too
        elif isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise bad(" (not an integer)")
        lo, hi = INT_RANGES[vtype]
        if not lo <= value <= hi:
            raise bad(f" (outside {lo}..{hi})")
        return struct.pack(STRUCT_FORMATS[vtype], value)
    if vtype in (V.FLOAT32, V.FLOAT64):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise bad()
        try:
            return struct.pack(STRUCT_FORMATS[vtype], float(value))
        except OverflowError:
            raise bad(" (too large)") from None
    raise bad()


def encode_record(key: str, vtype: V, value: Any, array_type: V | None = None) -> bytes:
    """A whole key/value record as GGUF stores it (gguf-py GGUFWriter's layout, little-endian):
    uint64 key length, the key's UTF-8 bytes, uint32 value type, payload. Raises UsageError when
    `value` does not fit `vtype`."""
    raw_key = key.encode("utf-8")
    return struct.pack("<Q", len(raw_key)) + raw_key + encode_value(key, vtype, value, array_type)


def parse_assignment(text: str, header: GGUFHeader | None = None,
                     known_type: Callable[[str], tuple[V, V | None] | None] | None = None) -> SetValue:
    """`KEY=VALUE[:TYPE]` from the command line. TYPE is a GGUF value type name (uint32, float32,
    bool, string, ...; gguf.GGUFValueType) or array[ITEM] with a JSON list as VALUE. Without TYPE:
    the key's stored type if it exists, else `known_type(KEY)` (the type the lint rules expect for
    a well-known key, e.g. UINT32 for tokenizer.ggml.eot_token_id), else bool for true/false,
    UINT32/INT32/INT64 for integers, FLOAT32 for decimals, else STRING.

    A `:WORD` suffix that is not a type name is refused when it looks like a misspelt one (close
    to a type name) or the key's type is not STRING (`5:unit32`); a string value holding a colon
    is written with an explicit `:string` (`general.name=a:b:string`). Raises UsageError for text
    that is not KEY=VALUE[:TYPE], an unknown TYPE (listing the valid names) or a VALUE that does
    not fit the type."""
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"--set {text!r}: expected KEY=VALUE[:TYPE]")
    existing = header.kv.get(key) if header is not None else None
    default = ((existing.type, existing.array_type) if existing is not None
               else known_type(key) if known_type is not None else None)
    value_text, vtype, array_type = rest, None, None
    head, colon, tail = rest.rpartition(":")
    if colon:
        parsed = _parse_type_name(tail)
        if parsed is not None:
            value_text, (vtype, array_type) = head, parsed
        elif _TYPE_WORD.fullmatch(tail.strip()):
            close = _close_type_names(tail)
            if close or (default is not None and default[0] != V.STRING):
                raise UsageError(f"--set {text!r}: unknown type {tail.strip()!r}"
                                 + (f" (did you mean {' or '.join(close)}?)" if close else ""),
                                 hint=f"TYPE is one of {', '.join(TYPE_NAMES)} or array[ITEM]; a string value "
                                      "holding ':' takes an explicit :string at the end")
    if vtype is None:
        vtype, array_type = default if default is not None else _infer_type(value_text)
    try:
        value = _parse_value(value_text, vtype, array_type)
    except (ValueError, TypeError):
        raise UsageError(f"--set {text!r}: {value_text!r} is not a {vtype.name.lower()}"
                         + (f"[{array_type.name.lower()}]" if array_type else "")
                         + ("" if existing is None and known_type is None else f" (the type of {key})"),
                         hint="give another type explicitly with :TYPE, e.g. :string") from None
    encode_value(key, vtype, value, array_type)  # range check now, with a clear message
    return SetValue(key, value, vtype, array_type, reason="--set")


# the value type names --set accepts: gguf.GGUFValueType's, lower case (ARRAY only as array[ITEM])
TYPE_NAMES = tuple(t.name.lower() for t in V if t != V.ARRAY)
_TYPE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\[[A-Za-z0-9_]*\])?")


def _close_type_names(word: str) -> list[str]:
    import difflib

    word = word.strip().lower()
    if word.startswith("array"):
        return ["array[ITEM]"]
    return difflib.get_close_matches(word, TYPE_NAMES, n=2, cutoff=0.7)


def _parse_type_name(name: str) -> tuple[V, V | None] | None:
    name = name.strip().upper()
    if name.startswith("ARRAY[") and name.endswith("]"):
        item = V.__members__.get(name[6:-1])
        return (V.ARRAY, item) if item is not None and item != V.ARRAY else None
    vtype = V.__members__.get(name)
    return (vtype, None) if vtype is not None and vtype != V.ARRAY else None


def _infer_type(text: str) -> tuple[V, V | None]:
    if text.lower() in ("true", "false"):
        return V.BOOL, None
    try:
        n = int(text, 10)
        return (V.UINT32 if 0 <= n < 2**32 else V.INT32 if -2**31 <= n < 0 else V.INT64), None
    except ValueError:
        pass
    try:
        float(text)
        return V.FLOAT32, None
    except ValueError:
        return V.STRING, None


def _parse_value(text: str, vtype: V, array_type: V | None) -> Any:
    if vtype == V.ARRAY:
        items = json.loads(text)
        if not isinstance(items, list):
            raise ValueError(text)
        return items if array_type == V.STRING else [_parse_value(json.dumps(x), array_type, None)
                                                     if not isinstance(x, str) else _parse_value(x, array_type, None)
                                                     for x in items]
    if vtype == V.STRING:
        return text
    if vtype == V.BOOL:
        low = text.strip().lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ValueError(text)
    if vtype in INT_RANGES:
        return int(text.strip(), 0)
    return float(text)


# ----------------------------------------------------------------------------------------------
# Planning


@dataclass(frozen=True)
class Patch:
    """One in-place write: `data` at absolute byte `offset`, replacing `old` (the same number of
    bytes, checked before writing)."""
    offset: int
    data: bytes
    old: bytes


@dataclass(frozen=True)
class ResolvedChange:
    """A Change tied to the header: the `key` it touches, its current KV (`old`, None when absent)
    and the encoded records before and after (`new_record` None: the key is removed)."""
    change: Change
    key: str
    old: KV | None
    new_record: bytes | None      # None: the key is removed
    old_record: bytes | None

    @property
    def same_size(self) -> bool:
        """Whether the new record has exactly the old record's length, so the change can be patched
        in place without moving anything."""
        return self.old_record is not None and self.new_record is not None and \
            len(self.old_record) == len(self.new_record)

    def describe(self) -> str:
        """One line for the fix plan: `KEY: TYPE old -> TYPE new (reason)`, values shortened."""
        c, old = self.change, self.old
        before = "absent" if old is None else f"{type_label(old.type, old.array_type)} {_short(old.value)}"
        if isinstance(c, RemoveKey):
            after = "removed"
        else:
            after = f"{type_label(c.type, c.array_type)} {_short(c.value)}"
        why = f"  ({c.reason})" if c.reason and "->" not in c.reason and c.reason != "--set" else ""
        return f"{self.key}: {before} -> {after}{why}"


@dataclass
class FixPlan:
    """What `publish fix` would change in one file: the selected lint findings with their changes
    (`fixes`), fixable findings not selected (`skipped`), explicit changes (`extra`: --set,
    --chat-template) and every lint finding of the header read (`findings`)."""
    path: str
    header: GGUFHeader
    fixes: list[tuple[Finding, list[Change]]] = field(default_factory=list)    # selected lint fixes
    skipped: list[tuple[Finding, list[Change]]] = field(default_factory=list)  # fixable, not selected
    extra: list[Change] = field(default_factory=list)                           # --set, --chat-template
    findings: list[Finding] = field(default_factory=list)                       # every lint finding

    @property
    def changes(self) -> list[Change]:
        """Every change to apply, in order: the selected fixes' changes, then the explicit ones."""
        return [c for _, cs in self.fixes for c in cs] + list(self.extra)

    @property
    def unfixable(self) -> list[Finding]:
        """Findings `publish fix` cannot fix (each may carry a hint: the command to run instead)."""
        fixable = {id(f) for f, _ in self.fixes + self.skipped}
        return [f for f in self.findings if id(f) not in fixable and not f.fixable]


def resolve(header: GGUFHeader, raw_header: bytes, changes: Iterable[Change]) -> list[ResolvedChange]:
    """Effective changes in order (a later change to a key replaces an earlier one; no-ops dropped).
    Raises UsageError for a key publish fix does not change (one whose change would move tensor
    data)."""
    bounds = record_bounds(header)
    latest: dict[str, Change] = {}
    for change in changes:
        if change.key in PROTECTED_KEYS:
            raise UsageError(f"{change.key}: publish fix does not change this key (it would move tensor data "
                             "or break the split set)", hint="re-create the file with llama.cpp's tools")
        latest.pop(change.key, None)
        latest[change.key] = change
    out = []
    for key, change in latest.items():
        old = header.kv.get(key)
        old_record = None if old is None else raw_header[bounds[key][0]:bounds[key][1]]
        if isinstance(change, RemoveKey):
            if old is None:
                continue
            out.append(ResolvedChange(change, key, old, None, old_record))
            continue
        new_record = encode_record(key, change.type, change.value, change.array_type)
        if new_record == old_record:
            continue
        out.append(ResolvedChange(change, key, old, new_record, old_record))
    return out


def _kv_end(header: GGUFHeader) -> int:
    """Where the key/value records end (the tensor infos follow)."""
    return header.tensors[0].info_offset if header.tensors else header.header_size


def record_bounds(header: GGUFHeader) -> dict[str, tuple[int, int]]:
    """(start, end) byte range of every key/value record; records are contiguous in file order."""
    kvs = list(header.kv.values())
    ends = [kv.offset for kv in kvs[1:]] + [_kv_end(header)]
    return {kv.key: (kv.offset, end) for kv, end in zip(kvs, ends)}


def in_place_patches(resolved: list[ResolvedChange], header: GGUFHeader) -> list[Patch] | None:
    """The byte spans to write when every change keeps its record's size, else None."""
    if not resolved or not all(r.same_size for r in resolved):
        return None
    bounds = record_bounds(header)
    patches = []
    for r in resolved:
        start = bounds[r.key][0]
        old, new = r.old_record, r.new_record
        first = next(i for i in range(len(new)) if new[i] != old[i])
        last = max(i for i in range(len(new)) if new[i] != old[i])
        patches.append(Patch(start + first, new[first:last + 1], old[first:last + 1]))
    return patches


# ----------------------------------------------------------------------------------------------
# Applying


@dataclass
class FixResult:
    """What a fix did: the file written (`path`), whether it was patched in place or rewritten,
    bytes written (`bytes_touched`), the resolved changes, whether the tensor data's sha256 was
    verified equal before and after, the backup's path, the in-place patches, and why a hard or
    symbolic link forced a copy (`link_broken`, `copy_method` reflink or copy), and the header
    read back from the written bytes to check them (`written`; None when nothing was written)."""
    path: str                       # the file written (the input, or --output)
    in_place: bool
    bytes_touched: int              # bytes written in place, or the size of the rewritten file
    changes: list[ResolvedChange]
    data_sha256_verified: bool = False  # tensor data hashed before and after, and equal
    data_sha256: str | None = None
    backup: str | None = None
    dry_run: bool = False
    patches: list[Patch] = field(default_factory=list)
    link_broken: str | None = None  # why an in-place patch went to a copy: "has 2 hard links", "is a symbolic link …"
    copy_method: str | None = None  # "reflink" or "copy" when the link was broken
    copied_unchanged: bool = False  # nothing to change, so `output` was written as a copy of the input
    written: GGUFHeader | None = None  # the written file's header, as re-read and checked after the write

    def describe(self) -> list[str]:
        """One line per change (`ResolvedChange.describe`)."""
        return [r.describe() for r in self.changes]


def apply_changes(path: str | os.PathLike, changes: Iterable[Change], *, output: str | os.PathLike | None = None,
                  backup: bool = False, dry_run: bool = False, verify_data: bool = False,
                  header: GGUFHeader | None = None) -> FixResult:
    """Apply `changes` to the GGUF at `path` (see the module doc). `output` writes the result
    elsewhere and leaves `path` untouched; with nothing to change, `output` is written as a copy of
    `path` (so it always reflects the input; `copied_unchanged`). `backup` keeps PATH.bak. `verify_data` also hashes the
    tensor data around an in-place patch (a rewrite always verifies by hash). `header` is `path`'s
    header as the caller already read it (publish.fixing.fix_file passes its plan's, after checking
    the file did not change since), else it is read here. The written file is read back and
    checked (`FixResult.written`). Raises UsageError for a change that cannot be applied,
    PublishError naming the file and the state it is left in when writing fails."""
    src = Path(path)
    if output is not None and Path(output).resolve() == src.resolve():
        output = None
    if header is None:
        header = read_header(src)
    with open(src, "rb") as fh:
        raw_header = fh.read(header.header_size)
    resolved = resolve(header, raw_header, changes)
    patches = in_place_patches(resolved, header) if output is None else None
    in_place = patches is not None
    result = FixResult(os.fspath(output or src), in_place, 0, resolved, dry_run=dry_run, patches=patches or [],
                       link_broken=shared_link(src) if in_place else None)
    if not resolved:
        result.link_broken = None
        if output is not None and not dry_run:   # --output always reflects the input
            try:
                with atomic_writer(Path(output)) as out, open(src, "rb") as inp:
                    clone_or_copy(inp, out, COPY_CHUNK)
            except OSError as err:
                raise PublishError(f"{err.filename or output}: {err.strerror or err}; the original is unchanged") from None
            result.copied_unchanged = True
            result.bytes_touched = src.stat().st_size
        return result
    if dry_run:
        result.bytes_touched = sum(len(p.data) for p in patches) if in_place else 0
        return result
    try:
        if backup and output is None:   # a hard-linked backup is safe unless the inode is patched
            result.backup = _backup(src, link=not in_place or result.link_broken is not None)
        if in_place and result.link_broken:
            _patch_copy(src, header, patches, resolved, result, verify_data)
        elif in_place:
            _patch_in_place(src, header, patches, resolved, result, verify_data)
        else:
            _rewrite(src, Path(output or src), header, raw_header, resolved, result)
    except OSError as err:
        where = err.filename or (src if in_place else output or src)
        state = ("nothing was patched" if in_place and not result.bytes_touched
                 else "the original is unchanged" if not in_place else "check the file")
        raise PublishError(f"{where}: {err.strerror or err}; {state}") from None
    return result


def _backup(src: Path, *, link: bool) -> str:
    """PATH.bak: a hard link when the original inode will be replaced (a rewrite), else a copy
    (an in-place patch would change a hard-linked backup too)."""
    bak = src.with_name(src.name + ".bak")
    if link:
        try:
            with removed_if_interrupted(temp_path(bak)) as tmp:
                os.link(src, tmp)
                os.replace(tmp, bak)
            return str(bak)
        except OSError:
            pass
    with atomic_writer(bak) as out, open(src, "rb") as inp:
        clone_or_copy(inp, out, COPY_CHUNK)
    return str(bak)


def shared_link(path: Path) -> str | None:
    """Why patching `path` in place would also change another name: it is a symbolic link, or
    has more than one hard link. None when `path` is the only name of its bytes."""
    if path.is_symlink():
        return f"is a symbolic link to {os.readlink(path)}"
    n = path.stat().st_nlink
    return f"has {n} hard links" if n > 1 else None


def _hash_data(fh, start: int) -> str:
    h = hashlib.sha256()
    fh.seek(start)
    while chunk := fh.read(COPY_CHUNK):
        h.update(chunk)
    return h.hexdigest()


def _write_patches(fd: int, src: Path, patches: list, kv_end: int, result: FixResult) -> None:
    """Check every patch's old bytes at its offset in `fd`, then write them all and fsync."""
    for p in patches:
        if p.offset + len(p.data) > kv_end:  # never: patches come from key/value records
            raise PublishError(f"{src}: refusing to patch byte {p.offset} outside the key/value records")
        if os.pread(fd, len(p.old), p.offset) != p.old:
            raise PublishError(f"{src}: changed while being fixed (bytes at {p.offset} differ); nothing was written")
    for p in patches:
        os.pwrite(fd, p.data, p.offset)
        result.bytes_touched += len(p.data)
    os.fsync(fd)


def _patch_in_place(src: Path, header: GGUFHeader, patches: list, resolved: list, result: FixResult,
                    verify_data: bool) -> None:
    with open(src, "r+b") as fh:
        before = _hash_data(fh, header.data_offset) if verify_data else None
        fd = fh.fileno()
        _write_patches(fd, src, patches, _kv_end(header), result)
        if verify_data:
            after = _hash_data(fh, header.data_offset)
            result.data_sha256, result.data_sha256_verified = after, before == after
    result.written = read_header(src)
    _check_result(src, header, resolved, result.written)


def _patch_copy(src: Path, header: GGUFHeader, patches: list, resolved: list, result: FixResult,
                verify_data: bool) -> None:
    """Break the link: copy `src` to a temp file beside it, patch the copy, rename it over `src`."""
    with open(src, "rb") as inp, atomic_writer(src) as out:
        result.copy_method = clone_or_copy(inp, out, COPY_CHUNK)
        out.flush()
        fd = out.fileno()
        if os.fstat(fd).st_size != header.file_size:
            raise PublishError(f"{src}: changed size while being copied; the original is untouched")
        _write_patches(fd, src, patches, _kv_end(header), result)
        with os.fdopen(os.dup(fd), "rb") as check:
            new = read_header(check, name=str(src))
            if verify_data:
                before, after = _hash_data(inp, header.data_offset), _hash_data(check, new.data_offset)
                result.data_sha256, result.data_sha256_verified = after, before == after
                if before != after:
                    raise PublishError(f"{src}: tensor data differs in the copy; nothing was replaced")
        _check_result(src, header, resolved, new)
        result.written = new


def _rewrite(src: Path, dst: Path, header: GGUFHeader, raw_header: bytes, resolved: list[ResolvedChange],
             result: FixResult) -> None:
    new_header = build_header(header, raw_header, resolved)
    with open(src, "rb") as inp, atomic_writer(dst) as out:
        out.write(new_header)
        inp.seek(header.data_offset)
        h = hashlib.sha256()
        copied = 0
        while chunk := inp.read(COPY_CHUNK):
            h.update(chunk)
            out.write(chunk)
            copied += len(chunk)
        if copied != max(0, header.file_size - header.data_offset):
            raise PublishError(f"{src}: changed size while being copied; the original is untouched")
        out.flush()
        os.fsync(out.fileno())
        # Re-read what is on disk through a separate descriptor before it replaces anything.
        with os.fdopen(os.dup(out.fileno()), "rb") as check:
            new = read_header(check, name=str(dst))
            written = _hash_data(check, new.data_offset)
        if written != h.hexdigest():
            raise PublishError(f"{dst}: tensor data differs after the copy; nothing was replaced")
        _check_result(dst, header, resolved, new)
    result.data_sha256, result.data_sha256_verified = written, True
    result.written = new
    result.bytes_touched = len(new_header) + copied


def build_header(header: GGUFHeader, raw_header: bytes, resolved: list[ResolvedChange]) -> bytes:
    """The new header: unchanged records copied byte for byte, changed ones re-encoded where they
    were, new keys last, tensor infos as they were, zero padding to the alignment."""
    by_key = {r.key: r for r in resolved}
    bounds = record_bounds(header)
    records = []
    for key in header.kv:
        start, end = bounds[key]
        r = by_key.pop(key, None)
        if r is None:
            records.append(raw_header[start:end])
        elif r.new_record is not None:
            records.append(r.new_record)
    records += [r.new_record for r in by_key.values() if r.new_record is not None]
    body = raw_header[:8] + struct.pack("<QQ", len(header.tensors), len(records)) + b"".join(records) + \
        raw_header[_kv_end(header):header.header_size]
    return body + b"\0" * (-len(body) % header.alignment)


def _check_result(path, old: GGUFHeader, resolved: list[ResolvedChange], new: GGUFHeader) -> None:
    def table(h: GGUFHeader):
        return [(t.name, t.shape, t.ggml_type, t.offset) for t in h.tensors]

    problems = []
    if table(new) != table(old):
        problems.append("the tensor table changed")
    for r in resolved:
        kv = new.kv.get(r.key)
        if r.new_record is None:
            if kv is not None:
                problems.append(f"{r.key} is still present")
        elif kv is None or kv.type != r.change.type:
            problems.append(f"{r.key} was not written")
    if problems:
        raise GGUFError(str(path), 0, "expected the fixed header to re-read as planned, but " + "; ".join(problems))


# ----------------------------------------------------------------------------------------------


def _short(value: Any, limit: int = 60) -> str:
    if isinstance(value, (ArrayValue, list, tuple)):
        return f"({len(value)} items)"
    text = repr(value)
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        if len(text) > limit:
            text = text[:limit - 12] + f'…" ({len(value)} chars)'
    return text

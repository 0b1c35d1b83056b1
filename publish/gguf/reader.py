"""Read a GGUF header (metadata and tensor infos) without touching tensor data.

`read_header(path_or_stream)` returns a `GGUFHeader`. The file is read from offset 0 in a few
growing windows (the first 256 KiB, then doubling), so a remote stream backed by HTTP range
requests sees a handful of reads, and the cost depends on the header size only, never on the
tensor data size. Every count and length is checked against the bytes that exist before it is
used; anything wrong raises `GGUFError(path, offset, "expected ...")` and nothing else.

Standard library only (no numpy, no gguf-py: importing those costs more than reading a
262,144-token header, and `publish inspect` / `publish lint` start a process per run). Large arrays
are not turned into Python objects: numeric arrays keep their raw bytes (`to_list()` converts them
in C through a memoryview), string arrays (a vocabulary) keep their raw bytes and the offset of
every 64th item, and decode an item only when it is asked for.
"""

from __future__ import annotations

import array
import bisect
import codecs
import os
import re
import struct
import sys

from publish.errors import GGUFError
from publish.gguf.constants import (GGML_MAX_DIMS, GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC,
                                    GGUF_SUPPORTED_VERSIONS, KEY_ALIGNMENT, GGMLQuantizationType, GGUFValueType)
from publish.gguf.header import ArrayValue, GGUFHeader, KV, TensorInfo

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Callable, Iterable, Iterator, Union

    What = Union[str, Callable[[], str]]  # an error's subject, or a function that words it on failure

MAGIC = struct.pack("<I", GGUF_MAGIC)  # b"GGUF"
SUPPORTED_VERSIONS = GGUF_SUPPORTED_VERSIONS
MAX_DIMS = GGML_MAX_DIMS  # llama.cpp refuses more
MAX_ARRAY_NESTING = 4    # arrays of arrays are legal but rare; bound the recursion
# Each key, tensor or nested array becomes a Python object ~10x its smallest on-disk record, so
# counts are capped far above any real model (a few hundred keys, tens of thousands of tensors).
MAX_KV = 1 << 20
MAX_TENSORS = 1 << 22
MAX_NESTED_ITEMS = 1 << 16  # in the whole header: each becomes a Python object of ~200 bytes
# Real headers are a few MiB (a 262,144-token vocabulary with merges is under 20 MiB); a length
# field claiming more would have us read (over HTTP, for hf://) and hold tensor data as metadata.
MAX_HEADER = 256 * 1024 * 1024
FIRST_WINDOW = 256 * 1024
GROW_LIMIT = 512 * 1024  # a refill reads at most this much beyond what is needed: remote reads stay within header + 1 MiB
SCAN_CHUNK = 1024 * 1024        # a string array's walk reads ahead at most this much at a time
UTF8_CHUNK = 32 * 1024          # a string array is checked as UTF-8 this many bytes at a time
SMALL_ARRAY = 64                # string arrays this short are read item by item with per-item errors
LONG_STRING = 64 * 1024         # longer strings are decoded straight from the buffer, not from a copy
INT64_MAX = 2**63 - 1
_STRIDE_BITS = 6
STRIDE = 1 << _STRIDE_BITS      # a string array keeps the offset of every STRIDE-th item
_HIGH_BITS = 0x8080808080808080  # a length with any of these set has a non-ASCII byte in its prefix
SHORT_ITEM = 64                 # strides of items all shorter than this are walked by a regex, in C
REGEX_WALK_MIN = 1 << 15        # arrays this long repay compiling that regex (~2 ms)
REGEX_ITEM_AVG = 20             # the regex beats the loop on strides of items averaging up to ~24 bytes
_short_stride: list = []        # the compiled regex, once an array asked for it

# struct formats for fixed-size value types; GGUF is little-endian here.
STRUCT_FORMATS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H", GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
    GGUFValueType.UINT64: "<Q", GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT32: "<f", GGUFValueType.FLOAT64: "<d",
    GGUFValueType.BOOL: "<B",
}
VALUE_SIZES: dict[GGUFValueType, int] = {t: struct.calcsize(f) for t, f in STRUCT_FORMATS.items()}

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_STRUCTS = {t: struct.Struct(f) for t, f in STRUCT_FORMATS.items()}
_VALUE_TYPES = {int(t): t for t in GGUFValueType}
# A known ggml type has a block size (gguf-py's enum also lists removed types, which have none).
_GGML_TYPES = {int(t): t for t in GGMLQuantizationType if t in GGML_QUANT_SIZES}
# After a tensor's dimension count: its dimensions, ggml type and data offset.
_TENSOR_TAILS = [struct.Struct("<" + "Q" * n + "IQ") for n in range(MAX_DIMS + 1)]
# memoryview.cast reads the raw little-endian bytes directly where the machine is little-endian too.
_NATIVE = sys.byteorder == "little" and all(struct.calcsize(f[1]) == struct.calcsize(f) for f in STRUCT_FORMATS.values())


def _described(what: What) -> str:
    return what if isinstance(what, str) else what()


# ----------------------------------------------------------------------------------------------
# Lazy array values


class NumericArray(ArrayValue):
    """A numeric/bool GGUF array over its raw little-endian bytes (`len(raw)` = count x item size).

    Indexing and `to_list()` convert in C (a memoryview cast); `numpy()` imports numpy and gives a
    read-only array without a copy."""

    __slots__ = ("item_type", "_raw", "_view")

    def __init__(self, item_type: GGUFValueType, raw: bytes):
        self.item_type = item_type
        self._raw = raw
        self._view: Any = None

    def _values(self):
        """A sequence of the items as Python numbers (BOOL as 0/1): a memoryview or a tuple."""
        view = self._view
        if view is None:
            fmt = STRUCT_FORMATS[self.item_type]
            if _NATIVE:
                view = memoryview(self._raw).cast(fmt[1])
            else:
                view = struct.unpack(f"<{len(self._raw) // VALUE_SIZES[self.item_type]}{fmt[1]}", self._raw)
            self._view = view
        return view

    def __len__(self) -> int:
        return len(self._raw) // VALUE_SIZES[self.item_type]

    def __getitem__(self, index):
        if isinstance(index, slice):
            items = self._values()[index]
            return self._convert(items.tolist() if isinstance(items, memoryview) else list(items))
        item = self._values()[index]
        return bool(item) if self.item_type == GGUFValueType.BOOL else item

    def __iter__(self) -> Iterator:
        return iter(self.to_list())

    def _convert(self, items: list) -> list:
        return [bool(x) for x in items] if self.item_type == GGUFValueType.BOOL else items

    def to_list(self) -> list:
        values = self._values()
        return self._convert(values.tolist() if isinstance(values, memoryview) else list(values))

    def numpy(self):
        """A read-only numpy array of the items (bool for BOOL arrays). Imports numpy."""
        import numpy as np

        arr = np.frombuffer(self._raw, dtype=np.dtype(STRUCT_FORMATS[self.item_type]))
        return arr.astype(bool) if self.item_type == GGUFValueType.BOOL else arr

    def indices_of(self, wanted: Iterable[int]) -> list[int]:
        """Positions (ascending) of the items equal to any of `wanted`, e.g. the CONTROL token
        types. Small non-negative integers in an integer array are found by a byte search over the
        items' low bytes, without a Python object per item."""
        targets = set(wanted)
        size = VALUE_SIZES[self.item_type]
        integer = self.item_type not in (GGUFValueType.FLOAT32, GGUFValueType.FLOAT64, GGUFValueType.BOOL)
        if not integer or not targets or not all(isinstance(v, int) and 0 <= v < 256 for v in targets):
            return [i for i, x in enumerate(self.to_list()) if x in targets]
        raw = self._raw
        low = raw[0::size] if size > 1 else raw  # little-endian: the low byte comes first
        pattern = re.compile(b"[" + b"".join(re.escape(bytes([v])) for v in sorted(targets)) + b"]")
        zeros = bytes(size - 1)
        return [i for i in (m.start() for m in pattern.finditer(low))
                if size == 1 or raw[i * size + 1:(i + 1) * size] == zeros]


class StringArray(ArrayValue):
    """A GGUF string array: its raw bytes (each item's u64 length prefix included) and the offset of
    every STRIDE-th item's prefix. Items are decoded on access (one is found by walking at most
    STRIDE - 1 length prefixes); `len()` is free; nothing is allocated per item until `to_list()`."""

    item_type = GGUFValueType.STRING

    def __init__(self, data: bytes, count: int, marks: array.array):
        self._data = data    # bytes holding all items, length prefixes included
        self._count = count
        self._marks = marks  # offset in _data of item k * STRIDE's prefix, for each k

    def __len__(self) -> int:
        return self._count

    def _prefix(self, i: int) -> int:
        """Offset in _data of item i's length prefix (0 <= i < len)."""
        p = self._marks[i >> _STRIDE_BITS]
        data, unpack = self._data, _U64.unpack_from
        for _ in range(i & (STRIDE - 1)):
            p += 8 + unpack(data, p)[0]
        return p

    def _index(self, index: int) -> int:
        n = self._count
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("string array index out of range")
        return index

    def item_bytes(self, i: int) -> bytes:
        """Item i's UTF-8 bytes."""
        p = self._prefix(self._index(i))
        return self._data[p + 8:p + 8 + _U64.unpack_from(self._data, p)[0]]

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self._count)
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            return self._walk(start, max(0, stop - start))   # one walk, however long the slice
        return self.item_bytes(index).decode("utf-8")

    def _walk(self, first: int, count: int) -> list[str]:
        """Items first .. first + count - 1, decoded, walking the prefixes once."""
        if count <= 0:
            return []
        data, unpack = self._data, _U64.unpack_from
        p = self._prefix(first)
        out = []
        append = out.append
        for _ in range(count):
            n = unpack(data, p)[0]
            p += 8
            append(data[p:p + n].decode("utf-8"))
            p += n
        return out

    def items_at(self, positions: list[int]) -> list[str]:
        """The items at `positions` (ascending, each in range), decoded; each run of consecutive
        positions is walked once, where item-by-item access walks up to STRIDE - 1 prefixes for
        each (a vocabulary's thousands of special tokens sit in a few runs: Gemma 3's 6,414)."""
        out: list[str] = []
        k = 0
        while k < len(positions):
            j = k
            while j + 1 < len(positions) and positions[j + 1] == positions[j] + 1:
                j += 1
            out.extend(self._walk(self._index(positions[k]), j - k + 1))
            k = j + 1
        return out

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_list())

    def to_list(self) -> list[str]:
        return self._walk(0, self._count)

    def numpy(self):
        import numpy as np

        return np.array(self.to_list(), dtype=object)

    def index(self, value: str, start: int = 0, stop: int | None = None) -> int:
        """Position of `value` in [start, stop), found by a byte search instead of decoding every
        item. Raises ValueError when it is not there (as list.index does)."""
        i = self.find(value, start, stop)
        if i < 0:
            raise ValueError(f"{value!r} is not in the array")
        return i

    def find(self, value: str, start: int = 0, stop: int | None = None) -> int:
        """Position of the first item equal to `value` in [start, stop), or -1."""
        raw = value.encode("utf-8")
        needle = _U64.pack(len(raw)) + raw
        n = self._count
        stop = n if stop is None else max(0, min(stop, n))
        if not 0 <= start < n:
            return -1
        data = self._data
        pos = self._prefix(start)
        while True:
            pos = data.find(needle, pos)
            if pos < 0:
                return -1
            i = self._item_at(pos)
            if i >= 0:
                return i if i < stop else -1
            pos += 1

    def _item_at(self, pos: int) -> int:
        """The item whose length prefix starts at byte `pos` of _data, or -1 if none does."""
        k = bisect.bisect_right(self._marks, pos) - 1
        p, i = self._marks[k], k << _STRIDE_BITS
        data, unpack, n = self._data, _U64.unpack_from, self._count
        while p < pos and i < n:
            p += 8 + unpack(data, p)[0]
            i += 1
        return i if p == pos and i < n else -1

    def __contains__(self, value) -> bool:
        return isinstance(value, str) and self.find(value) >= 0

    def count(self, value) -> int:
        """How many items equal `value` (0 for a value that is not a str): list.count, without
        decoding every item."""
        if not isinstance(value, str):
            return 0
        found, i = 0, self.find(value)
        while i >= 0:
            found += 1
            i = self.find(value, i + 1)
        return found


class NestedArray(ArrayValue):
    """An array whose items are arrays (rare; items are already-built ArrayValues)."""

    item_type = GGUFValueType.ARRAY

    def __init__(self, items: list[ArrayValue]):
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index):
        return self._items[index]

    def to_list(self) -> list:
        return [item.to_list() for item in self._items]

    def numpy(self):
        import numpy as np

        return np.array(self.to_list(), dtype=object)


# ----------------------------------------------------------------------------------------------
# The reader


def read_header(source: str | os.PathLike | BinaryIO, name: str | None = None) -> GGUFHeader:
    """Read the header of a GGUF file (a path or a seekable binary stream).

    A local path is memory-mapped while it is parsed (only the header's pages are touched; what
    the header keeps is copied out, and the mapping is closed before this returns); a stream is
    read in growing windows. `name` is the display name used in errors (default: the path).
    Raises GGUFError (the display name, the byte offset and what was expected there) for a file
    that cannot be opened, a path that is not a regular file (a FIFO, device, broken symbolic
    link: refused without opening it, publish.inputpaths' wording), or whose header is truncated, corrupt or past the bounds in the module
    doc."""
    if isinstance(source, (str, os.PathLike)):
        display = name or os.fspath(source)
        require_regular(source, display)   # a FIFO would block open(); a broken link: say so
        try:
            fh = open(source, "rb")
        except OSError as err:   # the hint says what to do (chmod ...), not "re-download: corrupt"
            from publish.inputpaths import input_error

            raise GGUFError(display, 0, f"expected a readable file ({err.strerror or err})",
                            hint=input_error(display, err).hint) from None
        with fh:
            mapped = _map(fh)
            try:
                return _Parser(fh, display, mapped).parse()
            finally:
                if mapped is not None:
                    try:
                        mapped.close()
                    except BufferError:  # a view still held by a traceback frame; freed with it
                        pass
    display = name or str(getattr(source, "name", None) or "<stream>")
    return _Parser(source, display).parse()


def _map(fh) -> Any:
    """A read-only mmap of the whole file, or None where that is not possible (empty file, a
    file system or platform without mmap); the windowed reads are used then."""
    try:
        import mmap

        return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (ImportError, OSError, ValueError, OverflowError):
        return None


class _Parser:
    def __init__(self, fh: BinaryIO, path: str, mapped: Any = None):
        self.fh = fh
        self.path = path
        self.buf: Any = bytearray()   # capacity; only the first `have` bytes are file content
        self.have = 0
        self.pos = 0
        self.nested_left = MAX_NESTED_ITEMS  # nested arrays left for the whole header
        try:
            self.size = fh.seek(0, os.SEEK_END)
            fh.seek(0)
        except (OSError, ValueError) as err:
            raise GGUFError(path, 0, f"expected a seekable file ({err})") from None
        if not isinstance(self.size, int):  # some file-likes return None from seek
            self.size = fh.tell()
        if mapped is not None and len(mapped) == self.size:
            # Everything is "buffered" up to the header bound: ensure() only ever words errors.
            self.buf = mapped
            self.have = min(self.size, MAX_HEADER)

    # -- errors and buffering ------------------------------------------------------------------

    def fail(self, offset: int, expected: str) -> GGUFError:
        """The GGUFError for a header that breaks at `offset`, with the hint every command gives
        (publish.gguf.sniff.CORRUPT: lint's GG001, inspect, build, fix)."""
        from publish.gguf.sniff import CORRUPT

        return GGUFError(self.path, offset, expected, hint=CORRUPT)

    def not_gguf(self) -> GGUFError:
        """The file has no GGUF magic: what it is instead (an LFS pointer, an HTML page, empty...)
        and what to do, worded by publish.gguf.sniff from its first bytes."""
        from publish.gguf.sniff import HEAD_BYTES, not_gguf

        n = min(self.size, HEAD_BYTES)
        if n > self.have:
            self.ensure(n, "the start of the file")
        return not_gguf(self.path, bytes(self.buf[:n]), self.size)

    def ensure(self, end: int, what: What, at: int | None = None) -> None:
        """Make sure bytes [0, end) are buffered; `what` names the item being read for errors
        (a string, or a function giving one: the hot paths build no message unless they fail)."""
        have = self.have
        if end <= have:
            return
        at = self.pos if at is None else at
        what = _described(what)
        if end > self.size:
            raise self.fail(at, f"expected {what} ({end - at} bytes), but the file ends at byte {self.size}")
        if end > MAX_HEADER:
            raise self.fail(at, f"expected a header of at most {MAX_HEADER >> 20} MiB, but {what} would end at "
                                f"byte {end}: the length fields are corrupt")
        want = min(max(end - have, min(have, GROW_LIMIT), FIRST_WINDOW), self.size - have)
        if have + want > len(self.buf):
            # Grow the capacity geometrically; bytes past `have` are never looked at.
            grown = bytearray(min(self.size, max(have + want, 2 * len(self.buf))))
            grown[:have] = memoryview(self.buf)[:have]
            self.buf = grown
        try:
            self.fh.seek(have)
            with memoryview(self.buf) as view:
                while want > 0:
                    n = self._read_into(view[self.have:self.have + want])
                    if not n:
                        break
                    self.have += n
                    want -= n
        except (OSError, ValueError) as err:
            raise self.fail(have, f"expected to read {what} ({err})") from None
        if self.have < end:
            raise self.fail(at, f"expected {what}, but the stream ended at byte {self.have}")

    def _read_into(self, target: memoryview) -> int:
        readinto = getattr(self.fh, "readinto", None)
        if readinto is not None:
            return readinto(target) or 0
        chunk = self.fh.read(len(target))
        if not chunk:
            return 0
        n = min(len(chunk), len(target))
        target[:n] = chunk[:n]
        return n

    def take(self, n: int, what: What) -> int:
        """Reserve n bytes at pos; return their offset. May replace self.buf: read it after."""
        start = self.pos
        end = start + n
        if end > self.have:
            self.ensure(end, what)
        self.pos = end
        return start

    def u32(self, what: What) -> int:
        start = self.take(4, what)  # before reading self.buf, which a refill replaces
        return _U32.unpack_from(self.buf, start)[0]

    def u64(self, what: What) -> int:
        start = self.take(8, what)
        return _U64.unpack_from(self.buf, start)[0]

    def remaining(self) -> int:
        return self.size - self.pos

    def string(self, what: What) -> str:
        at = self.pos
        n = self.u64(lambda: f"the length of {_described(what)}")
        if n > self.size - self.pos:
            raise self.fail(at, f"expected {_described(what)} of {n} bytes, but only {self.remaining()} bytes remain")
        start = self.take(n, what)
        try:
            if n <= LONG_STRING:
                return self.buf[start:start + n].decode("utf-8")
            with memoryview(self.buf) as view, view[start:start + n] as text:
                return codecs.utf_8_decode(text, "strict", True)[0]  # no copy of the bytes first
        except UnicodeDecodeError as err:
            raise self.fail(start + err.start, f"expected UTF-8 text in {_described(what)}") from None

    # -- structure -----------------------------------------------------------------------------

    def parse(self) -> GGUFHeader:
        if self.size < 4:
            raise self.not_gguf()
        magic_at = self.take(4, "the GGUF magic")
        if bytes(self.buf[magic_at:magic_at + 4]) != MAGIC:
            raise self.not_gguf()
        version = self.u32("the GGUF version")
        if version not in SUPPORTED_VERSIONS:
            if version == 1:
                msg = "expected GGUF version 2 or 3; version 1 files are not supported (re-convert with a current llama.cpp)"
            elif version & 0xFFFF == 0 and version >> 16:
                msg = "expected a little-endian GGUF; big-endian files are not supported"
            else:
                msg = f"expected GGUF version 2 or 3, found {version}"
            raise self.fail(4, msg)
        n_tensors = self.u64("the tensor count")
        n_kv = self.u64("the metadata key/value count")
        # Smallest possible records: tensor info 24 bytes (empty name, 0 dims), KV 13 bytes.
        if n_tensors * 24 > self.remaining() or n_tensors > MAX_TENSORS:
            raise self.fail(8, f"expected a plausible tensor count (at most {MAX_TENSORS:,} and what the file "
                              f"can hold), found {n_tensors}")
        if n_kv * 13 > self.remaining() or n_kv > MAX_KV:
            raise self.fail(16, f"expected a plausible key/value count (at most {MAX_KV:,} and what the file "
                               f"can hold), found {n_kv}")

        kvs: dict[str, KV] = {}
        for i in range(n_kv):
            kv = self.read_kv(i)
            if kv.key in kvs:
                raise self.fail(kv.offset, f"expected unique metadata keys, but {kv.key!r} appears twice "
                                           f"(first at byte {kvs[kv.key].offset})")
            kvs[kv.key] = kv

        alignment = self.alignment(kvs)
        tensors = [self.read_tensor_info(i) for i in range(n_tensors)]
        header_size = self.pos
        data_offset = -(-header_size // alignment) * alignment
        self.check_tensors(tensors, alignment, data_offset)
        return GGUFHeader(path=self.path, version=version, alignment=alignment, data_offset=data_offset,
                          header_size=header_size, file_size=self.size, kv=kvs, tensors=tensors)

    def read_kv(self, i: int) -> KV:
        offset = self.pos
        buf, have = self.buf, self.have
        if offset + 8 <= have:
            # The common case (a short key and a number, all buffered) without the general path.
            key_end = offset + 8 + _U64.unpack_from(buf, offset)[0]
            if key_end + 4 <= have:
                vtype = _VALUE_TYPES.get(_U32.unpack_from(buf, key_end)[0])
                unpacker = _STRUCTS.get(vtype)  # the fixed-size scalar types
                if unpacker is not None and key_end + 4 + unpacker.size <= have:
                    try:
                        key = buf[offset + 8:key_end].decode("utf-8")
                    except UnicodeDecodeError:
                        pass  # the general path words the error
                    else:
                        value = unpacker.unpack_from(buf, key_end + 4)[0]
                        self.pos = key_end + 4 + unpacker.size
                        if vtype == GGUFValueType.BOOL:
                            value = bool(value)
                        return KV(key, vtype, value, offset, key_end + 4)
        key = self.string(lambda: f"the name of metadata key #{i}")
        what = lambda: f"the value of {key!r}"  # noqa: E731
        vtype = self.value_type(lambda: f"the type of {key!r}")
        value_offset = self.pos
        if vtype == GGUFValueType.ARRAY:
            value = self.read_array(what, depth=1)
            return KV(key, vtype, value, offset, value_offset, value.item_type)
        return KV(key, vtype, self.read_scalar(vtype, what), offset, value_offset)

    def value_type(self, what: What) -> GGUFValueType:
        at = self.pos
        raw = self.u32(what)
        vtype = _VALUE_TYPES.get(raw)
        if vtype is None:
            raise self.fail(at, f"expected {_described(what)} to be a GGUF value type (0-12), found {raw}")
        return vtype

    def read_scalar(self, vtype: GGUFValueType, what: What) -> Any:
        if vtype == GGUFValueType.STRING:
            return self.string(what)
        start = self.take(VALUE_SIZES[vtype], what)
        value = _STRUCTS[vtype].unpack_from(self.buf, start)[0]
        return bool(value) if vtype == GGUFValueType.BOOL else value

    def read_array(self, what: What, depth: int) -> ArrayValue:
        at = self.pos
        item_type = self.value_type(lambda: f"the item type of {_described(what)}")
        count = self.u64(lambda: f"the length of {_described(what)}")
        if item_type == GGUFValueType.ARRAY:
            if depth >= MAX_ARRAY_NESTING:
                raise self.fail(at, f"expected at most {MAX_ARRAY_NESTING} levels of nested arrays in {_described(what)}")
            if count * 12 > self.remaining() or count > self.nested_left:
                raise self.fail(at + 4, f"expected {_described(what)} to hold nested arrays that fit in the file "
                                        f"and at most {MAX_NESTED_ITEMS:,} in the whole header, but it claims {count}")
            self.nested_left -= count
            return NestedArray([self.read_array(lambda j=j: f"item #{j} of {_described(what)}", depth + 1)
                                for j in range(count)])
        if item_type == GGUFValueType.STRING:
            if count * 8 > self.remaining():
                raise self.fail(at + 4, f"expected {_described(what)} to fit in the file, but it claims {count} "
                                        f"strings and only {self.remaining()} bytes remain")
            return self.read_string_array(count, what)
        nbytes = count * VALUE_SIZES[item_type]
        if nbytes > self.remaining():
            raise self.fail(at + 4, f"expected {_described(what)} to fit in the file, but {count} {item_type.name} "
                                    f"items need {nbytes} bytes and only {self.remaining()} remain")
        start = self.take(nbytes, what)
        with memoryview(self.buf) as view:
            raw = bytes(view[start:start + nbytes])
        return NumericArray(item_type, raw)

    def read_string_array(self, count: int, what: What) -> StringArray:
        """The items are walked STRIDE at a time, noting where each stride starts. In an array of
        REGEX_WALK_MIN items or more (a vocabulary, merges) a stride of short items is matched by
        one regex (`_short_stride_regex`, in C); any other stride goes through one tight loop over
        the buffered bytes, length prefix by length prefix (as every stride of an array where the
        regex missed, or walked items averaging over REGEX_ITEM_AVG bytes, in more than one stride
        in eight); a prefix that is not buffered yet refills the buffer and the walk goes on from
        it. Anything wrong (a length past the end of the file) is worded by the careful
        item-by-item walk. Then the whole array is checked as UTF-8 in one decode. The cost is
        linear in the array's bytes whatever they hold.

        In the loop a prefix is read as one item of an 8-byte-integer view of the buffer that
        starts at the prefix's offset modulo 8 (`_u64_views`): indexing a view costs about half of
        `struct.unpack_from`. This walk is most of the time `publish inspect` and `publish lint`
        spend on a 262,144-token vocabulary (bench/bench_cli.py): 26 ms in the loop, 15 ms by the
        regex on the real Gemma 3 vocabulary."""
        p0 = self.pos
        if count <= SMALL_ARRAY:
            return self.read_small_string_array(count, what)
        marks = array.array("q")
        acc = 0            # OR of every length: tells whether any prefix holds a non-ASCII byte
        done = 0
        p = start = p0     # p: the next item's prefix; start: the current stride's first prefix
        views = _u64_views(self.buf, self.have)
        short = _short_stride_regex().match if count >= REGEX_WALK_MIN else None
        missed = 0         # strides the regex did not match or walked slower than the loop: past 1 in 8, it stops
        try:
            while done < count:
                start = p
                step = min(STRIDE, count - done)
                if short is not None and step == STRIDE:
                    found = short(self.buf, p, self.have)
                    if found is None:   # a long item, or the stride runs past the buffered bytes
                        slow = self.have - p >= STRIDE * (7 + SHORT_ITEM)
                    else:   # STRIDE items, each shorter than SHORT_ITEM, all buffered
                        slow = found.end() - p > STRIDE * (8 + REGEX_ITEM_AVG)
                    if slow:
                        missed += 1
                        if missed > 16 + (done >> (_STRIDE_BITS + 3)):   # more than 1 stride in 8
                            short = None
                    if found is not None:
                        p = found.end()
                        marks.append(start - p0)
                        done += step
                        continue
                j = 0
                while True:
                    try:
                        for j in range(j, step):
                            n = views[p & 7][p >> 3]
                            acc |= n
                            p += 8 + n
                        break
                    except (IndexError, OverflowError, struct.error):
                        # The prefix of item j (at p) is not buffered: refill and go on from it, or
                        # word what is wrong when the file cannot hold it.
                        _release(views)
                        if p + 8 > self.size:
                            self.walk_strings_exactly(start, count - done, done, what)
                            raise self.fail(p, f"expected {_described(what)} to fit in the file") from None
                        # Read ahead by what the items left probably need (a vocabulary item
                        # averages ~15 bytes), at most SCAN_CHUNK: a stream sees a few large reads.
                        ahead = min(self.size, MAX_HEADER, p + min(SCAN_CHUNK, 24 * (count - done - j) + 256))
                        self.ensure(max(p + 8, ahead), lambda: f"the length of an item of {_described(what)}", at=p)
                        views = _u64_views(self.buf, self.have)
                marks.append(start - p0)
                done += step
        finally:
            _release(views)
        if p > self.have:  # the last item's text is not buffered yet
            if p > self.size:
                self.walk_strings_exactly(start, count - (len(marks) - 1) * STRIDE, (len(marks) - 1) * STRIDE, what)
            self.ensure(p, what, at=start)
        with memoryview(self.buf) as buf, buf[p0:p] as region:
            data = bytes(region)
        self.check_utf8(data, count, marks, acc, p0, what)
        self.pos = p
        return StringArray(data, count, marks)

    def read_small_string_array(self, count: int, what: What) -> StringArray:
        """A short string array (a nested array's items, a stop list): item by item."""
        p0 = self.pos
        marks = array.array("q")
        for i in range(count):
            if i % STRIDE == 0:
                marks.append(self.pos - p0)
            at = self.pos
            length = self.u64(lambda: f"the length of item #{i} of {_described(what)}")
            if length > self.size - self.pos:
                raise self.fail(at, f"expected item #{i} of {_described(what)} to fit in the file, "
                                    f"but it claims {length} bytes")
            start = self.take(length, lambda: f"item #{i} of {_described(what)}")
            try:
                self.buf[start:start + length].decode("utf-8")
            except UnicodeDecodeError as err:
                raise self.fail(start + err.start, f"expected UTF-8 text in item #{i} of {_described(what)}") from None
        data = bytes(memoryview(self.buf)[p0:self.pos])
        return StringArray(data, count, marks)

    def walk_strings_exactly(self, p: int, n: int, first: int, what: What) -> int:
        """Walk n items from the prefix at p one by one, each length checked against the file
        before it is used (the error path: it words exactly which item is wrong). Returns the end."""
        unpack = _U64.unpack_from
        size = self.size
        for i in range(first, first + n):
            if p + 8 > self.have:
                self.ensure(p + 8, lambda: f"the length of item #{i} of {_described(what)}", at=p)
            length = unpack(self.buf, p)[0]
            if length > size - p - 8:
                raise self.fail(p, f"expected item #{i} of {_described(what)} to fit in the file, "
                                   f"but it claims {length} bytes")
            p += 8 + length
            if p > self.have:
                self.ensure(p, lambda: f"item #{i} of {_described(what)}", at=p - length - 8)
        return p

    def check_utf8(self, data: bytes, count: int, marks: array.array, acc: int, p0: int, what: What) -> None:
        # Decode all items together with each 8-byte length prefix acting as a separator: an ASCII
        # byte can never be part of a multi-byte sequence, so the whole is valid UTF-8 exactly when
        # every item is. Prefixes are ASCII unless a length byte is >= 0x80 (`acc`, the OR of all
        # lengths, says whether any is: items of 128 bytes or more); only those are blanked, in a copy.
        scratch: bytes | bytearray = data
        if acc & _HIGH_BITS:
            scratch = bytearray(data)
            p, unpack = 0, _U64.unpack_from
            for _ in range(count):
                n = unpack(data, p)[0]
                if n & _HIGH_BITS:
                    scratch[p:p + 8] = bytes(8)
                p += 8 + n
        # In pieces of UTF8_CHUNK bytes (a piece that ends inside a character leaves it to the next):
        # the decoded text of a piece stays in the CPU cache, where one 4 MB decode writes up to
        # 16 MB of text (4 bytes a character once any is outside the BMP) to memory: 20 -> 8 ms on
        # the real Gemma 3 vocabulary (64 KiB pieces: 10 ms).
        pos, size = 0, len(scratch)
        try:
            with memoryview(scratch) as view:
                while pos < size:
                    end = min(size, pos + UTF8_CHUNK)
                    pos += codecs.utf_8_decode(view[pos:end], "strict", end == size)[1]
        except UnicodeDecodeError as err:
            bad = pos + err.start
            k = bisect.bisect_right(marks, bad) - 1
            p, i = marks[k], k * STRIDE
            while p + 8 + _U64.unpack_from(data, p)[0] <= bad:
                p += 8 + _U64.unpack_from(data, p)[0]
                i += 1
            raise self.fail(p0 + bad, f"expected UTF-8 text in item #{i} of {_described(what)}") from None

    def alignment(self, kvs: dict[str, KV]) -> int:
        kv = kvs.get(KEY_ALIGNMENT)
        if kv is None:
            return GGUF_DEFAULT_ALIGNMENT
        if kv.type != GGUFValueType.UINT32:
            raise self.fail(kv.value_offset - 4, f"expected {KEY_ALIGNMENT} stored as UINT32, found {kv.type.name}")
        if kv.value == 0 or kv.value & (kv.value - 1):
            raise self.fail(kv.value_offset, f"expected {KEY_ALIGNMENT} to be a power of two, found {kv.value}")
        return kv.value

    def read_tensor_info(self, i: int) -> TensorInfo:
        info_offset = self.pos
        name = self.string(lambda: f"the name of tensor #{i}")
        dims_at = self.pos
        if dims_at + 4 <= self.have:
            n_dims = _U32.unpack_from(self.buf, dims_at)[0]
            if n_dims <= MAX_DIMS and dims_at + 16 + 8 * n_dims <= self.have:
                # The common case in one unpack; anything unusual goes the careful way below.
                *shape, raw_type, offset = _TENSOR_TAILS[n_dims].unpack_from(self.buf, dims_at + 4)
                n_elements = 1
                for ne in shape:
                    n_elements *= ne
                ggml_type = _GGML_TYPES.get(raw_type)
                if n_elements <= INT64_MAX and ggml_type is not None and all(ne <= INT64_MAX for ne in shape):
                    block, type_size = GGML_QUANT_SIZES[ggml_type]
                    if not shape or shape[0] % block == 0:
                        self.pos = dims_at + 16 + 8 * n_dims
                        return TensorInfo(name, tuple(shape), ggml_type, offset, n_elements,
                                          n_elements // block * type_size, info_offset)
        return self.read_tensor_info_slowly(name, info_offset)

    def read_tensor_info_slowly(self, name: str, info_offset: int) -> TensorInfo:
        """The rest of a tensor info field by field, each failure with its own offset and words."""
        what = f"tensor {name!r}"
        dims_at = self.pos
        n_dims = self.u32(f"the dimension count of {what}")
        if n_dims > MAX_DIMS:
            raise self.fail(dims_at, f"expected at most {MAX_DIMS} dimensions for {what}, found {n_dims}")
        shape = []
        n_elements = 1
        for d in range(n_dims):
            at = self.pos
            ne = self.u64(f"dimension {d} of {what}")
            n_elements *= ne
            if ne > INT64_MAX or n_elements > INT64_MAX:
                raise self.fail(at, f"expected a plausible size for dimension {d} of {what}, found {ne}")
            shape.append(ne)
        type_at = self.pos
        raw_type = self.u32(f"the ggml type of {what}")
        ggml_type = _GGML_TYPES.get(raw_type)
        if ggml_type is None:
            raise self.fail(type_at, f"expected a known ggml type for {what}, found {raw_type}")
        block, type_size = GGML_QUANT_SIZES[ggml_type]
        if shape and shape[0] % block:
            raise self.fail(dims_at + 4, f"expected the first dimension of {what} ({shape[0]}) to be a multiple "
                                         f"of the {ggml_type.name} block size {block}")
        offset = self.u64(f"the data offset of {what}")
        n_bytes = n_elements // block * type_size
        return TensorInfo(name, tuple(shape), ggml_type, offset, n_elements, n_bytes, info_offset)

    def check_tensors(self, tensors: list[TensorInfo], alignment: int, data_offset: int) -> None:
        names: dict[str, TensorInfo] = {}
        for t in tensors:
            if t.name in names:
                raise self.fail(t.info_offset, f"expected unique tensor names, but {t.name!r} appears twice")
            names[t.name] = t
            if t.offset % alignment:
                raise self.fail(self.offset_field(t), f"expected the data offset of tensor {t.name!r} ({t.offset}) "
                                                      f"to be a multiple of the alignment {alignment}")
        if not tensors:
            return
        data_size = self.size - data_offset
        for t in tensors:
            if t.offset + t.n_bytes > data_size:
                raise self.fail(self.offset_field(t), f"expected tensor {t.name!r} ({t.n_bytes} bytes at data offset "
                                                      f"{t.offset}) to lie inside the file, whose data region holds "
                                                      f"{max(0, data_size)} bytes: the file is truncated or corrupt")
        ordered = sorted(tensors, key=lambda t: t.offset)
        for prev, cur in zip(ordered, ordered[1:]):
            if cur.offset < prev.offset + prev.n_bytes:
                raise self.fail(self.offset_field(cur), f"expected tensor {cur.name!r} not to overlap tensor "
                                                        f"{prev.name!r} (data offsets {prev.offset} + {prev.n_bytes} "
                                                        f"bytes > {cur.offset})")

    @staticmethod
    def offset_field(t: TensorInfo) -> int:
        name_len = len(t.name.encode("utf-8"))
        return t.info_offset + 8 + name_len + 4 + 8 * len(t.shape) + 4


__all__ = ["read_header", "NumericArray", "StringArray", "NestedArray", "STRUCT_FORMATS",
           "VALUE_SIZES"]


def _short_stride_regex() -> re.Pattern:
    """A regex that matches STRIDE string items in a row, each shorter than SHORT_ITEM bytes: one
    alternative per length k, the 8-byte little-endian prefix written out (k, then seven zero
    bytes) and k bytes of any value. It is exact, not a guess: it matches only where every prefix
    holds the length of the item it precedes. `re` runs it in C; a stride with a longer item (rare:
    half of a vocabulary's items are under 10 bytes, 99% under 30) is left to the Python loop of
    read_string_array. Possessive ({n}+): there is nothing to backtrack into."""
    if not _short_stride:
        # Alternatives are tried in order, so the common lengths (around 8 bytes) come first, and
        # the zero bytes are written out (`\x00{7}` would be a repeat, slower): 26 -> 15 ms on the
        # real Gemma 3 vocabulary against the Python loop.
        lengths = sorted(range(SHORT_ITEM), key=lambda k: abs(k - 7.5))
        item = b"|".join(rb"\x%02x\x00\x00\x00\x00\x00\x00\x00.{%d}" % (k, k) for k in lengths)
        _short_stride.append(re.compile(rb"(?:%s){%d}+" % (item, STRIDE), re.DOTALL))
    return _short_stride[0]


def _u64_views(buf: bytes | bytearray, have: int) -> list:
    """Eight views of buf[:have] as little-endian unsigned 64-bit integers, the r-th starting at
    byte r: the integer at any offset p is `views[p & 7][p >> 3]`, and an IndexError says that its
    8 bytes are not all within `have`. On a big-endian machine the views would read the bytes the
    wrong way round, so there they are `struct` readers with the same indexing."""
    if sys.byteorder != "little":  # pragma: no cover - every platform we run on is little-endian
        return [_StructU64(buf, have, r) for r in range(8)]
    whole = memoryview(buf)
    views = [whole[r:r + (max(0, have - r) // 8) * 8].cast("Q") for r in range(8)]
    whole.release()
    return views


def _release(views: list) -> None:
    for view in views:
        if isinstance(view, memoryview):
            view.release()


class _StructU64:
    """`views[r][i]` of _u64_views through struct (big-endian hosts)."""

    def __init__(self, buf: bytes | bytearray, have: int, r: int):
        self.buf, self.have, self.r = buf, have, r

    def __getitem__(self, i: int) -> int:
        p = self.r + 8 * i
        if p + 8 > self.have:
            raise IndexError(i)
        return _U64.unpack_from(self.buf, p)[0]


def require_regular(path: str | os.PathLike, display: str | None = None) -> None:
    """Refuse, without opening it, a `path` that is there but is not a regular file or folder: a
    FIFO (opening one for reading blocks until a writer comes), device or socket, a broken
    symbolic link or a loop of them, a folder on the way that cannot be entered. Raises GGUFError
    at byte 0 naming `display` (default: the path) with publish.inputpaths' wording ("a FIFO
    (named pipe), not a file or folder") and hint. A missing path or a folder is left to the
    caller's open(), which names it."""
    from publish.errors import InputPathError
    from publish.inputpaths import input_kind

    try:
        input_kind(path)
    except InputPathError as e:
        raise GGUFError(display or os.fspath(path), 0, e.problem, hint=e.hint) from None

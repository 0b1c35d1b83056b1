"""Read a GGUF header (metadata and tensor infos) without touching tensor data.

`read_header(path_or_stream)` returns a `GGUFHeader`. The file is read from offset 0 in a few
growing windows (the first 256 KiB, then doubling), so a remote stream backed by HTTP range
requests sees a handful of reads, and the cost depends on the header size only, never on the
tensor data size. Every count and length is checked against the bytes that exist before it is
used; anything wrong raises `GGUFError(path, offset, "expected ...")` and nothing else.

Large arrays are not turned into Python objects: numeric arrays are numpy views of the raw bytes,
string arrays (a 262,144-token vocabulary) keep their raw bytes plus numpy offset arrays and
decode an item only when it is asked for.
"""

from __future__ import annotations

import array
import codecs
import os
import struct
from typing import Any, BinaryIO, Callable, Iterator, Union

import numpy as np
from gguf import GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGMLQuantizationType, GGUFValueType, Keys

from publish.errors import GGUFError
from publish.gguf.header import ArrayValue, GGUFHeader, KV, TensorInfo

MAGIC = struct.pack("<I", GGUF_MAGIC)  # b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
MAX_DIMS = 4             # GGML_MAX_DIMS: llama.cpp refuses more
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
SCAN_CHUNK = 1024 * 1024        # string arrays are scanned in windows of this size
SMALL_ARRAY = 64                # string arrays this short are read item by item
LONG_STRING = 64 * 1024         # longer strings are decoded straight from the buffer, not from a copy
INT64_MAX = 2**63 - 1

# struct formats (and the same as numpy dtypes) for fixed-size value types; GGUF is little-endian here.
STRUCT_FORMATS: dict[GGUFValueType, str] = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b",
    GGUFValueType.UINT16: "<H", GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i",
    GGUFValueType.UINT64: "<Q", GGUFValueType.INT64: "<q",
    GGUFValueType.FLOAT32: "<f", GGUFValueType.FLOAT64: "<d",
    GGUFValueType.BOOL: "<B",
}
NUMPY_DTYPES: dict[GGUFValueType, np.dtype] = {t: np.dtype(f) for t, f in STRUCT_FORMATS.items()}
VALUE_SIZES: dict[GGUFValueType, int] = {t: struct.calcsize(f) for t, f in STRUCT_FORMATS.items()}

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_STRUCTS = {t: struct.Struct(f) for t, f in STRUCT_FORMATS.items()}
_VALUE_TYPES = {int(t): t for t in GGUFValueType}
_SCALAR_STRUCTS = {t: _STRUCTS[t] for t in STRUCT_FORMATS}  # fixed-size scalar types
# A known ggml type has a block size (gguf's enum also lists removed types, which have none).
_GGML_TYPES = {int(t): t for t in GGMLQuantizationType if t in GGML_QUANT_SIZES}
# After a tensor's dimension count: its dimensions, ggml type and data offset.
_TENSOR_TAILS = [struct.Struct("<" + "Q" * n + "IQ") for n in range(MAX_DIMS + 1)]

What = Union[str, Callable[[], str]]  # an error's subject, or a function that words it on failure


def _described(what: What) -> str:
    return what if isinstance(what, str) else what()


# ----------------------------------------------------------------------------------------------
# Lazy array values


class NumericArray(ArrayValue):
    """A numeric/bool GGUF array backed by a read-only numpy array of the raw bytes."""

    def __init__(self, item_type: GGUFValueType, array: np.ndarray):
        self.item_type = item_type
        self._array = array

    def __len__(self) -> int:
        return int(self._array.shape[0])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._convert(self._array[index].tolist())
        item = self._array[index].item()
        return bool(item) if self.item_type == GGUFValueType.BOOL else item

    def __iter__(self) -> Iterator:
        return iter(self.to_list())

    def _convert(self, items: list) -> list:
        return [bool(x) for x in items] if self.item_type == GGUFValueType.BOOL else items

    def to_list(self) -> list:
        return self._convert(self._array.tolist())

    def numpy(self) -> np.ndarray:
        return self._array.astype(bool) if self.item_type == GGUFValueType.BOOL else self._array


class StringArray(ArrayValue):
    """A GGUF string array: raw bytes plus where each item starts and ends. Items are decoded on
    access; `len()` is free; nothing is allocated per item until `to_list()`."""

    item_type = GGUFValueType.STRING

    def __init__(self, data: bytes, starts: np.ndarray, ends: np.ndarray):
        self._data = data          # bytes holding all items (length prefixes included)
        self._starts = starts      # int64 offsets of each item's text in _data
        self._ends = ends

    def __len__(self) -> int:
        return int(self._starts.shape[0])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._decode(i) for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError("string array index out of range")
        return self._decode(index)

    def _decode(self, i: int) -> str:
        return self._data[int(self._starts[i]):int(self._ends[i])].decode("utf-8")

    def __iter__(self) -> Iterator[str]:
        data = self._data
        for s, e in zip(self._starts.tolist(), self._ends.tolist()):
            yield data[s:e].decode("utf-8")

    def to_list(self) -> list[str]:
        return list(self)

    def numpy(self) -> np.ndarray:
        return np.array(self.to_list(), dtype=object)

    def item_bytes(self, i: int) -> bytes:
        return self._data[int(self._starts[i]):int(self._ends[i])]

    def index(self, value: str, start: int = 0, stop: int | None = None) -> int:
        """Position of `value`, found by a byte search instead of decoding every item."""
        i = self.find(value, start, stop)
        if i < 0:
            raise ValueError(f"{value!r} is not in the array")
        return i

    def find(self, value: str, start: int = 0, stop: int | None = None) -> int:
        raw = value.encode("utf-8")
        needle = _U64.pack(len(raw)) + raw
        n = len(self)
        stop = n if stop is None else max(0, min(stop, n))
        starts = self._starts
        pos = int(starts[start]) - 8 if 0 <= start < n else len(self._data)
        while True:
            pos = self._data.find(needle, pos)
            if pos < 0:
                return -1
            i = int(np.searchsorted(starts, pos + 8))
            if i < n and int(starts[i]) == pos + 8:
                return i if i < stop else -1
            pos += 1

    def __contains__(self, value) -> bool:
        return isinstance(value, str) and self.find(value) >= 0

    def count(self, value) -> int:
        return sum(1 for s in self if s == value) if isinstance(value, str) else 0


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

    def numpy(self) -> np.ndarray:
        return np.array(self.to_list(), dtype=object)


# ----------------------------------------------------------------------------------------------
# The reader


def read_header(source: str | os.PathLike | BinaryIO, name: str | None = None) -> GGUFHeader:
    """Read the header of a GGUF file (a path or a seekable binary stream)."""
    if isinstance(source, (str, os.PathLike)):
        display = name or os.fspath(source)
        try:
            fh = open(source, "rb")
        except OSError as err:
            raise GGUFError(display, 0, f"expected a readable file ({err.strerror or err})") from None
        with fh:
            return _Parser(fh, display).parse()
    display = name or str(getattr(source, "name", None) or "<stream>")
    return _Parser(source, display).parse()


class _Parser:
    def __init__(self, fh: BinaryIO, path: str):
        self.fh = fh
        self.path = path
        self.buf = bytearray()   # capacity; only the first `have` bytes are file content
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

    # -- errors and buffering ------------------------------------------------------------------

    def fail(self, offset: int, expected: str) -> GGUFError:
        return GGUFError(self.path, offset, expected)

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
        magic_at = self.take(4, "the GGUF magic")
        if bytes(self.buf[magic_at:magic_at + 4]) != MAGIC:
            raise self.fail(0, f"expected the magic bytes 'GGUF', found {bytes(self.buf[0:4])!r}: not a GGUF file")
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
                unpacker = _SCALAR_STRUCTS.get(vtype)
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
        array = np.frombuffer(raw, dtype=NUMPY_DTYPES[item_type])
        return NumericArray(item_type, array)

    def read_string_array(self, count: int, what: What) -> StringArray:
        """Items are found window by window: a vectorised scan (_string_chain) where it works,
        else item by item to the end of the window. Either way a window is paid for by the items
        it yields, so the cost is linear in the array's bytes whatever they hold."""
        p0 = self.pos
        if count <= SMALL_ARRAY:
            return self.read_small_string_array(count, what)
        starts: list[np.ndarray] = []
        ends: list[np.ndarray] = []
        done = 0
        p = p0             # where the next item's length prefix is
        while done < count:
            left = count - done
            if left <= SMALL_ARRAY:
                s, e = self.string_items_slowly(p, left, done, p0, what)
            else:
                # Size the window from the items left (a vocabulary item averages ~15 bytes).
                stop = min(self.size, p + min(SCAN_CHUNK, 24 * left + 256))
                self.ensure(stop, what, at=p)
                with memoryview(self.buf) as view:
                    found = _string_chain(view[p:stop], left)
                if found is not None and len(found[0]):
                    s, e = found[0] + (p - p0), found[1] + (p - p0)
                else:
                    # Item by item through this window (at least one item, however long).
                    s, e = self.string_items_slowly(p, left, done, p0, what, until=stop)
            starts.append(s)
            ends.append(e)
            done += len(s)
            p = p0 + int(e[-1])
        if count == 0:
            starts, ends = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        all_starts, all_ends = np.concatenate(starts), np.concatenate(ends)
        data = bytes(memoryview(self.buf)[p0:p])
        self.check_utf8(data, all_starts, all_ends, p0, what)
        self.pos = p
        return StringArray(data, all_starts, all_ends)

    def read_small_string_array(self, count: int, what: What) -> StringArray:
        """A short string array (a nested array's items, a stop list): item by item."""
        p0 = p = self.pos
        starts, ends = [], []
        for i in range(count):
            length = self.u64(lambda: f"the length of item #{i} of {_described(what)}")
            if length > self.size - self.pos:
                raise self.fail(p, f"expected item #{i} of {_described(what)} to fit in the file, "
                                   f"but it claims {length} bytes")
            start = self.take(length, lambda: f"item #{i} of {_described(what)}")
            try:
                self.buf[start:start + length].decode("utf-8")
            except UnicodeDecodeError as err:
                raise self.fail(start + err.start, f"expected UTF-8 text in item #{i} of {_described(what)}") from None
            starts.append(start - p0)
            ends.append(start + length - p0)
            p = self.pos
        data = bytes(memoryview(self.buf)[p0:p])
        return StringArray(data, np.array(starts, np.int64), np.array(ends, np.int64))

    def string_items_slowly(self, p: int, n: int, first: int, p0: int, what: What,
                            until: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Up to n items from p, one by one, with exact errors; stops after the item that reaches
        `until` when given. Offsets returned are relative to p0."""
        starts = array.array("q")  # raw int64s: no Python object per item
        ends = array.array("q")
        unpack = _U64.unpack_from
        buf = self.buf
        size = self.size
        limit = size if until is None else until
        i = 0
        while i < n:
            if p + 8 > self.have:
                self.ensure(p + 8, lambda: f"the length of item #{first + i} of {_described(what)}", at=p)
                buf = self.buf
            length = unpack(buf, p)[0]
            if length > size - p - 8:
                raise self.fail(p, f"expected item #{first + i} of {_described(what)} to fit in the file, "
                                   f"but it claims {length} bytes")
            starts.append(p + 8 - p0)
            p += 8 + length
            ends.append(p - p0)
            if p > self.have:
                self.ensure(p, lambda: f"item #{first + i} of {_described(what)}", at=p - length - 8)
                buf = self.buf
            i += 1
            if p >= limit:
                break
        return np.frombuffer(starts, np.int64), np.frombuffer(ends, np.int64)

    def check_utf8(self, data: bytes, starts: np.ndarray, ends: np.ndarray, p0: int, what: What) -> None:
        # Decode everything at once with each 8-byte length prefix acting as a separator: an ASCII
        # byte can never be part of a multi-byte sequence, so the whole is valid UTF-8 exactly when
        # every item is. Prefixes are ASCII already unless a length byte is >= 0x80 (items of 128
        # bytes or more); only those are blanked, in a copy.
        prefix = starts - 8
        non_ascii = prefix[((ends - starts) & 0x0080808080808080) != 0]  # lengths are < 2**63
        scratch = data
        if non_ascii.size:
            scratch = np.frombuffer(data, np.uint8).copy()
            for k in range(8):
                scratch[non_ascii + k] = 0
        try:
            codecs.utf_8_decode(scratch, "strict", True)
        except UnicodeDecodeError as err:
            i = max(0, int(np.searchsorted(starts, err.start, side="right")) - 1)
            raise self.fail(p0 + err.start, f"expected UTF-8 text in item #{i} of {_described(what)}") from None

    def alignment(self, kvs: dict[str, KV]) -> int:
        kv = kvs.get(Keys.General.ALIGNMENT)
        if kv is None:
            return GGUF_DEFAULT_ALIGNMENT
        if kv.type != GGUFValueType.UINT32:
            raise self.fail(kv.value_offset - 4, f"expected {Keys.General.ALIGNMENT} stored as UINT32, found {kv.type.name}")
        if kv.value == 0 or kv.value & (kv.value - 1):
            raise self.fail(kv.value_offset, f"expected {Keys.General.ALIGNMENT} to be a power of two, found {kv.value}")
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


def _string_chain(region, count: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Where the first (up to `count`) length-prefixed strings of `region` lie, vectorised.

    Candidates are positions whose u64 has its top seven bytes zero (length < 256), which nearly
    every vocabulary item satisfies; the chain start -> start + 8 + length is followed through the
    candidates, repairing the few places where it misses (a longer item, a false candidate inside
    an item). Every item returned is verified exactly (it starts where the previous one ends), so
    a wrong guess only costs time. Returns (starts, ends) as offsets into region for the items
    that lie wholly inside it (possibly none), or None when the caller should go item by item.
    """
    a = np.frombuffer(region, np.uint8)
    size = a.size
    if size < 8:
        return _EMPTY
    m = size - 7  # positions with a whole u64 inside the region
    zero = a == 0
    cand = zero[7:7 + m].copy()
    for k in range(1, 7):
        cand &= zero[k:k + m]
    if int(np.count_nonzero(cand)) > size // 8 + 1:
        return None  # more candidates than items fit: runs of zero bytes (empty strings); go item by item
    pos = np.flatnonzero(cand)
    nxt = pos + 8 + a[pos]
    if pos.size == 0 or pos[0] != 0:
        pos, nxt = np.insert(pos, 0, 0), np.insert(nxt, 0, 0)
        if not _repair(a, pos, nxt, 0):
            return None
    k = 0
    filtered = False
    for _ in range(64):
        broken = np.flatnonzero(nxt[k:-1] != pos[k + 1:])
        k = k + int(broken[0]) if broken.size else pos.size - 1  # pos[0..k] is a verified chain
        target = int(nxt[k])
        if k + 1 >= count or target >= m:
            n = min(k + 1, count)
            if int(nxt[n - 1]) > size:
                n -= 1  # the last item runs past the region
            return pos[:n] + 8, nxt[:n]
        if broken.size and int(pos[k + 1]) < target:
            if not filtered:
                # Drop candidates nothing points to (false ones inside items), once, in bulk.
                hit = np.zeros(size + 8, bool)
                hit[np.minimum(nxt, size + 7)] = True
                keep = hit[pos]
                keep[0] = True
                pos, nxt = pos[keep], nxt[keep]
                filtered = True
                k = 0
                continue
            j = int(np.searchsorted(pos, target))
            pos, nxt = np.delete(pos, np.s_[k + 1:j]), np.delete(nxt, np.s_[k + 1:j])
            continue
        # The next item's prefix is not a candidate: a length of 256 bytes or more.
        pos, nxt = np.insert(pos, k + 1, target), np.insert(nxt, k + 1, 0)
        if not _repair(a, pos, nxt, k + 1):
            return None
    return None


_EMPTY = (np.zeros(0, np.int64), np.zeros(0, np.int64))


def _repair(a: np.ndarray, pos: np.ndarray, nxt: np.ndarray, i: int) -> bool:
    """Compute nxt[i] for a prefix at pos[i] whose length may need up to 64 KiB; False if longer."""
    p = int(pos[i])
    if a[p + 2:p + 8].any():
        return False
    nxt[i] = p + 8 + int(a[p]) + (int(a[p + 1]) << 8)
    return True


__all__ = ["read_header", "NumericArray", "StringArray", "NestedArray", "NUMPY_DTYPES", "STRUCT_FORMATS",
           "VALUE_SIZES"]

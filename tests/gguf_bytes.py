"""Hand-built GGUF bytes (struct, no gguf.GGUFWriter) for v2 files and hostile inputs in reader tests."""

from __future__ import annotations

import struct

from gguf import GGUFValueType as V

FORMATS = {V.UINT8: "<B", V.INT8: "<b", V.UINT16: "<H", V.INT16: "<h", V.UINT32: "<I", V.INT32: "<i",
           V.UINT64: "<Q", V.INT64: "<q", V.FLOAT32: "<f", V.FLOAT64: "<d", V.BOOL: "<B"}


def gstr(s: str | bytes) -> bytes:
    raw = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(raw)) + raw


def scalar(vtype: V, value) -> bytes:
    """Type tag + value."""
    if vtype == V.STRING:
        return struct.pack("<I", vtype) + gstr(value)
    return struct.pack("<I", vtype) + struct.pack(FORMATS[vtype], value)


def array(item_type: V, items: list) -> bytes:
    """Type tag ARRAY + item type + count + items."""
    return struct.pack("<I", V.ARRAY) + array_body(item_type, items)


def array_body(item_type: V, items: list) -> bytes:
    out = [struct.pack("<IQ", item_type, len(items))]
    for item in items:
        if item_type == V.STRING:
            out.append(gstr(item))
        elif item_type == V.ARRAY:
            sub_type, sub_items = item
            out.append(array_body(sub_type, sub_items))
        else:
            out.append(struct.pack(FORMATS[item_type], item))
    return b"".join(out)


def kv(key: str | bytes, value_bytes: bytes) -> bytes:
    return gstr(key) + value_bytes


def tensor_info(name: str, dims: list[int], ggml_type: int, offset: int) -> bytes:
    return gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + \
        struct.pack("<IQ", ggml_type, offset)


def gguf(kvs: list[bytes], tensors: list[bytes] = (), *, version: int = 3, data: bytes = b"",
         alignment: int = 32, n_kv: int | None = None, n_tensors: int | None = None) -> bytes:
    """A whole file: header, KVs, tensor infos, padding to `alignment`, then `data`."""
    head = b"GGUF" + struct.pack("<I", version) + struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors,
                                                           len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    if data:
        body += b"\0" * (-len(body) % alignment) + data
    return body

"""What `publish inspect` shows: a summary of a GGUF header, and the whole header as JSON."""

from __future__ import annotations

import math
import struct
from publish.gguf.constants import GGUFValueType as V
from publish.gguf.header import ArrayValue, GGUFHeader, KV
from publish.quants import file_type_label
from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Any

ARRAY_PREVIEW = 16   # items of a long array shown in JSON unless full arrays are asked for
# Characters of a long string shown in JSON unless full strings are asked for: every real chat
# template fits (the longest seen are ~30 KB), a 250 MiB hostile key does not flood the output.
STRING_PREVIEW = 65_536
SPECIAL_TOKENS = ("bos", "eos", "eot", "eom", "padding", "unknown")
TEMPLATE_PREFIX = "tokenizer.chat_template"


class TensorGroup(Record):
    """The tensors of one ggml type: how many, their elements and their bytes."""

    __slots__ = ("ggml_type", "count", "n_elements", "n_bytes")
    ggml_type: str
    count: int
    n_elements: int
    n_bytes: int

    def __init__(self, ggml_type: str, count: int = 0, n_elements: int = 0, n_bytes: int = 0):
        self.ggml_type = ggml_type
        self.count = count
        self.n_elements = n_elements
        self.n_bytes = n_bytes

    @property
    def bits_per_weight(self) -> float:
        """8 * bytes / elements of the group (0.0 when empty)."""
        return 8 * self.n_bytes / self.n_elements if self.n_elements else 0.0


class Summary(Record):
    """What `publish inspect` prints about a GGUF: file and header facts, architecture, name,
    general.file_type, parameter count and tensor bytes, context length, vocabulary size, special
    tokens (id and text), add_bos/add_eos, chat templates by name, tensor types grouped, split
    position and whether it is a projector."""
    path: str
    version: int
    file_size: int | None
    data_offset: int
    architecture: str | None
    name: str | None
    file_type: int | None
    file_type_name: str | None
    n_params: int
    tensor_bytes: int
    context_length: Any
    vocab_size: int | None
    special: dict[str, tuple[int | None, str | None]]   # "bos" -> (id, text)
    add_bos_token: bool | None
    add_eos_token: bool | None
    templates: dict[str, str]                            # "default" or the template name -> text
    groups: list[TensorGroup]
    split: tuple[int, int] | None
    is_projector: bool
    __slots__ = ("path", "version", "file_size", "data_offset", "architecture", "name", "file_type",
                 "file_type_name", "n_params", "tensor_bytes", "context_length", "vocab_size", "special",
                 "add_bos_token", "add_eos_token", "templates", "groups", "split", "is_projector")

    def __init__(self, path: str, version: int, file_size: int | None, data_offset: int, architecture: str | None,
                 name: str | None, file_type: int | None, file_type_name: str | None, n_params: int,
                 tensor_bytes: int, context_length: Any, vocab_size: int | None,
                 special: dict[str, tuple[int | None, str | None]], add_bos_token: bool | None,
                 add_eos_token: bool | None, templates: dict[str, str], groups: list[TensorGroup] | None = None,
                 split: tuple[int, int] | None = None, is_projector: bool = False):
        self.path, self.version, self.file_size, self.data_offset = path, version, file_size, data_offset
        self.architecture, self.name, self.file_type, self.file_type_name = architecture, name, file_type, file_type_name
        self.n_params, self.tensor_bytes, self.context_length = n_params, tensor_bytes, context_length
        self.vocab_size, self.special, self.add_bos_token = vocab_size, special, add_bos_token
        self.add_eos_token, self.templates = add_eos_token, templates
        self.groups = [] if groups is None else groups
        self.split, self.is_projector = split, is_projector

    @property
    def bits_per_weight(self) -> float:
        """Average bits per weight over all tensors: 8 * tensor_bytes / n_params (0.0 without
        tensors)."""
        return 8 * self.tensor_bytes / self.n_params if self.n_params else 0.0

    def to_dict(self) -> dict:
        """The summary as the JSON object `publish inspect --format json` prints under "summary"
        (bits per weight rounded to 4 places, special tokens as {kind: {id, text}})."""
        return {
            "path": self.path, "version": self.version, "file_size": self.file_size,
            "data_offset": self.data_offset, "architecture": self.architecture, "name": self.name,
            "file_type": self.file_type, "file_type_name": self.file_type_name,
            "parameters": self.n_params, "tensor_bytes": self.tensor_bytes,
            "bits_per_weight": round(self.bits_per_weight, 4),
            "context_length": self.context_length, "vocab_size": self.vocab_size,
            "special_tokens": {k: {"id": i, "text": t} for k, (i, t) in self.special.items()},
            "add_bos_token": self.add_bos_token, "add_eos_token": self.add_eos_token,
            "chat_templates": self.templates,
            "tensor_types": [{"type": g.ggml_type, "count": g.count, "elements": g.n_elements, "bytes": g.n_bytes,
                              "bits_per_weight": round(g.bits_per_weight, 4)} for g in self.groups],
            "split": None if self.split is None else {"no": self.split[0], "count": self.split[1]},
            "is_projector": self.is_projector,
        }


def summarize(hdr: GGUFHeader) -> Summary:
    """The Summary of a header, from its metadata and tensor infos only (no tensor data is read).
    Never raises for missing keys: absent facts are None."""
    tokens = hdr.value("tokenizer.ggml.tokens")
    special = {}
    for kind in SPECIAL_TOKENS:
        tid = hdr.value(f"tokenizer.ggml.{kind}_token_id")
        tid = tid if isinstance(tid, int) and not isinstance(tid, bool) else None
        if tid is not None:
            special[kind] = (tid, hdr.token_text(tid))  # None outside a vocabulary of strings
    templates = {}
    for key, kv in hdr.kv.items():
        if key == TEMPLATE_PREFIX and isinstance(kv.value, str):
            templates["default"] = kv.value
        elif key.startswith(TEMPLATE_PREFIX + ".") and isinstance(kv.value, str) and \
                not key.startswith(TEMPLATE_PREFIX + "s"):
            templates[key[len(TEMPLATE_PREFIX) + 1:]] = kv.value
    groups: dict[str, TensorGroup] = {}
    for t in hdr.tensors:
        g = groups.setdefault(t.ggml_type.name, TensorGroup(t.ggml_type.name))
        g.count += 1
        g.n_elements += t.n_elements
        g.n_bytes += t.n_bytes
    vocab = len(tokens) if isinstance(tokens, ArrayValue) else _shown(hdr.arch_value("vocab_size"))
    ft = hdr.value("general.file_type")
    ft = ft if isinstance(ft, int) and not isinstance(ft, bool) else None
    return Summary(
        path=hdr.path, version=hdr.version, file_size=hdr.file_size, data_offset=hdr.data_offset,
        architecture=hdr.architecture, name=_str_or_none(hdr.value("general.name")),
        file_type=ft, file_type_name=None if ft is None else file_type_label(ft),
        n_params=hdr.n_params, tensor_bytes=hdr.tensor_bytes,
        context_length=_shown(hdr.arch_value("context_length")), vocab_size=vocab, special=special,
        add_bos_token=_bool_or_none(hdr.add_bos_token), add_eos_token=_bool_or_none(hdr.value("tokenizer.ggml.add_eos_token")),
        templates=templates, groups=sorted(groups.values(), key=lambda g: -g.n_bytes),
        split=hdr.split, is_projector=hdr.is_projector,
    )


def _shown(v: Any) -> Any:
    """A value as the summary shows it, whatever type the file stored it as: arrays as their
    repr, non-finite floats as "nan"/"inf" (both stay valid JSON)."""
    return repr(v) if isinstance(v, ArrayValue) else _json_scalar(v)


def _str_or_none(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _bool_or_none(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


# ----------------------------------------------------------------------------------------------
# JSON


def header_to_json(hdr: GGUFHeader, *, full_arrays: bool = False, preview: int = ARRAY_PREVIEW,
                   full_strings: bool = False, string_preview: int = STRING_PREVIEW) -> dict:
    """The whole header: every key with its stored type and offsets, every tensor.

    Arrays longer than `preview` items show their first `preview` items plus "length" and
    "truncated": true, unless `full_arrays`. A string value longer than `string_preview`
    characters shows its first `string_preview` characters plus "length" (in characters) and
    "truncated": true, unless `full_strings`; in the summary such a chat template is cut the same
    way and named in "truncated_templates". Non-finite floats become the strings "nan", "inf", "-inf".
    The document refers to the header's strings without copying them: write it with
    publish.jsonstream.write_json to keep memory bounded."""
    limit = None if full_strings else string_preview
    summary = summarize(hdr).to_dict()
    if limit is not None:
        long = [name for name, text in summary["chat_templates"].items() if len(text) > limit]
        if long:
            summary["chat_templates"] = {name: text[:limit] for name, text in summary["chat_templates"].items()}
            summary["truncated_templates"] = long
    return {
        "path": hdr.path,
        "version": hdr.version,
        "file_size": hdr.file_size,
        "alignment": hdr.alignment,
        "header_size": hdr.header_size,
        "data_offset": hdr.data_offset,
        "kv_count": len(hdr.kv),
        "tensor_count": len(hdr.tensors),
        "summary": summary,
        "kv": [kv_to_json(kv, full_arrays=full_arrays, preview=preview, string_preview=limit)
               for kv in hdr.kv.values()],
        "tensors": [{"name": t.name, "type": t.ggml_type.name, "shape": list(t.shape), "elements": t.n_elements,
                     "bytes": t.n_bytes, "offset": t.offset, "file_offset": hdr.data_offset + t.offset,
                     "info_offset": t.info_offset} for t in hdr.tensors],
    }


def kv_to_json(kv: KV, *, full_arrays: bool = False, preview: int = ARRAY_PREVIEW,
               string_preview: int | None = STRING_PREVIEW) -> dict:
    """One key as JSON; `string_preview` None shows a string value whole."""
    out: dict[str, Any] = {"key": kv.key, "type": kv.type.name, "offset": kv.offset, "value_offset": kv.value_offset}
    if kv.type == V.ARRAY:
        out["item_type"] = kv.array_type.name if kv.array_type is not None else None
        out["length"] = len(kv.value)
        out["value"] = _array_json(kv.value, full_arrays, preview)
        if not full_arrays and len(kv.value) > preview:
            out["truncated"] = True
    elif isinstance(kv.value, str) and string_preview is not None and len(kv.value) > string_preview:
        out["length"] = len(kv.value)
        out["value"] = kv.value[:string_preview]
        out["truncated"] = True
    else:
        out["value"] = _json_scalar(kv.value, kv.type == V.FLOAT32)
    return out


def _array_json(value: ArrayValue, full: bool, preview: int) -> list:
    items = value if full or len(value) <= preview else value[:preview]
    if isinstance(items, ArrayValue):
        items = [items[i] for i in range(len(items))] if items.item_type == V.ARRAY else items.to_list()
    f32 = value.item_type == V.FLOAT32
    out = []
    for item in items:
        if isinstance(item, ArrayValue):
            out.append(_array_json(item, full, preview))
        else:
            out.append(_json_scalar(item, f32))
    return out


def _json_scalar(v: Any, float32: bool = False) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if float32 and isinstance(v, float):
        return shortest_float32(v)  # 1e-05, not 9.999999747378752e-06
    return v


_F32 = struct.Struct("<f")


def shortest_float32(v: float) -> float:
    """The shortest decimal that reads back as the same FLOAT32 as `v` (a finite float32 value),
    as a float: what numpy prints for `np.float32(v)` (Dragon4 shortest: the fewest digits, then
    the nearest, then an even last digit), found with the standard library only."""
    target = _F32.pack(v)
    a, b = v.as_integer_ratio()
    for digits in range(1, 10):  # 9 significant digits always round-trip a float32
        mantissa, exponent = f"{v:.{digits - 1}e}".split("e")
        m, e = int(mantissa.replace(".", "")), int(exponent) - (digits - 1)
        best = None
        for c in (m, m - 1, m + 1):  # the rounded digits, or a neighbour where float32's interval is lopsided
            x = float(f"{c}e{e}")
            try:
                if _F32.pack(x) != target:
                    continue
            except OverflowError:
                continue
            dist = abs(c * 10**e * b - a) if e >= 0 else abs(c * b - a * 10**-e)  # exact |c*10^e - v|, scaled
            if best is None or (dist, c % 2) < best[:2]:
                best = (dist, c % 2, x)
        if best is not None:
            return best[2]
    return v

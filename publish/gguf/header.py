"""Typed view of a GGUF header. Produced by `publish.gguf.reader.read_header`.

These are the objects every other module consumes (lint, build, smoke, push); keep them plain.
"""

from __future__ import annotations

from collections.abc import Sequence

from publish.gguf.constants import GGMLQuantizationType, GGUFValueType
from publish.records import Record

TYPE_CHECKING = False  # typing itself is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Any


class KV(Record):
    """One metadata key/value record. `type` is the type as stored on disk (FLOAT32 vs UINT32 is
    what several rules are about); `value` is int/float/bool/str for a scalar and an ArrayValue
    for an array (`array_type` its item type); `offset` is the record's absolute byte offset (its
    key-length field), `value_offset` the value's. Frozen; slots: a header may hold 10^5 of them."""

    __slots__ = ("key", "type", "value", "offset", "value_offset", "array_type")
    frozen = True
    key: str
    type: GGUFValueType          # the type as stored on disk (FLOAT32 vs UINT32 is the point)
    value: Any                   # int/float/bool/str for scalars; an ArrayValue for arrays
    offset: int                  # byte offset of the key/value record (its key length field)
    value_offset: int            # byte offset of the value (for a scalar: its bytes; for an array: its item type field)
    array_type: GGUFValueType | None  # item type for ARRAY values

    def __init__(self, key: str, type: GGUFValueType, value: Any, offset: int, value_offset: int,
                 array_type: GGUFValueType | None = None):
        setter = object.__setattr__
        setter(self, "key", key)
        setter(self, "type", type)
        setter(self, "value", value)
        setter(self, "offset", offset)
        setter(self, "value_offset", value_offset)
        setter(self, "array_type", array_type)


class TensorInfo(Record):
    """One tensor-info record: `shape` in ggml order (ne0, the fastest-varying, first), `ggml_type`,
    `offset` of its data relative to GGUFHeader.data_offset, `n_elements`, `n_bytes` (from ggml's
    block sizes), and `info_offset`, the record's absolute byte offset. Frozen."""

    __slots__ = ("name", "shape", "ggml_type", "offset", "n_elements", "n_bytes", "info_offset")
    frozen = True
    name: str
    shape: tuple[int, ...]       # ggml order: ne0 (fastest) first
    ggml_type: GGMLQuantizationType
    offset: int                  # relative to GGUFHeader.data_offset
    n_elements: int
    n_bytes: int
    info_offset: int             # byte offset of this tensor-info record in the file

    def __init__(self, name: str, shape: tuple[int, ...], ggml_type: GGMLQuantizationType, offset: int,
                 n_elements: int, n_bytes: int, info_offset: int):
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "shape", shape)
        setter(self, "ggml_type", ggml_type)
        setter(self, "offset", offset)
        setter(self, "n_elements", n_elements)
        setter(self, "n_bytes", n_bytes)
        setter(self, "info_offset", info_offset)


class GGUFHeader(Record):
    """A parsed GGUF header (gguf v2/v3, as llama.cpp's ggml/src/gguf.cpp reads it): `path` (file
    path or hf:// URL), `version`, `alignment` (general.alignment, default 32), `data_offset`
    (absolute start of tensor data), `header_size` (bytes up to the end of the tensor infos),
    `file_size` (None when unknown), metadata `kv` by key in file order and `tensors` in file
    order."""

    __slots__ = ("path", "version", "alignment", "data_offset", "header_size", "file_size", "kv", "tensors")
    path: str                    # display name: a file path or hf://… URL
    version: int
    alignment: int
    data_offset: int             # absolute offset where tensor data starts
    header_size: int             # bytes up to the end of the tensor infos (before padding)
    file_size: int | None
    kv: dict[str, KV]            # in file order
    tensors: list[TensorInfo]    # in file order

    def __init__(self, path: str, version: int, alignment: int, data_offset: int, header_size: int,
                 file_size: int | None, kv: dict[str, KV] | None = None, tensors: list[TensorInfo] | None = None):
        self.path = path
        self.version = version
        self.alignment = alignment
        self.data_offset = data_offset
        self.header_size = header_size
        self.file_size = file_size
        self.kv = {} if kv is None else kv
        self.tensors = [] if tensors is None else tensors

    def value(self, key: str, default: Any = None) -> Any:
        """The value of metadata key `key` (int/float/bool/str, or an ArrayValue), `default` when
        absent."""
        kv = self.kv.get(key)
        return default if kv is None else kv.value

    @property
    def architecture(self) -> str | None:
        """general.architecture when stored as text (lint GG100 reports any other type)."""
        arch = self.value("general.architecture")
        return arch if isinstance(arch, str) else None

    def arch_value(self, suffix: str, default: Any = None) -> Any:
        """`{arch}.{suffix}`, e.g. arch_value("context_length")."""
        arch = self.architecture
        return default if arch is None else self.value(f"{arch}.{suffix}", default)

    @property
    def tokens(self) -> Sequence[str]:
        """tokenizer.ggml.tokens, decoded lazily; empty when absent or not an array of strings."""
        v = self.value("tokenizer.ggml.tokens")
        return v if isinstance(v, ArrayValue) and v.item_type == GGUFValueType.STRING else ()

    @property
    def has_vocabulary(self) -> bool:
        """tokenizer.ggml.tokens is stored as an array of strings (GG103 reports other types)."""
        kv = self.kv.get("tokenizer.ggml.tokens")
        return kv is not None and kv.type == GGUFValueType.ARRAY and kv.array_type == GGUFValueType.STRING

    def chat_templates(self) -> list[tuple[str, str]]:
        """(key, text) of every string value whose key starts with tokenizer.chat_template: the
        default template and the named ones (tokenizer.chat_template.tool_use ...), in header order."""
        return [(key, kv.value) for key, kv in self.kv.items()
                if key.startswith("tokenizer.chat_template") and isinstance(kv.value, str)]

    def token_text(self, token_id: Any) -> str | None:
        """The text of a token id; None for an id that is not an integer inside the vocabulary
        (ids come from the file and may be stored as any type)."""
        toks = self.tokens
        if not _is_int(token_id) or not (0 <= token_id < len(toks)):
            return None
        return toks[token_id]

    @property
    def chat_template(self) -> str | None:
        """tokenizer.chat_template (the default Jinja chat template), None when absent."""
        return self.value("tokenizer.chat_template")

    @property
    def add_bos_token(self) -> bool | None:
        """tokenizer.ggml.add_bos_token: True/False when stored, None when absent (llama.cpp then
        decides by the vocabulary type)."""
        return self.value("tokenizer.ggml.add_bos_token")

    @property
    def bos_text(self) -> str | None:
        """The text of the BOS token (tokenizer.ggml.bos_token_id looked up in
        tokenizer.ggml.tokens), None when either is missing or the id is out of range."""
        return self.token_text(self.value("tokenizer.ggml.bos_token_id"))

    @property
    def eos_text(self) -> str | None:
        """The text of the EOS token (tokenizer.ggml.eos_token_id), None when it cannot be looked
        up."""
        return self.token_text(self.value("tokenizer.ggml.eos_token_id"))

    @property
    def is_projector(self) -> bool:
        """Whether the header describes a multimodal projector: general.type = mmproj, or
        architecture clip (convert_hf_to_gguf.py --mmproj writes both)."""
        return self.value("general.type") == "mmproj" or self.architecture == "clip"

    @property
    def split(self) -> tuple[int, int] | None:
        """(split.no, split.count) when the file belongs to a split set."""
        count, no = self.value("split.count"), self.value("split.no", 0)
        if not _is_int(count):
            return None  # absent, or a type check_parts / lint GG303 reports
        return (int(no) if _is_int(no) else 0), int(count)

    @property
    def n_params(self) -> int:
        """The number of weights: the sum of the tensors' element counts."""
        return sum(t.n_elements for t in self.tensors)

    @property
    def tensor_bytes(self) -> int:
        """Bytes of tensor data the tensor infos describe (padding between tensors not counted)."""
        return sum(t.n_bytes for t in self.tensors)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class ArrayValue(Sequence):
    """Interface of a lazily decoded GGUF array (implemented in reader.py).

    `len()` is free; indexing decodes one element; `to_list()` decodes all; `numpy()` gives a
    numpy array for numeric arrays without a Python object per element.
    """

    item_type: GGUFValueType

    def to_list(self) -> list:  # pragma: no cover - interface
        """Every item decoded: a list of int/float/bool/str (nested arrays as ArrayValues)."""
        ...

    def numpy(self):  # pragma: no cover - interface
        """The items as a numpy array without a Python object per item (numeric arrays only)."""
        ...

    def __eq__(self, other):
        """Equal to an array of the same item type and items, or to a list of the same items."""
        if isinstance(other, ArrayValue):
            return self.item_type == other.item_type and self.to_list() == other.to_list()
        if isinstance(other, (list, tuple)):
            return len(self) == len(other) and \
                self.to_list() == [x.to_list() if isinstance(x, ArrayValue) else x for x in other]
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self.item_type.name} array of {len(self)}>"

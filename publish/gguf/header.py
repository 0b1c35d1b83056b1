"""Typed view of a GGUF header. Produced by `publish.gguf.reader.read_header`.

These are the objects every other module consumes (lint, build, smoke, push); keep them plain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from gguf import GGMLQuantizationType, GGUFValueType


@dataclass(frozen=True, slots=True)  # slots: a header may hold 10^5 of them
class KV:
    key: str
    type: GGUFValueType          # the type as stored on disk (FLOAT32 vs UINT32 is the point)
    value: Any                   # int/float/bool/str for scalars; an ArrayValue for arrays
    offset: int                  # byte offset of the key/value record (its key length field)
    value_offset: int            # byte offset of the value (for a scalar: its bytes; for an array: its item type field)
    array_type: GGUFValueType | None = None  # item type for ARRAY values


@dataclass(frozen=True, slots=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]       # ggml order: ne0 (fastest) first
    ggml_type: GGMLQuantizationType
    offset: int                  # relative to GGUFHeader.data_offset
    n_elements: int
    n_bytes: int
    info_offset: int             # byte offset of this tensor-info record in the file


@dataclass
class GGUFHeader:
    path: str                    # display name: a file path or hf://… URL
    version: int
    alignment: int
    data_offset: int             # absolute offset where tensor data starts
    header_size: int             # bytes up to the end of the tensor infos (before padding)
    file_size: int | None
    kv: dict[str, KV] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)

    def value(self, key: str, default: Any = None) -> Any:
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

    def token_text(self, token_id: Any) -> str | None:
        """The text of a token id; None for an id that is not an integer inside the vocabulary
        (ids come from the file and may be stored as any type)."""
        toks = self.tokens
        if not _is_int(token_id) or not (0 <= token_id < len(toks)):
            return None
        return toks[token_id]

    @property
    def chat_template(self) -> str | None:
        return self.value("tokenizer.chat_template")

    @property
    def add_bos_token(self) -> bool | None:
        return self.value("tokenizer.ggml.add_bos_token")

    @property
    def bos_text(self) -> str | None:
        return self.token_text(self.value("tokenizer.ggml.bos_token_id"))

    @property
    def eos_text(self) -> str | None:
        return self.token_text(self.value("tokenizer.ggml.eos_token_id"))

    @property
    def is_projector(self) -> bool:
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
        return sum(t.n_elements for t in self.tensors)

    @property
    def tensor_bytes(self) -> int:
        return sum(t.n_bytes for t in self.tensors)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


class ArrayValue(Sequence):
    """Interface of a lazily decoded GGUF array (implemented in reader.py).

    `len()` is free; indexing decodes one element; `to_list()` decodes all; `numpy()` gives a
    numpy array for numeric arrays without a Python object per element.
    """

    item_type: GGUFValueType

    def to_list(self) -> list: ...  # pragma: no cover - interface

    def numpy(self): ...  # pragma: no cover - interface

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

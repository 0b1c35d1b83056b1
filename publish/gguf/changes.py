"""Edits to a GGUF header, produced by lint rules and applied by `publish fix` (fix.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from publish.gguf.constants import GGUFValueType


@dataclass(frozen=True)
class SetValue:
    """Set `key` to `value` stored as `type` (adds the key when absent)."""
    key: str
    value: Any
    type: GGUFValueType
    array_type: GGUFValueType | None = None
    reason: str = ""


@dataclass(frozen=True)
class RemoveKey:
    """A header change that deletes the metadata key `key`; `reason` is shown in the fix plan."""
    key: str
    reason: str = ""


Change = Union[SetValue, RemoveKey]


def type_label(vtype: GGUFValueType, array_type: GGUFValueType | None = None) -> str:
    """A stored type as messages show it: UINT32, ARRAY[INT32]."""
    return f"ARRAY[{array_type.name}]" if vtype == GGUFValueType.ARRAY and array_type is not None else vtype.name

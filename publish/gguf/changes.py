"""Edits to a GGUF header, produced by lint rules and applied by `publish fix` (fix.py)."""

from __future__ import annotations

from publish.gguf.constants import GGUFValueType
from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Any


class SetValue(Record):
    """Set `key` to `value` stored as `type` (adds the key when absent). Frozen."""

    __slots__ = ("key", "value", "type", "array_type", "reason")
    frozen = True
    key: str
    value: Any
    type: GGUFValueType
    array_type: GGUFValueType | None
    reason: str

    def __init__(self, key: str, value: Any, type: GGUFValueType, array_type: GGUFValueType | None = None,
                 reason: str = ""):
        self._fill(key, value, type, array_type, reason)


class RemoveKey(Record):
    """A header change that deletes the metadata key `key`; `reason` is shown in the fix plan. Frozen."""

    __slots__ = ("key", "reason")
    frozen = True
    key: str
    reason: str

    def __init__(self, key: str, reason: str = ""):
        self._fill(key, reason)


Change = SetValue | RemoveKey  # types.UnionType: no typing import


def type_label(vtype: GGUFValueType, array_type: GGUFValueType | None = None) -> str:
    """A stored type as messages show it: UINT32, ARRAY[INT32]."""
    return f"ARRAY[{array_type.name}]" if vtype == GGUFValueType.ARRAY and array_type is not None else vtype.name

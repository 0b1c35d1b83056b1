"""Edits to a GGUF header, produced by lint rules and applied by `publish fix` (fix.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from gguf import GGUFValueType


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
    key: str
    reason: str = ""


Change = Union[SetValue, RemoveKey]

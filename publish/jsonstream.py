"""Write JSON in pieces, so a document holding a 250 MiB string never exists twice in memory.

`json.dumps` builds the whole text (a string of control characters grows sixfold as `\\u0001`
escapes) and `click.echo` then encodes all of it once more; `publish inspect --json` of a GGUF with
one 250 MiB string key needed 9 GB that way. `write_json` produces exactly the text of
`json.dumps(obj, indent=indent, ensure_ascii=False)` but hands it to `write` piece by piece,
long strings in slices of `CHUNK` characters: memory beyond the document itself stays O(CHUNK).
"""

from __future__ import annotations

import json
TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Any, Callable

CHUNK = 1 << 16  # characters of a long string encoded at a time

_encode = json.JSONEncoder(ensure_ascii=False).encode


def write_json(obj: Any, write: Callable[[str], Any], *, indent: int = 2) -> None:
    """Write `obj` as JSON (dicts, lists, tuples, str, int, float, bool, None) through `write`;
    the pieces joined equal json.dumps(obj, indent=indent, ensure_ascii=False)."""
    _write(obj, write, indent, 0)


def _write(obj: Any, write: Callable[[str], Any], indent: int, level: int) -> None:
    if isinstance(obj, str):
        if len(obj) <= CHUNK:
            write(_encode(obj))
            return
        write('"')
        for i in range(0, len(obj), CHUNK):
            write(_encode(obj[i:i + CHUNK])[1:-1])  # code points, so a slice never splits a character
        write('"')
        return
    if isinstance(obj, dict):
        if not obj:
            write("{}")
            return
        inner = "\n" + " " * (indent * (level + 1))
        write("{")
        for n, (key, value) in enumerate(obj.items()):
            write(("," if n else "") + inner + _encode(str(key)) + ": ")  # keys are str here
            _write(value, write, indent, level + 1)
        write("\n" + " " * (indent * level) + "}")
        return
    if isinstance(obj, (list, tuple)):
        if not obj:
            write("[]")
            return
        inner = "\n" + " " * (indent * (level + 1))
        write("[")
        for n, value in enumerate(obj):
            write(("," if n else "") + inner)
            _write(value, write, indent, level + 1)
        write("\n" + " " * (indent * level) + "]")
        return
    write(_encode(obj))

"""Text from files, made safe for a terminal: the one escaping every command's text output uses.

Keys, values, names, chat templates and token texts come from strangers' files. Printed raw, an
ESC starts a terminal escape sequence (`\\x1b[2J` clears the screen, OSC 8 hides a link, OSC 52
writes the clipboard), a carriage return overwrites what was printed, and a line break in
`general.name` forges an output line. So:

- `one_line(text)`: a field that must stay on its line (a name, a path, a token, a message):
  every C0 control (line breaks as `\\n`, `\\r`, tab as `\\t`, others as `\\xNN`), DEL, every C1
  control (`\\x9b` is CSI on terminals that read 8-bit controls), the Unicode line and paragraph
  separators and the bidirectional embedding/override/isolate controls (which reorder what a
  line shows) are written as escapes.
- `block(text)`: several lines of file text (a template, a prompt, a report made of such fields):
  the same, except that line feeds and tabs stay.
- `json_dumps(obj)`: JSON for tools: `json.dumps(..., ensure_ascii=False)` (which escapes C0 controls
  already) with C1 controls, U+2028/U+2029 and bidi controls also as `\\uXXXX`: still the exact
  values for a JSON reader, and nothing a terminal acts on.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Any

_SPECIAL = {0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}
_UNSAFE = [*range(0x20), 0x7F, *range(0x80, 0xA0), 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]


def _escape(c: int) -> str:
    if c in _SPECIAL:
        return _SPECIAL[c]
    return f"\\x{c:02x}" if c <= 0xFF else f"\\u{c:04x}"


ONE_LINE = {c: _escape(c) for c in _UNSAFE}
BLOCK = {c: v for c, v in ONE_LINE.items() if c not in (0x0A, 0x09)}
_JSON = {c: f"\\u{c:04x}" for c in _UNSAFE if c >= 0x7F}   # json.dumps already escapes C0


def one_line(text: Any) -> str:
    """`text` (str() of it) with every character that could act on a terminal or break the line escaped."""
    return str(text).translate(ONE_LINE)


def block(text: Any) -> str:
    """Like one_line, but line feeds and tabs stay: for multi-line text shown as it is."""
    return str(text).translate(BLOCK)


def json_safe(text: str) -> str:
    """JSON text (or any piece of it) from json.dumps(..., ensure_ascii=False), with the characters
    a terminal acts on as \\uXXXX. They can occur only inside JSON strings (the syntax is ASCII),
    so the document decodes to exactly the same values; one character at a time, so pieces of a
    streamed document can be passed separately."""
    return text.translate(_JSON)


def json_dumps(obj: Any, **kwargs: Any) -> str:
    """json.dumps(obj, ensure_ascii=False, **kwargs) made terminal-safe by json_safe."""
    import json  # here: `publish lint FILE` prints text and never needs it

    return json_safe(json.dumps(obj, ensure_ascii=False, **kwargs))


def shell_command(*words: Any) -> str:
    """A command line a user can paste into a POSIX shell: each word (str() of it) quoted with
    shlex.quote where it needs it, so a path with spaces or `$` stays one argument (`publish lint
    'sp ace/out dir'`). Plain words (`publish`, `--select`, `GG702`, `hf.co/org/x:Q4_K_M`) are left
    as they are. Printed through one_line like any other text from files."""
    import shlex

    return " ".join(shlex.quote(str(w)) for w in words)


def error_text(err: BaseException) -> str:
    """`error: MESSAGE` and, for a PublishError with a hint, `  hint: HINT`; each kept on its line.
    An error holding several (`errors`, as publish.errors.SpecErrors) gives one such block each."""
    several = getattr(err, "errors", None)
    if isinstance(several, list) and several:
        return "\n".join(error_text(e) for e in several)
    message = getattr(err, "message", None)
    if message is None:
        return f"error: {one_line(err)}"
    hint = getattr(err, "hint", None)
    return f"error: {one_line(message)}" + (f"\n  hint: {one_line(hint)}" if hint else "")

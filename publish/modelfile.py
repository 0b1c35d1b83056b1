"""Ollama Modelfiles: parse, validate, render.

The parser follows the behaviour of Ollama's `parser.ParseFile` (read, not copied):

- one instruction per line, the name case-insensitive: FROM, PARAMETER, TEMPLATE, SYSTEM, ADAPTER,
  LICENSE, MESSAGE, REQUIRES (and DRAFT, RENDERER, PARSER, which current Ollama also accepts);
- `#` starts a comment only where an instruction could start (start of a line);
- a value runs to the first line break at which the value read so far, trimmed, is complete:
  unquoted, `"…"` or `\"\"\"…\"\"\"` (no escapes). So a quoted value may span lines, and it ends
  at the first line that ends in the closing quote;
- surrounding whitespace of a value is trimmed; inside quotes it is kept;
- characters Go's `unicode.IsPrint` rejects (other than tab, CR, LF) are silently dropped;
- PARAMETER takes exactly one space before its name, names are case-sensitive;
- repeated `stop`, LICENSE and MESSAGE accumulate, everything else: the last one wins;
- at least one FROM is required.

Rendering goes through the top-level `Modelfile.j2` with `mf_quote`, which picks the plainest
quoting that this parser reads back as exactly the value, and raises ModelfileError otherwise.
"""

from __future__ import annotations

import json
import math
import re
import struct
import unicodedata
import warnings
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping

from publish.errors import ModelfileError

COMMANDS = ("from", "license", "template", "system", "adapter", "draft", "renderer", "parser",
            "parameter", "message", "requires")
MESSAGE_ROLES = ("system", "user", "assistant")

# Ollama's api.Options + api.Runner (JSON tag -> Go kind). Taken from api/types.go.
PARAMETER_TYPES: dict[str, type] = {
    # runner (load time)
    "num_ctx": int, "num_batch": int, "num_gpu": int, "main_gpu": int, "use_mmap": bool,
    "num_thread": int,
    # predict (run time)
    "num_keep": int, "seed": int, "num_predict": int, "top_k": int, "top_p": float, "min_p": float,
    "typical_p": float, "repeat_last_n": int, "temperature": float, "repeat_penalty": float,
    "presence_penalty": float, "frequency_penalty": float, "stop": list,
}
# parser.deprecatedParameters: Ollama prints a warning and ignores them.
DEPRECATED_PARAMETERS = ("penalize_newline", "low_vram", "f16_kv", "logits_all", "vocab_only",
                         "use_mlock", "mirostat", "mirostat_tau", "mirostat_eta")
# Removed from Ollama's options: now "unknown parameter" errors. Named so the message can say so.
REMOVED_PARAMETERS = ("tfs_z", "numa")

_FLOAT32_MAX = 3.4028234663852886e38
_INT = re.compile(r"[+-]?[0-9]+\Z")
# Go's strconv.ParseFloat syntax (Go 1.26, internal/strconv/atof.go: readFloat, special): decimal
# or hexadecimal (0x…p±N, the exponent required), `_` between digits, or inf/infinity/nan.
_GO_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:[eE][+-]?[0-9][0-9_]*)?\Z")
_GO_HEX_FLOAT = re.compile(r"[+-]?0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9][0-9_]*\Z")
_GO_SPECIAL_FLOAT = re.compile(r"[+-]?(?:inf|infinity)\Z|nan\Z", re.IGNORECASE)
_GO_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
            "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


class ModelfileWarning(UserWarning):
    """A deprecated PARAMETER that Ollama ignores with a warning."""


@dataclass(frozen=True)
class Command:
    """One Modelfile instruction as Ollama's parser returns it (parser/parser.go v0.24.0, Command):
    `name` lower-case ("model" for FROM, as Ollama names it; a PARAMETER's own name for a
    parameter), `args` the value with quoting removed, `line` the 1-based line it starts on."""
    name: str    # lower-case instruction ("model" for FROM, like Ollama) or the PARAMETER name
    args: str
    line: int    # line the instruction starts on


@dataclass
class Modelfile:
    """A parsed Modelfile: its commands in file order (`parse`, `parse_file`), with the accessors
    below for what `ollama create` takes from them (Modelfile.CreateRequest in parser/parser.go,
    Ollama v0.24.0: the last TEMPLATE/SYSTEM wins, every FROM and LICENSE counts)."""
    commands: list[Command] = field(default_factory=list)

    def _last(self, name: str) -> str | None:
        values = [c.args for c in self.commands if c.name == name]
        return values[-1] if values else None

    @property
    def from_(self) -> list[str]:
        """Every FROM value in order (the model, then e.g. an mmproj projector)."""
        return [c.args for c in self.commands if c.name == "model"]

    @property
    def template(self) -> str | None:
        """The last TEMPLATE's text (the Go template), None when there is none."""
        return self._last("template")

    @property
    def system(self) -> str | None:
        """The last SYSTEM's text, None when there is none."""
        return self._last("system")

    @property
    def adapter(self) -> str | None:
        """The last ADAPTER's value (a LoRA adapter file), None when there is none."""
        return self._last("adapter")

    @property
    def requires(self) -> str | None:
        """The last REQUIRES value (the minimum Ollama version), None when there is none."""
        return self._last("requires")

    @property
    def licenses(self) -> list[str]:
        """Every LICENSE text in order."""
        return [c.args for c in self.commands if c.name == "license"]

    @property
    def messages(self) -> list[tuple[str, str]]:
        """Every MESSAGE as (role, content), in order."""
        out = []
        for c in self.commands:
            if c.name == "message":
                role, _, content = c.args.partition(": ")
                out.append((role, content))
        return out

    @property
    def raw_parameters(self) -> list[Command]:
        """The PARAMETER commands, unconverted (name and text as written), in order."""
        return [c for c in self.commands if c.name not in _INSTRUCTION_NAMES]

    def parameters(self, *, source: str = "Modelfile") -> dict[str, Any]:
        """Typed parameters as Ollama stores them: stop accumulates, others last-wins.
        Deprecated names warn (ModelfileWarning) and are dropped; unknown names raise, and so
        does an Inf/NaN float left after last-wins (`ollama create` cannot store it)."""
        out: dict[str, Any] = {}
        lines: dict[str, int] = {}
        for c in self.raw_parameters:
            value = parse_parameter(c.name, c.args, where=f"{source}:{c.line}")
            if value is None:
                continue
            if c.name == "stop":
                out.setdefault("stop", []).extend(value)
            else:
                out[c.name], lines[c.name] = value, c.line
        for name, value in out.items():
            if isinstance(value, float) and not math.isfinite(value):
                # Ollama reads it, then cannot store it: its params layer is JSON, which has no
                # Inf/NaN (`ollama create` fails with "json: unsupported value").
                raise ModelfileError(f"{source}:{lines[name]}: {name} must be a finite number (got {value}); "
                                     "`ollama create` cannot store it")
        return out


_INSTRUCTION_NAMES = {"model", "license", "template", "system", "adapter", "draft", "renderer",
                      "parser", "message", "requires"}


def go_is_print(ch: str) -> bool:
    """Go's unicode.IsPrint (Go 1.26 src/unicode/graphic.go): letters, marks, numbers,
    punctuation, symbols and U+0020."""
    return ch == " " or unicodedata.category(ch)[0] in "LMNPS"


def _is_space(ch: str) -> bool:
    return ch in " \t"


def _is_newline(ch: str) -> bool:
    return ch in "\r\n"


def _go_trim_space(s: str) -> str:
    # Only printable runes and tab/CR/LF reach the buffer, so Go's TrimSpace reduces to these.
    return s.strip(" \t\r\n")


def _unquote(s: str) -> tuple[str, bool]:
    if s.startswith('"""'):
        if len(s) >= 6 and s.endswith('"""'):
            return s[3:-3], True
        return "", False
    if s.startswith('"'):
        if len(s) >= 2 and s.endswith('"'):
            return s[1:-1], True
        return "", False
    return s, True


_NIL, _NAME, _VALUE, _PARAMETER, _MESSAGE, _COMMENT = range(6)
_LINE_BREAK = re.compile(r"[\r\n]")
_WS = " \t\r\n"


def _printable_part(chunk: str) -> str:
    """The characters of one line that Ollama's parser keeps (Go's unicode.IsPrint, and tab).
    Python's str.isprintable is the same set as Go's IsPrint (L, M, N, P, S and U+0020), so the
    usual line needs no per-character look-up."""
    if chunk.isprintable() or chunk.replace("\t", "").isprintable():
        return chunk
    return "".join(ch for ch in chunk if ch == "\t" or go_is_print(ch))


_QUOTE_END = re.compile(r'"[ \t]*[\r\n]')
_BLOCK_END = re.compile(r'"""[ \t]*[\r\n]')


def _is_plain(text: str, i: int, j: int) -> bool:
    """True when text[i:j] holds no character Ollama's parser drops (see _printable_part)."""
    seg = text[i:j]
    return seg.isprintable() or seg.replace("\t", "").replace("\r", "").replace("\n", "").isprintable()


class _Value:
    """The value being read, with what the end-of-line test needs kept up to date: the first and
    last three characters of the trimmed value and its length. Deciding whether a line break ends
    the value costs O(1) instead of re-joining everything read so far (Ollama re-reads its whole
    buffer at each break; here that made a 200 KB system prompt take 35 s to quote)."""

    __slots__ = ("parts", "size", "first", "end", "head", "tail", "pending")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.first: int | None = None   # offset of the first non-space character
        self.end = 0                    # offset just past the last non-space character
        self.head = ""                  # the trimmed value's first three characters
        self.tail = ""                  # ... and its last three
        self.pending: list[str] = []    # whitespace read after `end`

    def add(self, piece: str) -> None:
        if not piece:
            return
        core = piece.strip(_WS)
        if not core:
            self.pending.append(piece)
        else:
            lead = len(piece) - len(piece.lstrip(_WS))
            if self.first is None:
                self.first = self.size + lead
                self.head, self.tail = core[:3], core[-3:]
            else:
                gap = "".join(self.pending) + piece[:lead]
                if len(self.head) < 3:
                    self.head = (self.head + gap + core)[:3]
                self.tail = (self.tail + gap[-3:] + core)[-3:]
            self.end = self.size + lead + len(core)
            trail = piece[lead + len(core):]
            self.pending = [trail] if trail else []
        self.parts.append(piece)
        self.size += len(piece)

    def closing(self) -> str | None:
        """The quote that must end a line for the value to end there, once the value has text
        and a line break after it; None while unknown and for a bare value."""
        if self.first is None or not self.head.startswith('"'):
            return None
        return '"""' if self.head == '"""' else '"'

    def complete(self) -> bool:
        """Ollama's unquote(TrimSpace(value)) succeeds: unquoted, or closed by its own quotes."""
        if self.first is None:
            return True
        length = self.end - self.first
        if self.head.startswith('"""'):
            return length >= 6 and self.tail == '"""'
        if self.head.startswith('"'):
            return length >= 2 and self.tail.endswith('"')
        return True

    def text(self) -> tuple[str, bool]:
        return _unquote(_go_trim_space("".join(self.parts)))


def _read_value(text: str, i: int) -> tuple[_Value, int]:
    """Read a value from text[i:]: (the value, index of the line break that ends it, or len(text)).

    Line by line; inside a quoted value, a stretch with nothing to drop is taken in one step up
    to the next line that ends in the closing quote (a regex search), so the cost is linear in
    the text whatever its lines look like."""
    n = len(text)
    value = _Value()
    cand, clean = -1, False
    while True:
        closing = value.closing()
        if closing is not None and cand < i:
            m = (_BLOCK_END if closing == '"""' else _QUOTE_END).search(text, i)
            cand = m.end() - 1 if m else n
            clean = _is_plain(text, i, cand)
        if closing is not None and clean and cand >= i:
            j = cand
            value.add(text[i:j])
        else:
            m = _LINE_BREAK.search(text, i)
            j = m.start() if m else n
            value.add(_printable_part(text[i:j]))
        if j == n or value.complete():
            return value, j
        value.add(text[j])
        i = j + 1


def parse(text: str | bytes, *, source: str = "Modelfile") -> Modelfile:
    """Parse Modelfile text (str, or bytes decoded as UTF-8 with U+FFFD for bad bytes).
    Raises ModelfileError naming `source` and the line (`err.line`); a Modelfile without FROM
    raises one with `err.reason == ModelfileError.NO_FROM`. Time and memory are linear in the
    length of `text`."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    mf = Modelfile()
    state, line, start_line = _NIL, 1, 1
    buf: list[str] = []
    value = _Value()  # the value at the end of the text, if it ends inside one
    name = role = ""

    def fail(msg: str, at: int) -> ModelfileError:
        return ModelfileError(f"{source}:{at}: {msg}", line=at)

    invalid_command = ('unknown instruction; use one of FROM, PARAMETER, TEMPLATE, SYSTEM, ADAPTER, '
                       'LICENSE, MESSAGE, REQUIRES (DRAFT, RENDERER, PARSER)')

    i, n = 0, len(text)
    while i < n:
        if state == _COMMENT:
            m = _LINE_BREAK.search(text, i)
            if m is None:
                break
            i, line, state = m.end(), line + 1, _NIL
            continue
        if state == _VALUE:
            value, j = _read_value(text, i)
            line += text.count("\n", i, j) + text.count("\r", i, j)
            if j == n:
                break
            i, line = j + 1, line + 1
            got, _ = value.text()
            if role:
                got, role = f"{role}: {got}", ""
            mf.commands.append(Command(name, got, start_line))
            state, value = _NIL, _Value()
            continue
        ch = text[i]
        i += 1
        if _is_newline(ch):
            line += 1
        if state == _NIL:
            if ch == "#":
                state = _COMMENT
            elif not (_is_space(ch) or _is_newline(ch)):
                state, buf, start_line = _NAME, [], line
                if go_is_print(ch):
                    buf.append(ch)
            continue
        if state == _NAME:
            if ch.isascii() and ch.isalpha():
                buf.append(ch)
                continue
            word = "".join(buf)
            if not _is_space(ch) or word.lower() not in COMMANDS:
                raise fail(invalid_command + (f" (got {word!r})" if word else ""), line)
            word = word.lower()
            buf = []
            if word == "parameter":
                state = _PARAMETER
            elif word == "message":
                state, name = _MESSAGE, "message"
            else:
                state, name = _VALUE, ("model" if word == "from" else word)
            continue
        if state == _PARAMETER:
            if ch.isascii() and (ch.isalnum() or ch == "_"):
                buf.append(ch)
            elif _is_space(ch):
                state, name, buf = _VALUE, "".join(buf), []
            else:
                raise fail(f"PARAMETER name may only hold letters, digits and _ (got {ch!r})", line)
            continue
        if state == _MESSAGE:
            if ch.isascii() and ch.isalpha():
                buf.append(ch)
            elif _is_space(ch):
                role = "".join(buf)
                if role not in MESSAGE_ROLES:
                    raise fail(f'MESSAGE role must be one of "system", "user", "assistant" (got {role!r})', line)
                state, buf = _VALUE, []
            else:
                raise fail("MESSAGE needs a role and a value, e.g. MESSAGE user Hello", line)
            continue

    if state == _VALUE:
        got, ok = value.text()
        if not ok:
            raise fail("unterminated quoted value: close it with the same quotes it opened with "
                       '(" or """) at the end of a line', start_line)
        if role:
            got = f"{role}: {got}"
        mf.commands.append(Command(name, got, start_line))
    elif state not in (_NIL, _COMMENT):
        raise fail("instruction without a value at end of file", start_line)

    if not mf.from_:
        raise ModelfileError(f"{source}: no FROM line; add `FROM ./model.gguf`", reason=ModelfileError.NO_FROM)
    return mf


def parse_file(path: str | Path) -> Modelfile:
    """Parse the Modelfile at `path` (read by `publish.fsutil.read_utf8`: strict UTF-8, a leading
    BOM dropped as Ollama does). Raises TextFileError (missing, too large, not UTF-8: the byte
    offset is named; Ollama would replace such bytes with U+FFFD and garble the text silently) or
    ModelfileError (naming the file and line)."""
    from publish.fsutil import read_utf8

    return parse(read_utf8(path, hint="save the Modelfile as UTF-8"), source=str(path))


# -- Go number syntax ---------------------------------------------------------------------------

def _go_underscores_ok(text: str) -> bool:
    """Go's rule for `_` in a number (strconv underscoreOK): only between digits, or right after
    a base prefix."""
    body = text[1:] if text[:1] in "+-" else text
    hexa = body[:2].lower() == "0x"
    saw = "0" if hexa else "^"   # 0: a digit or the base prefix; _: an underscore; !: other
    for ch in body[2:] if hexa else body:
        if ch.isdigit() or (hexa and ch.lower() in "abcdef"):
            saw = "0"
        elif ch == "_":
            if saw != "0":
                return False
            saw = "_"
        elif saw == "_":
            return False
        else:
            saw = "!"
    return saw != "_"


def float32(value: float) -> float:
    """`value` rounded to the nearest float32 (ties to even), as a Python float. Raises
    OverflowError when it rounds past float32's range (Go: "value out of range")."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _nearest_float32(exact: Fraction) -> float:
    """The float32 nearest the exact rational `exact` (ties to even), without double rounding."""
    sign = -1.0 if exact < 0 else 1.0
    q = abs(exact)
    if q >= Fraction(_FLOAT32_MAX) + Fraction(2) ** 103:   # at or past half an ulp above the max
        raise OverflowError("out of float32 range")
    try:
        guess = float32(float(q))
    except OverflowError:
        guess = _FLOAT32_MAX
    bits = struct.unpack("<I", struct.pack("<f", guess))[0]
    candidates = [bits] + [b for b in (bits - 1, bits + 1) if 0 <= b <= 0x7F7FFFFF]
    as_float = {b: struct.unpack("<f", struct.pack("<I", b))[0] for b in candidates}
    best = min(candidates, key=lambda b: (abs(Fraction(as_float[b]) - q), b & 1))
    return sign * as_float[best]


def go_parse_float32(text: str) -> float | None:
    """What Go's `strconv.ParseFloat(text, 32)` returns, as Ollama reads a float PARAMETER
    (api.FormatParams, api/types.go v0.24.0): the nearest float32, or ±inf/nan for those words;
    None where Go reports a syntax error or a value out of float32's range."""
    if _GO_SPECIAL_FLOAT.match(text):
        lower = text.lower()
        return math.nan if lower == "nan" else (-math.inf if lower.startswith("-") else math.inf)
    hexa = _GO_HEX_FLOAT.match(text)
    if not (hexa or _GO_DEC_FLOAT.match(text)) or ("_" in text and not _go_underscores_ok(text)):
        return None
    digits = text.replace("_", "")  # every `_` left is between digits: no digit is lost
    try:
        if hexa:
            sign = -1 if digits.startswith("-") else 1
            mant, _, exp = digits.lstrip("+-")[2:].lower().partition("p")
            whole, _, frac = mant.partition(".")
            exact = Fraction(int(whole + frac or "0", 16), 16 ** len(frac)) * Fraction(2) ** int(exp) * sign
        else:
            exact = Fraction(Decimal(digits))
        return _nearest_float32(exact)
    except (OverflowError, InvalidOperation, ValueError):
        return None


# -- validation -------------------------------------------------------------------------------

def stop_list(value: Any, *, drop_empty: bool = False) -> list[str]:
    """The `stop` parameter as a list of strings, the one normaliser for every reader of it.

    A list keeps its strings in order (non-strings dropped: lint reports them); a string is one
    stop (what the author meant; real Ollama refuses it, ollama_option_error, which lint and the
    smoke check first); None or anything else gives []. Empty strings are kept for lint, which reports them (an
    empty stop ends every answer before it begins); `drop_empty` leaves them out, as an engine
    does before generating (the smoke engines' view)."""
    if isinstance(value, str):
        stops = [value]
    elif isinstance(value, (list, tuple)):
        stops = [s for s in value if isinstance(s, str)]
    else:
        return []
    return [s for s in stops if s] if drop_empty else stops


def parse_parameter(name: str, raw: str, *, where: str = "Modelfile") -> Any:
    """Convert a PARAMETER's text as Ollama's api.FormatParams does (api/types.go v0.24.0):
    int options as Go's ParseInt (base 10, int64), float options as ParseFloat(raw, 32) (so the
    value is the float32 Ollama keeps: 0.7 reads as 0.699999988079071), bools as ParseBool.
    Returns None for deprecated names (after a ModelfileWarning); raises ModelfileError for
    unknown names and bad values. Inf/NaN are returned as Go reads them (a later line may
    replace them); Modelfile.parameters() refuses them if they are the values left."""
    if name in DEPRECATED_PARAMETERS:
        warnings.warn(f"{where}: parameter {name} is deprecated; Ollama ignores it, remove it",
                      ModelfileWarning, stacklevel=3)
        return None
    kind = PARAMETER_TYPES.get(name)
    if kind is None:
        raise _fault(where, f"unknown parameter {name!r}", _unknown_hint(name))
    if kind is list:
        return [raw]
    if kind is int:
        if not _INT.match(raw) or not -(2**63) <= int(raw) < 2**63:
            raise _fault(where, f"{name} must be an integer (got {raw!r})")
        return int(raw)
    if kind is float:
        value = go_parse_float32(raw)
        if value is None:
            raise _fault(where, f"{name} must be a number (got {raw!r})")
        return value   # Inf/NaN included, as Ollama reads them: Modelfile.parameters() refuses them
    if raw not in _GO_BOOL:
        raise _fault(where, f"{name} must be true or false (got {raw!r})")
    return _GO_BOOL[raw]


def _fault(where: str, problem: str, hint: str | None = None) -> ModelfileError:
    """A bad parameter value: `problem` kept apart from `where` and `hint` for callers that
    report it under their own location (spec key, lint finding)."""
    return ModelfileError(f"{where}: {problem}", problem=problem, hint=hint)


def _unknown_hint(name: str) -> str:
    import difflib

    if name in REMOVED_PARAMETERS:
        return "Ollama removed it, delete the line"
    close = difflib.get_close_matches(name, list(PARAMETER_TYPES), n=1)
    return f"did you mean {close[0]!r}?" if close else "see `ollama show --parameters` for valid names"


def check_parameter_value(name: str, value: Any, *, where: str) -> Any:
    """Validate a typed value (from a spec or a params JSON) against Ollama's option types. Returns
    the normalised value (ints given for float options become floats). Raises ModelfileError
    (`problem` and `hint` kept apart, `where` prefixed to the message) for a deprecated or unknown
    name or a value of the wrong type or range."""
    if name in DEPRECATED_PARAMETERS:
        raise _fault(where, f"{name} is deprecated and ignored by Ollama", "remove it")
    kind = PARAMETER_TYPES.get(name)
    if kind is None:
        raise _fault(where, f"unknown Ollama parameter {name!r}", _unknown_hint(name))
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise _fault(where, 'stop must be an array of strings, e.g. ["<end_of_turn>"]')
        if any(s == "" for s in value):
            raise _fault(where, "an empty stop string would end every answer at once", "remove it")
        return list(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise _fault(where, f"{name} must be true or false (got {value!r})")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fault(where, f"{name} must be a number (got {value!r})")
    if kind is int:
        if not isinstance(value, int):
            raise _fault(where, f"{name} must be an integer (got {value!r})")
        if not -(2**63) <= value < 2**63:
            raise _fault(where, f"{name} is out of range (got {value})")
        return value
    value = float(value)
    try:
        float32(value)   # Ollama keeps float options as float32
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise _fault(where, f"{name} must be a finite number within float32's range (got {value!r})")
    return value


def ollama_option_error(name: str, value: Any) -> str | None:
    """The error real Ollama answers EVERY /api/generate and /api/chat request with when a model's
    `params` (or the request's options) hold `value` for `name`, or None when it takes the value.

    Mirrors api.Options.FromMap (api/types.go, Ollama v0.24.0), called by server/routes.go
    modelOptions on the model's params and then on the request's options: `value` is what JSON
    decoding gives (str, int, float, bool, list, dict, None). Unknown (and deprecated) names are
    ignored (a server-log warning only); None is skipped; int options take any JSON number (1.5
    is truncated to 1, not refused); float options any JSON number, but one beyond float32's range
    becomes ±Inf, which llm/server.go Completion then fails to encode for the runner (after the
    model loaded: "failed to marshal data: json: unsupported value: +Inf"); `use_mmap` only
    true/false; `stop` only an array of strings. Nothing is converted from text: `"4096"` for
    num_ctx is refused. The text is Ollama's own, e.g. `option "stop" must be of type array`."""
    kind = PARAMETER_TYPES.get(name)
    if kind is None or value is None:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int and not number:
        return f"option {_go_quote(name)} must be of type integer"
    if kind is float and not number:
        return f"option {_go_quote(name)} must be of type float32"
    if kind is bool and not isinstance(value, bool):
        return f"option {_go_quote(name)} must be of type boolean"
    if kind is list:
        if not isinstance(value, list):
            return f"option {_go_quote(name)} must be of type array"
        if not all(isinstance(s, str) for s in value):
            return f"option {_go_quote(name)} must be of an array of strings"
    if kind is float:
        try:
            float32(float(value))
        except OverflowError:   # the float32 field holds ±Inf, which the request to the runner cannot encode
            return f"failed to marshal data: json: unsupported value: {'+Inf' if value > 0 else '-Inf'}"
    return None


def ollama_option_errors(params: dict) -> dict[str, str]:
    """name -> ollama_option_error for each `params` value real Ollama refuses (sorted by name;
    Ollama itself reports one of them, whichever its map iteration meets first)."""
    return {name: err for name in sorted(params)
            if (err := ollama_option_error(name, params[name])) is not None}


def _go_quote(text: str) -> str:
    """Go's %q of an option name (ASCII names: json.dumps writes the same)."""
    return json.dumps(text)


def ollama_value(name: str, value: Any) -> Any:
    """The value Ollama keeps for a typed parameter: float options as float32 (api.Options), ±inf
    beyond float32's range (Go's float32 conversion)."""
    if PARAMETER_TYPES.get(name) is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return float32(float(value))
        except OverflowError:
            return math.copysign(math.inf, value)
    return value


def format_parameter(value: Any) -> str:
    """The text Ollama parses back to `value`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


# -- quoting and rendering --------------------------------------------------------------------

def _reads_back(candidate: str, value: str) -> bool:
    try:
        mf = parse(f"FROM x\nSYSTEM {candidate}\n")
    except ModelfileError:
        return False
    return [c.args for c in mf.commands if c.name == "system"] == [value]


def quote(value: str, *, what: str = "value", prefer_block: bool = False) -> str:
    """Quote `value` so Ollama's parser reads back exactly `value`: bare when that is safe,
    else `"…"`, else `\"\"\"…\"\"\"` (or the block form first with prefer_block).
    Raises ModelfileError when no form reads back the same text."""
    plain = value.replace("\t", "").replace("\r", "").replace("\n", "")
    bad = None if plain.isprintable() else next(ch for ch in plain if not go_is_print(ch))
    if bad is not None:
        problem = f"contains U+{ord(bad):04X}, which Ollama's Modelfile parser silently drops"
        raise ModelfileError(f"{what} {problem}", problem=problem, hint="remove it or write it as text")
    forms = [f'"""{value}"""', f'"{value}"'] if prefer_block else [value, f'"{value}"', f'"""{value}"""']
    for form in forms:
        if form == value and (value == "" or value != value.strip() or any(c in value for c in "\r\n")):
            continue
        if _reads_back(form, value):
            return form
    problem = ('cannot be written into a Modelfile: no quoting ("…" or """…""") reads it back '
               'unchanged (it contains """ or a line ending in a quote)')
    raise ModelfileError(f"{what} {problem}", problem=problem, hint="change the text")


@dataclass(frozen=True)
class ModelfileSpec:
    """What one rendered Modelfile holds."""
    from_: tuple[str, ...]
    template: str | None = None
    system: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)   # stop: list[str]
    licenses: tuple[str, ...] = ()
    header: str | None = None   # comment line at the top


def _environment():
    import jinja2

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["mf_quote"] = lambda v, what="value", block=False: quote(v, what=what, prefer_block=block)
    return env


def render(spec: ModelfileSpec, *, template_path: Path | None = None) -> str:
    """Render a Modelfile through Modelfile.j2 and prove it parses back to exactly `spec`. Raises
    ModelfileError for a header of more than one line or a value no quoting writes back unchanged;
    RuntimeError only for a bug in Modelfile.j2 or quote()."""
    from publish.resources import modelfile_template

    path = template_path or modelfile_template()
    if spec.header is not None and any(c in spec.header for c in "\r\n"):
        raise ModelfileError("Modelfile header comment must be one line")
    params = []
    for name in sorted(spec.params):
        value = spec.params[name]
        if name == "stop":
            params.extend((name, quote(s, what=f"stop string {s!r}")) for s in value)
        else:
            params.append((name, quote(format_parameter(value), what=name)))
    from publish.fsutil import read_utf8

    source = read_utf8(path, hint="save the Modelfile template (Jinja) as UTF-8")
    text = _environment().from_string(source).render(
        header=spec.header, from_=list(spec.from_), template=spec.template, system=spec.system,
        params=params, licenses=list(spec.licenses))
    _check_round_trip(text, spec)
    return text


def _check_round_trip(text: str, spec: ModelfileSpec) -> None:
    mf = parse(text, source="rendered Modelfile")
    got = ModelfileSpec(tuple(mf.from_), mf.template, mf.system, mf.parameters(), tuple(mf.licenses),
                        spec.header)
    want = ModelfileSpec(tuple(spec.from_), spec.template, spec.system,
                         {k: (list(v) if k == "stop" else ollama_value(k, v)) for k, v in spec.params.items()},
                         tuple(spec.licenses), spec.header)
    if got != want:  # pragma: no cover - a bug in Modelfile.j2 or quote(), never user input
        raise RuntimeError("rendered Modelfile does not parse back to the release values; "
                           f"this is a bug in publish, please report it: {got!r} != {want!r}")

"""Built-in template functions (Go 1.23 src/text/template/funcs.go) and Ollama's extra functions
(template/template.go `funcs`, Ollama v0.24.0)."""

from __future__ import annotations

import codecs
import datetime as _dt
from urllib.parse import quote_plus

from .gofmt import FormatTooLong, format_value, json_marshal, sort_key, sprint, sprintf, sprintln
from .values import MISSING, GoMap, GoSlice, GoStruct, Uint8, go_type_name, is_true

# Parameter types the executor converts arguments to (see exec.go evalArg/validateType).
T_VALUE = "reflect.Value"
T_ANY = "interface {}"
T_STRING = "string"
T_NONE = "<none>"


def type_label(t) -> str:
    """The name a parameter type is shown by in an error message (the type's own label)."""
    return t


class FuncError(Exception):
    """A template function returned an error; the executor reports `error calling NAME: ...`."""


class Func:
    """A template function as the executor calls it (Go text/template exec.go evalCall): the Python
    `impl`, the types of its `fixed` parameters and of its `variadic` rest (None: not variadic),
    and whether it receives unevaluated arguments (`short_circuit`: and, or)."""
    __slots__ = ("fixed", "variadic", "impl", "short_circuit")

    def __init__(self, impl, fixed=(), variadic=None, short_circuit=False):
        self.impl = impl
        self.fixed = tuple(fixed)
        self.variadic = variadic
        self.short_circuit = short_circuit


def truth(v) -> bool:
    """Whether a value is true in Go's template sense (text/template's IsTrue: non-zero, non-empty,
    non-nil)."""
    return is_true(v)[0]


def sorted_map_items(d: dict):
    """A map's items in Go's key order (internal/fmtsort, as range over a map and printing use);
    insertion order when the keys cannot be compared."""
    try:
        return sorted(d.items(), key=lambda kv: sort_key(kv[0]))
    except TypeError:
        return list(d.items())


def map_zero(m: GoMap):
    """The zero value of a map's element type (what a missing key reads as), None when the map does
    not say."""
    z = getattr(m, "zero_elem", None)
    return z() if z is not None else None


# Go strings are bytes; ours are str. Slicing a string inside a UTF-8 sequence gives bytes that are
# not UTF-8: they are held as the lone surrogates U+DC80..U+DCFF (Python's surrogateescape), so the
# bytes round-trip. Other lone surrogates (never produced here) encode as themselves.
def _go_bytes_errors(err: UnicodeEncodeError):
    out = bytearray()
    for ch in err.object[err.start:err.end]:
        cp = ord(ch)
        out += bytes([cp - 0xDC00]) if 0xDC80 <= cp <= 0xDCFF else ch.encode("utf-8", "surrogatepass")
    return bytes(out), err.end


codecs.register_error("gotmpl.bytes", _go_bytes_errors)


def go_bytes(s: str) -> bytes:
    """The bytes of a Go string held as str."""
    return s.encode("utf-8", "gotmpl.bytes")


def go_string(s: str) -> str:
    """One str for one byte string: after concatenating pieces of a UTF-8 sequence (print of two
    byte slices), the pieces are joined again, so == compares bytes as Go does."""
    return s if _valid_utf8(s) else go_bytes(s).decode("utf-8", "surrogateescape")


def _one_fffd_per_byte(err: UnicodeDecodeError):
    return "\ufffd" * (err.end - err.start), err.end


codecs.register_error("gotmpl.fffd", _one_fffd_per_byte)


def go_text(s: str) -> str:
    """Output text: Go writes the bytes; bytes that are not UTF-8 read as one U+FFFD each, as Go's
    utf8 decoding (and so its JSON encoder, e.g. Ollama's _debug_render_only) reads them."""
    return s if _valid_utf8(s) else go_bytes(s).decode("utf-8", "gotmpl.fffd")


def _valid_utf8(s: str) -> bool:
    """True when s holds no byte that is not UTF-8 (no lone surrogate)."""
    if s.isascii():
        return True
    try:
        s.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _byte_len(s: str) -> int:
    return len(s) if s.isascii() else len(go_bytes(s))


# -- comparisons ------------------------------------------------------------------------------
_BOOL, _COMPLEX, _INT, _FLOAT, _STRING = range(1, 6)
_INVALID = 0


def _kind(v) -> int:
    t = type(v)
    if t is bool:
        return _BOOL
    if t is int or t is Uint8:  # Go compares int with uint kinds by value
        return _INT
    if t is float:
        return _FLOAT
    if t is str:
        return _STRING
    if t is complex:
        return _COMPLEX
    return _INVALID


def _is_nil(v) -> bool:
    if v is MISSING or v is None:
        return True
    if isinstance(v, (GoSlice, GoMap)):
        return v.nil
    return False


def _go_kind_name(v) -> str:
    if isinstance(v, list):
        return "slice"
    if isinstance(v, dict):
        return "map"
    if isinstance(v, GoStruct):
        return "ptr" if v.pointer else "struct"
    if callable(v):
        return "func"
    return "invalid"


def eq(arg1, *rest):
    """text/template's `eq arg1 arg2...`: true when arg1 equals any of the rest (basic kinds
    compared by value, as Go's funcs.go eq). Raises FuncError for a missing argument or
    incompatible types, with Go's messages."""
    if arg1 is None:
        arg1 = MISSING
    if not rest:
        raise FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in rest:
        if arg is None:
            arg = MISSING
        k2 = _kind(arg)
        if k1 != k2:
            if arg1 is not MISSING and arg is not MISSING:
                raise FuncError("incompatible types for comparison")
            t = False
        elif k1 != _INVALID:
            t = arg1 == arg
        else:
            if arg1 is not MISSING and arg is not MISSING and \
                    _go_kind_name(arg1) != _go_kind_name(arg):
                raise FuncError(f"non-comparable types {sprintf('%s', [arg1])}: "
                                f"{go_type_name(arg1)}, {go_type_name(arg)}: {format_value(arg)}")
            if _is_nil(arg1) or _is_nil(arg):
                t = _is_nil(arg1) == _is_nil(arg)
            else:
                if isinstance(arg, (list, dict)) or callable(arg) and not isinstance(arg, GoStruct):
                    raise FuncError(f"non-comparable type {sprintf('%s', [arg])}: "
                                    f"{go_type_name(arg)}")
                t = arg1 is arg if getattr(arg, "pointer", False) else arg1 == arg
        if t:
            return True
    return False


def ne(a, b):
    """text/template's `ne a b`: not eq. Raises FuncError as eq."""
    return not eq(a, b)


def _order(a, b) -> int:
    if a is None:
        a = MISSING
    if b is None:
        b = MISSING
    k1, k2 = _kind(a), _kind(b)
    if k1 == _INVALID or k2 == _INVALID:
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    if k1 in (_BOOL, _COMPLEX):
        raise FuncError("invalid type for comparison")
    if k1 == _STRING:
        a, b = go_bytes(a), go_bytes(b)
    return -1 if a < b else (1 if a > b else 0)


def lt(a, b):
    """text/template's `lt a b` for basic kinds: integers of any size or sign by value, floats,
    strings. Raises FuncError for kinds that differ (an int and a float) or cannot be ordered,
    with Go's messages."""
    return _order(a, b) < 0


def le(a, b):
    """text/template's `le a b`: lt or eq."""
    return lt(a, b) or eq(a, b)


def gt(a, b):
    """text/template's `gt a b`: not le."""
    return not le(a, b)


def ge(a, b):
    """text/template's `ge a b`: not lt."""
    return not lt(a, b)


# -- collections --------------------------------------------------------------------------------
def length(item):
    """text/template's `len`: a string's length in UTF-8 bytes (as Go counts), a slice's or map's
    item count. Raises FuncError for nil or another type, with Go's messages."""
    if item is None:
        raise FuncError("len of nil pointer")
    if item is MISSING:
        raise FuncError("reflect: call of reflect.Value.Type on zero Value")
    if type(item) is str:
        return _byte_len(item)
    if isinstance(item, (list, dict)):
        return len(item)
    raise FuncError(f"len of type {go_type_name(item)}")


def _index_arg(index, cap: int) -> int:
    if type(index) is int or type(index) is Uint8:
        x = int(index)
    elif index is MISSING or index is None:
        raise FuncError("cannot index slice/array with nil")
    else:
        raise FuncError(f"cannot index slice/array with type {go_type_name(index)}")
    if x < 0 or x > cap:
        raise FuncError(f"index out of range: {x}")
    return x


def index(item, *indexes):
    """text/template's `index item i...`: a string's byte (uint8), a slice's item, a map's value
    (the element's zero value for a missing key). Raises FuncError for an index out of range or
    of the wrong type, with Go's messages."""
    if item is None or item is MISSING:
        raise FuncError("index of untyped nil")
    for ix in indexes:
        if ix is None:
            ix = MISSING
        if item is None or item is MISSING:
            raise FuncError("index of nil pointer")
        if type(item) is str:
            b = go_bytes(item)
            x = _index_arg(ix, len(b))
            if x >= len(b):
                raise FuncError("reflect: string index out of range")
            item = Uint8(b[x])
        elif isinstance(item, list):
            x = _index_arg(ix, len(item))
            if x >= len(item):
                raise FuncError("reflect: slice index out of range")
            item = item[x]
        elif isinstance(item, dict):
            if ix is MISSING:
                raise FuncError("value is nil; should be of type string")
            if type(ix) is not str:
                raise FuncError(f"value has type {go_type_name(ix)}; should be string")
            if ix in item:
                item = item[ix]
            else:
                item = map_zero(item) if isinstance(item, GoMap) else None
        else:
            raise FuncError(f"can't index item of type {go_type_name(item)}")
    return item


def slice_(item, *indexes):
    """text/template's `slice item [i [j [k]]]`: a string sliced by byte offsets (as Go's, even
    inside a UTF-8 sequence), a slice by items. Raises FuncError for out-of-range or too many
    indexes, or an item that cannot be sliced."""
    if item is None or item is MISSING:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if type(item) is str:
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        b = item if item.isascii() else None
        n = len(item) if b is not None else len(go_bytes(item))
    elif isinstance(item, list):
        n = len(item)
    else:
        raise FuncError(f"can't slice item of type {go_type_name(item)}")
    idx = [0, n, n]
    for i, ix in enumerate(indexes):
        idx[i] = _index_arg(MISSING if ix is None else ix, n)
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    if len(indexes) == 3 and idx[1] > idx[2]:
        raise FuncError(f"invalid slice index: {idx[1]} > {idx[2]}")
    if type(item) is str:
        if item.isascii():
            return item[idx[0]:idx[1]]
        return go_bytes(item)[idx[0]:idx[1]].decode("utf-8", "surrogateescape")
    out = item[idx[0]:idx[1]]
    if isinstance(item, GoSlice):
        return GoSlice(out, item.type_name)
    return out


def call(fn, *args):
    """text/template's `call fn args...`. Raises FuncError for nil or a non-function, and wraps an
    error the function raises."""
    if fn is None or fn is MISSING:
        raise FuncError("call of nil")
    if not callable(fn) or isinstance(fn, (GoStruct, list, dict)):
        raise FuncError(f"non-function of type {go_type_name(fn)}")
    try:
        return fn(*args)
    except FuncError:
        raise
    except Exception as e:  # a Python callable placed in the data
        raise FuncError(str(e)) from None


# -- printing ----------------------------------------------------------------------------------
def _eval_args(args) -> str:
    """text/template's evalArgs: a lone string as is, else Sprint of the printable values."""
    if len(args) == 1 and type(args[0]) is str:
        return args[0]
    return sprint(["<no value>" if a is None or a is MISSING else a for a in args])


def html(*args):
    """text/template's `html`: the arguments printed, with & ' < > \" escaped as HTMLEscapeString
    does (NUL as U+FFFD)."""
    s = _eval_args(args)
    return (s.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;").replace("\0", "\ufffd"))


def js(*args):
    """text/template's `js`: the arguments printed, escaped as JSEscapeString does (quotes,
    backslash, < > & = as \\u00XX, control characters)."""
    s = _eval_args(args)
    out = []
    for c in s:
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("\\'")
        elif c == '"':
            out.append('\\"')
        elif c == "<":
            out.append("\\u003C")
        elif c == ">":
            out.append("\\u003E")
        elif c == "&":
            out.append("\\u0026")
        elif c == "=":
            out.append("\\u003D")
        elif ord(c) < 0x20:
            out.append(f"\\u00{ord(c):02X}")
        elif ord(c) >= 0x80 and not c.isprintable():
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def urlquery(*args):
    """text/template's `urlquery`: the arguments printed, escaped as url.QueryEscape does (spaces as
    +)."""
    return quote_plus(_eval_args(args), safe="")


def print_(*args):
    """text/template's `print`: fmt.Sprint of the arguments (a space between two operands when
    neither is a string)."""
    return go_string(sprint(list(args)))


def printf(fmt, *args, limit=None):
    """fmt.Sprintf; past `limit` characters of result (the executor's budget) a FuncError."""
    try:
        return go_string(sprintf(fmt, list(args), limit=limit))
    except FormatTooLong as e:
        raise FuncError(str(e)) from None


def println(*args):
    """text/template's `println`: fmt.Sprintln of the arguments."""
    return go_string(sprintln(list(args)))


def not_(v):
    """text/template's `not`: the negated truth of its argument."""
    return not truth(v)


# -- Ollama's functions (template/template.go) ---------------------------------------------------
def json_(v):
    """Ollama's `json` template function (template/template.go v0.24.0): json.Marshal of the value,
    "" when it cannot be marshalled (Ollama ignores the error)."""
    try:
        return json_marshal(v)
    except ValueError:
        return ""  # Go ignores the marshal error and returns ""


def current_date(*_args):
    """Ollama's `currentDate`: today's local date as YYYY-MM-DD."""
    return _dt.date.today().strftime("%Y-%m-%d")


def yesterday_date(*_args):
    """Ollama's `yesterdayDate`: yesterday's local date as YYYY-MM-DD."""
    return (_dt.date.today() - _dt.timedelta(days=1)).strftime("%Y-%m-%d")


def to_typescript_type(v):
    """Ollama's `toTypeScriptType`: a tool property's type as a TypeScript type (`string | number`),
    "any" for a value that has none."""
    method = getattr(v, "to_typescript_type", None)
    if method is not None:
        return method()
    return "any"


BUILTINS: dict[str, Func] = {
    "and": Func(None, (T_VALUE,), T_VALUE, short_circuit=True),
    "or": Func(None, (T_VALUE,), T_VALUE, short_circuit=True),
    "not": Func(not_, (T_VALUE,)),
    "len": Func(length, (T_VALUE,)),
    "index": Func(index, (T_VALUE,), T_VALUE),
    "slice": Func(slice_, (T_VALUE,), T_VALUE),
    "call": Func(call, (T_VALUE,), T_VALUE),
    "eq": Func(eq, (T_VALUE,), T_VALUE),
    "ne": Func(ne, (T_VALUE, T_VALUE)),
    "lt": Func(lt, (T_VALUE, T_VALUE)),
    "le": Func(le, (T_VALUE, T_VALUE)),
    "gt": Func(gt, (T_VALUE, T_VALUE)),
    "ge": Func(ge, (T_VALUE, T_VALUE)),
    "html": Func(html, (), T_ANY),
    "js": Func(js, (), T_ANY),
    "urlquery": Func(urlquery, (), T_ANY),
    "print": Func(print_, (), T_ANY),
    "printf": Func(printf, (T_STRING,), T_ANY),
    "println": Func(println, (), T_ANY),
}

OLLAMA_FUNCS: dict[str, Func] = {
    **BUILTINS,
    "json": Func(json_, (T_ANY,)),
    "currentDate": Func(current_date, (), T_STRING),
    "yesterdayDate": Func(yesterday_date, (), T_STRING),
    "toTypeScriptType": Func(to_typescript_type, (T_ANY,)),
}

"""Go's value printing (fmt %v and friends), strconv quoting and encoding/json, for the values the
template engine handles (Go 1.23 src/fmt/print.go and format.go, src/strconv/quote.go and
ftoa.go, src/encoding/json/encode.go). Written by hand because Go's formatting rules (shortest floats with
exponent thresholds, `map[k:v]`, `%!d(string=x)` error forms, HTML-safe JSON) have no Python library.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal

from .values import GoMap, GoSlice, GoStruct, MISSING, Uint8, go_type_name


# -- strconv ---------------------------------------------------------------------------------
_SIMPLE_ESC = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v", "\\": "\\\\"}


# Printable ASCII other than the backslash and the double quote: strconv.Quote keeps it as is
_PLAIN_QUOTE = re.compile(r'[\x20\x21\x23-\x5b\x5d-\x7e]*')


def quote(s: str, ascii_only: bool = False, q: str = '"') -> str:
    """strconv.Quote (or QuoteToASCII with `ascii_only`; QuoteRune's quoting with q="'") of Go's
    strconv package: printable characters kept, `\\`, the quote and control characters escaped as
    Go does, a lone surrogate (an invalid byte) as \\ufffd."""
    if _PLAIN_QUOTE.fullmatch(s) is not None and q not in s:
        return q + s + q
    out = [q]
    for c in s:
        if c == q or c == "\\":
            out.append("\\" + c)
            continue
        cp = ord(c)
        if c.isprintable() and not (ascii_only and cp >= 128):
            if 0xD800 <= cp <= 0xDFFF:
                out.append("\\ufffd")
            else:
                out.append(c)
            continue
        esc = _SIMPLE_ESC.get(c)
        if esc:
            out.append(esc)
        elif 0xDC80 <= cp <= 0xDCFF:      # a byte that is not UTF-8 (funcs.go_bytes): Go writes \xNN
            out.append(f"\\x{cp - 0xDC00:02x}")
        elif cp < 0x20 or cp == 0x7F:
            out.append(f"\\x{cp:02x}")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append(q)
    return "".join(out)


def unquote_char(s: str, q: str) -> tuple[int, str]:
    """strconv.UnquoteChar (Go 1.23 strconv/quote.go): decode one (possibly escaped) char from s;
    return (codepoint, tail). Raises ValueError("invalid syntax") as Go returns ErrSyntax."""
    if not s:
        raise ValueError("invalid syntax")
    c = s[0]
    if c == q and q in "'\"":
        raise ValueError("invalid syntax")
    if c != "\\":
        return ord(c), s[1:]
    if len(s) <= 1:
        raise ValueError("invalid syntax")
    c = s[1]
    s = s[2:]
    simple = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}
    if c in simple:
        return simple[c], s
    if c in "xuU":
        n = {"x": 2, "u": 4, "U": 8}[c]
        if len(s) < n:
            raise ValueError("invalid syntax")
        try:
            v = int(s[:n], 16)
        except ValueError:
            raise ValueError("invalid syntax") from None
        if c != "x" and (v > 0x10FFFF or 0xD800 <= v <= 0xDFFF):
            raise ValueError("invalid syntax")
        return v, s[n:]
    if "0" <= c <= "7":
        if len(s) < 2:
            raise ValueError("invalid syntax")
        try:
            v = int(c + s[:2], 8)
        except ValueError:
            raise ValueError("invalid syntax") from None
        if v > 255:
            raise ValueError("invalid syntax")
        return v, s[2:]
    if c in "'\"":
        if c != q:
            raise ValueError("invalid syntax")
        return ord(c), s
    raise ValueError("invalid syntax")


def unquote(s: str) -> str:
    """strconv.Unquote (Go 1.23 strconv/quote.go) for "...", '...' and `...` literals. Raises
    ValueError("invalid syntax") as Go returns ErrSyntax (unterminated, a newline inside "...",
    a bad escape)."""
    if len(s) < 2 or s[0] != s[-1]:
        raise ValueError("invalid syntax")
    q = s[0]
    body = s[1:-1]
    if q == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if q not in "\"'":
        raise ValueError("invalid syntax")
    if "\n" in body:
        raise ValueError("invalid syntax")
    if "\\" not in body and q not in body:
        if q == "'" and len(body) != 1:
            raise ValueError("invalid syntax")
        return body
    out = bytearray()
    while body:
        raw_byte = body.startswith("\\x") or (body[:1] == "\\" and body[1:2].isdigit())
        r, body = unquote_char(body, q)
        if raw_byte:
            out.append(r)
        else:
            out += chr(r).encode("utf-8", "surrogatepass")
    return out.decode("utf-8", "surrogateescape")   # a \\xNN byte that is not UTF-8 stays that byte


# -- floats ----------------------------------------------------------------------------------
def _digits(f: float) -> tuple[str, int]:
    """Shortest decimal digits d and decimal point position dp with f = 0.d * 10**dp."""
    if f == 0:
        return "0", 1
    t = Decimal(repr(abs(f))).as_tuple()
    d = "".join(map(str, t.digits)).rstrip("0") or "0"
    lead = len("".join(map(str, t.digits))) - len("".join(map(str, t.digits)).lstrip("0"))
    d = d[lead:] if lead else d
    dp = len("".join(map(str, t.digits))) + t.exponent - lead
    return d, dp


def _special(f: float, plus: bool = False) -> str | None:
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return None


def _binary_float(a: float) -> str:
    """strconv 'b' format: integer mantissa and binary exponent, e.g. 7205759403792794p-56."""
    import struct
    bits = struct.unpack(">Q", struct.pack(">d", a))[0]
    mant = bits & ((1 << 52) - 1)
    exp = (bits >> 52) & 0x7FF
    if exp == 0:
        exp = 1
    else:
        mant |= 1 << 52
    return f"{mant}p{exp - 1023 - 52:+d}"


def _hex_float(a: float, prec: int | None = None) -> str:
    """strconv 'x' format: 0x1.4p+01 (shortest, or rounded half-even to prec hex digits)."""
    if a == 0:
        digits = "0" * prec if prec else ""
        return "0x0" + ("." + digits if digits else "") + "p+00"
    m, e = math.frexp(a)
    exp = e - 1
    frac = int((m * 2 - 1) * (1 << 52))
    lead = 1
    if prec is None:
        digits = format(frac, "013x").rstrip("0")
    elif prec >= 13:
        digits = format(frac, "013x") + "0" * (prec - 13)
    else:
        shift = (13 - prec) * 4
        q, r = divmod(frac, 1 << shift)
        half = 1 << (shift - 1)
        last_odd = (q & 1) if prec else 1  # with no fraction digits the kept digit is the 1
        if r > half or (r == half and last_odd):
            q += 1
        if q >> (prec * 4):
            q, lead, exp = 0, 1, exp + 1
        digits = format(q, f"0{prec}x") if prec else ""
    return f"0x{lead}" + ("." + digits if digits else "") + f"p{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _sharp_float(num: str, verb: str, prec: int | None) -> str:
    """Go's '#' flag on floats: keep a decimal point and, for %g/%v/%x, trailing zeros."""
    digits = 0
    if verb in ("v", "g", "G", "x"):
        digits = 6 if prec is None else prec
    tail = ""
    for i, c in enumerate(num):
        if c in "pP" or (c in "eE" and verb not in ("x", "X")):
            num, tail = num[:i], num[i:]
            break
    has_point = "." in num
    seen_nonzero = False
    for c in num:  # as in Go, the x of 0x counts as a digit
        if c == ".":
            continue
        if c != "0":
            seen_nonzero = True
        if seen_nonzero:
            digits -= 1
    if not has_point:
        if num == "0":
            digits -= 1
        num += "."
    return num + "0" * max(digits, 0) + tail


def format_float_g(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64): what %v prints for a float64 (1e+06, 0.1, 3)."""
    sp = _special(f)
    if sp:
        return sp
    neg = math.copysign(1.0, f) < 0
    if f == 0:
        return "-0" if neg else "0"
    d, dp = _digits(f)
    exp = dp - 1
    if exp < -4 or exp >= 6:
        s = _fmt_e(d, dp)
    else:
        s = _fmt_f(d, dp, max(len(d) - dp, 0))
    return ("-" if neg else "") + s


def _fmt_e(d: str, dp: int) -> str:
    exp = dp - 1
    m = d[0] + ("." + d[1:] if len(d) > 1 else "")
    sign = "-" if exp < 0 else "+"
    e = abs(exp)
    return f"{m}e{sign}{e:02d}"


def _fmt_f(d: str, dp: int, prec: int) -> str:
    if dp > 0:
        ip = d[:dp] + "0" * max(dp - len(d), 0)
    else:
        ip = "0"
    if prec > 0:
        frac = []
        for i in range(prec):
            j = dp + i
            frac.append(d[j] if 0 <= j < len(d) else "0")
        return ip + "." + "".join(frac)
    return ip


def json_float(f: float) -> str:
    """encoding/json's float64 encoding (Go 1.23 encoding/json/encode.go floatEncoder). Raises
    ValueError("unsupported value") for NaN and ±Inf, as json.Marshal returns UnsupportedValueError."""
    if math.isnan(f) or math.isinf(f):
        raise ValueError("unsupported value")
    a = abs(f)
    neg = math.copysign(1.0, f) < 0 and f != 0
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    # Python's repr has Go's shortest round-trip digits: 'f' notation inside [1e-6, 1e21) (where repr
    # has no exponent, which is below 1e16), 'e' notation outside (where repr always has one);
    # Go then writes e-07 as e-7 and keeps e+21
    r = repr(f)
    if 1e-6 <= a < 1e21:
        if "e" not in r:
            return r[:-2] if r.endswith(".0") else r
    elif "e" in r:
        m, e = r.split("e")
        return f"{m}e{e[0]}{e[1:].lstrip('0') or '0'}"
    d, dp = _digits(f)
    if a < 1e-6 or a >= 1e21:
        s = _fmt_e(d, dp)
        # Go trims the exponent to at least one digit: e-07 -> e-7
        m, e = s.split("e")
        sign, digits = e[0], e[1:].lstrip("0") or "0"
        s = f"{m}e{sign}{digits}"
    else:
        s = _fmt_f(d, dp, max(len(d) - dp, 0))
    return ("-" if neg else "") + s


# -- %v ----------------------------------------------------------------------------------------
def format_value(v, depth: int = 0) -> str:
    """fmt.Sprint(v) for one operand (the %v verb)."""
    if v is MISSING:
        return "<no value>" if depth == 0 else "<invalid reflect.Value>"
    t = type(v)
    if t is str:
        return v
    if t is bool:
        return "true" if v else "false"
    if t is int or t is Uint8:
        return str(int(v))
    if t is float:
        return format_float_g(v)
    if v is None:
        return "<nil>"
    stringer = getattr(v, "go_string", None)
    if stringer is not None:
        return stringer()
    if isinstance(v, list):
        return "[" + " ".join(format_value(x, depth + 1) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{format_value(k, depth + 1)}:{format_value(x, depth + 1)}"
                                 for k, x in sorted_items(v)) + "]"
    if isinstance(v, GoStruct):
        body = "{" + " ".join(format_value(x, depth + 1) for x in v.values()) + "}"
        if v.pointer:
            return "&" + body if depth == 0 else "0xc000010000"
        return body
    if isinstance(v, complex):
        return "(" + format_float_g(v.real) + ("+" if v.imag >= 0 or math.isnan(v.imag) else "") \
            + format_float_g(v.imag) + "i)"
    if callable(v):
        return "0x1"
    return str(v)


def sort_key(k):
    """The key fmt sorts map keys by when printing (internal/fmtsort: numbers and strings by value;
    other kinds after them)."""
    t = type(k)
    if t is str:
        return (0, k)
    if t is bool:
        return (0, k)
    if t in (int, float, Uint8):
        return (0, k)
    return (1, str(k))


def sorted_items(d: dict):
    """A map's items in the order Go's fmt prints them (sort_key); insertion order when the keys
    cannot be compared."""
    try:
        return sorted(d.items(), key=lambda kv: sort_key(kv[0]))
    except TypeError:
        return list(d.items())


def sprint(args: list) -> str:
    """fmt.Sprint: spaces between operands when neither side is a string."""
    out = []
    prev_string = False
    for i, a in enumerate(args):
        is_string = type(a) is str
        if i > 0 and not is_string and not prev_string:
            out.append(" ")
        out.append(format_value(a))
        prev_string = is_string
    return "".join(out)


def sprintln(args: list) -> str:
    """fmt.Sprintln: the operands formatted with %v, separated by spaces, and a newline."""
    return " ".join(format_value(a) for a in args) + "\n"


# -- printf ------------------------------------------------------------------------------------
def _bad_verb(verb: str, a, spec: "_Spec | None" = None) -> str:
    """Go's %!verb(type=value): the value is printed with %v and the same flags."""
    if a is None or a is MISSING:
        return f"%!{verb}(<nil>)"
    inner = format_verb(a, "v", spec) if spec is not None else format_value(a)
    return f"%!{verb}({go_type_name(a)}={inner})"


class _Spec:
    __slots__ = ("minus", "plus", "sharp", "space", "zero", "width", "prec", "plusv", "sharpv")

    def __init__(self):
        self.minus = self.plus = self.sharp = self.space = self.zero = False
        self.plusv = self.sharpv = False  # %+v (field names) and %#v (Go syntax)
        self.width = None
        self.prec = None


def _pad(s: str, spec: _Spec, zero_ok: bool = True) -> str:
    if spec.width is None or len(s) >= spec.width:
        return s
    n = spec.width - len(s)
    if spec.minus:
        return s + " " * n
    if spec.zero and zero_ok:
        if s and s[0] in "+-":
            return s[0] + "0" * n + s[1:]
        return "0" * n + s
    return " " * n + s


def _rune(v: int) -> str:
    """The character Go's fmt writes for code point v: U+FFFD for what is not a valid rune
    (negative, past U+10FFFF, or a surrogate half), as utf8.AppendRune / strconv.QuoteRune do."""
    return chr(v) if 0 <= v <= 0x10FFFF and not 0xD800 <= v <= 0xDFFF else "\ufffd"


def _fmt_int(v: int, verb: str, spec: _Spec) -> str:
    if verb == "v" and spec.sharpv and type(v) is Uint8:
        spec.sharp, verb = True, "x"  # Go's %#v of an unsigned int: fmt0x64 (0x68)
    if v == 0 and spec.prec == 0 and verb in "dvxXobO":
        return " " * (spec.width or 0)  # Go prints nothing but padding for a zero at precision 0
    neg = v < 0
    a = -v if neg else v
    if verb == "d" or verb == "v":
        body = str(a)
    elif verb == "x":
        body = format(a, "x")
    elif verb == "X":
        body = format(a, "X")
    elif verb == "o" or verb == "O":
        body = format(a, "o")
    elif verb == "b":
        body = format(a, "b")
    elif verb == "c":
        return _pad(_rune(v), spec)
    elif verb == "q":
        return _pad(quote(_rune(v), spec.plus, "'"), spec)
    elif verb == "U":
        u = v if v >= 0 else v + (1 << 64)  # Go formats the bits as uint64
        s = f"U+{u:0{max(4, spec.prec or 0)}X}"
        if spec.sharp and 0 <= v <= 0x10FFFF and chr(v).isprintable():
            s += f" '{chr(v)}'"
        return _pad(s, spec, zero_ok=False)
    else:
        return _bad_verb(verb, v, spec)
    if spec.prec is not None:
        body = body.rjust(spec.prec, "0")
        if spec.prec == 0 and a == 0:
            body = ""
    if spec.sharp:
        if verb == "x":
            body = "0x" + body
        elif verb == "X":
            body = "0X" + body
        elif verb == "o" and not body.startswith("0"):
            body = "0" + body
        elif verb == "b":
            body = "0b" + body
    if verb == "O":
        body = "0o" + body
    sign = "-" if neg else ("+" if spec.plus else (" " if spec.space else ""))
    s = sign + body
    if spec.width is not None and len(s) < spec.width and spec.zero and not spec.minus \
            and spec.prec is None:
        return sign + body.rjust(spec.width - len(sign), "0")
    return _pad(s, spec, zero_ok=False)


def _fmt_float(v: float, verb: str, spec: _Spec) -> str:
    sp = _special(v)
    if sp:
        if sp == "+Inf" and not spec.plus:
            sp = "+Inf" if spec.plus else ("Inf" if not spec.space else " Inf")
        s = sp
        return _pad(s, spec, zero_ok=False)
    neg = math.copysign(1.0, v) < 0
    a = abs(v)
    if verb in ("v", "g", "G") and spec.prec is None:
        body = format_float_g(a)
        if verb == "G":
            body = body.upper()
    elif verb in ("f", "F"):
        body = f"{a:.{6 if spec.prec is None else spec.prec}f}"
    elif verb in ("e", "E"):
        body = f"{a:.{6 if spec.prec is None else spec.prec}{verb}}"
    elif verb in ("g", "G", "v"):
        p = spec.prec if spec.prec != 0 else 1
        body = f"{a:.{p}{'g' if verb != 'G' else 'G'}}"
    elif verb in ("x", "X"):
        body = _hex_float(a, spec.prec)
        if verb == "X":
            body = body.upper()
    elif verb == "b":
        body = _binary_float(a)
    else:
        return _bad_verb(verb, v, spec)
    if spec.sharp and verb != "b":
        body = _sharp_float(body, verb, spec.prec)
    sign = "-" if neg else ("+" if spec.plus else (" " if spec.space else ""))
    if spec.width is not None and spec.zero and not spec.minus and len(sign + body) < spec.width:
        return sign + body.rjust(spec.width - len(sign), "0")
    return _pad(sign + body, spec, zero_ok=False)


def _fmt_str(s: str, verb: str, spec: _Spec) -> str:
    if verb in ("s", "v"):
        if spec.prec is not None:
            s = s[:spec.prec]
        return _pad(s, spec)
    if verb == "q":
        if spec.prec is not None:
            s = s[:spec.prec]
        if spec.sharp and "`" not in s and all(c == "\t" or c.isprintable() for c in s):
            return _pad("`" + s + "`", spec)
        return _pad(quote(s, spec.plus), spec)
    if verb in ("x", "X"):
        b = s.encode("utf-8", "surrogateescape")
        if spec.prec is not None:
            b = b[:spec.prec]  # Go's precision counts input bytes for %x
        h = b.hex()
        if verb == "X":
            h = h.upper()
        if spec.space:
            pre = ("0x" if verb == "x" else "0X") if spec.sharp else ""
            h = " ".join(pre + h[i:i + 2] for i in range(0, len(h), 2))
        elif spec.sharp and h:
            h = ("0x" if verb == "x" else "0X") + h
        return _pad(h, spec)
    return _bad_verb(verb, s, spec)


def _go_syntax(a, spec: _Spec, depth: int) -> str:
    """%#v: values as Go source."""
    if a is None or a is MISSING:
        return "interface {}(nil)" if depth > 0 else _pad("<nil>", spec)
    t = type(a)
    if t is str:
        return _fmt_str(a, "q", spec)
    if t is bool:
        return _pad("true" if a else "false", spec)
    if t is int:
        return _fmt_int(a, "v", spec)
    if t is Uint8:
        return _fmt_int(a, "v", spec)
    if t is float:
        return _fmt_float(a, "v", spec)
    tname = go_type_name(a)
    if isinstance(a, list):
        if getattr(a, "nil", False):
            return tname + "(nil)"
        return tname + "{" + ", ".join(_go_syntax(x, spec, depth + 1) for x in a) + "}"
    if isinstance(a, dict):
        if getattr(a, "nil", False):
            return tname + "(nil)"
        return tname + "{" + ", ".join(f"{_go_syntax(k, spec, depth + 1)}:{_go_syntax(x, spec, depth + 1)}"
                                       for k, x in sorted_items(a)) + "}"
    if isinstance(a, GoStruct):
        body = a.type_name + "{" + ", ".join(
            f"{name}:{_go_syntax(a.get(name), spec, depth + 1)}" for name in a.fields) + "}"
        if a.pointer:
            return "&" + body if depth == 0 else f"(*{a.type_name})(0xc000010000)"
        return body
    return _pad(format_value(a, depth), spec)


def format_verb(a, verb: str, spec: _Spec, depth: int = 0) -> str:
    """One operand formatted with one fmt verb (%v, %+v, %#v, %T, %d, %s, %q, %x, %f, ... with
    width, precision and flags in `spec`), as Go's fmt prints it, `%!verb(type=value)` for a verb
    that does not fit the type."""
    if verb == "v" and spec.sharpv:
        return _go_syntax(a, spec, depth)
    if (a is None or a is MISSING) and depth > 0:
        return "<nil>"  # a nil interface inside a slice or map, whatever the verb
    if a is None or a is MISSING:
        if verb in ("v", "T"):
            return _pad("<nil>", spec) if verb == "v" else "<nil>"
        return _bad_verb(verb, None)
    if verb == "T":
        return _pad(go_type_name(a), spec)
    if verb == "p":
        return _bad_verb(verb, a, spec)
    t = type(a)
    stringer = getattr(a, "go_string", None)
    if stringer is not None and verb in ("v", "s", "q", "x", "X"):
        return _fmt_str(stringer(), verb, spec)
    if t is bool:
        if verb in ("t", "v"):
            return _pad("true" if a else "false", spec)
        return _bad_verb(verb, a, spec)
    if t is int or t is Uint8:
        return _fmt_int(a, verb, spec)
    if t is float:
        if verb in "veEfFgGxXb":
            return _fmt_float(a, verb, spec)
        return _bad_verb(verb, a, spec)
    if t is str:
        return _fmt_str(a, verb, spec)
    if isinstance(a, list):
        return "[" + " ".join(format_verb(x, verb, spec, depth + 1) for x in a) + "]"
    if isinstance(a, dict):
        return "map[" + " ".join(
            f"{format_verb(k, verb, spec, depth + 1)}:{format_verb(x, verb, spec, depth + 1)}"
            for k, x in sorted_items(a)) + "]"
    if isinstance(a, GoStruct):
        if verb == "v" and spec.plusv:
            body = "{" + " ".join(f"{name}:{format_verb(a.get(name), verb, spec, depth + 1)}"
                                  for name in a.fields) + "}"
        else:
            body = "{" + " ".join(format_verb(x, verb, spec, depth + 1) for x in a.values()) + "}"
        if a.pointer:
            return "&" + body if depth == 0 else "0xc000010000"
        return body
    if verb == "v":
        return _pad(format_value(a, depth), spec)
    return _bad_verb(verb, a, spec)


_MAX_WIDTH = 1_000_000  # Go's fmt tooLarge: wider widths and precisions are refused


class FormatTooLong(ValueError):
    """sprintf's result would pass its `limit` (a bound of publish.gotmpl, not of Go)."""


def sprintf(fmt: str, args: list, *, limit: int | None = None) -> str:
    """fmt.Sprintf, including Go's %!verb(...) forms for bad or missing operands.
    With `limit`, raises FormatTooLong as soon as the result passes `limit` characters (each verb
    may pad to a width of 1,000,000, so a short format can ask for gigabytes)."""
    out: list[str] = []
    size = 0
    argi = 0
    i = 0
    n = len(fmt)
    reordered = False
    good_argnum = True

    def arg_number(i: int):
        """Parse an explicit [n] argument index at fmt[i]; return (new i, index or None, ok)."""
        nonlocal reordered
        if i >= n or fmt[i] != "[":
            return i, None, True
        reordered = True
        j = fmt.find("]", i + 1)
        if j < 0:
            return n, None, False  # Go treats an unclosed [ as bad
        num = fmt[i + 1:j]
        if not num.isdigit() or int(num) < 1:
            return j + 1, None, False
        return j + 1, int(num) - 1, True

    def parse_num(i: int):
        """Go's parsenum: (value or None, new i); a number past 1e6 swallows the rest of fmt."""
        num = None
        while i < n and fmt[i].isdigit():
            if num is not None and num > _MAX_WIDTH:
                return None, n
            num = (num or 0) * 10 + int(fmt[i])
            i += 1
        return num, i

    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        spec = _Spec()
        while i < n and fmt[i] in "+-# 0":
            c = fmt[i]
            if c == "+":
                spec.plus = True
            elif c == "-":
                spec.minus = True
                spec.zero = False
            elif c == "#":
                spec.sharp = True
            elif c == " ":
                spec.space = True
            elif c == "0":
                spec.zero = not spec.minus
            i += 1
        i, idx, good_argnum = arg_number(i)
        if idx is not None:
            argi = idx
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and type(args[argi]) is int and abs(args[argi]) <= _MAX_WIDTH:
                spec.width = args[argi]
                if spec.width < 0:
                    spec.minus = True
                    spec.zero = False
                    spec.width = -spec.width
            else:
                out.append("%!(BADWIDTH)")
            argi += 1
        else:
            width, i = parse_num(i)
            if width is not None:
                spec.width = width
        if i < n and fmt[i] == ".":
            i += 1
            i, idx, ok = arg_number(i)
            good_argnum = good_argnum and ok
            if idx is not None:
                argi = idx
            if i < n and fmt[i] == "*":
                i += 1
                if argi < len(args) and type(args[argi]) is int and 0 <= args[argi] <= _MAX_WIDTH:
                    spec.prec = args[argi]
                else:
                    out.append("%!(BADPREC)")
                argi += 1
            else:
                prec, i = parse_num(i)
                spec.prec = prec or 0
        i2, idx, ok = arg_number(i)
        if i2 != i:
            good_argnum = good_argnum and ok
            i = i2
            if idx is not None:
                argi = idx
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if not good_argnum:
            out.append(f"%!{verb}(BADINDEX)")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[argi]
        argi += 1
        if verb == "v" and (spec.plus or spec.sharp):
            # %+v and %#v mean "field names" and "Go syntax" in Go, not a sign or a point
            spec.plusv, spec.sharpv = spec.plus, spec.sharp
            spec.plus = spec.sharp = False
        piece = format_verb(a, verb, spec)
        out.append(piece)
        if limit is not None:
            size += len(piece)  # the literal text between verbs is at most len(fmt)
            if size > limit:
                raise FormatTooLong(f"result exceeds {limit} characters")
    if not reordered and argi < len(args):
        extra = []
        for a in args[argi:]:
            if a is None or a is MISSING:
                extra.append("<nil>")
            else:
                extra.append(f"{go_type_name(a)}={format_value(a)}")
        out.append("%!(EXTRA " + ", ".join(extra) + ")")
    return "".join(out)


# -- encoding/json -----------------------------------------------------------------------------
# Characters encoding/json escapes (Go's HTML-safe default, U+2028/9, invalid UTF-8)
_JSON_ESCAPE = re.compile(r'["\\\x00-\x1f<>&\u2028\u2029\ud800-\udfff]')


def json_string(s: str) -> str:
    """A string as Go's encoding/json writes it: `<`, `>`, `&`, U+2028 and U+2029 escaped as \\u00XX
    (HTML-safe), control characters as \\n, \\r, \\t or \\u00XX, invalid bytes as \\ufffd."""
    if _JSON_ESCAPE.search(s) is None:
        return '"' + s + '"'
    out = ['"']
    for c in s:
        cp = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif cp < 0x20:
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\u{cp:04x}"))
        elif c in "<>&":
            out.append(f"\\u{cp:04x}")
        elif cp in (0x2028, 0x2029):
            out.append(f"\\u{cp:04x}")
        elif 0xD800 <= cp <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def json_marshal(v) -> str:
    """A value as json.Marshal writes it (Ollama's `json` template function): null, true/false,
    numbers as Go formats them, strings (json_string), structs by their json tags, maps with
    sorted keys (a map marked ordered in its own order), slices; no spaces. Raises ValueError for
    a value of no JSON type and for NaN/±Inf, as json.Marshal returns an error (Go 1.23
    encoding/json/encode.go)."""
    t = type(v)
    if t is str:
        return json_string(v)
    if t is dict:  # map[string]any: keys sorted
        return "{" + ",".join(json_string(str(k)) + ":" + json_marshal(x)
                              for k, x in sorted(v.items(), key=_str_key)) + "}"
    if t is list:
        return "[" + ",".join(json_marshal(x) for x in v) + "]"
    if v is None or v is MISSING:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int or t is Uint8:
        return str(int(v))
    if t is float:
        return json_float(v)
    custom = getattr(v, "go_json", None)
    if custom is not None:
        return custom()
    if isinstance(v, GoSlice) and v.nil:
        return "null"
    if isinstance(v, GoMap) and v.nil:
        return "null"
    if isinstance(v, list):
        return "[" + ",".join(json_marshal(x) for x in v) + "]"
    if isinstance(v, dict):
        items = v.items() if getattr(v, "ordered", False) else sorted(
            v.items(), key=lambda kv: str(kv[0]))
        return "{" + ",".join(json_string(str(k)) + ":" + json_marshal(x) for k, x in items) + "}"
    if isinstance(v, GoStruct):
        plan = _STRUCT_PLANS.get(t)
        if plan is None:
            plan = _STRUCT_PLANS[t] = [(name, json_string(jname) + ":", omitempty)
                                       for name, (jname, omitempty) in v.json_fields().items()]
        parts = []
        for name, key, omitempty in plan:
            x = v.get(name)
            if omitempty and _json_empty(x):
                continue
            parts.append(key + json_marshal(x))
        return "{" + ",".join(parts) + "}"
    raise ValueError(f"json: unsupported type: {go_type_name(v)}")


_STRUCT_PLANS: dict = {}  # GoStruct class -> [(field, '"json name":', omitempty)]


def _str_key(kv) -> str:
    return str(kv[0])


def _json_empty(x) -> bool:
    if x is None or x is MISSING:
        return True
    if isinstance(x, (str, list, dict)):
        return len(x) == 0
    if type(x) is bool:
        return not x
    if type(x) in (int, float, Uint8):
        return x == 0
    if isinstance(x, GoStruct):
        return False
    return False

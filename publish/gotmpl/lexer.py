"""Lexer for Go's text/template syntax, following the state machine of Go's text/template/parse
(lex.go, Go 1.23).

Items carry their byte-independent character offset and 1-based line. A lexing error becomes an
ERROR item (value = message); the parser raises it when it reaches it, as Go's parser does.
"""

from __future__ import annotations

import re
from typing import NamedTuple

ERROR, BOOL, CHAR, CHAR_CONSTANT, COMMENT, COMPLEX, ASSIGN, DECLARE, EOF, FIELD, IDENTIFIER, \
    LEFT_DELIM, LEFT_PAREN, NUMBER, PIPE, RAW_STRING, RIGHT_DELIM, RIGHT_PAREN, SPACE, STRING, \
    TEXT, VARIABLE, KEYWORD, BLOCK, BREAK, CONTINUE, DOT, DEFINE, ELSE, END, IF, NIL, RANGE, \
    TEMPLATE, WITH = range(35)

KEYWORDS = {
    ".": DOT, "block": BLOCK, "break": BREAK, "continue": CONTINUE, "define": DEFINE,
    "else": ELSE, "end": END, "if": IF, "range": RANGE, "nil": NIL, "template": TEMPLATE,
    "with": WITH,
}

LEFT, RIGHT = "{{", "}}"
LEFT_COMMENT, RIGHT_COMMENT = "/*", "*/"
SPACE_CHARS = " \t\r\n"
# fast paths over runs of characters the states would take one by one (same items, same lines)
_SPACES = re.compile(r"[ \t\r\n]*")
_ASCII_WORD = re.compile(r"[A-Za-z0-9_]*")       # is_alnum on ASCII
_INSIDE = re.compile(r'([ \t\r\n]+)|(\$[A-Za-z0-9_]*)|(\.[A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*)'
                     r'|("(?:[^"\\\n]|\\[^\n])*")|(:=|[=|()])')
_QUOTED = {'"': re.compile(r'(?:[^"\\\n]|\\[^\n])*"'), "'": re.compile(r"(?:[^'\\\n]|\\[^\n])*'")}


class Item(NamedTuple):
    """One lexical item (Go text/template/parse lex.go item): its type (the constants above), its
    text `val` (the message, for ERROR), its character offset `pos` in the template and its
    1-based `line`."""
    typ: int
    val: str
    pos: int
    line: int

    def describe(self) -> str:
        """How Go's item.String() shows a token in error messages."""
        if self.typ == EOF:
            return "EOF"
        if self.typ == ERROR:
            return self.val
        if self.typ > KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            return go_quote(self.val[:10]) + "..."
        return go_quote(self.val)


def is_alnum(c: str) -> bool:
    """Whether `c` may continue an identifier: `_`, a Unicode letter or digit (lex.go
    isAlphaNumeric)."""
    return c == "_" or c.isalpha() or (c.isdigit() and c.isdecimal()) or _is_unicode_digit(c)


def _is_unicode_digit(c: str) -> bool:
    import unicodedata
    return bool(c) and unicodedata.category(c) == "Nd"


def _has_left_trim(s: str, i: int) -> bool:
    return len(s) - i >= 2 and s[i] == "-" and s[i + 1] in SPACE_CHARS


def _has_right_trim(s: str, i: int) -> bool:
    return len(s) - i >= 2 and s[i] in SPACE_CHARS and s[i + 1] == "-"


class Lexer:
    """The state machine of Go's text/template/parse lex.go over one template: each `lex_*` method
    is a state that consumes input and returns the next state (None at the end); `run` collects
    the items. Positions are character offsets, lines 1-based."""

    def __init__(self, text: str):
        self.input = text
        self.pos = 0
        self.start = 0
        self.line = 1
        self.start_line = 1
        self.paren_depth = 0
        self.items: list[Item] = []

    # -- primitives --------------------------------------------------------------------------
    def next(self) -> str:
        """The next character, consumed; "" at the end of the input (lex.go next returns eof)."""
        if self.pos >= len(self.input):
            self.pos = len(self.input) + 1  # mark EOF so backup is a no-op step
            return ""
        c = self.input[self.pos]
        self.pos += 1
        if c == "\n":
            self.line += 1
        return c

    def backup(self) -> None:
        """Step back one character (once per `next`; a no-op after the end)."""
        if self.pos > len(self.input):
            self.pos = len(self.input)
            return
        if self.pos > 0:
            self.pos -= 1
            if self.input[self.pos] == "\n":
                self.line -= 1

    def peek(self) -> str:
        """The next character without consuming it; "" at the end."""
        return self.input[self.pos] if self.pos < len(self.input) else ""

    def emit(self, typ: int) -> None:
        """Append an item of type `typ` holding the text since the last emit, and start the next
        item here."""
        self.items.append(Item(typ, self.input[self.start:self.pos], self.start, self.start_line))
        self.start = self.pos
        self.start_line = self.line

    def ignore(self) -> None:
        """Drop the text since the last emit (counting its newlines)."""
        self.line += self.input.count("\n", self.start, self.pos)
        self.start = self.pos
        self.start_line = self.line

    def accept(self, valid: str) -> bool:
        """Consume the next character when it is one of `valid`; whether it was."""
        c = self.peek()
        if c and c in valid:
            self.next()
            return True
        return False

    def accept_run(self, valid: str) -> None:
        """Consume characters while they are in `valid`."""
        while True:
            c = self.peek()
            if not c or c not in valid:
                return
            self.next()

    def errorf(self, msg: str):
        """Append an ERROR item with message `msg` and end lexing (returns no next state), as lex.go
        errorf does; the parser raises it when it reaches it."""
        self.items.append(Item(ERROR, msg, self.start, self.start_line))
        return None

    # -- states ------------------------------------------------------------------------------
    def run(self) -> list[Item]:
        """Run the states from `lex_text` to the end and return every item (ending with EOF or
        ERROR)."""
        state = self.lex_text
        while state is not None:
            state = state()
        return self.items

    def lex_text(self):
        """State: plain text up to the next `{{` (trimming the spaces before a `{{- `), emitted as
        TEXT."""
        s = self.input
        x = s.find(LEFT, self.pos)
        if x >= 0:
            trim = 0
            if _has_left_trim(s, x + 2):
                seg = s[self.start:x]
                trim = len(seg) - len(seg.rstrip(SPACE_CHARS))
            self.pos = x - trim
            if self.pos > self.start:
                self.line += s.count("\n", self.start, self.pos)
                self.emit(TEXT)
            self.pos += trim
            self.ignore()
            return self.lex_left_delim
        self.pos = len(s)
        if self.pos > self.start:
            self.line += s.count("\n", self.start, self.pos)
            self.emit(TEXT)
        self.emit(EOF)
        return None

    def at_right_delim(self) -> tuple[bool, bool]:
        """(whether the input continues with the right delimiter, whether it is the trimming ` -}}`
        form)."""
        s = self.input
        if _has_right_trim(s, self.pos) and s.startswith(RIGHT, self.pos + 2):
            return True, True
        if s.startswith(RIGHT, self.pos):
            return True, False
        return False, False

    def _skip_left_trim(self) -> None:
        s = self.input
        rest = s[self.pos:]
        self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))

    def lex_left_delim(self):
        """State: `{{` or `{{- `; a `/*` after it starts a comment."""
        self.pos += len(LEFT)
        trim = _has_left_trim(self.input, self.pos)
        after = 2 if trim else 0
        if self.input.startswith(LEFT_COMMENT, self.pos + after):
            self.pos += after
            self.ignore()
            return self.lex_comment
        self.emit(LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        return self.lex_inside_action

    def lex_comment(self):
        """State: a `/* ... */` comment, which must be followed by the right delimiter. Errors
        "unclosed comment" and "comment ends before closing delimiter" as Go's."""
        self.pos += len(LEFT_COMMENT)
        x = self.input.find(RIGHT_COMMENT, self.pos)
        if x < 0:
            return self.errorf("unclosed comment")
        self.pos = x + len(RIGHT_COMMENT)
        delim, trim = self.at_right_delim()
        if not delim:
            return self.errorf("comment ends before closing delimiter")
        self.emit(COMMENT)
        if trim:
            self.pos += 2
        self.pos += len(RIGHT)
        if trim:
            self._skip_left_trim()
        self.ignore()
        return self.lex_text

    def lex_right_delim(self):
        """State: `}}` or ` -}}` (which trims the spaces after it)."""
        trim = _has_right_trim(self.input, self.pos)
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(RIGHT)
        self.emit(RIGHT_DELIM)
        if trim:
            self._skip_left_trim()
            self.ignore()
        return self.lex_text

    def lex_inside_action(self):
        """State: inside `{{ }}`. The common items (spaces, `$x`, `.Field`, words, well-formed
        strings, `:=`, `=`, `|`, parentheses) are taken here in one loop, each with one regular
        expression; at anything else (numbers, `.`, characters other than ASCII, errors, the right
        delimiter) the character-by-character state below takes one item. Both give the same items
        and lines."""
        s, items, n = self.input, self.items, len(self.input)
        while True:
            pos = self.pos
            if pos >= n - 1 or s[pos] == "}" or s[pos + 1] == "-":   # maybe the right delimiter: the slow path
                return self._lex_inside_action_step()
            m = _INSIDE.match(s, pos)
            if m is None:
                return self._lex_inside_action_step()
            kind, end = m.lastindex, m.end()
            if kind == 1:                                   # spaces
                if s.startswith("-}}", end):
                    return self._lex_inside_action_step()  # lex_space handles the trimming ` -}}`
                typ = SPACE
            elif kind <= 4:                                 # $var, .Field, word: must end at a terminator
                c = s[end] if end < n else ""
                if not (c == "" or c in " \t\r\n.,|:)(" or s.startswith(RIGHT, end)):
                    return self._lex_inside_action_step()  # more letters, or a bad character
                if kind == 2:
                    typ = VARIABLE
                elif kind == 3:
                    typ = FIELD
                else:
                    word = m.group(4)
                    typ = KEYWORDS.get(word)
                    if typ is None:
                        typ = BOOL if word in ("true", "false") else IDENTIFIER
            elif kind == 5:
                typ = STRING
            else:
                op = m.group(6)
                if op == "(":
                    typ = LEFT_PAREN
                    self.paren_depth += 1
                elif op == ")":
                    if self.paren_depth == 0:
                        return self._lex_inside_action_step()   # the error
                    self.paren_depth -= 1
                    typ = RIGHT_PAREN
                else:
                    typ = DECLARE if op == ":=" else ASSIGN if op == "=" else PIPE
            items.append(Item(typ, s[pos:end], pos, self.start_line))
            if kind == 1:
                self.line += s.count("\n", pos, end)
            self.pos = self.start = end
            self.start_line = self.line

    def _lex_inside_action_step(self):
        """One item inside `{{ }}`, dispatching on the next character to spaces, strings, numbers,
        fields, variables, identifiers, operators and parentheses (lex.go lexInsideAction, with
        its error messages)."""
        delim, _ = self.at_right_delim()
        if delim:
            if self.paren_depth == 0:
                return self.lex_right_delim
            return self.errorf("unclosed left paren")
        c = self.next()
        if c == "":
            return self.errorf("unclosed action")
        if c in SPACE_CHARS:
            self.backup()
            return self.lex_space
        if c == "=":
            self.emit(ASSIGN)
        elif c == ":":
            if self.next() != "=":
                return self.errorf("expected :=")
            self.emit(DECLARE)
        elif c == "|":
            self.emit(PIPE)
        elif c == '"':
            return self.lex_quote
        elif c == "`":
            return self.lex_raw_quote
        elif c == "$":
            return self.lex_variable
        elif c == "'":
            return self.lex_char
        elif c == "." and not ("0" <= self.peek() <= "9" and self.peek() != ""):
            return self.lex_field
        elif c in "+-." or "0" <= c <= "9":
            self.backup()
            return self.lex_number
        elif is_alnum(c):
            self.backup()
            return self.lex_identifier
        elif c == "(":
            self.emit(LEFT_PAREN)
            self.paren_depth += 1
        elif c == ")":
            self.paren_depth -= 1
            if self.paren_depth < 0:
                return self.errorf(f"unexpected right paren {_sharp_u(c)}")
            self.emit(RIGHT_PAREN)
        elif ord(c) < 128 and c.isprintable():
            self.emit(CHAR)
        else:
            return self.errorf(f"unrecognized character in action: {_sharp_u(c)}")
        return self.lex_inside_action

    def lex_space(self):
        """State: a run of spaces (not the one before a trimming ` -}}`), emitted as SPACE."""
        end = _SPACES.match(self.input, self.pos).end()
        n = end - self.pos
        self.line += self.input.count("\n", self.pos, end)
        self.pos = end
        if _has_right_trim(self.input, self.pos - 1) and self.input.startswith(RIGHT, self.pos + 1):
            self.backup()
            if n == 1:
                return self.lex_right_delim
        self.emit(SPACE)
        return self.lex_inside_action

    def _skip_word(self) -> str:
        """Consume identifier characters (is_alnum); the character that ended the run ("" at the
        end of the input), not consumed."""
        s = self.input
        while True:
            self.pos = _ASCII_WORD.match(s, self.pos).end()
            c = s[self.pos] if self.pos < len(s) else ""
            if c and ord(c) >= 128 and is_alnum(c):
                self.pos += 1
                continue
            return c

    def lex_identifier(self):
        """State: an alphanumeric word: a keyword, `true`/`false` (BOOL) or an IDENTIFIER (a
        function name)."""
        c = self._skip_word()
        word = self.input[self.start:self.pos]
        if not self.at_terminator():
            return self.errorf(f"bad character {_sharp_u(c)}")
        kw = KEYWORDS.get(word)
        if kw is not None:
            self.emit(kw)
        elif word[0] == ".":
            self.emit(FIELD)
        elif word in ("true", "false"):
            self.emit(BOOL)
        else:
            self.emit(IDENTIFIER)
        return self.lex_inside_action

    def lex_field(self):
        """State: `.Name` after the dot (FIELD)."""
        return self._field_or_variable(FIELD)

    def lex_variable(self):
        """State: `$` or `$name` (VARIABLE)."""
        if self.at_terminator():
            self.emit(VARIABLE)
            return self.lex_inside_action
        return self._field_or_variable(VARIABLE)

    def _field_or_variable(self, typ: int):
        if self.at_terminator():
            self.emit(VARIABLE if typ == VARIABLE else DOT)
            return self.lex_inside_action
        c = self._skip_word()
        if not self.at_terminator():
            return self.errorf(f"bad character {_sharp_u(c)}")
        self.emit(typ)
        return self.lex_inside_action

    def at_terminator(self) -> bool:
        """Whether the next character ends a word: end of input, a space, one of `. , | : ) (`, or
        the right delimiter."""
        c = self.peek()
        if c == "" or c in SPACE_CHARS or c in ".,|:)(":
            return True
        return self.input.startswith(RIGHT, self.pos)

    def lex_char(self):
        """State: a character constant `'x'` (CHAR_CONSTANT)."""
        return self._lex_escaped("'", CHAR_CONSTANT, "unterminated character constant")

    def lex_number(self):
        """State: a number, including a complex `1+2i` (NUMBER); "bad number syntax" otherwise."""
        if not self.scan_number():
            return self.errorf(f"bad number syntax: {go_quote(self.input[self.start:self.pos])}")
        if self.peek() in ("+", "-") and self.peek():
            if not self.scan_number() or self.input[self.pos - 1] != "i":
                return self.errorf(f"bad number syntax: {go_quote(self.input[self.start:self.pos])}")
            self.emit(COMPLEX)
        else:
            self.emit(NUMBER)
        return self.lex_inside_action

    def scan_number(self) -> bool:
        """Consume a Go number literal (sign, 0x/0o/0b prefixes, `_` separators, fraction, exponent,
        imaginary `i`); whether it is followed by a terminator."""
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        c = self.peek()
        if c and is_alnum(c):
            self.next()
            return False
        return True

    def lex_quote(self):
        """State: an interpreted string `"..."` with escapes (STRING)."""
        return self._lex_escaped('"', STRING, "unterminated quoted string")

    def _lex_escaped(self, close: str, kind, unterminated: str):
        """A '...' or "..." literal: backslash escapes the next character; no line breaks."""
        m = _QUOTED[close].match(self.input, self.pos)
        if m is not None:      # a well-formed literal; the loop below finds the errors
            self.pos = m.end()
            self.emit(kind)
            return self.lex_inside_action
        while True:
            c = self.next()
            if c == "\\":
                c2 = self.next()
                if c2 != "" and c2 != "\n":
                    continue
                return self.errorf(unterminated)
            if c == "" or c == "\n":
                return self.errorf(unterminated)
            if c == close:
                break
        self.emit(kind)
        return self.lex_inside_action

    def lex_raw_quote(self):
        """State: a raw string between backquotes (RAW_STRING), which may span lines."""
        while True:
            c = self.next()
            if c == "":
                return self.errorf("unterminated raw quoted string")
            if c == "`":
                break
        self.emit(RAW_STRING)
        return self.lex_inside_action


def _sharp_u(c: str) -> str:
    """Go's %#U: U+0041 'A'."""
    if c == "":
        return "U+FFFFFFFF"
    cp = ord(c)
    if c.isprintable():
        return f"U+{cp:04X} '{c}'"
    return f"U+{cp:04X}"


def go_quote(s: str) -> str:
    """strconv.Quote of `s` (gofmt.quote), for error messages that quote input as Go's do."""
    from .gofmt import quote
    return quote(s)


def lex(text: str) -> list[Item]:
    """Every item of a template's text (ending with EOF, or an ERROR item at the first lexical
    error)."""
    return Lexer(text).run()

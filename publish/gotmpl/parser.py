"""Parser for Go's text/template, producing the node tree of nodes.py.

Follows the grammar and the error messages of Go's text/template/parse (Go 1.23: `else with` and
range over integers are accepted; `break`/`continue` only inside `range`).
"""

from __future__ import annotations

from ..errors import TemplateError
from . import lexer as L
from .gofmt import quote, unquote, unquote_char
from .nodes import (ActionNode, BoolNode, BreakNode, ChainNode, CommandNode, CommentNode,
                    ContinueNode, DotNode, ElseNode, EndNode, FieldNode, IdentifierNode, IfNode,
                    ListNode, NilNode, NumberNode, PipeNode, RangeNode, StringNode, TemplateNode,
                    TextNode, VariableNode, WithNode)

SPACE = L.SPACE


class ParseError(TemplateError):
    """A Go template failed to parse; str() reads like Go's `template: NAME:LINE: msg`."""

    def __init__(self, message: str, *, name: str, line: int, col: int | None = None, hint: str | None = None):
        self.go_message = f"template: {name}:{line}: {message}"
        super().__init__(message, name=name, line=line, col=col, hint=hint)
        self.args = (self.go_message,)

    def __str__(self) -> str:
        return self.go_message


class Tree:
    """One named template: its root list and the source text it came from."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.parse_name = name
        self.text = text
        self.root: ListNode | None = None


def is_empty_tree(n) -> bool:
    """Whether a tree holds nothing but spaces and comments (such a {{define}} may be redefined) (Go
    text/template/parse parse.go, Go 1.23)."""
    if n is None or isinstance(n, CommentNode):
        return True
    if isinstance(n, ListNode):
        return all(is_empty_tree(c) for c in n.nodes)
    if isinstance(n, TextNode):
        return not n.text.strip()
    return False


class Parser:
    """A recursive-descent parser over the lexer's items, one method per grammar rule, with Go's
    error messages; parses one template text into `tree_set` (the main tree and every
    {{define}}/{{block}}). `funcs` are the function names known at parse time (Go
    text/template/parse parse.go, Go 1.23)."""

    def __init__(self, name: str, text: str, funcs: set[str], tree_set: dict[str, Tree]):
        self.name = name
        self.text = text
        self.items = L.lex(text)
        self.i = 0
        self.far = 0
        self.keyword: L.Item | None = None   # the last action keyword read (action, parse)
        self.funcs = funcs
        self.tree_set = tree_set
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.tree = Tree(name, text)

    # -- token stream ----------------------------------------------------------------------
    def next(self) -> L.Item:
        """The next item, consumed. (The stream ends with EOF or ERROR, where parsing stops.)"""
        i = self.i
        it = self.items[i]
        self.i = i + 1
        if i > self.far:
            self.far = i
        return it

    def backup(self, n: int = 1) -> None:
        """Step back `n` items."""
        self.i -= n

    def peek(self) -> L.Item:
        """The next item without consuming it."""
        it = self.items[min(self.i, len(self.items) - 1)]
        if self.i > self.far:
            self.far = min(self.i, len(self.items) - 1)
        return it

    def next_non_space(self) -> L.Item:
        """The next item that is not SPACE, consumed (with the spaces before it)."""
        items, i = self.items, self.i
        it = items[i]
        while it.typ == SPACE:
            i += 1
            it = items[i]
        self.i = i + 1
        if i > self.far:
            self.far = i
        return it

    def peek_non_space(self) -> L.Item:
        """The next item that is not SPACE, not consumed (the spaces before it are)."""
        items, i = self.items, self.i
        it = items[i]
        while it.typ == SPACE:
            i += 1
            it = items[i]
        self.i = i
        if i > self.far:
            self.far = i
        return it

    # -- errors ----------------------------------------------------------------------------
    def errorf(self, msg: str, pos: int | None = None, hint: str | None = None):
        """Raise ParseError `template: NAME:LINE: msg` at the furthest item read (or at character
        `pos`), with line and column (Go's: the byte in the line, counted from 0). Go's message
        names the furthest item's line only; `col` is that item's (or `pos`'s) column, so a
        template that ends inside an {{if}} points at its end."""
        far = self.items[min(self.far, len(self.items) - 1)]
        line = far.line
        col = _column(self.text, far.pos if pos is None else pos)
        raise ParseError(msg, name=self.tree.parse_name, line=line, col=col, hint=hint)

    def unexpected(self, tok: L.Item, context: str):
        """Raise Go's "unexpected X in CONTEXT" for `tok` (a lexical ERROR item: its own
        message)."""
        if tok.typ == L.ERROR:
            extra = ""
            if self.action_line and self.action_line != tok.line:
                extra = f" in action started at {self.tree.parse_name}:{self.action_line}"
                if tok.val.endswith(" action"):
                    extra = extra[len(" in action"):]
            self.errorf(f"{tok.val}{extra}", tok.pos)
        self.errorf(f"unexpected {tok.describe()} in {context}", tok.pos)

    def expect(self, typ: int, context: str) -> L.Item:
        """The next non-space item, which must be of type `typ`; else "unexpected ... in CONTEXT"
        (ParseError)."""
        tok = self.next_non_space()
        if tok.typ != typ:
            self.unexpected(tok, context)
        return tok

    def expect_one_of(self, t1: int, t2: int, context: str) -> L.Item:
        """The next non-space item, which must be of type `t1` or `t2`; else ParseError."""
        tok = self.next_non_space()
        if tok.typ not in (t1, t2):
            self.unexpected(tok, context)
        return tok

    # -- top level -------------------------------------------------------------------------
    def parse(self) -> Tree:
        """Parse the whole text into the main tree (adding each {{define}} to the set on the way)
        and return it. Raises ParseError."""
        t = self.tree
        t.root = ListNode(self.peek().pos)
        while self.peek().typ != L.EOF:
            if self.peek().typ == L.LEFT_DELIM:
                delim_i = self.i
                self.next()
                if (kw := self.next_non_space()).typ == L.DEFINE:
                    self.keyword = kw
                    self.parse_definition()
                    continue
                self.i = delim_i
            n = self.text_or_action()
            if isinstance(n, (EndNode, ElseNode)):
                self.errorf(f"unexpected {n}")
            t.root.nodes.append(n)
        self.add(t)
        return t

    def add(self, t: Tree) -> None:
        """Add tree `t` to the set; a non-empty tree may not replace a non-empty one of the same
        name ("template: multiple definition of template")."""
        existing = self.tree_set.get(t.name)
        if existing is None or is_empty_tree(existing.root):
            self.tree_set[t.name] = t
            return
        if not is_empty_tree(t.root):
            self.errorf(f"template: multiple definition of template {quote(t.name)}")

    def _sub_tree(self, name: str):
        """Parse a nested {{define}}/{{block}} body with fresh variables, as Go's new Tree does."""
        saved = (self.tree, self.vars, self.range_depth)
        self.tree = Tree(name, self.text)
        self.tree.parse_name = saved[0].parse_name
        self.vars = ["$"]
        self.range_depth = 0
        return saved

    def parse_definition(self) -> None:
        """`{{define "name"}} ... {{end}}`: parse the body as a tree of its own and add it."""
        context = "define clause"
        opener = self.keyword
        tok = self.expect_one_of(L.STRING, L.RAW_STRING, context)
        name = self._unquote(tok)
        saved = self._sub_tree(name)
        self.expect(L.RIGHT_DELIM, context)
        self.tree.root, end = self.item_list(opener)
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(self.tree)
        self.tree, self.vars, self.range_depth = saved

    def item_list(self, opener: L.Item | None = None):
        """Nodes up to `{{end}}` or `{{else}}`; returns (the list, the EndNode or ElseNode that
        closed it). `opener` is the keyword item (if, range, with, block, define) whose body this
        is: an input that ends first names it in the error's hint."""
        lst = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().typ != L.EOF:
            n = self.text_or_action()
            if isinstance(n, (EndNode, ElseNode)):
                return lst, n
            lst.nodes.append(n)
        self.errorf("unexpected EOF", hint=None if opener is None else (
            f"the {{{{{opener.val}}}}} at {opener.line}:{_column(self.text, opener.pos)} has no {{{{end}}}}: "
            "add one where its body ends"))

    def text_or_action(self):
        """One TEXT node, a comment, or an action with its body."""
        tok = self.next_non_space()
        if tok.typ == L.TEXT:
            return TextNode(tok.pos, tok.val)
        if tok.typ == L.LEFT_DELIM:
            saved = self.action_line
            self.action_line = tok.line
            try:
                return self.action()
            finally:
                self.action_line = 0 if saved == 0 else saved
        if tok.typ == L.COMMENT:
            return CommentNode(tok.pos, tok.val)
        self.unexpected(tok, "input")

    def action(self):
        """The node of the action after `{{`: a control structure by its keyword (block, break,
        continue, else, end, if, range, template, with), else a pipeline whose value is printed."""
        tok = self.next_non_space()
        typ = tok.typ
        self.keyword = tok    # the opener an unexpected EOF names (item_list)
        if typ == L.BLOCK:
            return self.block_control()
        if typ == L.BREAK:
            return self.break_control(tok, "break", BreakNode)
        if typ == L.CONTINUE:
            return self.break_control(tok, "continue", ContinueNode)
        if typ == L.ELSE:
            return self.else_control()
        if typ == L.END:
            return EndNode(self.expect(L.RIGHT_DELIM, "end").pos)
        if typ == L.IF:
            return IfNode(*self.parse_control("if"))
        if typ == L.RANGE:
            return RangeNode(*self.parse_control("range"))
        if typ == L.TEMPLATE:
            return self.template_control()
        if typ == L.WITH:
            return WithNode(*self.parse_control("with"))
        self.backup()
        tok = self.peek()
        return ActionNode(tok.pos, tok.line, self.pipeline("command", L.RIGHT_DELIM))

    def break_control(self, kw: L.Item, word: str, cls):
        """`{{break}}` / `{{continue}}`: only inside a range, closed at once (ParseError
        otherwise)."""
        tok = self.next_non_space()
        if tok.typ != L.RIGHT_DELIM:
            self.unexpected(tok, "{{" + word + "}}")
        if self.range_depth == 0:
            self.errorf("{{" + word + "}} outside {{range}}")
        return cls(kw.pos, kw.line)

    def else_control(self):
        """`{{else}}`, or `{{else if ...}}` / `{{else with ...}}` (parsed as an else holding one
        nested branch)."""
        peek = self.peek_non_space()
        if peek.typ in (L.IF, L.WITH):
            return ElseNode(peek.pos, peek.line)
        tok = self.expect(L.RIGHT_DELIM, "else")
        return ElseNode(tok.pos, tok.line)

    def parse_control(self, context: str):
        """The common part of if, range and with: (pos, line, pipeline, list, else list); the
        variables the pipeline declares live until `{{end}}`."""
        nvars = len(self.vars)
        opener = self.keyword
        try:
            pipe = self.pipeline(context, L.RIGHT_DELIM)
            if context == "range":
                self.range_depth += 1
            lst, nxt = self.item_list(opener)
            if context == "range":
                self.range_depth -= 1
            else_list = None
            if isinstance(nxt, ElseNode):
                if context == "if" and self.peek().typ == L.IF:
                    self.next()
                    self.keyword = opener   # one {{end}} closes the whole if-else-if chain
                    else_list = ListNode(nxt.pos, [IfNode(*self.parse_control("if"))])
                elif context == "with" and self.peek().typ == L.WITH:
                    self.next()
                    self.keyword = opener
                    else_list = ListNode(nxt.pos, [WithNode(*self.parse_control("with"))])
                else:
                    else_list, nxt = self.item_list(opener)
                    if not isinstance(nxt, EndNode):
                        self.errorf(f"expected end; found {nxt}")
            return pipe.pos, pipe.line, pipe, lst, else_list
        finally:
            del self.vars[nvars:]

    def block_control(self):
        """`{{block "name" pipeline}} ... {{end}}`: defines the template and runs it in place."""
        context = "block clause"
        opener = self.keyword
        tok = self.next_non_space()
        name = self.parse_template_name(tok, context)
        pipe = self.pipeline(context, L.RIGHT_DELIM)
        saved = self._sub_tree(name)
        self.tree.root, end = self.item_list(opener)
        if not isinstance(end, EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.add(self.tree)
        self.tree, self.vars, self.range_depth = saved
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def template_control(self):
        """`{{template "name" [pipeline]}}`."""
        context = "template clause"
        tok = self.next_non_space()
        name = self.parse_template_name(tok, context)
        pipe = None
        if self.next_non_space().typ != L.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline(context, L.RIGHT_DELIM)
        return TemplateNode(tok.pos, tok.line, name, pipe)

    def parse_template_name(self, tok: L.Item, context: str) -> str:
        """The (unquoted) template name of a template or block clause; ParseError for anything but a
        string constant."""
        if tok.typ in (L.STRING, L.RAW_STRING):
            return self._unquote(tok)
        self.unexpected(tok, context)

    def _unquote(self, tok: L.Item) -> str:
        try:
            return unquote(tok.val)
        except ValueError as e:
            self.errorf(str(e), tok.pos)

    # -- pipelines -------------------------------------------------------------------------
    def pipeline(self, context: str, end: int) -> PipeNode:
        """A pipeline up to the item type `end` (right delimiter or right paren): optional `$x :=` /
        `$x, $y :=` / `$x =`, then commands joined by `|`."""
        tok = self.peek_non_space()
        pipe = PipeNode(tok.pos, tok.line, [])
        while True:  # declarations
            v = self.peek_non_space()
            if v.typ != L.VARIABLE:
                break
            self.next_non_space()
            after_var = self.peek()
            nxt = self.peek_non_space()
            if nxt.typ in (L.ASSIGN, L.DECLARE):
                pipe.is_assign = nxt.typ == L.ASSIGN
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val))
                self.vars.append(v.val)
            elif nxt.typ == L.CHAR and nxt.val == ",":
                self.next_non_space()
                pipe.decl.append(VariableNode(v.pos, v.val))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().typ in (L.VARIABLE, L.RIGHT_DELIM, L.RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            elif after_var.typ == L.SPACE:
                self._backup_to(v)
            else:
                self._backup_to(v)
            break
        while True:
            tok = self.next_non_space()
            if tok.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.typ in (L.BOOL, L.CHAR_CONSTANT, L.COMPLEX, L.DOT, L.FIELD, L.IDENTIFIER,
                           L.NUMBER, L.NIL, L.RAW_STRING, L.STRING, L.VARIABLE, L.LEFT_PAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def _backup_to(self, item: L.Item) -> None:
        while self.items[self.i] is not item:
            self.i -= 1

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        """Go's checks on a finished pipeline: it is not empty ("missing value for CONTEXT"), and no
        command after the first starts with a constant, dot or nil ("non executable command in
        pipeline stage N"). Raises ParseError."""
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, c in enumerate(pipe.cmds[1:]):
            if isinstance(c.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        """One command: operands up to `|`, the end of the pipeline, or `)`."""
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.typ == L.SPACE:
                continue
            if tok.typ in (L.RIGHT_DELIM, L.RIGHT_PAREN):
                self.backup()
            elif tok.typ == L.PIPE:
                pass
            else:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self):
        """A term with its field chain (`.A.B` after a term becomes a ChainNode, or extends a field
        or variable)."""
        node = self.term()
        if node is None:
            return None
        if self.peek().typ == L.FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().typ == L.FIELD:
                chain.add(self.next().val)
            if isinstance(node, FieldNode):
                node = FieldNode(chain.pos, str(chain))
            elif isinstance(node, VariableNode):
                node = VariableNode(chain.pos, str(chain))
            elif isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                self.errorf(f"unexpected . after term {quote(str(node))}")
            else:
                node = chain
        return node

    def term(self):
        """A literal (bool, number, string, char), `.`, `nil`, a variable, a field, a function name
        (which must be known), or a parenthesised pipeline; None when the next item starts none."""
        tok = self.next_non_space()
        typ = tok.typ
        if typ == L.IDENTIFIER:
            if tok.val not in self.funcs:
                self.errorf(f"function {quote(tok.val)} not defined", tok.pos)
            return IdentifierNode(tok.pos, tok.val)
        if typ == L.DOT:
            return DotNode(tok.pos)
        if typ == L.NIL:
            return NilNode(tok.pos)
        if typ == L.VARIABLE:
            return self.use_var(tok)
        if typ == L.FIELD:
            return FieldNode(tok.pos, tok.val)
        if typ == L.BOOL:
            return BoolNode(tok.pos, tok.val == "true")
        if typ in (L.CHAR_CONSTANT, L.COMPLEX, L.NUMBER):
            try:
                return new_number(tok.pos, tok.val, typ)
            except ValueError as e:
                self.errorf(str(e), tok.pos)
        if typ == L.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", L.RIGHT_PAREN)
        if typ in (L.STRING, L.RAW_STRING):
            return StringNode(tok.pos, tok.val, self._unquote(tok))
        self.backup()
        return None

    def use_var(self, tok: L.Item) -> VariableNode:
        """A reference to a declared variable; "undefined variable" (ParseError) otherwise."""
        v = VariableNode(tok.pos, tok.val)
        if v.ident[0] in self.vars:
            return v
        self.errorf(f"undefined variable {quote(v.ident[0])}", tok.pos)


def _column(text: str, pos: int) -> int:
    start = text.rfind("\n", 0, pos) + 1
    return len(text[start:pos].encode("utf-8"))


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _parse_int(text: str, unsigned: bool) -> int:
    """strconv.ParseInt/ParseUint with base 0."""
    s = text
    neg = False
    if not unsigned and s[:1] in "+-" and s:
        neg = s[0] == "-"
        s = s[1:]
    base = 10
    body = s
    if s[:2].lower() == "0x":
        base, body = 16, s[2:]
    elif s[:2].lower() == "0b":
        base, body = 2, s[2:]
    elif s[:2].lower() == "0o":
        base, body = 8, s[2:]
    elif s[:1] == "0" and len(s) > 1:
        base, body = 8, s[1:]
    if "_" in body or "_" in s:
        if not _underscore_ok(s):
            raise ValueError
        body = body.replace("_", "")
    if not body:
        raise ValueError
    digits = "0123456789abcdef"[:base]
    if any(c.lower() not in digits for c in body):
        raise ValueError
    v = int(body, base)
    if neg:
        v = -v
    if unsigned:
        if v > (1 << 64) - 1:
            raise ValueError
    elif not (_INT64_MIN <= v <= _INT64_MAX):
        raise ValueError
    return v


def _underscore_ok(s: str) -> bool:
    saw = "^"
    i = 0
    if s[:1] in "+-":
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "bxo":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if c.isdigit() or (hexa and c.lower() in "abcdef"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def _parse_float(text: str) -> float:
    s = text
    if "_" in s:
        if not _underscore_ok(s):
            raise ValueError
        s = s.replace("_", "")
    low = s.lower()
    if low.lstrip("+-") in ("inf", "infinity", "nan"):
        raise ValueError
    if "0x" in low:
        if "p" not in low:
            raise ValueError
        f = float.fromhex(s)
    else:
        if not s or not any(c.isdigit() for c in s):
            raise ValueError
        f = float(s)
    if f in (float("inf"), float("-inf")):
        raise ValueError
    return f


def new_number(pos: int, text: str, typ: int) -> NumberNode:
    """A NumberNode for a number or character constant with every type its text allows, as Go's
    newNumber (hex, octal, binary, underscores, floats, imaginary). Raises ParseError for an
    illegal number."""
    n = NumberNode(pos, text)
    if typ == L.CHAR_CONSTANT:
        r, tail = unquote_char(text[1:], "'")
        if tail != "'":
            raise ValueError(f"malformed character constant: {text}")
        n.int64 = n.uint64 = r
        n.is_int = n.is_uint = n.is_float = True
        n.float64 = float(r)
        return n
    if typ == L.COMPLEX:
        try:
            n.complex128 = complex(text.replace("i", "j"))
        except ValueError:
            raise ValueError("expected integer") from None
        n.is_complex = True
        _simplify_complex(n)
        return n
    if text.endswith("i"):
        try:
            f = _parse_float(text[:-1])
            n.is_complex = True
            n.complex128 = complex(0, f)
            _simplify_complex(n)
            return n
        except ValueError:
            pass
    u = None
    try:
        u = _parse_int(text, True)
        n.is_uint = True
        n.uint64 = u
    except ValueError:
        pass
    try:
        i = _parse_int(text, False)
        n.is_int = True
        n.int64 = i
        if i == 0:
            n.is_uint = True
            n.uint64 = u or 0
    except ValueError:
        pass
    if n.is_int:
        n.is_float = True
        n.float64 = float(n.int64)
    elif n.is_uint:
        n.is_float = True
        n.float64 = float(n.uint64)
    else:
        try:
            f = _parse_float(text)
        except (ValueError, OverflowError):
            f = None
        if f is not None:
            if not any(c in text for c in ".eEpP"):
                raise ValueError(f"integer overflow: {quote(text)}")
            n.is_float = True
            n.float64 = f
            if f == int(f) and _INT64_MIN <= int(f) <= _INT64_MAX and f not in (float("inf"),):
                n.is_int = True
                n.int64 = int(f)
            if f == int(f) and 0 <= int(f) < (1 << 64):
                n.is_uint = True
                n.uint64 = int(f)
    if not (n.is_int or n.is_uint or n.is_float):
        raise ValueError(f"illegal number syntax: {quote(text)}")
    return n


def _simplify_complex(n: NumberNode) -> None:
    n.is_float = n.complex128.imag == 0
    if n.is_float:
        n.float64 = n.complex128.real
        f = n.float64
        if f == int(f) and _INT64_MIN <= int(f) <= _INT64_MAX:
            n.is_int = True
            n.int64 = int(f)
        if f == int(f) and 0 <= int(f) < (1 << 64):
            n.is_uint = True
            n.uint64 = int(f)


def parse_trees(text: str, name: str, funcs: set[str]) -> dict[str, Tree]:
    """Every tree a template text defines, by name: `name` for the main one, plus each
    {{define}}/{{block}}. `funcs` are the known function names. Raises ParseError with line and
    column."""
    trees: dict[str, Tree] = {}
    parser = Parser(name, text, funcs, trees)
    try:
        parser.parse()
    except RecursionError:
        far = parser.items[min(parser.far, len(parser.items) - 1)]
        raise ParseError("actions nested too deeply for this parser", name=name,
                         line=far.line) from None
    return trees

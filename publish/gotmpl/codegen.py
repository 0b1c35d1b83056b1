"""A parsed template set compiled to Python source once, then run as ordinary Python code.

executor.py walks the parse tree for every render; this module turns the same tree into one Python
function per template (the way jinja2 compiles its templates): text becomes a constant append,
`{{ if }}`/`{{ range }}` become Python `if`/`for`, template variables become Python locals (Go's
scoping is lexical; the runtime stack executor.py keeps is mirrored at compile time), and field
access, truth, printing and the hot functions (eq, ne, len, not, and, or, index, slice) are short
helpers with the executor's semantics. See executor.execute for how the two are combined.

The compiled code is the fast path only. Whenever something unusual happens while it runs (any
error, a limit coming near, a construct it does not compile) it gives up with _Bail, and the
caller runs the tree-walking executor on the same input, which then produces Go's exact output or
error message and position. So the compiled code never has to produce an error itself; it must
only never *succeed* where the executor fails, and produce the same bytes where both succeed.
Checked by the differential tests against Ollama's Go template package (tests/gotmpl/test_gotmpl_go.py)
and by tests/gotmpl/test_codegen.py, which runs every test template through both engines.
"""

from __future__ import annotations

import operator
import time

from . import executor as X
from . import funcs as F
from .gofmt import quote
from .nodes import (ActionNode, BoolNode, BreakNode, ChainNode, CommentNode, ContinueNode,
                    DotNode, FieldNode, IdentifierNode, IfNode, ListNode, NilNode, NumberNode,
                    PipeNode, RangeNode, StringNode, TemplateNode, TextNode, VariableNode,
                    WithNode)
from .values import MISSING, GoMap, GoSlice, GoStruct, Uint8

_NOKEY = object()


class _Bail(Exception):
    """The compiled code met something it leaves to the tree-walking executor."""


class Unsupported(Exception):
    """Compile time: a construct compiled as `bail when reached`."""


# -- runtime helpers (names start with _ and are the generated code's globals) -----------------

def _bail(*_args):
    raise _Bail


class _Run:
    """The counters executor.State keeps for its limits, for one run of compiled code."""

    __slots__ = ("out", "steps", "chars", "out_len", "mark", "depth", "deadline", "timed_out")

    def __init__(self, deadline: float):
        self.out: list[str] = []
        self.steps = self.chars = self.out_len = self.mark = self.depth = 0
        self.deadline = deadline
        self.timed_out = False


def _step(st):
    """executor.State.step, every 64th range iteration or template call (the generated code
    counts each): the step bound, the output size (summed from the chunks written since the last
    look; the executor adds every write) and the clock. Program.run checks the step bound again at the
    end, so overshooting it by up to 63 steps never passes."""
    if st.steps > X.MAX_STEPS:
        raise _Bail
    out = st.out
    st.out_len += sum(map(len, out[st.mark:]))
    st.mark = len(out)
    if st.out_len > X.MAX_OUTPUT or st.chars + st.out_len > X.MAX_CHARS:
        raise _Bail
    if time.monotonic() > st.deadline:
        st.timed_out = True
        raise _Bail


def _spend(st, n):
    st.chars += n
    if st.chars + st.out_len > X.MAX_CHARS:
        raise _Bail


def _truth(v):
    """values.is_true(v)[0]."""
    if v is MISSING or v is None:
        return False
    t = type(v)
    if t is bool:
        return v
    if t is str:
        return len(v) > 0
    if t is int or t is float or t is complex or t is Uint8:
        return v != 0
    if isinstance(v, (list, dict)):
        return len(v) > 0
    return True


def _nil_to_missing(v):
    return MISSING if v is None else v


def _make_field(missing_zero: bool):
    """executor.State.eval_field for a field without arguments; errors bail."""

    def field(r, name):
        t = type(r)
        if t is dict:
            v = r.get(name, _NOKEY)
            if v is _NOKEY:
                return None if missing_zero else MISSING
            return v
        if isinstance(r, GoStruct):
            ms = r.methods
            if ms and name in ms:
                return ms[name](r)
            v = r._values.get(name, _NOKEY)
            if v is _NOKEY:
                raise _Bail
            return v
        if r is MISSING:
            return MISSING
        if r is None:
            raise _Bail
        ms = getattr(r, "methods", None)
        if ms and name in ms:
            return ms[name](r)
        if isinstance(r, dict):
            v = r.get(name, _NOKEY)
            if v is _NOKEY:
                if missing_zero:
                    if isinstance(r, GoMap) and r.type_name != "map[string]interface {}":
                        return F.map_zero(r)
                    return None
                return MISSING
            return v
        raise _Bail

    return field


def _print(st, v):
    """executor.State.print_value for a value that is not a str (None: Go's nil interface,
    dug out into an invalid value by the pipeline)."""
    if v is None:
        return "<no value>"
    if callable(v) and not isinstance(v, (GoStruct, list, dict)):
        raise _Bail
    return X.printed(v)


def _size(argv) -> int:
    n = 0
    for a in argv:
        if type(a) is str or isinstance(a, (list, dict)):
            n += len(a)
    return n


def _call(st, fn, argv):
    """executor.State.eval_call after the arguments are evaluated; errors bail."""
    _spend(st, _size(argv))
    try:
        if fn.impl is F.printf:
            result = F.printf(*argv, limit=X.MAX_CHARS - st.chars - st.out_len)
        else:
            result = fn.impl(*argv)
    except F.FuncError:
        raise _Bail from None
    if type(result) is str:
        if len(result) > X.MAX_OUTPUT:
            raise _Bail
        _spend(st, len(result))
    return result


def _eq(st, a, b):
    ta = type(a)
    if ta is str and type(b) is str:
        st.chars += len(a) + len(b)
        if st.chars + st.out_len > X.MAX_CHARS:
            raise _Bail
        return a == b
    if (ta is int or ta is Uint8) and (type(b) is int or type(b) is Uint8):
        return a == b
    if ta is type(b) and isinstance(a, GoStruct) and a.pointer:  # two *templateMessage
        return a is b
    return _call(st, _EQ, (a, b))


def _eq_any(st, a, *rest):
    """eq with several arguments: the first equals any of the others."""
    ta = type(a)
    if ta is int or ta is Uint8:
        for b in rest:
            if type(b) is not int:
                return _call(st, _EQ, (a, *rest))
        return a in rest
    if ta is str:
        n = len(a)
        for b in rest:
            if type(b) is not str:
                return _call(st, _EQ, (a, *rest))
            n += len(b)
        _spend(st, n)
        return a in rest
    return _call(st, _EQ, (a, *rest))


def _make_order(fn, op):
    """lt, le, gt, ge: ints compare directly; anything else through the function."""
    def order(st, a, b):
        ta, tb = type(a), type(b)
        if (ta is int or ta is Uint8) and (tb is int or tb is Uint8):
            return op(a, b)
        return _call(st, fn, (a, b))
    return order


def _printf_q(st, fn, v):
    """printf "%q" of a string: strconv.Quote."""
    if type(v) is not str:
        return _call(st, fn, ("%q", v))
    _spend(st, 2 + len(v))
    out = F.go_string(quote(v))
    if len(out) > X.MAX_CHARS - st.chars - st.out_len:
        raise _Bail
    _spend(st, len(out))
    return out


def _printf_pad(st, fn, fmt, n, s1, s2=""):
    """printf "%*s%s" N S1 S2 (and "%*s" N S1) of ASCII strings and a small width: S1 padded on
    the left to N characters, then S2 (converted templates count with it: len of the result)."""
    if type(n) is int and 0 <= n <= 4096 and type(s1) is str and type(s2) is str \
            and s1.isascii() and s2.isascii():
        _spend(st, len(fmt) + len(s1) + len(s2))
        out = s1.rjust(n) + s2
        if len(out) > X.MAX_CHARS - st.chars - st.out_len:
            raise _Bail
        _spend(st, len(out))
        return out
    return _call(st, fn, (fmt, n, s1, s2) if fmt == "%*s%s" else (fmt, n, s1))


# Uint8 values, shared (immutable): what `index` of a string gives
_U8 = [Uint8(i) for i in range(256)]


def _index(st, a, i):
    """index with one index: a byte of an ASCII string or an element of a list."""
    if type(i) is int and 0 <= i:
        if type(a) is str:
            if i < len(a) and a.isascii():
                st.chars += len(a)
                if st.chars + st.out_len > X.MAX_CHARS:
                    raise _Bail
                return _U8[ord(a[i])]
        elif isinstance(a, list) and i < len(a):
            st.chars += len(a)
            if st.chars + st.out_len > X.MAX_CHARS:
                raise _Bail
            return a[i]
    return _call(st, _INDEX, (a, i))


def _slice(st, a, lo=_NOKEY, hi=_NOKEY, *more):
    """slice of an ASCII string or a list with one or two indexes."""
    ta = type(a)
    if not more and (ta is str and a.isascii() or isinstance(a, list)):
        n = len(a)
        if lo is _NOKEY:
            lo = 0
        if hi is _NOKEY:
            hi = n
        if type(lo) is int and type(hi) is int and 0 <= lo <= hi <= n:
            out = a[lo:hi]
            st.chars += n + len(out) if ta is str else n
            if st.chars + st.out_len > X.MAX_CHARS:
                raise _Bail
            if ta is str or ta is list:
                return out
            if isinstance(a, GoSlice):
                return GoSlice(out, a.type_name)
            return out
    return _call(st, _SLICE, (a, *(x for x in (lo, hi) if x is not _NOKEY), *more))


def _ne(st, a, b):
    if type(a) is str and type(b) is str:
        st.chars += len(a) + len(b)
        if st.chars + st.out_len > X.MAX_CHARS:
            raise _Bail
        return a != b
    if type(a) is int and type(b) is int:
        return a != b
    return _call(st, _NE, (a, b))


def _len(st, a):
    if isinstance(a, (str, list, dict)):
        n = len(a)
        st.chars += n
        if st.chars + st.out_len > X.MAX_CHARS:
            raise _Bail
        if type(a) is str and not a.isascii():
            return F.length(a)
        return n
    return _call(st, _LEN, (a,))


def _len_slice(st, a, i, slice_fn):
    """`len (slice A I)`: how many elements from I on (the pattern Ollama's templates use to find
    the last message), with both calls' accounting."""
    if type(i) is int and (isinstance(a, list) or type(a) is str and a.isascii()) and 0 <= i <= len(a):
        n = len(a)
        st.chars += n + (n - i) * (2 if type(a) is str else 1)  # a string result is counted twice
        if st.chars + st.out_len > X.MAX_CHARS:
            raise _Bail
        return n - i
    v = _call(st, slice_fn, (a, i))
    return _len(st, MISSING if v is None else v)


def _not(st, v):
    if type(v) is str or isinstance(v, (list, dict)):
        _spend(st, len(v))
    return not _truth(v)


def _any(v):
    return None if v is MISSING else v


def _string(v):
    if type(v) is not str:
        raise _Bail
    return v


_EQ = F.BUILTINS["eq"]
_INDEX = F.BUILTINS["index"]
_SLICE = F.BUILTINS["slice"]
_NE = F.BUILTINS["ne"]
_LEN = F.BUILTINS["len"]

# expressions that never give None: comparisons, lengths, constants, values already dug out
_NONNIL = ("_eq(", "_ne(", "_len(", "_not(", "_len_slice(", "_K[", "(n")


def _range_assigns(node) -> bool:
    """True when a {{range $x = ...}} assigns elements (possibly nil) to declared variables."""
    if node is None:
        return False
    if type(node) is ListNode:
        return any(_range_assigns(n) for n in node.nodes)
    if type(node) is RangeNode and node.pipe.is_assign:
        return True
    if type(node) in (IfNode, WithNode, RangeNode):
        return _range_assigns(node.list) or _range_assigns(node.else_list)
    return False


_ORDER = {F.lt: "_lt", F.le: "_le", F.gt: "_gt", F.ge: "_ge"}
_FAST_CALLS = {F.eq: "_eq", F.ne: "_ne", F.length: "_len"}


# -- the compiler ---------------------------------------------------------------------------------

class _Func:
    """Source lines of one generated function."""

    def __init__(self):
        self.lines: list[str] = []
        self.n = 0

    def tmp(self, prefix="t") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)


class _Compiler:
    def __init__(self, trees, funcs, missing_zero: bool):
        self.trees = trees
        self.funcs = funcs
        self.missing_zero = missing_zero
        self.index = {name: i for i, name in enumerate(trees)}
        self.consts: list = []
        self.fn: _Func | None = None
        self.nonnil: set[str] = set()  # locals that never hold None (declared from a pipeline)
        self.bools: set[str] = {"True", "False"}  # expressions that always give a bool
        self.range_assign = any(_range_assigns(t.root) for t in trees.values())

    def const(self, value) -> str:
        self.consts.append(value)
        return f"_K[{len(self.consts) - 1}]"

    # ---- statements ----
    def compile_tree(self, i: int, tree) -> list[str]:
        self.fn = _Func()
        self.nonnil = set()  # local names are per function
        f = self.fn
        f.emit(0, f"def _t{i}(st, out, dot):")
        f.emit(1, "_a = out.append")
        scope = [("$", "dot")]
        self.list_(tree.root, 1, scope, "dot")
        f.emit(1, "return")
        return f.lines

    def list_(self, node, ind, scope, dot) -> None:
        if node is None:
            return
        for n in node.nodes:
            self.node(n, ind, scope, dot)

    def node(self, n, ind, scope, dot) -> None:
        f = self.fn
        t = type(n)
        if t is TextNode:
            f.emit(ind, f"_a({n.text!r})")
        elif t is ListNode:
            self.list_(n, ind, scope, dot)
        elif t is ActionNode:
            try:
                value = self.pipeline(n.pipe, ind, scope, dot, nn=False)
            except Unsupported as e:
                f.emit(ind, f"_bail()  # {str(e)!r}")
                return
            if not n.pipe.decl:
                v = f.tmp()
                f.emit(ind, f"{v} = {value}")
                f.emit(ind, f"_a({v} if type({v}) is str else _print(st, {v}))")
        elif t is IfNode or t is WithNode:
            self.if_(n, ind, scope, dot, t is WithNode)
        elif t is RangeNode:
            self.range_(n, ind, scope, dot)
        elif t is TemplateNode:
            self.template(n, ind, scope, dot)
        elif t is BreakNode:
            f.emit(ind, "break")
        elif t is ContinueNode:
            f.emit(ind, "continue")
        elif t is CommentNode:
            pass
        else:
            f.emit(ind, "_bail()")

    def if_(self, n, ind, scope, dot, is_with) -> None:
        f = self.fn
        mark = len(scope)
        try:
            value = self.pipeline(n.pipe, ind, scope, dot, nn=is_with)
        except Unsupported as e:
            f.emit(ind, f"_bail()  # {str(e)!r}")
            del scope[mark:]
            return
        if is_with or not (value in self.bools or value.isidentifier()):
            v = f.tmp("w" if is_with else "c")
            f.emit(ind, f"{v} = {value}")
        else:
            v = value
        f.emit(ind, f"if {self.truth(v)}:")
        inner = len(scope)
        f.emit(ind + 1, "pass")
        self.list_(n.list, ind + 1, scope, v if is_with else dot)
        del scope[inner:]
        self.else_(n, ind, scope, dot)
        del scope[mark:]

    def else_(self, n, ind, scope, dot) -> None:
        """The {{else}} list of an if/with/range, as the `else:` of the `if` just emitted."""
        if n.else_list is not None and n.else_list.nodes:
            mark = len(scope)
            self.fn.emit(ind, "else:")
            self.fn.emit(ind + 1, "pass")
            self.list_(n.else_list, ind + 1, scope, dot)
            del scope[mark:]

    def range_(self, n, ind, scope, dot) -> None:
        f = self.fn
        mark0 = len(scope)
        pipe = n.pipe
        decl = pipe.decl
        try:
            if pipe.is_assign:
                targets = [self.resolve(scope, d.ident[0]) for d in decl]
            value = self.pipeline(pipe, ind, scope, dot, nn=False, rng=True)
        except Unsupported as e:
            f.emit(ind, f"_bail()  # {str(e)!r}")
            del scope[mark0:]
            return
        r = f.tmp("r")
        it = f.tmp("i")
        f.emit(ind, f"{r} = {value}")
        f.emit(ind, f"if isinstance({r}, list):")
        f.emit(ind + 1, f"{it} = enumerate({r}) if {r} else None")
        f.emit(ind, f"elif isinstance({r}, dict):")
        f.emit(ind + 1, f"{it} = _sorted_items({r}) if {r} else None")
        f.emit(ind, f"elif {r} is _MISSING or {r} is None:")
        f.emit(ind + 1, f"{it} = None")
        f.emit(ind, f"elif type({r}) is int or type({r}) is _Uint8:")
        if len(decl) > 1:
            f.emit(ind + 1, "_bail()")
        f.emit(ind + 1, f"{it} = ((x, x) for x in range({r})) if {r} > 0 else None")
        f.emit(ind, "else:")
        f.emit(ind + 1, "_bail()")
        f.emit(ind, f"if {it} is not None:")
        k, e = f.tmp("k"), f.tmp("e")
        f.emit(ind + 1, f"for {k}, {e} in {it}:")
        f.emit(ind + 2, "st.steps += 1")
        f.emit(ind + 2, "if not st.steps & 63: _step(st)")
        if decl:
            if pipe.is_assign:
                if len(decl) > 1:
                    f.emit(ind + 2, f"{targets[0]} = {k}")
                    f.emit(ind + 2, f"{targets[1]} = {e}")
                else:
                    f.emit(ind + 2, f"{targets[0]} = {e}")
            else:
                # eval_pipeline pushed the declared variables (holding the whole value)
                f.emit(ind + 2, f"{scope[-1][1]} = {e}")
                if len(decl) > 1:
                    f.emit(ind + 2, f"{scope[-2][1]} = {k}")
        mark = len(scope)
        self.list_(n.list, ind + 2, scope, e)
        del scope[mark:]
        self.else_(n, ind, scope, dot)
        del scope[mark0:]

    def template(self, n, ind, scope, dot) -> None:
        f = self.fn
        i = self.index.get(n.name)
        if i is None or self.trees[n.name].root is None:
            f.emit(ind, "_bail()")
            return
        f.emit(ind, f"if st.depth >= {X.MAX_DEPTH}:")
        f.emit(ind + 1, "_bail()")
        f.emit(ind, "st.steps += 1")
        f.emit(ind, "if not st.steps & 63: _step(st)")
        if n.pipe is not None:
            try:
                value = self.pipeline(n.pipe, ind, scope, dot)
            except Unsupported as e:
                f.emit(ind, f"_bail()  # {str(e)!r}")
                return
        else:
            value = "_MISSING"
        f.emit(ind, "st.depth += 1")
        f.emit(ind, f"_T[{i}](st, out, {value})")
        f.emit(ind, "st.depth -= 1")

    # ---- expressions ----
    @staticmethod
    def resolve(scope, name: str) -> str:
        for goname, pyname in reversed(scope):
            if goname == name:
                return pyname
        raise Unsupported(f"undefined variable {name}")

    def pipeline(self, pipe, ind, scope, dot, nn=True, rng=False) -> str:
        """Python expression for the pipeline's value; declarations are emitted as statements
        (and the expression is then the declared local). Each command's value has Go's nil
        interface dug out into MISSING (eval_pipeline); nn=False leaves that to the caller for the
        last one (printing and truth treat None as MISSING)."""
        if pipe is None:
            return "_MISSING"
        value = None
        last = len(pipe.cmds) - 1
        for i, cmd in enumerate(pipe.cmds):
            value = self.command(cmd, value, scope, dot)
            if i < last or nn or pipe.decl:
                value = self.nn(value)
        if value is None:
            raise Unsupported("empty pipeline")
        if not pipe.decl:
            return value
        f = self.fn
        if pipe.is_assign:
            targets = [self.resolve(scope, v.ident[0]) for v in pipe.decl]
            f.emit(ind, " = ".join(targets) + f" = {value}")
            return targets[-1]
        names = []
        for v in pipe.decl:
            py = f.tmp("v")
            names.append(py)
            if not self.range_assign and not rng:
                self.nonnil.add(py)
        f.emit(ind, " = ".join(names) + f" = {value}")
        for v, py in zip(pipe.decl, names):
            scope.append((v.ident[0], py))
        return names[-1]

    def command(self, cmd, final, scope, dot) -> str:
        """One command; `final` is the previous command's value expression (None: none).
        The result has Go's nil interface dug out into MISSING, as eval_pipeline does."""
        first = cmd.args[0]
        t = type(first)
        has_args = len(cmd.args) > 1 or final is not None
        if t is FieldNode:
            if has_args:
                raise Unsupported("field with arguments")
            return self.chain(dot, first.ident)
        if t is VariableNode:
            if has_args:
                raise Unsupported("variable with arguments")
            base = self.resolve(scope, first.ident[0])
            if len(first.ident) == 1:
                return base
            return self.chain(base, first.ident[1:])
        if t is IdentifierNode:
            return self.call(first.ident, cmd.args[1:], final, scope, dot)
        if t is ChainNode:
            if has_args:
                raise Unsupported("chain with arguments")
            return self.chain_node(first, scope, dot)
        if has_args:
            raise Unsupported("non-function with arguments")
        if t is PipeNode:
            return self.sub_pipeline(first, scope, dot)
        if t is StringNode:
            return repr(first.text)
        if t is BoolNode:
            return repr(first.value)
        if t is DotNode:
            return dot
        if t is NumberNode:
            return self.number(first)
        raise Unsupported(str(first))

    def boolean(self, expr: str) -> str:
        """Note that expr always gives a bool."""
        self.bools.add(expr)
        return expr

    def truth(self, expr: str) -> str:
        """Python condition for Go's truth of expr's value."""
        if expr in self.bools:
            return expr
        if expr.isidentifier():
            return f"({expr} if type({expr}) is bool else {expr} != '' if type({expr}) is str else _truth({expr}))"
        return f"_truth({expr})"

    def nn(self, expr: str) -> str:
        if expr in self.bools or expr in self.nonnil or expr.startswith(_NONNIL) or expr[0] in "'\"0123456789-" \
                or expr == "_MISSING":     # (self.bools holds True and False)
            return expr
        t = self.fn.tmp("n")
        return f"({t} if ({t} := {expr}) is not None else _MISSING)"

    def sub_pipeline(self, pipe, scope, dot) -> str:
        if pipe.decl:
            raise Unsupported("declaration inside parentheses")
        return self.pipeline(pipe, 0, scope, dot)

    def number(self, c) -> str:
        if c.is_complex:
            return self.const(c.complex128)
        if c.is_float and not X._is_hex_int(c.text) and not X._is_rune_int(c.text) \
                and any(ch in c.text for ch in ".eEpP"):
            return self.const(c.float64)
        if c.is_int:
            return repr(c.int64)
        raise Unsupported("constant")

    def chain(self, base: str, ident) -> str:
        """Field access: a struct without methods (Ollama's message, tool call, ...) is read
        directly (a missing field raises KeyError: the executor reports it); anything else
        through _field."""
        expr = base
        for name in ident:
            if expr.isidentifier():
                expr = f"({expr}._values[{name!r}] if type({expr}) in _PLAIN else _field({expr}, {name!r}))"
            else:
                t = self.fn.tmp()
                expr = f"({t}._values[{name!r}] if type({t} := {expr}) in _PLAIN else _field({t}, {name!r}))"
        return expr

    def chain_node(self, chain, scope, dot) -> str:
        if not chain.field or type(chain.node) is NilNode:
            raise Unsupported("chain")
        base = self.arg(chain.node, F.T_NONE, scope, dot)
        return self.chain(base, chain.field)

    def arg(self, n, typ, scope, dot) -> str:
        """executor.State.eval_arg: the argument's value converted to the parameter type."""
        t = type(n)
        if t is DotNode:
            raw = dot
        elif t is NilNode:
            if typ is F.T_ANY:
                return "None"
            if typ is F.T_VALUE:
                return "_MISSING"
            raise Unsupported("nil argument")
        elif t is FieldNode:
            raw = self.chain(dot, n.ident)
        elif t is VariableNode:
            raw = self.resolve(scope, n.ident[0])
            if len(n.ident) > 1:
                raw = self.chain(raw, n.ident[1:])
        elif t is PipeNode:
            raw = self.sub_pipeline(n, scope, dot)
        elif t is IdentifierNode:
            raw = self.call(n.ident, [], None, scope, dot)
        elif t is ChainNode:
            raw = self.chain_node(n, scope, dot)
        elif t is StringNode:
            return repr(n.text)
        elif typ is F.T_STRING:
            raise Unsupported("constant for a string parameter")
        elif t is BoolNode:
            return repr(n.value)
        elif t is NumberNode:
            return self.number(n)
        else:
            raise Unsupported(str(n))
        return self.convert(raw, typ)

    @staticmethod
    def convert(raw: str, typ) -> str:
        """executor.State.validate_type."""
        if typ is F.T_ANY:
            return f"_any({raw})"
        if typ is F.T_STRING:
            return f"_string({raw})"
        return raw

    def call(self, name, args, final, scope, dot) -> str:
        fn = self.funcs.get(name)
        if fn is None:
            raise Unsupported(f"function {name}")
        num_in = len(args) + (final is not None)
        nfixed = len(fn.fixed)
        if fn.variadic is not None:
            if num_in < nfixed:
                raise Unsupported("arity")
        elif num_in != nfixed:
            raise Unsupported("arity")
        if fn.short_circuit:
            vals = [self.arg(a, F.T_VALUE, scope, dot) for a in args]
            if final is not None:
                vals.append(final)
            want_or = name == "or"
            expr = vals[-1]
            all_bool = expr in self.bools
            for v in reversed(vals[:-1]):
                tmp = self.fn.tmp()
                if v in self.bools:
                    test = f"({tmp} := {v})"
                else:
                    test = f"_truth({tmp} := {v})"
                    all_bool = False
                expr = f"({tmp} if {test} else {expr})" if want_or else \
                    f"({expr} if {test} else {tmp})"
            if all_bool:
                self.bools.add(expr)
            return expr
        if fn.impl is F.slice_:
            for a in args[1:]:
                if type(a) in (FieldNode, ChainNode) or (type(a) is VariableNode and len(a.ident) > 1):
                    raise Unsupported("slice index from a field (interface{} check)")
        argv = []
        i = 0
        while i < nfixed and i < len(args):
            argv.append(self.arg(args[i], fn.fixed[i], scope, dot))
            i += 1
        if fn.variadic is not None:
            while i < len(args):
                argv.append(self.arg(args[i], fn.variadic, scope, dot))
                i += 1
        if final is not None:
            if fn.variadic is not None and nfixed <= num_in - 1:
                typ = fn.variadic
            else:
                typ = fn.fixed[num_in - 1]
            argv.append(self.convert(final, typ))
        if fn.impl is F.length and len(args) == 1 and final is None and type(args[0]) is PipeNode:
            inner = args[0]
            if not inner.decl and len(inner.cmds) == 1 and len(inner.cmds[0].args) == 3:
                ident = inner.cmds[0].args[0]
                sl = self.funcs.get(ident.ident) if type(ident) is IdentifierNode else None
                if sl is not None and sl.impl is F.slice_:
                    a, i = inner.cmds[0].args[1:]
                    if not (type(i) in (FieldNode, ChainNode) or (type(i) is VariableNode and len(i.ident) > 1)):
                        return (f"_len_slice(st, {self.arg(a, F.T_VALUE, scope, dot)}, "
                                f"{self.arg(i, F.T_VALUE, scope, dot)}, {self.const(sl)})")
        fast = _FAST_CALLS.get(fn.impl)
        if fast in ("_eq", "_ne") and len(argv) == 2 and argv[1].lstrip("-").isdigit():
            t = self.fn.tmp()  # eq X 0: ints compare inline (no characters to account for)
            op = "==" if fast == "_eq" else "!="
            return self.boolean(f"({t} {op} {argv[1]} if type({t} := {argv[0]}) is int else {fast}(st, {t}, {argv[1]}))")
        if fast == "_len" and len(argv) == 1 or fast in ("_eq", "_ne") and len(argv) == 2:
            return self.boolean(f"{fast}(st, {', '.join(argv)})") if fast != "_len" else \
                f"{fast}(st, {', '.join(argv)})"
        if fast == "_eq" and len(argv) > 2:
            rest = argv[1:]
            if all(r.lstrip("-").isdigit() for r in rest):  # eq X 32 9 10: int constants
                t = self.fn.tmp()
                ints = self.const(frozenset(int(r) for r in rest))
                return self.boolean(f"({t} in {ints} if type({t} := {argv[0]}) is _Uint8 or type({t}) is int "
                                    f"else _eq_any(st, {t}, {', '.join(rest)}))")
            return self.boolean(f"_eq_any(st, {', '.join(argv)})")
        order = _ORDER.get(fn.impl)
        if order is not None and len(argv) == 2:
            return self.boolean(f"{order}(st, {', '.join(argv)})")
        if fn.impl is F.printf and len(args) == 2 and final is None and type(args[0]) is StringNode \
                and args[0].text == "%q":
            return f"_printf_q(st, {self.const(fn)}, {argv[1]})"
        if fn.impl is F.printf and final is None and type(args[0]) is StringNode and (
                args[0].text == "%*s%s" and len(args) == 4 or args[0].text == "%*s" and len(args) == 3):
            return f"_printf_pad(st, {self.const(fn)}, {', '.join(argv)})"
        if fn.impl is F.index and len(argv) == 2:
            return f"_index(st, {', '.join(argv)})"
        if fn.impl is F.slice_ and 2 <= len(argv) <= 3:
            return f"_slice(st, {', '.join(argv)})"
        if fn.impl is F.not_ and len(argv) == 1:
            if argv[0] in self.bools:
                return self.boolean(f"(not {argv[0]})")
            if argv[0].isidentifier():
                return self.boolean(f"((not {argv[0]}) if type({argv[0]}) is bool else _not(st, {argv[0]}))")
            return self.boolean(f"_not(st, {argv[0]})")
        return f"_call(st, {self.const(fn)}, ({''.join(a + ', ' for a in argv)}))"


def _plain_structs(cls):
    """GoStruct classes without methods: their fields are read straight from _values."""
    for sub in cls.__subclasses__():
        if not sub.methods:
            yield sub
        yield from _plain_structs(sub)


class Program:
    """A template set compiled to Python functions; run() returns the output or None when the
    tree-walking executor must run instead (see the module docstring)."""

    def __init__(self, trees, funcs, missing_zero: bool):
        c = _Compiler(trees, funcs, missing_zero)
        src: list[str] = []
        for i, (name, tree) in enumerate(trees.items()):
            if tree.root is None:
                src += [f"def _t{i}(st, out, dot):", "    _bail()"]
            else:
                src += c.compile_tree(i, tree)
        self.source = "\n".join(src) + "\n"
        ns = {
            "_K": c.consts, "_MISSING": MISSING, "_Uint8": Uint8, "_bail": _bail, "_step": _step,
            "_truth": _truth, "_nil_to_missing": _nil_to_missing, "_field": _make_field(missing_zero),
            "_print": _print, "_call": _call, "_eq": _eq, "_ne": _ne, "_len": _len, "_not": _not, "_printf_q": _printf_q, "_printf_pad": _printf_pad,
            "_lt": _make_order(F.BUILTINS["lt"], operator.lt), "_le": _make_order(F.BUILTINS["le"], operator.le),
            "_gt": _make_order(F.BUILTINS["gt"], operator.gt), "_ge": _make_order(F.BUILTINS["ge"], operator.ge), "_eq_any": _eq_any, "_index": _index, "_slice": _slice, "_len_slice": _len_slice, "_any": _any,
            "_string": _string, "_sorted_items": F.sorted_map_items,
        }
        ns["_PLAIN"] = frozenset(_plain_structs(GoStruct))
        exec(compile(self.source, "<gotmpl compiled>", "exec"), ns)
        self.functions = [ns[f"_t{i}"] for i in range(len(trees))]
        ns["_T"] = self.functions
        self.index = {name: i for i, name in enumerate(trees)}

    def run(self, name: str, data, deadline: float):
        """Execute template `name`: (output, None), or (None, timed_out) when the executor must run
        instead (timed_out: the clock ran out, so the executor should stop at once too)."""
        st = _Run(deadline)
        out = st.out
        try:
            self.functions[self.index[name]](st, out, data)
        except (_Bail, RecursionError):
            return None, st.timed_out
        except Exception:  # anything unforeseen: the executor is the reference
            return None, False
        total = sum(map(len, out))
        if st.steps > X.MAX_STEPS or total > X.MAX_OUTPUT // 2 or st.chars + total > X.MAX_CHARS // 2:
            return None, False  # near a limit: the executor decides exactly where it stops
        return "".join(out), False

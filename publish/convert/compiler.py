"""Jinja chat template -> Ollama Go template, by translating jinja2's own AST.

The translation is a small abstract interpreter. Every Jinja expression becomes one of:

- ``K``:    a value known while compiling (bos_token, a string literal, a dict of role names, ...);
- ``G``:    a Go expression with a static kind (``str``, ``bool``, ``int``, ``msgs``, ``msg``, ...);
- ``Cat``:  a concatenation of string values, kept symbolic so output can stop inside it;
- ``Cond``: the join of two values assigned in the branches of an ``if`` (a Go bool variable
  records which branch ran, so the value can be printed or used later).

Plain ``{% set %}`` never needs a Go variable (Jinja's scoping makes its value a function of the
path taken); ``namespace()`` attributes, which loops mutate, become Go variables assigned with
``=`` (Go >= 1.11 keeps such assignments across ``range`` iterations). Macros are inlined.

Go templates have no arithmetic and no string functions beyond ``slice``/``len``/``printf``; the
compiler builds them from those: ``i+k`` is ``len (printf "%*s%s" i "" "kk")``, ``n-k`` is
``len (slice (printf "%*s" n "") k)``, ``trim``/``startswith``/``in``/``split`` are byte loops
over ``range $i := len $s`` (Go >= 1.22). A construct with no Go counterpart is recorded as an
``Approximation`` (line:column in the Jinja source, and what the Go template does instead).

Ollama's side (template/template.go, server/prompt.go of v0.24.0): the template sees
``.Messages`` (collated: consecutive same-role messages merged with "\\n\\n"), ``.Tools``,
``.Think``; a conversation ending with an assistant message must be continued, so the converted
template stops its output right after that message's content (transformers'
``continue_final_message``) and opens no new turn.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

import jinja2
from jinja2 import nodes as J

ROLES = ("system", "user", "assistant", "tool")
THINK_VARS = ("enable_thinking", "thinking")
_THINKING_NAME = re.compile(r"think|reason", re.I)


class _Undef:
    """Jinja's Undefined at compile time."""

    def __repr__(self) -> str:
        return "Undefined"

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        return ""


UNDEF = _Undef()


@dataclass(frozen=True)
class Approximation:
    """A Jinja construct the Go template cannot express: where (1-based line and column; col 0
    when the column is not known, left out of the text), what, and what Go does instead."""

    line: int
    col: int
    construct: str
    instead: str
    # message texts that exercise it (replace's needle, text a Go byte loop treats differently):
    # publish.convert adds probe conversations holding them to the proof. `unprobed`: why an
    # approximation with no probe cannot change the prompt of a conversation the model accepts.
    probes: tuple[str, ...] = ()
    unprobed: str = ""

    @property
    def where(self) -> str:
        """`line:col` (`line` when the column is not known)."""
        return f"{self.line}:{self.col}" if self.col else f"{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.construct} -> {self.instead}"

    def to_dict(self) -> dict:
        """`{"line", "col", "construct", "instead", "probes", "unprobed"}` for the JSON report; col
        is null when the column is not known (0 here)."""
        return {"line": self.line, "col": self.col or None, "construct": self.construct, "instead": self.instead,
                "probes": list(self.probes), "unprobed": self.unprobed or None}


# Message texts a Go byte loop treats differently from Python: non-ASCII letters (case, length,
# slicing and looping count bytes), a lower-case start (capitalize/title), the separators of a
# and NUL (Go's html escaping).
NON_ASCII_PROBE = "«Ünïcödé» straße 日本語 🙂"
LOWER_PROBE = "hello there, friend. how are you?"

# Why an approximation without probes cannot change the prompt of a conversation the model's
# template accepts (construct prefix -> reason), shown next to it in the report.
_UNPROBED = (
    ("raise_exception()", "only where the Jinja template refuses the conversation: there is no prompt to match"),
    ("validation loop", "only where the Jinja template refuses the conversation: there is no prompt to match"),
    ("+ with an undefined value", "Jinja raises there: there is no prompt to match"),
    ("call of an undefined function", "Jinja raises there: there is no prompt to match"),
    (".index()", "only for text without the needle, where Jinja raises: there is no prompt to match"),
    (".rindex()", "only for text without the needle, where Jinja raises: there is no prompt to match"),
    ("thinking setting", "a request setting Ollama never hands a template, not message text: no client of "
                         "Ollama can set it"),
    ("thinking switch", "what Ollama is told about the reply's tags, not the prompt"),
    ("strftime_now", "the date, not message text: Ollama's clock gives only the day"),
    ("loop over tool parameter properties", "the order of the client's tool schema, which Ollama sorts before "
                                            "any template sees it (a limit of Ollama)"),
    ("loop over tool-call arguments", "the order of the client's arguments, which Ollama sorts before any "
                                      "template sees it (a limit of Ollama)"),
    ("the keys of tool-call arguments", "the order of the client's arguments, which Ollama sorts before any "
                                        "template sees it (a limit of Ollama)"),
    ("a value inside tool-call arguments", "tool-call values, not message text: probed by the "
                                           "probe-tool-arguments case"),
    ("an object inside tool-call arguments", "tool-call values, not message text: probed by the "
                                             "probe-tool-arguments case (the order of a nested object's keys, "
                                             "a Go map in Ollama, is a limit of Ollama)"),
    ("lookup by message role", "only for a role outside the ones the template names, not message text"),
    ("loop over a value that is sometimes not a list", "the shape of a request field, not message text; the "
                                                       "suite's cases show it"),
    ("trim/strip of message content", "only for content that starts or ends with a Unicode space other than "
                                      "ASCII whitespace (U+00A0, U+3000): the trim limit, measured by the "
                                      "whitespace case on ASCII whitespace, not probed"),
    ("the messages printed as a whole", "message text is printed as Go's print of it; the quotes case shows it"),
    ("a message printed as a whole", "message text is printed as Go's print of it; the quotes case shows it"),
)


def unprobed_reason(construct: str) -> str:
    """Why an approximation of `construct` with no probe texts cannot change the prompt of a
    conversation the model accepts; "" when no reason is known (the report then says it is not probed)."""
    return next((why for head, why in _UNPROBED if construct.startswith(head)), "")


class CompileError(Exception):
    """The template uses a construct the compiler cannot translate at all (`syntax`: it does not
    even parse as Jinja). `line`/`col` are 1-based; 0 when unknown."""

    def __init__(self, message: str, line: int = 0, col: int = 0, *, syntax: bool = False, raises: bool = False):
        super().__init__(message)
        self.line = line
        self.col = col
        self.syntax = syntax    # the template is not valid Jinja (not a construct the compiler lacks)
        self.raises = raises    # Jinja raises there too, on every render that reaches it


class BudgetError(CompileError):
    """The template would cost more than the conversion's budget (MAX_UNROLLED, MAX_STEPS,
    MAX_BUILT, MAX_GO_CHARS, MAX_SECONDS): a hostile or runaway template, refused before the cost
    is spent. `line`/`col` name the constant loop or macro call being expanded when there is one."""


# -- values --------------------------------------------------------------------------------------

class Val:
    """A Jinja value as the compiler knows it (module doc): K, G, Cat, Cond, or a namespace, macro
    or special name."""
    pass


@dataclass
class K(Val):
    """A value known while compiling (a literal, bos_token, a dict of role names, ...)."""
    value: Any


@dataclass
class G(Val):
    """A Go expression (`go`) with a static `kind` (str, bool, int, msgs, msg, tools, ...); for
    message content the Go expression of its message (`origin`), the finite set of string values
    it can take (`domain`, e.g. roles), and the Go bool telling whether it is the final assistant
    message's content (`fin`)."""
    go: str
    kind: str = "any"            # str bool int msgs msg tools tool toolcalls toolcall toolfn args ...
    origin: str | None = None    # for message content: the Go expression of the message
    domain: tuple | None = None  # finite set of possible string values (roles)
    maybe_empty_is_undef: bool = False
    fin: str | None = None       # a Go bool: this value is the final assistant message's content
    offset: str | None = None    # kind intrange: the Go int the range starts at (else 0)


@dataclass
class Cat(Val):
    """A concatenation of string values, kept symbolic so the output can stop inside it (the
    continued final message)."""
    parts: list


@dataclass
class Cond(Val):
    """The join of two values assigned in the branches of an `if`: `a` when the Go bool variable
    `cond` is true, else `b`."""
    cond: str
    a: Val
    b: Val


def _text_leaves(v: Val) -> bool:
    """Whether every value a Cond may take is text (a Go string, Cat or constant string), so that
    one Go string variable can hold it."""
    if isinstance(v, Cond):
        return _text_leaves(v.a) and _text_leaves(v.b)
    if isinstance(v, G):
        return v.kind in ("str", "any")
    if isinstance(v, K):
        return isinstance(v.value, str)
    return isinstance(v, Cat)


@dataclass
class Ns(Val):
    """A `namespace()`: each attribute's Go variable (assigned with `=` in loops), its kind when
    every assignment agrees, the Go bool saying it holds the final message's content, and how
    many loops enclose the namespace() call."""
    attrs: dict                  # attribute -> Go variable name
    kinds: dict = field(default_factory=dict)   # attribute -> kind, when every assignment agrees
    fins: dict = field(default_factory=dict)    # attribute -> Go bool variable: holds the final message's content
    depth: int = 0               # how many loops enclose the namespace() call


@dataclass
class Macro(Val):
    """A `{% macro %}`, inlined at each call (`node`: its jinja2 node)."""
    node: Any


@dataclass
class Special(Val):
    """A global with special meaning to the compiler (raise_exception, namespace, strftime_now,
    range, ...)."""
    name: str                    # raise_exception, namespace, strftime_now, range, ...


@dataclass
class LoopInfo:
    """What `loop.*` means inside a `{% for %}`: the Go int expression of loop.index0, the Go list
    it runs over (for length and last) or the number of iterations, whether an `if` filter
    applies (then loop.* is refused), and the elements' kind."""
    index: str                   # Go int expression of loop.index0
    list_go: str | None          # Go list the loop runs over (for length/last)
    filtered: bool = False
    count: str | None = None
    elem: str = "any"            # kind of the elements     # Go int: number of iterations (when there is no list)


def _simple(go: str) -> bool:
    if go.startswith('"') and go.endswith('"') and go.count('"') - go.count('\\"') == 2:
        return True
    return " " not in go or (go.startswith("(") and _balanced(go))


def _balanced(go: str) -> bool:
    depth = 0
    in_str = False
    for i, ch in enumerate(go):
        if in_str:
            if ch == "\\":
                continue
            if ch == '"' and go[i - 1] != "\\":
                in_str = False
            continue
        if ch == '"':
            in_str = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(go) - 1:
                return False
    return depth == 0


def arg(go: str) -> str:
    """A Go expression usable as one argument."""
    return go if _simple(go) else f"({go})"


# A list of strings the Go template builds (kind strlist: split() of runtime text, a namespace list
# that only grows) is one string of STRLIST_OPEN item STRLIST_CLOSE entries. The bytes 0xFE and 0xFF
# are never in UTF-8, and every text a Go template gets from Ollama is UTF-8 (encoding/json turns
# invalid bytes into U+FFFD when it decodes a request), so no item can hold one: exact for any text.
# Held here as str the way publish.gotmpl holds a byte that is not UTF-8 (surrogateescape).
STRLIST_OPEN, STRLIST_CLOSE = "\udcfe", "\udcff"
_RAW_BYTE = re.compile("[\udc80-\udcff]")


def golit(s: str) -> str:
    """A Go string literal for `s` (JSON's escaping is valid Go: quotes, backslashes, control
    characters; non-ASCII kept; a byte that is not UTF-8, held as U+DC80..U+DCFF, as \\xNN)."""
    out = json.dumps(s, ensure_ascii=False)
    return _RAW_BYTE.sub(lambda m: f"\\x{ord(m.group(0)) - 0xDC00:02x}", out) if _RAW_BYTE.search(out) else out


def gotext(s: str) -> str:
    """Literal template text: `{{` and a trailing `{` cannot appear raw before an action; three
    double quotes in a row are printed from a string so the template can be quoted in a Modelfile's
    TEMPLATE block."""
    if "{" in s:
        s = s.replace("{{", '{{ "{{" }}')
        if s.endswith("{") and not s.endswith('{{ "{{" }}'):
            s = s[:-1] + '{{ "{" }}'
    if '"""' in s:
        s = re.sub(r'"{3,}', lambda m: '""' + '{{ "\\"" }}' * (len(m.group(0)) - 2), s)
    return s


def _pystr(v: Any) -> str:
    """Jinja's str() of a value."""
    if v is None:
        return "None"
    if v is UNDEF:
        return ""
    if v is True:
        return "True"
    if v is False:
        return "False"
    return str(v)


# a slice as written on a line: `[a:b]`, `[::-1]` (no brackets inside); one with a step
_SLICE_AT = re.compile(r"\[[^\[\]\n]*:[^\[\]\n]*\]")
_STEP_SLICE_AT = re.compile(r"\[[^\[\]\n]*:[^\[\]\n]*:[^\[\]\n]*\]")
# list kinds a {% for %} can run over from the end (`for m in messages[::-1]`)
_REVERSIBLE = ("msgs", "tools", "toolcalls", "strs", "list", "intrange", "args", "props")


def _str_method_size(text: str, meth: str, args: list, kwargs: dict) -> int:
    """An upper bound on the length of `text.<meth>(*args)` computed before running it (a hostile
    template must not make the compiler build gigabytes): the methods that can grow text
    (replace, expandtabs, join, center/ljust/rjust/zfill); the others return at most `text`."""
    def arg(i, key, default):
        return args[i] if len(args) > i else kwargs.get(key, default)
    if meth == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        n = len(text) + 1 if not args[0] else text.count(args[0])
        count = arg(2, "count", -1)
        if isinstance(count, int) and count >= 0:
            n = min(n, count)
        return len(text) + n * len(args[1])
    if meth == "expandtabs":
        size = arg(0, "tabsize", 8)
        return len(text) + text.count("\t") * (size if isinstance(size, int) else 0)
    if meth == "join" and args and isinstance(args[0], (list, tuple, str)):
        items = args[0]
        return len(text) * len(items) + sum(len(x) if isinstance(x, str) else 0 for x in items)
    if meth in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
        return max(len(text), args[0])
    return len(text)


def _nonneg_go(go: str) -> bool:
    """Whether the Go int expression `go` cannot be negative: a `len`, or a `range` index
    variable (the compiler names those `$_i<n>`, `$_j<n>`)."""
    return go.startswith("len ") or re.fullmatch(r"\$_[ij]\d+", go) is not None


def _loop_iterables(ast: J.Template) -> set[int]:
    """ids of the expression nodes whose value only a `{% for %}` runs over: each loop's list, the
    value of a `{% set name = ... %}` whose name is read nowhere but as a loop's list, and what
    a `| list` filter of one of those filters."""
    nodes = [f.iter for f in ast.find_all(J.For)]
    iters = {id(n) for n in nodes}
    other = {n.name for n in ast.find_all(J.Name) if n.ctx == "load" and id(n) not in iters}
    nodes += [a.node for a in ast.find_all(J.Assign) if isinstance(a.target, J.Name) and a.target.name not in other]
    for n in nodes:
        while True:
            iters.add(id(n))
            if not (isinstance(n, J.Filter) and n.name == "list" and n.node is not None):
                break
            n = n.node     # `x | reverse | list`: the loop still runs over x reversed
    return iters


# -- the compiler ---------------------------------------------------------------------------------

class Compiler:
    """Translates one Jinja chat template (`source`) into an Ollama Go template (module doc);
    `bos_token`/`eos_token` are the model's texts, `strip_bos` drops a leading BOS the engine
    adds itself. `compile()` returns the Go text; `approx` then holds the Approximations. One
    method per jinja2 node kind (`ev_<Node>` for expressions, `stmt` for statements)."""

    def __init__(self, source: str, *, bos_token: str = "", eos_token: str = "",
                 env: jinja2.Environment | None = None, strip_bos: bool = True, bos_runtime: bool = False,
                 loop_builders: bool = False, deadline: float | None = None):
        self.source = source
        self.deadline = deadline         # time.monotonic() past which compiling stops (CompileError)
        self._env = env
        self.bos_runtime = bos_runtime   # track "something was printed" at run time ($_o)
        self._bos_unknown = False
        self.lines = source.split("\n")
        self.bos = bos_token or ""
        self.eos = eos_token or ""
        if env is None:
            from publish.chat import _ENV
            env = _ENV
        try:
            self.ast = env.parse(source)
        except jinja2.TemplateSyntaxError as err:
            from publish.chat import syntax_error_location

            line, col = syntax_error_location(source, err.message or "", err.lineno)
            raise CompileError(f"not valid Jinja: {err.message}", line, col or 0, syntax=True) from None
        self._found: dict[tuple, tuple] = {}   # (id(node), kind) -> (node, its descendants of kind)
        self._jinja_env = env
        self._loop_iters = _loop_iterables(self.ast)   # ids of the nodes a {% for %} may run over reversed
        self.approx: list[Approximation] = []
        # message texts that exercise an exact translation of a text operation (replace's needle):
        # publish.convert proves them in probe conversations as it proves approximations
        self.probe_texts: list[str] = []
        self._approx_seen: set = set()
        self.counter = 0
        self.pre: list[str] = []         # prelude actions for the statement being compiled
        self.uses: set[str] = set()      # think / tools / agp / date
        self.loops: list[LoopInfo] = []
        self.macro_depth = 0
        self.macro_stack: list[str] = []     # macros being inlined (a call of one of them recurses)
        self.defines: dict[tuple, str] = {}  # recursive macro specialisation -> Go template name
        self.define_bodies: dict[str, str] = {}
        self._col_cursor: dict = {}
        self.think_tags: tuple[str, str] | None = None
        self._think_node: tuple[J.Node, str] | None = None   # first use of a thinking switch (node, name)
        # Is nothing printed yet? True / None (something was) / a Go condition. A BOS printed at the
        # very start is left out: Ollama's engine adds BOS itself (unless strip_bos is False).
        self.strip_bos = strip_bos and bool(self.bos)
        self.at_start: object = True
        self.capture: str | None = None      # compiling a loop again to print only one text it builds
        self.capture_flag: str | None = None  # ... or to set this Go bool when that text is not empty
        self._neg_vars: set[str] = set()     # Go int variables that may hold a negative number (-1: "none yet")
        self._differences: dict[str, tuple] = {}   # Go int (a variable or an expression) holding x - k -> (x, k)
        self._where: J.Node | None = None    # the statement being compiled
        self._nonneg_vars: set[str] = set()  # Go int variables that only hold values >= 0
        self._short_circuit = 0              # > 0: compiling the right operand of `and` / `or`
        self._expanding: list[J.Node] = []   # constant loops / macro calls being expanded, outermost first
        self._unrolled_total = 0         # iterations of loops over constants unrolled so far
        self.steps = 0                   # statements and expressions compiled (the work budget, MAX_STEPS)
        self.built = 0                   # characters of Go text and constant strings built (MAX_BUILT)
        self.loop_builders = loop_builders
        self._symbolic_ns, self._loop_appends = self._namespace_text_builders()
        self._loop_and_macro_names = {n.name for f in self.find_all(self.ast, J.For)
                                      for n in [f.target, *self.find_all(f.target, J.Name)] if isinstance(n, J.Name)} | \
            {a.name for m in self.find_all(self.ast, J.Macro) for a in m.args}

    # -- bookkeeping ------------------------------------------------------------------------
    def find_all(self, node: J.Node, kind) -> tuple:
        """`node.find_all(kind)` as a tuple, in jinja2's order, walked once per (node, kind): the
        compiler never changes a tree, and asks the same questions of it many times (a namespace's
        attributes, its assignments, a loop's assignments). The cache holds `node`, so its id stays
        its own while cached."""
        hit = self._found.get((id(node), kind))
        if hit is None or hit[0] is not node:
            hit = self._found[(id(node), kind)] = (node, tuple(node.find_all(kind)))
        return hit[1]

    def tmp(self, stem: str = "t") -> str:
        """A fresh Go variable name, `$_<stem><n>`."""
        self.counter += 1
        return f"$_{stem}{self.counter}"

    def col(self, line: int, needle: str | re.Pattern | None, *, advance: bool = True) -> int:
        """The 1-based column of `needle` (a string, or a compiled regex) on Jinja line `line`
        (successive calls find successive occurrences unless `advance` is False), 0 when it is
        not there (the column is then left out of messages)."""
        if not needle or line < 1 or line > len(self.lines):
            return 0
        text = self.lines[line - 1]
        key = (line, needle if isinstance(needle, str) else needle.pattern)
        start = self._col_cursor.get(key, 0)

        def find(at: int) -> int:
            if isinstance(needle, str):
                return text.find(needle, at)
            m = needle.search(text, at)
            return m.start() if m else -1
        pos = find(start)
        if pos < 0:
            pos = find(0)
        if pos < 0:
            return 0
        if advance:
            self._col_cursor[key] = pos + 1
        return pos + 1

    def approximate(self, node: J.Node, construct: str, instead: str, needle: str | re.Pattern | None = None,
                    probes: tuple[str, ...] = ()) -> None:
        """Record an Approximation (once per line and construct): `construct` at the node's
        line:column, and what the Go template does `instead`; `probes`: message texts that
        exercise it (Approximation.probes), else the reason it needs none (unprobed_reason)."""
        node = node if node is not None else self._where
        line = getattr(node, "lineno", 0) or 0
        key = (line, construct)
        probes = tuple(p for p in probes if isinstance(p, str) and p)
        if key in self._approx_seen:
            # the same construct again on this line (`.replace('/think', '').replace('/no_think', '')`):
            # one entry, with the probe texts of both
            for i, a in enumerate(self.approx):
                if (a.line, a.construct) == key and set(probes) - set(a.probes):
                    more = a.probes + tuple(p for p in probes if p not in a.probes)
                    self.approx[i] = dataclasses.replace(a, probes=more, unprobed="")
            return
        self._approx_seen.add(key)
        self.approx.append(Approximation(line, self.col(line, needle), construct, instead, probes,
                                         "" if probes else unprobed_reason(construct)))

    def jinja_raises(self, node: J.Node, what: str, err: Exception, needle: str | None = None) -> Val:
        """An expression Python refuses on every value it can take at run time (`what`, the
        exception `err`): Jinja raises where it is rendered, so each case that reaches it is one
        the model's template does not support (the proof compares the others). Recorded as an
        approximation; the Go template prints nothing for it (undefined)."""
        self.approximate(node, f"{what} raises {type(err).__name__} in Jinja ({err})",
                         "the Go template prints nothing for it", needle)
        return K(UNDEF)

    def fail(self, node: J.Node, message: str, needle: str | None = None, *, jinja_error: bool = False,
             raises: bool = False):
        """Raise CompileError `message` at the node's line and the column of `needle`
        (`jinja_error`: Jinja itself refuses the template, as for a syntax error; `raises`: Jinja
        raises there at render)."""
        line = getattr(node, "lineno", 0) or 0
        raise CompileError(message, line, self.col(line, needle), syntax=jinja_error, raises=raises)

    def _spend(self, node: J.Node) -> None:
        """Count one compiled statement or expression against the budget: a CompileError once the
        compiler has taken MAX_STEPS of them or built MAX_BUILT characters (Go text, counted at every
        statement that holds it, and constant strings), naming the outermost constant loop or macro
        being expanded (else the node). Unrolled loops and inlined macros multiply a small template;
        this bounds a hostile one's cost before it is spent."""
        self.steps += 1
        if self.steps & 255 == 0 and self.deadline is not None and time.monotonic() > self.deadline:
            raise BudgetError(f"converting took longer than {MAX_SECONDS:g} s (stopped); refusing a template this "
                               "costly (docs/convert.md: Limits)", getattr(node, "lineno", 0) or 0)
        if self.steps <= MAX_STEPS and self.built <= MAX_BUILT:
            return
        at = self._expanding[0] if self._expanding else node
        what = (f"the converted template grows past {MAX_BUILT:,} characters of Go text built"
                if self.built > MAX_BUILT else f"converting takes more than {MAX_STEPS:,} compile steps")
        kind = ("a loop over constants (unrolled: each iteration is Go text of its own)"
                if isinstance(at, J.For) else "a macro call (inlined at each call)" if isinstance(at, J.Call) else "")
        raise BudgetError(f"{what}{' expanding ' + kind if kind else ''}; refusing a template this large "
                           "(real chat templates stay far below; docs/convert.md: Limits)",
                           getattr(at, "lineno", 0) or 0, self._node_col(at))

    def _node_col(self, node: J.Node) -> int:
        """The 1-based column of a `{% for %}` statement or a call of a named macro: the k-th
        `{% for` (`name(`) on its line for the k-th such node there; 0 when not found."""
        line = getattr(node, "lineno", 0) or 0
        if not 1 <= line <= len(self.lines):
            return 0
        if isinstance(node, J.For):
            pattern = re.compile(r"\{%[-+]?\s*for\b")
            same = [n for n in self.find_all(self.ast, J.For) if n.lineno == line]
        elif isinstance(node, J.Call) and isinstance(node.node, J.Name):
            pattern = re.compile(re.escape(node.node.name) + r"\s*\(")
            same = [n for n in self.find_all(self.ast, J.Call) if n.lineno == line and isinstance(n.node, J.Name)
                    and n.node.name == node.node.name]
        else:
            return 0
        k = next((i for i, n in enumerate(same) if n is node), 0)
        text = self.lines[line - 1]
        found = [m for m in pattern.finditer(text) if not re.search(r"(macro\s+|[\w.])$", text[:m.start()])]
        if k >= len(found):
            return 0
        return found[k].start() + (found[k].group().index("for") if isinstance(node, J.For) else 0) + 1

    # -- top level --------------------------------------------------------------------------
    def compile(self) -> str:
        """The Go template text. Compiles again when needed (loop builders for namespace text,
        run-time BOS tracking). Raises CompileError (with line and column in the Jinja source)
        for a construct it cannot translate at all."""
        try:
            text = self._compile()
        except BudgetError:
            raise    # compiling again (with loop builders) would spend the budget a second time
        except CompileError:
            if self.loop_builders or not self._could_build_in_loops:
                raise
            # namespace attributes that loops append non-materializable text to (tojson): build
            # them symbolically, the loop run again to print just that text
            again = Compiler(self.source, bos_token=self.bos, eos_token=self.eos, env=self._env,
                             strip_bos=self.strip_bos, bos_runtime=self.bos_runtime, loop_builders=True,
                             deadline=self.deadline)
            text = again.compile()
            self.approx, self.uses, self.think_tags = again.approx, again.uses, again.think_tags
            self.probe_texts = again.probe_texts
            return text
        if self._bos_unknown and not self.bos_runtime:
            # a BOS is printed where the compiler cannot tell whether anything came before it:
            # compile again, tracking at run time whether something was printed
            again = Compiler(self.source, bos_token=self.bos, eos_token=self.eos, env=self._env,
                             strip_bos=self.strip_bos, bos_runtime=True, loop_builders=self.loop_builders,
                             deadline=self.deadline)
            text = again._compile()
            self.approx, self.uses, self.think_tags = again.approx, again.uses, again.think_tags
            self.probe_texts = again.probe_texts
        return text

    def _compile(self) -> str:
        scope = self.base_scope()
        body, _ = self.stmts(self.ast.body, scope)
        head = ('{{ $_final := $.Messages }}{{ $_agp := true }}'
                '{{ range $.Messages }}{{ $_final = . }}{{ $_agp = ne .Role "assistant" }}{{ end }}'
                '{{ $_done := false }}' + ("{{ $_o := false }}" if self.bos_runtime else ""))
        if self.think_tags is None and ("reasoning" in self.uses or "think" in self.uses):
            self.think_tags = _printed_think_tags(body)
        if self.think_tags is None and any("</think>" in t for t in _written_texts(self.ast)):
            # a reasoning model that writes <think>...</think> (the template's text or strings name
            # `</think>`; comments do not count): DeepSeek R1 and QwQ split assistant content at
            # `</think>`, Nemotron Nano v2 opens `<think>` unless /no_think is in the system prompt
            self.think_tags = ("<think>", "</think>")
        if self.think_tags is None and self._think_node is not None:
            # a thinking switch (enable_thinking -> .Think) with no reasoning trace printed between
            # tags: Ollama grants thinking (and so passes .Think) only with tags, so declare the
            # common ones rather than drop the switch, and say so
            node, needle = self._think_node
            self.think_tags = ("<think>", "</think>")
            self.approximate(node, f"thinking switch {needle!r} with no reasoning printed between tags",
                             "Ollama is told the model's reasoning is wrapped in <think>...</think> (the template "
                             "does not show its tags; other tags reach the reply as content)", needle)
        if self.think_tags:
            # Ollama (thinking/template.go InferTags) marks a model as thinking-capable, and learns
            # the tags that wrap its reasoning, only from `{{ .Thinking }}` between two text nodes
            # inside `{{ range .Messages }}`. This never prints; it is there for that detection.
            head += ("{{ range .Messages }}{{ if false }}" + gotext(self.think_tags[0]) +
                     "{{ .Thinking }}" + gotext(self.think_tags[1]) + "{{ end }}{{ end }}")
        body = _hoist(body)
        # recursive macros: Go templates of their own (`{{ template "name" arg }}` recurses)
        defines = "".join('{{ define "' + name + '" }}' + text + "{{ end }}"
                          for name, text in self.define_bodies.items())
        if len(body) + len(defines) > MAX_GO_CHARS:
            raise BudgetError(f"the converted template would be {len(body) + len(defines):,} characters; refusing more "
                               f"than {MAX_GO_CHARS:,} (Ollama walks the whole template on every request; real chat "
                               "templates convert to at most a few tens of thousands; docs/convert.md: Limits)")
        # a literal "{" right before an action would read as "{{{": print it from a string instead
        return re.sub(r"\{(?=\{\{ )", '{{ "{" }}', head + body + defines)

    def base_scope(self) -> dict:
        """The names a chat template sees, as compile-time values: messages, tools,
        add_generation_prompt, bos/eos tokens, the thinking switches, and the globals
        (raise_exception, namespace, strftime_now, range, ...)."""
        s: dict[str, Val] = {
            "messages": G("$.Messages", "msgs"),
            "tools": G("$.Tools", "tools"),
            "add_generation_prompt": G("$_agp", "bool"),
            "bos_token": K(self.bos),
            "eos_token": K(self.eos),
            "raise_exception": Special("raise_exception"),
            "namespace": Special("namespace"),
            "strftime_now": Special("strftime_now"),
            "range": Special("range"),
            "dict": Special("dict"),
            "documents": K(None),
            "true": K(True), "false": K(False), "none": K(None),
            "True": K(True), "False": K(False), "None": K(None),
        }
        for name in THINK_VARS:
            s[name] = G("$.Think", "bool")
        return s

    # -- statements ---------------------------------------------------------------------------
    def stmts(self, body: list, scope: dict) -> tuple[str, bool]:
        """Go text for a statement list and whether it may end the output (final assistant content).
        After a statement that may, the rest of the list runs only while `$_done` is false."""
        out: list[str] = []
        for i, node in enumerate(body):
            text, may_done = self.stmt(node, scope)
            out.append(text)
            if may_done:
                if i + 1 < len(body):
                    rest, _ = self.stmts(body[i + 1:], scope)
                    if rest:
                        out.append("{{ if not $_done }}" + rest + "{{ end }}")
                return "".join(out), True
        return "".join(out), False

    def flush(self) -> str:
        """The Go statements queued in `pre` (variable set-up an expression needs before it is
        printed), emptied."""
        pre = "".join(self.pre)
        self.pre = []
        return pre

    def stmt(self, node: J.Node, scope: dict) -> tuple[str, bool]:
        """Go text for one Jinja statement, and whether it may have printed something; a
        CompileError gets the statement's position."""
        self._where = node     # for approximations found where no expression node is at hand
        self._spend(node)
        try:
            out = self._stmt(node, scope)
            self.built += len(out[0])
            return out
        except CompileError as err:
            self._locate(err, node)
            raise

    def _stmt(self, node: J.Node, scope: dict) -> tuple[str, bool]:
        t = type(node)
        if t is J.Output:
            return self.output(node, scope)
        if t is J.If:
            return self.if_(node, scope)
        if t is J.For:
            return self.for_(node, scope)
        if t is J.Assign:
            return self.assign(node, scope), False
        if t is J.Macro:
            scope[node.name] = Macro(node)
            return "", False
        if t is J.ExprStmt or t is J.Scope:
            if t is J.Scope:
                return self.stmts(node.body, scope)
            self.ev(node.node, scope)
            return self.flush(), False
        if t in (J.Break, J.Continue):
            if not self.loops:
                self.fail(node, "break/continue outside a loop")
            return "{{ " + ("break" if t is J.Break else "continue") + " }}", False
        if t is J.AssignBlock:
            if not isinstance(node.target, J.Name) or node.filter is not None:
                self.fail(node, "{% set x | filter %}...{% endset %} is not supported", "set")
            value = self.body_value(node.body, dict(scope))
            if value is None:
                saved, self.pre = self.pre, []
                start = self.at_start          # captured, not printed here
                text, _ = self.stmts(node.body, dict(scope))
                self.pre, self.at_start = saved, start
                value = _Code(text, "")
            scope[node.target.name] = value
            return self.flush(), False
        if t is J.CallBlock:
            self.fail(node, "{% call %} blocks are not supported", "call")
        if t is J.With:
            inner = dict(scope)
            for target, value in zip(node.targets, node.values):
                inner[target.name] = self.ev(value, scope)
            pre = self.flush()
            text, done = self.stmts(node.body, inner)
            return pre + text, done
        if t is J.FilterBlock:
            value = self.body_value(node.body, scope)
            f = node.filter
            if value is None or f.node is not None:
                self.fail(node, "{% filter %} around loops is not supported", "filter")
            args = [self.ev(a, scope) for a in f.args]
            kwargs = {kw.key: self.ev(kw.value, scope) for kw in f.kwargs}
            v = self.filter(f.name, value, args, kwargs, f)
            pre = self.flush()
            text, done = self.emit(v)
            return pre + text, done
        self.fail(node, f"unsupported statement {t.__name__}")

    def output(self, node: J.Output, scope: dict) -> tuple[str, bool]:
        """Go text printing a Jinja output node (text and `{{ }}` expressions); nothing while a
        namespace builder is being captured."""
        if self.capture is not None:
            return "", False
        parts: list[Val] = []
        for child in node.nodes:
            if isinstance(child, J.TemplateData):
                parts.append(K(child.data))
            else:
                v = self.ev(child, scope)
                if isinstance(v, G) and (v.kind in ("msg", "msgs") or v.kind.startswith("rev:")):
                    self._where = child   # printed as a whole: tojson_val's approximation is placed here
                parts.append(v)
        pre = self.flush()
        text, done = self.emit(Cat(parts))
        return pre + text, done

    def emit(self, v: Val) -> tuple[str, bool]:
        """Go text printing v; True when printing may set $_done."""
        if isinstance(v, K):
            if v.value is UNDEF:
                return "", False
            text = _pystr(v.value)
            if not text:
                return "", False
            start, self.at_start = self.at_start, None
            mark = "{{ $_o = true }}" if self.bos_runtime else ""
            if self.strip_bos and text.startswith(self.bos):
                rest = gotext(text[len(self.bos):])
                if start is True:
                    return rest + (mark if rest else ""), False
                if start is None:
                    if not self.bos_runtime:
                        self._bos_unknown = True
                        return gotext(text), False
                    return "{{ if $_o }}" + gotext(self.bos) + "{{ end }}" + rest + (mark if rest else ""), False
                return "{{ if not " + arg(start) + " }}" + gotext(self.bos) + "{{ end }}" + rest + \
                    ("{{ $_o = true }}" if self.bos_runtime else ""), False
            return gotext(text) + mark, False
        if isinstance(v, Cat):
            out: list[str] = []
            parts = _flatten(v.parts)
            any_done = False
            for i, p in enumerate(parts):
                if isinstance(p, G) and p.go.endswith(".Thinking") and 0 < i < len(parts) - 1 \
                        and isinstance(parts[i - 1], K) and isinstance(parts[i + 1], K) and self.think_tags is None:
                    before, after = _pystr(parts[i - 1].value).strip(), _pystr(parts[i + 1].value).strip()
                    m1, m2 = re.search(r"<[^<>]+>$", before), re.match(r"^<[^<>]+>", after)
                    if m1 and m2:
                        self.think_tags = (m1.group(0), m2.group(0))
                text, done = self.emit(p)
                out.append(text)
                any_done = any_done or done
                if done and i + 1 < len(parts):
                    rest, _ = self.emit(Cat(parts[i + 1:]))
                    if rest:
                        out.append("{{ if not $_done }}" + rest + "{{ end }}")
                    return "".join(out), True
            return "".join(out), any_done
        if isinstance(v, Cond):
            start = self.at_start
            a, da = self.emit(v.a)
            sa, self.at_start = self.at_start, start
            b, db = self.emit(v.b)
            self.at_start = self.join_start(v.cond, sa, self.at_start)
            if a == b:
                return a, da
            text = "{{ if " + v.cond + " }}" + a + ("{{ else }}" + b if b else "") + "{{ end }}"
            return text, da or db
        if isinstance(v, G):
            self.at_start = None
            if v.kind in ("str", "any", "int", "digit"):   # digit: x % k as its one-character text
                text = "{{ " + v.go + " }}"
                if self.bos_runtime:
                    text += "{{ if " + v.go + " }}{{ $_o = true }}{{ end }}"
                if v.origin and self.capture is None:
                    text += ("{{ if and (not $_agp) (eq " + arg(v.origin) + " $_final) }}"
                             "{{ $_done = true }}{{ end }}")
                    return text, True
                if v.fin and self.capture is None:
                    text += "{{ if " + v.fin + " }}{{ $_done = true }}{{ end }}"
                    return text, True
                return text, False
            if v.kind == "bool":
                return "{{ if " + v.go + " }}True{{ else }}False{{ end }}", False
            # {{ tool }} prints Python's str() of the dict
            return self.emit(self.tojson_val(v, None, None, style="repr"))
        if isinstance(v, _Code):
            self.at_start = None
            return v.code + gotext(v.tail) + ("{{ $_o = true }}" if self.bos_runtime else ""), v.done
        return "", False

    def if_(self, node: J.If, scope: dict) -> tuple[str, bool]:
        """Go text for `{% if %}` / `elif` / `else`, branches known at compile time folded away;
        variables set in the branches are joined (Cond)."""
        branches = [(node.test, node.body)] + [(e.test, e.body) for e in node.elif_]
        return self._if_chain(branches, node.else_, scope, node)

    def _if_chain(self, branches, else_body, scope, node) -> tuple[str, bool]:
        if not branches:
            return self.stmts(else_body, scope)
        test, body = branches[0]
        if self._only_raises(body):
            # the Jinja template refuses this case; the Go template goes on as if the test failed
            self.approximate(test, "raise_exception()",
                             "the Go template does not refuse this conversation; it renders the other branches",
                             "raise_exception")
            return self._if_chain(branches[1:], else_body, scope, node)
        cond = self.truth(self.ev(test, scope))
        pre = self.flush()
        if isinstance(cond, K):
            if cond.value:
                text, done = self.stmts(body, scope)
                return pre + text, done
            text, done = self.stmts_join(branches[1:], else_body, scope, node)
            return pre + text, done
        cvar = self.tmp("c")
        # each branch sees its own copy of the scope; the joined scope records which one ran
        start = self.at_start
        s_then = dict(scope)
        then_text, d1 = self.stmts(body, s_then)
        st, self.at_start = self.at_start, start
        s_else = dict(scope)
        else_text, d2 = self._if_chain(branches[1:], else_body, s_else, node)
        self.at_start = self.join_start(cvar, st, self.at_start)
        self._join(scope, cvar, s_then, s_else)
        text = pre + "{{ " + cvar + " := " + cond.go + " }}"
        if not then_text and not else_text:
            return text, False
        text += "{{ if " + cvar + " }}" + then_text
        if else_text:
            text += "{{ else }}" + else_text
        text += "{{ end }}"
        return text, d1 or d2

    @staticmethod
    def _missing(scope: dict, name: str) -> Val:
        """What a name holds in a branch that did not set it: undefined, or for a namespace attribute
        that turned symbolic in the other branch, its Go variable."""
        if name.startswith("\0ns."):
            _, ns_name, attr = name.split(".", 2)
            ns = scope.get(ns_name)
            if isinstance(ns, Ns) and attr in ns.attrs:
                return G(ns.attrs[attr], ns.kinds.get(attr, "any"))
        return K(UNDEF)

    @staticmethod
    def join_start(cvar: str, a, b):
        """The Go bool saying whether output had started after an if whose branches (chosen by
        `cvar`) left it `a` and `b` (True, None or a Go bool)."""
        if a is b or a == b:
            return a
        ga = "true" if a is True else "false" if a is None else arg(a)
        gb = "true" if b is True else "false" if b is None else arg(b)
        return f"or (and {cvar} {ga}) (and (not {cvar}) {gb})"

    def stmts_join(self, branches, else_body, scope, node):
        """`if_` for branches given as (test, body) pairs."""
        return self._if_chain(branches, else_body, scope, node)

    def _join(self, scope: dict, cvar: str, a: dict, b: dict) -> None:
        for name in set(a) | set(b):
            va, vb = a.get(name, self._missing(scope, name)), b.get(name, self._missing(scope, name))
            if va is vb or (isinstance(va, K) and isinstance(vb, K) and _same_const(va.value, vb.value)):
                scope[name] = va
            elif isinstance(va, G) and isinstance(vb, G) and va.go == vb.go:
                scope[name] = va
            else:
                scope[name] = Cond(cvar, va, vb)

    def _only_raises(self, body: list) -> bool:
        """True when the statements print nothing and can only raise_exception()."""
        found = False
        for n in body:
            if isinstance(n, J.If):
                branches = [n.body] + [e.body for e in n.elif_] + [n.else_]
                if all(not b or self._only_raises(b) for b in branches):
                    found = True
                    continue
                return False
            if isinstance(n, J.For):
                if self._only_raises(n.body) and (not n.else_ or self._only_raises(n.else_)):
                    found = True
                    continue
                return False
            if isinstance(n, J.Output):
                for c in n.nodes:
                    if isinstance(c, J.TemplateData) and not c.data.strip():
                        continue
                    if isinstance(c, J.Call) and isinstance(c.node, J.Name) and c.node.name == "raise_exception":
                        found = True
                        continue
                    return False
            elif isinstance(n, J.ExprStmt) and isinstance(n.node, J.Call) and \
                    isinstance(n.node.node, J.Name) and n.node.node.name == "raise_exception":
                found = True
            else:
                return False
        return found

    def assign(self, node: J.Assign, scope: dict) -> str:
        """Go text for `{% set %}`: a plain name only changes the compile-time scope; a namespace
        attribute becomes a Go assignment (`=`), or a symbolic builder when loops append text Go
        cannot build."""
        target = node.target
        if isinstance(target, J.NSRef) and (target.name, target.attr) in self._symbolic_ns:
            key = _nskey(target.name, target.attr)
            if self.capture is not None:
                if self.capture != key:
                    return ""
                # the capture run of a loop prints what this assignment appends
                parts = _append_parts(node.node)
                vals = [self.ev(p, scope) for p in parts]
                if self.capture_flag is not None:
                    t = self.truth(Cat(vals))
                    pre = self.flush()
                    if isinstance(t, K):
                        return pre + ("{{ " + self.capture_flag + " = true }}" if t.value else "")
                    return pre + "{{ if " + t.go + " }}{{ " + self.capture_flag + " = true }}{{ end }}"
                pre = self.flush()
                text, _ = self.emit(Cat(vals))
                return pre + text
            ns = scope.get(target.name)
            if len(self.loops) > (ns.depth if isinstance(ns, Ns) else 0):
                return ""        # appended inside a loop: the value after the loop is built in for_()
            scope[key] = self.ev(node.node, scope)
            return self.flush()
        if isinstance(target, J.NSRef):
            # (in a capture run, `scope` holds shadow variables for the loop's other namespace
            # attributes, so counters and flags replay exactly as in the loop that printed)
            ns = scope.get(target.name)
            if not isinstance(ns, Ns):
                self.fail(node, f"{target.name}.{target.attr} is not a namespace attribute")
            v = self.ev(node.node, scope)
            gvar = ns.attrs.get(target.attr)
            if gvar is None:
                self.fail(node, f"namespace attribute {target.attr} was not declared")
            key = _nskey(target.name, target.attr)
            if key in scope or (not self.loops and _has_code(v) and
                                not self._assigned_in_loop_after(target.name, target.attr, node)):
                # from here on the attribute holds text Go cannot build (tojson): it stays symbolic,
                # starting from the Go variable's value so far
                scope[key] = v
                return self.flush()
            go = self.materialize(v)
            pre = self.flush()
            text = pre + "{{ " + gvar + " = " + go + " }}"
            fin = ns.fins.get(target.attr)
            if fin:
                # the attribute may hold message content: remember whether it is the final
                # (continued) assistant message's, so printing it can end the output there
                last = v
                if isinstance(v, Cat):
                    parts = [p for p in _flatten(v.parts) if not (isinstance(p, K) and not _pystr(p.value))]
                    last = parts[-1] if parts else K("")
                text += "{{ " + fin + " = " + (_fin_of(last) or "false") + " }}"
            return text
        if isinstance(target, J.Name):
            v = self.ev(node.node, scope)
            if isinstance(v, Special) and v.name == "namespace_value":
                pass
            if isinstance(v, Ns):
                pre = self.flush()
                decl = []
                # declare every attribute any later `set ns.x` assigns, with its initial value
                for attr in self._ns_attrs(target.name):
                    if attr not in v.attrs:
                        v.attrs[attr] = (self.tmp("ns_" + attr), K(UNDEF))
                attrs, kinds, fins = {}, {}, {}
                for attr, (gvar, init) in v.attrs.items():
                    if (target.name, attr) in self._symbolic_ns:
                        scope[_nskey(target.name, attr)] = init
                        continue
                    if isinstance(init, K) and init.value == [] and self._is_strlist(target.name, attr):
                        # a list that only grows by `+ [x]` and is only searched with `in`: a string
                        # of STRLIST_OPEN item STRLIST_CLOSE entries
                        decl.append("{{ " + gvar + ' := "" }}')
                        attrs[attr] = gvar
                        kinds[attr] = "strlist"
                        continue
                    decl.append("{{ " + gvar + " := " + self.materialize(init) + " }}")
                    if isinstance(init, K) and type(init.value) is int and init.value < 0:
                        self._neg_vars.add(gvar)
                    attrs[attr] = gvar
                    kinds[attr] = self._ns_kind(target.name, attr, init)
                    if kinds[attr] in ("str", "any") and self._holds_content(target.name, attr):
                        fins[attr] = self.tmp("fin_" + attr)
                        decl.append("{{ " + fins[attr] + " := false }}")
                pre += self.flush()
                scope[target.name] = Ns(attrs, kinds, fins, len(self.loops))
                return pre + "".join(decl)
            scope[target.name] = v
            return self.flush()
        if isinstance(target, J.Tuple):
            v = self.ev(node.node, scope)
            if isinstance(v, K) and isinstance(v.value, (list, tuple)) and len(v.value) == len(target.items):
                for t, x in zip(target.items, v.value):
                    scope[t.name] = K(x)
                return self.flush()
            self.fail(node, "tuple assignment from a runtime value is not supported", "set")
        self.fail(node, f"unsupported assignment target {type(target).__name__}")

    def _namespace_text_builders(self):
        """Namespace attributes that can stay symbolic: assigned outside loops, or inside a loop only
        as `ns.x = ns.x + ...` without being read elsewhere in that loop (a text the loop builds).
        Returns ({(ns, attr)}, {id(For node): [scope keys appended in it]})."""
        parents: dict[int, J.Node] = {}

        def index(n):
            for c in n.iter_child_nodes():
                parents[id(c)] = n
                index(c)
        index(self.ast)

        def loops_of(n):
            out = []
            p = parents.get(id(n))
            while p is not None:
                if isinstance(p, J.For):
                    out.append(p)
                p = parents.get(id(p))
            return out

        self._could_build_in_loops = False
        by_attr: dict[tuple, list] = {}
        for a in self.find_all(self.ast, J.Assign):
            if isinstance(a.target, J.NSRef):
                by_attr.setdefault((a.target.name, a.target.attr), []).append(a)
        creations: dict[str, list] = {}
        for a in self.find_all(self.ast, J.Assign):
            if isinstance(a.target, J.Name) and isinstance(a.node, J.Call) and isinstance(a.node.node, J.Name) \
                    and a.node.node.name == "namespace":
                creations.setdefault(a.target.name, []).append(a)
        symbolic, appends = set(), {}
        for (name, attr), assigns in by_attr.items():
            made = creations.get(name, [])
            homes = [frozenset(id(x) for x in loops_of(c)) for c in made]
            if not made or len(set(homes)) != 1:
                continue
            home = homes[0]        # the loops the namespace is created in (each creation in the same ones)
            ok, built_in = True, []
            for a in assigns:
                loops = [x for x in loops_of(a) if id(x) not in home]
                if not loops:
                    continue
                if not self.loop_builders:
                    self._could_build_in_loops = True
                    ok = False
                    break
                parts = _append_parts(a.node, name, attr)
                if parts is None:
                    ok = False
                    break
                outer = loops[-1]
                reads = [g for g in self.find_all(outer, J.Getattr)
                         if isinstance(g.node, J.Name) and g.node.name == name and g.attr == attr]
                lefts = [_leftmost(x.node) for x in self.find_all(outer, J.Assign)
                         if isinstance(x.target, J.NSRef) and (x.target.name, x.target.attr) == (name, attr)]
                if len(reads) != len([lft for lft in lefts if lft is not None]):
                    ok = False
                    break
                built_in.append(outer)
            if ok:
                symbolic.add((name, attr))
                for loop in built_in:
                    keys = appends.setdefault(id(loop), [])
                    if _nskey(name, attr) not in keys:
                        keys.append(_nskey(name, attr))
        return symbolic, appends

    def _is_strlist(self, name: str, attr: str) -> bool:
        for n in self.find_all(self.ast, J.Assign):
            if isinstance(n.target, J.NSRef) and (n.target.name, n.target.attr) == (name, attr):
                v = n.node
                if not (isinstance(v, J.Add) and isinstance(v.right, J.List) and isinstance(v.left, J.Getattr)
                        and isinstance(v.left.node, J.Name) and (v.left.node.name, v.left.attr) == (name, attr)):
                    return False
        for g in self.find_all(self.ast, J.Getattr):
            if isinstance(g.node, J.Name) and (g.node.name, g.attr) == (name, attr):
                continue
        return True

    def _holds_content(self, name: str, attr: str) -> bool:
        """Some `set name.attr = ...` reads a message's content (it may then be printed where a
        continued final assistant message has to end the output)."""
        for n in self.find_all(self.ast, J.Assign):
            if isinstance(n.target, J.NSRef) and (n.target.name, n.target.attr) == (name, attr):
                for x in [n.node, *self.find_all(n.node, (J.Getattr, J.Getitem, J.Name))]:
                    if isinstance(x, J.Getattr) and x.attr == "content" or \
                            isinstance(x, J.Getitem) and isinstance(x.arg, J.Const) and x.arg.value == "content":
                        return True
                    if isinstance(x, J.Name) and x.name in self._loop_and_macro_names:
                        return True     # a loop variable or macro argument may be (part of) content
        return False

    def _ns_kind(self, name: str, attr: str, init: Val) -> str:
        """int / bool / str when the initial value and every literal assigned agree, else any."""
        def kind(v):
            if isinstance(v, bool):
                return "bool"
            if isinstance(v, int):
                return "int"
            if isinstance(v, str):
                return "str"
            return None
        k = kind(init.value) if isinstance(init, K) else None
        if k is None:
            return "any"
        for n in self.find_all(self.ast, J.Assign):
            if isinstance(n.target, J.NSRef) and n.target.name == name and n.target.attr == attr:
                if isinstance(n.node, J.Const):
                    if kind(n.node.value) != k:
                        return "any"
                elif k == "bool" and isinstance(n.node, (J.Compare, J.Not, J.And, J.Or, J.Test)):
                    continue
                elif k == "int" and isinstance(n.node, (J.Add, J.Sub)) or isinstance(n.node, (J.Name, J.Getattr)) \
                        and k in ("int", "str") and self._int_name(n.node):
                    continue
                elif k == "str" and isinstance(n.node, (J.Add, J.Concat, J.Getattr, J.Getitem, J.Filter)):
                    continue
                else:
                    return "any"
        return k

    @staticmethod
    def _int_name(node) -> bool:
        return isinstance(node, J.Name) and node.name in ("index", "idx", "i") or \
            isinstance(node, J.Getattr) and node.attr in ("index0", "index")

    def _ns_attrs(self, name: str) -> list[str]:
        seen: list[str] = []
        for n in self.find_all(self.ast, J.Assign):
            if isinstance(n.target, J.NSRef) and n.target.name == name and n.target.attr not in seen:
                seen.append(n.target.attr)
        return seen

    # -- loops --------------------------------------------------------------------------------
    def for_(self, node: J.For, scope: dict) -> tuple[str, bool]:
        """Go text for `{% for %}` (with `loop.*`, an `if` filter, `else`); a loop that only calls
        raise_exception is an Approximation. CompileError for a recursive loop."""
        if node.recursive:
            self.fail(node, "recursive loops are not supported", "recursive")
        if self._only_raises(node.body) and not node.else_:
            # a validation loop: it prints nothing and only refuses conversations
            self.approximate(node, "validation loop calling raise_exception()",
                             "the Go template does not refuse these conversations", "for")
            return "", False
        it = self.ev(node.iter, scope)
        return self._for_over(node, it, scope)

    def _for_over(self, node: J.For, it: Val, scope: dict) -> tuple[str, bool]:
        if isinstance(it, Cond) and _kind_of(it) == "any":
            # the branches hold lists of different kinds: one loop per branch
            pre = self.flush()
            start = self.at_start
            texts = []
            for side in (it.a, it.b):
                self.at_start = start
                try:
                    texts.append(self._for_over(node, side, dict(scope)))
                except CompileError as err:
                    self.approximate(node, f"loop over a value that is sometimes not a list ({err})",
                                     "the Go template prints nothing for that case", "for")
                    texts.append(("", False))
            self.at_start = None
            (ta, da), (tb, db) = texts
            return pre + "{{ if " + it.cond + " }}" + ta + "{{ else }}" + tb + "{{ end }}", da or db
        if _tagged(it, "__filtered__"):
            it = self._filtered_for(it, node)
        if _tagged(it, "__split__"):
            it = self.split_list(it, node)
        if isinstance(it, G) and it.kind in _STRUCT_KEYS:
            # iterating a mapping Ollama fills in: its keys, the optional ones only when set
            out, done_any = [self.flush()], False
            keys = _STRUCT_KEYS[it.kind]
            for key in keys:
                v = self.getattr(it, key, node)
                guard = self.truth(v) if key in _OPTIONAL_KEYS.get(it.kind, ()) else K(True)
                text, done = self._unrolled(node, [key], scope, "")
                done_any = done_any or done
                if isinstance(guard, K):
                    out.append(text if guard.value else "")
                else:
                    out.append(self.flush() + "{{ if " + guard.go + " }}" + text + "{{ end }}")
            return "".join(out), done_any
        if isinstance(it, Cond):
            filled = _lists_or_empty(it)
            if filled is not None:
                # runtime lists on some paths, nothing to loop over on the others (an empty list,
                # undefined, none): an empty slice there
                it = G(self.materialize(filled), _kind_of(filled))
        pre = self.flush()
        target = node.target
        inner = dict(scope)
        if isinstance(it, K):
            return self._unrolled(node, it.value, scope, pre)
        reverse = False
        if isinstance(it, G) and it.kind.startswith("rev:"):
            reverse = True
            it = G(it.go, it.kind[4:])
        go_list = self.materialize(it)
        pre += self.flush()
        kind = _kind_of(it)
        elem_kind = {"msgs": "msg", "tools": "tool", "toolcalls": "toolcall", "args": "any",
                     "props": "prop", "strs": "str"}.get(kind, "any")
        if kind in ("args", "props") or kind.startswith("items:"):
            base = kind[6:] if kind.startswith("items:") else kind
            if not isinstance(target, J.Tuple) or len(target.items) != 2:
                self.fail(node, "looping over a mapping needs `for key, value in x.items()`")
            kv, vv = self.tmp("k"), self.tmp("v")
            inner[target.items[0].name] = G(kv, "str")
            vkind = {"props": "prop", "args": "any"}.get(base, "any")
            inner[target.items[1].name] = G(vv, vkind)
            cnt = self.tmp("cnt")
            # Go ranges a map in sorted key order; loop.index0 counts with a growing string
            head = ("{{ " + cnt + ' := "" }}{{ range ' + kv + ", " + vv + " := " + go_list + " }}{{ " + cnt +
                    " = print " + cnt + ' "x" }}')
            loop = LoopInfo(index=f"len (slice {cnt} 1)", list_go=None, count=f"len {arg(go_list)}")
            tail = ""
            # Jinja keeps the order the client sent; Ollama's maps come sorted by key
            # the loop's own `for k, v` (not the first `for` of its line)
            at = re.compile(r"\bfor\s+" + r"\s*,\s*".join(re.escape(t.name) for t in target.items) + r"\b")
            if base == "props":
                self.approximate(node, "loop over tool parameter properties",
                                 "Ollama hands properties over sorted by name", at)
            elif base == "args":
                self.approximate(node, "loop over tool-call arguments",
                                 "Ollama hands them over sorted by key (Jinja keeps the client's order)", at)
        elif kind == "strlist":
            # items between the bytes 0xFE and 0xFF (STRLIST_OPEN/CLOSE): an item starts after its
            # 0xFE and is sliced out at its 0xFF, where the body runs (no per-byte work but the two byte tests)
            idx, cur, cnt, total = self.tmp("j"), self.tmp("item"), self.tmp("cnt"), self.tmp("n")
            sv, st = self.tmp("s"), self.tmp("st")
            pre += ("{{ " + sv + " := " + go_list + " }}{{ " + total + ' := "" }}{{ range $_p := len ' + sv +
                    " }}{{ if eq (index " + sv + " $_p) 255 }}{{ " + total + " = print " + total +
                    ' "x" }}{{ end }}{{ end }}{{ ' + cur + ' := "" }}{{ ' + cnt + ' := "" }}{{ ' + st + " := 0 }}")
            head = ("{{ range " + idx + " := len " + sv + " }}{{ if eq (index " + sv + " " + idx + ") 254 }}{{ " + st +
                    " = " + self.add1(idx) + " }}{{ else if eq (index " + sv + " " + idx + ") 255 }}{{ " + cur +
                    " = slice " + sv + " " + st + " " + idx + " }}{{ " + cnt + " = print " + cnt + ' "x" }}')
            inner[target.name] = G(cur, "str")
            if isinstance(it, G) and it.origin:
                # the last piece of a split message content ends where the content ends
                inner[target.name].fin = (f"and (not $_agp) (eq {arg(it.origin)} $_final) "
                                          f"(eq (len {cnt}) (len {total}))")
            loop = LoopInfo(index=f"len (slice {cnt} 1)", list_go=None, count=f"len {total}")
            tail = "{{ end }}"
        elif kind == "str":
            idx = self.tmp("j")
            var = self.tmp("ch")
            sv = self.tmp("s")
            pre += "{{ " + sv + " := " + go_list + " }}"
            head = ("{{ range " + idx + " := len " + sv + " }}{{ " + var + " := slice " + sv + " " + idx + " (" +
                    self.add1(idx) + ") }}")
            inner[target.name] = G(var, "str")
            loop = LoopInfo(index=idx, list_go=None, count=f"len {sv}")
            tail = ""
            self.approximate(node, "loop over the characters of a string", "the Go template loops over its bytes "
                             "(the same for ASCII text)", "for", probes=(NON_ASCII_PROBE,))
        elif kind == "intrange":
            idx = self.tmp("j")
            count = go_list
            if reverse:
                # n-1 down to 0: the count and n spaces computed once; each turn takes the length of
                # a slice of them (3 calls, not the count's expression again and a printf)
                var, k, pad = self.tmp("n"), self.tmp("k"), self.tmp("pad")
                pre += "{{ " + k + " := " + go_list + " }}{{ " + pad + " := printf \"%*s\" " + k + ' "" }}'
                count = k
                head = ("{{ range " + idx + " := " + k + " }}{{ " + var + " := len (slice (slice " + pad + " 1) " +
                        idx + ") }}")
                self._nonneg_vars.add(var)
                inner[target.name] = G(var, "int")
            else:
                head = "{{ range " + idx + " := " + go_list + " }}"
                if it.offset:
                    inner[target.name] = G(f'len (printf "%*s%*s" {arg(it.offset)} "" {idx} "")', "int")
                else:
                    inner[target.name] = G(idx, "int")
            loop = LoopInfo(index=idx, list_go=None, count=count)
            tail = ""
        elif reverse:
            idx = self.tmp("j")
            var = self.tmp("m")
            loop = LoopInfo(index=idx, list_go=go_list, elem=elem_kind)
            head = ("{{ range " + idx + " := len " + arg(go_list) + " }}{{ " + var + " := index " +
                    arg(go_list) + " (len (slice " + arg(go_list) + " (" + self.add1(idx) + "))) }}")
            inner[target.name] = G(var, elem_kind)
            tail = ""
        else:
            if not isinstance(target, J.Name):
                self.fail(node, "unsupported loop target")
            idx, var = self.tmp("i"), self.tmp(_goname(target.name))
            loop = LoopInfo(index=idx, list_go=go_list, elem=elem_kind)
            head = "{{ range " + idx + ", " + var + " := " + go_list + " }}"
            inner[target.name] = G(var, elem_kind)
            tail = ""
        if node.test is not None:
            loop.filtered = True
        start = self.at_start
        if start is not None and loop.index != "0":
            self.at_start = f"eq {arg(loop.index)} 0" if start is True else f"and {arg(start)} (eq {arg(loop.index)} 0)"
        body_start = self.at_start
        self.loops.append(loop)
        inner["loop"] = K(("__loop__", len(self.loops) - 1))
        try:
            # namespace attributes assigned in the body are runtime values from the first iteration on
            body_text, done = self.stmts(node.body, inner)
            if node.test is not None:
                cond = self.truth(self.ev(node.test, inner))
                cpre = self.flush()
                hit = self.tmp("hit") if node.else_ else None
                mark = ("{{ " + hit + " = true }}") if hit else ""
                if isinstance(cond, K):
                    body_text = mark + body_text if cond.value else ""
                else:
                    body_text = cpre + "{{ if " + cond.go + " }}" + mark + body_text + "{{ end }}"
        finally:
            self.loops.pop()
        if done:
            body_text = "{{ if not $_done }}" + body_text + "{{ end }}"
        if start is not None and self.at_start == body_start:
            self.at_start = start       # the body prints nothing on any path
        else:
            self.at_start = None        # it may have printed (the BOS check then happens at run time)
        built = self._loop_appends.get(id(node), ()) if self.capture is None else ()
        # the loop's other namespace attributes (counters, flags): the capture run replays them on
        # shadow variables that start from the values they had before this loop
        shadows: dict[tuple, tuple[str, str]] = {}
        if built:
            for a in self.find_all(node, J.Assign):
                t = a.target
                if isinstance(t, J.NSRef) and (t.name, t.attr) not in self._symbolic_ns \
                        and isinstance(scope.get(t.name), Ns) and t.attr in scope[t.name].attrs \
                        and (t.name, t.attr) not in shadows:
                    shadows[(t.name, t.attr)] = (self.tmp("snap"), self.tmp("sh"))
            head = "".join("{{ " + snap + " := " + scope[n].attrs[a] + " }}"
                           for (n, a), (snap, _) in shadows.items()) + head
        hit = None
        if node.test is not None and node.else_:
            hit = re.search(r"\{\{ (\$_hit\d+) = true \}\}", body_text)
            hit = hit.group(1) if hit else self.tmp("hit")
            pre += "{{ " + hit + " := false }}"
        text = pre + head + body_text + tail
        if node.else_ and hit:
            # Jinja's for-else with a filter runs the else when no item passed the filter
            else_text, d2 = self.stmts(node.else_, dict(scope))
            done = done or d2
            text += "{{ end }}{{ if not " + hit + " }}" + else_text
        elif node.else_:
            else_text, d2 = self.stmts(node.else_, dict(scope))
            done = done or d2
            text += "{{ else }}" + else_text
        text += "{{ end }}"
        for key in built:
            # the text a loop appends to a namespace attribute: the same loop, printing only that
            saved = (self.pre, self.at_start, self.capture)
            self.pre, self.capture = [], key
            cscope = dict(scope)
            for (n, a), (_, sh) in shadows.items():
                ns = cscope[n]
                cscope[n] = Ns({**ns.attrs, a: sh}, ns.kinds, {}, ns.depth)
            try:
                capture_text, _ = self._for_over(node, it, cscope)
            finally:
                self.pre, self.at_start, self.capture = saved
            init = "".join("{{ " + sh + " := " + snap + " }}" for snap, sh in shadows.values())
            scope[key] = Cat([scope.get(key, K("")), _Code(init + capture_text, "", truth=self._capture_truth(
                node, it, cscope, key, init))])
        # plain `set` inside the loop does not leak (Jinja scoping); namespaces are Go variables
        return text, done

    def _capture_truth(self, node: J.For, it: Val, cscope: dict, key: str, init: str):
        """For `if ns.text` after a loop that appended to it: compiled when first asked, the loop
        run once more setting a Go bool when an iteration appends non-empty text."""
        done: list = []

        def flag() -> tuple[str, str]:
            if not done:
                var = self.tmp("any")
                saved = (self.pre, self.at_start, self.capture, self.capture_flag)
                self.pre, self.capture, self.capture_flag = [], key, var
                try:
                    text, _ = self._for_over(node, it, dict(cscope))
                finally:
                    self.pre, self.at_start, self.capture, self.capture_flag = saved
                done.append(("{{ " + var + " := false }}" + init + text, var))
            return done[0]
        return flag

    def _unrolled(self, node: J.For, values, scope: dict, pre: str) -> tuple[str, bool]:
        if isinstance(values, dict):
            values = list(values)
        if isinstance(values, Val) or not isinstance(values, (list, tuple, str)):
            if values is None or values is UNDEF:
                values = []
            else:
                self.fail(node, "loop over a value that is not a list")
        out = [pre]
        items = list(values)
        self._unrolled_total += len(items)
        if self._unrolled_total > MAX_UNROLLED:
            at = self._expanding[0] if self._expanding else node   # the outermost constant loop or macro call
            line = getattr(at, "lineno", 0) or 0
            raise BudgetError(f"loops over constants run more than {MAX_UNROLLED:,} times in all (each iteration is "
                            "unrolled into Go text of its own); refusing a template this large (real chat templates "
                            "stay far below; docs/convert.md: Limits)", line, self._node_col(at))
        self._expanding.append(node)
        try:
            return self._unroll(node, items, scope, out)
        finally:
            self._expanding.pop()

    def _unroll(self, node: J.For, items: list, scope: dict, out: list) -> tuple[str, bool]:
        done_any = False
        for i, x in enumerate(items):
            inner = dict(scope)
            if isinstance(node.target, J.Tuple):
                for t, y in zip(node.target.items, x):
                    inner[t.name] = y if isinstance(y, Val) else K(y)
            else:
                inner[node.target.name] = x if isinstance(x, Val) else K(x)
            inner["loop"] = K({"index0": i, "index": i + 1, "first": i == 0, "last": i == len(items) - 1,
                               "length": len(items), "revindex0": len(items) - 1 - i,
                               "revindex": len(items) - i})
            if node.test is not None:
                c = self.truth(self.ev(node.test, inner))
                if not isinstance(c, K):
                    self.fail(node, "loop filter over a constant list depends on runtime values")
                if not c.value:
                    continue
            text, done = self.stmts(node.body, inner)
            out.append(text)
            done_any = done_any or done
        if not items and node.else_:
            text, done = self.stmts(node.else_, dict(scope))
            out.append(text)
        return "".join(out), done_any

    # -- int arithmetic from len/printf/slice ---------------------------------------------------
    def _nonneg(self, go: str) -> bool:
        """Whether the Go int expression `go` cannot be negative (_nonneg_go, or a variable the
        compiler only ever sets to such a value)."""
        return _nonneg_go(go) or go in self._nonneg_vars

    def add1(self, go: str) -> str:
        """The Go int expression `go` + 1."""
        return self.add_int(G(go, "int"), K(1)).go

    def add_int(self, a: Val, b: Val) -> Val:
        """`a + b` for ints: folded when both are known, else built from `len` and `printf` (Go
        templates have no arithmetic)."""
        if isinstance(a, K) and isinstance(b, K):
            return K(a.value + b.value)
        if isinstance(a, K):
            a, b = b, a
        if isinstance(b, K):
            if b.value == 0:
                return a
            if isinstance(a, G) and self._differences.get(a.go, (None, None))[1] == b.value:
                return self._differences[a.go][0]      # (x - k) + k
            if b.value > 0 and a.go in self._neg_vars and b.value <= 64:
                # printf's width cannot count below zero: small negative values are enumerated
                r, k = self.tmp("sum"), b.value
                code = ("{{ " + r + " := 0 }}{{ if ge " + a.go + " 0 }}{{ " + r + ' = len (printf "%*s%s" ' + a.go +
                        ' "" ' + golit("x" * k) + ") }}")
                for n in range(1, k + 17):
                    code += "{{ else if eq " + a.go + " -" + str(n) + " }}{{ " + r + " = " + str(k - n) + " }}"
                code += "{{ else }}{{ " + r + " = " + a.go + " }}{{ end }}"
                self.pre.append(code)
                return G(r, "int")
            if b.value > 0:
                return G(f'len (printf "%*s%s" {arg(a.go)} "" {golit("x" * b.value)})', "int")
            return self.sub_int(a, K(-b.value))
        return G(f'len (printf "%*s%*s" {arg(a.go)} "" {arg(b.go)} "")', "int")

    def sub_int(self, a: Val, b: Val) -> Val:
        """`a - b` for ints: folded when both are known, else `len (slice (printf "%*s" a
        "") b)`."""
        if isinstance(a, K) and isinstance(b, K):
            return K(a.value - b.value)
        if isinstance(b, K) and b.value == 0:
            return a
        if isinstance(b, K) and b.value < 0:
            return self.add_int(a, K(-b.value))
        if isinstance(a, G) and isinstance(b, K) and 0 < b.value <= 64 and self._short_circuit and \
                self._nonneg(a.go) and a.go not in self._neg_vars:
            # the right operand of `and`/`or` (Go's short-circuit too): `not loop.first and
            # messages[loop.index0 - 1]` is guarded by its left side, so the cheap form, which
            # errors when a < k, is kept; a slice bound made of it is made exact (_exact_difference)
            go = f'len (slice (printf "%*s" {arg(a.go)} "") {b.value})'
            self._differences[go] = (a, b.value)
            return G(go, "int")
        if isinstance(a, G) and isinstance(b, K) and 0 < b.value <= 64 and \
                (self._nonneg(a.go) or a.go in self._neg_vars):
            # a - k where a may be below k: printf's width cannot count below zero, so the values
            # a < k takes (0..k-1, and the small negatives a "none yet" -1 sentinel starts from)
            # are enumerated; the result may be negative (later + k enumerates too)
            r, k = self.tmp("dif"), b.value
            code = ("{{ " + r + " := 0 }}{{ if ge " + arg(a.go) + " " + str(k) + " }}{{ " + r +
                    ' = len (slice (printf "%*s" ' + arg(a.go) + ' "") ' + str(k) + ") }}")
            low = -(k + 16) if a.go in self._neg_vars else 0
            for n in range(k - 1, low - 1, -1):
                code += "{{ else if eq " + arg(a.go) + " " + str(n) + " }}{{ " + r + " = " + str(n - k) + " }}"
            code += "{{ end }}"
            self.pre.append(code)
            self._neg_vars.add(r)
            self._differences[r] = (a, k)
            return G(r, "int")
        ago = golit(" " * a.value) if isinstance(a, K) else f'printf "%*s" {arg(a.go)} ""'
        return G(f"len (slice ({ago}) {arg(b.go if isinstance(b, G) else str(b.value))})", "int")

    # -- expressions ----------------------------------------------------------------------------
    def ev(self, node: J.Node, scope: dict) -> Val:
        """The compile-time value of a Jinja expression, by its node type (`ev_<Node>`).
        CompileError for an unsupported expression."""
        t = type(node)
        meth = getattr(self, "ev_" + t.__name__, None)
        if meth is None:
            self.fail(node, f"unsupported expression {t.__name__}")
        self._spend(node)
        try:
            v = meth(node, scope)
            if isinstance(v, K) and isinstance(v.value, str):
                self.built += len(v.value)
            return v
        except CompileError as err:
            self._locate(err, node)
            raise

    def _locate(self, err: CompileError, node) -> None:
        """An error raised without a place gets the innermost Jinja node's line and column."""
        if err.line or not getattr(node, "lineno", 0):
            return
        needle = getattr(node, "name", None) or getattr(node, "attr", None)
        if isinstance(node, J.Call) and isinstance(node.node, J.Name):
            needle = node.node.name
        err.line = node.lineno
        err.col = self.col(node.lineno, needle if isinstance(needle, str) else None)

    def ev_Const(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 constant: K."""
        return K(node.value)

    def ev_TemplateData(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 literal template text:
        K."""
        return K(node.data)

    def ev_List(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 list literal: K when
        every item is known."""
        vals = [self.ev(x, scope) for x in node.items]
        if all(isinstance(v, K) for v in vals):
            return K([v.value for v in vals])
        return K([v for v in vals])  # list of Vals: only usable with `in`

    ev_Tuple = ev_List

    def ev_Dict(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 dict literal: K when
        every key and value is known."""
        out = {}
        for pair in node.items:
            k = self.ev(pair.key, scope)
            v = self.ev(pair.value, scope)
            if not isinstance(k, K):
                self.fail(node, "dict with a runtime key")
            out[k.value] = v.value if isinstance(v, K) else v
        return K(out)

    def ev_Name(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 name: from the scope,
        Undefined when unbound."""
        name = node.name
        if name in scope:
            v = scope[name]
            if isinstance(v, G):
                if v.go == "$.Think":
                    self.uses.add("think")
                    if self._think_node is None:
                        self._think_node = (node, name)
                elif v.go == "$.Tools":
                    self.uses.add("tools")
            return v
        if _THINKING_NAME.search(name):
            # e.g. Seed-OSS's thinking_budget, gpt-oss's reasoning_effort: Ollama hands a template
            # only its think value (server/prompt.go renderPrompt, v0.24.0: .Think, .ThinkLevel)
            self.approximate(node, f"thinking setting {name!r}",
                             "Ollama hands a template only think (.Think, .ThinkLevel), never this setting: "
                             "converted as when it is not set", name)
        return K(UNDEF)

    def _assigned_in_loop_after(self, name: str, attr: str, node) -> bool:
        line = getattr(node, "lineno", 0) or 0
        for loop in self.find_all(self.ast, J.For):
            if (getattr(loop, "lineno", 0) or 0) < line:
                continue
            for a in self.find_all(loop, J.Assign):
                if isinstance(a.target, J.NSRef) and (a.target.name, a.target.attr) == (name, attr):
                    return True
        return False

    def ev_Getattr(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `x.attr` (namespace
        attributes, message and tool fields, loop.*)."""
        if isinstance(node.node, J.Name) and _nskey(node.node.name, node.attr) in scope \
                and isinstance(scope.get(node.node.name), Ns):
            return scope[_nskey(node.node.name, node.attr)]
        if isinstance(node.node, J.Name) and (node.node.name, node.attr) in self._symbolic_ns \
                and isinstance(scope.get(node.node.name), Ns):
            return scope.get(_nskey(node.node.name, node.attr), K(UNDEF))
        return self.getattr(self.ev(node.node, scope), node.attr, node)

    def ev_Getitem(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `x[key]` or `x[a:b]`."""
        base = self.ev(node.node, scope)
        if isinstance(node.arg, J.Slice):
            return self.slice_(base, node.arg, scope, node)
        key = self.ev(node.arg, scope)
        if isinstance(key, K) and isinstance(key.value, str):
            return self.getattr(base, key.value, node)
        return self.getitem(base, key, node)

    def getattr(self, base: Val, attr: str, node) -> Val:
        """`base.attr`: a field of a message, tool or tool call as Ollama's Go types have it, a
        known dict's item, loop.*, or a string method."""
        if isinstance(base, Cond):
            return self._cond_map(base, lambda v: self.getattr(v, attr, node))
        if isinstance(base, K):
            v = base.value
            if isinstance(v, tuple) and len(v) == 2 and v[0] == "__loop__":
                return self.loop_attr(self.loops[v[1]], attr, node)
            if isinstance(v, dict):
                x = v.get(attr, UNDEF)
                return x if isinstance(x, Val) else K(x)
            if v is UNDEF or v is None:
                return K(UNDEF)
            if isinstance(v, str) and attr in _PY_STR_METHODS:
                return K(("__strmethod__", base, attr))
            if attr in _SAFE_METHODS and hasattr(v, attr):
                # only plain data methods of constants (never format/center/attribute access)
                return K(getattr(v, attr))
            return K(UNDEF)
        if isinstance(base, Ns):
            g = base.attrs.get(attr)
            if g is None:
                return K(UNDEF)
            return G(g, base.kinds.get(attr, "any"), fin=base.fins.get(attr))
        if isinstance(base, G):
            fields = _FIELDS.get(base.kind)
            if fields is not None and attr in fields:
                f, kind = fields[attr]
                if f.startswith("="):
                    return K(json.loads(f[1:]))
                go = base.go + "." + f if _simple(base.go) and not base.go.startswith("(") else f"({base.go}).{f}"
                if base.go.startswith("(") or " " in base.go:
                    go = f"({base.go}).{f}"
                if base.kind == "prop" and f == "Type":
                    go, kind = f"print {arg(go)}", "str"   # api.PropertyType prints through String()
                v = G(go, kind)
                if base.kind == "msg" and attr == "role":
                    v.domain = ROLES
                if base.kind == "msg" and attr == "content":
                    v.origin = base.go
                if f == "Thinking":
                    self.uses.add("reasoning")
                if kind in ("str", "toolcalls") and attr not in ("role", "content") or \
                        attr in _OPTIONAL_KEYS.get(base.kind, ()):
                    v.maybe_empty_is_undef = True     # Ollama leaves it empty where the client sent none
                return v
            if attr == "get" and base.kind in _FIELDS:
                return K(("__get__", base))
            if base.kind == "str" and attr in _PY_STR_METHODS or base.kind == "any" and attr in _STR_METHODS:
                return K(("__strmethod__", base, attr))   # every str method Jinja's sandbox allows
            if (base.kind in ("args", "props") or base.kind in _STRUCT_KEYS) and attr in ("items", "keys", "values"):
                return K(("__items__", base, attr))
            if base.kind in ("args", "any", "prop"):
                # a value inside tool arguments / properties: index it by key
                if base.kind == "prop":
                    return K(UNDEF)
                return G(f"index {arg(base.go)} {golit(attr)}", "any")
            return K(UNDEF)
        if isinstance(base, Cat):
            if attr in _PY_STR_METHODS:
                return K(("__strmethod__", base, attr))
        return K(UNDEF)

    def _cond_map(self, c: Cond, fn) -> Val:
        # helper code computed for one branch runs only when that branch was taken (its inputs
        # exist only then)
        saved, self.pre = self.pre, []
        a = fn(c.a)
        pa, self.pre = self.pre, []
        b = fn(c.b)
        pb, self.pre = self.pre, saved
        if pa:
            self.pre.append("{{ if " + c.cond + " }}" + "".join(pa) + "{{ end }}")
        if pb:
            self.pre.append("{{ if not " + c.cond + " }}" + "".join(pb) + "{{ end }}")
        if isinstance(a, K) and isinstance(b, K) and _same_const(a.value, b.value):
            return a
        return Cond(c.cond, a, b)

    def loop_attr(self, loop: LoopInfo, attr: str, node) -> Val:
        """`loop.index0`, `index`, `first`, `last`, `length`, `revindex`, ... as Go int/bool
        expressions. CompileError inside a loop with an `if` filter."""
        if loop.filtered:
            self.fail(node, "loop.* in a loop with an `if` filter is not supported", "loop.")
        i = G(loop.index, "int")
        L = loop.list_go
        if attr == "index0":
            return i
        if attr == "index":
            return self.add_int(i, K(1))
        if attr == "first":
            return G(f"eq {arg(loop.index)} 0", "bool")
        if L is None and loop.count is not None:
            n = G(loop.count, "int")
            if attr == "last":
                return G(f"eq {arg(self.add1(loop.index))} {arg(loop.count)}", "bool")
            if attr == "length":
                return n
            if attr == "revindex0":
                return self.sub_int(self.sub_int(n, K(1)), i)
            if attr == "revindex":
                return self.sub_int(n, i)
        if L is None:
            self.fail(node, f"loop.{attr} over a mapping is not supported", "loop.")
        if attr == "last":
            return G(f"eq {arg(loop.index)} (len (slice {arg(L)} 1))", "bool")
        if attr == "length":
            return G(f"len {arg(L)}", "int")
        if attr == "revindex0":
            return G(f"len (slice {arg(L)} ({self.add1(loop.index)}))", "int")
        if attr == "revindex":
            return G(f"len (slice {arg(L)} {arg(loop.index)})", "int")
        if attr in ("previtem", "nextitem"):
            # undefined at the ends, as in Jinja: a Cond on a bool computed first, so the `index`
            # (which errors out of range) is only reached inside its guard
            cvar = self.tmp("has")
            if attr == "previtem":
                self.pre.append("{{ " + cvar + " := gt " + arg(loop.index) + " 0 }}")
                item = G(f"index {arg(L)} ({self.sub_int(i, K(1)).go})", loop.elem)
            else:
                self.pre.append("{{ " + cvar + " := lt (" + self.add1(loop.index) + ") (len " + arg(L) + ") }}")
                item = G(f"index {arg(L)} ({self.add1(loop.index)})", loop.elem)
            return Cond(cvar, item, K(UNDEF))
        self.fail(node, f"loop.{attr} is not supported", "loop.")

    def getitem(self, base: Val, key: Val, node) -> Val:
        """`base[key]`: a known item, a message's field by name, a Go `index` (negative indexes from
        the end via `len`). CompileError for what Go cannot index."""
        if _tagged(base, "__filtered__"):
            if isinstance(key, K) and key.value in (0, -1):
                return self._filtered_pick(base, key.value == -1, node)
            self.fail(node, "only [0] and [-1] of a filtered runtime list are supported", "[")
        if _tagged(base, "__split__"):
            _, s, sep, maxsplit = base.value
            if isinstance(key, K) and key.value == 0:
                return self.split_pick(s, sep, "first")
            if isinstance(key, K) and maxsplit == 1 and key.value in (1, -1):
                return self.split_pick(s, sep, "after_first" if key.value == 1 else "after_first_or_all")
            if isinstance(key, K) and key.value == -1 and maxsplit < 0:
                return self.split_pick(s, sep, "last")
            if isinstance(key, K) and isinstance(key.value, int) and not isinstance(key.value, bool):
                return self.strlist_pick(self.split_list(base, node), key.value)
            self.fail(node, "a runtime index into a runtime split() is not supported", "split")
        if isinstance(base, K) and isinstance(key, K):
            try:
                x = base.value[key.value]
            except (KeyError, IndexError, TypeError):
                return K(UNDEF)
            return x if isinstance(x, Val) else K(x)
        if isinstance(base, K) and isinstance(base.value, dict) and isinstance(key, (G, Cat, Cond)):
            if isinstance(key, G) and key.domain:
                return self.enumerate_domain(key, lambda k: self.getitem(base, k, node), node)
            kg = self.materialize(key)
            out = self.tmp("v")
            code = "{{ " + out + ' := "" }}'
            first = True
            for k, v in base.value.items():
                if not isinstance(k, str):
                    continue
                val = v if isinstance(v, Val) else K(v)
                code += ("{{ if " if first else "{{ else if ") + f"eq {arg(kg)} {golit(k)}" + " }}{{ " + out + \
                    " = " + self.materialize(val) + " }}"
                first = False
            if not first:
                code += "{{ end }}"
            self.pre.append(code)
            return G(out, "any")
        if isinstance(base, Cond):
            return self._cond_map(base, lambda v: self.getitem(v, key, node))
        if isinstance(base, G) and base.kind in ("msgs", "tools", "toolcalls", "strs", "list"):
            elem = {"msgs": "msg", "tools": "tool", "toolcalls": "toolcall", "strs": "str"}.get(base.kind, "any")
            if isinstance(key, K) and isinstance(key.value, int):
                n = key.value
                if n >= 0:
                    return G(f"index {arg(base.go)} {n}", elem)
                k = -n
                return G(f"index {arg(base.go)} (len (slice {arg(base.go)} {k}))", elem)
            if isinstance(key, G) and key.kind == "int":
                if self._nonneg(key.go):
                    return G(f"index {arg(base.go)} {arg(key.go)}", elem)
                # a runtime index that may be negative counts from the end, as in Python
                ix, g = self.tmp("ix"), arg(key.go)
                k = f'(len (printf "%*s" {g} ""))'
                self.pre.append("{{ " + ix + " := " + g + " }}{{ if and (lt " + g + " 0) (le " + k + " (len " +
                                arg(base.go) + ")) }}{{ " + ix + " = len (slice " + arg(base.go) + " " + k +
                                ") }}{{ end }}")
                return G(f"index {arg(base.go)} {ix}", elem)
        if isinstance(base, G) and base.kind in ("args", "any") and isinstance(key, G):
            return G(f"index {arg(base.go)} {arg(key.go)}", "any")
        if isinstance(base, G) and base.kind == "any" and isinstance(key, K) and isinstance(key.value, int) \
                and key.value >= 0:
            return G(f"index {arg(base.go)} {key.value}", "any")
        if isinstance(base, G) and base.kind == "str" and isinstance(key, K) and isinstance(key.value, int) \
                and not isinstance(key.value, bool):
            # by characters, through fmt's precision; "" past either end (where Jinja gives undefined):
            # s[-k] is s[-k:-k+1], s[-1] is s[-1:]
            n = key.value
            return self._guarded_slice(base, key, K(n + 1 if n != -1 else None), node)
        if isinstance(base, G) and base.kind == "str" and isinstance(key, G) and key.kind == "int":
            if not self._nonneg(key.go):
                self.fail(node, "a character of text at a runtime index that may be negative is not translated", "[")
            return self._guarded_slice(base, key, G(self.add1(key.go), "int"), node)
        what = f"a {base.kind} value" if isinstance(base, G) else "a constant" if isinstance(base, K) else "this value"
        self.fail(node, f"indexing {what} with this key is not supported", "[")

    def slice_(self, base: Val, sl: J.Slice, scope: dict, node) -> Val:
        """`base[start:stop:step]`. Known values fold; strings (by characters) and lists go through
        Go's `slice` behind guards (_guarded_slice), runtime bounds of either sign included. A step
        (other than none or 1) is refused, except `[::-1]` of a list that a `{% for %}` runs over
        (the loop runs from the end): Go templates cannot step through or reverse a list or a string
        in a value. CompileError (with the slice's column) for what is refused."""
        start = self.ev(sl.start, scope) if sl.start is not None else K(None)
        stop = self.ev(sl.stop, scope) if sl.stop is not None else K(None)
        step = self.ev(sl.step, scope) if sl.step is not None else K(None)
        if _tagged(base, "__split__"):
            base = self.split_list(base, node)
        if isinstance(base, K) and isinstance(base.value, tuple) and base.value and isinstance(base.value[0], str) \
                and base.value[0].startswith("__"):
            what = {"__filtered__": "a filtered runtime list (selectattr/rejectattr)", "__mapped__": "a mapped list",
                    "__strmethod__": "a string method", "__items__": "the items of a mapping",
                    "__loop__": "loop"}.get(base.value[0], "this value")
            self.fail(node, f"slicing {what} ({self._slice_text(node)}) is not supported", _SLICE_AT)
        if isinstance(base, K):
            if base.value is UNDEF or base.value is None:
                return K(UNDEF)
            if all(isinstance(x, K) for x in (start, stop, step)):
                return K(base.value[slice(start.value, stop.value, step.value)])
        if not (isinstance(step, K) and step.value in (None, 1)):
            self._stepped_slice(base, start, stop, step, node)   # refuses all but [::-1] of a looped list
            return G(base.go, "rev:" + base.kind)
        if isinstance(base, G) and base.kind == "strlist":
            ok = all(isinstance(x, K) and (x.value is None or isinstance(x.value, int) and x.value >= 0)
                     for x in (start, stop))
            if not ok:
                self.fail(node, f"slicing a runtime list of strings other than [a:b] with a, b >= 0 "
                                f"({self._slice_text(node)})", _SLICE_AT)
            return self.strlist_slice(base, start.value or 0, stop.value)
        if isinstance(base, Cond):
            return self._cond_map(base, lambda v: self.slice_(v, sl, scope, node))
        if isinstance(base, _Code) and isinstance(start, K) and start.value is None and isinstance(stop, K) \
                and isinstance(stop.value, int) and stop.value < 0 and -stop.value <= len(base.tail):
            return _Code(base.code, base.name, base.tail[:stop.value])   # (may print nothing now)
        if not isinstance(base, G):
            base = G(self.materialize(base), "str")
        if base.kind.startswith("rev:"):
            self.fail(node, f"slicing a reversed list ({self._slice_text(node)}): a reversed list can only be "
                            "looped over", _SLICE_AT)
        lo = start
        if not isinstance(lo, (K, G)):
            lo = G(self.materialize(lo), "int")
        hi = stop
        if not isinstance(hi, (K, G)):
            hi = G(self.materialize(hi), "int")
        return self._guarded_slice(base, lo, hi, node)

    def _slice_text(self, node, pattern: re.Pattern = _SLICE_AT) -> str:
        """The Jinja text of the slice `node` (a Getitem with a Slice) as written, for messages:
        the next occurrence of `pattern` on its line that no message has named yet."""
        line = getattr(node, "lineno", 0) or 0
        at = self.col(line, pattern, advance=False)
        m = pattern.match(self.lines[line - 1], at - 1) if at else None
        return m.group(0) if m else "[…:…:…]" if pattern is _STEP_SLICE_AT else "[…:…]"

    def _stepped_slice(self, base: Val, start: Val, stop: Val, step: Val, node) -> None:
        """A slice with a step other than none or 1: returns only for `x[::-1]` of a runtime list
        that a `{% for %}` runs over (directly, or through a `set` variable only loops use), which
        the loop runs from the end; CompileError for every other step."""
        text = self._slice_text(node, _STEP_SLICE_AT)
        if not (isinstance(step, K) and isinstance(step.value, int) and not isinstance(step.value, bool)):
            self.fail(node, f"a slice with a runtime step ({text}): Go templates have no stepped slices", _STEP_SLICE_AT)
        plain = all(isinstance(x, K) and x.value is None for x in (start, stop))
        kind = base.kind if isinstance(base, G) else None
        if kind == "strlist":
            self.fail(node, f"a slice with step {step.value} of a runtime list of strings ({text}): Go templates "
                            "have no stepped slices", _STEP_SLICE_AT)
        if step.value == -1 and plain and kind in _REVERSIBLE and id(node) in self._loop_iters:
            return
        if kind in ("str", "any") or isinstance(base, (Cat, Cond)) or _tagged(base, "__strmethod__"):
            what = "text" if kind != "any" else "a value that may be text"
            self.fail(node, f"a slice with step {step.value} of {what} ({text}): Go templates cannot "
                            "reverse or step through a string", _STEP_SLICE_AT)
        if step.value == -1 and plain and kind in _REVERSIBLE:
            self.fail(node, f"a reversed list ({text}) used other than as the list a for loop runs over: Go "
                            "templates can only loop over it from the end", _STEP_SLICE_AT)
        self.fail(node, f"a slice with step {step.value} ({text}): Go templates have no stepped slices; "
                        "only [::-1] of a list a for loop runs over is translated", _STEP_SLICE_AT)

    def _guarded_slice(self, base: G, lo: Val, hi: Val, node) -> G:
        """`base[lo:hi]` (step 1) that never errors on short input, as Python clamps. lo/hi: K
        (an int or None) or a G int of either sign. Strings count characters, as Jinja does,
        through fmt (Go's fmt measures width and precision in runes): `printf "%.5s"` keeps 5
        runes, and a bound that is negative, or may be at run time, is made a rune index from the
        rune count. Lists (and `any` values, an Approximation when they hold a string) go through
        `slice` behind `len` guards, a bound that may be negative made an index from `len`."""
        def neg(v):
            return isinstance(v, K) and isinstance(v.value, int) and v.value < 0

        def none(v):
            return isinstance(v, K) and v.value is None

        def signed(v):   # a runtime bound that may be negative
            return isinstance(v, G) and (not self._nonneg(v.go) or v.go in self._differences)

        def go(v):
            return str(v.value) if isinstance(v, K) else arg(v.go)
        if isinstance(lo, K) and lo.value == 0:
            lo = K(None)
        if none(lo) and none(hi):
            return base     # the whole value: still the message's content (a continued message ends in it)
        sv = arg(base.go)
        if base.kind == "str" and any(neg(v) or signed(v) for v in (lo, hi)):
            # a negative bound -k is the rune index max(r - k, 0), r the rune count: fmt pads
            # `printf "%*s" n s` (n = len s bytes) with n - r spaces, so r = len (slice s pad)
            r = self.tmp("runes")
            self.pre.append("{{ " + r + " := len (slice " + sv + " (len (slice (printf \"%*s\" (len " + sv + ") " +
                            sv + ") (len " + sv + ")))) }}")
            bounds = []
            for v in (lo, hi):
                if neg(v):
                    m, k = self.tmp("at"), str(-v.value)
                    self.pre.append("{{ " + m + " := 0 }}{{ if gt " + r + " " + k + " }}{{ " + m +
                                    " = len (slice (printf \"%*s\" " + r + ' "") ' + k + ") }}{{ end }}")
                    v = G(m, "int")
                elif signed(v):
                    v = self._python_index(v, r)
                bounds.append(v)
            lo, hi = bounds
        elif base.kind != "str" and (signed(lo) or signed(hi) or neg(lo) and not (none(hi) or neg(hi))):
            # list bounds of either sign (or a negative start with a stop that is not): Python's
            # index in 0..len for each, then the plain slice below
            n = self.tmp("len")
            self.pre.append("{{ " + n + " := len " + sv + " }}")
            lo, hi = [self._python_index(v, n) if signed(v) or neg(v) else v for v in (lo, hi)]
        if base.kind == "str":
            if isinstance(lo, K) and isinstance(hi, K) and lo.value is not None and hi.value is not None \
                    and hi.value <= lo.value:
                return G('""', "str", origin=None)
            if not none(hi):
                sv = (f'printf "%.{hi.value}s" {sv}' if isinstance(hi, K) else f'printf "%.*s" {go(hi)} {sv}')
                sv = "(" + sv + ")"
            if none(lo):
                out = sv[1:-1]
            else:
                cut = (f'printf "%.{lo.value}s" {sv}' if isinstance(lo, K) else f'printf "%.*s" {go(lo)} {sv}')
                out = f"slice {sv} (len ({cut}))"
            fin = _fin_of(base)
            if fin is None or self.capture is not None:
                return G(out, "str", origin=None)
            # a slice that keeps all of the final assistant message's content (it is short, or the
            # runtime bounds cover it) still ends the continued message, as the Jinja render does
            var = self.tmp("cut")
            self.pre.append("{{ " + var + " := " + out + " }}")
            return G(var, "str", origin=None, fin=f"and ({fin}) (eq (len {var}) (len {arg(base.go)}))")
        if base.kind == "any":
            self.approximate(node, "slicing a value of unknown type", "if it is a string, Go slices bytes, "
                             "Jinja characters (differs on non-ASCII text)", "[", probes=(NON_ASCII_PROBE,))
        cur = sv
        # negative start first (s[-a:-b] == s[-a:][:-b]), else the stop first (s[a:b] == s[:b][a:])
        steps = [("lo", lo), ("hi", hi)] if neg(lo) else [("hi", hi), ("lo", lo)]
        for which, v in steps:
            if none(v):
                continue
            out = self.tmp("sl")
            if which == "hi" and neg(v):
                k = -v.value
                code = ("{{ " + out + " := slice " + cur + " 0 0 }}{{ if gt (len " + cur + ") " + str(k) + " }}{{ " +
                        out + " = slice " + cur + " 0 (len (slice " + cur + " " + str(k) + ")) }}{{ end }}")
            elif which == "hi":
                code = ("{{ " + out + " := " + cur + " }}{{ if lt " + go(v) + " (len " + cur + ") }}{{ " + out +
                        " = slice " + cur + " 0 " + go(v) + " }}{{ end }}")
            elif neg(v):
                k = -v.value
                code = ("{{ " + out + " := " + cur + " }}{{ if gt (len " + cur + ") " + str(k) + " }}{{ " + out +
                        " = slice " + cur + " (len (slice " + cur + " " + str(k) + ")) }}{{ end }}")
            else:
                code = ("{{ " + out + " := slice " + cur + " 0 0 }}{{ if le " + go(v) + " (len " + cur + ") }}{{ " +
                        out + " = slice " + cur + " " + go(v) + " }}{{ end }}")
            self.pre.append(code)
            cur = out
        return G(cur, base.kind, origin=None)

    def _python_index(self, v: Val, n: str) -> G:
        """A slice bound `v` (K int or G int, either sign) as Python resolves it against a length
        `n` (a Go int variable): v when 0 <= v <= n, n above, n + v when -n <= v < 0, 0 below. The
        magnitude of a negative v is `len (printf "%*s" v "")`: fmt takes a negative width as the
        '-' flag with its absolute value (fmt/print.go)."""
        out = self.tmp("ix")
        if isinstance(v, G) and v.go in self._differences and not v.go.startswith("$"):
            # x - k in its cheap form errors when x < k: compute it exactly here
            saved, self._short_circuit = self._short_circuit, 0
            v = self.sub_int(*self._differences[v.go][:1], K(self._differences[v.go][1]))
            self._short_circuit = saved
        if isinstance(v, K):
            k = str(-v.value)
            self.pre.append("{{ " + out + " := 0 }}{{ if lt " + k + " " + n + " }}{{ " + out +
                            ' = len (slice (printf "%*s" ' + n + ' "") ' + k + ") }}{{ end }}")
            return G(out, "int")
        g = arg(v.go)
        k = f'(len (printf "%*s" {g} ""))'
        self.pre.append("{{ " + out + " := " + n + " }}{{ if lt " + g + " 0 }}{{ " + out + " = 0 }}{{ if lt " + k +
                        " " + n + " }}{{ " + out + ' = len (slice (printf "%*s" ' + n + ' "") ' + k +
                        ") }}{{ end }}{{ else if lt " + g + " " + n + " }}{{ " + out + " = " + g + " }}{{ end }}")
        return G(out, "int")

    def ev_Slice(self, node, scope):
        """A bare slice outside `[]` does not occur; CompileError."""
        self.fail(node, "bare slice")

    def ev_CondExpr(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a if test else b`:
        folded when the test is known, else a Cond."""
        c = self.truth(self.ev(node.test, scope))
        if isinstance(c, K):
            if c.value:
                return self.ev(node.expr1, scope)
            return self.ev(node.expr2, scope) if node.expr2 is not None else K(UNDEF)
        cvar = self.tmp("c")
        self.pre.append("{{ " + cvar + " := " + c.go + " }}")
        a = self.ev(node.expr1, scope)
        b = self.ev(node.expr2, scope) if node.expr2 is not None else K(UNDEF)
        return Cond(cvar, a, b)

    def ev_And(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a and b` (Python's: the
        deciding operand's value)."""
        return self.logic(node, scope, "and")

    def ev_Or(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a or b` (Python's: the
        deciding operand's value)."""
        return self.logic(node, scope, "or")

    def logic(self, node, scope, op):
        """`and`/`or` with Python's value semantics: folded when the left side's truth is known,
        else a Cond on it."""
        left = self.ev(node.left, scope)
        lt = self.truth(left)
        if isinstance(lt, K):
            if op == "and":
                return self.ev(node.right, scope) if lt.value else left
            return left if lt.value else self.ev(node.right, scope)
        self._short_circuit += 1
        try:
            right = self.ev(node.right, scope)
        finally:
            self._short_circuit -= 1
        if not (isinstance(left, G) and left.kind == "bool"):
            # a value, not only a condition: `x or y` is x when x is true, else y
            return self.cond_val(lt, left, right) if op == "or" else self.cond_val(lt, right, left)
        rt = self.truth(right)
        if isinstance(rt, K):
            if op == "and":
                return lt if rt.value else K(False)
            return K(True) if rt.value else lt
        return G(f"{op} {arg(lt.go)} {arg(rt.go)}", "bool")

    def ev_Not(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `not x`."""
        v = self.truth(self.ev(node.node, scope))
        if isinstance(v, K):
            return K(not v.value)
        return G(f"not {arg(v.go)}", "bool")

    def ev_Neg(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `-x` (known numbers
        only)."""
        v = self.ev(node.node, scope)
        if isinstance(v, K):
            return self.const_op("-", _UNARY, v.value, node)
        self.fail(node, "negative runtime number", "-")

    def ev_Pos(self, node, scope):
        """`+x` of a known number (Python's unary plus)."""
        v = self.ev(node.node, scope)
        if isinstance(v, K):
            return self.const_op("+", _UNARY, v.value, node)
        self.fail(node, "unary + of a runtime value", "+")

    def ev_Pow(self, node, scope):
        """`a ** b` of known numbers, folded (Jinja allows it; Go templates have no power)."""
        return self._folded(node, scope, "**", "** of runtime values (Go templates have no arithmetic)")

    def _folded(self, node, scope, op: str, runtime: str) -> K:
        """The constant `a op b` of a binary node whose sides are known numbers (const_op); a
        CompileError `runtime` at the operator otherwise."""
        a, b = self.ev(node.left, scope), self.ev(node.right, scope)
        if isinstance(a, K) and isinstance(b, K):
            return self.const_op(op, a.value, b.value, node)
        self.fail(node, runtime, op)

    def const_op(self, op: str, a, b, node) -> K:
        """`a op b` (`op b` when `a` is _UNARY and op is unary - or +) of constants, folded as Python
        (Jinja's sandbox) computes it. Bounded: a power whose result would have more than
        MAX_CONST digits is refused. A CompileError at the operator when Python raises
        (TypeError, ZeroDivisionError): the template fails there in Jinja too."""
        import operator

        ops = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
               "//": operator.floordiv, "%": operator.mod, "**": operator.pow}
        shown = f"{op}{_pyrepr(b)}" if a is _UNARY else f"{_pyrepr(a)} {op} {_pyrepr(b)}"
        if op == "**" and isinstance(a, (int, float)) and isinstance(b, (int, float)) \
                and not isinstance(a, bool) and abs(a) > 1 and b > 0:
            import math
            if b * math.log10(abs(a)) > 4000:   # Python refuses to print an int of more than 4,300 digits
                self.fail(node, f"{shown} of constants has more than 4,000 digits; refusing to compute it", op)
        try:
            if a is _UNARY:
                return K(-b if op == "-" else +b)
            return K(ops[op](a, b))
        except (TypeError, ArithmeticError, ValueError) as err:
            self.fail(node, f"{shown} of constants fails in Jinja too ({type(err).__name__}: {err}); every render "
                            "that reaches it raises", op, raises=True)

    def ev_Add(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a + b`: numbers, string
        concatenation (Cat), list concatenation of known lists."""
        a, b = self.ev(node.left, scope), self.ev(node.right, scope)
        if isinstance(a, K) and isinstance(b, K):
            if a.value is UNDEF or b.value is UNDEF:
                self.approximate(node, "+ with an undefined value (Jinja raises UndefinedError)",
                                 "the Go template treats it as empty text", "+")
                return K(_pystr(a.value) + _pystr(b.value))
            try:
                r = a.value + b.value
            except TypeError:
                self.fail(node, "adding incompatible constants")
            if hasattr(r, "__len__") and len(r) > 10 * MAX_CONST:
                self.fail(node, "a constant longer than 1,000,000", "+")
            return K(r)
        if (isinstance(a, K) and a.value is UNDEF) or (isinstance(b, K) and b.value is UNDEF):
            self.approximate(node, "+ with an undefined value (Jinja raises UndefinedError)",
                             "the Go template treats it as empty text", "+")
        if self._is_int(a) and self._is_int(b):
            return self.add_int(a, b)
        if isinstance(a, G) and a.kind == "strlist" and isinstance(b, K) and isinstance(b.value, list):
            parts = [a.go]
            for x in b.value:
                parts += ['"\\xfe"', arg(self.materialize(x if isinstance(x, Val) else K(x))), '"\\xff"']
            return G("print " + " ".join(parts), "strlist")
        return Cat([a, b])

    def ev_Concat(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a ~ b ~ ...`: a Cat of
        the parts as strings."""
        vals = [self.ev(x, scope) for x in node.nodes]
        out = []
        for v in vals:
            if isinstance(v, K):
                out.append(K(_pystr(v.value)))
            else:
                out.append(v)
        return Cat(out)

    def ev_Sub(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a - b` for ints."""
        a, b = self.ev(node.left, scope), self.ev(node.right, scope)
        if isinstance(a, K) and isinstance(b, K):
            return self.const_op("-", a.value, b.value, node)
        for x in (a, b):
            if isinstance(x, K) and not isinstance(x.value, (int, float)):
                self.fail(node, f"{_pyrepr(x.value)} in a subtraction: Jinja raises there (TypeError: only numbers "
                                "subtract)", "-", raises=True)
            if isinstance(x, K) and not isinstance(x.value, int):
                self.fail(node, f"{_pyrepr(x.value)} with a runtime value in a subtraction: only whole numbers are "
                                "translated", "-")
        return self.sub_int(a, b)

    def ev_Mul(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a * b` of known values
        (a string or list repeated at most MAX_CONST times). CompileError for runtime values."""
        a, b = self.ev(node.left, scope), self.ev(node.right, scope)
        if isinstance(a, K) and isinstance(b, K):
            n = b.value if isinstance(b.value, int) else a.value if isinstance(a.value, int) else 1
            if isinstance(n, int) and abs(n) > MAX_CONST and not all(isinstance(x.value, (int, float))
                                                                     for x in (a, b)):
                self.fail(node, f"a constant repeated {n:,} times", "*")
            return self.const_op("*", a.value, b.value, node)
        self.fail(node, "multiplication of runtime values", "*")

    def ev_Mod(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a % b`: known values
        (numbers, %-formatting), and `x % k` of a runtime int for k up to 9 (a digit picked from a
        string by `slice`). CompileError otherwise."""
        a, b = self.ev(node.left, scope), self.ev(node.right, scope)
        if isinstance(a, K) and isinstance(b, K):
            if isinstance(a.value, str) and (isinstance(b.value, (list, tuple, dict)) or len(a.value) > MAX_CONST):
                self.fail(node, "%-formatting a constant with a list, a dict or a long format is not translated", "%")
            return self.const_op("%", a.value, b.value, node)
        if isinstance(b, K) and isinstance(b.value, int) and 0 < b.value <= 9 and self._is_int(a):
            # x % k: the character at position x of "0 1 .. k-1 0 1 .." is a digit; its length is 1,
            # so compare through a string: we return a str-kind value and let Compare handle ints
            pattern = "".join(str(i % b.value) for i in range(4096))
            if self._nonneg(a.go):
                return G(f"slice {golit(pattern)} {arg(a.go)} ({self.add1(a.go)})", "digit")
            # x may be negative (x - k, a -1 sentinel): Python's (-n) % k is read from a second
            # string at n = |x| (fmt takes a negative width as the '-' flag with its absolute value)
            neg = "".join(str((-i) % b.value) for i in range(4096))
            n, d = f'len (printf "%*s" {arg(a.go)} "")', self.tmp("mod")
            self.pre.append("{{ " + d + ' := "" }}{{ if lt ' + arg(a.go) + " 0 }}{{ " + d + " = slice " + golit(neg) +
                            " (" + n + ") (" + self._plus(f"({n})", 1) + ") }}{{ else }}{{ " + d + " = slice " +
                            golit(pattern) + " " + arg(a.go) + " (" + self.add1(a.go) + ") }}{{ end }}")
            return G(d, "digit")
        self.fail(node, "modulo of runtime values", "%")

    def ev_Div(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `a / b` (known numbers
        only)."""
        return self._folded(node, scope, "/", "division of runtime values")

    def ev_FloorDiv(self, node, scope):
        """`a // b` of known numbers (Python's floor division; it was computed as `/`)."""
        return self._folded(node, scope, "//", "floor division of runtime values")

    def _is_int(self, v: Val) -> bool:
        if isinstance(v, K):
            return isinstance(v.value, int) and not isinstance(v.value, bool)
        return isinstance(v, G) and v.kind == "int"

    def ev_Compare(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 comparison chain (`==`,
        `!=`, `<`, ..., `in`, `not in`)."""
        left = self.ev(node.expr, scope)
        result: Val | None = None
        for op in node.ops:
            right = self.ev(op.expr, scope)
            r = self.compare(left, op.op, right, node)
            result = r if result is None else self.logic_vals(result, r)
            left = right
        return result

    def logic_vals(self, a: Val, b: Val) -> Val:
        """`a and b` of two bool values (folded when one is known)."""
        if isinstance(a, K):
            return b if a.value else a
        if isinstance(b, K):
            return a if b.value else b
        return G(f"and {arg(a.go)} {arg(b.go)}", "bool")

    def compare(self, a: Val, op: str, b: Val, node) -> Val:
        """One comparison `a OP b`: folded when both are known, else Go's eq/ne/lt/... (strings and
        ints), `in` through `contains`."""
        if isinstance(a, K) and isinstance(b, K):
            x, y = a.value, b.value
            x = None if x is UNDEF else x
            y = None if y is UNDEF else y
            if op in ("in", "notin") and y is None:
                return K(op == "notin")
            try:
                return K({"eq": lambda: x == y, "ne": lambda: x != y, "lt": lambda: x < y,
                          "lteq": lambda: x <= y, "gt": lambda: x > y, "gteq": lambda: x >= y,
                          "in": lambda: x in y, "notin": lambda: x not in y}[op]())
            except TypeError:
                self.fail(node, "comparison of incompatible constants")
        if op in ("in", "notin"):
            r = self.contains(a, b, node)
            return _negate(r) if op == "notin" else r
        if op in ("eq", "ne"):
            r = self.equals(a, b, node)
            return _negate(r) if op == "ne" else r
        goop = {"lt": "lt", "lteq": "le", "gt": "gt", "gteq": "ge"}[op]
        if (self._is_int(a) or self._is_any(a)) and (self._is_int(b) or self._is_any(b)):
            return G(f"{goop} {self._go_int(a)} {self._go_int(b)}", "bool")
        self.fail(node, "ordering comparison of non-numbers")

    def _go_int(self, v: Val) -> str:
        if isinstance(v, K):
            return str(v.value)
        if isinstance(v, G):
            return arg(v.go)
        return arg(self.materialize(v))

    def _is_any(self, v: Val) -> bool:
        return isinstance(v, G) and v.kind == "any" or isinstance(v, Cond) and _kind_of(v) in ("int", "any")

    def equals(self, a: Val, b: Val, node) -> Val:
        """`a == b`: folded when both are known (or the string's possible values decide it), else
        Go's `eq`."""
        if isinstance(a, K) and isinstance(b, K):
            x, y = a.value, b.value
            x = None if x is UNDEF else x
            y = None if y is UNDEF else y
            try:
                return K(bool(x == y))
            except Exception:  # noqa: BLE001
                return K(False)
        if isinstance(a, K):
            a, b = b, a
        if isinstance(a, G) and a.kind == "digit":
            if isinstance(b, K) and isinstance(b.value, int):
                return G(f"eq {arg(a.go)} {golit(str(b.value))}", "bool")
        if isinstance(a, Cond) or isinstance(b, Cond):
            return self.enumerate_bool(lambda: None, a, b, node)
        if isinstance(b, K):
            y = b.value
            if isinstance(a, G):
                if a.kind in ("str",) or (a.kind == "any" and isinstance(y, str)):
                    if y is None or y is UNDEF:
                        return K(False) if a.kind == "str" else G(f"not {arg(a.go)}", "bool")
                    if not isinstance(y, str):
                        return K(False)
                    if a.domain and y not in a.domain:
                        pass
                    return G(f"eq {arg(a.go)} {golit(y)}", "bool")
                if a.kind == "int":
                    if isinstance(y, bool) or not isinstance(y, int):
                        return K(False)
                    return G(f"eq {arg(a.go)} {y}", "bool")
                if a.kind == "bool":
                    if y is True:
                        return a
                    if y is False:
                        return G(f"not {arg(a.go)}", "bool")
                    return K(False)
                if y is None or y is UNDEF:
                    return G(f"not {arg(a.go)}", "bool")
                return K(False)
            if isinstance(a, Cat):
                return G(f"eq {arg(self.materialize(a))} {golit(_pystr(y))}", "bool")
        if isinstance(a, G) and isinstance(b, G):
            if a.kind == b.kind and a.kind in ("str", "int", "bool"):
                return G(f"eq {arg(a.go)} {arg(b.go)}", "bool")
            if a.kind == b.kind and a.kind == "msg":
                return G(f"eq {arg(a.go)} {arg(b.go)}", "bool")
            if a.kind in ("str", "any") and b.kind in ("str", "any"):
                return G(f"eq {arg(a.go)} {arg(b.go)}", "bool")
        if isinstance(a, Cat) or isinstance(b, Cat):
            return G(f"eq {arg(self.materialize(a))} {arg(self.materialize(b))}", "bool")
        self.fail(node, "comparison of values of different kinds")

    def enumerate_bool(self, _unused, a: Val, b: Val, node) -> Val:
        """`==` where one side is a Cond: each branch compared, joined on the Cond's Go bool."""
        if isinstance(a, Cond):
            x, y = self.equals(a.a, b, node), self.equals(a.b, b, node)
        else:
            x, y = self.equals(a, b.a, node), self.equals(a, b.b, node)
            a = b
        xs = "true" if isinstance(x, K) and x.value else ("false" if isinstance(x, K) else arg(x.go))
        ys = "true" if isinstance(y, K) and y.value else ("false" if isinstance(y, K) else arg(y.go))
        if xs == ys:
            return x
        return G(f"or (and {a.cond} {xs}) (and (not {a.cond}) {ys})", "bool")

    def contains(self, needle: Val, hay: Val, node) -> Val:
        """`needle in hay`: a known list or dict, a substring test on a Go string (a byte loop), a
        key of a message or tool."""
        if isinstance(hay, K):
            items = hay.value
            if isinstance(items, dict):
                items = list(items)
            if items is UNDEF or items is None:
                return K(False)
            if isinstance(items, str):
                self.fail(node, "`in` a constant string with a runtime needle")
            alts = []
            for it in items:
                r = self.equals(needle, it if isinstance(it, Val) else K(it), node)
                if isinstance(r, K):
                    if r.value:
                        return K(True)
                    continue
                alts.append(arg(r.go))
            if not alts:
                return K(False)
            if isinstance(needle, G) and all(isinstance(it, str) for it in items):
                return G(f"eq {arg(needle.go)} " + " ".join(golit(i) for i in items), "bool")
            return G("or " + " ".join(alts) if len(alts) > 1 else alts[0], "bool")
        if isinstance(hay, G) and hay.kind in ("msg", "toolcall", "toolfn", "tool", "fndef", "params", "prop") \
                and isinstance(needle, K):
            v = self.getattr(hay, needle.value, node)
            if isinstance(v, K):
                return K(v.value is not UNDEF)
            if getattr(v, "maybe_empty_is_undef", False):
                return G(arg(v.go), "bool")
            return K(True)
        if isinstance(hay, Cond):
            if isinstance(needle, K) and isinstance(needle.value, str) and needle.value and _text_leaves(hay):
                # one search of the text whichever branch chose it, not one byte loop per branch
                # (each loop is template size that Ollama's Template.Vars walks on every render)
                return self.substring(G(self.materialize(hay), "str"), needle.value)
            return self.truth(self._cond_map(hay, lambda h: self.contains(needle, h, node)))
        if isinstance(hay, G) and hay.kind == "strlist":
            return self.contains(Cat([K(STRLIST_OPEN), needle, K(STRLIST_CLOSE)]), G(hay.go, "str"), node)
        if isinstance(hay, G) and hay.kind in ("strs", "list"):
            found, x = self.tmp("in"), self.tmp("x")
            ng = self.materialize(needle)
            self.pre.append("{{ " + found + " := false }}{{ range " + x + " := " + hay.go + " }}{{ if eq " + x + " " +
                            arg(ng) + " }}{{ " + found + " = true }}{{ break }}{{ end }}{{ end }}")
            return G(found, "bool")
        if isinstance(hay, G) and hay.kind in ("args", "props") and isinstance(needle, K):
            return G(f"index {arg(hay.go)} {golit(needle.value)}", "bool")
        if isinstance(needle, K) and isinstance(needle.value, str):
            s = self.as_str(hay, node)
            return self.substring(s, needle.value)
        if isinstance(hay, G) and hay.kind in ("str", "any") or isinstance(hay, Cat):
            s = self.as_str(hay, node)
            nv, sv, found = self.tmp("n"), self.tmp("s"), self.tmp("in")
            self.pre.append(
                "{{ " + nv + " := " + self.materialize(needle) + " }}{{ " + sv + " := " + s.go + " }}{{ " + found +
                " := false }}{{ range $_p := len " + sv + " }}{{ $_e := len (printf \"%*s%*s\" $_p \"\" (len " + nv +
                ") \"\") }}{{ if and (le $_e (len " + sv + ")) (eq (slice " + sv + " $_p $_e) " + nv + ") }}{{ " + found +
                " = true }}{{ break }}{{ end }}{{ end }}")
            return G(found, "bool")
        self.fail(node, "unsupported `in` test")

    def as_str(self, v: Val, node) -> G:
        """The value as a Go string expression (a Cat printed into a variable, ints and bools
        formatted as Python prints them). CompileError for what has no string form here."""
        if isinstance(v, G) and v.kind in ("str", "any"):
            return v
        if isinstance(v, Cat):
            parts = [p for p in _flatten(v.parts) if not (isinstance(p, K) and _pystr(p.value) == "")]
            if len(parts) == 1 and isinstance(parts[0], G) and parts[0].kind in ("str", "any"):
                return parts[0]
            # text ending with a message's content still ends where a continued final message ends
            return G(self.materialize(v), "str", fin=_fin_of(parts[-1]) if parts else None)
        return G(self.materialize(v), "str")

    # filtered lists (selectattr / rejectattr over messages, tools, tool calls) ------------------------
    _ELEM = {"msgs": "msg", "tools": "tool", "toolcalls": "toolcall"}

    def _predicate(self, filtered: K, elem_go: str, node) -> Val:
        _, base, preds = filtered.value
        elem = G(elem_go, self._ELEM[base.kind])
        out: Val = K(True)
        for attr, test, targs, negate in preds:
            v = self.getattr(elem, attr, node)
            r = self.truth(self.test(test, v, list(targs), node) if test else v)
            if negate:
                r = _negate(r)
            out = self.logic_vals(out, r)
        return out

    def _filtered_pick(self, filtered: K, last: bool, node) -> Val:
        _, base, _ = filtered.value
        e, out = self.tmp("e"), self.tmp("v")
        pred = self._predicate(filtered, e, node)
        cond = "true" if isinstance(pred, K) and pred.value else ("false" if isinstance(pred, K) else pred.go)
        pre = self.flush()
        self.pre.append(pre + "{{ " + out + " := 0 }}{{ if " + base.go + " }}{{ " + out + " = index " + arg(base.go) +
                        " 0 }}{{ end }}{{ range " + e + " := " + base.go + " }}{{ if " + cond + " }}{{ " + out +
                        " = " + e + " }}" + ("" if last else "{{ break }}") + "{{ end }}{{ end }}")
        return G(out, self._ELEM[base.kind])

    def _filtered_count(self, filtered: K, node) -> Val:
        _, base, _ = filtered.value
        e, n = self.tmp("e"), self.tmp("n")
        pred = self._predicate(filtered, e, node)
        cond = "true" if isinstance(pred, K) and pred.value else ("false" if isinstance(pred, K) else pred.go)
        pre = self.flush()
        self.pre.append(pre + "{{ " + n + ' := "" }}{{ range ' + e + " := " + base.go + " }}{{ if " + cond +
                        " }}{{ " + n + ' = print ' + n + ' "x" }}{{ end }}{{ end }}')
        return G(f"len {n}", "int")

    def _filtered_for(self, filtered: K, node) -> Val:
        self.fail(node, "looping over selectattr()/rejectattr() of a runtime list is not supported", "for")

    # byte loops over strings --------------------------------------------------------------------
    def substring(self, s: G, needle: str) -> G:
        """A Go bool: whether the Go string `s` contains `needle`, by a loop over its bytes (`range
        $i := len $s`, Go >= 1.22)."""
        if not needle:
            return G("true", "bool")
        sv, found = self.tmp("s"), self.tmp("in")
        n = len(needle.encode())
        b0 = needle.encode()[0]
        gate, end = self._html_gate(sv, needle)
        self.pre.append(
            "{{ " + sv + " := " + s.go + " }}{{ " + found + " := false }}" + gate +
            "{{ range $_p := len " + sv + " }}{{ if eq (index " + sv + " $_p) " + str(b0) + " }}"
            "{{ if and (le (" + self._plus("$_p", n) + ") (len " + sv +
            ")) (eq (slice " + sv + " $_p (" + self._plus("$_p", n) + ")) " + golit(needle) +
            ") }}{{ " + found + " = true }}{{ break }}{{ end }}{{ end }}{{ end }}" + end)
        return G(found, "bool")

    # the bytes Go's `html` (HTMLEscapeString, Go 1.26 text/template funcs.go) replaces by longer text
    _HTML_ESCAPED = frozenset("<>&'\"\0")

    def _html_gate(self, sv: str, needle: str) -> tuple[str, str]:
        """An `{{ if }}`/`{{ end }}` pair around a byte loop searching Go string var `sv` for
        `needle`, skipping the loop when `needle` holds a byte that `html` escapes (< > & ' " NUL,
        as special tokens such as `<think>` do) and `sv` holds none: then `html` leaves `sv` as long
        as it was. Exact, not a heuristic: `html` replaces each of those bytes by longer text and
        copies every other byte (invalid UTF-8 too). A template renders each message's content
        once per loop over it; one `html` call instead of 2-4 function calls per byte is what keeps
        a converted 4-turn render under 1 ms in Ollama (bench/bench_convert.py). ("", "") when the
        needle has no such byte."""
        if not self._HTML_ESCAPED.intersection(needle):
            return "", ""
        return "{{ if ne (len (html " + sv + ")) (len " + sv + ") }}", "{{ end }}"

    def _plus(self, go: str, n: int) -> str:
        return f'len (printf "%*s%s" {go} "" {golit("x" * n)})'

    def find(self, s: str, needle: str, last: bool) -> str:
        """Go int var: byte offset of the first/last `needle` in Go string var s, or -1."""
        pos = self.tmp("at")
        n = len(needle.encode())
        body = ("{{ if eq (index " + s + " $_p) " + str(needle.encode()[0]) + " }}"
                "{{ if and (le (" + self._plus("$_p", n) + ") (len " + s + ")) (eq (slice " + s +
                " $_p (" + self._plus("$_p", n) + ")) " + golit(needle) + ") }}{{ " + pos + " = $_p }}" +
                ("" if last else "{{ break }}") + "{{ end }}{{ end }}")
        gate, end = self._html_gate(s, needle)
        self.pre.append("{{ " + pos + " := -1 }}" + gate + "{{ range $_p := len " + s + " }}" + body + "{{ end }}" + end)
        return pos

    def split_pick(self, s: G, sep: str, which: str) -> G:
        """s.split(sep)[0] (which='first') or [-1] (which='last')."""
        sv = self.tmp("s")
        self.pre.append("{{ " + sv + " := " + s.go + " }}")
        out = self.tmp("s")
        if which == "first":
            at = self.find(sv, sep, last=False)
            self.pre.append("{{ " + out + " := " + sv + " }}{{ if ge " + at + " 0 }}{{ " + out +
                            " = slice " + sv + " 0 " + at + " }}{{ end }}")
        elif which.startswith("after_first"):
            at = self.find(sv, sep, last=False)
            self.pre.append("{{ " + out + " := " + (sv if which.endswith("or_all") else '""') + " }}{{ if ge " + at +
                            " 0 }}{{ " + out + " = slice " + sv + " (" + self._plus(at, len(sep.encode())) +
                            ") }}{{ end }}")
        else:
            at = self.find(sv, sep, last=True)
            self.pre.append("{{ " + out + " := " + sv + " }}{{ if ge " + at + " 0 }}{{ " + out +
                            " = slice " + sv + " (" + self._plus(at, len(sep.encode())) + ") }}{{ end }}")
        return G(out, "str", origin=s.origin, fin=s.fin)

    def change_case(self, s: G, upper: bool, node) -> G:
        """str.upper()/lower() for ASCII letters, built byte by byte: a letter's byte indexes a
        table whose entry there is the other case (printed with %c); other bytes are copied."""
        self.approximate(node, f"| {'upper' if upper else 'lower'} of runtime text",
                         "only ASCII letters change case (Python also changes é, ß, …)",
                         "upper" if upper else "lower", probes=(NON_ASCII_PROBE,))
        lo, hi = (97, 122) if upper else (65, 90)
        table = "".join(chr(i - 32) if upper and lo <= i <= hi else chr(i + 32) if not upper and lo <= i <= hi
                        else " " for i in range(hi + 1))
        sv, out, b = self.tmp("s"), self.tmp("case"), self.tmp("b")
        self.pre.append(
            "{{ " + sv + " := " + s.go + " }}{{ " + out + ' := "" }}{{ range $_p := len ' + sv + " }}{{ " + b +
            " := index " + sv + " $_p }}{{ if and (ge " + b + " " + str(lo) + ") (le " + b + " " + str(hi) + ") }}{{ " +
            out + " = print " + out + ' (printf "%c" (index ' + golit(table) + " " + b + ")) }}{{ else }}{{ " + out +
            " = print " + out + " (slice " + sv + " $_p (" + self._plus("$_p", 1) + ")) }}{{ end }}{{ end }}")
        return G(out, "str")

    def split_list(self, split: K, node) -> G:
        """`s.split(sep[, maxsplit])` of runtime text as a list Go can loop over: a string of
        0xFE item 0xFF entries (kind strlist, STRLIST_OPEN), cut at each separator found left to right:
        exact, no item of UTF-8 text can hold those bytes."""
        _, s, sep, maxsplit = split.value
        if not isinstance(sep, str) or not sep:
            self.fail(node, "split() on whitespace (no separator) of runtime text is not supported", "split")
        sv, out, st, nx, e, cnt = (self.tmp(x) for x in ("s", "sl", "st", "nx", "e", "cnt"))
        width = len(sep.encode())
        more = "" if maxsplit is None or maxsplit < 0 else f" (lt (len {cnt}) {int(maxsplit)})"
        gate, end = self._html_gate(sv, sep)
        self.pre.append(
            "{{ " + sv + " := " + s.go + " }}{{ " + out + ' := "\\xfe" }}{{ ' + st + " := 0 }}{{ " + nx +
            " := 0 }}{{ " + cnt + ' := "" }}' + gate + "{{ range $_p := len " + sv + " }}{{ if and (ge $_p " + nx + ")" + more +
            " }}{{ " + e + " := " + self._plus("$_p", width) + " }}{{ if le " + e + " (len " + sv + ") }}{{ if eq (slice " +
            sv + " $_p " + e + ") " + golit(sep) + " }}{{ " + out + " = print " + out + " (slice " + sv + " " + st +
            ' $_p) "\\xff\\xfe" }}{{ ' + st + " = " + e + " }}{{ " + nx + " = " + e + " }}{{ " + cnt + " = print " +
            cnt + ' "x" }}{{ end }}{{ end }}{{ end }}{{ end }}' + end + '{{ ' + out + " = print " + out + " (slice " + sv + " " +
            st + ') "\\xff" }}')
        return G(out, "strlist", origin=s.origin)

    def replace_text(self, s: G, old: str, new: str, count: int | None, node) -> G:
        """`s.replace(old, new[, count])` (and `| replace`) of runtime text with constant arguments,
        exactly: Python replaces non-overlapping occurrences left to right ("aaa" -> "ba" for "aa"
        -> "b") and never rescans the replacement, which is `new.join(s.split(old, count))`: the
        exact split_list, joined. Byte matching finds what character matching finds (UTF-8 is
        self-synchronizing). The result ends the continued final message only when nothing was
        replaced (else transformers' continue_final_message cannot find the message and Jinja
        raises). CompileError for an empty `old` (Python inserts `new` between characters)."""
        if not old:
            self.fail(node, "replace() of runtime text with an empty needle (Python inserts the replacement "
                            "between characters) is not translated", "replace")
        if count == 0:
            return s
        for text in (old, new):
            if text and text not in self.probe_texts:
                self.probe_texts.append(text)
        sv = self.tmp("s")
        self.pre.append("{{ " + sv + " := " + s.go + " }}")
        src = G(sv, "str")
        out = self.strlist_join(self.split_list(K(("__split__", src, old, -1 if count is None else count)), node),
                                new)
        fin = _fin_of(s)
        return G(out.go, "str", fin=None if fin is None else f"and ({fin}) (eq {out.go} {sv})")

    def strlist_slice(self, sl: G, a: int, b: int | None) -> G:
        """Items a..b-1 of a strlist (b None: to the end), as a strlist."""
        out, cnt, st = self.tmp("sl"), self.tmp("cnt"), self.tmp("st")
        keep = f"ge (len {cnt}) {a}" if b is None else f"and (ge (len {cnt}) {a}) (lt (len {cnt}) {b})"
        self.pre.append(
            "{{ " + out + ' := "" }}{{ ' + cnt + ' := "" }}{{ ' + st + " := 0 }}{{ range $_p := len " + sl.go +
            " }}{{ if eq (index " + sl.go + " $_p) 254 }}{{ " + st + " = $_p }}{{ else if eq (index " + sl.go +
            " $_p) 255 }}{{ if " + keep + " }}{{ " + out + " = print " + out + " (slice " + sl.go + " " + st +
            " (" + self._plus("$_p", 1) + ")) }}{{ end }}{{ " + cnt + " = print " + cnt + ' "x" }}{{ end }}{{ end }}')
        return G(out, "strlist")

    def strlist_join(self, sl: G, sep: str) -> G:
        """The items of a strlist joined with sep, as text."""
        out, cnt, st = self.tmp("join"), self.tmp("cnt"), self.tmp("st")
        self.pre.append(
            "{{ " + out + ' := "" }}{{ ' + cnt + ' := "" }}{{ ' + st + " := 0 }}{{ range $_p := len " + sl.go +
            " }}{{ if eq (index " + sl.go + " $_p) 254 }}{{ " + st + " = " + self._plus("$_p", 1) + " }}{{ else if eq "
            "(index " + sl.go + " $_p) 255 }}{{ if " + cnt + " }}{{ " + out + " = print " + out + " " + golit(sep) +
            " }}{{ end }}{{ " + out + " = print " + out + " (slice " + sl.go + " " + st + " $_p) }}{{ " + cnt +
            " = print " + cnt + ' "x" }}{{ end }}{{ end }}')
        return G(out, "str")

    def strlist_pick(self, sl: G, k: int) -> G:
        """Item k of a strlist (negative: from the end; "" when there is none: Jinja raises)."""
        cur, out, cnt, total = self.tmp("item"), self.tmp("v"), self.tmp("cnt"), self.tmp("n")
        code = "{{ " + cur + ' := 0 }}{{ ' + out + ' := "" }}{{ ' + cnt + ' := "" }}'
        if k < 0:
            code += ("{{ " + total + ' := "" }}{{ range $_p := len ' + sl.go + " }}{{ if eq (index " + sl.go +
                     " $_p) 255 }}{{ " + total + " = print " + total + ' "x" }}{{ end }}{{ end }}')
            want = f"(len (slice {total} {-k}))"
            guard = "{{ if ge (len " + total + ") " + str(-k) + " }}"
        else:
            want, guard = str(k), ""
        code += (guard + "{{ range $_p := len " + sl.go + " }}{{ if eq (index " + sl.go + " $_p) 254 }}{{ " + cur +
                 " = " + self._plus("$_p", 1) + " }}{{ else if eq (index " + sl.go + " $_p) 255 }}{{ if eq (len " +
                 cnt + ") " + want + " }}{{ " + out + " = slice " + sl.go + " " + cur + " $_p }}{{ end }}{{ " + cnt +
                 " = print " + cnt + ' "x" }}{{ end }}{{ end }}' + ("{{ end }}" if guard else ""))
        self.pre.append(code)
        return G(out, "str")

    def strip(self, s: G, chars: str | None, left: bool, right: bool, node) -> G:
        """`s.strip(chars)` / lstrip / rstrip (and `| trim`) on a Go string by byte loops; ASCII
        whitespace only (an Approximation for message content, where Python also strips Unicode
        spaces)."""
        if chars is None:
            chars = " \t\n\r\x0b\x0c"
            if s.origin:
                self.approximate(node, "trim/strip of message content",
                                 "the Go template strips ASCII whitespace only (Python also strips "
                                 "Unicode spaces such as U+00A0 and U+3000)", "trim" if "trim" in
                                 self._line(node) else "strip")
        sv = self.tmp("s")
        a, b = self.tmp("a"), self.tmp("b")
        if all(ord(c) < 128 for c in chars):
            # bytes compared as numbers (Go's index of a string is a byte); no arithmetic needed
            codes = " ".join(str(ord(c)) for c in chars)
            code = "{{ " + sv + " := " + s.go + " }}{{ " + a + " := 0 }}{{ " + b + " := len " + sv + " }}"
            # fast path: most text has no surrounding whitespace
            edge = []
            if left:
                edge.append(f"(eq (index {sv} 0) {codes})")
            if right:
                edge.append(f"(eq (index {sv} (len (slice {sv} 1))) {codes})")
            cond = edge[0] if len(edge) == 1 else "or " + " ".join(edge)
            code += "{{ if " + sv + " }}{{ if " + cond + " }}"
            if left:
                code += ("{{ " + a + " = " + b + " }}{{ range $_p := len " + sv + " }}{{ if not (eq (index " + sv +
                         " $_p) " + codes + ") }}{{ " + a + " = $_p }}{{ break }}{{ end }}{{ end }}")
            if right:
                code += ("{{ range $_r := len " + sv + " }}{{ if le " + b + " " + a + " }}{{ break }}{{ end }}"
                         "{{ $_q := len (slice (slice " + sv + " 0 " + b + ") 1) }}{{ if eq (index " + sv +
                         " $_q) " + codes + " }}{{ " + b + " = $_q }}{{ else }}{{ break }}{{ end }}{{ end }}")
            code += "{{ end }}{{ end }}{{ if lt " + b + " " + a + " }}{{ " + b + " = " + a + " }}{{ end }}"
            self.pre.append(code)
            return G(f"slice {sv} {a} {b}", "str", origin=s.origin, fin=s.fin)
        ws = "(eq (slice " + sv + " $_p (" + self._plus("$_p", 1) + ")) " + " ".join(golit(c) for c in chars) + ")"
        code = "{{ " + sv + " := " + s.go + " }}{{ " + a + " := 0 }}{{ " + b + " := len " + sv + " }}"
        if left:
            code += ("{{ range $_p := len " + sv + " }}{{ if " + ws + " }}{{ " + a + " = " +
                     self._plus("$_p", 1) + " }}{{ else }}{{ break }}{{ end }}{{ end }}")
        if right:
            rws = ws.replace("$_p", "$_q")
            code += ("{{ range $_r := len " + sv + " }}{{ $_q := len (slice " + sv + " (" +
                     self._plus("$_r", 1) + ")) }}{{ if " + rws + " }}{{ " + b + " = $_q }}"
                     "{{ else }}{{ break }}{{ end }}{{ end }}")
        code += "{{ if lt " + b + " " + a + " }}{{ " + b + " = " + a + " }}{{ end }}"
        self.pre.append(code)
        return G(f"slice {sv} {a} {b}", "str", origin=s.origin, fin=s.fin)

    def _line(self, node) -> str:
        ln = getattr(node, "lineno", 0) or 0
        return self.lines[ln - 1] if 0 < ln <= len(self.lines) else ""

    def startswith(self, s: G, prefix: str, end: bool) -> G:
        """A Go bool: whether `s` starts (or, with `end`, ends) with `prefix`, compared through
        `slice` on bytes."""
        n = len(prefix.encode())
        if n == 0:
            return G("true", "bool")
        sv = self.tmp("s")
        self.pre.append("{{ " + sv + " := " + s.go + " }}")
        if end:
            return G(f"and (ge (len {sv}) {n}) (eq (slice {sv} (len (slice {sv} {n}))) {golit(prefix)})", "bool")
        return G(f"and (ge (len {sv}) {n}) (eq (slice {sv} 0 {n}) {golit(prefix)})", "bool")

    # values -> Go ------------------------------------------------------------------------------
    def materialize(self, v: Val) -> str:
        """A Go expression (operand or command) for v; may add prelude actions. Raises
        CompileError for a constant of a type Go has no literal for, and for a reversed list used
        other than as a loop's range."""
        if isinstance(v, K):
            x = v.value
            if x is UNDEF or x is None:
                return '""'
            if isinstance(x, bool):
                return "true" if x else "false"
            if isinstance(x, int):
                return str(x)
            if isinstance(x, str):
                return golit(x)
            if isinstance(x, float):
                return repr(x)
            raise CompileError(f"a constant {type(x).__name__} has no Go literal")
        if isinstance(v, G):
            if v.kind.startswith("rev:"):
                raise CompileError("a reversed list can only be looped over")
            return v.go
        if isinstance(v, Cat):
            parts = _flatten(v.parts)
            gos = []
            for p in parts:
                if isinstance(p, K):
                    if _pystr(p.value):
                        gos.append(golit(_pystr(p.value)))
                elif isinstance(p, G) and p.kind not in ("str", "any"):
                    gos.append(arg(self.materialize(self.to_str(p))))
                else:
                    gos.append(arg(self.materialize(p)))
            if not gos:
                return '""'
            if len(gos) == 1:
                return gos[0]
            return "print " + " ".join(gos)
        if isinstance(v, Cond):
            # each side's helper code runs only on its path (its inputs may exist only there)
            saved, self.pre = self.pre, []
            a = self.materialize(v.a)
            pa, self.pre = self.pre, []
            b = self.materialize(v.b)
            pb, self.pre = self.pre, saved
            if a == b and not pa and not pb:
                return a
            t = self.tmp("v")
            self.pre.append("{{ if " + v.cond + " }}" + "".join(pa) + "{{ " + t + " := " + a + " }}{{ else }}" +
                            "".join(pb) + "{{ " + t + " := " + b + " }}{{ end }}")
            return t
        if isinstance(v, Ns):
            raise CompileError("a namespace object has no Go value")
        if isinstance(v, _Code):
            raise CompileError("text that only code can print (tojson, a macro's output, a loop's text) is used "
                               "where Go needs a value (a filter, a comparison, a variable)")
        raise CompileError(f"{type(v).__name__} has no Go value")

    def to_str(self, v: G) -> Val:
        """A Go value as Python's `str()` would print it: ints with %d, bools as True/False."""
        if v.kind == "int":
            return G(f'printf "%d" {arg(v.go)}', "str")
        if v.kind == "bool":
            t = self.tmp("v")
            self.pre.append("{{ " + t + ' := "False" }}{{ if ' + v.go + " }}{{ " + t +
                            ' = "True" }}{{ end }}')
            return G(t, "str")
        if v.kind == "any" and not (v.origin or v.fin or v.maybe_empty_is_undef):
            # a value of unknown type (a tool-call argument): a boolean as True/False, null as
            # None (Go prints true/false and <nil>); strings and numbers print alike
            t, g = self.tmp("v"), arg(v.go)
            self.pre.append("{{ " + t + " := print " + g + ' }}{{ if eq (printf "%T" ' + g + ') "bool" }}{{ if ' + g +
                            " }}{{ " + t + ' = "True" }}{{ else }}{{ ' + t + ' = "False" }}{{ end }}'
                            '{{ else if eq (printf "%T" ' + g + ') "<nil>" }}{{ ' + t + ' = "None" }}{{ end }}')
            return G(t, "str")
        if v.kind in ("str", "any"):
            return v
        if v.kind == "digit":     # x % k: the digit's text is str() of the number
            return G(v.go, "str")
        return self.tojson_val(v, None, None, style="repr")

    def truth(self, v: Val) -> Val:
        """The value's truth as Python's `bool()` (empty string, list, None and Undefined false): K
        when known, else a Go bool expression."""
        if isinstance(v, K):
            x = v.value
            if isinstance(x, tuple) and x and x[0] in ("__strmethod__", "__items__"):
                return K(True)
            if isinstance(x, tuple) and x and x[0] == "__filtered__":
                n = self._filtered_count(v, None)
                return G(n.go, "bool")
            return K(bool(x))
        if isinstance(v, G):
            if v.kind == "bool":
                return v
            if v.kind.startswith("rev:"):
                return G(v.go, "bool")
            if v.kind in ("msg", "toolcall", "toolfn", "tool"):
                return K(True)
            return G(v.go, "bool")
        if isinstance(v, Cat):
            parts = _flatten(v.parts)
            if any(isinstance(p, K) and _pystr(p.value) for p in parts):
                return K(True)
            if any(isinstance(p, _Code) for p in parts) and \
                    all(p.truth is not None or p.tail for p in parts if isinstance(p, _Code)):
                # text Go cannot hold in a variable (JSON, a loop's output): true when any part prints
                gos = []
                for p in parts:
                    t = self.truth(p)
                    if isinstance(t, K):
                        if t.value:
                            return K(True)
                        continue
                    gos.append(arg(t.go))
                if not gos:
                    return K(False)
                return G(gos[0] if len(gos) == 1 else "or " + " ".join(gos), "bool")
            return G(self.materialize(v), "bool")
        if isinstance(v, Cond):
            a, b = self.truth(v.a), self.truth(v.b)
            if isinstance(a, K) and isinstance(b, K):
                if a.value == b.value:
                    return a
                return G(v.cond if a.value else f"not {v.cond}", "bool")
            ag = "true" if isinstance(a, K) and a.value else "false" if isinstance(a, K) else arg(a.go)
            bg = "true" if isinstance(b, K) and b.value else "false" if isinstance(b, K) else arg(b.go)
            return G(f"or (and {v.cond} {ag}) (and (not {v.cond}) {bg})", "bool")
        if isinstance(v, (Ns, Macro, Special)):
            return K(True)
        if isinstance(v, _Code):
            if v.truth == "true" or v.tail:
                return K(True)
            if callable(v.truth):
                code, var = v.truth()
                self.pre.append(code)
                return G(var, "bool")
            return K(True)
        return K(bool(v))

    def enumerate_domain(self, key: Val, fn, node) -> Val:
        """fn over every value a finite-domain string can take (message roles): an if-chain."""
        if isinstance(key, G) and key.domain:
            out = self.tmp("v")
            results = [(d, fn(K(d))) for d in key.domain]
            if all(isinstance(r, K) for _, r in results):
                code = "{{ " + out + ' := "" }}'
                first = True
                for d, r in results:
                    if r.value is UNDEF:
                        continue
                    code += ("{{ if " if first else "{{ else if ") + f"eq {arg(key.go)} {golit(d)}" + " }}{{ " + \
                        out + " = " + self.materialize(r) + " }}"
                    first = False
                if not first:
                    code += "{{ end }}"
                self.pre.append(code)
                self.approximate(node, "lookup by message role", "roles other than " + "/".join(key.domain) +
                                 " map to \"\"", "[")
                return G(out, "str")
        self.fail(node, "lookup with a runtime key", "[")

    # -- filters, tests, calls ------------------------------------------------------------------
    def ev_Filter(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `x | filter(args)`
        (`filter`)."""
        v = self.ev(node.node, scope) if node.node is not None else K(UNDEF)
        args = [self.ev(a, scope) for a in node.args]
        kwargs = {kw.key: self.ev(kw.value, scope) for kw in node.kwargs}
        return self.filter(node.name, v, args, kwargs, node)

    def filter(self, name: str, v: Val, args: list, kwargs: dict, node) -> Val:
        """A Jinja filter (trim, length, tojson, first, last, upper, lower, items, selectattr, join,
        default, ...): applied at compile time to known values (`const_filter`), else translated
        to Go. CompileError for one with no translation."""
        if isinstance(v, K) and not _has_vals(v.value) and all(isinstance(a, K) for a in args) \
                and all(isinstance(a, K) for a in kwargs.values()) \
                and not (isinstance(v.value, tuple) and v.value and isinstance(v.value[0], str)
                         and v.value[0].startswith("__")):
            return K(self.const_filter(name, v.value, [a.value for a in args],
                                       {k: a.value for k, a in kwargs.items()}, node))
        if isinstance(v, Cond) and name not in ("default", "d"):
            return self._cond_map(v, lambda x: self.filter(name, x, args, kwargs, node))
        if isinstance(v, G) and v.kind == "str" and name in self._jinja_env.filters \
                and all(isinstance(a, K) for a in [*args, *kwargs.values()]):
            # what Jinja does with these arguments on any text: a TypeError (a list for trim's
            # characters, None for replace's text) raises on every render that reaches it
            values = [_pyarg(a.value, n) for a, n in zip(args, node.args)] if isinstance(node, J.Filter) else \
                [a.value for a in args]
            try:
                self._jinja_env.call_filter(name, "sample text", values, {k: a.value for k, a in kwargs.items()})
            except TypeError as err:
                shown = ", ".join([*map(_pyrepr, values), *(f"{k}={_pyrepr(a.value)}" for k, a in kwargs.items())])
                return self.jinja_raises(node, f"| {name}({shown}) of text", err, name)
            except Exception:  # noqa: BLE001 - needs a context or depends on the text: translated below
                pass
        if name in ("trim", "strip"):
            chars = args[0].value if args and isinstance(args[0], K) else None
            if isinstance(v, (_Code, Cat)) and _has_code(v) and _code_edges_fixed(v, chars):
                return v      # text printed by code that starts and ends with literal non-space text
            return self.strip(self.as_str(v, node), chars, True, True, node)
        if name in ("length", "count") and not isinstance(v, K):
            if isinstance(v, G) and v.kind in ("str", "any"):
                self.approximate(node, "length of a string", "Go counts bytes, Jinja characters", "length",
                                 probes=(NON_ASCII_PROBE,))
            return G(f"len {arg(self.materialize(v))}", "int")
        if name == "tojson":
            indent = kwargs.get("indent", args[0] if args else K(None))
            seps = kwargs.get("separators", K(None))
            if not isinstance(seps, K) or seps.value is not None and (
                    not isinstance(seps.value, (list, tuple)) or len(seps.value) != 2
                    or not all(isinstance(x, str) for x in seps.value)):
                self.fail(node, "tojson separators that are not two constant strings", "tojson")
            return self.tojson_val(v, indent.value if isinstance(indent, K) else None, node,
                                   separators=seps.value)
        if name in ("string",):
            return self.to_str(v) if isinstance(v, G) else v
        if name in ("default", "d"):
            dflt = args[0] if args else K("")
            boolean = (args[1].value if len(args) > 1 and isinstance(args[1], K) else
                       kwargs.get("boolean", K(False)).value)
            if isinstance(v, K):
                return dflt if v.value is UNDEF or (boolean and not v.value) else v
            if isinstance(v, G) and (v.maybe_empty_is_undef or boolean):
                t = self.truth(v)
                if isinstance(dflt, K) and not dflt.value:
                    return v
                return self.cond_val(t, v, dflt)
            return v
        if name in ("upper", "lower", "capitalize", "title"):
            if isinstance(v, G) and v.domain:
                return self.enumerate_domain(v, lambda k: K(getattr(str(k.value), name)()), node)
            if name in ("upper", "lower") and (isinstance(v, (G, Cat)) and not _has_code(v)):
                return self.change_case(self.as_str(v, node), name == "upper", node)
            self.approximate(node, f"| {name} on runtime text", "text is left as it is", name,
                             probes=(LOWER_PROBE, NON_ASCII_PROBE))
            return v
        if name in ("first", "last") and _tagged(v, "__filtered__"):
            return self._filtered_pick(v, name == "last", node)
        if name in ("first", "last") and _tagged(v, "__split__"):
            return self.getitem(v, K(0 if name == "first" else -1), node)
        if name == "first":
            if isinstance(v, G) and v.kind in ("msgs", "tools", "toolcalls"):
                return self.getitem(v, K(0), node)
        if name == "last":
            if isinstance(v, G) and v.kind in ("msgs", "tools", "toolcalls"):
                return self.getitem(v, K(-1), node)
        if name == "items" or name == "dictsort" and not args and not kwargs:
            return self.items_of(v, "items", node)
        if name == "list":
            return v
        if name == "reverse":
            return self.reverse(v, node)
        if name == "replace":
            if isinstance(v, G) and v.domain and all(isinstance(a, K) for a in args):
                return self.enumerate_domain(
                    v, lambda k: K(str(k.value).replace(*[a.value for a in args])), node)
            count = args[2] if len(args) > 2 else kwargs.get("count", K(None))
            if len(args) >= 2 and all(isinstance(a, K) for a in (*args[:2], count)) and \
                    (count.value is None or type(count.value) is int):
                return self.replace_text(self.as_str(v, node), _pystr(args[0].value), _pystr(args[1].value),
                                         count.value, node)
            self.approximate(node, "| replace on runtime text", "text is left as it is", "replace",
                             probes=tuple(a.value for a in args[:1] if isinstance(a, K)))
            return v
        if name == "safe":
            return v
        if name in ("e", "escape", "forceescape"):
            # markupsafe.escape: & < > ' " become &amp; &lt; &gt; &#39; &#34;, which is what Go's
            # html function writes for them (text/template's HTMLEscapeString); Go also turns NUL
            # into U+FFFD. A value already marked safe is not escaped again.
            if name != "forceescape" and isinstance(node, J.Filter) and isinstance(node.node, J.Filter) \
                    and node.node.name == "safe":
                return v
            if isinstance(v, G) and v.kind not in ("str", "any"):
                v = self.to_str(v)
            self.approximate(node, f"| {name} of runtime text holding NUL", "Go's html writes U+FFFD for it",
                             re.compile(r"\|\s*" + name + r"\b"), probes=("a\x00b",))
            fin = _fin_of(v)
            if fin is None or self.capture is not None:
                return G(f"html {arg(self.materialize(v))}", "str")
            # escaping only lengthens: the same length means the final message's content unchanged,
            # which still ends a continued message
            src, out = self.materialize(v), self.tmp("esc")
            self.pre.append("{{ " + out + " := html " + arg(src) + " }}")
            return G(out, "str", fin=f"and ({fin}) (eq (len {out}) (len {arg(src)}))")
        if name == "selectattr" and isinstance(v, G) and v.kind == "str":
            return K([])     # a string's characters have no attributes: nothing is selected
        if name in ("selectattr", "rejectattr") and args and isinstance(args[0], K):
            base, preds = v, []
            if _tagged(v, "__filtered__"):
                _, base, preds = v.value
            if isinstance(base, Cond):
                base = G(self.materialize(base), _kind_of(base))
            if isinstance(base, G) and base.kind in ("msgs", "tools", "toolcalls"):
                test = args[1].value if len(args) > 1 else None
                targs = args[2:]
                return K(("__filtered__", base, preds + [(args[0].value, test, targs, name == "rejectattr")]))
        if name == "list" and isinstance(v, K):
            return v
        if name in ("length", "count") and _tagged(v, "__filtered__"):
            return self._filtered_count(v, node)
        if name == "join" and isinstance(v, G) and v.kind == "str":
            sep = args[0].value if args and isinstance(args[0], K) else ""
            sv = self.tmp("s")
            self.pre.append("{{ " + sv + " := " + v.go + " }}")
            self.approximate(node, "| join of a string (its characters)", "joins its bytes (the same for ASCII)",
                             "join", probes=(NON_ASCII_PROBE,))
            return _Code("{{ range $_p := len " + sv + " }}{{ if $_p }}" + gotext(str(sep)) + "{{ end }}{{ slice " +
                         sv + " $_p (" + self._plus("$_p", 1) + ") }}{{ end }}", "")
        if name == "join" and _tagged(v, "__split__"):
            v = self.split_list(v, node)
        if name == "join" and isinstance(v, G) and v.kind == "strlist":
            sep = args[0].value if args and isinstance(args[0], K) else kwargs.get("d", K("")).value
            return self.strlist_join(v, str(sep))
        if name == "join" and isinstance(v, G) and v.kind in ("strs", "list"):
            sep = args[0].value if args and isinstance(args[0], K) else kwargs.get("d", K("")).value
            x, i = self.tmp("x"), self.tmp("i")
            return _Code("{{ range " + i + ", " + x + " := " + v.go + " }}{{ if " + i + " }}" + gotext(str(sep)) +
                         "{{ end }}{{ " + x + " }}{{ end }}", "")
        if name == "indent" and isinstance(v, _Code) and isinstance(node, J.Filter) \
                and isinstance(node.node, J.Filter) and node.node.name == "tojson":
            return self.indent_json(v, args, kwargs, node)
        if name == "map" and not args and set(kwargs) == {"attribute"} and isinstance(kwargs["attribute"], K) \
                and isinstance(kwargs["attribute"].value, str):
            if isinstance(v, G) and v.kind in self._ELEM:
                v = K(("__filtered__", v, []))
            if _tagged(v, "__filtered__"):
                return K(("__mapped__", v, kwargs["attribute"].value))
        if name in ("selectattr", "rejectattr", "map", "select", "reject", "join", "sort", "unique"):
            self.fail(node, f"| {name} on a runtime list is not supported", name)
        if name not in self._jinja_env.filters:
            self.fail(node, f"Jinja has no filter named {name!r}: the template does not compile in Jinja either", name,
                      jinja_error=True)
        self.fail(node, f"filter {name} is not supported", name)

    def reverse(self, v: Val, node) -> Val:
        """`x | reverse` of a runtime list that a `{% for %}` runs over (the loop runs from the end,
        as for `x[::-1]`). CompileError for text (Go templates cannot reverse a string) and for a
        reversed list used any other way."""
        kind = v.kind if isinstance(v, G) else None
        if kind in _REVERSIBLE and id(node) in self._loop_iters:
            return G(v.go, "rev:" + kind)
        if kind in _REVERSIBLE:
            self.fail(node, "| reverse of a list used other than as the list a for loop runs over: Go templates "
                            "can only loop over it from the end", "reverse")
        what = "text" if kind in ("str", None) else "a value that may be text" if kind == "any" else f"a {kind} value"
        self.fail(node, f"| reverse of {what}: Go templates cannot reverse a string", "reverse")

    def indent_json(self, v: "_Code", args: list, kwargs: dict, node) -> Val:
        """`x | tojson | indent(width, first, blank)` (jinja2's do_indent): every line after the
        first gets `width` more spaces. The JSON writer prints every newline as template text
        (strings and nested values go through Go's `json`, which prints no raw newline), and
        JSON has no blank lines, so `blank` changes nothing and the code's text newlines are
        exactly the lines to indent."""
        params = [("width", 4), ("first", False), ("blank", False)]
        got = {}
        for i, (key, default) in enumerate(params):
            a = args[i] if i < len(args) else kwargs.get(key, K(default))
            if not isinstance(a, K):
                self.fail(node, f"indent with a runtime {key}", "indent")
            got[key] = a.value
        width = got["width"]
        pad = width if isinstance(width, str) else " " * int(width)
        if "\n" in v.tail or any("\n" in a for a in re.findall(r"\{\{.*?\}\}", v.code, re.S)):
            self.fail(node, "indent of this value is not supported", "indent")
        code = _Code(v.code.replace("\n", "\n" + pad), v.name, v.tail, v.truth)
        return Cat([K(pad), code]) if got["first"] else code

    def cond_val(self, c: Val, a: Val, b: Val) -> Val:
        """`a` when `c` else `b`: folded when `c` is known, else a Cond on a new Go bool
        variable."""
        if isinstance(c, K):
            return a if c.value else b
        cvar = self.tmp("c")
        self.pre.append("{{ " + cvar + " := " + c.go + " }}")
        return Cond(cvar, a, b)

    def const_filter(self, name: str, v, args, kwargs, node):
        """A filter applied to known values with jinja2's own implementation (tojson as
        transformers' Jinja environment writes it)."""
        env = jinja2.Environment()
        if name == "tojson":
            indent = kwargs.get("indent", args[0] if args else None)
            seps = kwargs.get("separators")
            return json.dumps(v, indent=indent, ensure_ascii=False, default=lambda o: None,
                              separators=tuple(seps) if seps else None)
        if name not in self._jinja_env.filters:
            self.fail(node, f"Jinja has no filter named {name!r}: the template does not compile in Jinja either", name,
                      jinja_error=True)
        if name not in env.filters:
            self.fail(node, f"filter {name} is not supported", name)
        if any(isinstance(x, int) and not isinstance(x, bool) and abs(x) > MAX_CONST
               for x in list(args) + list(kwargs.values())):
            self.fail(node, f"filter {name} with a huge argument", name)
        if v is UNDEF:
            v = jinja2.Undefined()
        try:
            r = env.call_filter(name, v, args, kwargs, context=env.from_string("").new_context())
            if hasattr(r, "__iter__") and not isinstance(r, (str, list, dict, tuple)):
                r = list(r)    # a generator (map, select, batch) raises only when read
        except Exception as err:  # noqa: BLE001 - Jinja raises the same where it renders it
            self.fail(node, f"filter {name} on a constant fails in Jinja too ({type(err).__name__}: {err})", name,
                      raises=True)
        if isinstance(r, jinja2.Undefined):
            return UNDEF
        return r

    def ev_Test(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 `x is test(args)`
        (`test`)."""
        v = self.ev(node.node, scope)
        args = [self.ev(a, scope) for a in node.args]
        return self.test(node.name, v, args, node)

    def test(self, name: str, v: Val, args: list, node) -> Val:
        """A Jinja test (defined, none, string, mapping, iterable, number, true/false, ...) as a
        known bool or a Go bool; on a Cond, per branch."""
        if isinstance(v, Cond):
            a, b = self.test(name, v.a, args, node), self.test(name, v.b, args, node)
            if isinstance(a, K) and isinstance(b, K) and a.value == b.value:
                return a
            return self.truth(Cond(v.cond, a, b))
        if isinstance(v, K):
            x = v.value
            if isinstance(x, tuple) and x and x[0] == "__strmethod__":
                return K(name in ("defined", "callable"))
            if name == "defined":
                return K(x is not UNDEF)
            if name == "undefined":
                return K(x is UNDEF)
            if name == "none":
                return K(x is None)
            if name in ("string",):
                return K(isinstance(x, str))
            if name in ("mapping",):
                return K(isinstance(x, dict))
            if name in ("iterable", "sequence"):
                return K(isinstance(x, (str, list, tuple, dict)))
            if name == "boolean":
                return K(isinstance(x, bool))
            if name == "number" or name == "integer":
                return K(isinstance(x, (int, float)) and not isinstance(x, bool))
            if name in ("true", "false"):
                return K(x is (name == "true"))
            if name in ("equalto", "eq", "sameas") and args:
                return self.compare(v, "eq", args[0], node)
            if name == "in" and args:
                return self.compare(v, "in", args[0], node)
            if name == "callable":
                return K(callable(x))
            self.fail(node, f"test {name} is not supported", name)
        if isinstance(v, (Ns, Macro, Special)):
            return K(name in ("defined", "callable", "mapping"))
        if isinstance(v, Cat):
            v = G(self.materialize(v), "str")
        kind = v.kind
        if name == "defined":
            if v.maybe_empty_is_undef:
                return G(arg(v.go), "bool")
            return K(True)
        if name == "undefined":
            if v.maybe_empty_is_undef:
                return G(f"not {arg(v.go)}", "bool")
            return K(False)
        if name == "none":
            if kind == "tools":
                return G(f"not {arg(v.go)}", "bool")
            if kind == "any":
                return G(f"not {arg(v.go)}", "bool")
            return K(False)
        if name == "string":
            if kind == "str" and v.maybe_empty_is_undef:
                return G(arg(v.go), "bool")
            if kind == "any":
                return G(f'eq (printf "%T" {arg(v.go)}) "string"', "bool")
            return K(kind == "str")
        if name == "mapping":
            if kind == "any":
                return G(f'eq (slice (printf "%T" {arg(v.go)}) 0 3) "map"', "bool")
            return K(kind in ("args", "props", "msg", "toolcall", "toolfn", "tool", "prop", "fndef", "params"))
        if kind == "any" and name in ("iterable", "sequence", "boolean", "number", "integer", "float"):
            # a JSON value Ollama decoded (tool arguments): its Go type
            t = self.tmp("type")
            self.pre.append("{{ " + t + ' := printf "%T" ' + arg(v.go) + " }}")
            return G({"iterable": f'or (eq {t} "string") (eq (slice {t} 0 3) "map") (eq (slice {t} 0 2) "[]")',
                      "sequence": f'or (eq {t} "string") (eq (slice {t} 0 3) "map") (eq (slice {t} 0 2) "[]")',
                      "boolean": f'eq {t} "bool"',
                      "number": f'eq {t} "float64" "int" "int64"',
                      "integer": f'eq {t} "int" "int64"',
                      "float": f'eq {t} "float64"'}[name], "bool")
        if name in ("iterable", "sequence"):
            return K(kind in ("str", "msgs", "tools", "toolcalls", "args", "props", "strs", "list") or
                     kind.startswith("rev:"))
        if name in ("boolean", "true", "false"):
            if kind == "bool":
                return v if name != "false" else G(f"not {arg(v.go)}", "bool")
            return K(False)
        if name in ("number", "integer"):
            return K(kind == "int")
        if name in ("equalto", "eq", "sameas") and args:
            return self.compare(v, "eq", args[0], node)
        if name in ("ne",) and args:
            return self.compare(v, "ne", args[0], node)
        if name == "in" and args:
            return self.compare(v, "in", args[0], node)
        if name not in self._jinja_env.tests:
            self.fail(node, f"Jinja has no test named {name!r}: the template does not compile in Jinja either", name,
                      jinja_error=True)
        self.fail(node, f"test {name} on a runtime value is not supported", name)

    def ev_Call(self, node, scope):
        """The compile-time value (module doc: K, G, Cat, Cond) of a jinja2 call: a macro (inlined),
        a special global, a string or dict method."""
        f = self.ev(node.node, scope)
        if isinstance(f, Cond):
            return self._cond_map(f, lambda g: self._call_value(g, node, scope))
        return self._call_value(f, node, scope)

    def _call_value(self, f: Val, node, scope):
        if isinstance(f, Cond):
            return self._cond_map(f, lambda g: self._call_value(g, node, scope))
        if _tagged(f, "__get__"):
            args = [self.ev(a, scope) for a in node.args]
            if not args or not isinstance(args[0], K):
                self.fail(node, ".get() with a runtime key", "get")
            v = self.getattr(f.value[1], args[0].value, node)
            if len(args) > 1 and isinstance(v, K) and v.value is UNDEF:
                return args[1]
            if len(args) > 1 and isinstance(v, G) and v.maybe_empty_is_undef:
                return self.cond_val(self.truth(v), v, args[1])
            return K(None) if isinstance(v, K) and v.value is UNDEF else v
        if isinstance(f, K) and f.value is UNDEF:
            self.approximate(node, "call of an undefined function or method (Jinja raises)",
                             "the Go template prints nothing for it", "(")
            return K(UNDEF)
        if isinstance(f, Special):
            return self.special_call(f.name, node, scope)
        if isinstance(f, Macro):
            return self.inline_macro(f.node, node, scope)
        if _tagged(f, "__strmethod__"):
            _, base, meth = f.value
            args = [self.ev(a, scope) for a in node.args]
            kwargs = {kw.key: self.ev(kw.value, scope) for kw in node.kwargs}
            return self.str_method(base, meth, args, node, kwargs)
        if _tagged(f, "__items__"):
            _, base, meth = f.value
            return self.items_of(base, meth, node)
        return self._call_rest(f, node, scope)

    def items_of(self, base: Val, meth: str, node) -> Val:
        """`.items()`/`.keys()`/`.values()` of a known dict or of a struct Ollama fills in (its keys
        in the order an OpenAI-style client sends them)."""
        if isinstance(base, G) and base.kind in _STRUCT_KEYS:
            # a struct Ollama fills in: its keys in the order an OpenAI-style client sends them
            pairs = [(k, self.getattr(base, k, node)) for k in _STRUCT_KEYS[base.kind]]
            if meth == "keys":
                return K([k for k, _ in pairs])
            if meth == "values":
                return K([v for _, v in pairs])
            return K(pairs)
        if isinstance(base, G):
            return G(base.go, "items:" + base.kind)
        if isinstance(base, K) and isinstance(base.value, dict):
            return K(list(getattr(base.value, meth)()))
        self.fail(node, f".{meth}() of this value is not supported", meth)

    def _call_rest(self, f: Val, node, scope):
        if isinstance(f, K) and callable(f.value):
            args = [self.ev(a, scope) for a in node.args]
            if all(isinstance(a, K) for a in args):
                try:
                    return K(f.value(*[a.value for a in args]))
                except Exception as err:  # noqa: BLE001
                    self.fail(node, f"calling a constant method failed: {err}")
        if isinstance(f, K) and f.value is UNDEF:
            self.fail(node, "call of an undefined function", getattr(node.node, "name", None))
        self.fail(node, "unsupported call")

    def str_method(self, base: Val, meth: str, args: list, node, kwargs: dict | None = None) -> Val:
        """A Python string method on a known string (computed, `format` built as a concatenation)
        or a Go string: strip/lstrip/rstrip, startswith/endswith, upper/lower, split, replace,
        find/rfind/index/rindex (character positions), count, removeprefix/removesuffix;
        capitalize/title are exact on roles and an Approximation on other text. Every other str
        method (Jinja's sandbox allows them all) is refused on runtime text, naming it."""
        kwargs = kwargs or {}
        if isinstance(base, Cond):
            return self._cond_map(base, lambda b: self.str_method(b, meth, args, node, kwargs))
        if isinstance(base, K):
            return self.const_str_method(base.value, meth, args, kwargs, node)
        if meth in ("format", "format_map"):
            self.fail(node, f".{meth}() with runtime text as the format string is not translated", meth)
        s = self.as_str(base, node)
        if all(isinstance(a, K) for a in [*args, *kwargs.values()]):
            # what Python does with these arguments on any text: a TypeError (a list where a tuple is
            # allowed, None where text is needed, an argument too many) raises on every render
            values = [_pyarg(a.value, n) for a, n in zip(args, node.args)] if isinstance(node, J.Call) else \
                [a.value for a in args]
            try:
                getattr("sample text", meth)(*values, **{k: a.value for k, a in kwargs.items()})
            except TypeError as err:
                return self.jinja_raises(node, f".{meth}({', '.join(_pyrepr(v) for v in values)}) of text", err, meth)
            except Exception:  # noqa: BLE001 - depends on the text (index of absent text): translated below
                pass
            args = [K(v) for v in values]
        a0 = args[0].value if args and isinstance(args[0], K) else None
        if any(not isinstance(a, K) for a in args) or kwargs:
            self.fail(node, f".{meth}() with a runtime or keyword argument is not translated", meth)
        names = _STR_ARG_NAMES.get(meth, ())
        if len(args) > 1 and meth in ("startswith", "endswith", "find", "rfind", "index", "rindex", "count",
                                      "strip", "lstrip", "rstrip", "removeprefix", "removesuffix"):
            extra = names[1] if len(names) > 1 else "second"
            self.fail(node, f".{meth}() with a {extra} argument ({_pyrepr(args[1].value)}) is not translated; "
                            f".{meth}({_pyrepr(a0)}) without it is", meth)
        if meth in ("strip", "lstrip", "rstrip"):
            return self.strip(s, a0, meth != "rstrip", meth != "lstrip", node)
        if meth in ("startswith", "endswith"):
            if isinstance(a0, tuple):   # any of them (Python's tuple argument)
                if not a0:
                    return K(False)
                alts = [self.startswith(s, p, meth == "endswith") for p in a0]
                return alts[0] if len(alts) == 1 else G("or " + " ".join(arg(x.go) for x in alts), "bool")
            return self.startswith(s, a0, meth == "endswith")
        if meth in ("upper", "lower"):
            return self.filter(meth, s, [], {}, node)
        if meth in ("capitalize", "title"):
            if s.domain:
                return self.filter(meth, s, [], {}, node)
            self.approximate(node, f".{meth}() of runtime text", "text is left as it is", meth,
                             probes=(LOWER_PROBE, NON_ASCII_PROBE))
            return s
        if meth == "split":
            maxsplit = args[1].value if len(args) > 1 and isinstance(args[1], K) else -1
            return K(("__split__", s, a0, maxsplit))
        if meth == "replace":
            return self.filter("replace", s, args, {}, node)
        one_text = len(args) == 1 and isinstance(a0, str)
        if meth in ("find", "rfind", "index", "rindex") and one_text:
            sv = self.tmp("s")
            self.pre.append("{{ " + sv + " := " + s.go + " }}")
            if meth in ("index", "rindex"):
                self.approximate(node, f".{meth}() of text without {a0!r} (Jinja raises)", "-1, as .find() gives",
                                 meth)
            if not a0:
                return K(0) if meth in ("find", "index") else G(self._rune_count(sv), "int")
            at = self.find(sv, a0, last=meth in ("rfind", "rindex"))
            # a byte offset -> the character index Python gives (the runes before it)
            pos = self.tmp("at")
            self.pre.append("{{ " + pos + " := " + at + " }}{{ if gt " + at + " 0 }}{{ " + pos + " = " +
                            self._rune_count(f"(slice {sv} 0 {at})") + " }}{{ end }}")
            return G(pos, "int")
        if meth == "count" and one_text:
            sv = self.tmp("s")
            self.pre.append("{{ " + sv + " := " + s.go + " }}")
            return G(self.count(sv, a0), "int")
        if meth in ("removeprefix", "removesuffix") and one_text:
            if not a0:
                return s
            sv, n, out = self.tmp("s"), len(a0.encode()), self.tmp("s")
            self.pre.append("{{ " + sv + " := " + s.go + " }}")
            has = self.startswith(G(sv, "str"), a0, meth == "removesuffix")
            cut = f"slice {sv} {n}" if meth == "removeprefix" else f"slice {sv} 0 (len (slice {sv} {n}))"
            self.pre.append("{{ " + out + " := " + sv + " }}{{ if " + has.go + " }}{{ " + out + " = " + cut +
                            " }}{{ end }}")
            fin = _fin_of(s)
            return G(out, "str", fin=None if fin is None else f"and ({fin}) (eq (len {out}) (len {sv}))")
        self.fail(node, f".{meth}() of runtime text: a str method Jinja's sandbox allows, which Go templates "
                        "cannot express and publish does not translate", meth)

    def const_str_method(self, text: str, meth: str, args: list, kwargs: dict, node) -> Val:
        """A str method of a known string: computed now when its arguments are known too (bounded:
        no argument may ask for more than MAX_CONST characters); `.format()` with runtime arguments
        is a concatenation (plain `{}`, `{0}`, `{name}` fields only). CompileError otherwise."""
        if meth in ("format", "format_map"):
            if meth == "format_map":
                self.fail(node, ".format_map() is not translated", meth)
            return self.str_format(text, args, kwargs, node)
        if not all(isinstance(a, K) for a in [*args, *kwargs.values()]):
            self.fail(node, f".{meth}() of a constant string with a runtime argument is not translated", meth)
        values = [a.value for a in args]
        kw = {k: a.value for k, a in kwargs.items()}
        if any(isinstance(x, int) and not isinstance(x, bool) and abs(x) > MAX_CONST for x in [*values, *kw.values()]):
            self.fail(node, f".{meth}() with a huge argument", meth)
        if meth in ("encode", "maketrans", "translate"):
            self.fail(node, f".{meth}() is not translated (it makes no text a chat template prints)", meth)
        if _str_method_size(text, meth, values, kw) > 10 * MAX_CONST:
            self.fail(node, f".{meth}() of a constant would build more than {10 * MAX_CONST:,} characters", meth)
        try:
            return K(getattr(text, meth)(*values, **kw))
        except Exception as err:  # noqa: BLE001 - Jinja raises the same (the case is then unsupported)
            self.fail(node, f".{meth}() of a constant string fails in Python too: {err}", meth)

    def str_format(self, fmt: str, args: list, kwargs: dict, node) -> Val:
        """`'...'.format(a, b, name=c)` as the concatenation of its literal text and str() of each
        argument (what jinja2's sandboxed formatter prints for plain fields). CompileError for a
        format spec, a conversion (!r) or a field with attribute or item access."""
        import string

        parts: list = []
        auto = 0
        try:
            fields = list(string.Formatter().parse(fmt))
        except ValueError as err:
            self.fail(node, f".format() of a malformed format string: {err}", "format")
        for literal, name, spec, conv in fields:
            if literal:
                parts.append(K(literal))
            if name is None:
                continue
            if spec or conv:
                self.fail(node, ".format() with a format spec or conversion ({...:spec} / {...!r}) is not translated",
                          "format")
            if name == "":
                key, auto = auto, auto + 1
            elif name.isdigit():
                key = int(name)
            elif name.isidentifier():
                key = name
            else:
                self.fail(node, f".format() with the field {{{name}}} (attribute or item access) is not translated",
                          "format")
            v = (args[key] if isinstance(key, int) and key < len(args) else
                 kwargs.get(key) if isinstance(key, str) else None)
            if v is None:
                self.fail(node, f".format() field {{{name}}} has no argument (Python raises)", "format")
            if isinstance(v, K):
                if _has_vals(v.value):
                    self.fail(node, ".format() of a structure holding runtime values is not translated", "format")
                parts.append(K("" if v.value is UNDEF else str(v.value)))
            elif isinstance(v, G):
                parts.append(self.to_str(v) if v.kind not in ("str", "any") else v)
            else:
                parts.append(v)
        if all(isinstance(p, K) for p in parts):
            return K("".join(p.value for p in parts))
        return Cat(parts)

    def _rune_count(self, sv: str) -> str:
        """Go int expression: the number of characters (runes) of the Go string expression `sv`.
        fmt pads `printf "%*s" n s` (n = len s bytes) with n - runes spaces."""
        return f'len (slice {sv} (len (slice (printf "%*s" (len {sv}) {sv}) (len {sv}))))'

    def count(self, sv: str, sub: str) -> str:
        """Go int expression: str.count(sub) of the Go string variable `sv`: non-overlapping
        occurrences, scanning bytes (a match skips past itself); "".count gives characters + 1."""
        if not sub:
            return self._plus(arg(self._rune_count(sv)), 1)
        n = len(sub.encode())
        cnt, nxt = self.tmp("cnt"), self.tmp("next")
        self.pre.append(
            "{{ " + cnt + ' := "" }}{{ ' + nxt + " := 0 }}{{ range $_p := len " + sv + " }}{{ if and (ge $_p " + nxt +
            ") (eq (index " + sv + " $_p) " + str(sub.encode()[0]) + ") }}{{ if and (le (" + self._plus("$_p", n) +
            ") (len " + sv + ")) (eq (slice " + sv + " $_p (" + self._plus("$_p", n) + ")) " + golit(sub) +
            ") }}{{ " + cnt + " = print " + cnt + ' "x" }}{{ ' + nxt + " = " + self._plus("$_p", n) +
            " }}{{ end }}{{ end }}{{ end }}")
        return f"len {cnt}"

    def special_call(self, name: str, node, scope) -> Val:
        """A call of a special global: raise_exception (an Approximation: Go does not refuse),
        namespace(), strftime_now (Ollama's currentDate), range, ..."""
        if name == "range" and len(node.args) == 3 and isinstance(node.args[0], J.Sub) \
                and isinstance(node.args[0].right, J.Const) and node.args[0].right.value == 1 \
                and all(isinstance(a, J.Neg) and isinstance(a.node, J.Const) and a.node.value == 1
                        or isinstance(a, J.Const) and a.value == -1 for a in node.args[1:]):
            # range(n - 1, -1, -1): n iterations from n - 1 down (n - 1 is never needed by itself)
            n = self.ev(node.args[0].left, scope)
            if isinstance(n, K):
                return K(list(range(n.value - 1, -1, -1)))
            n = n if isinstance(n, G) else G(self.materialize(n), "int")
            return G(self._go_int(n), "rev:intrange")
        args = [self.ev(a, scope) for a in node.args]
        kwargs = {kw.key: self.ev(kw.value, scope) for kw in node.kwargs}
        if name == "raise_exception":
            self.approximate(node, "raise_exception()", "the Go template does not refuse this conversation",
                             "raise_exception")
            return K(UNDEF)
        if name == "namespace":
            attrs = {}
            for k, v in kwargs.items():
                attrs[k] = (self.tmp("ns_" + _goname(k)), v)
            return Ns(attrs)
        if name == "strftime_now":
            fmt = args[0].value if args and isinstance(args[0], K) else None
            self.uses.add("date")
            return self.strftime(fmt, node)
        if name == "range":
            if all(isinstance(a, K) for a in args):
                r = range(*[a.value for a in args])
                if len(r) > MAX_CONST:
                    self.fail(node, f"range() of {len(r):,} numbers", "range")
                return K(list(r))
            vals = [a if isinstance(a, (K, G)) else G(self.materialize(a), "int") for a in args]
            if len(vals) == 1:
                return G(self._go_int(vals[0]), "intrange")
            if len(vals) == 2 and isinstance(vals[0], K) and vals[0].value == 0:
                return G(self._go_int(vals[1]), "intrange")
            if len(vals) == 3 and isinstance(vals[1], K) and vals[1].value == -1 and isinstance(vals[2], K) \
                    and vals[2].value == -1:
                # range(n-1, -1, -1): n-1 down to 0
                return G(self._go_int(self.add_int(vals[0], K(1))), "rev:intrange")
            if len(vals) == 2 or len(vals) == 3 and isinstance(vals[2], K) and vals[2].value == 1:
                # range(a, b): b-a iterations (none when b <= a), counting from a (a >= 0)
                a, b = self._go_int(vals[0]), self._go_int(vals[1])
                n = self.tmp("n")
                self.pre.append("{{ " + n + " := 0 }}{{ if lt " + arg(a) + " " + arg(b) + " }}{{ " + n +
                                " = " + self.sub_int(G(b, "int"), G(a, "int")).go + " }}{{ end }}")
                return G(n, "intrange", offset=a)
            if len(vals) == 3 and not isinstance(vals[2], K):
                self.fail(node, "range() with a runtime step: Go templates count by one only", "range")
            if len(vals) == 3:
                self.fail(node, f"range() with a runtime bound and step {vals[2].value}: translated are only "
                                "range(a, b) and range(n - 1, -1, -1)", "range")
            self.fail(node, "range() with these runtime bounds", "range")
        if name == "dict":
            # like a {...} literal: runtime values stay Vals inside the constant dict (tojson writes them)
            return K({k: v.value if isinstance(v, K) else v for k, v in kwargs.items()})
        self.fail(node, f"call of {name}")

    def strftime(self, fmt, node) -> Val:
        """strftime_now(fmt) from Ollama's only clock, currentDate ("2006-01-02"), by slicing it."""
        d = self.tmp("date")
        self.pre.append("{{ " + d + " := currentDate }}")
        if not isinstance(fmt, str):
            self.approximate(node, "strftime_now() with a runtime format", "today's date as YYYY-MM-DD",
                             "strftime_now")
            return G(d, "str")
        parts: list[Val] = []
        i = 0
        names = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                 "October", "November", "December"]
        while i < len(fmt):
            ch = fmt[i]
            if ch != "%" or i + 1 == len(fmt):
                parts.append(K(ch))
                i += 1
                continue
            code = fmt[i + 1:i + 3] if fmt[i + 1] == "-" else fmt[i + 1]
            i += 1 + len(code)
            if code == "Y":
                parts.append(G(f"slice {d} 0 4", "str"))
            elif code == "y":
                parts.append(G(f"slice {d} 2 4", "str"))
            elif code == "m":
                parts.append(G(f"slice {d} 5 7", "str"))
            elif code == "d":
                parts.append(G(f"slice {d} 8 10", "str"))
            elif code in ("-d", "-m"):
                a = 8 if code == "-d" else 5
                t = self.tmp("v")
                self.pre.append("{{ " + t + f" := slice {d} {a} {a + 2}" + " }}{{ if eq (slice " + d +
                                f" {a} {a + 1}) \"0\" }}}}{{{{ {t} = slice {d} {a + 1} {a + 2} }}}}{{{{ end }}}}")
                parts.append(G(t, "str"))
            elif code in ("b", "B", "h"):
                t = self.tmp("v")
                code_s = "{{ " + t + ' := "" }}'
                for n, name in enumerate(names, 1):
                    code_s += ("{{ if " if n == 1 else "{{ else if ") + f"eq (slice {d} 5 7) \"{n:02d}\"" + \
                        " }}{{ " + t + " = " + golit(name if code == "B" else name[:3]) + " }}"
                self.pre.append(code_s + "{{ end }}")
                parts.append(G(t, "str"))
            elif code == "%":
                parts.append(K("%"))
            else:
                self.approximate(node, f"strftime_now({fmt!r}): %{code}",
                                 "Ollama's clock (currentDate) gives only the year, month and day; "
                                 "the Go template writes YYYY-MM-DD there", "strftime_now")
                parts.append(G(d, "str"))
        return Cat(parts)

    def _bind_args(self, mnode: J.Macro, call: J.Call, scope: dict) -> dict[str, Val]:
        """A macro's parameters, in order, bound to a call's positional then keyword arguments,
        else to their defaults (evaluated in the caller's scope), else to undefined."""
        params = [a.name for a in mnode.args]
        defaults = list(mnode.defaults)
        nd = len(params) - len(defaults)
        args = [self.ev(a, scope) for a in call.args]
        kwargs = {kw.key: self.ev(kw.value, scope) for kw in call.kwargs}
        bound: dict[str, Val] = {}
        for i, p in enumerate(params):
            if i < len(args):
                bound[p] = args[i]
            elif p in kwargs:
                bound[p] = kwargs[p]
            elif i >= nd:
                bound[p] = self.ev(defaults[i - nd], scope)
            else:
                bound[p] = K(UNDEF)
        return bound

    def inline_macro(self, mnode: J.Macro, call: J.Call, scope: dict) -> Val:
        """A macro call inlined: parameters bound to the call's arguments and defaults, its body
        compiled in that scope."""
        params = [a.name for a in mnode.args]
        inner = dict(scope)
        inner.update(self._bind_args(mnode, call, scope))
        # a call with the same kinds of arguments as one being inlined recurses over a runtime value
        # (a JSON tree): a Go {{ define }}; other recursion ends while compiling (constants, the
        # fixed shapes of Ollama's tool values) and is inlined
        sig = (mnode.name, tuple(_sig(inner[p]) for p in params))
        if sig in self.macro_stack:
            return self.recursive_call(mnode, call, scope)
        if self.macro_depth > 8:
            self.fail(call, f"macro {mnode.name} (defined at line {mnode.lineno}) is called more than 8 macro calls "
                            "deep with arguments that change on each call: the converter unrolls such recursion "
                            "over constants, and stops at 8 levels (Jinja itself raises RecursionError if it "
                            "never ends)", needle=mnode.name)
        self.macro_depth += 1
        self.macro_stack.append(sig)
        self._expanding.append(call)
        try:
            value = self.body_value(mnode.body, inner)
            if value is not None:
                self._namespaces_out(inner, scope)
                return value
            saved, self.pre = self.pre, []
            text, done = self.stmts(mnode.body, inner)
            self.pre = saved
        finally:
            self.macro_depth -= 1
            self.macro_stack.pop()
            self._expanding.pop()
        self._namespaces_out(inner, scope)
        return _Code(text, "", done=done)

    @staticmethod
    def _namespaces_out(inner: dict, scope: dict) -> None:
        """A macro that sets an attribute of a namespace its caller sees changes it for the caller
        too (namespace objects are shared): symbolic attribute values flow back out."""
        for key, v in inner.items():
            if key.startswith("\0ns."):
                name = key.split(".", 2)[1]
                if name in scope and inner.get(name) is scope[name]:
                    scope[key] = v

    def recursive_call(self, mnode: J.Macro, call: J.Call, scope: dict) -> Val:
        """A macro calling itself (Gemma 4's format_argument walks a JSON value): a Go template
        `{{ define }}`d once per set of constant arguments, called with `{{ template "name" x }}`
        where x, the one runtime argument, is the dot. Go templates may recurse; a defined template
        sees none of the caller's variables, so its body may use only its argument and constants.
        Raises CompileError (at the call's line:col) for more than one runtime argument, a list or
        dict holding runtime values, or a call with the same constant arguments (no end)."""
        bound = self._bind_args(mnode, call, scope)
        runtime = [p for p, v in bound.items() if not isinstance(v, K)]
        if len(runtime) > 1:
            self.fail(call, f"recursive macro {mnode.name} called with more than one runtime argument "
                            f"({', '.join(runtime)})", mnode.name)
        if any(_has_vals(v.value) for v in bound.values() if isinstance(v, K)):
            self.fail(call, f"recursive macro {mnode.name} called with a list or dict holding runtime values",
                      mnode.name)
        if not runtime:
            # every argument a constant, the same as a call being inlined: nothing changes between calls
            line = getattr(call, "lineno", 0) or 0
            shown = ", ".join(f"{p}={_pyrepr(v.value)}" for p, v in bound.items())
            mutates = any(isinstance(a.target, J.NSRef) for a in self.find_all(mnode, J.Assign))
            why = ("it sets a namespace attribute, which could end it; recursion that ends that way is not translated"
                   if mutates else "it calls itself with the same arguments and changes nothing it reads, so it "
                   "recurses without end (Jinja stops with a RecursionError on every render that reaches it)")
            raise CompileError(f"macro {mnode.name} (defined at line {mnode.lineno}) calls itself with the same constant "
                               f"arguments ({shown or 'none'}): {why}", line, self._node_col(call),
                               raises=not mutates)
        dot = bound[runtime[0]] if runtime else None
        if dot is not None and not isinstance(dot, G):
            dot = G(self.materialize(dot), _kind_of(dot))
        kind = dot.kind if dot is not None else ""
        key = (mnode.name, kind, tuple((p, repr(v.value)) for p, v in bound.items() if isinstance(v, K)))
        name = self.defines.get(key)
        if name is None:
            name = f"{mnode.name}_{len(self.defines) + 1}"
            self.defines[key] = name
            inner = {k: v for k, v in scope.items() if isinstance(v, (K, Macro, Special))}
            inner.update({p: v for p, v in bound.items() if isinstance(v, K)})
            darg = self.tmp("arg")     # the dot, named: inside {{ range }} the dot is the element
            if dot is not None:
                inner[runtime[0]] = G(darg, kind)
            saved = (self.pre, self.at_start, self.loops, self.capture, self.capture_flag, self.macro_depth)
            self.pre, self.at_start, self.loops, self.capture, self.capture_flag = [], None, [], None, None
            self.macro_stack.append((mnode.name, tuple(_sig(inner.get(p, K(UNDEF))) for p in bound)))
            try:
                text, _ = self.stmts(mnode.body, inner)
                text = "{{ " + darg + " := . }}" + self.flush() + text
            finally:
                (self.pre, self.at_start, self.loops, self.capture, self.capture_flag, self.macro_depth) = saved
                self.macro_stack.pop()
            text = _hoist(text)
            declared = set(re.findall(r"\{\{ (\$_[A-Za-z0-9_]+) :?= ", text)) | \
                set(re.findall(r"range (\$_[A-Za-z0-9_]+)", text)) | set(re.findall(r"range \$_\w+, (\$_\w+)", text))
            used = set(re.findall(r"\$_[A-Za-z0-9_]+", text)) - declared - {"$_p", "$_q", "$_r"}
            if "$." in text or "$_done" in text or used:
                self.fail(call, f"recursive macro {mnode.name} reads values outside its arguments", mnode.name)
            self.define_bodies[name] = text
        self.at_start = None
        return _Code("{{ template " + golit(name) + (" " + arg(dot.go) if dot is not None else "") + " }}", "")

    def body_value(self, body: list, scope: dict) -> Val | None:
        """The output of statements as a value (Cat / Cond), when they are only output and ifs;
        None when they loop or assign namespaces (then they can only be printed in place)."""
        parts: list[Val] = []
        for n in body:
            if isinstance(n, J.Output):
                for child in n.nodes:
                    parts.append(K(child.data) if isinstance(child, J.TemplateData) else self.ev(child, scope))
            elif isinstance(n, J.If):
                c = self.truth(self.ev(n.test, scope))
                rest_if = J.If(J.Const(True), n.else_, [], []) if not n.elif_ else \
                    J.If(n.elif_[0].test, n.elif_[0].body, n.elif_[1:], n.else_)
                if isinstance(c, K):
                    v = self.body_value(n.body if c.value else ([rest_if] if (n.elif_ or n.else_) else []), scope)
                    if v is None:
                        return None
                    parts.append(v)
                else:
                    a = self.body_value(n.body, dict(scope))
                    b = self.body_value([rest_if] if (n.elif_ or n.else_) else [], dict(scope))
                    if a is None or b is None:
                        return None
                    cvar = self.tmp("c")
                    self.pre.append("{{ " + cvar + " := " + c.go + " }}")
                    parts.append(Cond(cvar, a, b))
            elif isinstance(n, J.Assign) and isinstance(n.target, J.Name):
                scope[n.target.name] = self.ev(n.node, scope)
            else:
                return None
        return Cat(parts)

    # -- tojson -----------------------------------------------------------------------------------
    def tojson_list(self, v: K, indent, node, style: str, separators) -> Val:
        """tojson of `list | selectattr(...) | map(attribute=...)`: the kept elements (or the named
        attribute of each) written one after another, as json.dumps writes a list."""
        if indent is not None:
            self.fail(node, "tojson(indent=...) of a filtered runtime list is not supported", "tojson")
        filtered, attr = (v.value[1], v.value[2]) if v.value[0] == "__mapped__" else (v, None)
        _, base, _ = filtered.value
        e, first = self.tmp("e"), self.tmp("f")
        pred = self._predicate(filtered, e, node)
        cond = "true" if isinstance(pred, K) and pred.value else ("false" if isinstance(pred, K) else pred.go)
        item = G(e, self._ELEM[base.kind])
        if attr is not None:
            item = self.getattr(item, attr, node)
            if not isinstance(item, G):
                self.fail(node, f"map(attribute={attr!r}) of this list is not supported", "map")
        w = _JsonWriter(self, None, style, separators, node)
        code = ("{{ " + first + " := true }}[{{ range " + e + " := " + base.go + " }}{{ if " + cond + " }}{{ if not " +
                first + " }}" + gotext(w.sep(1)) + "{{ end }}{{ " + first + " = false }}" +
                w.value(item.go, item.kind, 1) + "{{ end }}{{ end }}")
        return _Code(code, "", "]", truth="true")

    def tojson_val(self, v: Val, indent: int | None, node, style: str = "json", separators=None) -> Val:
        """Python's json.dumps(v, ensure_ascii=False[, indent]) for Ollama's typed values, written
        out field by field (Go's json function prints no spaces and escapes <, > and &)."""
        if isinstance(v, K) and isinstance(v.value, tuple) and v.value and v.value[0] in ("__mapped__", "__filtered__"):
            return self.tojson_list(v, indent, node, style, separators)
        if isinstance(v, K) and not _has_vals(v.value):
            if style == "repr":
                return K(_pystr(v.value))
            return K(json.dumps(v.value if v.value is not UNDEF else None, indent=indent, ensure_ascii=False,
                                default=lambda o: None, separators=separators))
        if isinstance(v, K):
            w = _JsonWriter(self, indent, style, separators, node)
            code = w.mixed(v.value, 0)
            if code.endswith("}") and not code.endswith("}}") or code.endswith("}}}"):
                return _Code(code[:-1], "", "}", truth="true")
            return _Code(code, "", truth="true")
        if isinstance(v, Cond):
            return self._cond_map(v, lambda x: self.tojson_val(x, indent, node, style, separators))
        if isinstance(v, Cat):
            v = G(self.materialize(v), "str")
        if not isinstance(v, G):
            self.fail(node, "tojson of this value is not supported", "tojson")
        if v.kind in ("msg", "msgs") or v.kind.startswith("rev:"):
            what = "a message" if v.kind == "msg" else "the messages"
            if style == "json":
                self.fail(node, f"tojson of {what} as a whole: Jinja sees the fields the client sent, which Ollama "
                                "does not hand a template as such", "tojson")
            self.approximate(node, f"{what} printed as a whole (Python's str() of the client's fields)",
                             "Go's print of Ollama's message values", None)
        w = _JsonWriter(self, indent, style, separators, node)
        code = w.value(v.go, v.kind, 0)
        out = self.tmp("j")
        # the JSON text is built by an inline template run into a variable? Go cannot capture output,
        # so tojson values are printed in place: return a marker Val the emitter writes as code.
        if code.endswith("}") and not code.endswith("}}"):
            return _Code(code[:-1], out, "}", truth="true")
        if code.endswith("}}}"):
            return _Code(code[:-1], out, "}", truth="true")
        return _Code(code, out, truth="true")


@dataclass
class _Code(Val):
    """Go template code that prints a value (used for JSON, which Go cannot build as a string)."""
    code: str
    name: str
    tail: str = ""      # literal text printed last (the closing brace of a JSON object), sliceable
    truth: Any = None   # whether it prints anything: "true" (JSON text), a function returning
    #                     (Go code, Go bool variable) computing it, or None (unknown)
    done: bool = False  # printing it may end the output (it prints the final message's content)


def _lists_or_empty(c: Val):
    """Nested Conds whose leaves are runtime lists of one kind or empty (an empty list, undefined,
    none): the same Conds with each empty leaf an empty slice of such a list; else None."""
    leaves: list = []

    def walk(x):
        if isinstance(x, Cond):
            return walk(x.a) and walk(x.b)
        if isinstance(x, G) or isinstance(x, K) and x.value in (UNDEF, None, []):
            leaves.append(x)
            return True
        return False
    if not walk(c):
        return None
    lists = [x for x in leaves if isinstance(x, G)]
    if not lists or len({x.kind for x in lists}) != 1:
        return None
    empty = G("slice $.Messages 0 0", lists[0].kind)   # (an empty list of any element type loops nothing)

    def fill(x):
        if isinstance(x, Cond):
            return Cond(x.cond, fill(x.a), fill(x.b))
        return x if isinstance(x, G) else empty
    return fill(c)


def _fin_of(v: Val) -> str | None:
    """A Go bool: the value is (ends with) the final assistant message's content; None: never."""
    if isinstance(v, G) and v.origin:
        return f"and (not $_agp) (eq {arg(v.origin)} $_final)"
    if isinstance(v, G) and v.fin:
        return v.fin
    return None


def _tagged(v: Val, tag: str) -> bool:
    """Whether v is a compile-time marker tuple (`K(("__split__", ...))` and the like) tagged `tag`."""
    return isinstance(v, K) and isinstance(v.value, tuple) and bool(v.value) and v.value[0] == tag


_UNARY = object()   # const_op's left operand for unary - and +

# the names Python gives the arguments of the str methods translated for runtime text
_STR_ARG_NAMES = {"startswith": ("prefix", "start", "end"), "endswith": ("suffix", "start", "end"),
                  "find": ("sub", "start", "end"), "rfind": ("sub", "start", "end"), "index": ("sub", "start", "end"),
                  "rindex": ("sub", "start", "end"), "count": ("sub", "start", "end"), "strip": ("chars",),
                  "lstrip": ("chars",), "rstrip": ("chars",), "split": ("sep", "maxsplit"),
                  "replace": ("old", "new", "count"), "removeprefix": ("prefix",), "removesuffix": ("suffix",)}


def _pyarg(value, node: J.Node):
    """A constant argument as Python sees it: a tuple literal (`("a", "!")`), which the compiler
    holds as a list, is a tuple again (str.startswith/endswith take tuples, not lists)."""
    if isinstance(node, J.Tuple) and isinstance(value, list):
        return tuple(value)
    return value


def _pyrepr(x) -> str:
    """A constant as a message shows it: Python's repr, cut at 40 characters; `undefined`."""
    if x is UNDEF:
        return "undefined"
    r = repr(x)
    return r if len(r) <= 40 else r[:37] + "..."


def _sig(v: Val):
    """What a macro's inlined body depends on: a constant's value, a runtime value's kind."""
    if isinstance(v, K):
        return ("K", repr(v.value)) if not _has_vals(v.value) else ("K*", id(v))
    if isinstance(v, G):
        return ("G", v.kind)
    return (type(v).__name__, id(v))


def _text_edges(code: str) -> tuple[str, str]:
    """The literal text before the first action of Go template code and after its last one
    (actions are skipped with their string literals, which may hold braces)."""
    i, n, first, last_end = 0, len(code), None, 0
    while True:
        start = code.find("{{", i)
        if start < 0:
            break
        if first is None:
            first = code[:start]
        j = start + 2
        while j < n and not code.startswith("}}", j):
            if code[j] in "\"`":
                q, j = code[j], j + 1
                while j < n and code[j] != q:
                    j += 2 if code[j] == "\\" and q == '"' else 1
            j += 1
        i = last_end = min(j + 2, n)
    if first is None:
        return code, code
    return first, code[last_end:]


def _code_edges_fixed(v: Val, chars: str | None) -> bool:
    """The text a value prints (code, or a concatenation with code) certainly starts and ends with
    literal characters that `strip(chars)` keeps (literal text before the first action of code is
    always printed, so is text after its last one), so stripping it changes nothing."""
    strip = chars if chars is not None else ""

    def keeps(ch: str) -> bool:
        return ch not in strip and (chars is not None or not ch.isspace())

    def edge(p: Val, first: bool) -> bool | None:
        """True/False: the printed text's first (last) character is known and kept / not kept;
        None: p may print nothing (look at the next part)."""
        if isinstance(p, K):
            text = _pystr(p.value)
            return None if not text else keeps(text[0] if first else text[-1])
        if isinstance(p, _Code):
            head, tail = _text_edges(p.code)
            tail = p.tail or tail
            if first:
                head = head if p.code else p.tail
                return keeps(head[0]) if head else False
            return keeps(tail[-1]) if tail else False
        return False

    parts = _flatten(v.parts) if isinstance(v, Cat) else [v]
    for seq, first in ((parts, True), (parts[::-1], False)):
        for p in seq:
            e = edge(p, first)
            if e is None:
                continue
            if not e:
                return False
            break
        else:
            return False
    return True


def _has_code(v: Val) -> bool:
    if isinstance(v, _Code):
        return True
    if isinstance(v, Cat):
        return any(_has_code(p) for p in v.parts)
    if isinstance(v, Cond):
        return _has_code(v.a) or _has_code(v.b)
    return False


def _negate(v: Val) -> Val:
    """`not` of a truth value (K or a bool G)."""
    return K(not v.value) if isinstance(v, K) else G(f"not {arg(v.go)}", "bool")


def _nskey(name: str, attr: str) -> str:
    return f"\0ns.{name}.{attr}"


def _leftmost(node):
    while isinstance(node, (J.Add, J.Concat)):
        node = node.left if isinstance(node, J.Add) else node.nodes[0]
    return node if isinstance(node, J.Getattr) else None


def _append_parts(node, name: str | None = None, attr: str | None = None):
    """For `ns.x + a + b` (or `ns.x ~ a ~ b`): [a, b]; None when the expression is not an append to
    ns.x (when name/attr are given, the leftmost operand must be exactly that attribute)."""
    parts = []
    while isinstance(node, (J.Add, J.Concat)):
        if isinstance(node, J.Add):
            parts.insert(0, node.right)
            node = node.left
        else:
            parts[0:0] = node.nodes[1:]
            node = node.nodes[0]
    if not parts or not isinstance(node, J.Getattr) or not isinstance(node.node, J.Name):
        return None
    if name is not None and (node.node.name != name or node.attr != attr):
        return None
    return parts


def _hoist(body: str) -> str:
    """Go scopes variables to the {{if}}/{{range}} that declares them, Jinja does not scope `set`
    inside `if`: every helper variable is declared once at the top and assigned with `=` (or
    declared where first assigned when all its uses are inside that block)."""
    names: list[str] = []
    for m in re.finditer(r"\{\{ (\$_[A-Za-z0-9_]+) := ", body):
        if m.group(1) not in names:
            names.append(m.group(1))
    body = re.sub(r"\{\{ (\$_[A-Za-z0-9_]+) := ", r"{{ \1 = ", body)
    body, names = _declare_locally(body, names)
    return "".join("{{ " + n + ' := "" }}' for n in names) + body


def _declare_locally(body: str, names: list[str]) -> tuple[str, list[str]]:
    """Declare a helper variable where it is first assigned (`:=`) when every later use is inside the
    block of that assignment; return the body and the variables that must stay declared at the top.
    (Each declaration at the top runs on every render; most helpers live in one block.)"""
    from publish import gotmpl
    from publish.gotmpl import nodes as N

    hoisted = set(names)
    # the head's variables (declared before the body) must parse too, or nothing is declared locally
    decl = '{{ $_final := "" }}{{ $_agp := "" }}{{ $_done := "" }}{{ $_o := "" }}' + \
        "".join("{{ " + n + ' := "" }}' for n in names)
    try:
        tree = gotmpl.parse(decl + body).trees["template"].root
    except Exception:  # noqa: BLE001 - the proof reports a template that does not parse
        return body, names
    occ: dict[str, list[tuple[tuple, bool]]] = {}

    def walk(n, stack):
        t = type(n)
        if t is N.ListNode:
            inner = stack + (id(n),)
            for c in n.nodes:
                walk(c, inner)
        elif isinstance(n, N.BranchNode):
            walk(n.pipe, stack)
            for lst in (n.list, n.else_list):
                if lst is not None:
                    walk(lst, stack)
        elif t is N.ActionNode:
            walk(n.pipe, stack)
        elif t is N.PipeNode:
            for c in n.cmds:
                walk(c, stack)
            for v in n.decl:
                if v.ident[0] in hoisted:
                    occ.setdefault(v.ident[0], []).append((stack, bool(n.is_assign) and len(n.decl) == 1))
        elif t is N.CommandNode:
            for a in n.args:
                walk(a, stack)
        elif t is N.VariableNode:
            if n.ident[0] in hoisted:
                occ.setdefault(n.ident[0], []).append((stack, False))
        elif t is N.ChainNode:
            walk(n.node, stack)

    walk(tree, ())
    keep = []
    for name in names:
        uses = occ.get(name, [])[1:]          # [0] is the declaration at the top
        if not uses or not uses[0][1]:
            keep.append(name)
            continue
        home = uses[0][0]
        if all(st[:len(home)] == home for st, _ in uses[1:]):
            body = re.sub(r"\{\{ " + re.escape(name) + r" = ", "{{ " + name + " := ", body, count=1)
        else:
            keep.append(name)
    return body, keep


def _has_vals(x) -> bool:
    if isinstance(x, Val):
        return True
    if isinstance(x, dict):
        return any(_has_vals(v) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(_has_vals(v) for v in x)
    return False


def _kind_of(v: Val) -> str:
    if isinstance(v, G):
        return v.kind
    if isinstance(v, Cond):
        a, b = _kind_of(v.a), _kind_of(v.b)
        if a == b:
            return a
        if isinstance(v.a, K) and v.a.value in (UNDEF, None, [], ""):
            return b
        if isinstance(v.b, K) and v.b.value in (UNDEF, None, [], ""):
            return a
    if isinstance(v, Cat):
        return "str"
    return "any"


def _flatten(parts: list) -> list:
    out: list = []
    for p in parts:
        if isinstance(p, Cat):
            out.extend(_flatten(p.parts))
        elif isinstance(p, K) and isinstance(p.value, str) and out and isinstance(out[-1], K) \
                and isinstance(out[-1].value, str):
            out[-1] = K(out[-1].value + p.value)
        else:
            out.append(p)
    return out


def _same_const(a, b) -> bool:
    try:
        return type(a) is type(b) and a == b
    except Exception:  # noqa: BLE001
        return False


def _goname(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name)


_STRUCT_KEYS = {"fndef": ("name", "description", "parameters"), "params": ("type", "properties", "required"),
                "tool": ("type", "function"), "toolfn": ("name", "arguments"), "toolcall": ("id", "type", "function"),
                "prop": ("type", "description", "enum")}

_OPTIONAL_KEYS = {"prop": ("description", "enum"), "toolcall": ("id",)}

MAX_CONST = 100_000     # bound on constants the compiler builds (a hostile template cannot blow it up)
# The conversion's budget (docs/convert.md: Limits). The largest on tests/data/jinja (161 templates,
# measured at each limit's introduction): 13 iterations unrolled (Llama Guard 3), 1,485 steps (Gemma 4),
# 190,066 characters built and a 38,067-character Go template (Nemotron 3 Nano).
MAX_UNROLLED = 2_000     # iterations of loops over constants (range(n), literal lists), all loops together
MAX_STEPS = 20_000       # statements + expressions compiled, macro bodies and unrolled iterations each time
MAX_BUILT = 5_000_000    # characters of Go text (counted at each statement holding it) and constant strings
MAX_GO_CHARS = 250_000   # the converted template (Ollama's Execute walks all of it, Vars(), on every request)
MAX_SECONDS = 30.0       # wall-clock budget of one conversion: compile + proof (publish.convert.convert)
_SAFE_METHODS = {"strip", "lstrip", "rstrip", "startswith", "endswith", "split", "upper", "lower", "replace",
                 "capitalize", "title", "find", "rfind", "get", "items", "keys", "values", "count",
                 "splitlines", "isdigit", "isalpha", "isspace", "join"}

_STR_METHODS = {"strip", "lstrip", "rstrip", "startswith", "endswith", "split", "upper", "lower",
                "replace", "capitalize", "title", "find"}
# every method of Python's str: Jinja's sandbox lets a template call each of them (format and
# format_map through its own formatter); a runtime string's method outside STR_TRANSLATED is refused
_PY_STR_METHODS = frozenset(m for m in dir(str) if not m.startswith("_"))

# Jinja attribute -> (Go field, kind) for the values Ollama hands to templates (template.go v0.24.0)
_FIELDS = {
    "msg": {"role": ("Role", "str"), "content": ("Content", "str"),
            "reasoning_content": ("Thinking", "str"), "thinking": ("Thinking", "str"),
            "reasoning": ("Thinking", "str"),
            "tool_calls": ("ToolCalls", "toolcalls"), "name": ("ToolName", "str"),
            "tool_name": ("ToolName", "str"), "tool_call_id": ("ToolCallID", "str")},
    "toolcall": {"id": ("ID", "str"), "function": ("Function", "toolfn"), "type": ('="function"', "str"),
                 "name": ("Function.Name", "str"), "arguments": ("Function.Arguments", "args")},
    "toolfn": {"name": ("Name", "str"), "arguments": ("Arguments", "args")},
    "tool": {"type": ("Type", "str"), "function": ("Function", "fndef"),
             "name": ("Function.Name", "str"), "description": ("Function.Description", "str"),
             "parameters": ("Function.Parameters", "params")},
    "fndef": {"name": ("Name", "str"), "description": ("Description", "str"),
              "parameters": ("Parameters", "params")},
    "params": {"type": ("Type", "str"), "properties": ("Properties", "props"),
               "required": ("Required", "strs")},
    "prop": {"type": ("Type", "any"), "description": ("Description", "str"), "enum": ("Enum", "list")},
}


class _JsonWriter:
    """Go template code printing Ollama's typed tool values as Python's json.dumps would."""

    def __init__(self, c: Compiler, indent: int | None, style: str = "json", separators=None, node=None):
        self.c = c
        self.node = node              # the tojson / print node, where approximations are reported
        self.indent = indent
        self.separators = tuple(separators) if separators is not None else None   # json.dumps(separators=)
        self.key_sep = self.separators[1] if self.separators is not None else ": "
        self.style = style            # "json" (json.dumps) or "repr" (Python's str() of a dict)

    def key(self, k: str) -> str:
        if self.style == "repr":
            return repr(k)
        return json.dumps(k, ensure_ascii=False)

    def mixed(self, x, depth: int) -> str:
        """A constant dict/list holding runtime values, e.g. {"name": tool_call.name, ...}|tojson."""
        c = self.c
        if isinstance(x, Val):
            if isinstance(x, K):
                return self.mixed(x.value, depth)
            if isinstance(x, G):
                return self.value(x.go, x.kind, depth)
            return self.value(c.materialize(x), "str", depth)
        if isinstance(x, dict):
            if not x:
                return "{}"
            return self.obj([(str(k), self.mixed(v, depth + 1), None) for k, v in x.items()], depth)
        if isinstance(x, (list, tuple)):
            if not x:
                return "[]"
            items = [self.mixed(v, depth + 1) for v in x]
            return "[" + gotext(self.nl(depth + 1)) + gotext(self.sep(depth + 1)).join(items) + gotext(self.nl(depth)) + "]"
        if x is UNDEF:
            x = None
        return gotext(repr(x) if self.style == "repr" and not isinstance(x, str) else
                      (repr(x) if self.style == "repr" else json.dumps(x, ensure_ascii=False)))

    def nl(self, depth: int) -> str:
        if self.indent is None:
            return ""
        return "\n" + " " * (self.indent * depth)

    def sep(self, depth: int) -> str:
        if self.separators is not None:
            return self.separators[0] + self.nl(depth)
        return "," + self.nl(depth) if self.indent is not None else ", "

    def obj(self, fields: list, depth: int) -> str:
        """fields: (key, code, condition or None). The first field must be unconditional."""
        out = "{" + self.nl(depth + 1)
        first = True
        for key, code, cond in fields:
            piece = ("" if first else self.sep(depth + 1)) + gotext(self.key(key) + self.key_sep) + code
            if cond:
                out += "{{ if " + cond + " }}" + piece + "{{ end }}"
            else:
                out += piece
            first = False
        return out + self.nl(depth) + "}"

    def string(self, go: str) -> str:
        """Go code printing the Go string `go` as Python's json.dumps(ensure_ascii=False) writes
        it (json style; _json_string_body), or as Python's repr() (repr style; _repr_string_body)."""
        name, body = (REPR_STRING_TEMPLATE, _repr_string_body) if self.style == "repr" else \
            (JSON_STRING_TEMPLATE, _json_string_body)
        self.c.define_bodies.setdefault(name, body())
        return "{{ template " + golit(name) + " " + arg(go) + " }}"

    def value(self, go: str, kind: str, depth: int) -> str:
        c = self.c
        if kind == "str":
            return self.string(go)
        if kind == "tools":
            v = c.tmp("x")
            i = c.tmp("i")
            return ("[" + "{{ range " + i + ", " + v + " := " + go + " }}{{ if " + i + " }}" +
                    gotext(self.sep(depth + 1)) + "{{ else }}" + gotext(self.nl(depth + 1)) + "{{ end }}" +
                    self.value(v, "tool", depth + 1) + "{{ end }}" +
                    "{{ if " + go + " }}" + gotext(self.nl(depth)) + "{{ end }}]")
        if kind == "tool":
            return self.obj([("type", self.string(go + ".Type"), None),
                             ("function", self.value(go + ".Function", "fndef", depth + 1), None)], depth)
        if kind == "fndef":
            return self.obj([("name", self.string(go + ".Name"), None),
                             ("description", self.string(go + ".Description"), None),
                             ("parameters", self.value(go + ".Parameters", "params", depth + 1), None)], depth)
        if kind == "toolfn":
            return self.obj([("name", self.string(go + ".Name"), None),
                             ("arguments", self.value(go + ".Arguments", "args", depth + 1), None)], depth)
        if kind == "toolcall":
            return self.obj([("id", self.string(go + ".ID"), None), ("type", '"function"', None),
                             ("function", self.value(go + ".Function", "toolfn", depth + 1), None)], depth)
        if kind == "params":
            return self.obj([("type", self.string(go + ".Type"), None),
                             ("properties", self.value(go + ".Properties", "props", depth + 1), None),
                             ("required", self.value(go + ".Required", "strs", depth + 1), go + ".Required")],
                            depth)
        if kind in ("props", "args"):
            if kind == "args" and self.node is not None:
                c.approximate(self.node, "the keys of tool-call arguments", "in the order Ollama hands them over: "
                              "sorted by key (Jinja keeps the client's order)", "tojson")
            k, v, first = c.tmp("k"), c.tmp("v"), c.tmp("f")
            elem = "prop" if kind == "props" else "any"
            return ("{{ " + first + " := true }}{" + "{{ range " + k + ", " + v + " := " + go + " }}" +
                    "{{ if " + first + " }}" + gotext(self.nl(depth + 1)) + "{{ else }}" +
                    gotext(self.sep(depth + 1)) + "{{ end }}{{ " + first + " = false }}" +
                    self.string(k) + gotext(self.key_sep) + self.value(v, elem, depth + 1) + "{{ end }}" +
                    "{{ if not " + first + " }}" + gotext(self.nl(depth)) + "{{ end }}}")
        if kind == "prop":
            return self.obj([("type", self.string("print " + go + ".Type"), None),
                             ("description", self.string(go + ".Description"), go + ".Description"),
                             ("enum", self.value(go + ".Enum", "list", depth + 1), go + ".Enum")], depth)
        if kind in ("strs", "list"):
            v, i = c.tmp("x"), c.tmp("i")
            return ("[" + "{{ range " + i + ", " + v + " := " + go + " }}{{ if " + i + " }}" +
                    gotext(self.sep(depth + 1)) + "{{ else }}" + gotext(self.nl(depth + 1)) + "{{ end }}" +
                    self.value(v, "any" if kind == "list" else "str", depth + 1) + "{{ end }}" +
                    "{{ if " + go + " }}" + gotext(self.nl(depth)) + "{{ end }}]")
        # any: a JSON value decoded by Ollama (string, float64, bool, nil, map, list)
        if self.style == "json":
            if self.node is not None:
                c.approximate(self.node, "an object inside tool-call arguments",
                              "its keys in the order Ollama holds them: sorted (a nested object is a Go map in "
                              "Ollama; Jinja keeps the client's order)", "tojson")
            other = self.python_json(go, depth)
        else:
            other = "{{ " + go + " }}" if self.style == "repr" else "{{ json " + arg(go) + " }}"
            if self.style == "repr":   # Python's str() of a boolean and of None; numbers print alike
                t = arg(go)
                other = ('{{ if eq (printf "%T" ' + t + ') "bool" }}{{ if ' + t + ' }}True{{ else }}False{{ end }}'
                         '{{ else if eq (printf "%T" ' + t + ') "<nil>" }}None{{ else }}' + other + "{{ end }}")
            if self.node is not None:
                c.approximate(self.node, "a value inside tool-call arguments that is not a string",
                              "Go's print of an object or list (map[k:v], [a b])" if self.style == "repr" else
                              "Go's json: an object or list inside is written without Python's indentation, keys "
                              "sorted, <, > and & escaped", "tojson" if self.style == "json" else None)
        return ('{{ if eq (printf "%T" ' + arg(go) + ') "string" }}' + self.string(go) +
                "{{ else }}" + other + "{{ end }}")

    def python_json(self, go: str, depth: int = 0) -> str:
        """Go code printing Ollama's JSON value `go` (float64, bool, nil, map, list) as Python's
        json.dumps(ensure_ascii=False) with this writer's separators and no indent: Go's `json` of
        it, walked byte by byte. Outside strings `,` and `:` get the separators (with `indent`, the
        new line and indentation after `{`, `[` and `,` and before `}`, `]`, the value being at
        `depth`; `{}` and `[]` stay as they are); inside strings
        the escapes Go writes and Python does not (\\u003c \\u003e \\u0026 \\u2028 \\u2029: the
        character itself; \\u0008 \\u000c: \\b \\f) are undone. Numbers and literals are written
        alike (Ollama holds every number as float64: 3.0 is 3, an Ollama limit). The keys of a
        nested object come sorted, as Go's maps hold them (the caller names that)."""
        c = self.c
        j, q, nx, p, b, e, u, d = (c.tmp(x) for x in ("js", "q", "nx", "p", "b", "e", "u", "d"))
        item_sep = self.separators[0] if self.separators is not None else (", " if self.indent is None else ",")
        one = "(slice " + j + " " + p + " (" + c._plus(p, 1) + "))"
        if self.indent is None:
            opening = closing = "{{ " + one + " }}"
            comma = gotext(item_sep)
            init = ""
        else:
            # $d: the indentation of the current line past the value's own (spaces; a level is
            # added by print and taken off by slicing, Go templates having no arithmetic)
            step, base = " " * self.indent, self.nl(depth)
            nxt = "(slice " + j + " (" + c._plus(p, 1) + ") (" + c._plus(p, 2) + "))"
            init = "{{ " + d + ' := "" }}'
            opening = ("{{ if or (eq " + nxt + ' "}") (eq ' + nxt + ' "]") }}{{ ' + one + " }}{{ else }}{{ " + one +
                       " }}{{ " + d + " = print " + d + " " + golit(step) + " }}" + gotext(base) + "{{ " + d +
                       " }}{{ end }}")
            prev = "(index " + j + " (len (slice " + j + " 1 " + p + ")))"    # the byte before (p >= 1 here)
            closing = ("{{ if or (eq " + prev + " 123) (eq " + prev + " 91) }}"
                       "{{ " + one + " }}{{ else }}{{ " + d + " = slice " + d + " " + str(self.indent) + " }}" +
                       gotext(base) + "{{ " + d + " }}{{ " + one + " }}{{ end }}")
            comma = gotext(item_sep + base) + "{{ " + d + " }}"
        chain = _undo_go_escape(u)
        return ("{{ " + j + " := json " + arg(go) + " }}{{ " + q + " := false }}{{ " + nx + " := 0 }}" + init +
                "{{ range " + p + " := len " + j + " }}{{ if ge " + p + " " + nx + " }}{{ " + b + " := index " + j +
                " " + p + " }}{{ if " + q + " }}{{ if eq " + b + " 34 }}{{ " + q + ' = false }}"'
                "{{ else if eq " + b + " 92 }}{{ " + e + " := slice " + j + " " + p + " (" + c._plus(p, 2) + ") }}"
                "{{ if eq " + e + ' "\\\\u" }}{{ ' + u + " := slice " + j + " " + p + " (" + c._plus(p, 6) + ") }}" +
                chain + "{{ " + nx + " = " + c._plus(p, 6) + " }}{{ else }}{{ " + e + " }}{{ " + nx + " = " +
                c._plus(p, 2) + " }}{{ end }}{{ else }}{{ " + one + " }}{{ end }}"
                "{{ else if eq " + b + " 34 }}{{ " + q + ' = true }}"'
                "{{ else if eq " + b + " 44 }}" + comma + "{{ else if eq " + b + " 58 }}" +
                gotext(self.key_sep) + "{{ else if or (eq " + b + " 123) (eq " + b + " 91) }}" + opening +
                "{{ else if or (eq " + b + " 125) (eq " + b + " 93) }}" + closing +
                "{{ else }}{{ " + one + " }}{{ end }}{{ end }}{{ end }}")


JSON_STRING_TEMPLATE = "publish: json string"   # the {{ define }} name (no Jinja macro can have it)

# The escapes Go's json writes in a string and Python's json.dumps(ensure_ascii=False) does not:
# (Go's \uXXXX, what Python writes). U+2028/U+2029 are printed from Go escapes in an action:
# Ollama's Modelfile parser drops them from template text.
_GO_ONLY_ESCAPES = [("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&"), ("\\u2028", '{{ "\\u2028" }}'),
                    ("\\u2029", '{{ "\\u2029" }}'), ("\\u0008", "\\b"), ("\\u000c", "\\f")]


def _undo_go_escape(u: str) -> str:
    """Go code printing the six-byte \\uXXXX escape held in Go variable `u` as Python writes it."""
    return "".join(("{{ if " if i == 0 else "{{ else if ") + "eq " + u + " " + golit(esc) + " }}" +
                   (plain if plain.startswith("{{") else gotext(plain))
                   for i, (esc, plain) in enumerate(_GO_ONLY_ESCAPES)) + "{{ else }}{{ " + u + " }}{{ end }}"


def _json_string_body() -> str:
    """The body of the `{{ define }}` printing its argument, a Go string, exactly as Python's
    json.dumps(ensure_ascii=False) writes it (transformers' tojson; publish/chat.py): Go's `json` of
    it (encoding/json, Ollama v0.24.0's template funcs) when that escapes nothing, else that text
    walked byte by byte with the escapes only Go writes undone (_GO_ONLY_ESCAPES); the escapes
    both write (\\" \\\\ \\n \\r \\t, \\u00XX for the other control characters) are kept. Not
    `printf "%q"`: Go's quoting writes \\x1b, \\x7f, \\a, \\v and \\u2028 where Python writes
    \\u001b, the character itself, \\u0007, \\u000b and the character itself. The rest of an
    escape is skipped with a string of pending bytes, not arithmetic: Go templates have none."""
    j, skip, p, r, u = "$_js", "$_skip", "$_p", "$_r", "$_u"
    walk = ("{{ " + skip + ' := "" }}{{ range ' + p + " := len " + j + " }}{{ if " + skip + " }}{{ " + skip +
            " = slice " + skip + " 1 }}{{ else }}{{ " + r + " := slice " + j + " " + p + " }}"
            "{{ if eq (index " + r + " 0) 92 }}{{ if eq (index " + r + " 1) 117 }}{{ " + u + " := slice " + r +
            " 0 6 }}" + _undo_go_escape(u) + "{{ " + skip + ' = "xxxxx" }}{{ else }}{{ slice ' + r +
            " 0 2 }}{{ " + skip + ' = "x" }}{{ end }}{{ else }}{{ slice ' + r + " 0 1 }}{{ end }}{{ end }}{{ end }}")
    # an escape makes the text longer than the string and its two quotes
    return ("{{ " + j + " := json . }}{{ if eq (len " + j + ') (len (printf "%s__" .)) }}{{ ' + j +
            " }}{{ else }}" + walk + "{{ end }}")


REPR_STRING_TEMPLATE = "publish: python repr string"


def _repr_string_body() -> str:
    """The body of the `{{ define }}` printing its argument, a Go string, as Python's repr() writes
    it (str() of a dict or list holding it; CPython's unicode_repr): between single quotes, or
    double quotes when the text holds a single quote and no double quote; a backslash and that
    quote escaped; \\t \\n \\r; \\xNN for other control characters, DEL and the unprintable
    characters up to U+00FF; \\uNNNN, \\UNNNNNNNN beyond. Go's `printf "%q"` of it, walked byte by
    byte twice (which quotes it holds; then the text with the escapes Go writes otherwise
    rewritten: \\a \\b \\f \\v, \\u00NN, \\"). Printable means unicode.IsPrint (Go's Unicode
    tables) where Python asks str.isprintable: the same categories, the Unicode versions may differ."""
    q, skip, p, r, sq, dq, qt = "$_qs", "$_skip", "$_p", "$_r", "$_sq", "$_dq", "$_qt"
    head = "{{ " + skip + ' := "" }}{{ range ' + p + " := len " + q + " }}{{ if " + skip + " }}{{ " + skip + \
        " = slice " + skip + " 1 }}{{ else }}{{ " + r + " := slice " + q + " " + p + " }}"
    tail = "{{ end }}{{ end }}"
    scan = (head + "{{ if eq (index " + r + " 0) 39 }}{{ " + sq + " = true }}{{ else if eq (index " + r + " 0) 92 }}"
            "{{ if eq (index " + r + " 1) 34 }}{{ " + dq + " = true }}{{ end }}{{ " + skip + ' = "x" }}{{ end }}' +
            tail)
    two = [(97, "\\x07"), (98, "\\x08"), (102, "\\x0c"), (118, "\\x0b"), (34, '"')]
    escape = ("".join(("{{ if " if i == 0 else "{{ else if ") + "eq (index " + r + " 1) " + str(b) + " }}" + gotext(t)
                      for i, (b, t) in enumerate(two)) +
              "{{ else if eq (index " + r + " 1) 117 }}{{ if eq (slice " + r + ' 2 4) "00" }}' + gotext("\\x") +
              "{{ slice " + r + " 4 6 }}{{ else }}{{ slice " + r + " 0 6 }}{{ end }}{{ " + skip + ' = "xxxx" }}'
              "{{ else }}{{ slice " + r + " 0 2 }}{{ end }}{{ " + skip + " = print " + skip + ' "x" }}')
    write = (head + "{{ if eq (index " + r + " 0) 34 }}{{ " + qt + " }}{{ else if eq (index " + r + " 0) 39 }}"
             "{{ if eq " + qt + " " + golit("'") + " }}" + gotext("\\'") + "{{ else }}'{{ end }}"
             "{{ else if eq (index " + r + " 0) 92 }}" + escape + "{{ else }}{{ slice " + r + " 0 1 }}{{ end }}" + tail)
    return ("{{ " + q + ' := printf "%q" . }}{{ ' + sq + " := false }}{{ " + dq + " := false }}" + scan +
            "{{ " + qt + " := " + golit("'") + " }}{{ if and " + sq + " (not " + dq + ") }}{{ " + qt + " = " +
            golit('"') + " }}{{ end }}" + write)


def _written_texts(ast) -> list[str]:
    """The template's literal text and string constants (what it can write or compare against;
    comments are not in the AST)."""
    return [n.data for n in ast.find_all(J.TemplateData)] + \
        [n.value for n in ast.find_all(J.Const) if isinstance(n.value, str)]


_THINKING_VAR = re.compile(r"(\$_\w+) :?= \(?[^{}]*\.Thinking\)? }}")
_GO_PIECE = re.compile(r"\{\{ ([^{}]*) \}\}|[^{}]+|[{}]")
_CONTROL = re.compile(r"^(if |else|end$|\$_\w+ :?= )")


def _printed_think_tags(go: str) -> tuple[str, str] | None:
    """The tags around the first reasoning trace the Go body prints between two texts, the way
    Ollama's thinking.InferTags reads them (trimmed text before and after `{{ .Thinking }}`;
    thinking/template.go, v0.24.0): a message's `.Thinking` printed directly or through a variable
    set from it (trimmed: `slice $_s a b`), looking past the conditions around it (`{{ if }}`,
    `{{ else }}`, `{{ end }}`, assignments: a macro's branches) to the nearest text on each side.
    The last line of the text before and the first line of the text after; None when either is
    missing."""
    # run-time BOS tracking marks printed text ($_o); those marks are no text break
    go = re.sub(r"\{\{ if [^{}]+ \}\}\{\{ \$_o = true \}\}\{\{ end \}\}", "", go).replace("{{ $_o = true }}", "")
    names = {m.group(1) for m in _THINKING_VAR.finditer(go)}
    pieces: list[tuple[str | None, str]] = []     # (action or None for text, text); a brace alone is text
    for m in _GO_PIECE.finditer(go):
        if m.group(1) is None and pieces and pieces[-1][0] is None:
            pieces[-1] = (None, pieces[-1][1] + m.group(0))
        else:
            pieces.append((m.group(1), m.group(0)))

    def is_thinking(expr: str) -> bool:
        words = expr.replace("(", " ").replace(")", " ").split()
        return bool(words) and (expr.endswith(".Thinking") and " " not in expr or words[0] in names or
                                words[0] == "slice" and len(words) > 1 and words[1] in names)

    def text_near(i: int, step: int) -> str:
        while 0 <= i < len(pieces):
            action, text = pieces[i]
            if action is None:
                if text.strip():
                    return text.strip()
            elif not _CONTROL.match(action):
                return ""     # something else is printed in between
            i += step
        return ""

    for i, (action, _) in enumerate(pieces):
        if action is None or _CONTROL.match(action) or not is_thinking(action):
            continue
        before, after = text_near(i - 1, -1), text_near(i + 1, 1)
        if before and after:
            return before.splitlines()[-1].strip(), after.splitlines()[0].strip()
    return None

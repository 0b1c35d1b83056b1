"""Executor for parsed Go templates, following text/template's exec.go semantics.

Values are modelled as described in values.py. `missingkey` is "zero" (Ollama's setting: a missing
map key yields a nil interface, which prints `<no value>`) or "default" (yields an invalid value).
"""

from __future__ import annotations

import time

from ..errors import TemplateError
from . import funcs as F
from .gofmt import format_value, quote
from .nodes import (ActionNode, BoolNode, BreakNode, ChainNode, CommentNode, ContinueNode,
                    DotNode, FieldNode, IdentifierNode, IfNode, ListNode, NilNode, NumberNode,
                    PipeNode, RangeNode, StringNode, TemplateNode, TextNode, VariableNode,
                    WithNode)
from .values import MISSING, GoMap, GoStruct, go_type_name, is_true

MAX_DEPTH = 1000  # Go allows 100000 nested {{template}} calls; Python's stack does not.
# Templates come from strangers: bound the work so a hostile template cannot hang or exhaust
# memory. Real chat templates are far below every bound (a prompt renders in well under 1 ms).
# - steps: range iterations + template calls;
# - characters: the output plus every string a function is given or returns (a value kept in a
#   variable never reaches the output, and `len`, `slice`, `js` of a 1 MB string 200,000 times
#   was minutes of work from a 230-byte template); this bounds memory too (each character is at
#   most 4 bytes in Python);
# - wall-clock seconds, checked at every step and function call, for whatever else remains.
MAX_STEPS = 200_000
MAX_OUTPUT = 64 * 1024 * 1024
MAX_CHARS = 64 * 1024 * 1024
MAX_SECONDS = 5.0

NO_FINAL = object()  # Go's missingVal: no value piped in from a previous command


class ExecError(TemplateError):
    """A Go template failed while executing; str() reads like Go's error."""

    def __init__(self, message: str, *, name: str, line: int, col: int, context: str,
                 tmpl_name: str):
        self.go_message = (f"template: {name}:{line}:{col}: executing {quote(tmpl_name)} at "
                           f"<{context}>: {message}")
        super().__init__(f"executing {quote(tmpl_name)} at <{context}>: {message}", name=name,
                         line=line, col=col)
        self.args = (self.go_message,)

    def __str__(self) -> str:
        return self.go_message


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class State:
    """One execution: the template set, the output so far, the variable stack, the node being run
    (for error positions), missingkey mode, the function table, and the bounds (steps,
    characters, the deadline) that stop a hostile template (Go text/template exec.go, Go 1.23)."""
    __slots__ = ("trees", "tree", "out", "vars", "node", "depth", "missing_zero", "funcs",
                 "parse_name", "text", "iface", "steps", "out_len", "chars", "deadline")

    def __init__(self, trees, tree, funcs, missing_zero, text, parse_name):
        self.trees = trees
        self.tree = tree
        self.funcs = funcs
        self.missing_zero = missing_zero
        self.out: list[str] = []
        self.out_len = 0
        self.vars: list[list] = []
        self.node = None
        self.depth = 0
        self.iface = False  # last field lookup yielded an interface{} (map[string]any element)
        self.steps = 0
        self.chars = 0   # characters given to and returned by functions
        self.deadline = time.monotonic() + MAX_SECONDS
        self.text = text
        self.parse_name = parse_name

    # -- errors ----------------------------------------------------------------------------
    def errorf(self, msg: str):
        """Raise ExecError at the current node: Go's `template: NAME:LINE:COL: executing "NAME" at
        <NODE>: msg`, with line and column."""
        node = self.node
        pos = node.pos if node is not None else 0
        text = self.text[:pos]
        nl = text.rfind("\n")
        col = len(text.encode("utf-8")) if nl < 0 else len(text[nl + 1:].encode("utf-8"))
        line = 1 + text.count("\n")
        raise ExecError(msg, name=self.parse_name, line=line, col=col,
                        context=str(node) if node is not None else "",
                        tmpl_name=self.tree.name)

    def step(self) -> None:
        """Count one loop iteration or template call; ExecError past MAX_STEPS (200,000), and the
        deadline is checked."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            self.errorf(f"template runs more than {MAX_STEPS} loop iterations or template calls; "
                        "refusing to continue")
        if self.out_len > MAX_OUTPUT:
            self.errorf(f"template output exceeds {MAX_OUTPUT} characters; refusing to continue")
        self.check_time()

    def check_time(self) -> None:
        """ExecError once the run has taken more than MAX_SECONDS (5 s) of wall-clock time."""
        if time.monotonic() > self.deadline:
            self.errorf(f"template runs longer than {MAX_SECONDS:g} s; refusing to continue")

    def spend(self, n: int) -> None:
        """Account for n characters a function reads or writes."""
        self.chars += n
        if self.chars + self.out_len > MAX_CHARS:
            self.errorf(f"template functions handle more than {MAX_CHARS} characters; refusing to continue")

    # -- variables -------------------------------------------------------------------------
    def var_value(self, name: str):
        """The value of variable `name` (innermost first); ExecError "undefined variable"
        otherwise."""
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                return self.vars[i][1]
        self.errorf(f"undefined variable: {name}")

    def set_var(self, name: str, value) -> None:
        """Assign (`=`) to the innermost variable `name`; ExecError "undefined variable"
        otherwise."""
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i][1] = value
                return
        self.errorf(f"undefined variable: {name}")

    # -- walking ---------------------------------------------------------------------------
    def walk(self, dot, node) -> None:
        """Run `node` with cursor `dot`, appending to the output (text, actions, if/range/with,
        template calls, break/continue) (Go text/template exec.go, Go 1.23)."""
        t = type(node)
        if t is TextNode:
            self.out.append(node.text)
            self.out_len += len(node.text)
        elif t is ListNode:
            for n in node.nodes:
                self.walk(dot, n)
        elif t is ActionNode:
            self.node = node
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.print_value(node, val)
        elif t is IfNode or t is WithNode:
            self.walk_if_or_with(dot, node, t is WithNode)
        elif t is RangeNode:
            self.walk_range(dot, node)
        elif t is TemplateNode:
            self.walk_template(dot, node)
        elif t is BreakNode:
            raise _Break
        elif t is ContinueNode:
            raise _Continue
        elif t is CommentNode:
            pass
        else:
            self.node = node
            self.errorf(f"unknown node: {node}")

    def print_value(self, node, v) -> None:
        """Append a value as Go's template prints it (fmt's %v; a missing value as `<no value>`);
        ExecError for a function value, which cannot be printed."""
        if type(v) is not str:
            if callable(v) and not isinstance(v, (GoStruct, list, dict)):
                self.node = node
                self.errorf(f"can't print {node} of type {go_type_name(v)}")
            v = printed(v)
        self.out.append(v)
        self.out_len += len(v)
        if self.out_len > MAX_OUTPUT:
            self.node = node
            self.errorf(f"template output exceeds {MAX_OUTPUT} characters; refusing to continue")

    def walk_if_or_with(self, dot, node, is_with: bool) -> None:
        """Run an if or with: the list when the pipeline's value is true (with: as the new cursor),
        else the else list; variables declared inside end with it."""
        mark = len(self.vars)
        try:
            self.node = node
            val = self.eval_pipeline(dot, node.pipe)
            truth, ok = is_true(val)
            if not ok:
                self.errorf(f"if/with can't use {format_value(val)}")
            if truth:
                self.walk(val if is_with else dot, node.list)
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot, node) -> None:
        """Run a range over a slice, a map (keys in Go's sorted order) or an integer (Go 1.22+),
        with `$i, $v :=` declarations, break and continue, and the else list when there is
        nothing to range over. ExecError for a value that cannot be ranged over."""
        mark0 = len(self.vars)
        try:
            self.node = node
            val = self.eval_pipeline(dot, node.pipe)
            decl = node.pipe.decl
            mark = len(self.vars)
            vars_ = self.vars

            def one(index, elem):
                self.step()
                if decl:
                    if node.pipe.is_assign:
                        if len(decl) > 1:
                            self.set_var(decl[0].ident[0], index)
                            self.set_var(decl[1].ident[0], elem)
                        else:
                            self.set_var(decl[0].ident[0], elem)
                    else:
                        vars_[-1][1] = elem
                        if len(decl) > 1:
                            vars_[-2][1] = index
                try:
                    self.walk(elem, node.list)
                except _Continue:
                    pass
                finally:
                    del vars_[mark:]

            try:
                if val is MISSING:
                    pass
                elif isinstance(val, list):
                    if val:
                        for i, elem in enumerate(val):
                            one(i, elem)
                        return
                elif isinstance(val, dict):
                    if val:
                        for k, v in F.sorted_map_items(val):
                            one(k, v)
                        return
                elif type(val) is int or type(val) is F.Uint8:
                    if len(decl) > 1:
                        self.errorf(f"can't use {val} to iterate over more than one variable")
                    if val > 0:
                        for i in range(val):
                            one(i, i)
                        return
                else:
                    self.errorf(f"range can't iterate over {format_value(val)}")
            except _Break:
                return
            if node.else_list is not None:
                self.walk(dot, node.else_list)
        finally:
            del self.vars[mark0:]

    def walk_template(self, dot, node) -> None:
        """Run `{{template "name" pipeline}}` with the pipeline's value as the new cursor and a
        fresh variable scope. ExecError for an undefined template or nesting past MAX_DEPTH
        (1000; Go allows 100000)."""
        self.node = node
        tree = self.trees.get(node.name)
        if tree is None:
            self.errorf(f"template {quote(node.name)} not defined")
        if self.depth >= MAX_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_DEPTH})")
        self.step()
        dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        saved = (self.tree, self.vars)
        self.tree = tree
        self.vars = [["$", dot]]
        self.depth += 1
        try:
            self.walk(dot, tree.root)
        finally:
            self.depth -= 1
            self.tree, self.vars = saved

    # -- evaluation ------------------------------------------------------------------------
    def eval_pipeline(self, dot, pipe: PipeNode):
        """The value of a pipeline: each command's value piped into the next as its final argument;
        declarations and assignments applied."""
        if pipe is None:
            return MISSING
        self.node = pipe
        value = NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
            if value is None:
                value = MISSING  # an interface{} holding nil is dug out into an invalid value
        for v in pipe.decl:
            if pipe.is_assign:
                self.set_var(v.ident[0], value)
            else:
                self.vars.append([v.ident[0], value])
        return value

    def not_a_function(self, args, final) -> None:
        """ExecError "can't give argument to non-function" when a non-function operand is given
        arguments or a piped value."""
        if (args is not None and len(args) > 1) or final is not NO_FINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot, cmd, final):
        """The value of one command: a field, chain, variable, function call, parenthesised pipeline
        or constant, with `final` the value piped in (NO_FINAL: none)."""
        first = cmd.args[0]
        t = type(first)
        if t is FieldNode:
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if t is VariableNode:
            return self.eval_variable_node(dot, first, cmd.args, final)
        if t is IdentifierNode:
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if t is ChainNode:
            return self.eval_chain_node(dot, first, cmd.args, final)
        if t is PipeNode:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        self.node = first
        self.not_a_function(cmd.args, final)
        if t is StringNode:
            return first.text
        if t is BoolNode:
            return first.value
        if t is DotNode:
            return dot
        if t is NilNode:
            self.errorf("nil is not a command")
        if t is NumberNode:
            return self.ideal_constant(first)
        self.errorf(f"can't evaluate command {quote(str(first))}")

    def ideal_constant(self, c: NumberNode):
        """The Go value of an untyped numeric constant as an operand (int when it is an integer
        literal, else float64 or complex128), with Go's errors for constants that overflow int."""
        self.node = c
        if c.is_complex:
            return c.complex128
        if c.is_float and not _is_hex_int(c.text) and not _is_rune_int(c.text) \
                and any(ch in c.text for ch in ".eEpP"):
            return c.float64
        if c.is_int:
            return c.int64
        if c.is_uint:
            self.errorf(f"{c.text} overflows int")
        return MISSING

    def eval_chain_node(self, dot, chain, args, final):
        """`(term).A.B`: the fields looked up on the term's value. ExecError for an indirection
        through an explicit nil."""
        self.node = chain
        if not chain.field:
            self.errorf("internal error: no fields in evalChainNode")
        if type(chain.node) is NilNode:
            self.errorf(f"indirection through explicit nil in {chain}")
        pipe = self.eval_arg(dot, F.T_NONE, chain.node)
        return self.eval_field_chain(dot, pipe, chain, chain.field, args, final)

    def eval_variable_node(self, dot, var, args, final):
        """`$x` or `$x.A.B`: the variable's value, then its fields."""
        self.node = var
        value = self.var_value(var.ident[0])
        if len(var.ident) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, var, var.ident[1:], args, final)

    def eval_field_chain(self, dot, receiver, node, ident, args, final):
        """Look up the field names `ident` one after another from `receiver`, the last one with the
        arguments."""
        n = len(ident)
        self.iface = False
        for i in range(n - 1):
            receiver = self.eval_field(dot, ident[i], node, None, NO_FINAL, receiver)
        return self.eval_field(dot, ident[n - 1], node, args, final, receiver)

    def eval_field(self, dot, name, node, args, final, receiver):
        """One field or method of `receiver`: a struct field, a method (called with the arguments),
        or a map key (missingkey decides a missing one: zero gives the element's zero value,
        default `<no value>`). ExecError for nil pointers, unexported or unknown fields, with
        Go's messages."""
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            self.node = node
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        methods = getattr(receiver, "methods", None)
        if methods and name in methods:
            nargs = (len(args) - 1 if args else 0) + (final is not NO_FINAL)
            if nargs:
                self.node = node
                self.errorf(f"wrong number of args for {name}: want 0 got {nargs}")
            return methods[name](receiver)
        has_args = (args is not None and len(args) > 1) or final is not NO_FINAL
        if isinstance(receiver, dict):
            if has_args:
                self.node = node
                self.errorf(f"{name} is not a method but has arguments")
            self.iface = "interface {}" in getattr(receiver, "type_name", "interface {}")
            try:
                return receiver[name]
            except KeyError:
                if self.missing_zero:
                    if isinstance(receiver, GoMap) and receiver.type_name != \
                            "map[string]interface {}":
                        return F.map_zero(receiver)
                    return None
                return MISSING
        if isinstance(receiver, GoStruct):
            if receiver.has(name):
                if has_args:
                    self.node = node
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                self.iface = name in receiver.any_fields
                return receiver.get(name)
        self.node = node
        typ = "interface {}" if self.iface else go_type_name(receiver)
        self.errorf(f"can't evaluate field {name} in type {typ}")

    def eval_function(self, dot, node, cmd, args, final):
        """Call the function `node` names (from the function table) with the command's arguments;
        ExecError for an undefined function."""
        self.node = node
        name = node.ident
        fn = self.funcs.get(name)
        if fn is None:
            self.errorf(f"{quote(name)} is not a defined function")
        return self.eval_call(dot, fn, cmd, name, args, final)

    def eval_call(self, dot, fn: F.Func, node, name, args, final):
        """Call `fn` with the arguments converted to its parameter types (fixed, then variadic), the
        piped value last; and/or short-circuit. Checks the argument count and wraps the
        function's error as Go's "error calling NAME: ..." (ExecError)."""
        args = args[1:] if args is not None else []
        num_in = len(args) + (final is not NO_FINAL)
        nfixed = len(fn.fixed)
        if fn.variadic is not None:
            if num_in < nfixed:
                self.errorf(f"wrong number of args for {name}: want at least {nfixed} got "
                            f"{len(args)}")
        elif num_in != nfixed:
            self.errorf(f"wrong number of args for {name}: want {nfixed} got {num_in}")

        if fn.short_circuit:
            want = name == "or"
            v = MISSING
            for a in args:
                v = self.eval_arg(dot, F.T_VALUE, a)
                if F.truth(v) == want:
                    return v
            if final is not NO_FINAL:
                v = self.validate_type(final, F.T_VALUE)
            return v

        argv = []
        i = 0
        while i < nfixed and i < len(args):
            argv.append(self.eval_arg(dot, fn.fixed[i], args[i]))
            i += 1
        if fn.variadic is not None:
            while i < len(args):
                a = args[i]
                self.iface = False
                argv.append(self.eval_arg(dot, fn.variadic, a))
                if fn.impl is F.slice_ and self.iface and type(a) in (FieldNode, ChainNode) \
                        or (type(a) is VariableNode and len(a.ident) > 1 and self.iface
                            and fn.impl is F.slice_):
                    # slice does not look inside an interface{} index, unlike index/eq/len
                    if argv[-1] is not MISSING:
                        self.node = node
                        self.errorf(f"error calling {name}: cannot index slice/array with type "
                                    f"interface {{}}")
                i += 1
        if final is not NO_FINAL:
            if fn.variadic is not None and len(fn.fixed) <= num_in - 1:
                t = fn.variadic
            else:
                t = fn.fixed[num_in - 1]
            argv.append(self.validate_type(final, t))
        self.node = node
        self.spend(_size(argv))  # before the call: its cost grows with what it is given
        try:
            if fn.impl is F.printf:  # the one function whose output can dwarf its input (widths)
                result = F.printf(*argv, limit=MAX_CHARS - self.chars - self.out_len)
            else:
                result = fn.impl(*argv)
        except F.FuncError as e:
            self.node = node
            self.errorf(f"error calling {name}: {e}")
        self.node = node
        if type(result) is str:
            if len(result) > MAX_OUTPUT:
                # a value kept in a variable never reaches the output bound: doubling it in a loop
                # would exhaust memory in a few dozen steps
                self.errorf(f"error calling {name}: result exceeds {MAX_OUTPUT} characters; refusing to continue")
            self.spend(len(result))
        self.check_time()
        return result

    def validate_type(self, value, typ):
        """`value` as an argument of Go type `typ` (reflect.Value, interface{}, string, ...): a
        missing value becomes that type's zero or an error, a value of another type an ExecError
        "wrong type for value"."""
        if value is MISSING:
            if typ is F.T_NONE or typ is F.T_VALUE:
                return MISSING
            if typ is F.T_ANY:
                return None
            self.errorf(f"invalid value; expected {F.type_label(typ)}")
        if typ is F.T_VALUE or typ is F.T_ANY or typ is F.T_NONE:
            return value
        if typ is F.T_STRING:
            if type(value) is str:
                return value
            self.errorf(f"wrong type for value; expected string; got "
                        f"{'interface {}' if value is None else go_type_name(value)}")
        return value

    def eval_arg(self, dot, typ, n):
        """An argument node evaluated for a parameter of type `typ` (dot, nil, constants, fields,
        variables, nested pipelines), checked by validate_type."""
        self.node = n
        t = type(n)
        if t is DotNode:
            return self.validate_type(dot, typ)
        if t is NilNode:
            if typ is F.T_ANY:
                return None
            if typ is F.T_VALUE:
                return MISSING
            self.errorf(f"cannot assign nil to {F.type_label(typ)}")
        if t is FieldNode:
            return self.validate_type(
                self.eval_field_chain(dot, dot, n, n.ident, [n], NO_FINAL), typ)
        if t is VariableNode:
            return self.validate_type(self.eval_variable_node(dot, n, None, NO_FINAL), typ)
        if t is PipeNode:
            return self.validate_type(self.eval_pipeline(dot, n), typ)
        if t is IdentifierNode:
            return self.validate_type(self.eval_function(dot, n, n, None, NO_FINAL), typ)
        if t is ChainNode:
            return self.validate_type(self.eval_chain_node(dot, n, None, NO_FINAL), typ)
        # constants
        if typ is F.T_STRING:
            if t is StringNode:
                return n.text
            self.errorf(f"expected string; found {n}")
        if t is BoolNode:
            return n.value
        if t is StringNode:
            return n.text
        if t is NumberNode:
            return self.ideal_constant(n)
        self.errorf(f"can't handle assignment of {n} to empty interface argument")


def _size(argv: list) -> int:
    """Characters (strings) and items (lists, maps) a function is handed."""
    n = 0
    for a in argv:
        if type(a) is str or isinstance(a, (list, dict)):
            n += len(a)
    return n


def _is_hex_int(s: str) -> bool:
    return len(s) > 2 and s[0] == "0" and s[1] in "xX" and not any(c in s for c in "pP")


def printed(v) -> str:
    """The text `{{ v }}` prints for a printable value that is not a str: fmt's %v, a pointer to a
    struct dereferenced first (Go text/template exec.go printableValue, Go 1.23)."""
    if isinstance(v, GoStruct) and v.pointer:
        return "{" + " ".join(format_value(x, 1) for x in v.values()) + "}"
    return format_value(v)


def _is_rune_int(s: str) -> bool:
    return len(s) > 0 and s[0] == "'"


USE_COMPILED = True  # False: every execution walks the tree (tests compare the two)


def _program(trees, tree, funcs, missing_zero):
    """The compiled form of the template set `trees`, kept on its entry tree per (set, functions,
    missingkey). Compiled anew when the entry tree's node list changed length (Ollama appends
    {{ .Response }} to a parsed template; trees are not changed otherwise). None when it cannot be
    compiled (the executor then always walks the tree)."""
    programs = tree.__dict__.get("programs")
    if programs is None:
        programs = tree.programs = {}
    key = (id(trees), id(funcs), missing_zero)
    hit = programs.get(key)
    size = len(tree.root.nodes)
    if hit is not None and hit[0] is trees and hit[1] is funcs and hit[2] == size:
        return hit[3]
    from .codegen import Program
    try:
        program = Program(trees, funcs, missing_zero)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        program = None  # e.g. more nested blocks than Python compiles
    programs[key] = (trees, funcs, size, program)
    return program


def execute(trees, name: str, data, funcs, *, missing_zero: bool, text: str,
            parse_name: str, compiled: bool | None = None) -> str:
    """Run template `name` of the set `trees` on `data`: Go's output, or ExecError as Go words it.

    The set is compiled to Python once (codegen.py) and that code runs first; when it gives up
    (an error, a limit coming near, a construct it does not compile) the tree is walked here from
    the start, which gives Go's exact output or error. compiled=False walks the tree only (the
    reference the compiled code is tested against); None: USE_COMPILED. Raises TemplateError
    when `name` is not a template of the set or is empty (Go's "incomplete or empty template"),
    ExecError (a TemplateError) for what Go's Execute refuses.
    """
    if compiled is None:
        compiled = USE_COMPILED
    tree = trees.get(name)
    if tree is None or tree.root is None:
        raise TemplateError(f"template: {name}: {quote(name)} is an incomplete or empty template",
                            name=name)
    deadline = time.monotonic() + MAX_SECONDS
    timed_out = False
    if compiled:
        program = _program(trees, tree, funcs, missing_zero)
        if program is not None:
            out, timed_out = program.run(name, data, deadline)
            if out is not None:
                return F.go_text(out)
    st = State(trees, tree, funcs, missing_zero, text, parse_name)
    if timed_out:
        st.deadline = deadline  # already past: the walk stops at its first check
    st.vars.append(["$", data])
    try:
        st.walk(data, tree.root)
    except RecursionError:
        st.errorf(f"exceeded maximum template depth ({MAX_DEPTH})")
    # Go writes raw bytes; a string cut inside a character shows as U+FFFD once decoded
    return F.go_text("".join(st.out))

"""Parse tree of a Go template. Node kinds and their String() forms mirror text/template/parse."""

from __future__ import annotations


class Node:
    """A parse-tree node: its character offset `pos` in the template and its 1-based `line` (0 when
    not recorded). str() gives the node's source form as Go's String() does (Go
    text/template/parse node.go, Go 1.23)."""
    __slots__ = ("pos", "line")

    def __init__(self, pos: int, line: int = 0):
        self.pos = pos
        self.line = line


class ListNode(Node):
    """A sequence of nodes (a template body, a branch's list) (Go text/template/parse node.go, Go
    1.23)."""
    __slots__ = ("nodes",)

    def __init__(self, pos, nodes=None):
        super().__init__(pos)
        self.nodes = nodes if nodes is not None else []

    def __str__(self):
        return "".join(str(n) for n in self.nodes)


class TextNode(Node):
    """Plain text between actions, kept exactly (trimming already applied) (Go text/template/parse
    node.go, Go 1.23)."""
    __slots__ = ("text",)

    def __init__(self, pos, text):
        super().__init__(pos)
        self.text = text

    def __str__(self):
        from .gofmt import quote
        return quote(self.text)


class CommentNode(Node):
    """A `{{/* ... */}}` comment, kept in the tree (Go keeps it only in ParseComments mode; it
    prints nothing either way) (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ("text",)

    def __init__(self, pos, text):
        super().__init__(pos)
        self.text = text

    def __str__(self):
        return "{{" + self.text + "}}"


class PipeNode(Node):
    """A pipeline: its commands joined by `|`, the variables it declares (`decl`) and whether it
    assigns (`=`) rather than declares (`:=`) (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ("is_assign", "decl", "cmds")

    def __init__(self, pos, line, decl):
        super().__init__(pos, line)
        self.is_assign = False
        self.decl = decl
        self.cmds = []

    def __str__(self):
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    """A `{{pipeline}}` action whose value is printed (when it declares nothing) (Go
    text/template/parse node.go, Go 1.23)."""
    __slots__ = ("pipe",)

    def __init__(self, pos, line, pipe):
        super().__init__(pos, line)
        self.pipe = pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


class CommandNode(Node):
    """One command of a pipeline: its arguments (a function or field and what it is called with) (Go
    text/template/parse node.go, Go 1.23)."""
    __slots__ = ("args",)

    def __init__(self, pos):
        super().__init__(pos)
        self.args = []

    def __str__(self):
        out = []
        for a in self.args:
            if isinstance(a, PipeNode):
                out.append("(" + str(a) + ")")
            else:
                out.append(str(a))
        return " ".join(out)


class IdentifierNode(Node):
    """A function name in a command (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ("ident",)

    def __init__(self, pos, ident):
        super().__init__(pos)
        self.ident = ident

    def __str__(self):
        return self.ident


class VariableNode(Node):
    """`$` or `$name`, possibly followed by fields (`$x.A.B`, as a list in `ident`) (Go
    text/template/parse node.go, Go 1.23)."""
    __slots__ = ("ident",)

    def __init__(self, pos, ident: str):
        super().__init__(pos)
        self.ident = ident.split(".")

    def __str__(self):
        return ".".join(self.ident)


class DotNode(Node):
    """The cursor `.` (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ()

    def __str__(self):
        return "."


class NilNode(Node):
    """The untyped `nil` (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ()

    def __str__(self):
        return "nil"


class FieldNode(Node):
    """A field chain on the cursor, `.A.B` (`ident` the names) (Go text/template/parse node.go, Go
    1.23)."""
    __slots__ = ("ident",)

    def __init__(self, pos, ident: str):
        super().__init__(pos)
        self.ident = ident[1:].split(".")

    def __str__(self):
        return "".join("." + i for i in self.ident)


class ChainNode(Node):
    """Fields on a non-field term, `(pipe).A.B` (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ("node", "field")

    def __init__(self, pos, node):
        super().__init__(pos)
        self.node = node
        self.field = []

    def add(self, field: str):
        """Append the fields of `.A.B` (given with its leading dot) to the chain."""
        self.field.extend(f for f in field[1:].split("."))

    def __str__(self):
        s = str(self.node)
        if isinstance(self.node, PipeNode):
            s = "(" + s + ")"
        return s + "".join("." + f for f in self.field)


class BoolNode(Node):
    """A `true`/`false` constant (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ("value",)

    def __init__(self, pos, value):
        super().__init__(pos)
        self.value = value

    def __str__(self):
        return "true" if self.value else "false"


class NumberNode(Node):
    """A numeric constant with every Go type it can be (int64, uint64, float64, complex128) as Go's
    newNumber decides them, and its source `text` (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ("is_int", "is_uint", "is_float", "is_complex", "int64", "uint64", "float64",
                 "complex128", "text")

    def __init__(self, pos, text):
        super().__init__(pos)
        self.text = text
        self.is_int = self.is_uint = self.is_float = self.is_complex = False
        self.int64 = self.uint64 = 0
        self.float64 = 0.0
        self.complex128 = 0j

    def __str__(self):
        return self.text


class StringNode(Node):
    """A string constant: its source form (`quoted`) and its value (`text`) (Go text/template/parse
    node.go, Go 1.23)."""
    __slots__ = ("quoted", "text")

    def __init__(self, pos, quoted, text):
        super().__init__(pos)
        self.quoted = quoted
        self.text = text

    def __str__(self):
        return self.quoted


class BranchNode(Node):
    """The shape if, range and with share: a pipeline, the list run when it holds, and the `else`
    list (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ("pipe", "list", "else_list")
    keyword = ""

    def __init__(self, pos, line, pipe, list_, else_list):
        super().__init__(pos, line)
        self.pipe = pipe
        self.list = list_
        self.else_list = else_list

    def __str__(self):
        s = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            s += "{{else}}" + str(self.else_list)
        return s + "{{end}}"


class IfNode(BranchNode):
    """`{{if pipeline}} ... {{else}} ... {{end}}` (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    """`{{range pipeline}} ... {{else}} ... {{end}}` (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    """`{{with pipeline}} ... {{else}} ... {{end}}` (and `else with`) (Go text/template/parse
    node.go, Go 1.23)."""
    __slots__ = ()
    keyword = "with"


class BreakNode(Node):
    """`{{break}}` inside a range (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ()

    def __str__(self):
        return "{{break}}"


class ContinueNode(Node):
    """`{{continue}}` inside a range (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ()

    def __str__(self):
        return "{{continue}}"


class TemplateNode(Node):
    """`{{template "name" pipeline}}`: the template `name` run with the pipeline's value (Go
    text/template/parse node.go, Go 1.23)."""
    __slots__ = ("name", "pipe")

    def __init__(self, pos, line, name, pipe):
        super().__init__(pos, line)
        self.name = name
        self.pipe = pipe

    def __str__(self):
        from .gofmt import quote
        if self.pipe is None:
            return "{{template " + quote(self.name) + "}}"
        return "{{template " + quote(self.name) + " " + str(self.pipe) + "}}"


class EndNode(Node):
    """`{{end}}`, only while parsing (it closes a branch and is not kept) (Go text/template/parse
    node.go, Go 1.23)."""
    __slots__ = ()

    def __str__(self):
        return "{{end}}"


class ElseNode(Node):
    """`{{else}}`, only while parsing (Go text/template/parse node.go, Go 1.23)."""
    __slots__ = ()

    def __str__(self):
        return "{{else}}"

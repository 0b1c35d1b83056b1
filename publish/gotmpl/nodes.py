"""Parse tree of a Go template. Node kinds and their String() forms mirror text/template/parse."""

from __future__ import annotations


class Node:
    __slots__ = ("pos", "line")

    def __init__(self, pos: int, line: int = 0):
        self.pos = pos
        self.line = line


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos, nodes=None):
        super().__init__(pos)
        self.nodes = nodes if nodes is not None else []

    def __str__(self):
        return "".join(str(n) for n in self.nodes)


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos, text):
        super().__init__(pos)
        self.text = text

    def __str__(self):
        from .gofmt import quote
        return quote(self.text)


class CommentNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos, text):
        super().__init__(pos)
        self.text = text

    def __str__(self):
        return "{{" + self.text + "}}"


class PipeNode(Node):
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
    __slots__ = ("pipe",)

    def __init__(self, pos, line, pipe):
        super().__init__(pos, line)
        self.pipe = pipe

    def __str__(self):
        return "{{" + str(self.pipe) + "}}"


class CommandNode(Node):
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
    __slots__ = ("ident",)

    def __init__(self, pos, ident):
        super().__init__(pos)
        self.ident = ident

    def __str__(self):
        return self.ident


class VariableNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos, ident: str):
        super().__init__(pos)
        self.ident = ident.split(".")

    def __str__(self):
        return ".".join(self.ident)


class DotNode(Node):
    __slots__ = ()

    def __str__(self):
        return "."


class NilNode(Node):
    __slots__ = ()

    def __str__(self):
        return "nil"


class FieldNode(Node):
    __slots__ = ("ident",)

    def __init__(self, pos, ident: str):
        super().__init__(pos)
        self.ident = ident[1:].split(".")

    def __str__(self):
        return "".join("." + i for i in self.ident)


class ChainNode(Node):
    __slots__ = ("node", "field")

    def __init__(self, pos, node):
        super().__init__(pos)
        self.node = node
        self.field = []

    def add(self, field: str):
        self.field.extend(f for f in field[1:].split("."))

    def __str__(self):
        s = str(self.node)
        if isinstance(self.node, PipeNode):
            s = "(" + s + ")"
        return s + "".join("." + f for f in self.field)


class BoolNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos, value):
        super().__init__(pos)
        self.value = value

    def __str__(self):
        return "true" if self.value else "false"


class NumberNode(Node):
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
    __slots__ = ("quoted", "text")

    def __init__(self, pos, quoted, text):
        super().__init__(pos)
        self.quoted = quoted
        self.text = text

    def __str__(self):
        return self.quoted


class BranchNode(Node):
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
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class BreakNode(Node):
    __slots__ = ()

    def __str__(self):
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ()

    def __str__(self):
        return "{{continue}}"


class TemplateNode(Node):
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
    __slots__ = ()

    def __str__(self):
        return "{{end}}"


class ElseNode(Node):
    __slots__ = ()

    def __str__(self):
        return "{{else}}"

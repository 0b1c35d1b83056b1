"""Ollama's prompt building on top of the template engine (ollama/template/template.go, v0.24.0).

- messages are collated: consecutive messages of one role merge with "\\n\\n" (tool messages never
  merge) and `.System` is every system message joined with "\\n\\n";
- a template that mentions `Messages` runs once with System, Messages, Tools, Response "", Think,
  ThinkLevel, IsThinkSet;
- otherwise the legacy loop runs it once per exchange with System/Prompt/Response, and the last run
  uses a copy of the tree cut right after the first `.Response` field, without Ollama's functions,
  defined templates or missingkey=zero (Ollama builds that last template from the bare tree);
- a template mentioning neither Messages nor Response gets `{{ .Response }}` appended.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping

from ..errors import TemplateError
from . import funcs as F
from .executor import execute
from .gofmt import format_value, json_marshal
from .nodes import (ActionNode, BranchNode, CommandNode, FieldNode, ListNode, PipeNode, RangeNode,
                    TemplateNode, TextNode, VariableNode)
from .values import GoMap, GoSlice, GoStruct

# -- Go types Ollama hands to templates ------------------------------------------------------


# The String() method Ollama's template types define: what the value prints as.
_STRING_METHOD = {"String": lambda self: self.go_string()}


def _json_stringer(nil_text: str):
    """String() of a value that is never changed once built: its JSON, computed once."""
    def go_string(self):
        try:
            return self._memo
        except AttributeError:
            pass
        self._memo = nil_text if self.nil else json_marshal(self)
        return self._memo
    return go_string


class TemplateArgs(GoMap):
    """template.templateArgs: map[string]any whose String() is its JSON ("{}" when nil)."""
    __slots__ = ("_memo",)
    go_string = _json_stringer("{}")
    methods = _STRING_METHOD


class TemplateProperties(GoMap):
    """template.templateProperties: map[string]api.ToolProperty printing as JSON."""
    __slots__ = ("_memo",)
    go_string = _json_stringer("{}")
    methods = _STRING_METHOD

    @staticmethod
    def zero_elem():
        """A missing property reads as an empty ToolProperty (the map's element type)."""
        return ToolProperty()


class TemplateTools(GoSlice):
    """template.templateTools: []templateTool printing as JSON ("null" when nil)."""
    __slots__ = ("_memo",)
    go_string = _json_stringer("null")
    methods = _STRING_METHOD


class PropertyType(GoSlice):
    """api.PropertyType: a JSON-schema type, one name or several."""
    __slots__ = ()

    def go_string(self):
        """How Ollama's api.PropertyType prints: nothing when empty, the one type when single, Go's
        slice form otherwise."""
        if len(self) == 0:
            return ""
        if len(self) == 1:
            return self[0]
        return format_value(list(self))

    def go_json(self):
        """How api.PropertyType marshals: one type as a JSON string, several as an array, a nil
        slice as null."""
        if len(self) == 1:
            return json_marshal(self[0])
        return "null" if self.nil else json_marshal(list(self))

    methods = _STRING_METHOD


_TS = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean",
       "array": "any[]", "object": "Record<string, any>", "null": "null"}


class ToolProperty(GoStruct):
    """Ollama's api.ToolProperty (api/types.go v0.24.0): a tool parameter's schema, with its fields'
    zero values and JSON names as Go marshals them."""
    __slots__ = ()
    type_name = "api.ToolProperty"
    fields = ("AnyOf", "Type", "Items", "Description", "Enum", "Properties", "Required")
    any_fields = frozenset({"Items"})
    json = {"AnyOf": ("anyOf", True), "Type": ("type", True), "Items": ("items", True),
            "Description": ("description", True), "Enum": ("enum", True),
            "Properties": ("properties", True), "Required": ("required", True)}

    _ZERO = {"AnyOf": lambda: GoSlice((), "[]api.ToolProperty", nil=True),
             "Type": lambda: PropertyType((), "api.PropertyType", nil=True),
             "Items": lambda: None, "Description": lambda: "",
             "Enum": lambda: GoSlice((), "[]interface {}", nil=True),
             "Properties": lambda: None,
             "Required": lambda: GoSlice((), "[]string", nil=True)}

    def zero(self, f):
        """The zero value of field `f` as Go has it (nil slices, "", nil)."""
        return self._ZERO[f]()

    def to_typescript_type(self) -> str:
        """The property's type as TypeScript (anyOf joined with ` | `; string, number, boolean, ...
        from its JSON types), "any" when untyped."""
        any_of = self.get("AnyOf")
        if any_of:
            return " | ".join(p.to_typescript_type() for p in any_of)
        types = self.get("Type")
        if not types:
            return "any"
        return " | ".join(_TS.get(t, "any") for t in types)

    methods = {"ToTypeScriptType": lambda self: self.to_typescript_type()}


class ToolParameters(GoStruct):
    """Ollama's template.templateToolFunctionParameters (template/template.go v0.24.0): the
    JSON-schema object of a tool's parameters."""
    __slots__ = ()
    type_name = "template.templateToolFunctionParameters"
    fields = ("Type", "Defs", "Items", "Required", "Properties")
    any_fields = frozenset({"Defs", "Items"})
    json = {"Type": ("type", False), "Defs": ("$defs", True), "Items": ("items", True),
            "Required": ("required", True), "Properties": ("properties", False)}


class ToolFunction(GoStruct):
    """Ollama's template.templateToolFunction: a tool's name, description and parameters."""
    __slots__ = ()
    type_name = "template.templateToolFunction"
    fields = ("Name", "Description", "Parameters")
    json = {"Name": ("name", False), "Description": ("description", False),
            "Parameters": ("parameters", False)}


class Tool(GoStruct):
    """Ollama's template.templateTool as v0.24.0 hands it to templates (no String method: `{{ . }}`
    prints Go's struct form)."""
    __slots__ = ()
    type_name = "template.templateTool"
    fields = ("Type", "Items", "Function")
    any_fields = frozenset({"Items"})
    json = {"Type": ("type", False), "Items": ("items", True), "Function": ("function", False)}


class StringerTool(Tool):
    """templateTool from Ollama v0.30.0 on: a String() method printing its JSON (v0.24.0 has none,
    so `{{ . }}` on a tool prints Go's struct form there)."""
    __slots__ = ()
    methods = _STRING_METHOD

    def go_string(self):
        """The tool's JSON (its String() from Ollama v0.30.0 on)."""
        return json_marshal(self)


# The first Ollama release whose templateTool has String() (template/template.go); v0.24.0 lacks
# it. Checked: absent in v0.24.0, present in v0.30.0, v0.31.0, v0.32.2.
TOOL_STRING_SINCE = (0, 30, 0)


@functools.lru_cache(maxsize=64)
def version_tuple(version: str) -> tuple[int, ...]:
    """"v0.32.2" or "0.32.2" -> (0, 32, 2); raises ValueError on anything else."""
    return tuple(int(p) for p in version.removeprefix("v").split("-")[0].split("."))


class ToolCallFunction(GoStruct):
    """Ollama's template.templateToolCallFunction: a call's index, function name and arguments."""
    __slots__ = ()
    type_name = "template.templateToolCallFunction"
    fields = ("Index", "Name", "Arguments")


class ToolCall(GoStruct):
    """Ollama's template.templateToolCall: a call's ID and function."""
    __slots__ = ()
    type_name = "template.templateToolCall"
    fields = ("ID", "Function")


class Message(GoStruct):
    """Ollama's *template.templateMessage: role, content, thinking, images, tool calls, tool name
    and tool call id, as a template sees a message in `.Messages`."""
    __slots__ = ()
    type_name = "template.templateMessage"
    pointer = True
    fields = ("Role", "Content", "Thinking", "Images", "ToolCalls", "ToolName", "ToolCallID")


# -- conversion from JSON-like Python data -----------------------------------------------------

def _get(obj, key, default=None):
    if type(obj) is dict:
        return obj.get(key, default)
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _any(v):
    """A JSON value decoded into Go's `any`: numbers become float64."""
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, Mapping):
        return {str(k): _any(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_any(x) for x in v]
    return v


def _strings(v, type_name="[]string"):
    if v is None:
        return GoSlice((), type_name, nil=True)
    return GoSlice([str(x) for x in v], type_name)


def _property(p) -> ToolProperty:
    if p is None:
        return ToolProperty()
    t = _get(p, "type")
    if t is None:
        ptype = PropertyType((), "api.PropertyType", nil=True)
    elif isinstance(t, str):
        ptype = PropertyType([t], "api.PropertyType")
    else:
        ptype = PropertyType([str(x) for x in t], "api.PropertyType")
    any_of = _get(p, "anyOf")
    enum = _get(p, "enum")
    props = _get(p, "properties")
    return ToolProperty(
        AnyOf=GoSlice([_property(x) for x in any_of], "[]api.ToolProperty") if any_of is not None
        else GoSlice((), "[]api.ToolProperty", nil=True),
        Type=ptype,
        Items=_any(_get(p, "items")),
        Description=_get(p, "description") or "",
        Enum=GoSlice([_any(x) for x in enum]) if enum is not None else GoSlice((), nil=True),
        Properties=None if props is None else GoMap(
            {k: _property(x) for k, x in props.items()}, "*api.ToolPropertiesMap", ordered=True),
        Required=_strings(_get(p, "required")),
    )


_TOOLS_CACHE: dict = {}  # (tool class, repr of the tools) -> TemplateTools


def _reject(v):
    raise TypeError(type(v).__name__)


def _tools(tools, tool_cls=Tool) -> TemplateTools:
    """Ollama's templateTools for API tool definitions. A chat sends the same tools with every
    request: the converted value is kept per distinct content (templates cannot change it). Only
    JSON-like data is kept (json.dumps accepts it without help); the key is its repr, which tells
    apart key order, 1 from "1" and 1 from 1.0."""
    if not tools:
        return _convert_tools(tools, tool_cls)
    try:
        json.dumps(tools, default=_reject, check_circular=False)
    except (TypeError, ValueError, RecursionError):
        return _convert_tools(tools, tool_cls)
    key = (tool_cls, repr(tools))
    hit = _TOOLS_CACHE.get(key)
    if hit is None:
        hit = _convert_tools(tools, tool_cls)
        if len(_TOOLS_CACHE) >= 64:
            _TOOLS_CACHE.pop(next(iter(_TOOLS_CACHE)))
        _TOOLS_CACHE[key] = hit
    return hit


def _convert_tools(tools, tool_cls=Tool) -> TemplateTools:
    if tools is None:
        return TemplateTools((), "template.templateTools", nil=True)
    out = []
    for t in tools:
        fn = _get(t, "function") or {}
        params = _get(fn, "parameters") or {}
        props = _get(params, "properties")
        out.append(tool_cls(
            Type=_get(t, "type") or "",
            Items=_any(_get(t, "items")),
            Function=ToolFunction(
                Name=_get(fn, "name") or "",
                Description=_get(fn, "description") or "",
                Parameters=ToolParameters(
                    Type=_get(params, "type") or "",
                    Defs=_any(_get(params, "$defs", _get(params, "defs"))),
                    Items=_any(_get(params, "items")),
                    Required=_strings(_get(params, "required")),
                    Properties=TemplateProperties(
                        {k: _property(v) for k, v in props.items()},
                        "template.templateProperties") if props is not None else
                    TemplateProperties((), "template.templateProperties", nil=True),
                ),
            ),
        ))
    return TemplateTools(out, "template.templateTools")


def _tool_calls(calls):
    if not calls:
        return _NIL_TOOL_CALLS
    out = []
    for i, c in enumerate(calls):
        fn = _get(c, "function") or {}
        args = _get(fn, "arguments")
        out.append(ToolCall(
            ID=_get(c, "id") or "",
            Function=ToolCallFunction(
                Index=int(_get(fn, "index") or 0),
                Name=_get(fn, "name") or "",
                Arguments=TemplateArgs({str(k): _any(v) for k, v in args.items()},
                                       "template.templateArgs") if args is not None else
                TemplateArgs((), "template.templateArgs", nil=True),
            ),
        ))
    return GoSlice(out, "[]template.templateToolCall")


def go_lower(s: str) -> str:
    """Go's strings.ToLower: per-rune simple case mapping (İ -> i, where Python's lower() gives i̇)."""
    if s.isascii():
        return s.lower()
    return "".join(c.lower() if len(c.lower()) == 1 else "i" if c == "\u0130" else c for c in s)


def collate(messages) -> tuple[str, list[dict]]:
    """Merge consecutive same-role messages (not tool ones); collect the system prompt.

    Roles are lower-cased first, as Ollama's api.Message.UnmarshalJSON does when the server decodes
    a request (api/types.go, v0.24.0 and v0.32.2): "User" and "user" are one role and merge.
    """
    system: list[str] = []
    collated: list[dict] = []
    for m in messages:
        if type(m) is dict:
            role = go_lower(m.get("role") or "")
            content = m.get("content") or ""
        else:
            role = go_lower(_get(m, "role") or "")
            content = _get(m, "content") or ""
        if role == "system":
            system.append(content)
        if collated and collated[-1]["role"] == role and role != "tool":
            collated[-1]["content"] += "\n\n" + content
        else:
            collated.append({"role": role, "content": content, "src": m})
    return "\n\n".join(system), collated


# Nil slices every message without images or tool calls shares (templates cannot change values).
_NIL_IMAGES = GoSlice((), "[]api.ImageData", nil=True)
_NIL_TOOL_CALLS = GoSlice((), "[]template.templateToolCall", nil=True)


def template_messages(messages) -> tuple[str, list[Message]]:
    """collate() and the templateMessage of each collated message, in one pass."""
    system: list[str] = []
    out: list[Message] = []
    last_role = None
    for m in messages:
        get = m.get if type(m) is dict else functools.partial(_get, m)
        role = get("role") or ""
        role = role.lower() if role.isascii() else go_lower(role)
        content = get("content") or ""
        if role == "system":
            system.append(content)
        if out and last_role == role and role != "tool":
            out[-1]._values["Content"] += "\n\n" + content
            continue
        msg = Message.__new__(Message)  # every field is set here: skip GoStruct's zero filling
        calls = get("tool_calls")
        msg._values = {
            "Role": role, "Content": content, "Thinking": get("thinking") or "",
            "Images": _NIL_IMAGES, "ToolCalls": _tool_calls(calls) if calls else _NIL_TOOL_CALLS,
            "ToolName": get("tool_name") or "", "ToolCallID": get("tool_call_id") or "",
        }
        out.append(msg)
        last_role = role
    return "\n\n".join(system), out


# -- template analysis ---------------------------------------------------------------------------

def identifiers(node) -> list[str]:
    """Ollama's Identifiers() (template/template.go, v0.24.0): field and variable names a node
    mentions. Raises TemplateError ("undefined template specified") for `{{template "name"}}`
    without an argument, as Ollama does."""
    t = type(node)
    if t is ListNode:
        out = []
        for n in node.nodes:
            out += identifiers(n)
        return out
    if t is TemplateNode:
        if node.pipe is None:
            raise TemplateError("undefined template specified", name="template",
                                hint="Ollama rejects {{template \"name\"}} without an argument; "
                                     "pass one, e.g. {{template \"name\" .}}")
        return identifiers(node.pipe)
    if t is ActionNode:
        return identifiers(node.pipe)
    if isinstance(node, BranchNode):
        out = identifiers(node.pipe)
        for lst in (node.list, node.else_list):
            if lst is not None:
                out += identifiers(lst)
        return out
    if t is PipeNode:
        out = []
        for c in node.cmds:
            for a in c.args:
                out += identifiers(a)
        return out
    if t is FieldNode or t is VariableNode:
        return list(node.ident)
    return []


def template_vars(trees) -> list[str]:
    """The lower-cased names of the fields the templates' top-level nodes refer to (Ollama's
    template.Vars, used to pick the Messages or the legacy prompt path), sorted."""
    names: set[str] = set()
    for tree in trees.values():
        for n in tree.root.nodes:
            names.update(x.lower() for x in identifiers(n))
    return sorted(names)


class _Cut(Exception):
    pass


def cut_after_response(root: ListNode) -> ListNode:
    """Ollama's deleteNode() (template/template.go, v0.24.0): drop every node walked after the
    first `.Response` field. Raises TemplateError where Ollama's legacy prompt builder crashes: an
    {{else}} branch after the `.Response` it cuts at."""
    cut = False

    def fn(n) -> bool:
        nonlocal cut
        if type(n) is FieldNode and "Response" in n.ident:
            cut = True
            return False
        return cut

    def walk(n):
        if fn(n):
            return None
        t = type(n)
        if t is ListNode:
            n.nodes = [c for c in (walk(c) for c in n.nodes) if c is not None]
            return n
        if isinstance(n, BranchNode):
            # Go walks the embedded BranchNode, a node of its own, before its lists
            if fn(n):
                raise _Cut
            lst = walk(n.list)
            if lst is None:
                raise _Cut
            n.list = lst
            if n.else_list is not None:
                el = walk(n.else_list)
                if el is None:
                    raise _Cut
                n.else_list = el
            return n
        if t is ActionNode:
            p = walk(n.pipe)
            if p is None:
                return None
            n.pipe = p
            return n
        if t is PipeNode:
            cmds = []
            for c in n.cmds:
                args = [a for a in (walk(a) for a in c.args) if a is not None]
                if not args:
                    return None
                c.args = args
                cmds.append(c)
            if not cmds:
                return None
            n.cmds = cmds
            return n
        return n

    try:
        return walk(copy.deepcopy(root))
    except _Cut:
        raise TemplateError(
            "Ollama's legacy prompt builder crashes on this template: an {{else}} branch follows "
            "the {{ .Response }} it cuts after", name="template",
            hint="move {{ .Response }} out of the {{if}}/{{range}}/{{with}} that has an {{else}}, "
                 "or use .Messages") from None


RESPONSE_ACTION = ActionNode(0, 0, PipeNode(0, 0, []))
_cmd = CommandNode(0)
_cmd.args.append(FieldNode(0, ".Response"))
RESPONSE_ACTION.pipe.cmds.append(_cmd)
del _cmd


def _visit(node, enter, leave) -> None:
    """Ollama's thinking.templateVisit: lists, branches (pipe, list, else), actions, templates,
    pipes and commands; nothing else (a ChainNode's operand is not entered)."""
    if node is None or not enter(node):
        return
    t = type(node)
    if t is ListNode:
        for c in node.nodes:
            _visit(c, enter, leave)
    elif isinstance(node, BranchNode):
        # Go visits x.Pipe, x.List, x.ElseList of the embedded BranchNode (entered as a node of its own)
        enter(_BRANCH)
        for part in (node.pipe, node.list, node.else_list):
            _visit(part, enter, leave)
        leave(_BRANCH)
    elif t is ActionNode or t is TemplateNode:
        _visit(node.pipe, enter, leave)
    elif t is PipeNode:
        for c in node.cmds:
            _visit(c, enter, leave)
    elif t is CommandNode:
        for a in node.args:
            _visit(a, enter, leave)
    leave(node)


_BRANCH = object()   # the embedded parse.BranchNode Go pushes between an If/Range/With and its parts


def _range_uses_field(node, field: str) -> bool:
    found = False

    def enter(n) -> bool:
        nonlocal found
        if type(n) is FieldNode and n.ident[0] == field:
            found = True
        return True

    _visit(node.pipe, enter, lambda n: None)
    return found


def infer_thinking_tags(root: ListNode) -> tuple[str, str]:
    """Ollama's thinking.InferTags (thinking/template.go, v0.24.0): for each `.Thinking` field inside
    a `range` whose pipe has the *field* `.Messages` (not `$.Messages`, a variable), the nearest
    enclosing list's first and last nodes, when they are text, give the opening and closing tag
    (strings.TrimSpace; a later match overwrites). Ollama calls a model thinking-capable when both
    are non-empty (server/images.go Capabilities)."""
    ancestors: list = []
    tags = ["", ""]

    def enter(n) -> bool:
        ancestors.append(n)
        if type(n) is FieldNode and n.ident and n.ident[0] == "Thinking":
            rng = next((a for a in reversed(ancestors) if type(a) is RangeNode), None)
            if rng is None or not _range_uses_field(rng, "Messages"):
                return True
            lst = next((a for a in reversed(ancestors) if type(a) is ListNode), None)
            if lst is not None and lst.nodes:
                if type(lst.nodes[0]) is TextNode:
                    tags[0] = lst.nodes[0].text.strip()
                if type(lst.nodes[-1]) is TextNode:
                    tags[1] = lst.nodes[-1].text.strip()
        return True

    _visit(root, enter, lambda n: ancestors.pop())
    return tags[0], tags[1]


class OllamaTemplate:
    """A template parsed the way Ollama's template.Parse does it."""

    def __init__(self, text: str, name: str = "template"):
        from . import parse
        self.text = text
        self.template = parse(text, name=name)
        self.trees = self.template.trees
        try:
            self.vars = template_vars(self.trees)
        except TemplateError as e:
            raise TemplateError(e.message, name=name, hint=e.hint) from None
        main = self.trees[name]
        if "messages" not in self.vars and "response" not in self.vars:
            main.root.nodes.append(RESPONSE_ACTION)
        self.uses_messages = "messages" in self.vars
        self._cut = None

    @functools.cached_property
    def thinking_tags(self) -> tuple[str, str]:
        """infer_thinking_tags of the main tree, walked once per template (the proof asks for each
        case whether Ollama treats the model as thinking-capable)."""
        return infer_thinking_tags(self.trees[self.template.name].root)

    def cut_trees(self):
        """The main tree cut right after its first `.Response` (what Ollama's legacy loop runs for
        the last exchange), built once."""
        if self._cut is None:
            from .parser import Tree
            tree = Tree(self.template.name, self.text)
            tree.root = cut_after_response(self.trees[self.template.name].root)
            self._cut = {self.template.name: tree}
        return self._cut

    def run(self, data, trees=None, funcs=F.OLLAMA_FUNCS, missing_zero=True, compiled: bool | None = None) -> str:
        """Execute the templates (`trees`, default the parsed set) with `data`, the Ollama function
        set and missingkey=zero; `compiled` as executor.execute takes it. Raises TemplateError
        (ExecError) with line and column."""
        return execute(trees or self.trees, self.template.name, data, funcs,
                       missing_zero=missing_zero, text=self.text, parse_name=self.template.name,
                       compiled=compiled)

    def render(self, messages, tools=None, *, think: bool = False, think_level: str = "",
               is_think_set: bool = False, ollama_version: str = "v0.24.0", compiled: bool | None = None) -> str:
        """The prompt Ollama builds for `messages` and `tools` (module doc: collation, the Messages
        path or the legacy loop; template/template.go v0.24.0), with think, think level and
        whether think was set; `ollama_version` picks behaviour that changed (a tool's String()
        from v0.30.0); `compiled=False` walks the tree instead of compiling the template to Python
        first (executor.execute; the same output). Raises TemplateError."""
        if self.uses_messages:
            system, msgs = template_messages(messages)
            data = {
                "System": system,
                "Messages": GoSlice(msgs, "[]*template.templateMessage", nil=not msgs),
                "Tools": _tools(tools, StringerTool if version_tuple(ollama_version)
                                >= TOOL_STRING_SINCE else Tool),
                "Response": "",
                "Think": think,
                "ThinkLevel": think_level,
                "IsThinkSet": is_think_set,
            }
            return self.run(data, compiled=compiled)

        system, collated = collate(messages)
        out: list[str] = []
        system = prompt = response = ""

        def values():
            return {"System": system, "Prompt": prompt, "Response": response, "Think": think,
                    "ThinkLevel": think_level, "IsThinkSet": is_think_set}

        for c in collated:
            role = c["role"]
            if role == "system":
                if prompt or response:
                    out.append(self.run(values(), compiled=compiled))
                    system = prompt = response = ""
                system = c["content"]
            elif role == "user":
                if response:
                    out.append(self.run(values(), compiled=compiled))
                    system = prompt = response = ""
                prompt = c["content"]
            elif role == "assistant":
                response = c["content"]
        out.append(self.run(values(), trees=self.cut_trees(), funcs=F.BUILTINS,
                            missing_zero=False, compiled=compiled))
        return _clean("".join(out))


def _clean(s: str) -> str:
    """Go writes raw bytes; lone surrogates from byte-slicing become U+FFFD as Go's JSON would."""
    return F.go_text(s)

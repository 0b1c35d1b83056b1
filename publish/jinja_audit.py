"""Find sandbox-escape payloads in a Jinja chat template without running it.

A GGUF's `tokenizer.chat_template` comes from a stranger and is rendered by llama.cpp (--jinja),
llama-cpp-python, transformers and LM Studio, some of which ran it unsandboxed
(CVE-2024-34359, llama-cpp-python < 0.2.72: `jinja2.Environment(...).from_string(template)`).
publish renders templates only in its own sandbox (publish.chat); lint must still refuse to
ship one, and must decide without executing anything: `audit_template` parses the source into
Jinja's AST (`Environment.parse`: lexing and parsing only, no compilation, no evaluation) and
walks it for the shapes every published payload needs:

- attribute or item access to a name starting with `_` (`''.__class__.__mro__`,
  `cycler.__init__.__globals__`, `self._TemplateReference__context`, `x['__globals__']`), also
  through the `attr` filter, and string constants spelling a dunder name (`'\\x5f\\x5fclass\\x5f\\x5f'`
  parses to `'__class__'`);
- the globals and objects payloads start from (`cycler`, `joiner`, `lipsum`, `self`, `config`,
  `request`, `url_for`, `get_flashed_messages`) used with an attribute;
- the attributes payloads end with (`popen`, `system`, `mro`, `f_globals`, `gi_frame`, ...);
- `attr` with a computed name and `format` with `%c` (how payloads assemble `__` at run time).

`namespace(...)` is ordinary in chat templates (loop state) and is not flagged by itself.
"""

from __future__ import annotations

import re

from jinja2 import nodes
from jinja2.environment import Environment
from jinja2.exceptions import TemplateSyntaxError

from publish.jinja_results import Suspect

PAYLOAD_ROOTS = frozenset({"cycler", "joiner", "lipsum", "self", "config", "request", "url_for",
                           "get_flashed_messages", "range"})
PAYLOAD_ATTRS = frozenset({"popen", "mro", "func_globals", "f_globals", "f_locals", "f_back", "f_builtins",
                           "gi_frame", "gi_code", "cr_frame", "ag_frame", "tb_frame", "co_code", "environ",
                           "subprocess", "import_module", "load_module", "check_output"})
_DUNDER = re.compile(r"__\w+__")
MAX_AUDIT_CHARS = 1_000_000


def _parser_env() -> Environment:
    from publish.chat import _new_environment

    return _new_environment()


def _name_of(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_name_of(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_name_of(node.node)}[{node.arg.value!r}]"
    if isinstance(node, nodes.Const):
        return repr(node.value)
    if isinstance(node, nodes.Call):
        return _name_of(node.node) + "(…)"
    if isinstance(node, nodes.Filter):
        return f"{_name_of(node.node) if node.node is not None else '…'}|{node.name}"
    return "…"


def parse_template(source: str) -> nodes.Template | None:
    """`source` parsed by the chat sandbox's environment (publish.chat: the same extensions and
    whitespace rules as a render), None when it does not parse or is longer than MAX_AUDIT_CHARS.
    Parsing runs no template code. The last tree is kept: lint audits a GGUF's template (GG290) and
    then renders it (GG204, GG702), and the render child compiles this tree instead of parsing
    the source again. Callers must not change the tree."""
    if not isinstance(source, str) or len(source) > MAX_AUDIT_CHARS:
        return None
    if _LAST_PARSE and _LAST_PARSE[0] == source:
        return _LAST_PARSE[1]
    from publish.fixeddepth import at_fixed_depth

    try:
        tree = at_fixed_depth(lambda: _parser_env().parse(source))
    except (TemplateSyntaxError, RecursionError):   # RecursionError: nested too deep to parse
        tree = None
    _LAST_PARSE[:] = [source, tree]
    return tree


_LAST_PARSE: list = []   # [source, tree or None] of the last parse_template call


def audit_template(source: str) -> list[Suspect]:
    """Every sandbox-escape shape in `source`, in template order. A template that does not parse
    gives [] (another rule reports it); nothing is compiled or rendered. A parse tree nested too
    deep to walk (hundreds of levels: no chat template comes near) is one Suspect, "nested too
    deep to audit": what cannot be audited is not rendered."""
    from publish.fixeddepth import at_fixed_depth

    tree = parse_template(source)
    if tree is None:
        return []
    try:
        return at_fixed_depth(lambda: _audit_tree(tree))
    except RecursionError:
        return [Suspect(1, "nested too deep to audit", source.lstrip()[:80])]


def _audit_tree(tree: nodes.Template) -> list[Suspect]:
    found: list[Suspect] = []

    def add(node: nodes.Node, what: str) -> None:
        found.append(Suspect(getattr(node, "lineno", 0) or 0, what, _name_of(node)[:80]))

    for node in tree.find_all(nodes.Node):
        if isinstance(node, nodes.Getattr):
            if node.attr.startswith("_"):
                add(node, f"attribute {node.attr!r} (a name starting with '_' reaches Python internals)")
            elif node.attr in PAYLOAD_ATTRS:
                add(node, f"attribute {node.attr!r} (the end of known sandbox-escape payloads)")
            elif isinstance(node.node, nodes.Name) and node.node.name in PAYLOAD_ROOTS:
                add(node, f"attribute of {node.node.name!r} (the start of known sandbox-escape payloads)")
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str) and node.arg.value.startswith("_"):
            add(node, f"item {node.arg.value!r} (a name starting with '_' reaches Python internals)")
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            arg = node.args[0] if node.args else None
            if not isinstance(arg, nodes.Const):
                add(node, "`attr` filter with a computed name (how payloads build '__class__' at run time)")
            elif isinstance(arg.value, str) and arg.value.startswith("_"):
                add(node, f"`attr` filter with {arg.value!r}")
        elif isinstance(node, nodes.Filter) and node.name == "format" and isinstance(node.node, nodes.Const) \
                and isinstance(node.node.value, str) and "%c" in node.node.value:
            add(node, "`format` with %c (how payloads spell '_' without writing it)")
        elif isinstance(node, nodes.Const) and isinstance(node.value, str) and _DUNDER.search(node.value):
            add(node, f"string constant {_DUNDER.search(node.value).group(0)!r} (a Python dunder name)")
    # one report per line and kind is enough to act on
    seen: set[tuple[int, str]] = set()
    out = []
    for s in found:
        key = (s.line, s.what)
        if key not in seen:
            seen.add(key)
            out.append(s)
    return out

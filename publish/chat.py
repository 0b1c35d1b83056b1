"""Render a GGUF's Jinja chat template the way transformers and llama.cpp do, always sandboxed.

Chat templates come from strangers' files, so two fences stand between a template and the machine:

1. The sandbox (`jinja2.sandbox.ImmutableSandboxedEnvironment`, as transformers uses), made
   stricter: any attribute or key lookup of a name starting with `_` fails at once with
   UnsafeTemplateError (Jinja would hand back an Undefined that only fails when printed, and a
   template could still test it), `lipsum` is gone, `range` keeps Jinja's 100,000-item cap.
   That stops the known payloads: `''.__class__.__mro__[1].__subclasses__()`,
   `self._TemplateReference__context`, `cycler.__init__.__globals__`, Flask-style `config.` /
   `request.` chains, and mutation of the messages (`messages.append`, `dict.update`).
   Nothing is evaluated while compiling (Jinja would fold constant output in the caller), and `*`
   and `**` on integers refuse a result over MAX_INT_BITS before computing it (`7 ** (7 ** 9)` is
   one call into C that holds the interpreter for minutes).

2. Resource bounds. A hostile template can still burn CPU or memory with plain arithmetic
   (`'a' * 10**10`, doubling a string in a loop, nested loops over 100,000 items), and a Python
   thread cannot be stopped from outside. So where `os.fork` exists the render runs
   in a forked child (no re-import, about a millisecond on Linux) that lowers its own
   address-space limit (RLIMIT_AS: current size + `memory_mb`) and CPU limit, streams the output
   through `Template.generate()` and stops past `max_output` characters; the parent waits at
   most `timeout` seconds and then kills it. One child renders a whole batch (`render_many`), so
   a parity check costs one fork.

   Compiling is bounded the same way: the template source is compiled only inside such a child
   (once when the ChatTemplate is made, to report syntax errors, then again in each render child;
   given a tree the caller already parsed, the first render child's compile is the check), never in
   the calling process, unless the caller is itself a disposable process that says so
   (`compile_here`: lint's worker, publish.jinja_worker, compiles the tree under a child's
   address-space bound and at its stack depth, and only renders in the child). Compiling a
   hostile template can recurse without end in Jinja's
   parser, hit CPython's own compiler limits (`SyntaxError: too many statically nested blocks`,
   `IndentationError: too many levels of indentation`, `RecursionError`, `MemoryError`) or, in
   an ordinary Jinja environment, evaluate constant expressions (`{{ 'a' * 10**10 }}` took 16.7 GB
   inside llama-cpp-python); every one of these ends as TemplateError or UnsafeTemplateError.
   Without fork (Windows) compiling and rendering run in process with only the output bound and
   a check of the deadline between output chunks.
"""

from __future__ import annotations

import json
import os
import re
import select
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Iterable

# Names come from jinja2's modules, not its package: lint's worker imports these without
# jinja2/__init__.py (publish.jinja_worker._load_jinja_lean).
import jinja2.ext
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.environment import Template
from jinja2.exceptions import TemplateError as JinjaError
from jinja2.exceptions import TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from publish.errors import TemplateError, TemplateRaised, UnsafeTemplateError
from publish.jinja_results import SyntaxProblem
from publish.records import Record

if TYPE_CHECKING:
    from datetime import datetime

DEFAULT_TIMEOUT = 5.0           # seconds for one batch of renders
DEFAULT_MAX_OUTPUT = 1_000_000  # characters per render
DEFAULT_MEMORY_MB = 512         # extra address space the render child may use
MAX_TEMPLATE_CHARS = 1_000_000  # real chat templates are a few KB; gpt-oss's is ~15 KB
MAX_INT_BITS = 1 << 16          # bits of an integer `*` and `**` may make (ChatSandbox.call_binop)
COMPILE_HERE_MAX_CHARS = 64 * 1024   # ChatTemplate's compile_here only up to this (see there)

# strftime_now() in a chat template (Llama 3.2 writes today's date) reads this clock during a check
# (lint's probes, `template check`), so a verdict does not change with the day it runs. It is the
# date Llama 3.1's template defaults to. A (year, month, day) tuple, which ChatTemplate's `now`
# takes as that day's midnight: datetime is imported only when a template asks the time (2 ms of
# lint's worker otherwise).
CHECK_DATE = (2024, 7, 26)


class _Forbidden:
    """Stands in for Flask's `config` / `request`, the usual first step of a Jinja injection
    payload: any use fails as a sandbox violation instead of quietly rendering as undefined."""

    def __init__(self, name: str):
        self._name = name

    def _deny(self, *_args: Any, **_kw: Any) -> Any:
        raise SecurityError(f"{self._name!r} does not exist in a chat template; this looks like a "
                            "template-injection payload")

    __getattr__ = __getitem__ = __call__ = __str__ = __iter__ = __bool__ = __len__ = _deny


def _raise_exception(message: Any = "") -> None:
    raise _Raised(str(message))


class _Raised(JinjaError):
    """raise_exception() inside the sandbox; converted to TemplateRaised at the boundary."""


def _tojson(value: Any, indent: int | None = None, ensure_ascii: bool = False,
            sort_keys: bool = False, separators: Any = None) -> str:
    # transformers' tojson: plain json.dumps (Jinja's built-in one HTML-escapes <, >, & and ').
    if separators is not None:
        separators = tuple(separators)
    return json.dumps(value, indent=indent, ensure_ascii=ensure_ascii, sort_keys=sort_keys,
                      separators=separators)


class _RuntimeOnlyCodeGenerator(CodeGenerator):
    """Jinja folds constant output like `{{ 'a' * 10**10 }}` or `{{ 'x'|center(10**10) }}` while
    compiling, i.e. in the parent process, outside every bound. Never evaluate at compile time."""

    def _output_child_to_const(self, node, frame, finalize):  # noqa: ANN001
        raise nodes.Impossible()


class ChatSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment that fails loudly on any `_name` lookup, evaluates template
    expressions only when rendering (the optimizer is off, see _RuntimeOnlyCodeGenerator) and
    refuses `*` and `**` on integers whose result would exceed MAX_INT_BITS (call_binop)."""

    code_generator_class = _RuntimeOnlyCodeGenerator
    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Jinja's `*` and `**` (intercepted_binops). On two integers whose result would have more
        than MAX_INT_BITS bits (`7 ** (7 ** 9)`, a number squared in a loop) it raises
        SecurityError before computing: such a multiplication is one call into C that holds the
        interpreter for seconds to hours, which nothing stops short of killing the process, and
        no chat template needs a number of more than a few digits. Anything else is Jinja's."""
        if isinstance(left, int) and isinstance(right, int):
            bits = _result_bits(operator, left, right)
            if bits > MAX_INT_BITS:
                raise SecurityError(f"{operator} would make an integer of {bits:,} bits or more "
                                    f"(more than {MAX_INT_BITS:,})")
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Jinja's attribute access (`x.name`), refused for names starting with `_` (dunder escapes
        such as `__class__`). Raises jinja2.sandbox.SecurityError."""
        if isinstance(attribute, str) and attribute.startswith("_"):
            raise SecurityError(f"access to {attribute!r} on a {type(obj).__name__} value is not allowed")
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """Jinja's item access (`x['name']`): a `_`-name is refused (SecurityError) unless it is a
        key the mapping really holds, so message dicts with such keys still render."""
        if isinstance(argument, str) and argument.startswith("_") and not (
                isinstance(obj, Mapping) and argument in obj):
            raise SecurityError(f"access to {argument!r} on a {type(obj).__name__} value is not allowed")
        return super().getitem(obj, argument)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        """Called by jinja2's sandbox for an attribute it deems unsafe; raises SecurityError naming
        the attribute and the value's type (instead of an Undefined that would hide the attempt)."""
        raise SecurityError(f"access to {attribute!r} on a {type(obj).__name__} value is not allowed")


def _result_bits(operator: str, left: int, right: int) -> int:
    """How many bits `left <operator> right` (`*` or `**` on integers) has at least, without
    computing it: exact for powers of two, within one bit otherwise."""
    if operator == "*":
        return 0 if not left or not right else left.bit_length() + right.bit_length() - 1
    if right <= 0 or abs(left) <= 1:
        return 1   # a float, 0, 1 or -1
    import math

    return max((abs(left).bit_length() - 1) * right, math.floor(right * math.log2(abs(left)))) + 1


class _GenerationTag(jinja2.ext.Extension):
    """transformers' `{% generation %}…{% endgeneration %}` (AssistantTracker) marks assistant text
    for training masks; some chat templates carry it. Rendering passes the body through."""

    tags = {"generation"}

    def parse(self, parser):  # noqa: ANN001
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return nodes.Scope(body).set_lineno(lineno)


def _new_environment() -> ChatSandbox:
    env = ChatSandbox(trim_blocks=True, lstrip_blocks=True,
                      extensions=[jinja2.ext.loopcontrols, _GenerationTag], optimized=False)
    env.globals.pop("lipsum", None)
    env.globals["config"] = _Forbidden("config")
    env.globals["request"] = _Forbidden("request")
    env.globals["raise_exception"] = _raise_exception
    env.filters["tojson"] = _tojson
    return env


_ENV = _new_environment()


class RenderCall(Record):
    """One render: the variables transformers passes to apply_chat_template (`extra`: more
    variables by name; None: none). A frozen value, a Record rather than a @dataclass (lint's worker
    imports this module on the path lint waits for: publish.records)."""

    __slots__ = ("messages", "add_generation_prompt", "tools", "extra")
    frozen = True
    messages: list[dict]
    add_generation_prompt: bool
    tools: list[dict] | None
    extra: dict[str, Any]

    def __init__(self, messages: list[dict], add_generation_prompt: bool = True,
                 tools: list[dict] | None = None, extra: dict[str, Any] | None = None):
        self._fill(messages, add_generation_prompt, tools, {} if extra is None else extra)


class RenderOutcome(Record):
    """Either `text`, or `error` (TemplateRaised / TemplateError / UnsafeTemplateError). A frozen
    value, as RenderCall."""

    __slots__ = ("text", "error")
    frozen = True
    text: str | None
    error: TemplateError | None

    def __init__(self, text: str | None = None, error: TemplateError | None = None):
        self._fill(text, error)

    def unwrap(self) -> str:
        """The rendered text; raises the recorded error (TemplateRaised, TemplateError or
        UnsafeTemplateError) when rendering failed."""
        if self.error is not None:
            raise self.error
        assert self.text is not None
        return self.text


class ChatTemplate:
    """A compiled, sandboxed chat template. Parse errors raise TemplateError with the line.
    `now` is the clock the template's strftime_now() reads: a datetime, a (year, month, day) tuple
    for that day's midnight (CHECK_DATE), or None for the real clock."""

    def __init__(self, source: str, *, name: str = "chat_template", bos_token: str = "",
                 eos_token: str = "", timeout: float = DEFAULT_TIMEOUT,
                 max_output: int = DEFAULT_MAX_OUTPUT, memory_mb: int = DEFAULT_MEMORY_MB,
                 now: datetime | tuple[int, int, int] | None = None, parsed: nodes.Template | None = None,
                 compile_here: bool = False):
        if len(source) > MAX_TEMPLATE_CHARS:
            raise UnsafeTemplateError(
                f"chat template is {len(source):,} characters; refusing more than {MAX_TEMPLATE_CHARS:,}",
                name=name)
        self.source = source
        self.name = name
        self.bos_token = bos_token
        self.eos_token = eos_token
        self.timeout = timeout
        self.max_output = max_output
        self.memory_mb = memory_mb
        self.now = now
        # `parsed`: the tree of `source` already parsed with this environment (publish.convert
        # parses it once for both the compiler and the sandbox); it is compiled in the child too.
        # Its syntax is known to be fine, so the compile check (CPython's limits, Jinja's code
        # generator) waits for the first render batch, whose child compiles it anyway: that batch
        # raises what the check would have raised here, and one fork is saved.
        self._parsed = parsed
        self._compiled = False          # a child compiled it (a later failure is per render)
        # `compile_here` (with `parsed`): compile the tree in this process and only render in the
        # child, for a caller that is itself a disposable process (lint's worker,
        # publish.jinja_worker, which lint stops and replaces with its own computation when it
        # fails or takes too long): a compile in the child costs ~3 ms more (copy-on-write faults).
        # It runs at the fixed stack depth and under the address-space bound a child has
        # (_compile_here), its time counts in each render batch's bound as a child's compile does,
        # and only a template of at most COMPILE_HERE_MAX_CHARS is compiled here, so its verdicts
        # are the child's: a longer one (Jinja's compile time can grow with the square of the
        # blocks: 280 KB of `{% if %}{% set %}` took 6-17 s) is compiled in the child, under the
        # child's time bound, and a lint killed meanwhile leaves no worker compiling.
        self._compile_here = (compile_here and parsed is not None and hasattr(os, "fork")
                              and len(source) <= COMPILE_HERE_MAX_CHARS)
        self._template: Template | None = None   # compiled here
        self._compile_seconds = 0.0               # what compiling here took, counted in every batch's bound
        self._prefetched: list[RenderCall] = []   # rendered with the next batch (prefetch)
        self._kept: list[tuple[RenderCall, RenderOutcome]] = []
        if not hasattr(os, "fork"):  # pragma: no cover - Windows
            _compile(self._compilable, name)
            self._compiled = True
        elif parsed is None:
            outcome = _in_child(lambda: _compile_outcome(self._compilable), timeout, memory_mb, name,
                                doing="compile")
            if outcome[0] != "ok":
                raise _compile_error(outcome, name, self.source)
            self._compiled = True

    @property
    def _compilable(self) -> str | nodes.Template:
        return self._parsed if self._parsed is not None else self.source

    def render(self, messages: list[dict], *, add_generation_prompt: bool = True,
               tools: list[dict] | None = None, **extra: Any) -> str:
        """The prompt text, BOS included when the template writes it (as transformers returns it)."""
        call = RenderCall(messages, add_generation_prompt, tools, extra)
        return self.render_many([call])[0].unwrap()

    def render_many(self, calls: Iterable[RenderCall]) -> list[RenderOutcome]:
        """Render several conversations under one time bound (one child process, with the calls
        `prefetch` queued); one outcome per call, in order. A call equal to a prefetched one is
        answered from that render. Raises TemplateError / UnsafeTemplateError when the template
        (given `parsed`, not compiled yet) does not compile, UnsafeTemplateError when the batch
        exceeds its time or memory bound, UsageError when no process can be forked for it."""
        calls = list(calls)
        known = [self._kept_outcome(c) for c in calls]
        prefetched, self._prefetched = self._prefetched, []
        todo = [c for c, out in zip(calls, known) if out is None] + prefetched
        if not todo:
            return known
        if self._compile_here and self._template is None:
            started = time.monotonic()
            self._template = _compile_here(self._parsed, self.name, self.source, self.memory_mb)
            self._compile_seconds = time.monotonic() - started
            self._compiled = True
            if self._compile_seconds >= self.timeout:
                raise _overtime("render", self.timeout, self.name)
        if hasattr(os, "fork"):
            # A child that compiles spends that time of the batch's bound too: so does this one
            compiled, raw = _in_child(lambda: self._render_all(todo), self.timeout, self.memory_mb, self.name,
                                      spent=self._compile_seconds)
        else:  # pragma: no cover - Windows
            compiled, raw = self._render_all(todo, deadline=time.monotonic() + self.timeout)
        if compiled[0] != "ok":
            if not self._compiled:
                raise _compile_error(compiled, self.name, self.source)
            raw = [compiled for _ in todo]   # compiled before; a tighter bound now
        self._compiled = True
        outcomes = [self._outcome(item) for item in raw]
        fresh = len(todo) - len(prefetched)
        self._kept.extend(zip(prefetched, outcomes[fresh:]))
        rendered = iter(outcomes[:fresh])
        return [out if out is not None else next(rendered) for out in known]

    def prefetch(self, calls: Iterable[RenderCall]) -> None:
        """Render `calls` along with the next `render_many` batch (in the same child) and keep
        their outcomes: a later `render_many` of equal calls then needs no process of its own."""
        self._prefetched.extend(calls)

    def _kept_outcome(self, call: RenderCall) -> RenderOutcome | None:
        return next((out for kept, out in self._kept if kept == call), None)

    # -- inside the sandbox (child process) --------------------------------------------------

    def _variables(self, call: RenderCall) -> dict[str, Any]:
        now = self.now

        def strftime_now(fmt: str) -> str:
            from datetime import datetime

            when = datetime(*now) if isinstance(now, tuple) else (now or datetime.now())
            return when.strftime(fmt)

        variables = {
            "messages": call.messages,
            "tools": call.tools,
            "documents": None,   # transformers passes documents=None too
            "add_generation_prompt": call.add_generation_prompt,
            "bos_token": self.bos_token,
            "eos_token": self.eos_token,
            "strftime_now": strftime_now,
        }
        variables.update(call.extra)
        return variables

    def _render_all(self, calls: list[RenderCall], deadline: float | None = None) -> list:
        """[compile outcome [kind, message, line], one [kind, payload, line] per call (none when
        the template did not compile)]."""
        outcome = ["ok", None, None, self._template] if self._template is not None else \
            _compile_outcome(self._compilable)
        if outcome[0] != "ok":
            return [outcome[:3], []]
        template = outcome[3]
        return [outcome[:3], [self._render_one(template, call, deadline) for call in calls]]

    def _render_one(self, template: Template, call: RenderCall, deadline: float | None) -> list:
        """[kind, payload, line]: kind is ok / raised / unsafe / error."""
        pieces: list[str] = []
        size = 0
        try:
            for chunk in template.generate(self._variables(call)):
                size += len(chunk)
                if size > self.max_output:
                    return ["unsafe", f"output exceeds {self.max_output:,} characters", None]
                if deadline is not None and time.monotonic() > deadline:
                    return ["unsafe", f"render took longer than {self.timeout:g} s", None]
                pieces.append(chunk)
        except _Raised as err:
            return ["raised", str(err), None]
        except SecurityError as err:
            return ["unsafe", f"sandbox: {err}", _template_line()]
        except OverflowError as err:  # Jinja's range() cap, huge int -> float
            return ["unsafe", f"sandbox: {err}", _template_line()]
        except MemoryError:
            return ["unsafe", f"render needs more than {self.memory_mb} MB of memory", None]
        except RecursionError:
            return ["unsafe", "recursion too deep (a macro that calls itself, directly or through another, "
                              "without end)", _template_line()]
        except JinjaError as err:
            return ["error", str(err) or type(err).__name__, _template_line()]
        except Exception as err:  # noqa: BLE001 - template code errors: TypeError, KeyError, ...
            return ["error", f"{type(err).__name__}: {err}", _template_line()]
        return ["ok", "".join(pieces), None]

    def _outcome(self, item: list) -> RenderOutcome:
        kind, payload, line = item
        if kind == "ok":
            return RenderOutcome(text=payload)
        if kind == "raised":
            return RenderOutcome(error=TemplateRaised(payload, name=self.name))
        if kind == "unsafe":
            return RenderOutcome(error=UnsafeTemplateError(
                payload, name=self.name, line=line,
                hint="this chat template tried something a chat template never needs; do not ship it"))
        return RenderOutcome(error=TemplateError(payload, name=self.name, line=line))


def _compile(source: str | nodes.Template, name: str) -> Template:
    """Compile in this process (the caller is a bounded child, or Windows); errors of every kind
    become TemplateError / UnsafeTemplateError."""
    outcome = _compile_outcome(source)
    if outcome[0] != "ok":
        raise _compile_error(outcome, name, source if isinstance(source, str) else "")
    return outcome[3]


def _compile_here(tree: nodes.Template, name: str, source: str, memory_mb: int) -> Template:
    """Compile `tree` in this process (ChatTemplate's compile_here) at the fixed stack depth and
    with a child's address-space bound for the time it takes. Raises what render_many raises
    when a child's compile fails (TemplateError, UnsafeTemplateError)."""
    import resource  # Unix only, like fork

    from publish.fixeddepth import at_fixed_depth

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space_limit(memory_mb)
    bounded = limit is not None and (soft == resource.RLIM_INFINITY or limit < soft)
    if bounded:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:   # _compile_outcome turns MemoryError and RecursionError into its verdicts itself
        outcome = at_fixed_depth(lambda: _compile_outcome(tree))
    finally:
        if bounded:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if outcome[0] != "ok":
        raise _compile_error(outcome, name, source)
    return outcome[3]


def _compile_outcome(source: str | nodes.Template) -> list:
    """["ok", None, None, template] or [kind, message, line]: what compiling `source` gave.
    (Only the first three items cross the pipe from a child.)"""
    try:
        return ["ok", None, None, _ENV.from_string(source)]
    except TemplateSyntaxError as err:
        return ["error", err.message or str(err), err.lineno]
    except RecursionError:
        return ["unsafe", "template nesting is too deep to compile", None]
    except MemoryError:
        return ["unsafe", "compiling the template needs more memory than a chat template may use", None]
    except SyntaxError as err:  # IndentationError too: CPython's limits on the generated code
        return ["unsafe", f"template nesting is too deep to compile (Python: {err.msg})", None]
    except Exception as err:  # noqa: BLE001 - anything else Jinja's compiler raises on odd input
        return ["error", f"cannot compile: {type(err).__name__}: {err}", None]


def _compile_error(outcome: list, name: str, source: str) -> TemplateError:
    """The TemplateError of a failed compile `outcome` (_compile_outcome) of `source`: line and,
    when the source tells it, column (syntax_error_location); the hint fits where the template
    came from (`name`)."""
    kind, message, line = outcome[:3]
    if kind == "unsafe":
        return UnsafeTemplateError(message, name=name, line=line,
                                   hint="a chat template compiles in milliseconds; this one is built to exhaust the compiler")
    col = None
    if line is not None and source:
        line, col = syntax_error_location(source, message, line)
    return TemplateError(f"not valid Jinja: {message}", name=name, line=line, col=col,
                         hint=syntax_error_hint(name))


def _template_line() -> int | None:
    """Line of the template where the current exception was raised, from Jinja's traceback rewrite."""
    import sys
    import traceback

    tb = sys.exc_info()[2]
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == "<template>":
            line = lineno
    return line


def _overtime(doing: str, timeout: float, name: str) -> UnsafeTemplateError:
    """The error of a `doing` ("render", "compile") that ran past its `timeout` seconds."""
    return UnsafeTemplateError(f"{doing} took longer than {timeout:g} s (stopped)", name=name,
                               hint=f"a chat template {doing}s in milliseconds; this one does not stop")


def _in_child(work, timeout: float, memory_mb: int, name: str, *, doing: str = "render",
              spent: float = 0.0) -> Any:
    """Run `work()` in a forked child with memory/CPU limits; return its JSON-able result.
    `doing` ("render", "compile") words the errors; `spent` seconds of `timeout` are used up
    already (a compile in the caller), so the child gets the rest."""
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError as err:   # EAGAIN / ENOMEM: the system refuses another process
        os.close(read_fd)
        os.close(write_fd)
        from publish.errors import UsageError

        done = {"render": "rendered", "compile": "compiled"}.get(doing, doing)
        raise UsageError(f"cannot start the process a chat template is {done} in: {err.strerror or err}",
                         hint="the system has too many processes or too little memory; try again when it "
                              "has fewer") from None
    if pid == 0:  # child: never return into the caller's code
        status = 0
        try:
            os.close(read_fd)
            _close_inherited(keep=write_fd)
            import gc

            gc.freeze()   # the parent's objects: a collection here walks only what the work makes
            _limit_child(memory_mb, timeout)
            try:
                from publish.fixeddepth import at_fixed_depth

                result = ["done", at_fixed_depth(work)]   # compiling recurses: the same verdict from any caller
            except MemoryError:
                result = ["memory"]
            except RecursionError:
                result = ["recursion"]
            if doing == "compile" and result[0] == "done":
                result[1] = result[1][:3]  # the compiled template stays in the child
            data = json.dumps(result).encode("utf-8")
            view = memoryview(data)
            while view:
                written = os.write(write_fd, view)
                view = view[written:]
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout - spent
    timed_out = finished = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                finished = True
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        if not finished:  # timed out, or the parent was interrupted (Ctrl-C): never leave it running
            import signal   # here: its enums cost 0.5 ms of lint's worker's start

            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        raise _overtime(doing, timeout, name)
    if os.WIFSIGNALED(status):
        import signal

        if os.WTERMSIG(status) == signal.SIGXCPU:
            raise UnsafeTemplateError(f"{doing} used more than its CPU time bound ({timeout:g} s)", name=name)
    try:
        result = json.loads(b"".join(chunks))
    except ValueError:
        raise UnsafeTemplateError(f"the {doing} process died (out of memory, stack or killed)", name=name) from None
    if result[0] == "memory":
        raise UnsafeTemplateError(f"{doing} needs more than {memory_mb} MB of memory", name=name)
    if result[0] == "recursion":
        raise UnsafeTemplateError(f"{doing} recursed too deep", name=name)
    return result[1]


def _close_inherited(keep: int) -> None:
    """In a render child: point stdin, stdout and stderr at /dev/null and close every other file
    descriptor but `keep` (the pipe the result goes back through), so template code that got out
    of the sandbox holds no pipe or file of its parent (lint's worker pipes, an open GGUF), and a
    child that outlives a killed caller (up to its time bound) does not hold the caller's output
    open (`publish lint … | cat` would wait for it). Where /proc is missing (macOS), only stdio is
    redirected."""
    from publish.forked import redirect_stdio

    redirect_stdio()
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass   # the listing's own descriptor, already closed


def _address_space_limit(memory_mb: int) -> int | None:
    """Bytes of address space for this process plus `memory_mb` MB, the bound of a render child;
    None when the size is unknown or the hard limit is lower already."""
    import resource  # Unix only, like fork

    current = _address_space_bytes()
    if not current:
        return None
    limit = current + memory_mb * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    return limit if hard == resource.RLIM_INFINITY or limit < hard else None


def _limit_child(memory_mb: int, timeout: float) -> None:
    import resource  # Unix only, like fork

    limit = _address_space_limit(memory_mb)
    if limit is not None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    cpu = max(1, int(timeout) + 1)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard == resource.RLIM_INFINITY or cpu < hard:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, hard))


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def render_chat(source: str, messages: list[dict], *, bos_token: str = "", eos_token: str = "",
                add_generation_prompt: bool = True, tools: list[dict] | None = None,
                name: str = "chat_template", **extra: Any) -> str:
    """One-shot: compile `source` in the sandbox and render `messages`."""
    template = ChatTemplate(source, name=name, bos_token=bos_token, eos_token=eos_token)
    return template.render(messages, add_generation_prompt=add_generation_prompt, tools=tools, **extra)


# -- what a template that does not parse really is ---------------------------------------------

# Patterns as text, compiled on first use (re's cache): only a template that does not parse needs
# them, and lint's worker imports this module on the path lint waits for.
_GO_FIELD = r"\{\{-?\s*(?:(?:if|range|with|else if)\s+)?(?:\$\w*\s*:?=\s*)?\.[A-Z]\w*"
_TAG = r"\{%-?\s*(\w+)"
_BLOCKS = {"for", "if", "macro", "call", "filter", "raw", "generation", "with", "autoescape", "block"}
# the token a jinja2 parser message names: "unexpected '}'", "Encountered unknown tag 'endfor'",
# "expected token 'end of print statement', got 'b'" (jinja2 3.x parser.py / lexer.py)
_TOKEN_IN_MESSAGE = (r"(?i)unexpected '([^']+)'|unknown tag '([^']+)'|, got '([^']+)'|"
                     r"No filter named '([^']+)'|No test named '([^']+)'")
# the lexer's own "unexpected char '!' at 5" carries the offset in the source
_CHAR_AT = r"(?s)unexpected char '.*' at (\d+)$"
# jinja2's names for its delimiters (lexer.py TOKEN_*_END descriptions)
_TOKEN_TEXT = {"end of print statement": "}}", "end of statement block": "%}", "begin of print statement": "{{",
               "begin of statement block": "{%"}


def syntax_problem(source: str) -> SyntaxProblem | None:
    """None when `source` parses as a chat template (in the sandbox's Jinja dialect); otherwise
    where and why it does not. Parsing only: nothing of the template runs."""
    stripped = source.lstrip()
    if stripped.startswith("{") and not stripped.startswith(("{{", "{%", "{#")):
        try:
            config = json.loads(source)
        except ValueError:
            config = None
        if isinstance(config, dict):
            return SyntaxProblem("json", "this is a JSON document (a tokenizer_config.json?), not a chat "
                                 "template: its text would be sent to the model as the prompt", 1, 1)
    from publish.jinja_audit import parse_template

    if parse_template(source) is not None:   # the tree GG290's audit and the probe render use
        return None
    from publish.fixeddepth import at_fixed_depth

    try:
        at_fixed_depth(lambda: _ENV.parse(source))
    except TemplateSyntaxError as err:
        line = err.lineno or 1
        go = re.search(_GO_FIELD, source)
        if go is not None:
            gl, gc = _line_col(source, go.start())
            return SyntaxProblem("go-template", f"this is an Ollama Go template, not Jinja "
                                 f"({go.group(0).strip()!r}): {err.message}", gl, gc)
        return SyntaxProblem("jinja", err.message or "syntax error",
                             *syntax_error_location(source, err.message or "", line))
    except RecursionError:
        return SyntaxProblem("jinja", "template nesting is too deep to parse", 1, 1)
    return None


def _line_col(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def syntax_error_location(source: str, message: str, line: int | None) -> tuple[int, int | None]:
    """(line, column) of a jinja2 TemplateSyntaxError (`message`, `line`) in `source`; the column
    is None when the source does not tell it.

    jinja2 reports a line only. The column comes from the source: the lexer's "unexpected char
    'X' at N" gives the offset; "Unexpected end of template" points at the innermost block left
    open; otherwise the token the message names ("unexpected '}'", "unknown tag 'endfor'",
    "got 'b'") is looked up on that line: the occurrence where the source up to it parses without
    that error and the source through it raises it. A filter or test jinja2 does not know (found
    when it compiles) is located only when its name occurs once on the line."""
    line = line or 1
    at = re.search(_CHAR_AT, message)
    if at is not None and int(at.group(1)) < len(source):
        return _line_col(source, int(at.group(1)))
    # jinja2 raises the one TemplateSyntaxError class for every syntax fault, with no attribute
    # that tells "the template ended inside a block" (parser.fail_eof) from the rest; its message
    # ("Unexpected end of template. Jinja was looking for ...", jinja2 3.x parser.py) is the only
    # signal there is. Only the column is chosen from it, never the kind of error.
    if "end of template" in message.lower():
        stack: list[int] = []
        for m in re.finditer(_TAG, source):
            word = m.group(1)
            if word in _BLOCKS or (word == "set" and "=" not in source[m.end():source.find("%}", m.end())]):
                stack.append(m.start())
            elif word.startswith("end") and stack:
                stack.pop()
        if stack:
            return _line_col(source, stack[-1])
        return line, None
    lines = source.split("\n")
    if not 0 < line <= len(lines):
        return line, None
    m = re.search(_TOKEN_IN_MESSAGE, message)
    token = next((g for g in m.groups() if g), None) if m else None
    token = _TOKEN_TEXT.get(token, token) if token else None
    if not token or (" " in token and token not in _TOKEN_TEXT.values()):
        return line, None
    text = lines[line - 1]
    start = sum(len(x) + 1 for x in lines[:line - 1])
    if m.group(2):   # an unknown tag: where its {% opens
        spots = [(t.start(), t.end()) for t in re.finditer(r"\{%[-+]?\s*" + re.escape(token) + r"\b", text)]
    elif m.group(4) or m.group(5):   # names jinja2 checks when it compiles, not when it parses
        pattern = r"\|\s*" if m.group(4) else r"\bis\s+(?:not\s+)?"
        spots = [(t.start(), t.end()) for t in re.finditer(pattern + re.escape(token) + r"\b", text)]
        return line, spots[0][0] + 1 if len(spots) == 1 else None
    else:
        spots = [(i, i + len(token)) for i in range(len(text)) if text.startswith(token, i)]
    # the failing occurrence: the source up to it parses without this error, and up to its end
    # raises it (every later occurrence has the failing one before it, so raises it earlier)
    failing = [(a, b) for a, b in spots[:32] if not _same_syntax_error(source[:start + a], message, line)]
    if not failing or not _same_syntax_error(source[:start + failing[-1][1]], message, line):
        return line, None
    return line, failing[-1][0] + 1


def _same_syntax_error(prefix: str, message: str, line: int) -> bool:
    try:
        _ENV.parse(prefix)
    except TemplateSyntaxError as err:
        return err.message == message and err.lineno == line
    except RecursionError:
        return False
    return False


def syntax_error_hint(name: str) -> str:
    """What to do about a chat template jinja2 cannot parse, by where it came from (`name` as
    publish.convert.inputs gives it: "m.gguf:tokenizer.chat_template", "tokenizer_config.json:
    chat_template", a file name)."""
    common = ("jinja2 refuses it, so no engine that renders chat templates with Jinja (transformers' "
              "apply_chat_template, llama.cpp --jinja, llama-cpp-python) can use it either")
    if ".gguf:" in name:
        from publish.termtext import shell_command

        gguf = name.split(":", 1)[0]
        return (f"{common}: fix the syntax there, or take the model's original template, and write it into "
                f"the GGUF with `{shell_command('publish', 'fix', gguf, '--chat-template', 'FILE')}`")
    return f"{common}: fix the syntax at that place"
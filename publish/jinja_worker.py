"""A forked process that imports Jinja and answers lint's questions about chat templates.

Importing Jinja and publish's sandbox costs about 40 ms, parsing and rendering a template's probe
another 10-30 ms: on a lint of one GGUF that is as long as everything else together. Lint
(publish.lint.lint_paths, through publish.jinja_facts.prepared) sends the worker the facts the
chat templates of the headers it read need, and the worker computes them while the lint process
runs the rules that need no Jinja. The lint process never imports Jinja.

The worker computes exactly what publish.jinja_facts computes in process (it calls the same
functions) and sends the results back (in marshal's format): a SyntaxProblem or Suspect as its
fields, a Probe as its renders, a TemplateError as its class name and fields (only TemplateError,
UnsafeTemplateError and TemplateRaised cross; anything else, and any failure of the worker itself,
makes the caller compute that fact in process, as without a worker). Rendering still happens in a
bounded child of the worker (publish.chat), so the sandbox is the same; the worker compiles a
template of up to 64 KiB itself (publish.chat.ChatTemplate's compile_here: it is a disposable
process too) and adds a bound of its own (WAIT).

    worker = Worker.start()            # None where os.fork does not exist
    worker.send([["audit", source], ["probe", source, bos, eos]])
    worker.receive()                   # one answer per job, in order: ["value", data] /
                                       # ["raised", error data] / ["local"]
    worker.stop()

`publish lint FILE...` starts the worker before anything else (`prestart`): when a file holds a
chat template (a byte search for its key and the BOS/EOS token ids, `_template_in`) the worker
imports Jinja, parses and audits that template and renders its probe while the lint process
imports its modules and reads the header; `publish.jinja_facts.prepared` then takes that worker.
For a file without a chat template the worker only waits, and is stopped.
"""

from __future__ import annotations

import os
import time

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Any

WAIT = 30.0          # seconds the lint process waits for a batch of answers before computing itself,
RENDER_WAIT = 6.0    # plus this per render in it (a render's own bound is 5 s: publish.chat)
WORKER_KEEP = 4096   # facts the worker keeps (publish.jinja_facts.KEEP in the lint process)
MAX_MESSAGE = 256 * 1024 * 1024   # bytes: a longer message is not read (the worker is stopped)
_LENGTH = 8          # bytes of the length prefix of a message
SNIFF_BYTES = 8 * 1024 * 1024   # how far into a file prestart looks (a 262,144-token header: 6.4 MB)
EARLY_TOKENS = 1024   # the worker looks up BOS/EOS text early only for ids below this (Gemma: 2 and 1)
_PRESTARTED: list[Worker] = []
_SIGKILL = 9   # signal.SIGKILL wherever os.fork exists; importing signal costs lint ~1 ms


class Worker:
    """A running worker: its pid and the lint process's ends of the two pipes."""

    def __init__(self, pid: int, to_worker: int, from_worker: int):
        self.pid = pid
        self.to_worker = to_worker
        self.from_worker = from_worker
        self.pending = 0      # batches sent and not yet received
        self.alive = True

    @classmethod
    def start(cls, paths: list[str] = (), *, eager: bool = True) -> Worker | None:
        """Fork a worker. It imports Jinja at once when `eager`, or when one of `paths` (GGUF
        files) holds a chat template, which it then parses and audits before the first job.
        None without os.fork (Windows)."""
        if not hasattr(os, "fork"):
            return None
        requests_r, requests_w = os.pipe()
        answers_r, answers_w = os.pipe()
        parent = os.getpid()
        try:
            pid = os.fork()
        except OSError:   # EAGAIN, ENOMEM: lint computes in process, as without a worker
            for fd in (requests_r, requests_w, answers_r, answers_w):
                os.close(fd)
            return None
        if pid == 0:  # the worker: never return into the caller's code
            status = 0
            try:
                # Its own process group, which `stop` kills whole: a render child it forked dies
                # with it (Ctrl-C reaches the lint process, which stops the worker).
                os.setpgid(0, 0)
                os.close(requests_w)
                os.close(answers_r)
                from publish.forked import redirect_stdio

                redirect_stdio()   # a worker killed late holds none of lint's output (publish.forked)
                _serve(requests_r, answers_w, list(paths), eager, parent)
            except BaseException:  # noqa: BLE001 - the lint process computes itself when we die
                status = 1
            finally:
                os._exit(status)
        os.close(requests_r)
        os.close(answers_w)
        try:
            os.setpgid(pid, pid)   # as the worker does itself: whichever runs first
        except OSError:
            pass   # it has already exited or set it
        return cls(pid, requests_w, answers_r)

    def send(self, jobs: list[list]) -> bool:
        """Queue one batch of jobs; False when the worker is gone (then compute in process)."""
        if not self.alive:
            return False
        try:
            _write_message(self.to_worker, jobs)
        except OSError:
            self.stop()
            return False
        self.pending += 1
        return True

    def receive(self, renders: int = 0) -> list | None:
        """The answers to the oldest batch sent, or None (the worker died, answered nonsense or
        took longer than WAIT plus RENDER_WAIT per render in the batch, `renders`: it is stopped,
        compute in process)."""
        if not self.alive or not self.pending:
            return None
        self.pending -= 1
        answers = _read_message(self.from_worker, time.monotonic() + WAIT + RENDER_WAIT * renders)
        if not isinstance(answers, list):
            self.stop()
            return None
        return answers

    def stop(self) -> None:
        """End the worker (at once: it holds nothing worth waiting for) and reap it."""
        if not self.alive:
            return
        self.alive = False
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.pid, _SIGKILL)   # the worker and a render child it may have forked
        except (ProcessLookupError, PermissionError):
            os.kill(self.pid, _SIGKILL)
        os.waitpid(self.pid, 0)


def prestart(paths: list[str]) -> None:
    """Start the worker for a lint of `paths` now (see the module doc); the first
    publish.jinja_facts.prepared takes it, `stop_prestarted` ends it when none did."""
    if not _PRESTARTED:
        worker = Worker.start(paths, eager=False)
        if worker is not None:
            _PRESTARTED.append(worker)


def take_prestarted() -> Worker | None:
    """The worker `prestart` started (now the caller's to stop), or None."""
    return _PRESTARTED.pop() if _PRESTARTED else None


def stop_prestarted() -> None:
    """Stop a prestarted worker nobody took."""
    while _PRESTARTED:
        _PRESTARTED.pop().stop()


# -- in the worker ------------------------------------------------------------------------------

def _die_with(parent: int) -> None:
    """Have the kernel kill the worker when the lint process dies (Linux PR_SET_PDEATHSIG): in its
    own process group it would not get the signal that ended lint (SIGTERM, a CI job's SIGKILL to
    the group). Elsewhere it ends at the end of its current job, when it finds the pipe closed."""
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, _SIGKILL)   # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:   # lint died before the call above
        os._exit(0)


def _serve(requests: int, answers: int, paths: list[str], eager: bool, parent: int) -> None:
    from publish import jinja_facts

    jinja_facts.KEEP = WORKER_KEEP   # a batch holds three facts per template: keep all it computes
    jinja_facts.IN_WORKER = True
    _warm(paths, eager, parent)   # the point of the worker: this happens before the first job
    # An idle worker ends by itself when lint dies (it reads the end of the pipe); only computing
    # holds it. _die_with costs 3 ms of CPU (ctypes' import) beside the busy lint process, so it
    # is done only before computing what the warm-up had not: a lint killed during the warm-up
    # leaves the worker up to the end of the render it is in (at most 5 s, a template that loops;
    # _warm stops between files).
    protected = False
    while True:
        jobs = _read_message(requests, None)
        if jobs is None:   # the lint process closed the pipe (or died): done
            return
        if not protected and not all(jinja_facts.kept(job) for job in jobs):
            _die_with(parent)
            protected = True
        _write_message(answers, [jinja_facts.answer(job) for job in jobs])


def _warm(paths: list[str], eager: bool, parent: int | None = None) -> None:
    """What the worker does before its first job: import Jinja (when `eager` or a file has a chat
    template) and compute the facts of each file's template as far as a byte search tells them.
    Stops (the worker exits) after a file when the lint process `parent` is gone."""
    from publish import jinja_facts

    early = [found for found in map(_template_in, paths) if found is not None]
    if eager or early:
        _load_jinja_lean()
    for source, bos, eos in early:
        # The probe only when its BOS/EOS texts are what lint will ask (None: not found early; a
        # render keyed by other texts would be wasted, a looping template's 5 s included)
        jobs = [["syntax", source], ["audit", source]] + ([["probe", source, bos, eos]]
                                                          if bos is not None and eos is not None else [])
        for job in jobs:
            jinja_facts.answer(job)
        if parent is not None and os.getppid() != parent:
            os._exit(0)


def _load_jinja_lean() -> None:
    """publish.jinja_facts.load_jinja without running jinja2/__init__.py.

    That file imports Jinja's bytecode cache (tempfile, pickle, hashlib) and template loaders,
    which rendering a string never uses: about 9 ms of the worker's 40-50 ms import, on the path
    lint waits for. The worker runs no Jinja code but publish's, which takes every name from
    jinja2's modules (jinja2.exceptions, jinja2.environment, ...), and the code Jinja generates for
    a template imports from jinja2.runtime; so the worker registers the `jinja2` package made
    from its spec without running it (importlib.util.module_from_spec, no exec_module), and Python
    imports the modules from its __path__. Should a jinja2 release not import this way (any
    error), the partial import is undone and Jinja is imported as usual: same answers, 9 ms
    later.

    The cyclic garbage collector is off meanwhile: the import makes objects that all stay (modules,
    classes, functions), so the ~28 collections they would set off free nothing and cost ~3.5 ms
    of the ~43 ms import. They are then frozen (gc.freeze: no later collection walks them) and the
    collector is on again for everything a template makes."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        _import_jinja_modules()
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _import_jinja_modules() -> None:
    import sys

    from publish import jinja_facts

    if "jinja2" not in sys.modules:
        from importlib.machinery import PathFinder
        from importlib.util import module_from_spec

        spec = PathFinder.find_spec("jinja2")
        if spec is not None and spec.submodule_search_locations:
            sys.modules["jinja2"] = module_from_spec(spec)   # the package, its __init__ not run
            try:
                jinja_facts.load_jinja()
                return
            except Exception:  # noqa: BLE001 - a jinja2 that needs its __init__: import it whole
                partial = [n for n in sys.modules if n.split(".")[0] == "jinja2" or n in jinja_facts.JINJA_USERS]
                for name in partial:
                    del sys.modules[name]
                    parent_name, _, child = name.rpartition(".")
                    if parent_name in sys.modules:   # `from publish import chat` must not find the old one
                        sys.modules[parent_name].__dict__.pop(child, None)
    jinja_facts.load_jinja()


def _template_in(path: str) -> tuple[str, str | None, str | None] | None:
    """(chat template, BOS text, EOS text) of the file as a byte search finds them within its
    first SNIFF_BYTES (a text "" when its id is not there, None when the id is too large to look
    up early), or None without a chat template. A
    search, not a parse: it only decides what the worker computes early, and an early fact that
    does not match what lint then asks is not used (publish.jinja_facts keys facts by these texts)."""
    import mmap

    try:
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            at = _record(mapped, b"tokenizer.chat_template", 8)   # STRING
            template = _string_at(mapped, at)
            if template is None:
                return None
            # llama.cpp's converters write the token ids just before the template: look there first
            near = max(8, at - 4096)
            ids = [_u32_value(mapped, key, near) for key in (b"tokenizer.ggml.bos_token_id", b"tokenizer.ggml.eos_token_id")]
            texts = _token_texts(mapped, [i for i in ids if i is not None])
            # "" for an id the file lacks (the header's BOS text is then None too); None for one not
            # looked up (EARLY_TOKENS or more)
            bos, eos = (texts.get(i) if i is not None else "" for i in ids)
            return template, bos, eos
    except (OSError, ValueError):
        return None


def _record(mapped, key: bytes, value_type: int, start: int = 8) -> int | None:
    """Where the value of the first `key` record of `value_type` from `start` on starts, or None."""
    length = len(key).to_bytes(8, "little")
    vtype = value_type.to_bytes(4, "little")
    at = mapped.find(key, start, SNIFF_BYTES)   # the key alone: much faster to find than with its length
    while at >= 0:
        end = at + len(key)
        if mapped[at - 8:at] == length and mapped[end:end + 4] == vtype:
            return end + 4
        at = mapped.find(key, end, SNIFF_BYTES)
    return None


def _string_at(mapped, at: int | None) -> str | None:
    if at is None:
        return None
    length = int.from_bytes(mapped[at:at + 8], "little")
    return mapped[at + 8:at + 8 + length].decode("utf-8") if length <= 1 << 20 else None


def _u32_value(mapped, key: bytes, near: int) -> int | None:
    """A UINT32 record (as llama.cpp's converters write token ids), looked for from `near` on,
    then from the start."""
    at = _record(mapped, key, 4, near)
    if at is None and near > 8:
        at = _record(mapped, key, 4)
    return None if at is None else int.from_bytes(mapped[at:at + 4], "little")


def _token_texts(mapped, ids: list[int]) -> dict[int, str]:
    """The texts of the token ids below EARLY_TOKENS in tokenizer.ggml.tokens, by a walk from its start."""
    at = _record(mapped, b"tokenizer.ggml.tokens", 9)   # ARRAY
    wanted = {i for i in ids if i < EARLY_TOKENS}
    if at is None or not wanted or mapped[at:at + 4] != (8).to_bytes(4, "little"):   # of STRING
        return {}
    count, p, texts = int.from_bytes(mapped[at + 4:at + 12], "little"), at + 12, {}
    for i in range(min(count, max(wanted) + 1)):
        length = int.from_bytes(mapped[p:p + 8], "little")
        if length > 1 << 16 or p > SNIFF_BYTES:   # no token is this long: not what it seemed
            return {}
        if i in wanted:
            texts[i] = mapped[p + 8:p + 8 + length].decode("utf-8")
        p += 8 + length
    return texts


# -- messages: an 8-byte little-endian length, then the message in marshal's format ----------------
# marshal is built in (json would cost the lint process 2 ms of import), writes any str (a lone
# surrogate a render wrote included) and both ends are one interpreter, forked. It is not meant for
# data from strangers: only lists of str, int, None and bool that publish's two processes build
# cross; the chat template's output reaches the worker as JSON from its render child (publish.chat).

def _write_message(fd: int, message: Any) -> None:
    import marshal

    data = marshal.dumps(message)
    view = memoryview(len(data).to_bytes(_LENGTH, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _read_message(fd: int, deadline: float | None) -> Any:
    """The next message, or None at end of file, on a deadline passed or unreadable data."""
    head = _read_exactly(fd, _LENGTH, deadline)
    if head is None:
        return None
    length = int.from_bytes(head, "little")
    body = _read_exactly(fd, length, deadline) if length <= MAX_MESSAGE else None
    if body is None:
        return None
    import marshal

    try:
        return marshal.loads(body)
    except (ValueError, EOFError, TypeError):
        return None


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes | None:
    chunks: list[bytes] = []
    while n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            import select

            if not select.select([fd], [], [], left)[0]:
                continue
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)

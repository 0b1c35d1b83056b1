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
template of up to 65,536 characters itself (publish.chat.ChatTemplate's compile_here: it is a disposable
process too) and adds a bound of its own (WAIT).

    worker = Worker.start()            # None where os.fork does not exist
    worker.send([["audit", source], ["probe", source, bos, eos]])
    worker.receive()                   # one answer per job, in order: ["value", data] /
                                       # ["raised", error data] / ["local"]
    worker.stop()

`publish lint FILE...` starts the worker before anything else (`prestart`), and the worker
imports Jinja at once, while the lint process imports its modules and reads the headers; the jobs
the headers call for (publish.jinja_facts.prepared) are usually waiting in the pipe when that
import ends (a 262,144-token header is read in ~25 ms, Jinja imports in ~35). A lint whose files
hold no chat template stops the worker as soon as its headers say so.
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
    def start(cls) -> Worker | None:
        """Fork a worker; it imports Jinja at once, then answers jobs. None without os.fork
        (Windows) or when the fork fails."""
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
                _serve(requests_r, answers_w, parent)
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


def prestart() -> None:
    """Start the worker for a lint now (see the module doc); the first
    publish.jinja_facts.prepared takes it, `stop_prestarted` ends it when none did."""
    if not _PRESTARTED:
        worker = Worker.start()
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


def _serve(requests: int, answers: int, parent: int) -> None:
    from publish import jinja_facts

    jinja_facts.KEEP = WORKER_KEEP   # a batch holds three facts per template: keep all it computes
    jinja_facts.IN_WORKER = True
    _load_jinja_lean()   # the point of the worker: this happens while lint reads the headers
    # An idle worker ends by itself when lint dies (it reads the end of the pipe). While it
    # computes the first batch (what lint's headers called for) it looks for its parent between
    # jobs: a lint killed then leaves the worker up to the end of the render it is in (at most
    # 5 s, a template that loops). Before any later batch it has the kernel kill it with lint
    # (_die_with: 3 ms of CPU for ctypes' import, kept off the first batch, which lint waits for).
    batches = 0
    while True:
        jobs = _read_message(requests, None)
        if jobs is None:   # the lint process closed the pipe (or died): done
            return
        if batches == 1:
            _die_with(parent)
        done = []
        for job in jobs:
            if batches == 0 and os.getppid() != parent:
                os._exit(0)
            done.append(jinja_facts.answer(job))
        _write_message(answers, done)
        batches += 1


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

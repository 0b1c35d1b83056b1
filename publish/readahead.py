"""Read GGUF headers ahead, in forked child processes, while `publish lint` loads its rules.

On a 262,144-token vocabulary a `publish lint FILE` process spends its time in nearly equal parts
on importing its rules, on reading the header (a Python loop over every token) and, for a file
with a chat template, on importing Jinja and rendering the template in its sandbox. The last two
need nothing from the rules, so the command starts them first, in a child process per file, and
imports its rules meanwhile: on two cores that takes the read and the render off the critical
path (bench/bench_cli.py measures the command as a whole process).

    ahead = ReadAhead(["a.gguf", "b.gguf"])    # forks now (at most os.cpu_count() at a time)
    ...                                        # import the rules
    got = ahead.take("a.gguf")                 # GGUFHeader, GGUFError, or None: read it yourself
    ahead.close()                              # reaps the children (also as a context manager)

The child reads the header with publish.gguf.reader, computes what the rules will ask Jinja about
its chat template (publish.jinja_facts.header_facts: the same functions, in the same sandbox),
and sends both pickled through a pipe; `take` hands the facts to publish.jinja_facts. The results
are the ones an in-process read gives, bit for bit (tests/test_readahead.py): whenever the child
cannot deliver (no os.fork, a thread already running, the child died, a value that does not
pickle) `take` answers None and the caller reads the file itself. Only local regular files are
read ahead; folders and hf:// URLs are read as before.
"""

from __future__ import annotations

import os
import sys


class ReadAhead:
    """Children reading the headers of `paths` (module doc). `paths` are the command's arguments;
    the ones that are not local regular files are ignored. `jobs`: children at a time (default:
    os.cpu_count())."""

    def __init__(self, paths: list[str], *, jobs: int | None = None):
        self._queue = [key for key in dict.fromkeys(_key(p) for p in paths) if key is not None] \
            if _can_fork() else []
        self._running: dict[str, tuple[int, int]] = {}    # key -> (pid, read end of its pipe)
        self._jobs = max(1, jobs or os.cpu_count() or 1)
        if self._queue:
            # imported once here, before the fork, rather than once in each child and again here
            # when the header arrives: the caller needs both anyway
            import pickle  # noqa: F401

            import publish.gguf.reader  # noqa: F401
        self._fill()

    def take(self, path: str):
        """The header of `path` read by a child (a GGUFHeader, or the GGUFError the reader raised
        for it), or None when no child read it (then read it in process). Waits for the child."""
        key = _key(path)
        entry = self._running.pop(key, None) if key is not None else None
        if entry is None:
            return None
        pid, fd = entry
        chunks = []
        try:
            while chunk := os.read(fd, 1 << 22):
                chunks.append(chunk)
        finally:
            os.close(fd)
            os.waitpid(pid, 0)
            self._fill()
        try:
            import pickle

            header, facts = pickle.loads(b"".join(chunks))
        except Exception:  # noqa: BLE001 - the child died or sent nothing usable: read in process
            return None
        if facts:
            from publish import jinja_facts

            jinja_facts.adopt(facts)
        return header

    def close(self) -> None:
        """Stop and reap the children whose header was not taken."""
        self._queue.clear()
        if self._running:
            import signal
        for pid, fd in self._running.values():
            os.close(fd)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
        self._running.clear()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _fill(self) -> None:
        while self._queue and len(self._running) < self._jobs:
            key = self._queue.pop(0)
            started = _start(key)
            if started is not None:
                self._running[key] = started


def _key(path: str) -> str | None:
    """The name lint reads `path` by (str(Path(path)), publish.sources), when it is a local regular
    file; else None."""
    from pathlib import Path

    if not isinstance(path, str) or "://" in path:
        return None
    p = Path(path)
    return str(p) if p.is_file() else None


def _can_fork() -> bool:
    # fork() copies only the calling thread: with another thread running (a lock held), the child
    # could hang. The lint commands call this before starting any.
    threading = sys.modules.get("threading")
    return hasattr(os, "fork") and (threading is None or threading.active_count() == 1)


def _start(key: str) -> tuple[int, int] | None:
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # child: never return into the caller's code
        status = 0
        try:
            os.close(read_fd)
            _child(key, write_fd)
        except BaseException:  # noqa: BLE001 - the parent sees an empty pipe and reads in process
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def _child(key: str, fd: int) -> None:
    import pickle

    from publish.errors import GGUFError
    from publish.gguf.reader import read_header

    facts: dict = {}
    try:
        header = read_header(key, name=key)
    except GGUFError as err:
        header = err
    else:
        from publish import jinja_facts

        try:
            facts = jinja_facts.header_facts(header)
        except Exception:  # noqa: BLE001 - the parent computes what is missing itself
            facts = {}
    try:
        data = pickle.dumps((header, facts), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - e.g. an exception that does not pickle: send the header alone
        data = pickle.dumps((header, {}), protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

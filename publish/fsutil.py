"""Files are replaced atomically: temp name in the same folder, fsync, rename; text files are
read through one reader (`read_utf8`: strict UTF-8, BOM dropped, size cap, errors name the byte).

Temp files are named `.NAME.publish-tmp-PID-RANDOM` (hidden, recognisable, never pushed: the
staged-folder reader skips dot files). While one is being written, SIGINT and SIGTERM remove it
before the process ends the way the signal asks (the handlers are installed around the write
only and restored after). A SIGKILL cannot be caught: the original is intact (it is only ever
replaced by a rename) and the next run that writes into that folder removes the temp file of the
dead process (`sweep_stale`), which the CLI reports.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import signal
import stat
import threading
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Iterator

if TYPE_CHECKING:
    from publish.errors import OutputPathError, TextFileError

TEMP_MARK = ".publish-tmp-"
_TEMP_NAME = re.compile(r"\..*" + re.escape(TEMP_MARK) + r"(\d+)-[0-9a-f]+\Z", re.S)
_NAME_BYTES = 200            # room for the mark, the pid and the random part under NAME_MAX (255)
_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_live: set[str] = set()      # temp files this process is writing now
_swept: set[str] = set()     # folders already swept by this process
_stale_removed: list[tuple[str, int]] = []   # (path, size) removed since the CLI last asked
_state_lock = threading.Lock()


class Interrupted(BaseException):
    """SIGINT/SIGTERM arrived while a temp file was being written (raised by our handler only)."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}")


def temp_path(path: str | os.PathLike) -> Path:
    """A fresh temp name next to `path`: `.NAME.publish-tmp-PID-RANDOM` (NAME shortened to fit)."""
    path = Path(path)
    name = path.name
    while len(name.encode("utf-8", "surrogateescape")) > _NAME_BYTES:
        name = name[:-1]
    return path.with_name(f".{name}{TEMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def removed_if_interrupted(tmp: Path) -> Iterator[Path]:
    """Run the block that writes `tmp`; if it raises, or SIGINT/SIGTERM arrives, remove `tmp`.

    The signal handlers exist only inside the block (main thread only; a signal set to SIG_IGN
    stays ignored) and the previous ones are restored after. An interrupting signal is then
    re-delivered to the previous handler, so the process still ends as that signal asks
    (SIGTERM: killed by SIGTERM; SIGINT: KeyboardInterrupt). Stale temp files of dead runs in
    the same folder are swept first (`sweep_stale`).
    """
    sweep_stale(tmp.parent)
    guard = _SignalGuard()
    with _state_lock:
        _live.add(str(tmp))
    guard.arm()
    try:
        yield tmp
    except BaseException as err:
        guard.hold()             # from here a signal waits until the temp file is gone
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        guard.release(err.signum if isinstance(err, Interrupted) else None)
        raise
    else:
        guard.hold()
        guard.release(None)
    finally:
        with _state_lock:
            _live.discard(str(tmp))


class _SignalGuard:
    """SIGINT/SIGTERM handlers for one write: `arm` (a signal raises Interrupted), `hold` (a
    signal is kept for later), `release` (previous handlers back, a kept signal re-delivered)."""

    def __init__(self) -> None:
        self.previous: dict[int, object] = {}
        self.armed = False
        self.pending: int | None = None

    def _handler(self, signum, frame):  # noqa: ANN001
        if self.armed:
            self.armed = False
            raise Interrupted(signum)
        if self.pending is None:
            self.pending = signum

    def arm(self) -> None:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                old = signal.getsignal(signum)
                if old in (signal.SIG_IGN, None):   # ignored, or set outside Python: leave it alone
                    continue
                self.previous[signum] = old
                signal.signal(signum, self._handler)
        self.armed = True

    def hold(self) -> None:
        self.armed = False

    def release(self, interrupted_by: int | None) -> None:
        for signum, handler in self.previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(signum, handler)
        self.previous.clear()
        signum = interrupted_by or self.pending
        if signum is not None:
            signal.raise_signal(signum)   # the previous handler decides; default SIGTERM ends the process


def sweep_stale(folder: str | os.PathLike) -> list[tuple[str, int]]:
    """Remove the temp files a killed run left in `folder` (once per folder and process).

    A temp file is stale when the process named in it is gone (or is this process, which is not
    writing it). Returns (path, size) of each file removed; they are also kept for `take_stale`.
    """
    folder = os.fspath(folder) or "."
    with _state_lock:
        if folder in _swept:
            return []
        _swept.add(folder)
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    for entry in entries:
        m = _TEMP_NAME.match(entry.name)
        if not m or not _is_stale(entry.path, int(m.group(1))):
            continue
        try:
            size = entry.stat(follow_symlinks=False).st_size
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append((entry.path, size))
    with _state_lock:
        _stale_removed.extend(removed)
    return removed


def take_stale() -> list[tuple[str, int]]:
    """(path, size) of every stale temp file removed since the last call (for the CLI to report)."""
    with _state_lock:
        out = list(_stale_removed)
        _stale_removed.clear()
    return out


def stale_notes() -> list[str]:
    """The CLI's note (for stderr) on each stale temp file removed since the last call (take_stale)."""
    from publish.termtext import one_line

    return [f"note: removed {one_line(path)} ({size:,} bytes), a temp file left by an interrupted run"
            for path, size in take_stale()]


def _is_stale(path: str, pid: int) -> bool:
    if os.name != "posix":   # os.kill(pid, 0) would terminate the process on Windows
        return False
    if pid == os.getpid():
        with _state_lock:
            return path not in _live
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "wb") -> Iterator[BinaryIO]:
    """Yield a file object; on success it replaces `path` atomically, on error nothing changes.
    A link to a regular file is replaced by the new file and its target left as it was (`publish
    fix` must never change a file it reaches through a link, such as a blob of the Hub's cache).
    A `path` that is, or links to, a device, FIFO or socket (`-o /dev/stdout`, a named pipe) is
    written through, not replaced.

    The temp file (`temp_path`) lives in the destination folder so the final rename never crosses
    filesystems; it is removed on any error and on SIGINT/SIGTERM (`removed_if_interrupted`).
    The file object is opened read-write underneath, so its descriptor also serves os.pread.
    Raises OutputPathError (a UsageError naming `path`) when the folder cannot be created, `path`
    is a folder, or creating, syncing or renaming the file fails (`output_error`); an exception
    raised by the caller's block passes through unchanged.
    """
    path = Path(path)
    if path.is_dir():
        raise output_error(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path)))
    try:
        st = os.stat(path)           # follows symbolic links
    except OSError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        # a device, FIFO or socket (/dev/stdout, /dev/null, a named pipe, bash's >(cmd)): a rename
        # would replace the link or node itself (as root, /dev/stdout became a plain file), so the
        # bytes are written through it, as a shell's `>` does; there is no old file to keep whole
        with _written_through(path, mode) as fh:
            yield fh
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(path, err) from None
    tmp = temp_path(path)
    with removed_if_interrupted(tmp):
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as err:
            raise output_error(path, err) from None
        with os.fdopen(fd, mode) as fh:
            yield fh
            try:
                fh.flush()
                os.fsync(fh.fileno())
            except OSError as err:
                raise output_error(path, err) from None
        try:
            if path.exists():
                with contextlib.suppress(OSError):
                    os.chmod(tmp, path.stat().st_mode & 0o7777)
            else:
                os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except OSError as err:
            raise output_error(path, err) from None
        _fsync_dir(path.parent)


@contextlib.contextmanager
def _written_through(path: Path, mode: str) -> Iterator[BinaryIO]:
    try:
        fh = open(path, mode.replace("+", ""))
    except OSError as err:
        raise output_error(path, err) from None
    with fh:
        yield fh
        try:
            fh.flush()
        except OSError as err:
            raise output_error(path, err) from None


def make_dirs(folder: str | os.PathLike) -> None:
    """Create `folder` and its missing parents (like `mkdir -p`). Raises OutputPathError naming
    `folder` (a part of it is a file, no permission, read-only filesystem, ...)."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise output_error(folder, err, folder=True) from None


def output_error(path: str | os.PathLike, err: OSError, *, folder: bool = False) -> OutputPathError:
    """The OutputPathError (exit status 2) for `err`, raised while creating the output `path`:
    the message names `path` and what is wrong (the part of the path that is a file, not a
    folder; a folder where a file goes; permission; read-only filesystem; disk full) and the
    hint what to do. `folder`: `path` is a folder to create. Temp file names never appear in it."""
    from publish.errors import OutputPathError
    from publish.termtext import one_line

    name = os.fspath(path)
    code = err.errno
    blocker = _file_in_the_way(Path(name)) if code in (errno.ENOTDIR, errno.EEXIST, errno.ENOENT) else None
    if folder and code == errno.EEXIST and os.path.lexists(name) and not os.path.isdir(name):
        return _not_a_folder(Path(name))
    if blocker is not None:
        problem = f"{one_line(str(blocker))} is a file, not a folder"
        hint = f"pass a path in a folder, or move {one_line(str(blocker))} away"
    elif code == errno.EISDIR or (code == errno.EEXIST and Path(name).is_dir()):
        problem = "it is a folder"
        hint = "pass the path of a file (e.g. inside that folder)"
    elif code in (errno.EACCES, errno.EPERM):
        problem = "permission denied"
        hint = "pass a path in a folder you can write to, or change its permissions"
    elif code == errno.EROFS:
        problem = "read-only file system"
        hint = "pass a path on a writable file system"
    elif code in (errno.ENOSPC, errno.EDQUOT):
        problem = os.strerror(code).lower()
        hint = "free space there, or pass a path on another disk; nothing was replaced"
    else:
        problem = (err.strerror or str(err)).lower()
        hint = "pass another path"
    return OutputPathError(one_line(name), problem, hint=hint)


def _file_in_the_way(path: Path) -> Path | None:
    """The nearest existing ancestor of `path` (or `path`'s parent itself) when it is not a folder."""
    for anc in [path, *path.parents][1:] if path.parent != path else []:
        if anc.exists() or anc.is_symlink():
            return None if anc.is_dir() else anc
    return None


def check_writable(path: str | os.PathLike, *, folder: bool = False) -> None:
    """Check, without creating anything, that the output `path` (a file, or a folder with
    `folder=True`) could be written: what exists of it is of the right kind and the nearest
    existing folder is writable. For report paths checked before a long run. Raises
    OutputPathError as the write itself would (`output_error`)."""
    p = Path(path)
    if p.exists():
        if folder and not p.is_dir():
            raise _not_a_folder(p)
        if not folder and p.is_dir():
            raise output_error(p, OSError(errno.EISDIR, os.strerror(errno.EISDIR)))
    anc = p.parent
    while not (anc.exists() or anc.is_symlink()) and anc.parent != anc:
        anc = anc.parent
    if anc.exists() and not anc.is_dir():
        raise output_error(p, OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)))
    writable_dir = p if folder and p.is_dir() else anc
    if not os.access(writable_dir, os.W_OK | os.X_OK):
        raise output_error(p, OSError(errno.EACCES, os.strerror(errno.EACCES)))


def _not_a_folder(p: Path) -> OutputPathError:
    from publish.errors import OutputPathError
    from publish.termtext import one_line

    return OutputPathError(one_line(str(p)), "it is a file, not a folder", hint="pass the path of a folder")


_FICLONE = 0x40049409  # Linux ioctl: share extents (btrfs, xfs, …)


def clone_or_copy(src: BinaryIO, dst: BinaryIO, chunk: int = 16 << 20) -> str:
    """Make `dst` (empty, open for writing) hold the bytes of `src`: a reflink when the filesystem
    shares extents, else a copy. Returns "reflink" or "copy"."""
    import fcntl
    import shutil

    try:
        fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
        return "reflink"
    except OSError:
        src.seek(0)
        shutil.copyfileobj(src, dst, chunk)
        return "copy"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace `path` with `data` atomically (`atomic_writer`): readers see the old or the new file,
    never a part. Raises OutputPathError (UsageError, naming `path`: `output_error`) when it cannot
    be written; the temp file is removed."""
    try:
        with atomic_writer(path, "wb") as fh:
            fh.write(data)
    except OSError as err:   # the write itself (disk full); atomic_writer maps its own steps
        raise output_error(path, err) from None


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """`atomic_write_bytes` of `text` encoded as UTF-8 (no BOM, newlines as given)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


MAX_TEXT_BYTES = 64 << 20   # 64 MiB: a chat template is a few KB, tokenizer_config.json a few MB
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = "\ufeff"


def read_utf8(path: str | os.PathLike, *, hint: str | None = None, keep_bom: bool = False,
              max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The text of a user-supplied text file (spec, template, params, system, Modelfile,
    tokenizer_config.json, Jinja file), decoded as strict UTF-8: the one reader publish uses.

    BOM: a leading UTF-8 byte-order mark (EF BB BF) is dropped, as Ollama's Modelfile parser does
    (`unicode.BOMOverride` in parser/parser.go, Ollama v0.24.0) and as editors that write one
    expect. `keep_bom=True` keeps it as U+FEFF: for the files of a staged folder that Ollama
    reads unchanged (`template`, `system`: os.ReadFile, then template.Parse(string(bts)) in
    server/images.go GetModel, v0.24.0), where a BOM is content the model would see; `params`
    with a BOM then fails to parse as JSON here, as it does in Ollama's json decoder.
    A file that starts with a UTF-16 byte-order mark (FF FE or FE FF: what PowerShell 5's `>`
    writes) is refused like any other non-UTF-8 file, its message asking whether it is UTF-16.

    Size: at most `max_bytes` bytes (default MAX_TEXT_BYTES, 64 MiB; the file's size is checked
    before reading and the read stops one byte past the cap), so a GGUF or a device passed by
    mistake is refused instead of read into memory. Only regular files are read: a FIFO or
    device is refused without blocking.

    Raises TextFileMissing (no such file), TextFileError (not a regular file, too large,
    unreadable, or not UTF-8: `offset` is the byte offset of the first invalid byte in the file,
    and the message names it with its line). `hint` says what to do about a file that is not
    UTF-8; the default asks to save it as UTF-8. Both are UsageError (exit status 2).
    """
    name = os.fspath(path)
    return _decode(name, _read_capped(name, max_bytes), hint, keep_bom)


def _read_capped(name: str, max_bytes: int) -> bytes:
    """The bytes of the regular file `name`, at most `max_bytes` (module doc of read_utf8)."""
    from publish.errors import TextFileError, TextFileMissing

    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(name, flags)
    except FileNotFoundError as err:
        if os.path.islink(name):   # a broken symbolic link: say so, and where it points
            raise _unreadable(name, err) from None
        raise TextFileMissing(name, "file not found", hint="check the path") from None
    except OSError as err:
        raise _unreadable(name, err) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TextFileError(name, "cannot read: not a regular file (a folder, FIFO or device)",
                                hint="pass the path of a text file")
        if st.st_size > max_bytes:
            raise TextFileError(name, f"{st.st_size:,} bytes; a text file here may hold at most {max_bytes:,}",
                                hint="pass the text file itself (not a model or an archive)")
        chunks, have = [], 0
        while have <= max_bytes:
            chunk = os.read(fd, max_bytes + 1 - have)
            if not chunk:
                break
            chunks.append(chunk)
            have += len(chunk)
    except OSError as err:
        raise TextFileError(name, f"cannot read: {err.strerror or err}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:   # grew while being read
        raise TextFileError(name, f"more than {max_bytes:,} bytes", hint="pass the text file itself")
    return data


def _unreadable(name: str, err: OSError) -> TextFileError:
    """The TextFileError for a text file that cannot be opened, worded as every unreadable input
    is (publish.inputpaths.input_error: "cannot read file: permission denied (the folder locked
    cannot be entered)", a broken link's target), with its hint."""
    from publish.errors import TextFileError
    from publish.inputpaths import input_error

    mapped = input_error(name, err)
    return TextFileError(name, mapped.problem, hint=mapped.hint)


def read_utf8_lenient(path: str | os.PathLike, *, hint: str | None = None, keep_bom: bool = False,
                      max_bytes: int = MAX_TEXT_BYTES) -> tuple[str, TextFileError | None]:
    """`read_utf8` for a reader that reports instead of refusing (lint): returns (text, None) for a
    UTF-8 file, else (the text with U+FFFD for each invalid byte, the TextFileError read_utf8
    would have raised: `offset`, `problem`, `hint`). A file that is missing, not a regular file,
    too large or unreadable still raises, as in read_utf8."""
    return decode_utf8_lenient(os.fspath(path), _read_capped(os.fspath(path), max_bytes), hint=hint,
                               keep_bom=keep_bom)


def decode_utf8_lenient(name: str, data: bytes, *, hint: str | None = None,
                        keep_bom: bool = False) -> tuple[str, TextFileError | None]:
    """`read_utf8_lenient` of bytes already fetched (a Hub repo's `template`, read over HTTP):
    (text, None) for UTF-8, else (the text with U+FFFD for each invalid byte, the TextFileError
    naming `name`, the first bad byte's offset and line). BOM and `hint` as in read_utf8.
    Never raises."""
    from publish.errors import TextFileError

    try:
        return _decode(name, data, hint, keep_bom), None
    except TextFileError as err:
        return _decode(name, data, hint, keep_bom, errors="replace"), err


def _decode(name: str, data: bytes, hint: str | None, keep_bom: bool, errors: str = "strict") -> str:
    from publish.errors import TextFileError

    how = hint or "save it as UTF-8 (most editors: Save As, encoding UTF-8)"
    try:
        text = data.decode("utf-8", errors)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise TextFileError(name, f"not UTF-8 text: byte 0x{data[err.start]:02X} at offset {err.start} "
                                  f"(line {line}, byte {col} of the line) is not valid UTF-8"
                                  + (" (the file starts with a UTF-16 byte-order mark: is it UTF-16?)"
                                     if data.startswith(_UTF16_BOMS) else ""),
                            offset=err.start, hint=how) from None
    if not keep_bom and text.startswith(_UTF8_BOM):
        text = text[1:]
    return text


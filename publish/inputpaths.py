"""The files and folders publish is asked to read: what a path is (`input_kind`), a folder's
names (`list_folder`), and the one wording of what keeps a path from being read (`input_error`):
permission denied on it or on a folder on the way, a folder that can be entered but not listed
(or listed but not entered), a broken symbolic link, a FIFO or device where a file belongs.

`Path.exists`, `is_dir` and `is_file` raise PermissionError for a path inside a folder that
cannot be entered, and `glob` sees a folder that cannot be listed as empty ("no GGUF files"); the
readers of user paths (publish.sources, publish.staged, publish.spec, the CLI's path arguments)
ask here first. The CLI's last net (`unforeseen_os_error`) words any OSError naming a file that
still gets through. Stdlib only (os, errno, stat, pathlib): `publish inspect` imports it.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from publish.errors import InputPathError


def input_kind(path: str | os.PathLike) -> str:
    """What the input `path` is, following symbolic links: "folder", "file" (a regular file) or
    "missing" (nothing there, and no link: the caller says what it expected). Never opens it, so
    a FIFO does not block. Raises InputPathError for a path that is there but cannot be used:
    permission denied on a folder on the way, a broken symbolic link or a loop of them, a FIFO,
    device or socket (`input_error`)."""
    from publish.errors import InputPathError
    from publish.termtext import one_line

    name = os.fspath(path)
    try:
        st = os.stat(name)
    except (FileNotFoundError, NotADirectoryError) as err:
        if os.path.islink(name):
            raise input_error(name, err) from None
        return "missing"
    except OSError as err:
        raise input_error(name, err) from None
    if stat.S_ISDIR(st.st_mode):
        return "folder"
    if stat.S_ISREG(st.st_mode):
        return "file"
    what = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode)
            else "a device")
    raise InputPathError(one_line(name), f"{what}, not a file or folder",
                         hint="pass the path of a regular file or a folder")


def list_folder(path: str | os.PathLike) -> list[str]:
    """The names in the folder `path` (hidden ones too), sorted. Checks the two permissions reading
    the folder's files needs: listing it (read) and opening what is in it (search, the x bit), so
    a folder that `glob` and `Path.exists` would silently see as empty, or that would raise
    PermissionError on the first file, is refused here. Raises InputPathError naming `path`
    ("cannot read folder: permission denied", "not a folder", ...: `input_error`)."""
    name = os.fspath(path)
    try:
        names = os.listdir(name)
        os.stat(os.path.join(name, "."))   # enter it: needs search permission, listing needs read
    except OSError as err:
        raise input_error(name, err, what="folder") from None
    return sorted(names)


def raise_folder_error(err: OSError) -> None:
    """`onerror` for os.walk over an input folder: raises InputPathError (`input_error`) for the
    subfolder it cannot list, which os.walk would skip silently by default."""
    raise input_error(err.filename if err.filename is not None else "?", err, what="folder")


def input_error(path: str | os.PathLike, err: OSError, *, what: str | None = "file") -> InputPathError:
    """The InputPathError (a UsageError, exit status 2) for `err`, met while reading the input
    `path`; `what` ("file", "folder", or None when unknown, as for an OSError no caller foresaw)
    words the message: "locked: cannot read folder: permission denied", with the folder on the
    way that cannot be entered when it is not `path` itself, and a hint saying what to do. Also
    a broken symbolic link, a loop of links, not a folder, no such file; else the system's words."""
    from publish.errors import InputPathError
    from publish.termtext import one_line, shell_command

    name = os.fspath(path)
    shown = one_line(name)
    prefix = f"cannot read {what}: " if what else ""
    code = err.errno
    if code in (errno.EACCES, errno.EPERM):
        blocker = _closed_folder(name)
        if blocker is not None and os.path.normpath(blocker) != os.path.normpath(name):
            problem = f"{prefix}permission denied (the folder {one_line(blocker)} cannot be entered)"
            hint = f"give your user search permission on it ({one_line(shell_command('chmod', 'u+x', blocker))}), or run as a user who can"
        else:
            problem = f"{prefix}permission denied"
            mode = "u+rx" if what == "folder" or (what is None and os.path.isdir(name)) else "u+r"
            hint = f"give your user read permission ({one_line(shell_command('chmod', mode, name))}), or run as a user who can read it"
    elif code == errno.ELOOP:
        problem, hint = f"{prefix}a loop of symbolic links", "point the link at a real file or folder"
    elif code in (errno.ENOENT, errno.ENOTDIR) and os.path.islink(name):
        try:
            target = f" to {one_line(os.readlink(name))}"
        except OSError:
            target = ""
        problem = f"a broken symbolic link{target} (nothing is there)"
        hint = "point the link at an existing file or folder, or pass the file itself"
    elif code == errno.ENOTDIR and what == "folder":
        problem, hint = "not a folder", "pass the path of a folder"
    elif code in (errno.ENOENT, errno.ENOTDIR):
        problem, hint = "no such file or folder", "check the path"
    else:
        problem, hint = f"{prefix}{(err.strerror or str(err)).lower()}", None
    return InputPathError(shown, problem, hint=hint)


def unforeseen_os_error(err: OSError) -> InputPathError | None:
    """The CLI's last net: an OSError naming a file (`err.filename`) that reached the command line
    without a library call turning it into a PublishError becomes an InputPathError worded by
    `input_error` without guessing whether it was a read or a write ("locked/x: permission
    denied (the folder locked cannot be entered)"), exit status 2, no traceback. None for an
    OSError that names no file (a broken pipe, a socket error): the caller re-raises it."""
    if err.filename is None or isinstance(err, BrokenPipeError):
        return None
    return input_error(err.filename, err, what=None)


def _closed_folder(name: str) -> str | None:
    """The first folder on the way to `name` (its ancestors as spelled, then `name` itself when it
    is a folder) that this user cannot enter or, for `name`, list; None when none is found (root,
    or the refusal came from elsewhere: an ACL, a security module)."""
    p = Path(name)
    for anc in [*reversed(p.parents)]:
        if str(anc) not in ("", ".") and os.path.isdir(anc) and not os.access(anc, os.X_OK):
            return str(anc)
    if os.path.isdir(name) and not os.access(name, os.R_OK | os.X_OK):
        return name
    return None

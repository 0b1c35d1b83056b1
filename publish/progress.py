"""One switch for progress output (bars and per-step lines on stderr), for every command.

Progress is drawn only for a person watching a terminal: it is off when

- the command ran with `--quiet`/`-q` (the CLI calls `set_quiet(True)`; a Python user may too),
- CI is set (any non-empty value but "0"/"false"/"no"/"off"),
- HF_HUB_DISABLE_PROGRESS_BARS is set truthy (huggingface_hub's own switch), or
- the stream (stderr by default) is not a TTY.

`progress_enabled()` is the one question every progress bar and progress line asks. Results and
reports (stdout, files) never depend on it; only the stderr chatter does.
"""

from __future__ import annotations

import os
import sys

_FALSE = {"", "0", "false", "no", "off"}
_quiet = False


def set_quiet(quiet: bool = True) -> None:
    """Turn progress output off (True) or back to the automatic choice (False) for this process."""
    global _quiet
    _quiet = bool(quiet)


def is_quiet() -> bool:
    """Whether `set_quiet(True)` is in force (not whether progress happens to be off)."""
    return _quiet


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in _FALSE


def is_terminal(stream=None) -> bool:
    """Whether `stream` (default: sys.stderr) is an open TTY."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def progress_enabled(stream=None) -> bool:
    """True when progress may be drawn on `stream` (default: sys.stderr): not quiet, not CI, not
    HF_HUB_DISABLE_PROGRESS_BARS, and the stream is a terminal."""
    if _quiet or _env_true("CI") or _env_true("HF_HUB_DISABLE_PROGRESS_BARS"):
        return False
    return is_terminal(stream)
